"""Dashboards and widgets as code: requests and answers match the schema; an invalid config or a body that is not
JSON is a documented error."""

from typing import Any

import pytest

from flux.tenants.models import Project
from flux.tests.openapi.schema import assert_documented, assert_request_documented

RANGE = {"from": "2026-11-20T00:00:00Z", "to": "2026-11-21T00:00:00Z"}


DASHBOARDS = "/api/v1/dashboards"
DASHBOARD = "/api/v1/dashboards/{reference}"
WIDGETS = "/api/v1/dashboards/{reference}/widgets"
WIDGET = "/api/v1/dashboards/{reference}/widgets/{widget_id}"
GRAPH_WIDGET = {
    "title": "Signups by plan", "type": "graph",
    "query": {"source": "events", "name": "user.signup", "group_by": "tags.plan", "interval": "1h"},
    "display": {"stacked": True, "style": "area", "colors": ["#336699", "#cc6600"],
                "thresholds": [{"value": 10, "color": "#cc0000"}]},
    "position": {"x": 0, "y": 0, "w": 8, "h": 4},
}  # fmt: skip
METRIC_WIDGET = {
    "title": "Queue depth", "type": "number",
    "query": {"source": "metric", "name": "queue.depth", "aggregation": "max", "filters": {"queue": "default"}},
    "display": {"unit": "jobs", "format": "number", "decimals": 0},
}  # fmt: skip
DASHBOARD_BODY = {
    "name": "Growth", "description": "Signups and queues",
    "settings": {"range": "7d", "timezone": "Europe/Berlin", "filters": {"env": "prod"}, "refresh": "1m"},
    "widgets": [GRAPH_WIDGET, METRIC_WIDGET, {"type": "heatmap", "query": {"name": "page.*"}}],
}  # fmt: skip


def test_dashboard_requests_and_answers_match_the_schema(document: dict, api: type, keys: dict, shop: Project) -> None:
    admin, reader = api(keys["admin"]), api(keys["read"])

    def check(path: str, method: str, url: str, body: object = None, status: int = 200) -> Any:
        if body is not None:
            assert_request_documented(document, path, method, body)
        client = reader if method == "get" else admin
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code == status, response.json()
        assert_documented(document, path, method, response)
        return response.json()

    created = check(DASHBOARDS, "post", DASHBOARDS, DASHBOARD_BODY, 201)
    assert [widget["type"] for widget in created["widgets"]] == ["graph", "number", "heatmap"]
    base = f"{DASHBOARDS}/{created['id']}"
    assert [item["slug"] for item in check(DASHBOARDS, "get", DASHBOARDS)["dashboards"]] == ["key-metrics", "growth"]
    check(DASHBOARD, "get", f"{DASHBOARDS}/growth")
    changes = {"name": "Growth 2026", "description": None, "settings": {"range": "30d"}, "is_default": True}
    assert check(DASHBOARD, "patch", base, changes)["settings"]["timezone"] is None

    exported = check(f"{DASHBOARD}/export", "get", f"{base}/export")
    check(f"{DASHBOARDS}/import", "post", f"{DASHBOARDS}/import", exported, 201)  # an export is an import body
    check(f"{DASHBOARD}/duplicate", "post", f"{base}/duplicate", {"name": "Growth copy"}, 201)

    first = check(WIDGETS, "get", f"{base}/widgets")["widgets"][0]
    added = check(WIDGETS, "post", f"{base}/widgets", {"type": "table", "query": {"group_by": "name"}}, 201)
    check(WIDGET, "get", f"{base}/widgets/{added['id']}")
    changed = {"title": "Top events", "display": {"limit": 5}, "position": {"x": 6, "y": 8}}
    check(WIDGET, "patch", f"{base}/widgets/{added['id']}", changed)
    layout = [{"id": first["id"], "x": 4}, {"id": added["id"], "x": 0, "y": 12, "w": 12, "h": 6}]
    check(f"{DASHBOARD}/layout", "put", f"{base}/layout", layout)

    for path, url in ((WIDGET, f"{base}/widgets/{added['id']}"), (DASHBOARD, base)):
        assert admin.delete(url).status_code == 204
        assert "content" not in document["paths"][path]["delete"]["responses"]["204"]
    assert reader.get(f"{base}/widgets/{added['id']}").status_code == 404


INVALID_CONFIGS = [
    # operation path, method, URL, body, field named
    (DASHBOARDS, "post", DASHBOARDS, {"name": "X", "widgets": [{**GRAPH_WIDGET, "query": {"aggregation": "median"}}]},
     "widgets[0].query.aggregation"),
    (DASHBOARD, "patch", f"{DASHBOARDS}/key-metrics", {"owner": "bob"}, "owner"),
    (WIDGETS, "post", f"{DASHBOARDS}/key-metrics/widgets", {**METRIC_WIDGET, "position": {"x": 10, "w": 4}},
     "position.x"),
    (f"{DASHBOARD}/layout", "put", f"{DASHBOARDS}/key-metrics/layout", [{"id": 0, "x": 0}], "widgets[0].id"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "method", "url", "body", "field"), INVALID_CONFIGS, ids=[row[4] for row in INVALID_CONFIGS]
)
def test_an_invalid_dashboard_config_is_a_documented_400_naming_the_field(
    document: dict, api: type, keys: dict, path: str, method: str, url: str, body: object, field: str
) -> None:
    response = getattr(api(keys["admin"]), method)(url, body, format="json")
    error = response.json()["error"]
    assert (response.status_code, error["code"], error["details"]) == (400, "invalid_config", {"field": field})
    assert_documented(document, path, method, response)


def test_a_dashboard_body_that_is_not_json_is_a_documented_415(document: dict, post_json: object, keys: dict) -> None:
    response = post_json(DASHBOARDS, "name=Growth", key=keys["admin"], content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert_documented(document, DASHBOARDS, "post", response)
