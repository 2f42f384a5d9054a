from datetime import UTC, datetime, timedelta

import pytest

from events.models import RollupWatermark
from flux.tenants.models import Project
from metrics.models import Metric, MetricRollup, MetricSeries
from metrics.rollups import roll_up_metrics
from metrics.tests.factories import stored_points

NOW = datetime.now(UTC).replace(microsecond=0)


def point(metric_type: str, name: str, value: object = 1, **fields: object) -> dict:
    return {"type": metric_type, "name": name, "value": value, "timestamp": NOW.isoformat(), **fields}


def test_each_metric_type_is_stored(post_json: object, keys: dict, project: Project) -> None:
    batch = {
        "metrics": [
            point("gauge", "queue.depth", 17, tags={"queue": "default"}),
            point("counter", "inventory.stock", -2, tags={"sku": "A1"}),
            point("distribution", "api.latency", 87.5, tags={"unit": "ms"}),
            point("set", "users.unique", "12345"),
            point("set", "users.unique", 678),
        ]
    }
    response = post_json("/api/v1/metrics/batch", batch, key=keys["ingest"])
    assert response.status_code == 202
    assert response.json()["accepted"] == 5
    stored = {(row["name"], row["type"], row["value"], row["member"]) for row in stored_points(project)}
    assert stored == {
        ("queue.depth", "gauge", 17.0, None),
        ("inventory.stock", "counter", -2.0, None),
        ("api.latency", "distribution", 87.5, None),
        ("users.unique", "set", 1.0, "12345"),
        ("users.unique", "set", 1.0, "678"),
    }


def test_counter_value_defaults_to_one(post_json: object, keys: dict, project: Project) -> None:
    post_json("/api/v1/metrics", point("counter", "orders.count", None), key=keys["ingest"])
    assert stored_points(project)[0]["value"] == 1.0


def test_series_is_name_plus_tag_set_created_once(post_json: object, keys: dict, project: Project) -> None:
    for _ in range(2):
        batch = [
            point("counter", "orders", tags={"a": "1", "b": "2"}),
            point("counter", "orders", tags={"b": 2, "a": 1}),
        ]
        post_json("/api/v1/metrics/batch", batch, key=keys["ingest"])
        post_json("/api/v1/metrics", point("counter", "orders"), key=keys["ingest"])
    assert Metric.objects.filter(project=project).count() == 1
    assert sorted(MetricSeries.objects.filter(project=project).values_list("tags", flat=True), key=len) == [
        {},
        {"a": "1", "b": "2"},
    ]
    assert len(stored_points(project)) == 6


def test_a_metric_name_keeps_its_first_type(post_json: object, keys: dict, project: Project) -> None:
    post_json("/api/v1/metrics", point("gauge", "queue.depth", 3), key=keys["ingest"])
    response = post_json(
        "/api/v1/metrics/batch",
        [point("counter", "queue.depth", 1), point("gauge", "queue.depth", 4)],
        key=keys["ingest"],
    )
    assert response.json() == {
        "accepted": 1,
        "duplicates": 0,
        "rejected": [
            {"index": 0, "kind": "metric", "errors": ["metric 'queue.depth' is a gauge; this point is a counter"]}
        ],
    }


def test_within_one_batch_the_first_type_of_a_new_name_wins(post_json: object, keys: dict) -> None:
    batch = [point("distribution", "db.query_ms", 3), point("gauge", "db.query_ms", 4)]
    response = post_json("/api/v1/metrics/batch", batch, key=keys["ingest"])
    assert response.json()["accepted"] == 1
    assert response.json()["rejected"][0]["index"] == 1


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (point("histogram", "x", 1), "type must be one of gauge, counter, distribution, set, got 'histogram'"),
        ({"name": "x", "value": 1}, "type must be one of"),
        (point("gauge", "x", None), "value is required for a gauge"),
        (point("gauge", "x", "twelve"), "value must be a number"),
        (point("distribution", "x", True), "value must be a number"),
        (point("set", "x", {"id": 1}), "a set value must be a string or number"),
        (point("set", "x", None), "a set value must be a string or number"),
        (point("gauge", "bad\nname", 1), "name contains an unprintable character"),
        (point("gauge", "x", 1, tags={"deep": {"a": 1}}), "not an object or array"),
    ],
)
def test_invalid_points_are_rejected_with_a_clear_message(
    post_json: object, keys: dict, item: dict, message: str
) -> None:
    response = post_json("/api/v1/metrics/batch", {"metrics": [point("gauge", "ok", 1), item]}, key=keys["ingest"])
    assert response.status_code == 202
    (rejection,) = response.json()["rejected"]
    assert rejection["index"] == 1
    assert any(message in error for error in rejection["errors"]), rejection


def test_single_metric_endpoint_rejects_an_invalid_point(post_json: object, keys: dict) -> None:
    response = post_json("/api/v1/metrics", point("gauge", "x", float("inf")), key=keys["ingest"])
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "value must be a finite number (not NaN or Infinity)"


def test_steady_state_batches_skip_type_and_series_lookups(
    post_json: object, keys: dict, project: Project, django_capture_on_commit_callbacks: object,
    django_assert_max_num_queries: object,
) -> None:  # fmt: skip
    batch = [point("gauge", "queue.depth", 3, tags={"q": "a"}), point("counter", "jobs", 1)]
    with django_capture_on_commit_callbacks(execute=True):
        post_json("/api/v1/metrics/batch", batch, key=keys["ingest"])
    with django_assert_max_num_queries(4) as queries:  # key lookup, savepoint, COPY, release
        assert post_json("/api/v1/metrics/batch", batch, key=keys["ingest"]).json()["accepted"] == 2
    assert not any("metrics_metric" in query["sql"] for query in queries.captured_queries)
    assert len(stored_points(project)) == 4


def test_a_rolled_back_batch_leaves_nothing_in_the_series_cache(
    post_json: object, keys: dict, project: Project
) -> None:
    from metrics.ingest import cache

    post_json("/api/v1/metrics", point("gauge", "never.committed", 1), key=keys["ingest"])  # test transaction
    assert cache.known_type(project.pk, "never.committed") is None


def test_values_beyond_1e100_are_refused_so_that_the_rollup_sums_stay_finite(
    post_json: object, keys: dict, project: Project
) -> None:
    # Two gauge points of 1e308 in one minute overflowed the rollup's float8 sum: the whole run (every
    # project's) failed, and again at every retry.
    values = [1e308, 1e308, 1e100, 1e100, -1e100, 1e-300]
    response = post_json("/api/v1/metrics/batch", [point("gauge", "g", value) for value in values], key=keys["ingest"])
    assert [(item["index"], item["errors"]) for item in response.json()["rejected"]] == [
        (0, ["value must be between -1e100 and 1e100"]),
        (1, ["value must be between -1e100 and 1e100"]),
    ]
    RollupWatermark.objects.filter(stream="metrics").delete()
    roll_up_metrics(datetime.now(UTC) + timedelta(minutes=10))
    minutes = MetricRollup.objects.filter(project_id=project.pk, level="minute")
    assert list(minutes.values_list("count", "sum", "max")) == [(4, 1e100, 1e100)]
