"""JSON shapes of dashboards and widgets, shared by the REST API and (later) the pages and websocket."""

from dashboards.models import Dashboard, Widget
from flux.web.serializers import iso


def widget_json(widget: Widget) -> dict:
    return {"id": widget.pk, **widget.config(), "updated_at": iso(widget.updated_at)}


def dashboard_json(dashboard: Dashboard, with_widgets: bool = True) -> dict:
    body = {
        "id": dashboard.pk, "name": dashboard.name, "slug": dashboard.slug, "description": dashboard.description,
        "is_default": dashboard.is_default, "settings": dashboard.settings,
        "created_at": iso(dashboard.created_at), "updated_at": iso(dashboard.updated_at),
    }  # fmt: skip
    if with_widgets:
        body["widgets"] = [widget_json(widget) for widget in dashboard.widgets.all()]
    return body
