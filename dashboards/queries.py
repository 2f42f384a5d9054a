"""Reads of dashboards; every function takes the project first."""

from django.db.models import QuerySet

from dashboards.models import Dashboard, Widget
from flux.tenants.models import Project


def list_dashboards(project: Project) -> QuerySet[Dashboard]:
    return Dashboard.objects.filter(project=project)


def get_dashboard(project: Project, reference: str) -> Dashboard | None:
    """By id (digits) or slug, within the project only."""
    dashboards = Dashboard.objects.filter(project=project).prefetch_related("widgets")
    if reference.isascii() and reference.isdigit():  # "²" is a digit to isdigit(), not an id
        return dashboards.filter(pk=int(reference)).first()
    return dashboards.filter(slug=reference).first()


def get_widget(dashboard: Dashboard, widget_id: int) -> Widget | None:
    return dashboard.widgets.filter(pk=widget_id).first()
