from datetime import UTC, datetime, timedelta

import pytest

from events.models import EventRollup, RollupWatermark
from events.rollups import roll_up_events
from events.tests.factories import stored_events
from flux.tenants.models import Project

NOW = datetime.now(UTC).replace(microsecond=0)


def event(**fields: object) -> dict:
    return {"name": "user.signup", "timestamp": NOW.isoformat(), **fields}


def test_single_event_is_stored_with_every_field(post_json: object, keys: dict, project: Project, api: type) -> None:
    body = event(
        properties={"plan": "pro", "items": [{"sku": "A1"}]}, tags={"channel": "web", "seats": 3},
        user_id=42, session_id="s1", value=49.99, environment="production", service="shop",
        host="web-1", request_id="req-9", id="evt-1", unknown_field="ignored",
    )  # fmt: skip
    response = post_json("/api/v1/events", body, key=keys["ingest"])
    assert response.status_code == 202
    assert response.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    assert stored_events(project) == [
        {
            "name": "user.signup", "time": NOW, "user_id": "42", "session_id": "s1", "value": 49.99,
            "tags": {"channel": "web", "seats": "3"}, "properties": {"plan": "pro", "items": [{"sku": "A1"}]},
            "environment": "production", "service": "shop", "host": "web-1", "request_id": "req-9",
            "client_id": "evt-1",
        }
    ]  # fmt: skip
    # The id it was sent with reads back: a client checking whether its event arrived had no way to.
    since = (NOW - timedelta(minutes=1)).isoformat()
    [listed] = api(keys["read"]).get("/api/v1/events", {"from": since}).json()["events"]
    assert listed["client_id"] == "evt-1" and isinstance(listed["id"], int)


def test_event_without_timestamp_gets_the_server_time(post_json: object, keys: dict, project: Project) -> None:
    before = datetime.now(UTC)
    post_json("/api/v1/events", {"name": "app.booted"}, key=keys["ingest"])
    (stored,) = stored_events(project)
    assert before <= stored["time"] <= datetime.now(UTC)


def test_epoch_millisecond_timestamps_are_accepted(post_json: object, keys: dict, project: Project) -> None:
    millis = int(NOW.timestamp() * 1000) + 745
    post_json("/api/v1/events", event(timestamp=millis), key=keys["ingest"])
    assert stored_events(project)[0]["time"] == NOW + timedelta(milliseconds=745)


def test_invalid_single_event_is_400_with_all_its_errors(post_json: object, keys: dict, project: Project) -> None:
    response = post_json("/api/v1/events", {"value": "lots", "timestamp": "soon"}, key=keys["ingest"])
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_items"
    assert error["message"] == (
        "name is required; timestamp 'soon' is not ISO 8601; "
        'value must be a number or a decimal string such as "49.99"'
    )
    assert error["details"]["rejected"][0]["index"] == 0
    assert stored_events(project) == []


def test_batch_stores_valid_events_and_reports_bad_ones_by_index(
    post_json: object, keys: dict, project: Project
) -> None:
    batch = {"events": [event(user_id="a"), event(name=""), event(value=float("nan")), event(user_id="b")]}
    response = post_json("/api/v1/events/batch", batch, key=keys["ingest"])
    assert response.status_code == 202
    assert response.json() == {
        "accepted": 2,
        "duplicates": 0,
        "rejected": [
            {"index": 1, "kind": "event", "errors": ["name is required"]},
            {"index": 2, "kind": "event", "errors": ["value must be a finite number (not NaN or Infinity)"]},
        ],
    }
    assert [row["user_id"] for row in stored_events(project)] == ["a", "b"]


def test_batch_accepts_a_bare_array(post_json: object, keys: dict, project: Project) -> None:
    response = post_json("/api/v1/events/batch", [event(), event()], key=keys["ingest"])
    assert response.json()["accepted"] == 2


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/events/batch", {"events": [{"name": ""}, 17]}),
        ("/api/v1/events/batch", [{"name": ""}, 17]),
        ("/api/v1/metrics/batch", {"metrics": [{"name": ""}, 17]}),
        ("/api/v1/metrics/batch", [{"name": ""}, 17]),
        ("/api/v1/flux/batch", {"events": [{"name": ""}], "metrics": [17]}),
    ],
)
def test_a_batch_where_everything_is_rejected_is_still_202_with_the_report(
    post_json: object, keys: dict, project: Project, path: str, body: object
) -> None:
    # SDKs that never retry treat any non-2xx as a crash of their background flusher.
    response = post_json(path, body, key=keys["ingest"])
    assert response.status_code == 202
    result = response.json()
    assert result["accepted"] == 0
    assert len(result["rejected"]) == 2
    assert any("name is required" in error for rejection in result["rejected"] for error in rejection["errors"])
    assert stored_events(project) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"events": "nope"}, "'events' must be an array"),
        ({"items": []}, "'events' array"),
        ({"events": []}, "no items"),
        ("[]", "no items"),
    ],
)
def test_batch_shape_errors_are_400(post_json: object, keys: dict, body: object, message: str) -> None:
    response = post_json("/api/v1/events/batch", body, key=keys["ingest"])
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]


def test_single_event_endpoint_wants_an_object(post_json: object, keys: dict) -> None:
    response = post_json("/api/v1/events", [event()], key=keys["ingest"])
    assert response.status_code == 400
    assert "one event as a JSON object" in response.json()["error"]["message"]


def test_late_event_inside_retention_is_stored(post_json: object, keys: dict, project: Project) -> None:
    late = NOW - timedelta(days=project.retention_days - 1)
    post_json("/api/v1/events", event(timestamp=late.isoformat()), key=keys["ingest"])
    assert stored_events(project)[0]["time"] == late


def test_future_window_is_configurable(post_json: object, keys: dict, settings: object) -> None:
    settings.FLUX_MAX_FUTURE_SECONDS = 3600
    ahead = (NOW + timedelta(minutes=50)).isoformat()
    assert post_json("/api/v1/events", event(timestamp=ahead), key=keys["ingest"]).status_code == 202
    settings.FLUX_MAX_FUTURE_SECONDS = 600
    assert post_json("/api/v1/events", event(timestamp=ahead), key=keys["ingest"]).status_code == 400


def test_values_beyond_1e100_are_refused_so_that_the_rollup_sums_stay_finite(
    post_json: object, keys: dict, project: Project
) -> None:
    # Two events of 1e308 in one minute overflowed the rollup's float8 sum: the whole run (every
    # project's) failed, and again at every retry.
    batch = [event(value=1e308), event(value=-1e308), event(value=1e100), event(value=1e100), event(value=-1e100)]
    response = post_json("/api/v1/events/batch", batch, key=keys["ingest"])
    assert response.json()["rejected"] == [
        {"index": 0, "kind": "event", "errors": ["value must be between -1e100 and 1e100"]},
        {"index": 1, "kind": "event", "errors": ["value must be between -1e100 and 1e100"]},
    ]
    RollupWatermark.objects.filter(stream="events").delete()
    roll_up_events(datetime.now(UTC) + timedelta(minutes=10))
    minutes = EventRollup.objects.filter(project=project, level="minute")
    assert list(minutes.values_list("count", "value_sum")) == [(3, 1e100)]
