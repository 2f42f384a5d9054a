"""OTLP/HTTP: POST /v1/metrics and /v1/logs, authenticated by an ingest key like every ingest endpoint."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest, ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from rest_framework.exceptions import Throttled
from rest_framework.request import Request

from flux.ingestion import outcomes
from flux.otlp.ingest import ExportOutcome, export_metrics
from flux.otlp.logs import export_logs
from flux.otlp.wire import PROTOBUF, encode_response, error_status, is_protobuf, read_export, request_encoding
from flux.web.api import FluxError, ProjectAPIView
from flux.web.auth import HasIngestKey
from flux.web.errors import envelope
from flux.web.openapi.errors import errors
from flux.web.openapi.keys import needs_key

OTLP_ERRORS = errors(400, 401, 403, 413, 415, 429)


class OtlpExportView(ProjectAPIView):
    """An OTLP export request in protobuf or JSON (gzip allowed), answered with partial success in kind."""

    permission_classes = [HasIngestKey]
    throttle_classes: list = []  # limited in items per project, by the export function
    request_class: type[Message]
    response_class: type[Message]
    rejected_field: str
    export: Callable[[object, Message], ExportOutcome]

    def post(self, request: Request) -> HttpResponse:
        try:
            encoding = request_encoding(request)
            outcome = self.export(self.project, read_export(request, encoding, self.request_class))
        except (FluxError, Throttled) as error:
            message = error.message if isinstance(error, FluxError) else str(error.detail)
            outcomes.record(self.project.pk, 0, 0, [], request_error=message)
            raise
        result = outcome.result
        outcomes.record(self.project.pk, result.accepted, result.duplicates, result.rejected, request_error=None)
        response = self.response_class()
        body = encode_response(
            encoding, response, self.rejected_field, outcome.rejected_data_points, outcome.error_message()
        )
        return HttpResponse(body, content_type=encoding)

    def handle_exception(self, exc: Exception) -> HttpResponse:
        """Protobuf requests get their failure as a google.rpc.Status, as OTLP/HTTP asks; JSON ones Flux's
        error envelope. Headers (Retry-After, WWW-Authenticate) are kept."""
        response = super().handle_exception(exc)
        if not is_protobuf(self.request.content_type) or not isinstance(response.data, dict):
            return response
        message = response.data.get("error", {}).get("message", "")
        protobuf = HttpResponse(error_status(response.status_code, message), status=response.status_code,
                                content_type=PROTOBUF)  # fmt: skip
        for header in ("Retry-After", "WWW-Authenticate"):
            if header in response:
                protobuf[header] = response[header]
        return protobuf


def described(kind: str, what: str) -> str:
    return needs_key(
        "ingest",
        f"An OTLP `Export{kind}ServiceRequest` as `application/x-protobuf` or `application/json`, optionally "
        f"gzipped; the answer is an `Export{kind}ServiceResponse` in the same encoding. {what}",
    )


class OtlpMetricsView(OtlpExportView):
    """POST /v1/metrics."""

    request_class, response_class = ExportMetricsServiceRequest, ExportMetricsServiceResponse
    rejected_field = "rejected_data_points"
    export = staticmethod(export_metrics)

    @extend_schema(
        operation_id="otlp_metrics_export",
        summary="OpenTelemetry metrics (OTLP/HTTP)",
        description=described("Metrics", "See the README's OpenTelemetry section for how each metric type is stored."),
        request={"application/x-protobuf": bytes, "application/json": dict},
        responses={(200, "application/x-protobuf"): bytes, **OTLP_ERRORS},
        tags=["Ingestion"],
    )
    def post(self, request: Request) -> HttpResponse:
        return super().post(request)


class OtlpLogsView(OtlpExportView):
    """POST /v1/logs: log records as events."""

    request_class, response_class = ExportLogsServiceRequest, ExportLogsServiceResponse
    rejected_field = "rejected_log_records"
    export = staticmethod(export_logs)

    @extend_schema(
        operation_id="otlp_logs_export",
        summary="OpenTelemetry logs as events (OTLP/HTTP)",
        description=described("Logs", "Each log record becomes an event (README, OpenTelemetry)."),
        request={"application/x-protobuf": bytes, "application/json": dict},
        responses={(200, "application/x-protobuf"): bytes, **OTLP_ERRORS},
        tags=["Ingestion"],
    )
    def post(self, request: Request) -> HttpResponse:
        return super().post(request)


@csrf_exempt  # an SDK posts without a session or CSRF token; nothing is read or written
def traces_not_taken(request: HttpRequest) -> HttpResponse:
    """POST /v1/traces, where an OpenTelemetry SDK with its traces exporter left on sends: a JSON 404 that says
    what to do (it was Django's HTML page, which under DEBUG listed every URL)."""
    return envelope(
        404, "not_supported",
        "Flux takes OTLP metrics (/v1/metrics) and logs (/v1/logs), not traces: turn the SDK's traces exporter "
        "off (OTEL_TRACES_EXPORTER=none).",
    )  # fmt: skip
