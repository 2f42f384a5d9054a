"""An OTLP metrics export through Flux's ingestion: cumulative streams to increments, data points to
metric items, then the same `ingest` every endpoint uses, in one transaction."""

from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from flux.ingestion.services import IngestResult, ingest
from flux.otlp import histograms
from flux.otlp.convert import OtlpPoint, flatten
from flux.otlp.cumulative import advance_streams
from flux.payloads.body import PayloadTooLarge
from flux.tenants.models import Project
from flux.web.ratelimit import check_ingest_rate

MESSAGES_SHOWN = 5


@dataclass
class ExportOutcome:
    result: IngestResult
    rejected_data_points: int = 0
    messages: list[str] = field(default_factory=list)

    def error_message(self) -> str:
        shown = self.messages[:MESSAGES_SHOWN]
        more = len(self.messages) - len(shown)
        return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


def check_export_size(points: list[OtlpPoint]) -> None:
    budget = settings.FLUX_OTLP_MAX_VALUES_PER_REQUEST
    if len(points) > budget:
        raise PayloadTooLarge(
            f"An export may hold at most {budget:,} data points; this one has {len(points):,}. Lower the "
            "exporter's batch size (e.g. max_export_batch_size in the Python SDK).",
            details={"limit_data_points": budget},
        )


def histogram_limit(points: list[OtlpPoint]) -> int:
    """Values per histogram point: FLUX_OTLP_MAX_VALUES_PER_HISTOGRAM, less when the request's share is smaller,
    so that one request never expands into more than FLUX_OTLP_MAX_VALUES_PER_REQUEST values."""
    histograms_count = sum(1 for point in points if point.kind == "histogram")
    if not histograms_count:
        return settings.FLUX_OTLP_MAX_VALUES_PER_HISTOGRAM
    share = (settings.FLUX_OTLP_MAX_VALUES_PER_REQUEST - (len(points) - histograms_count)) // histograms_count
    return max(1, min(settings.FLUX_OTLP_MAX_VALUES_PER_HISTOGRAM, share))


def metric_items(points: list[OtlpPoint], limit: int) -> tuple[list[dict], list[int], list[str]]:
    """Flux metric items for the points, the data point number each item came from, and notes."""
    items: list[dict] = []
    owners: list[int] = []
    notes: list[str] = []
    for point in points:
        timestamp = point.time_unix_nano / 1e6 if point.time_unix_nano else None
        if point.kind == "histogram":
            values, sampled = histograms.values(point.histogram, limit)
            if sampled:
                notes.append(
                    f"{point.name}: a histogram point had more than {limit:,} observations; a sample was kept "
                    f"(its exact count and sum are in {point.name}.count and {point.name}.sum)"
                )
            metric_type = "distribution"
        else:
            values, metric_type = [point.value], ("gauge" if point.kind == "gauge" else "counter")
        for value in values:
            items.append({"type": metric_type, "name": point.name, "tags": point.tags, "timestamp": timestamp,
                          "value": value})  # fmt: skip
            owners.append(point.number)
    return items, owners, notes


def export_metrics(project: Project, request: ExportMetricsServiceRequest) -> ExportOutcome:
    """Store an export's data points; raises Throttled (nothing stored) past the project's rate limit."""
    points = flatten(request, frozenset(settings.FLUX_OTLP_RESOURCE_ATTRIBUTES))
    check_export_size(points)
    with transaction.atomic():
        with connection.cursor() as cursor:
            advance_streams(cursor, project.pk, points)
        items, owners, notes = metric_items(points, histogram_limit(points))
        check_ingest_rate(project.pk, len(items))
        result = ingest(project, [], items) if items else IngestResult()
    rejected = {owners[rejection["index"]] for rejection in result.rejected}
    messages = [f"{items[r['index']]['name']}: {'; '.join(r['errors'])}" for r in result.rejected]
    messages += notes + [warning["message"] for warning in result.warnings]
    return ExportOutcome(result, len(rejected), list(dict.fromkeys(messages)))
