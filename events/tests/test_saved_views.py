"""Saved views of the events explorer: the API, its validation, key kinds and tenant isolation."""

from flux.tenants.models import Project
from flux.tenants.services import create_project, issue_key

VIEW = {"name": "Pro signups", "params": {"name": "user.signup", "tags": "plan=pro", "properties": "ref=ad",
                                          "range": "last_7d"}}  # fmt: skip


def test_save_list_and_delete_a_view(api: type, keys: dict, project: Project) -> None:
    admin, reader = api(keys["admin"]), api(keys["read"])
    created = admin.post("/api/v1/events/views", VIEW, format="json")
    assert created.status_code == 201
    assert {key: created.json()[key] for key in ("name", "params")} == VIEW
    assert [view["name"] for view in reader.get("/api/v1/events/views").json()["views"]] == ["Pro signups"]
    assert admin.delete(f"/api/v1/events/views/{created.json()['id']}").status_code == 204
    assert reader.get("/api/v1/events/views").json()["views"] == []


def test_a_name_is_unique_and_only_explorer_fields_are_kept(api: type, keys: dict, project: Project) -> None:
    admin = api(keys["admin"])
    assert admin.post("/api/v1/events/views", VIEW, format="json").status_code == 201
    taken = admin.post("/api/v1/events/views", VIEW, format="json")
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "name_taken"
    for body, field in (
        ({"name": "x", "params": {"sql": "drop table"}}, "params.sql"),
        ({"name": "", "params": {}}, "name"),
        ({"name": "x", "params": {"tags": ["a"]}}, "params.tags"),
    ):
        refused = admin.post("/api/v1/events/views", body, format="json")
        assert refused.status_code == 400 and refused.json()["error"]["details"]["field"] == field


def test_reading_needs_a_read_key_and_saving_an_admin_key(api: type, keys: dict, project: Project) -> None:
    assert api(keys["read"]).post("/api/v1/events/views", VIEW, format="json").status_code == 403
    assert api(keys["ingest"]).get("/api/v1/events/views").status_code == 403
    assert api(None).get("/api/v1/events/views").status_code == 401


def test_another_projects_views_are_out_of_reach(api: type, keys: dict, project: Project) -> None:
    view = api(keys["admin"]).post("/api/v1/events/views", VIEW, format="json").json()
    outsider = create_project("Outsider")
    assert api(issue_key(outsider, "read").raw_key).get("/api/v1/events/views").json()["views"] == []
    assert api(issue_key(outsider, "admin").raw_key).delete(f"/api/v1/events/views/{view['id']}").status_code == 404
    assert [item["id"] for item in api(keys["read"]).get("/api/v1/events/views").json()["views"]] == [view["id"]]
