"""The ingestion endpoints' shared view: key, rate limit, body limits, then one call to `ingest`."""

from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import status
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.response import Response

from events.openapi import EventInput
from flux.ingestion import outcomes
from flux.ingestion.services import ingest
from flux.payloads import wire
from flux.payloads.body import PayloadTooLarge, parse_json, read_body
from flux.web.api import FluxError, ProjectAPIView
from flux.web.auth import (
    ApiKeyAuthentication,
    HasIngestKey,
    HasReadKey,
    IngestKeyInQueryAuthentication,
    SessionProjectAuthentication,
)
from flux.web.openapi.ingestion import INGEST_DESCRIPTION, INGEST_HEADERS, ingest_responses
from flux.web.openapi.keys import needs_key
from flux.web.ratelimit import check_ingest_rate
from metrics.openapi import MetricPointInput


class InvalidBatch(FluxError):
    code = "invalid_batch"


def list_under(payload: object, key: str, required: bool = True) -> list:
    if not isinstance(payload, dict):
        raise InvalidBatch(f"The body must be a JSON object with an {key!r} array.")
    items = payload.get(key)
    if items is None:
        if required:
            raise InvalidBatch(f"The body must be a JSON object with an {key!r} array.")
        return []
    if not isinstance(items, list):
        raise InvalidBatch(f"{key!r} must be an array of objects.")
    return items


class IngestView(ProjectAPIView):
    """POST a batch; subclasses say where the events and metrics are in the body.

    A subclass may also answer GET on the same path (a listing); that needs a read key and has the read
    rate limit. POSTs are limited in items per project, once the body says how many there are.
    """

    single_item = False
    authentication_classes = [ApiKeyAuthentication, IngestKeyInQueryAuthentication, SessionProjectAuthentication]

    def get_permissions(self) -> list:
        return [HasReadKey()] if self.request.method == "GET" else [HasIngestKey()]

    def get_throttles(self) -> list:
        return [] if self.request.method == "POST" else super().get_throttles()

    def split(self, payload: object) -> tuple[list, list]:
        raise NotImplementedError

    def decode(self, data: bytes) -> tuple[list, list]:
        """(events, metrics) of the body; endpoints that take SDK batches first try the typed decoder."""
        return self.split(parse_json(data))

    def post(self, request: Request) -> Response:
        try:
            events, metrics = self.decode(read_body(request))
            check_batch_size(len(events) + len(metrics))
        except FluxError as error:
            outcomes.record(self.project.pk, 0, 0, [], request_error=error.message)
            raise
        try:
            check_ingest_rate(self.project.pk, len(events) + len(metrics))
        except Throttled as throttled:
            outcomes.record(self.project.pk, 0, 0, [], request_error=str(throttled.detail))
            raise
        result = ingest(self.project, events, metrics)
        outcomes.record(self.project.pk, result.accepted, result.duplicates, result.rejected, request_error=None)
        # A batch whose every item is invalid is still a well-formed request: it gets the per-item report
        # with 202, because SDKs that never retry treat any non-2xx as a crash of their flusher.
        if self.single_item and result.accepted == 0 and result.duplicates == 0:
            raise FluxError("; ".join(result.rejected[0]["errors"]), code="invalid_items", details=result.as_dict())
        return Response(result.as_dict(), status=status.HTTP_202_ACCEPTED)


def check_batch_size(count: int) -> None:
    if count > settings.FLUX_MAX_BATCH_ITEMS:
        raise PayloadTooLarge(
            f"A batch may hold at most {settings.FLUX_MAX_BATCH_ITEMS:,} items; this one has {count:,}.",
            details={"limit_items": settings.FLUX_MAX_BATCH_ITEMS},
        )
    if count == 0:
        raise InvalidBatch("The batch has no items.")


@extend_schema_view(
    post=extend_schema(
        operation_id="flux_batch",
        summary="Send events and metric points",
        description=needs_key(
            "ingest", f"What the BrainzLab SDK sends; either array may be absent. {INGEST_DESCRIPTION}"
        ),
        parameters=INGEST_HEADERS,
        request=inline_serializer(
            "FluxBatch",
            {"events": EventInput(many=True, required=False), "metrics": MetricPointInput(many=True, required=False)},
        ),
        responses=ingest_responses(single=False),
        tags=["Ingestion"],
    )
)
class FluxBatchView(IngestView):
    """POST /api/v1/flux/batch — {"events": [...], "metrics": [...]}, what the BrainzLab SDK sends."""

    def split(self, payload: object) -> tuple[list, list]:
        if isinstance(payload, dict) and "events" not in payload and "metrics" not in payload:
            raise InvalidBatch("The body must have an 'events' array, a 'metrics' array, or both.")
        return list_under(payload, "events", required=False), list_under(payload, "metrics", required=False)

    def decode(self, data: bytes) -> tuple[list, list]:
        batch = wire.decode_batch(data)
        if batch is None:
            return super().decode(data)
        return batch.events or [], batch.metrics or []
