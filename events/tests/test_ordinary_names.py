"""Names as real apps write them (spaces, other scripts, `#`, emoji) and values as decimal strings, sent
through the API and read back by name, glob, group-by and percent-encoded paths."""

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from flux.mcp import tools
from flux.mcp.internal_api import Caller
from flux.tenants.models import Project
from flux.tenants.queries import get_key_by_raw

NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
ORDINARY_NAMES = ["Signed Up", "café.visit", "order #42", "注文.完了"]
METRIC = "checkout 🛒 total/€"


@pytest.fixture
def ordinary(post_json: object, keys: dict, project: Project) -> Project:
    events = [{"name": name, "timestamp": NOW.isoformat(), "value": "49.99"} for name in ORDINARY_NAMES]
    events.append({"name": "  Signed Up ", "timestamp": NOW.isoformat(), "value": "0.01"})
    metrics = [
        {"type": "gauge", "name": METRIC, "value": "12.5", "tags": {"région": "île #1"}, "timestamp": NOW.isoformat()},
        {"type": "gauge", "name": METRIC, "value": 7.5, "tags": {"région": "île #1"}, "timestamp": NOW.isoformat()},
    ]
    response = post_json("/api/v1/flux/batch", {"events": events, "metrics": metrics}, key=keys["ingest"])
    assert response.json() == {"accepted": 7, "duplicates": 0, "rejected": []}
    return project


def test_events_are_found_by_their_exact_name(api: type, keys: dict, ordinary: Project) -> None:
    for name in ORDINARY_NAMES:
        listed = api(keys["read"]).get("/api/v1/events", {"name": name, "period": "last_24h"}).json()["events"]
        assert {event["name"] for event in listed} == {name}
    count = api(keys["read"]).get("/api/v1/events/count", {"name": "Signed Up", "period": "last_24h"}).json()
    assert count["count"] == 2  # the padded one was stored without its spaces


def test_decimal_strings_are_stored_as_numbers(api: type, keys: dict, ordinary: Project) -> None:
    stats = api(keys["read"]).get("/api/v1/events/stats", {"field": "value", "name": "Signed Up"}).json()
    assert stats["sum"] == pytest.approx(50.0)


def test_globs_and_group_by_name_work_with_them(api: type, keys: dict, ordinary: Project) -> None:
    glob = api(keys["read"]).get("/api/v1/events/count", {"name": "caf*", "period": "last_24h"}).json()
    assert glob["count"] == 1
    groups = api(keys["read"]).get("/api/v1/events/count", {"group_by": "name", "period": "last_24h"}).json()
    assert {group["key"]: group["count"] for group in groups["groups"]} == {
        "Signed Up": 2, "café.visit": 1, "order #42": 1, "注文.完了": 1,
    }  # fmt: skip
    names = api(keys["read"]).get("/api/v1/events/names").json()["names"]
    assert {entry["name"] for entry in names} == set(ORDINARY_NAMES)


def test_a_metric_is_read_by_its_percent_encoded_name(api: type, keys: dict, ordinary: Project) -> None:
    path = f"/api/v1/metrics/{quote(METRIC, safe='/')}"
    summary = api(keys["read"]).get(path, {"period": "last_24h"})
    assert summary.status_code == 200, summary.content
    assert summary.json()["name"] == METRIC
    query = api(keys["read"]).get(
        f"{path}/query", {"period": "last_24h", "aggregation": "max", "group_by": "tags.région", "interval": "1h"}
    )
    assert query.status_code == 200, query.content
    (series,) = query.json()["series"]
    assert series["tags"] == {"région": "île #1"}
    assert max(point[1] for point in series["points"] if point[1] is not None) == pytest.approx(12.5)


@pytest.mark.django_db(transaction=True)  # tool calls close the thread's connection, as MCP worker threads need
def test_the_mcp_tools_read_them_by_name(keys: dict, ordinary: Project) -> None:
    caller = Caller.for_key(get_key_by_raw(keys["read"]))
    metric = tools.query_metric(caller, METRIC, aggregation="max", period="last_24h", interval="1h")
    assert metric["summary"]["name"] == METRIC
    assert max(value for _, value in metric["series"][0]["points"] if value is not None) == pytest.approx(12.5)
    events = tools.query_events(caller, "count", name="order #42", period="last_24h")
    assert events["count"] == 1
