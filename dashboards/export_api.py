"""GET /api/v1/dashboards/{reference}/widgets/{widget_id}/export: one widget's data as a CSV file."""

import itertools

from django.http import StreamingHttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request

from dashboards.api import DashboardAPIView
from dashboards.openapi.fields import DASHBOARD_REFERENCE, WIDGET_ID
from dashboards.openapi.responses import WIDGET_NOT_FOUND
from dashboards.widget_api import WINDOW
from dashboards.widget_csv import widget_table
from dashboards.widget_data import data_window, widget_data
from flux.web.csv_export import CSV_RESPONSE, csv_response, filename_part, max_rows
from flux.web.openapi.errors import error, errors
from flux.web.openapi.keys import needs_key


class WidgetExportView(DashboardAPIView):
    """GET /api/v1/dashboards/{id or slug}/widgets/{widget id}/export."""

    @extend_schema(
        operation_id="dashboards_widgets_export",
        summary="Export a widget's data as CSV",
        description=needs_key(
            "read",
            "The data the widget shows over the same window as `…/data`, as CSV: a graph as `time,series,value` "
            "rows, bar/pie/table as `key,value`, a number as one row of `value,previous,change,change_percent`, a "
            "heatmap as `weekday,hour,value` or `time,bin_from,count`. At most `FLUX_CSV_MAX_ROWS` rows.",
        ),
        parameters=[DASHBOARD_REFERENCE, WIDGET_ID, *WINDOW],
        responses={(200, "text/csv"): CSV_RESPONSE, 400: error(400), **errors(401, 403), 404: WIDGET_NOT_FOUND},
        tags=["Dashboards"],
    )
    def get(self, request: Request, reference: str, widget_id: int) -> StreamingHttpResponse:
        widget = self.widget(reference, widget_id)
        time_range, filters = data_window(widget.dashboard, request.query_params, self.project)
        header, rows = widget_table(widget.type, widget_data(self.project, widget, time_range, filters))
        limit = max_rows()
        bounded = list(itertools.islice(rows, limit + 1))  # widget data is already in memory, and small
        name = filename_part(f"{widget.dashboard.slug}-{widget.title or widget.type}-{time_range.start:%Y%m%d}")
        return csv_response(request, f"{name}.csv", header, bounded[:limit], truncated=len(bounded) > limit)
