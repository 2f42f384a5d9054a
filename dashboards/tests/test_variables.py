"""Dashboard variables: chosen tag values apply to the widgets whose series carry the tag, and only them."""

from datetime import UTC, datetime, timedelta

import pytest

from events.tests.factories import insert_event
from flux.tenants.models import Project
from flux.tenants.services import create_project, issue_key
from metrics.tests.factories import insert_point, make_series

SIGNUPS = {"title": "Signups", "type": "number", "query": {"name": "user.signup"}}
LATENCY = {
    "title": "Latency",
    "type": "number",
    "query": {"source": "metric", "name": "api.latency", "aggregation": "max"},
}
PAGES = {"title": "Pages", "type": "number", "query": {"name": "page.view"}}


@pytest.fixture
def shop(project: Project) -> Project:
    now = datetime.now(UTC)
    for country, count in (("DE", 3), ("FR", 2), ("US", 1)):
        for index in range(count):
            insert_event(project, now - timedelta(minutes=10 + index), "user.signup", tags={"country": country})
    insert_event(project, now - timedelta(minutes=5), "page.view")
    for region, value in (("eu", 100.0), ("us", 200.0), ("ap", 900.0)):
        insert_point(
            make_series(project, "api.latency", "distribution", region=region), now - timedelta(minutes=3), value
        )
    return project


def dashboard(admin: object, variables: list) -> dict:
    body = {"name": "Growth", "widgets": [SIGNUPS, LATENCY, PAGES], "settings": {"variables": variables}}
    response = admin.post("/api/v1/dashboards", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def values(snapshot: dict, created: dict) -> dict:
    by_id = {str(widget["id"]): widget["title"] for widget in created["widgets"]}
    return {by_id[key]: (data["value"], data.get("variables")) for key, data in snapshot["widgets"].items()}


def test_a_saved_choice_applies_to_widgets_with_the_tag_and_marks_the_others(
    api: type, keys: dict, shop: Project
) -> None:
    created = dashboard(api(keys["admin"]), [{"tag": "country", "multi": True, "selected": ["DE"]}])
    snapshot = api(keys["read"]).get("/api/v1/dashboards/growth/data").json()
    applied, ignored = {"applied": ["country"], "ignored": []}, {"applied": [], "ignored": ["country"]}
    assert values(snapshot, created) == {"Signups": (3, applied), "Latency": (900.0, ignored), "Pages": (1, ignored)}
    assert snapshot["variables"] == {"country": {"chosen": ["DE"], "options": ["DE", "FR", "US"]}}


def test_several_values_or_none_can_be_chosen_in_the_address(api: type, keys: dict, shop: Project) -> None:
    created = dashboard(api(keys["admin"]), [{"tag": "country", "multi": True, "selected": ["DE"]},
                                             {"tag": "region", "multi": True}])  # fmt: skip
    reader = api(keys["read"])
    both = reader.get("/api/v1/dashboards/growth/data", {"var[country]": "DE,FR", "var[region]": "eu,us"}).json()
    assert {title: value for title, (value, _) in values(both, created).items()} == {
        "Signups": 5, "Latency": 200.0, "Pages": 1,
    }  # fmt: skip
    everything = reader.get("/api/v1/dashboards/growth/data", {"var[country]": ""}).json()
    assert values(everything, created)["Signups"] == (6, None)  # nothing chosen: nothing applied or marked


def test_a_single_value_variable_takes_the_first_value(api: type, keys: dict, shop: Project) -> None:
    created = dashboard(api(keys["admin"]), [{"tag": "country", "multi": False}])
    snapshot = api(keys["read"]).get("/api/v1/dashboards/growth/data", {"var[country]": "FR,DE"}).json()
    assert values(snapshot, created)["Signups"][0] == 2


def test_an_unknown_variable_or_a_bad_definition_is_refused(api: type, keys: dict, shop: Project) -> None:
    admin = api(keys["admin"])
    dashboard(admin, [{"tag": "country"}])
    answer = api(keys["read"]).get("/api/v1/dashboards/growth/data", {"var[plan]": "pro"})
    assert answer.status_code == 400 and answer.json()["error"]["details"]["parameter"] == "var[plan]"
    for variables, field in (
        ([{"tag": "country"}, {"tag": "country"}], "settings.variables[1].tag"),
        ([{"tag": "country", "selected": ["DE", "FR"]}], "settings.variables[0].selected"),
        ([{"tag": "country", "multi": "yes"}], "settings.variables[0].multi"),
        ([{"tag": "country", "colour": "red"}], "settings.variables[0].colour"),
    ):
        response = admin.patch("/api/v1/dashboards/growth", {"settings": {"variables": variables}}, format="json")
        assert response.status_code == 400 and response.json()["error"]["details"]["field"] == field


def test_options_come_from_this_project_only(api: type, keys: dict, shop: Project) -> None:
    other = create_project("Elsewhere")
    insert_event(other, datetime.now(UTC) - timedelta(minutes=1), "user.signup", tags={"country": "JP"})
    dashboard(api(keys["admin"]), [{"tag": "country", "multi": True}])
    snapshot = api(keys["read"]).get("/api/v1/dashboards/growth/data").json()
    assert snapshot["variables"]["country"]["options"] == ["DE", "FR", "US"]
    outsider = api(issue_key(other, "read").raw_key)
    assert outsider.get("/api/v1/dashboards/growth/data", {"var[country]": "DE"}).status_code == 404
