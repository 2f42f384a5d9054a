from flux.ingestion.api import IngestView, InvalidBatch, list_under


class EventView(IngestView):
    """POST /api/v1/events — one event."""

    single_item = True

    def split(self, payload: object) -> tuple[list, list]:
        if not isinstance(payload, dict):
            raise InvalidBatch("The body must be one event as a JSON object (use /api/v1/events/batch for many).")
        return [payload], []


class EventBatchView(IngestView):
    """POST /api/v1/events/batch — {"events": [...]} or a bare array."""

    def split(self, payload: object) -> tuple[list, list]:
        return (payload if isinstance(payload, list) else list_under(payload, "events")), []
