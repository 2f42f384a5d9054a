"""The events and metrics ingest endpoints: POST on the apps' paths, with the apps' listings as GET."""

from drf_spectacular.utils import extend_schema, extend_schema_view

from events.api import EventListing
from events.openapi import EVENT_BATCH, EventInput
from flux.ingestion.api import IngestView, InvalidBatch, list_under
from flux.payloads import wire
from flux.web.openapi.ingestion import INGEST_DESCRIPTION, INGEST_HEADERS, ingest_responses
from flux.web.openapi.keys import needs_key
from metrics.api import MetricCatalogueListing
from metrics.openapi import METRIC_BATCH, MetricPointInput


@extend_schema_view(
    post=extend_schema(
        operation_id="events_create",
        summary="Send one event",
        description=needs_key("ingest", INGEST_DESCRIPTION),
        parameters=INGEST_HEADERS,
        request=EventInput,
        responses=ingest_responses(single=True),
        tags=["Ingestion"],
    )
)
class EventView(EventListing, IngestView):
    """GET /api/v1/events — list, newest first (read key). POST — one event (ingest key)."""

    single_item = True

    def split(self, payload: object) -> tuple[list, list]:
        if not isinstance(payload, dict):
            raise InvalidBatch("The body must be one event as a JSON object (use /api/v1/events/batch for many).")
        return [payload], []


@extend_schema_view(
    post=extend_schema(
        operation_id="events_batch",
        summary="Send events",
        description=needs_key("ingest", f'`{{"events": [...]}}` or a bare array. {INGEST_DESCRIPTION}'),
        parameters=INGEST_HEADERS,
        request=EVENT_BATCH,
        responses=ingest_responses(single=False),
        tags=["Ingestion"],
    )
)
class EventBatchView(IngestView):
    """POST /api/v1/events/batch — {"events": [...]} or a bare array."""

    def split(self, payload: object) -> tuple[list, list]:
        return (payload if isinstance(payload, list) else list_under(payload, "events")), []

    def decode(self, data: bytes) -> tuple[list, list]:
        if data.lstrip()[:1] == b"[":
            events = wire.decode_event_list(data)
        else:
            batch = wire.decode_batch(data)
            events = batch.events if batch is not None else None
        return (events, []) if events is not None else super().decode(data)


@extend_schema_view(
    post=extend_schema(
        operation_id="metrics_create",
        summary="Send one metric point",
        description=needs_key("ingest", INGEST_DESCRIPTION),
        parameters=INGEST_HEADERS,
        request=MetricPointInput,
        responses=ingest_responses(single=True),
        tags=["Ingestion"],
    )
)
class MetricView(MetricCatalogueListing, IngestView):
    """GET /api/v1/metrics — the catalogue (read key). POST — one point (ingest key)."""

    single_item = True

    def split(self, payload: object) -> tuple[list, list]:
        if not isinstance(payload, dict):
            raise InvalidBatch("The body must be one metric point as a JSON object (use /api/v1/metrics/batch).")
        return [], [payload]


@extend_schema_view(
    post=extend_schema(
        operation_id="metrics_batch",
        summary="Send metric points",
        description=needs_key("ingest", f'`{{"metrics": [...]}}` or a bare array. {INGEST_DESCRIPTION}'),
        parameters=INGEST_HEADERS,
        request=METRIC_BATCH,
        responses=ingest_responses(single=False),
        tags=["Ingestion"],
    )
)
class MetricBatchView(IngestView):
    """POST /api/v1/metrics/batch — {"metrics": [...]} or a bare array."""

    def split(self, payload: object) -> tuple[list, list]:
        return [], (payload if isinstance(payload, list) else list_under(payload, "metrics"))

    def decode(self, data: bytes) -> tuple[list, list]:
        if data.lstrip()[:1] == b"[":
            points = wire.decode_point_list(data)
        else:
            batch = wire.decode_batch(data)
            points = batch.metrics if batch is not None else None
        return ([], points) if points is not None else super().decode(data)
