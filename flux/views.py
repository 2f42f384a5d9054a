from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from dashboards.models import Dashboard
from flux.storage.detect import table_layout
from flux.tenants.queries import get_project_for_user, list_projects_for_user


def home(request: HttpRequest) -> HttpResponse:
    """Signed in: the first project's default dashboard. Otherwise a start page for a fresh install."""
    if request.user.is_authenticated:
        project = list_projects_for_user(request.user).order_by("name").first()
        if project is not None:
            return redirect("project-home", slug=project.slug)
    with connection.cursor() as cursor:
        storage = table_layout(cursor, "events_event")
    return render(request, "home.html", {"storage": storage, "debug": settings.DEBUG})


@login_required
def project_home(request: HttpRequest, slug: str) -> HttpResponse:
    project = get_project_for_user(request.user, slug)
    if project is None:
        raise Http404("No such project")
    default = Dashboard.objects.filter(project=project).order_by("-is_default", "pk").first()
    if default is None:
        return redirect("dashboard-list", slug=slug)
    return redirect("dashboard-page", slug=slug, reference=default.slug)


@login_required
def switch_project(request: HttpRequest) -> HttpResponse:
    return project_home(request, request.GET.get("slug", ""))
