"""Cumulative OTLP streams become increments: restarts, retries, processes told apart, summaries."""

import json
import time

import pytest
from rest_framework.test import APIClient

from flux.tenants.models import Project
from metrics.models import MetricSeries
from metrics.tests.factories import stored_points

pytestmark = pytest.mark.django_db
T0 = time.time_ns() - 60_000_000_000


def counter_export(value: float, start: int = T0, pid: int = 1, at: int | None = None) -> str:
    point = {"startTimeUnixNano": str(start), "timeUnixNano": str(at or time.time_ns()), "asDouble": value}
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "api"}},
                               {"key": "process.pid", "value": {"intValue": str(pid)}}]}  # fmt: skip
    sum_ = {"aggregationTemporality": 2, "isMonotonic": True, "dataPoints": [point]}
    metric = {"name": "requests", "sum": sum_}
    return json.dumps({"resourceMetrics": [{"resource": resource, "scopeMetrics": [{"metrics": [metric]}]}]})


def send(keys: dict, body: str) -> object:
    api = APIClient()
    api.credentials(HTTP_X_API_KEY=keys["ingest"])
    return api.post("/v1/metrics", body, content_type="application/json")


def values(project: Project) -> list[float]:
    return [row["value"] for row in sorted(stored_points(project), key=lambda row: row["time"])]


def test_each_report_stores_the_increase_since_the_last(keys: dict, project: Project) -> None:
    for total in (10, 15, 15, 40):
        send(keys, counter_export(total))

    assert values(project) == [10, 5, 0, 25]


def test_a_new_start_time_is_a_restart(keys: dict, project: Project) -> None:
    send(keys, counter_export(10))
    send(keys, counter_export(12, start=T0 + 1))

    assert values(project) == [10, 12]


def test_a_lower_value_is_a_restart(keys: dict, project: Project) -> None:
    send(keys, counter_export(10))
    send(keys, counter_export(3))

    assert values(project) == [10, 3]


def test_processes_with_equal_tags_are_separate_streams(keys: dict, project: Project) -> None:
    send(keys, counter_export(10, pid=1))
    send(keys, counter_export(100, pid=2))
    send(keys, counter_export(11, pid=1))

    assert values(project) == [10, 100, 1]
    assert list(MetricSeries.objects.filter(project=project).values_list("tags", flat=True)) == [
        {"service.name": "api"}
    ]


def test_replicas_exporting_one_resource_are_told_apart_by_their_start_times(keys: dict, project: Project) -> None:
    """Two replicas of a service whose SDK adds no instance id interleave their reports: each read as the
    other's restart, its whole total was added every time (297 orders stored as 1,037)."""
    for total, start in ((10, T0), (100, T0 + 5), (12, T0), (103, T0 + 5)):
        send(keys, counter_export(total, start=start))

    assert values(project) == [10, 100, 2, 3]


def test_the_first_report_of_a_run_begun_long_ago_is_only_its_baseline(keys: dict, project: Project) -> None:
    """An app up for three days, first pointed at Flux: its lifetime's total is no increase (a rate of 83,333
    a second where 2 were true)."""
    three_days_ago = time.time_ns() - 3 * 86_400 * 10**9
    send(keys, counter_export(5_000_000, start=three_days_ago, at=time.time_ns() - 60 * 10**9))
    send(keys, counter_export(5_000_120, start=three_days_ago))

    assert values(project) == [0, 120]


def test_a_summary_becomes_quantile_gauges_and_count_and_sum_counters(keys: dict, project: Project) -> None:
    point = {"startTimeUnixNano": str(T0), "timeUnixNano": str(time.time_ns()), "count": "4", "sum": 10.0,
             "quantileValues": [{"quantile": 0.5, "value": 2.0}, {"quantile": 0.99, "value": 4.0}]}  # fmt: skip
    body = {"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "rpc", "summary": {"dataPoints": [point]}}]}]}]}
    send(keys, json.dumps(body))

    stored = {(row["name"], row["type"], json.dumps(row["tags"]), row["value"]) for row in stored_points(project)}
    assert stored == {
        ("rpc", "gauge", '{"quantile": "0.5"}', 2.0), ("rpc", "gauge", '{"quantile": "0.99"}', 4.0),
        ("rpc.count", "counter", "{}", 4.0), ("rpc.sum", "counter", "{}", 10.0),
    }  # fmt: skip


def test_an_export_of_many_streams_costs_a_fixed_number_of_queries(
    keys: dict, project: Project, django_assert_max_num_queries: object
) -> None:
    def export(total: int) -> str:
        now = str(time.time_ns())
        points = [{"startTimeUnixNano": str(T0), "timeUnixNano": now, "asInt": str(total),
                   "attributes": [{"key": "host", "value": {"stringValue": f"h{i}"}}]} for i in range(200)]  # fmt: skip
        metric = {"name": "requests", "sum": {"aggregationTemporality": 2, "isMonotonic": True, "dataPoints": points}}
        return json.dumps({"resourceMetrics": [{"scopeMetrics": [{"metrics": [metric]}]}]})

    send(keys, export(1))
    with django_assert_max_num_queries(10):
        response = send(keys, export(2))

    assert response.json() == {} and len(values(project)) == 400
