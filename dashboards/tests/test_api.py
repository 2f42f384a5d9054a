"""Dashboards as code: the REST API for dashboards and widgets, with validation and tenant isolation."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dashboards.models import Dashboard
from flux.tenants.models import Project
from flux.tenants.services import create_project, issue_key

GRAPH = {"title": "Signups", "type": "graph", "query": {"source": "events", "name": "user.signup", "interval": "1h"}}
NUMBER = {"title": "Orders", "type": "number", "query": {"name": "order.completed"}, "display": {"unit": "orders"}}


@pytest.fixture
def admin(api: type, keys: dict) -> object:
    return api(keys["admin"])


def create(admin: object, **body: object) -> dict:
    response = admin.post("/api/v1/dashboards", {"name": "Growth", **body}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_every_new_project_starts_with_a_default_dashboard(api: type, keys: dict, project: Project) -> None:
    dashboards = api(keys["read"]).get("/api/v1/dashboards").json()["dashboards"]
    listed = [(item["name"], item["slug"], item["is_default"]) for item in dashboards]
    assert listed == [("Key metrics", "key-metrics", True)]
    overview = api(keys["read"]).get("/api/v1/dashboards/key-metrics").json()
    assert [widget["type"] for widget in overview["widgets"]] == ["number", "number", "graph", "table", "heatmap"]


def test_create_read_by_id_or_slug_rename_and_delete(admin: object, api: type, keys: dict) -> None:
    created = create(admin, widgets=[GRAPH, NUMBER], settings={"range": "7d", "filters": {"env": "prod"}})
    assert created["slug"] == "growth" and not created["is_default"]
    assert [widget["title"] for widget in created["widgets"]] == ["Signups", "Orders"]
    assert created["widgets"][1]["position"] == {"x": 0, "y": 0, "w": 3, "h": 2}
    reader = api(keys["read"])
    assert reader.get(f"/api/v1/dashboards/{created['id']}").json() == reader.get("/api/v1/dashboards/growth").json()

    renamed = admin.patch("/api/v1/dashboards/growth", {"name": "Growth 2026"}, format="json").json()
    assert (renamed["name"], renamed["slug"], renamed["settings"]["range"]) == ("Growth 2026", "growth-2026", "7d")
    assert create(admin)["slug"] == "growth"  # the old slug is free again
    assert admin.delete("/api/v1/dashboards/growth-2026").status_code == 204
    assert reader.get("/api/v1/dashboards/growth-2026").status_code == 404


def test_the_default_moves_and_survives_deleting_it(admin: object, project: Project) -> None:
    growth = create(admin)
    assert admin.patch(f"/api/v1/dashboards/{growth['id']}", {"is_default": True}, format="json").json()["is_default"]
    assert list(Dashboard.objects.filter(project=project, is_default=True).values_list("slug", flat=True)) == ["growth"]
    admin.delete("/api/v1/dashboards/growth")
    assert Dashboard.objects.get(project=project, is_default=True).slug == "key-metrics"


def test_widgets_can_be_added_changed_moved_and_removed(admin: object) -> None:
    dashboard = create(admin, widgets=[GRAPH])
    base = f"/api/v1/dashboards/{dashboard['id']}/widgets"
    added = admin.post(base, NUMBER, format="json").json()
    changed = admin.patch(f"{base}/{added['id']}", {"display": {"unit": "€", "decimals": 2}}, format="json").json()
    assert (changed["title"], changed["display"]) == ("Orders", {"unit": "€", "decimals": 2})
    first = dashboard["widgets"][0]["id"]
    layout = [{"id": first, "x": 6, "y": 0}, {"id": added["id"], "x": 0, "y": 4, "w": 4, "h": 3}]
    moved = admin.put(f"/api/v1/dashboards/{dashboard['id']}/layout", layout, format="json").json()
    assert [widget["position"] for widget in moved["widgets"]] == [
        {"x": 6, "y": 0, "w": 6, "h": 4},  # size kept, only the place changed
        {"x": 0, "y": 4, "w": 4, "h": 3},
    ]
    assert admin.delete(f"{base}/{added['id']}").status_code == 204
    assert [widget["id"] for widget in admin.get(base).json()["widgets"]] == [first]


@pytest.mark.parametrize(
    ("path", "method", "body", "field"),
    [
        ("/api/v1/dashboards", "post", {"name": "X", "widgets": [GRAPH, {**NUMBER, "type": "gauge"}]},
         "widgets[1].type"),
        ("/api/v1/dashboards", "post", {"name": ""}, "name"),
        ("/api/v1/dashboards", "post", {"name": "X", "settings": {"range": "2y"}}, "settings.range"),
        ("/api/v1/dashboards/growth", "patch", {"owner": "bob"}, "owner"),
        ("/api/v1/dashboards/growth/widgets", "post", {**GRAPH, "query": {"aggregation": "median"}},
         "query.aggregation"),
        ("/api/v1/dashboards/growth/layout", "put", [{"id": 999999, "x": 0}], "widgets[0].id"),
        ("/api/v1/dashboards/import", "post", {"name": "X", "widgets": []}, "flux_dashboard"),
        # Typos and wrong types were dropped or stored as text ({"a": [1]} became "{'a': [1]}").
        ("/api/v1/dashboards", "post", {"name": "X", "widgetz": [GRAPH]}, "widgetz"),
        ("/api/v1/dashboards", "post", {"name": "X", "description": {"a": [1]}}, "description"),
        ("/api/v1/dashboards", "post", {"name": "X", "description": "d" * 2001}, "description"),
        ("/api/v1/dashboards", "post", {"name": "X", "is_default": "yes"}, "is_default"),
        ("/api/v1/dashboards", "post", {"name": "X", "widgets": "abc"}, "widgets"),
        ("/api/v1/dashboards/growth", "patch", {"description": 12345}, "description"),
        ("/api/v1/dashboards/growth/duplicate", "post", {"nme": "Copy"}, "nme"),
        ("/api/v1/dashboards/growth/duplicate", "post", [], "body"),
        ("/api/v1/dashboards/import", "post", {"flux_dashboard": 1, "name": "X", "extra": 1}, "extra"),
        ("/api/v1/dashboards/growth/layout", "put", [{"id": [1], "x": 0}], "widgets[0].id"),
    ],
)  # fmt: skip
def test_bad_configs_are_refused_naming_the_field(
    admin: object, path: str, method: str, body: object, field: str
) -> None:
    create(admin)
    response = getattr(admin, method)(path, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_config"
    assert response.json()["error"]["details"] == {"field": field}


def test_export_imports_into_another_project_and_duplicates(admin: object, api: type) -> None:
    dashboard = create(admin, widgets=[GRAPH, NUMBER], settings={"range": "30d"})
    exported = admin.get(f"/api/v1/dashboards/{dashboard['id']}/export").json()
    assert exported["flux_dashboard"] == 1 and "id" not in exported["widgets"][0]
    elsewhere = issue_key(create_project("Elsewhere"), "admin").raw_key
    imported = api(elsewhere).post("/api/v1/dashboards/import", exported, format="json").json()
    assert (imported["name"], imported["settings"]["range"]) == ("Growth", "30d")
    assert [widget["query"] for widget in imported["widgets"]] == [widget["query"] for widget in dashboard["widgets"]]
    copy = admin.post("/api/v1/dashboards/growth/duplicate", {}, format="json").json()
    assert (copy["name"], copy["slug"], len(copy["widgets"])) == ("Growth (copy)", "growth-copy", 2)


def test_keys_need_the_right_kind(api: type, keys: dict, admin: object) -> None:
    create(admin)
    reader, ingester = api(keys["read"]), api(keys["ingest"])
    assert reader.get("/api/v1/dashboards/growth").status_code == 200
    assert ingester.get("/api/v1/dashboards").status_code == 403
    assert reader.post("/api/v1/dashboards", {"name": "X"}, format="json").status_code == 403
    assert reader.patch("/api/v1/dashboards/growth", {"name": "X"}, format="json").status_code == 403
    assert reader.delete("/api/v1/dashboards/growth").status_code == 403
    assert api(None).get("/api/v1/dashboards").status_code == 401


def test_another_projects_key_can_neither_read_nor_change_a_dashboard(api: type, admin: object) -> None:
    dashboard = create(admin, widgets=[GRAPH])
    outsider = api(issue_key(create_project("Outsider"), "admin").raw_key)
    widget = dashboard["widgets"][0]["id"]
    for path in (f"/api/v1/dashboards/{dashboard['id']}", "/api/v1/dashboards/growth",
                 f"/api/v1/dashboards/{dashboard['id']}/widgets/{widget}"):  # fmt: skip
        assert outsider.get(path).status_code == 404
        assert outsider.patch(path, {"name": "Mine"}, format="json").status_code == 404
        assert outsider.delete(path).status_code == 404
    assert [item["slug"] for item in outsider.get("/api/v1/dashboards").json()["dashboards"]] == ["key-metrics"]
    assert admin.get("/api/v1/dashboards/growth").json()["name"] == "Growth"


def test_widget_data_over_the_dashboards_range_and_filters(
    admin: object, api: type, keys: dict, project: Project
) -> None:
    from datetime import UTC, datetime, timedelta

    from events.tests.factories import insert_event

    now = datetime.now(UTC)
    for plan, env in (("pro", "prod"), ("pro", "test"), ("free", "prod")):
        insert_event(project, now - timedelta(hours=2), "order.completed", tags={"plan": plan, "env": env})
    insert_event(project, now - timedelta(days=3), "order.completed", tags={"plan": "pro", "env": "prod"})
    dashboard = create(admin, widgets=[NUMBER], settings={"range": "24h", "filters": {"env": "prod"}})
    widget = dashboard["widgets"][0]["id"]
    reader = api(keys["read"])
    one = reader.get(f"/api/v1/dashboards/growth/widgets/{widget}/data").json()
    assert (one["widget"], one["value"], one["filters"]) == (widget, 2, {"env": "prod"})
    wider = reader.get(f"/api/v1/dashboards/growth/widgets/{widget}/data", {"from": "-7d", "tags[env]": "test"}).json()
    assert wider["value"] == 1
    snapshot = reader.get("/api/v1/dashboards/growth/data", {"period": "last_7d"}).json()
    assert snapshot["widgets"][str(widget)]["value"] == 3
    assert reader.get("/api/v1/dashboards/growth/data", {"interval": "x", "from": "yesterday-ish"}).status_code == 400
    outsider = api(issue_key(create_project("Outsider"), "read").raw_key)
    assert outsider.get(f"/api/v1/dashboards/{dashboard['id']}/widgets/{widget}/data").status_code == 404
    assert outsider.get(f"/api/v1/dashboards/{dashboard['id']}/data").status_code == 404


def test_preview_validates_and_answers_without_saving(admin: object, api: type, keys: dict, project: Project) -> None:
    from datetime import UTC, datetime, timedelta

    from events.tests.factories import insert_event

    insert_event(project, datetime.now(UTC) - timedelta(hours=1), "order.completed", tags={"plan": "pro"})
    reader = api(keys["read"])
    config = {"type": "pie", "query": {"name": "order.*", "group_by": "tags.plan"}, "display": {"donut": True}}
    preview = reader.post("/api/v1/dashboards/key-metrics/preview", config, format="json").json()
    assert preview["groups"] == [{"key": "pro", "value": 1}] and preview["widget"]["position"]["w"] == 4
    bad = reader.post(
        "/api/v1/dashboards/key-metrics/preview", {"type": "pie", "query": {"aggregation": "x"}}, format="json"
    )
    assert bad.status_code == 400 and bad.json()["error"]["details"] == {"field": "query.aggregation"}
    assert len(reader.get("/api/v1/dashboards/key-metrics").json()["widgets"]) == 5  # nothing saved


def test_a_dashboard_can_open_on_a_calendar_period(admin: object, api: type, keys: dict) -> None:
    create(admin, settings={"range": "yesterday", "timezone": "Europe/Berlin"})
    snapshot = api(keys["read"]).get("/api/v1/dashboards/growth/data").json()
    start, end = (datetime.fromisoformat(snapshot[key]) for key in ("from", "to"))
    assert end - start in (timedelta(hours=23), timedelta(hours=24), timedelta(hours=25))  # a DST day is shorter
    assert start.astimezone(ZoneInfo("Europe/Berlin")).hour == 0
    refused = admin.patch("/api/v1/dashboards/growth", {"settings": {"range": "last_year"}}, format="json")
    assert refused.status_code == 400 and refused.json()["error"]["details"]["field"] == "settings.range"


def test_a_reference_of_non_ascii_digits_is_no_dashboard(admin: object) -> None:
    """ "²" passed isdigit() and then failed int(): every dashboard route, its page and its socket answered 500."""
    create(admin)
    assert admin.get("/api/v1/dashboards/%C2%B2").status_code == 404
    assert admin.get("/api/v1/dashboards/%D9%A1").status_code == 404  # an Arabic-Indic 1 is no id either
