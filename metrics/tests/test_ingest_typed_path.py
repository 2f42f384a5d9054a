"""SDK batches of metric points take the typed path (msgspec structs, tag texts checked once per distinct
text, COPY text built in one piece); whatever it stores must be exactly what the per-field path stores,
and what it cannot take falls back.

The per-field path is the single-point endpoint, which always parses generically.
"""

import json
from datetime import UTC, datetime

import pytest

from flux.tenants.models import Project
from flux.tenants.services import create_project, issue_key
from metrics.tests.factories import stored_points

NOW = datetime.now(UTC).replace(microsecond=0).isoformat()
AWKWARD_POINTS = [
    {"type": "gauge", "name": "queue.depth", "value": 3, "timestamp": NOW, "tags": {"queue": "mail"}},
    {"type": "gauge", "name": "queue.depth", "value": 4.5, "timestamp": NOW, "tags": {"queue": "mail"}},
    {"type": "counter", "name": "jobs.done", "timestamp": NOW, "tags": {"b": "2", "a": "1"}},
    {"type": "counter", "name": "jobs.done", "value": "-2", "timestamp": NOW, "tags": {"a": "1", "b": "2"}},
    {"type": "distribution", "name": "latency", "value": 1e-9, "timestamp": NOW},
    {"type": "distribution", "name": "latency", "value": 12345678901234567890, "timestamp": NOW, "tags": None},
    {"type": "set", "name": "users", "value": 42, "timestamp": NOW},
    {"type": "set", "name": "users", "value": 42.0, "timestamp": NOW},
    {"type": "set", "name": "users", "value": "tab\there\\ and\nline", "timestamp": NOW, "id": "p\t1"},
    {"type": "gauge", "name": "  Padded Name ", "value": 1, "timestamp": NOW, "tags": {"city": "Zürich"}},
    {
        "type": "gauge",
        "name": "escaped",
        "value": 1,
        "timestamp": NOW,
        "tags": {"path": "C:\\temp", "quote": 'say "hi"'},
    },
    {"type": "gauge", "name": "millis", "value": 1, "timestamp": int(datetime.fromisoformat(NOW).timestamp() * 1000)},
]


@pytest.fixture
def generic_project(db: None) -> Project:
    return create_project("Generic path")


def post_raw(client: object, path: str, body: bytes, key: str) -> object:
    return client.post(path, data=body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")


def comparable(points: list[dict]) -> list[tuple]:
    return sorted(tuple(sorted((key, json.dumps(value, default=str)) for key, value in p.items())) for p in points)


def test_the_typed_path_stores_what_the_generic_path_stores(
    client: object, keys: dict, project: Project, generic_project: Project
) -> None:
    body = json.dumps({"metrics": AWKWARD_POINTS}).encode()
    response = post_raw(client, "/api/v1/flux/batch", body, keys["ingest"])
    assert response.json() == {"accepted": len(AWKWARD_POINTS), "duplicates": 0, "rejected": []}
    generic_key = issue_key(generic_project, "ingest").raw_key
    for item in AWKWARD_POINTS:
        assert post_raw(client, "/api/v1/metrics", json.dumps(item).encode(), generic_key).status_code == 202
    assert comparable(stored_points(project)) == comparable(stored_points(generic_project))
    members = {point["member"] for point in stored_points(project) if point["member"] is not None}
    assert members == {"42", "42.0", "tab\there\\ and\nline"}


def test_a_bare_array_of_points_takes_the_typed_path_too(client: object, keys: dict, project: Project) -> None:
    body = json.dumps(AWKWARD_POINTS[:2]).encode()
    assert post_raw(client, "/api/v1/metrics/batch", body, keys["ingest"]).json()["accepted"] == 2
    assert [point["value"] for point in stored_points(project)] == [3.0, 4.5]


@pytest.mark.parametrize(
    ("item", "error"),
    [
        ({"type": "gauge", "name": "nul", "value": 1, "tags": {"a": "x\u0000"}}, "tag 'a' contains a NUL character"),
        ({"type": "gauge", "name": "long key", "value": 1, "tags": {"k" * 101: "v"}}, "longer than 100 characters"),
        ({"type": "gauge", "name": "empty key", "value": 1, "tags": {"": "v"}}, "tag keys must not be empty"),
        ({"type": "gauge", "name": "", "value": 1}, "name is required"),
        ({"type": "gauge", "name": "no value"}, "value is required for a gauge"),
        ({"type": "timer", "name": "t", "value": 1}, "type must be one of"),
        ({"type": "set", "name": "s", "value": "x\u0000"}, "set member contains a NUL character"),
        ({"type": "gauge", "name": "future", "value": 1, "timestamp": "2999-01-01T00:00:00Z"}, "too far in the future"),
        ({"type": "gauge", "name": "empty id", "value": 1, "id": ""}, "id must not be empty"),
        ({"type": "gauge", "name": "key", "value": 1, "tags": {"k\u0001": "v"}}, "unprintable character (U+0001)"),
        ({"type": "gauge", "name": "full-width", "value": "\uff11\uff12"}, "value must be a number"),
    ],
)
def test_what_the_typed_path_cannot_take_gets_the_per_field_message(
    client: object, keys: dict, project: Project, item: dict, error: str
) -> None:
    body = json.dumps({"metrics": [{"type": "gauge", "name": "fine", "value": 1}, item]}).encode()
    answer = post_raw(client, "/api/v1/flux/batch", body, keys["ingest"]).json()
    assert answer["accepted"] == 1
    (rejection,) = answer["rejected"]
    assert rejection["index"] == 1
    assert any(error in message for message in rejection["errors"])


def test_a_batch_the_structs_refuse_is_read_generically_item_by_item(
    client: object, keys: dict, project: Project
) -> None:
    points = [{"type": "gauge", "name": "numbers", "value": 2, "tags": {"seats": 3, "gone": None}},
              {"type": "gauge", "name": "bool", "value": True}]  # fmt: skip
    answer = post_raw(client, "/api/v1/metrics/batch", json.dumps(points).encode(), keys["ingest"]).json()
    assert (answer["accepted"], [rejection["index"] for rejection in answer["rejected"]]) == (1, [1])
    (stored,) = stored_points(project)
    assert stored["tags"] == {"seats": "3"}
