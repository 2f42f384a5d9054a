"""Real answers of the reads are what the OpenAPI document says: every documented read, an event, funnels and
a bad parameter."""

import pytest

from events.tests.factories import insert_event
from flux.tenants.models import Project
from flux.tests.openapi.schema import T0, assert_documented, assert_request_documented

RANGE = {"from": "2026-11-20T00:00:00Z", "to": "2026-11-21T00:00:00Z"}


READS = [
    ("/api/v1/project", "/api/v1/project", {}),
    ("/api/v1/events", "/api/v1/events", {"limit": "2"}),
    ("/api/v1/events/names", "/api/v1/events/names", {}),
    ("/api/v1/overview", "/api/v1/overview", {"interval": "6h"}),
    ("/api/v1/anomalies", "/api/v1/anomalies", {"status": "open"}),
    ("/api/v1/anomalies/settings", "/api/v1/anomalies/settings", {}),
    ("/api/v1/anomalies/series", "/api/v1/anomalies/series", {}),
    ("/api/v1/events/count", "/api/v1/events/count", {"name": "page.*"}),
    ("/api/v1/events/count", "/api/v1/events/count", {"interval": "1h"}),
    ("/api/v1/events/count", "/api/v1/events/count", {"group_by": "tags.plan", "limit": "1"}),
    ("/api/v1/events/count", "/api/v1/events/count", {"group_by": "user_id", "interval": "6h"}),
    ("/api/v1/events/stats", "/api/v1/events/stats", {"interval": "6h", "group_by": "name"}),
    ("/api/v1/events/unique", "/api/v1/events/unique", {"interval": "1h", "tags[plan]": "pro"}),
    ("/api/v1/compare", "/api/v1/compare", {"measure": "p95", "compare_to": "week"}),
    ("/api/v1/compare", "/api/v1/compare", {"metric": "queue.depth", "aggregation": "max", "tags[queue]": "default"}),
    ("/api/v1/metrics", "/api/v1/metrics", {}),
    ("/api/v1/metrics/{name}", "/api/v1/metrics/queue.depth", {}),
    ("/api/v1/metrics/{name}", "/api/v1/metrics/orders.count", {}),
    ("/api/v1/metrics/{name}", "/api/v1/metrics/api.latency", {}),
    ("/api/v1/metrics/{name}", "/api/v1/metrics/visitors", {}),
    ("/api/v1/metrics/{name}/query", "/api/v1/metrics/api.latency/query", {"group_by": "tags.route"}),
    ("/api/v1/metrics/{name}/query", "/api/v1/metrics/queue.depth/query", {"interval": "1h", "tags[queue]": "x"}),
    ("/api/v1/metrics/{name}/query", "/api/v1/metrics/orders.count/query", {"aggregation": "rate"}),
]


@pytest.mark.parametrize(("path", "url", "params"), READS, ids=[f"{url}?{params}" for _, url, params in READS])
def test_read_answers_match_the_schema(
    document: dict, api: type, keys: dict, shop: Project, path: str, url: str, params: dict
) -> None:
    declared = {parameter["name"] for parameter in document["paths"][path]["get"].get("parameters", [])}
    time_range = RANGE if "from" in declared else {}  # a parameter a read does not declare is a 400
    response = api(keys["read"]).get(url, {**time_range, **params})
    assert response.status_code == 200, response.json()
    assert_documented(document, path, "get", response)


def test_an_event_matches_the_schema(document: dict, api: type, keys: dict, shop: Project) -> None:
    event_id = insert_event(shop, T0, "user.signup", user_id="u9", properties={"referrer": {"site": "ads"}})
    response = api(keys["read"]).get(f"/api/v1/events/{event_id}")
    assert response.status_code == 200
    assert_documented(document, "/api/v1/events/{event_id}", "get", response)


@pytest.mark.parametrize(
    "body",
    [
        {"steps": ["page.viewed", {"name": "user.signup", "tags": {"plan": "pro"}}, "order.completed"], **RANGE},
        {"steps": ["page.viewed", "user.signup"], "window": "1h", "group_by": "tags.plan", "limit": 1, **RANGE},
    ],
    ids=["ungrouped", "grouped"],
)
def test_funnel_requests_and_answers_match_the_schema(
    document: dict, api: type, keys: dict, shop: Project, body: dict
) -> None:
    assert_request_documented(document, "/api/v1/events/funnel", "post", body)
    response = api(keys["read"]).post("/api/v1/events/funnel", body, format="json")
    assert response.status_code == 200, response.json()
    assert_documented(document, "/api/v1/events/funnel", "post", response)


def test_a_bad_parameter_is_a_documented_400_naming_it(document: dict, api: type, keys: dict, project: Project) -> None:
    response = api(keys["read"]).get("/api/v1/events/count", {"interval": "2m"})
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"parameter": "interval"}
    assert_documented(document, "/api/v1/events/count", "get", response)
