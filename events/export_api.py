"""GET /api/v1/events/export: the events an explorer query matches, as a streamed CSV file."""

import json

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request

from events import queries
from events.api import event_filter_from
from events.models import Event
from events.openapi import PROPERTIES_FILTER, event_filters
from flux.query import query_params
from flux.web.api import ProjectAPIView
from flux.web.auth import HasReadKey
from flux.web.csv_export import CSV_RESPONSE, csv_response, filename_part, max_rows
from flux.web.openapi.errors import errors
from flux.web.openapi.keys import needs_key
from flux.web.openapi.parameters import TIME_RANGE
from flux.web.serializers import iso

HEADER = ["id", "timestamp", "name", "user_id", "session_id", "value", "tags", "properties", "environment",
          "service", "host", "request_id"]  # fmt: skip


def event_row(event: Event) -> list:
    tags, properties = (json.dumps(value, ensure_ascii=False) for value in (event.tags, event.properties))
    return [event.id, iso(event.time), event.name, event.user_id, event.session_id, event.value, tags, properties,
            event.environment, event.service, event.host, event.request_id]  # fmt: skip


class EventExportView(ProjectAPIView):
    """GET /api/v1/events/export."""

    permission_classes = [HasReadKey]

    @extend_schema(
        operation_id="events_export",
        summary="Export events as CSV",
        description=needs_key(
            "read",
            "The events the filters match, newest first, streamed as CSV: tags and properties as JSON. At most "
            "`FLUX_CSV_MAX_ROWS` rows (default 100,000); the `X-Flux-Truncated: true` header says more matched "
            "(narrow the range). A text cell starting with `=`, `+`, `-` or `@` gets a leading `'`, so that "
            f"spreadsheets do not run it as a formula. {PROPERTIES_FILTER}",
        ),
        parameters=[*TIME_RANGE, *event_filters()],
        responses={(200, "text/csv"): CSV_RESPONSE, **errors(400, 401, 403)},
        tags=["Events"],
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        params = request.query_params
        time_range = query_params.time_range(params, self.project)
        event_filter = event_filter_from(params)
        limit = max_rows()
        truncated = queries.has_more_events_than(self.project, time_range, event_filter, limit)
        rows = map(event_row, queries.events_for_export(self.project, time_range, event_filter, limit))
        name = filename_part(f"{self.project.slug}-events-{timezone.now():%Y%m%d-%H%M}")
        return csv_response(request, f"{name}.csv", HEADER, rows, truncated)
