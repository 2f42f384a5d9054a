"""OTLP log records to Flux events: one event per record, its body and attributes in the properties.

The event's name is the record's `event_name` (OpenTelemetry events), else its `event.name` attribute,
else `log.<severity>` (`log.error`, `log.info`; `log` without a severity). Tags are the allow-listed
resource attributes and the severity only: a log's attributes (ids, messages) would make tags useless,
so they stay in the properties, which are searchable. `service`, `host` and `environment` come from the
resource's service.name, host.name and deployment.environment(.name).
"""

from django.conf import settings
from django.db import transaction
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.logs.v1 import logs_pb2

from flux.ingestion.services import IngestResult, ingest
from flux.otlp.convert import any_value_python, attribute_tags
from flux.otlp.ingest import ExportOutcome
from flux.payloads.body import PayloadTooLarge
from flux.payloads.fields import NAME_MAX_LENGTH
from flux.tenants.models import Project
from flux.web.ratelimit import check_ingest_rate

RESOURCE_FIELDS = {
    "service": ("service.name",),
    "host": ("host.name",),
    "environment": ("deployment.environment.name", "deployment.environment"),
}


def event_name(record: logs_pb2.LogRecord, attributes: dict) -> str:
    named = record.event_name or attributes.get("event.name")
    if isinstance(named, str) and named:
        return named[:NAME_MAX_LENGTH]
    severity = record.severity_text.strip().lower()
    return f"log.{severity}" if severity else "log"


def record_event(record: logs_pb2.LogRecord, resource_fields: dict, tags: dict[str, str]) -> dict:
    attributes = {pair.key: any_value_python(pair.value) for pair in record.attributes}
    properties: dict = {"body": any_value_python(record.body) if record.HasField("body") else None}
    if attributes:
        properties["attributes"] = attributes
    if record.severity_number:
        properties["severity_number"] = record.severity_number
    if record.trace_id:
        properties["trace_id"], properties["span_id"] = record.trace_id.hex(), record.span_id.hex()
    at = record.time_unix_nano or record.observed_time_unix_nano
    severity_tags = {"severity": record.severity_text} if record.severity_text else {}
    return {
        "name": event_name(record, attributes), "timestamp": at / 1e6 if at else None,
        "properties": properties, "tags": {**tags, **severity_tags}, **resource_fields,
    }  # fmt: skip


def log_events(request: ExportLogsServiceRequest, allowed_attributes: frozenset[str]) -> list[dict]:
    """One Flux event (as the JSON API takes it) per log record of the request."""
    events = []
    for resource_logs in request.resource_logs:
        everything = attribute_tags(resource_logs.resource.attributes)
        resource_fields = {}
        for field, keys in RESOURCE_FIELDS.items():
            found = next((everything[key] for key in keys if key in everything), None)
            if found is not None:
                resource_fields[field] = found
        for scope_logs in resource_logs.scope_logs:
            tags = {**attribute_tags(resource_logs.resource.attributes, allowed_attributes),
                    **attribute_tags(scope_logs.scope.attributes, allowed_attributes)}  # fmt: skip
            events.extend(record_event(record, resource_fields, tags) for record in scope_logs.log_records)
    return events


def export_logs(project: Project, request: ExportLogsServiceRequest) -> ExportOutcome:
    """Store an export's log records as events; raises Throttled (nothing stored) past the rate limit."""
    events = log_events(request, frozenset(settings.FLUX_OTLP_RESOURCE_ATTRIBUTES))
    if len(events) > settings.FLUX_MAX_BATCH_ITEMS:
        raise PayloadTooLarge(
            f"An export may hold at most {settings.FLUX_MAX_BATCH_ITEMS:,} log records; this one has {len(events):,}. "
            "Lower the exporter's batch size (max_export_batch_size of the batch log processor).",
            details={"limit_items": settings.FLUX_MAX_BATCH_ITEMS},
        )
    with transaction.atomic():
        check_ingest_rate(project.pk, len(events))
        result = ingest(project, events, []) if events else IngestResult()
    messages = [f"{events[r['index']]['name']}: {'; '.join(r['errors'])}" for r in result.rejected]
    return ExportOutcome(result, len(result.rejected), list(dict.fromkeys(messages)))
