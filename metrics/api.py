from flux.ingestion.api import IngestView, InvalidBatch, list_under


class MetricView(IngestView):
    """POST /api/v1/metrics — one point."""

    single_item = True

    def split(self, payload: object) -> tuple[list, list]:
        if not isinstance(payload, dict):
            raise InvalidBatch("The body must be one metric point as a JSON object (use /api/v1/metrics/batch).")
        return [], [payload]


class MetricBatchView(IngestView):
    """POST /api/v1/metrics/batch — {"metrics": [...]} or a bare array."""

    def split(self, payload: object) -> tuple[list, list]:
        return [], (payload if isinstance(payload, list) else list_under(payload, "metrics"))
