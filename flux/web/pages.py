"""What every HTML page of a project shares: the membership check and the page context."""

from collections.abc import Callable
from typing import NamedTuple

from django.http import Http404, HttpRequest

from flux.tenants.models import Project
from flux.tenants.queries import get_project_for_user, list_projects_for_user, user_can

# Counts the navigation shows as badges, registered by the apps that own them (anomalies: `open_anomalies`),
# so that this platform module needs no app.
NAV_COUNTS: dict[str, Callable[[Project], int]] = {}


def register_nav_count(name: str, count: Callable[[Project], int]) -> None:
    NAV_COUNTS[name] = count


# What features add to the setup page's context, by name (the MCP feature: `mcp`, its stdio configuration), so
# that the apps drawing the page need no feature.
SETUP_CONTEXTS: dict[str, Callable[[Project], dict]] = {}


def register_setup_context(name: str, build: Callable[[Project], dict]) -> None:
    SETUP_CONTEXTS[name] = build


def setup_context(project: Project) -> dict:
    """The registered features' part of the setup page's context."""
    context: dict = {}
    for build in SETUP_CONTEXTS.values():
        context |= build(project)
    return context


class PagePanel(NamedTuple):
    template: str  # included where the page lists its panels
    script: str  # a static file, loaded after the page's own scripts


# Panels that features add to an app's page, by page (the sharing feature: its share panel on `dashboard`), so
# that the app's template names no feature.
PAGE_PANELS: dict[str, list[PagePanel]] = {}


def register_page_panel(page: str, template: str, script: str) -> None:
    panels = PAGE_PANELS.setdefault(page, [])
    if PagePanel(template, script) not in panels:
        panels.append(PagePanel(template, script))


def page_panels(page: str) -> list[PagePanel]:
    """The panels features registered for the page, in the order they were registered."""
    return list(PAGE_PANELS.get(page, []))


def project_or_404(request: HttpRequest, slug: str) -> Project:
    project = get_project_for_user(request.user, slug)
    if project is None:
        raise Http404("No such project")  # the same answer whether it exists or not
    return project


def page_context(request: HttpRequest, project: Project, section: str, **extra: object) -> dict:
    """The base template's context; `page` goes to the page's script through json_script."""
    can_edit = user_can(project, request.user, "edit")
    page = {"project": {"slug": project.slug, "name": project.name, "timezone": project.timezone}, "can_edit": can_edit}
    return {
        "project": project, "projects": list_projects_for_user(request.user).order_by("name"),
        "can_edit": can_edit, "page": page, "section": section,
        **{name: count(project) for name, count in NAV_COUNTS.items()}, **extra,
    }  # fmt: skip
