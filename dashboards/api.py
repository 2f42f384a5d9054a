from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from dashboards import queries, services
from dashboards.models import Dashboard, Widget
from dashboards.openapi import (
    CHANGES_INVALID,
    DASHBOARD_INVALID,
    DASHBOARD_NOT_FOUND,
    DASHBOARD_REFERENCE,
    DELETED,
    IMPORT_INVALID,
    LAYOUT_INVALID,
    NAME_INVALID,
    NOT_JSON,
    WIDGET_ID,
    WIDGET_INVALID,
    WIDGET_NOT_FOUND,
    DashboardChanges,
    DashboardExport,
    DashboardImport,
    DashboardInput,
    DashboardList,
    DuplicateRequest,
    LayoutEntry,
    WidgetInput,
    WidgetList,
)
from dashboards.openapi import Dashboard as DashboardShape
from dashboards.openapi import Widget as WidgetShape
from dashboards.serializers import dashboard_json, widget_json
from dashboards.validation import MAX_WIDGETS
from dashboards.widget_data import data_window, widget_data
from flux.api import NotFound, ProjectAPIView
from flux.auth import HasAdminKey, HasReadKey
from flux.openapi import TIME_RANGE, error, errors, needs_key, tags_parameter
from flux.serializers import range_json


class DashboardAPIView(ProjectAPIView):
    """Reading needs a read key; changing a dashboard needs an admin key (dashboards as code)."""

    def get_permissions(self) -> list:
        return [HasReadKey()] if self.request.method in ("GET", "HEAD", "OPTIONS") else [HasAdminKey()]

    def dashboard(self, reference: str) -> Dashboard:
        dashboard = queries.get_dashboard(self.project, reference)
        if dashboard is None:
            raise NotFound(f"No dashboard {reference!r} in this project.")
        return dashboard

    def widget(self, reference: str, widget_id: int) -> Widget:
        widget = queries.get_widget(self.dashboard(reference), widget_id)
        if widget is None:
            raise NotFound(f"No widget {widget_id} on dashboard {reference!r}.")
        return widget


def body_of(request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise services.DashboardConfigError("the body must be a JSON object", details={"field": "body"})
    return request.data


class DashboardListView(DashboardAPIView):
    """GET /api/v1/dashboards — the project's dashboards; POST — create one (with widgets)."""

    @extend_schema(
        operation_id="dashboards_list",
        summary="List dashboards",
        description=needs_key("read", "The project's dashboards without their widgets, the default first."),
        responses={200: DashboardList, **errors(401, 403)},
        tags=["Dashboards"],
    )
    def get(self, request: Request) -> Response:
        dashboards = queries.list_dashboards(self.project)
        return Response({"dashboards": [dashboard_json(dashboard, with_widgets=False) for dashboard in dashboards]})

    @extend_schema(
        operation_id="dashboards_create",
        summary="Create a dashboard",
        description=needs_key(
            "admin",
            "A dashboard with its widgets, all validated first: nothing is created when any part is invalid. The "
            "slug comes from the name (`-2`, `-3`… when taken).",
        ),
        request=DashboardInput,
        responses={
            201: OpenApiResponse(DashboardShape, "Created: the dashboard with its widgets."),
            400: DASHBOARD_INVALID,
            **errors(401, 403),
            415: NOT_JSON,
        },
        tags=["Dashboards"],
    )
    def post(self, request: Request) -> Response:
        body = body_of(request)
        dashboard = services.create_dashboard(
            self.project, body.get("name"), description=body.get("description", ""), settings=body.get("settings"),
            widgets=body.get("widgets") or [], is_default=body.get("is_default") is True,
        )  # fmt: skip
        return Response(dashboard_json(dashboard), status=status.HTTP_201_CREATED)


class DashboardDetailView(DashboardAPIView):
    """GET/PATCH/DELETE /api/v1/dashboards/{id or slug}."""

    @extend_schema(
        operation_id="dashboards_retrieve",
        summary="One dashboard",
        description=needs_key("read", "A dashboard of this project by id or slug, with its widgets."),
        parameters=[DASHBOARD_REFERENCE],
        responses={200: DashboardShape, **errors(401, 403), 404: DASHBOARD_NOT_FOUND},
        tags=["Dashboards"],
    )
    def get(self, request: Request, reference: str) -> Response:
        return Response(dashboard_json(self.dashboard(reference)))

    @extend_schema(
        operation_id="dashboards_partial_update",
        summary="Change a dashboard",
        description=needs_key(
            "admin",
            "Rename it (the slug follows), describe it, replace its settings or make it the default. Widgets "
            "change through `…/widgets` and `…/layout`.",
        ),
        parameters=[DASHBOARD_REFERENCE],
        request=DashboardChanges,
        responses={
            200: DashboardShape,
            400: CHANGES_INVALID,
            **errors(401, 403),
            404: DASHBOARD_NOT_FOUND,
            415: NOT_JSON,
        },
        tags=["Dashboards"],
    )
    def patch(self, request: Request, reference: str) -> Response:
        dashboard = services.update_dashboard(self.dashboard(reference), body_of(request))
        return Response(dashboard_json(dashboard))

    @extend_schema(
        operation_id="dashboards_destroy",
        summary="Delete a dashboard",
        description=needs_key(
            "admin", "Delete it with its widgets. If it was the default, the oldest remaining one becomes the default."
        ),
        parameters=[DASHBOARD_REFERENCE],
        responses={204: DELETED, **errors(401, 403), 404: DASHBOARD_NOT_FOUND},
        tags=["Dashboards"],
    )
    def delete(self, request: Request, reference: str) -> Response:
        services.delete_dashboard(self.dashboard(reference))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DashboardDuplicateView(DashboardAPIView):
    """POST /api/v1/dashboards/{id or slug}/duplicate — a copy with its widgets ({"name"} optional)."""

    @extend_schema(
        operation_id="dashboards_duplicate",
        summary="Duplicate a dashboard",
        description=needs_key("admin", "A copy with its settings and widgets, not the default. The body is optional."),
        parameters=[DASHBOARD_REFERENCE],
        request=DuplicateRequest,
        responses={
            201: OpenApiResponse(DashboardShape, "Created: the copy with its widgets."),
            400: NAME_INVALID,
            **errors(401, 403),
            404: DASHBOARD_NOT_FOUND,
            415: NOT_JSON,
        },
        tags=["Dashboards"],
    )
    def post(self, request: Request, reference: str) -> Response:
        name = request.data.get("name") if isinstance(request.data, dict) else None
        copy = services.duplicate_dashboard(self.dashboard(reference), name)
        return Response(dashboard_json(copy), status=status.HTTP_201_CREATED)


class DashboardExportView(DashboardAPIView):
    """GET /api/v1/dashboards/{id or slug}/export — the dashboard as importable JSON."""

    @extend_schema(
        operation_id="dashboards_export",
        summary="Export a dashboard",
        description=needs_key(
            "read",
            "The dashboard as JSON without ids, to keep in version control and `POST` to `/api/v1/dashboards/import` "
            "in this project or another.",
        ),
        parameters=[DASHBOARD_REFERENCE],
        responses={200: DashboardExport, **errors(401, 403), 404: DASHBOARD_NOT_FOUND},
        tags=["Dashboards"],
    )
    def get(self, request: Request, reference: str) -> Response:
        return Response(services.export_dashboard(self.dashboard(reference)))


class DashboardImportView(DashboardAPIView):
    """POST /api/v1/dashboards/import — create a dashboard from an export."""

    @extend_schema(
        operation_id="dashboards_import",
        summary="Import a dashboard",
        description=needs_key(
            "admin",
            "A new dashboard (never the default) from an export, validated as a new dashboard is; metric widgets are "
            "checked against this project's metrics.",
        ),
        request=DashboardImport,
        responses={
            201: OpenApiResponse(DashboardShape, "Created: the dashboard with its widgets."),
            400: IMPORT_INVALID,
            **errors(401, 403),
            415: NOT_JSON,
        },
        tags=["Dashboards"],
    )
    def post(self, request: Request) -> Response:
        dashboard = services.import_dashboard(self.project, request.data)
        return Response(dashboard_json(dashboard), status=status.HTTP_201_CREATED)


class DashboardLayoutView(DashboardAPIView):
    """PUT /api/v1/dashboards/{id or slug}/layout — [{id, x, y, w, h}, ...] (what dragging saves)."""

    @extend_schema(
        operation_id="dashboards_layout",
        summary="Move and resize widgets",
        description=needs_key(
            "admin",
            "New places and sizes for some widgets at once, as dragging on the grid saves them; all or none are "
            "saved. Widgets not listed stay where they are.",
        ),
        parameters=[DASHBOARD_REFERENCE],
        request=LayoutEntry(many=True),
        responses={
            200: OpenApiResponse(DashboardShape, "The dashboard with its widgets in their new places."),
            400: LAYOUT_INVALID,
            **errors(401, 403),
            404: DASHBOARD_NOT_FOUND,
            415: NOT_JSON,
        },
        tags=["Dashboards"],
    )
    def put(self, request: Request, reference: str) -> Response:
        dashboard = self.dashboard(reference)
        services.save_layout(dashboard, request.data)
        return Response(dashboard_json(queries.get_dashboard(self.project, str(dashboard.pk))))


class WidgetListView(DashboardAPIView):
    """GET/POST /api/v1/dashboards/{id or slug}/widgets."""

    @extend_schema(
        operation_id="dashboards_widgets_list",
        summary="List a dashboard's widgets",
        description=needs_key("read", "The dashboard's widgets, oldest first."),
        parameters=[DASHBOARD_REFERENCE],
        responses={200: WidgetList, **errors(401, 403), 404: DASHBOARD_NOT_FOUND},
        tags=["Dashboards"],
    )
    def get(self, request: Request, reference: str) -> Response:
        return Response({"widgets": [widget_json(widget) for widget in self.dashboard(reference).widgets.all()]})

    @extend_schema(
        operation_id="dashboards_widgets_create",
        summary="Add a widget",
        description=needs_key("admin", f"A new widget on the dashboard; a dashboard has at most {MAX_WIDGETS}."),
        parameters=[DASHBOARD_REFERENCE],
        request=WidgetInput,
        responses={
            201: OpenApiResponse(WidgetShape, "Created: the widget, normalised."),
            400: WIDGET_INVALID,
            **errors(401, 403),
            404: DASHBOARD_NOT_FOUND,
            415: NOT_JSON,
        },
        tags=["Dashboards"],
    )
    def post(self, request: Request, reference: str) -> Response:
        widget = services.add_widget(self.dashboard(reference), request.data)
        return Response(widget_json(widget), status=status.HTTP_201_CREATED)


class WidgetDetailView(DashboardAPIView):
    """GET/PATCH/DELETE /api/v1/dashboards/{id or slug}/widgets/{widget id}."""

    @extend_schema(
        operation_id="dashboards_widgets_retrieve",
        summary="One widget",
        description=needs_key("read", "A widget of the dashboard by id."),
        parameters=[DASHBOARD_REFERENCE, WIDGET_ID],
        responses={200: WidgetShape, **errors(401, 403), 404: WIDGET_NOT_FOUND},
        tags=["Dashboards"],
    )
    def get(self, request: Request, reference: str, widget_id: int) -> Response:
        return Response(widget_json(self.widget(reference, widget_id)))

    @extend_schema(
        operation_id="dashboards_widgets_partial_update",
        summary="Change a widget",
        description=needs_key(
            "admin",
            "Only the fields sent change; `query`, `display` and `position` are replaced as a whole. The result is "
            "validated as a whole.",
        ),
        parameters=[DASHBOARD_REFERENCE, WIDGET_ID],
        request=WidgetInput,
        responses={
            200: WidgetShape,
            400: WIDGET_INVALID,
            **errors(401, 403),
            404: WIDGET_NOT_FOUND,
            415: NOT_JSON,
        },
        tags=["Dashboards"],
    )
    def patch(self, request: Request, reference: str, widget_id: int) -> Response:
        widget = services.update_widget(self.widget(reference, widget_id), request.data)
        return Response(widget_json(widget))

    @extend_schema(
        operation_id="dashboards_widgets_destroy",
        summary="Delete a widget",
        description=needs_key("admin", "Remove the widget from the dashboard."),
        parameters=[DASHBOARD_REFERENCE, WIDGET_ID],
        responses={204: DELETED, **errors(401, 403), 404: WIDGET_NOT_FOUND},
        tags=["Dashboards"],
    )
    def delete(self, request: Request, reference: str, widget_id: int) -> Response:
        services.delete_widget(self.widget(reference, widget_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


WINDOW = [
    *TIME_RANGE,
    tags_parameter("Dashboard-wide tag filters for this request, instead of the dashboard's saved ones."),
]
WINDOW_TEXT = (
    "Over `from`/`to`/`period` (default: the dashboard's saved range, in its timezone or the project's), "
    "with the dashboard's tag filters (or `tags[k]=v` given here) added to each widget's own. Widget data by "
    "type: number `{value, previous, change, change_percent, sparkline}`; graph `{interval, series: [{key, "
    "points}]}`; bar, pie and table `{groups: [{key, value}], total}`; heatmap `{mode: hour_of_week, cells: "
    "[[weekday, hour, value]]}` or `{mode: time_value, interval, bins, cells: [[time, bin, count]]}`; a metric "
    "that has not arrived yet `{empty: true, message}`."
)


class DashboardDataView(DashboardAPIView):
    """GET /api/v1/dashboards/{id or slug}/data — every widget's data at once (a dashboard snapshot)."""

    @extend_schema(
        operation_id="dashboards_data",
        summary="Every widget's data",
        description=needs_key("read", WINDOW_TEXT),
        parameters=[DASHBOARD_REFERENCE, *WINDOW],
        responses={200: OpenApiTypes.OBJECT, 400: error(400), **errors(401, 403), 404: DASHBOARD_NOT_FOUND},
        tags=["Dashboards"],
    )
    def get(self, request: Request, reference: str) -> Response:
        dashboard = self.dashboard(reference)
        time_range, filters = data_window(dashboard, request.query_params, self.project)
        data = {
            str(widget.pk): widget_data(self.project, widget, time_range, filters) for widget in dashboard.widgets.all()
        }
        return Response({"dashboard": dashboard.pk, **range_json(time_range), "filters": filters, "widgets": data})


class WidgetDataView(DashboardAPIView):
    """GET /api/v1/dashboards/{id or slug}/widgets/{widget id}/data — one widget's data."""

    @extend_schema(
        operation_id="dashboards_widgets_data",
        summary="One widget's data",
        description=needs_key("read", WINDOW_TEXT),
        parameters=[DASHBOARD_REFERENCE, WIDGET_ID, *WINDOW],
        responses={200: OpenApiTypes.OBJECT, 400: error(400), **errors(401, 403), 404: WIDGET_NOT_FOUND},
        tags=["Dashboards"],
    )
    def get(self, request: Request, reference: str, widget_id: int) -> Response:
        widget = self.widget(reference, widget_id)
        time_range, filters = data_window(widget.dashboard, request.query_params, self.project)
        data = widget_data(self.project, widget, time_range, filters)
        return Response({"widget": widget.pk, **range_json(time_range), "filters": filters, **data})


class WidgetPreviewView(DashboardAPIView):
    """POST /api/v1/dashboards/{id or slug}/preview — the data a widget config would show, unsaved (the editor)."""

    def get_permissions(self) -> list:
        return [HasReadKey()]  # it only reads data; the body is a config, not a change

    @extend_schema(
        operation_id="dashboards_preview",
        summary="Preview a widget",
        description=needs_key(
            "read",
            "Validate a widget config (as for creating a widget) and answer the data it would show, without "
            "saving anything. " + WINDOW_TEXT,
        ),
        parameters=[DASHBOARD_REFERENCE, *WINDOW],
        request=WidgetInput,
        responses={200: OpenApiTypes.OBJECT, 400: WIDGET_INVALID, **errors(401, 403), 404: DASHBOARD_NOT_FOUND},
        tags=["Dashboards"],
    )
    def post(self, request: Request, reference: str) -> Response:
        dashboard = self.dashboard(reference)
        config = services.validated_widget(self.project, request.data)
        time_range, filters = data_window(dashboard, request.query_params, self.project)
        data = widget_data(self.project, Widget(dashboard=dashboard, **config), time_range, filters)
        return Response({"widget": config, **range_json(time_range), "filters": filters, **data})
