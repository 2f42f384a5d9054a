"""The events explorer page. Its data comes from the events API, called with the session."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from flux.web.pages import page_context, project_or_404


@login_required
def explorer(request: HttpRequest, slug: str) -> HttpResponse:
    """Filter events by name or glob, tags, user and time; follow new ones live; open one to see it all."""
    project = project_or_404(request, slug)
    return render(request, "events/explorer.html", page_context(request, project, "events"))
