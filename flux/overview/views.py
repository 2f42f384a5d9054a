from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static

from events.sql import EVENTS_TABLE
from flux.storage.detect import table_layout
from flux.tenants.models import KeyKind, Role
from flux.tenants.queries import list_projects_for_user, user_can
from flux.web.pages import page_context, project_or_404
from metrics.views import cardinality_context


def home(request: HttpRequest) -> HttpResponse:
    """Signed in: the first project's overview. Otherwise a start page for a fresh install."""
    if request.user.is_authenticated:
        project = list_projects_for_user(request.user).order_by("name").first()
        if project is not None:
            return redirect("project-home", slug=project.slug)
    with connection.cursor() as cursor:
        storage = table_layout(cursor, EVENTS_TABLE.name)
    return render(request, "home.html", {"storage": storage, "debug": settings.DEBUG})


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on pages without an icon link (the admin, the API docs)."""
    return redirect(static("favicon.svg"))


@login_required
def project_home(request: HttpRequest, slug: str) -> HttpResponse:
    """The project's overview: what came in, the busiest events and metrics, ingestion health."""
    project = project_or_404(request, slug)
    context = page_context(request, project, "overview")
    context.update(cardinality_context(project.pk))
    return render(request, "overview.html", context)


@login_required
def switch_project(request: HttpRequest) -> HttpResponse:
    return project_home(request, request.GET.get("slug", ""))


@login_required
def project_settings(request: HttpRequest, slug: str) -> HttpResponse:
    """API keys and members: every member sees them; owners issue and revoke keys and manage members."""
    project = project_or_404(request, slug)
    context = page_context(request, project, "settings")
    context["can_manage"] = context["page"]["can_manage"] = user_can(project, request.user, "manage")
    context["page"]["choices"] = {"kinds": KeyKind.values, "roles": Role.values}
    context["page"]["username"] = request.user.get_username()
    return render(request, "project_settings.html", context)
