"""POST /v1/metrics with hand-built OTLP bodies: JSON and protobuf encodings, gzip, bad input, partial success."""

import gzip
import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from rest_framework.test import APIClient

from flux.otlp.models import CumulativeState
from flux.otlp.tasks import purge_stale_streams
from flux.tenants.models import Project
from metrics.models import Metric, MetricSeries
from metrics.tests.factories import stored_points

pytestmark = pytest.mark.django_db


def now_nanos() -> str:
    return str(time.time_ns())


def gauge_export(name: str = "queue.depth", value: int = 7, attributes: list | None = None) -> dict:
    """An OTLP JSON export as the specification writes it: camelCase, int64 as strings, enums as numbers."""
    point = {"timeUnixNano": now_nanos(), "asInt": str(value), "attributes": attributes or []}
    return {
        "resourceMetrics": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "mailer"}}]},
                "scopeMetrics": [
                    {"scope": {"name": "jobs"}, "metrics": [{"name": name, "gauge": {"dataPoints": [point]}}]}
                ],
            }
        ]
    }


def client(keys: dict[str, str]) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {keys['ingest']}")
    return api


def test_it_stores_a_json_encoded_export_and_answers_in_json(keys: dict, project: Project) -> None:
    body = gauge_export(attributes=[{"key": "queue", "value": {"stringValue": "mail"}}])
    response = client(keys).post("/v1/metrics", json.dumps(body), content_type="application/json")

    assert (response.status_code, response["Content-Type"], response.json()) == (200, "application/json", {})
    series = MetricSeries.objects.get(project=project, metric__name="queue.depth")
    assert series.tags == {"queue": "mail", "service.name": "mailer"}


def test_it_accepts_gzipped_protobuf_and_answers_in_protobuf(keys: dict, project: Project) -> None:
    message = ExportMetricsServiceRequest()
    metric = message.resource_metrics.add().scope_metrics.add().metrics.add()
    metric.name = "jobs.done"
    metric.sum.is_monotonic = True
    metric.sum.aggregation_temporality = 1  # delta
    point = metric.sum.data_points.add()
    point.time_unix_nano, point.as_double = time.time_ns(), 3.0
    response = client(keys).post(
        "/v1/metrics", gzip.compress(message.SerializeToString()), content_type="application/x-protobuf",
        HTTP_CONTENT_ENCODING="gzip",
    )  # fmt: skip

    assert (response.status_code, response["Content-Type"]) == (200, "application/x-protobuf")
    assert not ExportMetricsServiceResponse.FromString(response.content).HasField("partial_success")
    assert Metric.objects.get(project=project, name="jobs.done").type == "counter"


def test_it_refuses_a_json_body_that_is_not_an_export_with_400(keys: dict) -> None:
    response = client(keys).post("/v1/metrics", '{"resourceMetrics": 5}', content_type="application/json")

    assert (response.status_code, response.json()["error"]["code"]) == (400, "malformed_otlp")


def test_it_refuses_other_content_types_with_415(keys: dict) -> None:
    response = client(keys).post("/v1/metrics", "metric 1", content_type="text/csv")

    assert response.status_code == 415


def test_it_needs_an_ingest_key(keys: dict) -> None:
    api = APIClient()
    api.credentials(HTTP_X_API_KEY=keys["read"])
    response = api.post("/v1/metrics", json.dumps(gauge_export()), content_type="application/json")

    assert response.status_code == 403


def test_it_reports_rejected_data_points_as_partial_success(keys: dict, project: Project) -> None:
    body = gauge_export()
    metrics = body["resourceMetrics"][0]["scopeMetrics"][0]["metrics"]
    metrics.append({"name": "bad\nname", "gauge": {"dataPoints": [{"timeUnixNano": now_nanos(), "asDouble": 1}]}})
    response = client(keys).post("/v1/metrics", json.dumps(body), content_type="application/json")

    partial = response.json()["partialSuccess"]
    assert (response.status_code, partial["rejectedDataPoints"]) == (200, "1")
    assert "bad\nname: name contains an unprintable character" in partial["errorMessage"]
    assert Metric.objects.filter(project=project).count() == 1


def test_a_cumulative_stream_not_reported_for_long_is_forgotten(keys: dict, project: Project) -> None:
    stale, fresh = timezone.now() - timedelta(days=30), timezone.now()
    for stream, updated_at in (("a" * 32, stale), ("b" * 32, fresh)):
        CumulativeState.objects.create(project_id=project.pk, stream=stream, start_unix_nano=1, state={"value": 1},
                                       updated_at=updated_at)  # fmt: skip

    assert purge_stale_streams() == 1
    assert list(CumulativeState.objects.values_list("stream", flat=True)) == ["b" * 32]


def test_folded_tag_values_are_a_warning_in_the_partial_success(keys: dict, settings: object) -> None:
    settings.FLUX_MAX_TAG_VALUES_PER_KEY = 1
    body = gauge_export(attributes=[{"key": "user", "value": {"stringValue": "u1"}}])
    points = body["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["gauge"]["dataPoints"]
    points.append({**points[0], "attributes": [{"key": "user", "value": {"stringValue": "u2"}}]})
    response = client(keys).post("/v1/metrics", json.dumps(body), content_type="application/json")

    partial = response.json()["partialSuccess"]
    assert "rejectedDataPoints" not in partial  # zero: a warning, as OTLP allows
    assert "tag 'user' of metric 'queue.depth' has reached 1 distinct values" in partial["errorMessage"]


def test_an_export_over_the_request_budget_is_refused_whole(keys: dict, project: Project, settings: object) -> None:
    settings.FLUX_OTLP_MAX_VALUES_PER_REQUEST = 1
    body = gauge_export()
    points = body["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["gauge"]["dataPoints"]
    points.append(dict(points[0]))
    response = client(keys).post("/v1/metrics", json.dumps(body), content_type="application/json")

    assert (response.status_code, response.json()["error"]["code"]) == (413, "payload_too_large")
    assert not Metric.objects.filter(project=project).exists()


def test_histograms_share_the_request_budget_by_sampling(keys: dict, project: Project, settings: object) -> None:
    settings.FLUX_OTLP_MAX_VALUES_PER_REQUEST = 10
    point = {"timeUnixNano": now_nanos(), "count": "100", "explicitBounds": [1.0], "bucketCounts": ["50", "50"]}
    histogram = {"aggregationTemporality": 1, "dataPoints": [point, point]}
    metric = {"name": "sizes", "histogram": histogram}
    body = {"resourceMetrics": [{"scopeMetrics": [{"metrics": [metric]}]}]}
    response = client(keys).post("/v1/metrics", json.dumps(body), content_type="application/json")

    assert "a sample was kept" in response.json()["partialSuccess"]["errorMessage"]
    assert len(stored_points(project)) == 10


def test_a_histograms_exact_count_and_sum_are_counters_beside_its_sampled_values(keys: dict, project: Project) -> None:
    """20,000 observations in one point were stored as a 1,000-value sample: `count` read 1,000, `avg` 0.575
    where the point said 2005.7 / 20,000."""
    point = {"timeUnixNano": now_nanos(), "count": "20000", "sum": 2005.7, "explicitBounds": [0.1, 0.5],
             "bucketCounts": ["12000", "7500", "500"]}  # fmt: skip
    metric = {"name": "http.duration", "histogram": {"aggregationTemporality": 1, "dataPoints": [point]}}
    client(keys).post("/v1/metrics", json.dumps({"resourceMetrics": [{"scopeMetrics": [{"metrics": [metric]}]}]}),
                      content_type="application/json")  # fmt: skip

    stored = stored_points(project)
    totals = {row["name"]: row["value"] for row in stored if row["type"] == "counter"}
    assert totals == {"http.duration.count": 20000.0, "http.duration.sum": 2005.7}
    assert len([row for row in stored if row["type"] == "distribution"]) == 1000  # the quantiles' sample


def test_a_protobuf_request_gets_its_failure_as_a_google_rpc_status(keys: dict) -> None:
    response = client(keys).post("/v1/metrics", b"\xff\xff not protobuf", content_type="application/x-protobuf")

    status = Status.FromString(response.content)
    assert (response.status_code, response["Content-Type"], status.code) == (400, "application/x-protobuf", 3)
    assert status.message.startswith("The body is not a valid protobuf ExportMetricsServiceRequest")


def test_a_protobuf_request_over_the_rate_limit_keeps_retry_after(keys: dict, settings: object) -> None:
    settings.FLUX_INGEST_ITEMS_PER_SECOND, settings.FLUX_INGEST_BURST_ITEMS = 1, 1
    message = ExportMetricsServiceRequest()
    metric = message.resource_metrics.add().scope_metrics.add().metrics.add()
    metric.name = "bursty"
    for _ in range(3):
        metric.gauge.data_points.add().as_double = 1.0
    client(keys).post("/v1/metrics", message.SerializeToString(), content_type="application/x-protobuf")
    response = client(keys).post("/v1/metrics", message.SerializeToString(), content_type="application/x-protobuf")

    assert (response.status_code, Status.FromString(response.content).code) == (429, 8)
    assert int(response["Retry-After"]) >= 1


def test_traces_get_a_json_404_saying_what_to_do(keys: dict) -> None:
    """An SDK's traces exporter left on got Django's HTML 404 page."""
    response = client(keys).post("/v1/traces", b"\x0a\x00", content_type="application/x-protobuf")
    assert (response.status_code, response["Content-Type"]) == (404, "application/json")
    assert response.json()["error"]["code"] == "not_supported"
    assert "OTEL_TRACES_EXPORTER=none" in response.json()["error"]["message"]
