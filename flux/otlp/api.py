"""POST /v1/metrics: OTLP/HTTP metrics export, authenticated by an ingest key like every ingest endpoint."""

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import Throttled
from rest_framework.request import Request

from flux.api import FluxError, ProjectAPIView
from flux.auth import HasIngestKey
from flux.ingestion import outcomes
from flux.openapi import errors, needs_key
from flux.otlp.ingest import export_metrics
from flux.otlp.wire import encode_response, read_export, request_encoding


class OtlpMetricsView(ProjectAPIView):
    """OTLP's ExportMetricsServiceRequest in protobuf or JSON (gzip allowed); answers with partial success."""

    permission_classes = [HasIngestKey]
    throttle_classes: list = []  # limited in items per project, by export_metrics

    @extend_schema(
        operation_id="otlp_metrics_export",
        summary="OpenTelemetry metrics (OTLP/HTTP)",
        description=needs_key(
            "ingest",
            "An OTLP `ExportMetricsServiceRequest` as `application/x-protobuf` or `application/json`, optionally "
            "gzipped; the answer is an `ExportMetricsServiceResponse` in the same encoding. See the README's "
            "OpenTelemetry section for how each metric type is stored.",
        ),
        request={"application/x-protobuf": bytes, "application/json": dict},
        responses={(200, "application/x-protobuf"): bytes, **errors(400, 401, 403, 413, 415, 429)},
        tags=["Ingestion"],
    )
    def post(self, request: Request) -> HttpResponse:
        try:
            encoding = request_encoding(request)
            outcome = export_metrics(self.project, read_export(request, encoding))
        except (FluxError, Throttled) as error:
            message = error.message if isinstance(error, FluxError) else str(error.detail)
            outcomes.record(self.project.pk, 0, 0, [], request_error=message)
            raise
        result = outcome.result
        outcomes.record(self.project.pk, result.accepted, result.duplicates, result.rejected, request_error=None)
        body = encode_response(encoding, outcome.rejected_data_points, outcome.error_message())
        return HttpResponse(body, content_type=encoding)
