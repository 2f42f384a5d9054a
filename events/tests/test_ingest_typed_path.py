"""SDK batches take the typed path (msgspec structs, tags kept as sent, COPY text built in one piece);
whatever it stores must be exactly what the per-field path stores, and what it cannot take falls back.

The per-field path is the single-event endpoint, which always parses generically.
"""

import json
from datetime import UTC, datetime

import pytest

from events.tests.factories import stored_events
from flux.tenants.models import Project
from flux.tenants.services import create_project, issue_key

NOW = datetime.now(UTC).replace(microsecond=0).isoformat()
AWKWARD_EVENTS = [
    {"name": "plain", "timestamp": NOW, "value": 3, "user_id": "u_1", "tags": {"plan": "pro"}, "properties": {}},
    {"name": "escapes", "timestamp": NOW, "tags": {"path": "C:\\temp\\new", "quote": 'say "hi"', "tab": "a\tb"}},
    {"name": "line breaks", "timestamp": NOW, "user_id": "line\nbreak\r", "session_id": "back\\slash\t"},
    {"name": "unicode", "timestamp": NOW, "tags": {"city": "Zürich", "mood": "🙂"}, "host": "hôte"},
    {"name": "properties", "timestamp": NOW, "properties": {"nested": {"a": [1, "x\\y"]}, "é": "\t"}},
    {"name": "  Padded Name ", "timestamp": NOW, "environment": "production"},
    {"name": "millis", "timestamp": int(datetime.fromisoformat(NOW).timestamp() * 1000) + 5},
    {"name": "long tags", "timestamp": NOW, "tags": {f"key{n}": "v" * 30 for n in range(5)}},
    {"name": "ids", "timestamp": NOW, "id": "evt-1", "request_id": "req-1", "service": "shop"},
]


@pytest.fixture
def generic_project(db: None) -> Project:
    return create_project("Generic path")


def post_raw(client: object, path: str, body: bytes, key: str) -> object:
    return client.post(path, data=body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")


def store_one_by_one(client: object, project: Project, events: list[dict]) -> list[int]:
    """Each event through the single-event endpoint (the generic path); the indexes it refused."""
    key = issue_key(project, "ingest").raw_key
    statuses = [post_raw(client, "/api/v1/events", json.dumps(item).encode(), key).status_code for item in events]
    return [index for index, status in enumerate(statuses) if status != 202]


def test_the_typed_path_stores_what_the_generic_path_stores(
    client: object, keys: dict, project: Project, generic_project: Project
) -> None:
    response = post_raw(client, "/api/v1/flux/batch", json.dumps({"events": AWKWARD_EVENTS}).encode(), keys["ingest"])
    assert response.json() == {"accepted": len(AWKWARD_EVENTS), "duplicates": 0, "rejected": []}
    assert store_one_by_one(client, generic_project, AWKWARD_EVENTS) == []
    assert stored_events(project) == stored_events(generic_project)
    assert stored_events(project)[1]["tags"] == {"path": "C:\\temp\\new", "quote": 'say "hi"', "tab": "a\tb"}


def test_tags_are_stored_from_the_json_text_as_sent_whitespace_and_all(
    client: object, keys: dict, project: Project
) -> None:
    body = b'{"events": [{"name": "spaced",\n "tags": {\n\t"plan" : "pro",\r\n "tier":"a\\\\b"\n}}]}'
    assert post_raw(client, "/api/v1/flux/batch", body, keys["ingest"]).json()["accepted"] == 1
    assert stored_events(project)[0]["tags"] == {"plan": "pro", "tier": "a\\b"}


@pytest.mark.parametrize(
    ("item", "error"),
    [
        ({"name": "nul", "tags": {"a": "x\u0000"}}, "tag 'a' contains a NUL character"),
        ({"name": "nul", "user_id": "x\u0000"}, "user_id contains a NUL character"),
        ({"name": "long key", "tags": {"k" * 101: "v"}}, "is longer than 100 characters"),
        ({"name": "empty key", "tags": {"": "v"}}, "tag keys must not be empty"),
        ({"name": ""}, "name is required"),
        ({"name": "future", "timestamp": "2999-01-01T00:00:00Z"}, "timestamp is too far in the future"),
        ({"name": "empty id", "id": ""}, "id must not be empty"),
        ({"name": "control key", "tags": {"k\u0001": "v"}}, "unprintable character (U+0001)"),
        ({"name": "reversed key", "tags": {"\u202eyek": "v"}}, "bidirectional control character (U+202E)"),
        ({"name": "blank key", "tags": {"\u3164": "v"}}, "has no visible character"),
        ({"name": "\u202e evil"}, "bidirectional control character (U+202E)"),
        ({"name": "full-width", "value": "\uff11\uff12"}, "value must be a number"),
    ],
)
def test_what_the_typed_path_cannot_take_gets_the_per_field_message(
    client: object, keys: dict, project: Project, item: dict, error: str
) -> None:
    body = json.dumps({"events": [{"name": "fine"}, item]}).encode()
    answer = post_raw(client, "/api/v1/flux/batch", body, keys["ingest"]).json()
    assert answer["accepted"] == 1
    (rejection,) = answer["rejected"]
    assert rejection["index"] == 1
    assert any(error in message for message in rejection["errors"])
    assert [event["name"] for event in stored_events(project)] == ["fine"]


def test_a_batch_the_structs_refuse_is_read_generically_item_by_item(
    client: object, keys: dict, project: Project
) -> None:
    events = [{"name": "numbers", "tags": {"seats": 3, "gone": None}, "value": "49.99"}, {"name": 7}]
    answer = post_raw(client, "/api/v1/events/batch", json.dumps(events).encode(), keys["ingest"]).json()
    assert (answer["accepted"], [rejection["index"] for rejection in answer["rejected"]]) == (1, [1])
    (stored,) = stored_events(project)
    assert (stored["tags"], stored["value"]) == ({"seats": "3"}, 49.99)
