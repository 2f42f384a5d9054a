"""OTLP logs as events: the official SDK's log exporter against a live Flux, and a hand-built JSON body."""

import json
import time
import urllib.request

import pytest
from django.contrib.auth.models import User
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from rest_framework.test import APIClient

from events.models import Event
from flux.tenants.models import Project
from flux.tenants.services import create_project, issue_key


@pytest.mark.e2e
def test_log_records_through_the_sdk_exporter_become_events(live_flux: str, transactional_db: None) -> None:
    project = create_project("Logs", owner=User.objects.create_user("lola"))
    ingest_key, read_key = issue_key(project, "ingest").raw_key, issue_key(project, "read").raw_key
    provider = LoggerProvider(resource=Resource.create({"service.name": "billing", "process.pid": 7}))
    exporter = OTLPLogExporter(endpoint=f"{live_flux}/v1/logs", headers={"x-api-key": ingest_key})
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = provider.get_logger("billing")
    logger.emit(severity_number=SeverityNumber.WARN, severity_text="WARN", body="card declined for order-7",
                attributes={"order_id": "order-7"})  # fmt: skip
    provider.shutdown()

    request = urllib.request.Request(f"{live_flux}/api/v1/events?name=log.warn*", headers={"X-API-Key": read_key})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own test server
        events = json.loads(response.read())["events"]
    assert [(e["name"], e["service"], e["tags"]) for e in events] == [
        ("log.warn", "billing", {"service.name": "billing", "severity": "WARN"})
    ]
    assert events[0]["properties"]["body"] == "card declined for order-7"
    assert events[0]["properties"]["attributes"]["order_id"] == "order-7"


@pytest.mark.django_db
def test_a_json_log_export_with_an_event_name_and_a_bad_record(keys: dict, project: Project) -> None:
    now = str(time.time_ns())
    records = [
        {"timeUnixNano": now, "eventName": "user.signup", "body": {"stringValue": "hello"},
         "attributes": [{"key": "plan", "value": {"stringValue": "pro"}}]},
        {"timeUnixNano": "1", "severityText": "INFO", "body": {"stringValue": "from 1970"}},
    ]  # fmt: skip
    body = {"resourceLogs": [{"scopeLogs": [{"logRecords": records}]}]}
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {keys['ingest']}")
    response = api.post("/v1/logs", json.dumps(body), content_type="application/json")

    partial = response.json()["partialSuccess"]
    assert (response.status_code, partial["rejectedLogRecords"]) == (200, "1")
    assert "log.info: timestamp is older than the project's retention" in partial["errorMessage"]
    event = Event.objects.get(project_id=project.pk)
    assert (event.name, event.properties) == ("user.signup", {"body": "hello", "attributes": {"plan": "pro"}})
