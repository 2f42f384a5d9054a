"""Writes of dashboards and widgets. Each validates with dashboards.validation and is atomic."""

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.text import slugify

from dashboards.models import Dashboard, Widget
from dashboards.validation import (
    MAX_DESCRIPTION,
    MAX_NAME,
    MAX_WIDGETS,
    InvalidConfig,
    clean_settings,
    clean_widget,
    text,
)
from flux.tenants.limits import ensure_room
from flux.tenants.models import Project
from flux.web.api import FluxError
from metrics.models import Metric

EXPORT_FORMAT = 1


class DashboardConfigError(FluxError):
    code = "invalid_config"


def config_error(error: InvalidConfig, prefix: str = "") -> DashboardConfigError:
    field = f"{prefix}{error.field}"
    return DashboardConfigError(f"{prefix}{error.message}" if prefix else error.message, details={"field": field})


def metric_types(project: Project) -> dict[str, str]:
    return dict(Metric.objects.filter(project=project).values_list("name", "type"))


def validated_widget(
    project: Project, config: object, stored: Mapping[str, Any] | None = None, prefix: str = ""
) -> dict:
    types = metric_types(project)
    try:
        return clean_widget(config, types.get, stored)
    except InvalidConfig as error:
        raise config_error(error, prefix) from None


def unique_slug(project: Project, name: str, exclude: int | None = None) -> str:
    base = slugify(name)[:90] or "dashboard"
    taken = set(Dashboard.objects.filter(project=project).exclude(pk=exclude).values_list("slug", flat=True))
    slug, counter = base, 2
    while slug in taken:
        slug, counter = f"{base}-{counter}", counter + 1
    return slug


def checked_name(name: object) -> str:
    try:
        return text(name.strip() if isinstance(name, str) else name, "name", MAX_NAME) or ""
    except InvalidConfig as error:
        raise config_error(error) from None


def checked_description(description: object) -> str:
    try:
        return text(description, "description", MAX_DESCRIPTION, required=False) or ""
    except InvalidConfig as error:
        raise config_error(error) from None


def refuse_unknown(body: Mapping, accepted: tuple[str, ...]) -> None:
    """A field a dashboard body does not have is refused, not dropped: a typo (`widgetz`) must not pass."""
    unknown = sorted(set(body) - set(accepted))
    if unknown:
        raise DashboardConfigError(
            f"unknown field {unknown[0]}; accepted: {', '.join(accepted)}", details={"field": unknown[0]}
        )


def checked_settings(settings: object) -> dict:
    try:
        return clean_settings(settings)
    except InvalidConfig as error:
        raise config_error(error) from None


# Far more than a team browses; each is listed on the dashboards page and in MCP's catalogue.
MAX_DASHBOARDS_PER_PROJECT = 500


@transaction.atomic
def create_dashboard(
    project: Project, name: object, *, description: str = "", settings: object = None,
    widgets: Iterable[object] = (), created_by: AbstractBaseUser | None = None, is_default: object = False,
) -> Dashboard:  # fmt: skip
    """A new dashboard, with `widgets` (configs, validated; errors name `widgets[i].field`)."""
    if not isinstance(widgets, (list, tuple)):
        raise DashboardConfigError("widgets must be a list of widget configs", details={"field": "widgets"})
    if not isinstance(is_default, bool):
        raise DashboardConfigError("is_default must be true or false", details={"field": "is_default"})
    widgets = list(widgets)
    if len(widgets) > MAX_WIDGETS:
        raise DashboardConfigError(f"a dashboard has at most {MAX_WIDGETS} widgets", details={"field": "widgets"})
    name = checked_name(name)
    ensure_room(project, Dashboard.objects.filter(project=project), MAX_DASHBOARDS_PER_PROJECT, "dashboards")
    cleaned_widgets = [validated_widget(project, config, prefix=f"widgets[{i}].") for i, config in enumerate(widgets)]
    if is_default:
        Dashboard.objects.filter(project=project, is_default=True).update(is_default=False)
    dashboard = Dashboard.objects.create(
        project=project, name=name, slug=unique_slug(project, name), description=checked_description(description),
        settings=checked_settings(settings), created_by=created_by, is_default=is_default,
    )  # fmt: skip
    Widget.objects.bulk_create(Widget(dashboard=dashboard, **config) for config in cleaned_widgets)
    return dashboard


@transaction.atomic
def update_dashboard(dashboard: Dashboard, changes: Mapping[str, Any]) -> Dashboard:
    """Rename (the slug follows), describe, change settings, or make it the default (`is_default: true`)."""
    unknown = set(changes) - {"name", "description", "settings", "is_default"}
    if unknown:
        field = sorted(unknown)[0]
        raise DashboardConfigError(f"{field} cannot be changed here", details={"field": field})
    if "name" in changes:
        dashboard.name = checked_name(changes["name"])
        dashboard.slug = unique_slug(dashboard.project, dashboard.name, exclude=dashboard.pk)
    if "description" in changes:
        dashboard.description = checked_description(changes["description"])
    if "settings" in changes:
        dashboard.settings = checked_settings(changes["settings"])
    if changes.get("is_default") is True:
        set_default(dashboard)
    elif "is_default" in changes and changes["is_default"] is not dashboard.is_default:
        raise DashboardConfigError("make another dashboard the default instead", details={"field": "is_default"})
    dashboard.save()
    return dashboard


@transaction.atomic
def set_default(dashboard: Dashboard) -> None:
    Dashboard.objects.filter(project=dashboard.project, is_default=True).exclude(pk=dashboard.pk).update(
        is_default=False
    )
    dashboard.is_default = True
    dashboard.save(update_fields=["is_default", "updated_at"])


@transaction.atomic
def delete_dashboard(dashboard: Dashboard) -> None:
    """Delete it; if it was the default, the oldest remaining dashboard becomes the default."""
    project, was_default = dashboard.project, dashboard.is_default
    dashboard.delete()
    if was_default:
        successor = Dashboard.objects.filter(project=project).order_by("created_at", "pk").first()
        if successor is not None:
            set_default(successor)


EXPORT_FIELDS = ("flux_dashboard", "name", "description", "settings", "widgets")


def export_dashboard(dashboard: Dashboard) -> dict:
    """The dashboard as JSON that `import_dashboard` takes back (into this or another project)."""
    return {
        "flux_dashboard": EXPORT_FORMAT, "name": dashboard.name, "description": dashboard.description,
        "settings": dashboard.settings, "widgets": [widget.config() for widget in dashboard.widgets.all()],
    }  # fmt: skip


def import_dashboard(project: Project, data: object, created_by: AbstractBaseUser | None = None) -> Dashboard:
    if not isinstance(data, Mapping) or data.get("flux_dashboard") != EXPORT_FORMAT:
        raise DashboardConfigError(
            f"not a Flux dashboard export (expected flux_dashboard: {EXPORT_FORMAT})",
            details={"field": "flux_dashboard"},
        )
    refuse_unknown(data, EXPORT_FIELDS)
    return create_dashboard(
        project, data.get("name"), description=data.get("description"), settings=data.get("settings"),
        widgets=data.get("widgets", []), created_by=created_by,
    )  # fmt: skip


def duplicate_dashboard(dashboard: Dashboard, name: str | None = None) -> Dashboard:
    copy = {**export_dashboard(dashboard), "name": name or f"{dashboard.name} (copy)"}
    return import_dashboard(dashboard.project, copy)


@transaction.atomic
def add_widget(dashboard: Dashboard, config: object) -> Widget:
    if dashboard.widgets.count() >= MAX_WIDGETS:
        raise DashboardConfigError(f"a dashboard has at most {MAX_WIDGETS} widgets", details={"field": "widgets"})
    return Widget.objects.create(dashboard=dashboard, **validated_widget(dashboard.project, config))


@transaction.atomic
def update_widget(widget: Widget, changes: object) -> Widget:
    """Change some fields of a widget; the result is validated as a whole."""
    cleaned = validated_widget(widget.dashboard.project, changes, stored=widget.config())
    for field, value in cleaned.items():
        setattr(widget, field, value)
    widget.save()
    return widget


def delete_widget(widget: Widget) -> None:
    widget.delete()


@transaction.atomic
def save_layout(dashboard: Dashboard, positions: object) -> list[Widget]:
    """Move and resize several widgets at once (what dragging on the grid saves): [{id, x, y, w, h}]."""
    if not isinstance(positions, list):
        raise DashboardConfigError("the layout is a list of {id, x, y, w, h}", details={"field": "widgets"})
    widgets = {widget.pk: widget for widget in dashboard.widgets.all()}
    changed = []
    for index, entry in enumerate(positions):
        widget_id = entry.get("id") if isinstance(entry, Mapping) else None
        # An id must be an int: a list or object ([1], {"a": 1}) cannot even be looked up.
        widget = widgets.get(widget_id) if isinstance(widget_id, int) and not isinstance(widget_id, bool) else None
        if widget is None:
            raise DashboardConfigError("no such widget on this dashboard", details={"field": f"widgets[{index}].id"})
        position = {**widget.position, **{key: value for key, value in entry.items() if key != "id"}}
        cleaned = validated_widget(dashboard.project, {"position": position}, widget.config(), f"widgets[{index}].")
        widget.position = cleaned["position"]
        changed.append(widget)
    Widget.objects.bulk_update(changed, ["position"])
    return changed


def create_default_dashboard(project: Project) -> Dashboard:
    """Every new project starts with a dashboard of its events, so the first data shows at once.
    The layout has no holes: the grid would pack widgets upward into them, away from their stored place."""
    widgets = [
        {"title": "Events", "type": "number", "query": {"source": "events", "name": "*"},
         "position": {"x": 0, "y": 0, "w": 4, "h": 2}},
        {"title": "Unique users", "type": "number", "query": {"source": "events", "aggregation": "unique"},
         "position": {"x": 4, "y": 0, "w": 4, "h": 2}},
        {"title": "Events by name", "type": "graph", "query": {"source": "events", "group_by": "name"},
         "display": {"stacked": True, "style": "area"}, "position": {"x": 0, "y": 2, "w": 8, "h": 4}},
        {"title": "Top events", "type": "table", "query": {"source": "events", "group_by": "name"},
         "position": {"x": 8, "y": 0, "w": 4, "h": 6}},
        {"title": "When events happen", "type": "heatmap", "query": {"source": "events"},
         "display": {"mode": "hour_of_week"}, "position": {"x": 0, "y": 6, "w": 12, "h": 4}},
    ]  # fmt: skip
    return create_dashboard(project, "Key metrics", widgets=widgets, is_default=True)
