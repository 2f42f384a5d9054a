"""The metrics read API: catalogue, per-type aggregations, summaries and comparisons."""

from datetime import UTC, datetime, timedelta

import pytest

from flux.tenants.models import Project
from flux.tenants.services import create_project, issue_key
from metrics.tests.factories import insert_point, make_series

pytestmark = pytest.mark.storage  # `make test` runs these on TimescaleDB too

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
RANGE = {"from": "2026-11-20T10:00:00Z", "to": "2026-11-20T12:00:00Z", "interval": "1h"}


@pytest.fixture
def shop(project: Project) -> Project:
    default = make_series(project, "queue.depth", "gauge", queue="default")
    critical = make_series(project, "queue.depth", "gauge", queue="critical")
    for minutes, value in ((0, 5.0), (30, 9.0), (70, 2.0)):
        insert_point(default, T0 + timedelta(minutes=minutes), value)
    insert_point(critical, T0 + timedelta(minutes=10), 100.0)
    orders = make_series(project, "orders.count", "counter")
    for minutes in (1, 2, 3, 61):
        insert_point(orders, T0 + timedelta(minutes=minutes), 1.0)
    latency = make_series(project, "api.latency", "distribution", route="/x")
    for index, value in enumerate(range(1, 101)):
        insert_point(latency, T0 + timedelta(seconds=index), float(value))
    return project


def query(api: type, key: str, name: str, **params: str) -> object:
    return api(key).get(f"/api/v1/metrics/{name}/query", {**RANGE, **params})


def points(response: object, index: int = 0) -> list:
    return [value for _, value in response.json()["series"][index]["points"]]


def test_catalogue_lists_types_series_and_tag_values(api: type, keys: dict, shop: Project) -> None:
    metrics = {metric["name"]: metric for metric in api(keys["read"]).get("/api/v1/metrics").json()["metrics"]}
    assert metrics["queue.depth"]["type"] == "gauge"
    assert metrics["queue.depth"]["series"] == 2
    assert sorted(metrics["queue.depth"]["tags"]["queue"]) == ["critical", "default"]
    assert metrics["orders.count"]["tags"] == {}


def test_gauge_aggregations(api: type, keys: dict, shop: Project) -> None:
    assert points(query(api, keys["read"], "queue.depth", aggregation="max")) == [100.0, 2.0]
    assert points(query(api, keys["read"], "queue.depth", aggregation="last", **{"tags[queue]": "default"})) == [
        9.0,
        2.0,
    ]
    grouped = query(api, keys["read"], "queue.depth", aggregation="avg", group_by="tags.queue").json()["series"]
    assert [(series["tags"], [value for _, value in series["points"]]) for series in grouped] == [
        ({"queue": "default"}, [7.0, 2.0]),
        ({"queue": "critical"}, [100.0, None]),  # an empty bucket is a gap
    ]


def test_counter_sum_and_rate_per_second(api: type, keys: dict, shop: Project) -> None:
    assert points(query(api, keys["read"], "orders.count")) == [3.0, 1.0]
    assert points(query(api, keys["read"], "orders.count", aggregation="rate")) == [3 / 3600, 1 / 3600]


def test_distribution_percentiles_and_count(api: type, keys: dict, shop: Project) -> None:
    body = query(api, keys["read"], "api.latency", aggregation="p99").json()
    assert body["aggregation"] == "p99"
    # Percentiles come from a sketch: within 1% of the exact 50.5 (percentile_cont of 1..100).
    p50, empty = points(query(api, keys["read"], "api.latency", aggregation="p50"))
    assert p50 == pytest.approx(50.5, rel=0.01) and empty is None
    assert points(query(api, keys["read"], "api.latency", aggregation="count")) == [100.0, 0.0]


def test_set_unique_members(api: type, keys: dict, project: Project) -> None:
    users = make_series(project, "users", "set")
    from django.db import connection

    with connection.cursor() as cursor:
        for member in ("a", "b", "a", "c"):
            cursor.execute(
                "INSERT INTO metrics_point (project_id, series_id, time, value, member) VALUES (%s, %s, %s, 1, %s)",
                [project.pk, users.pk, T0, member],
            )
    assert points(query(api, keys["read"], "users")) == [3.0, 0.0]


@pytest.mark.parametrize(
    ("name", "params", "status", "parameter"),
    [
        ("queue.depth", {"aggregation": "p99"}, 400, "aggregation"),
        ("orders.count", {"group_by": "name"}, 400, "group_by"),
        ("orders.count", {"interval": "7m"}, 400, "interval"),
        ("nope", {}, 404, None),
    ],
)
def test_bad_metric_queries(
    api: type, keys: dict, shop: Project, name: str, params: dict, status: int, parameter: str | None
) -> None:
    response = query(api, keys["read"], name, **params)
    assert response.status_code == status
    if parameter:
        assert response.json()["error"]["details"] == {"parameter": parameter}


def test_metric_reads_need_a_read_key_of_the_project(api: type, keys: dict, shop: Project) -> None:
    assert api(keys["ingest"]).get("/api/v1/metrics").status_code == 403
    assert query(api, keys["ingest"], "queue.depth").status_code == 403
    outsider = issue_key(create_project("Other"), "read").raw_key
    assert api(outsider).get("/api/v1/metrics").json() == {"metrics": []}
    assert query(api, outsider, "queue.depth").status_code == 404


def test_metric_summary_by_type(api: type, keys: dict, shop: Project) -> None:
    def summary(name: str) -> dict:
        return api(keys["read"]).get(f"/api/v1/metrics/{name}", {"from": RANGE["from"], "to": RANGE["to"]}).json()

    gauge = summary("queue.depth")
    assert (gauge["type"], gauge["points"], gauge["series"], gauge["last"], gauge["max"]) == ("gauge", 4, 2, 2.0, 100.0)
    counter = summary("orders.count")
    assert (counter["sum"], counter["rate"]) == (4.0, 4 / 7200)
    distribution = summary("api.latency")
    assert (distribution["min"], distribution["max"]) == (1.0, 100.0)
    assert distribution["p50"] == pytest.approx(50.5, rel=0.01)
    assert api(keys["read"]).get("/api/v1/metrics/missing").status_code == 404


def test_compare_a_metric_with_the_previous_period(api: type, keys: dict, shop: Project) -> None:
    def compare(**params: str) -> object:
        window = {"from": "2026-11-20T11:00:00Z", "to": "2026-11-20T12:00:00Z"}
        return api(keys["read"]).get("/api/v1/compare", {**window, **params})

    body = compare(metric="orders.count").json()
    assert (body["metric"], body["aggregation"], body["current"], body["previous"]) == ("orders.count", "sum", 1.0, 3.0)
    assert (body["change"], body["change_percent"]) == (-2.0, pytest.approx(-66.667, rel=1e-4))
    assert body["previous_from"] == "2026-11-20T10:00:00Z"
    gauge = compare(metric="queue.depth", aggregation="max", **{"tags[queue]": "default"}).json()
    assert (gauge["current"], gauge["previous"]) == (2.0, 9.0)
    assert compare(metric="orders.count", aggregation="p99").json()["error"]["details"] == {"parameter": "aggregation"}
    assert compare(metric="missing").status_code == 404
    outsider = issue_key(create_project("Other"), "read").raw_key
    assert api(outsider).get("/api/v1/compare", {"metric": "orders.count"}).status_code == 404
