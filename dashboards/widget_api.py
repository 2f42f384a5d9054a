"""The widgets API: a dashboard's widgets (CRUD) and the data they show, saved or previewed."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from dashboards import services
from dashboards.api import DashboardAPIView
from dashboards.models import Widget
from dashboards.openapi.fields import DASHBOARD_REFERENCE, WIDGET_ID
from dashboards.openapi.responses import DASHBOARD_NOT_FOUND, DELETED, NOT_JSON, WIDGET_INVALID, WIDGET_NOT_FOUND
from dashboards.openapi.widgets import Widget as WidgetShape
from dashboards.openapi.widgets import WidgetInput, WidgetList
from dashboards.serializers import widget_json
from dashboards.validation import MAX_WIDGETS
from dashboards.variables import chosen_values, variable_options
from dashboards.widget_data import data_window, widget_data
from flux.web.auth import HasReadKey
from flux.web.openapi.errors import error, errors
from flux.web.openapi.keys import needs_key
from flux.web.openapi.parameters import TIME_RANGE, tags_parameter
from flux.web.serializers import range_json


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
    OpenApiParameter(
        "var",
        {"type": "object", "additionalProperties": {"type": "string"}},
        style="deepObject",
        explode=True,
        description="`var[<tag>]=<value>[,<value>…]`: the values chosen for a variable of the dashboard "
        "(instead of its saved choice; empty: all values). Applied to the widgets whose series carry the tag; "
        "each widget's data lists them under `variables.applied`, the others under `variables.ignored`.",
    ),
]
WINDOW_TEXT = (
    "Over `from`/`to`/`period` (default: the dashboard's saved range, in its timezone or the project's), "
    "with the dashboard's tag filters (or `tags[k]=v` given here) added to each widget's own. Widget data by "
    "type: number `{value, previous, change, change_percent, sparkline}` (`change_percent` null without a "
    "baseline or when the previous value is under 5% of the current one); graph `{interval, series: [{key, "
    "points}]}`; bar, pie and table `{groups: [{key, value}], total, additive}` (`additive`: counts and sums, "
    "whose groups' shares of the total mean something; `__other__` is the rest beyond the limit); "
    "heatmap `{mode: hour_of_week, cells: "
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
        chosen = chosen_values(dashboard, request.query_params)
        data = {
            str(widget.pk): widget_data(self.project, widget, time_range, filters, chosen)
            for widget in dashboard.widgets.all()
        }
        tags = [variable["tag"] for variable in (dashboard.settings or {}).get("variables", [])]
        options = variable_options(self.project, tags, time_range)
        return Response({
            "dashboard": dashboard.pk, **range_json(time_range), "filters": filters,
            "variables": {tag: {"chosen": list(chosen.get(tag, ())), "options": options[tag]} for tag in tags},
            "widgets": data,
        })  # fmt: skip


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
        chosen = chosen_values(widget.dashboard, request.query_params)
        data = widget_data(self.project, widget, time_range, filters, chosen)
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
        chosen = chosen_values(dashboard, request.query_params)
        data = widget_data(self.project, Widget(dashboard=dashboard, **config), time_range, filters, chosen)
        return Response({"widget": config, **range_json(time_range), "filters": filters, **data})
