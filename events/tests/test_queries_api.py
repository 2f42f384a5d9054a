"""The events read API on the raw path: list, detail, count, stats, unique."""

from datetime import UTC, datetime, timedelta

import pytest

from events.tests.factories import insert_event
from flux.tenants.models import Project
from flux.tenants.services import create_project, issue_key

pytestmark = pytest.mark.storage  # `make test` runs these on TimescaleDB too

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
RANGE = {"from": "2026-11-20T00:00:00Z", "to": "2026-11-21T00:00:00Z"}


@pytest.fixture
def shop(project: Project) -> Project:
    """Six events on 2026-11-20 between 10:00 and 12:30 UTC."""
    project.retention_days = 3650
    project.save()
    rows = [
        ("user.signup", 0, "u1", {"plan": "pro"}, 10.0, {"referrer": "google"}),
        ("user.signup", 20, "u2", {"plan": "free"}, None, {"referrer": "ads"}),
        ("user.signup", 40, "u3", {"plan": "pro"}, 30.0, {}),
        ("user.login", 60, "u1", {"plan": "pro"}, None, {}),
        ("order.completed", 90, "u1", {"plan": "pro", "currency": "EUR"}, 120.0, {}),
        ("order.completed", 150, "u2", {"plan": "team"}, 80.0, {}),
    ]
    for name, minutes, user, tags, value, properties in rows:
        insert_event(project, T0 + timedelta(minutes=minutes), name, user_id=user, tags=tags, value=value,
                     properties=properties)  # fmt: skip
    return project


def get(api: type, key: str, path: str, **params: object) -> object:
    return api(key).get(path, {**RANGE, **params})


def test_list_is_newest_first_with_filters(api: type, keys: dict, shop: Project) -> None:
    body = get(api, keys["read"], "/api/v1/events").json()
    assert [event["name"] for event in body["events"]][:2] == ["order.completed", "order.completed"]
    assert body["next_cursor"] is None
    signups = get(api, keys["read"], "/api/v1/events", name="user.*", **{"tags[plan]": "pro"}).json()["events"]
    assert [(event["name"], event["user_id"]) for event in signups] == [
        ("user.login", "u1"),
        ("user.signup", "u3"),
        ("user.signup", "u1"),
    ]
    assert signups[0]["timestamp"] == "2026-11-20T11:00:00Z"
    valued = get(api, keys["read"], "/api/v1/events", value_min="20", value_max="100").json()["events"]
    assert sorted(event["value"] for event in valued) == [30.0, 80.0]
    by_property = get(api, keys["read"], "/api/v1/events", **{"properties.referrer": "ads"}).json()["events"]
    assert [event["user_id"] for event in by_property] == ["u2"]


def test_list_pages_with_a_cursor(api: type, keys: dict, shop: Project) -> None:
    seen, cursor = [], None
    while True:
        body = get(api, keys["read"], "/api/v1/events", limit=4, **({"cursor": cursor} if cursor else {})).json()
        seen += [event["id"] for event in body["events"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 6


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"limit": "5000"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "!!!"}, "cursor"),
        ({"value_min": "cheap"}, "value_min"),
        ({"from": "yesterday-ish"}, "from"),
    ],
)
def test_bad_list_parameters_are_400_naming_the_parameter(
    api: type, keys: dict, shop: Project, params: dict, parameter: str
) -> None:
    response = get(api, keys["read"], "/api/v1/events", **params)
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"parameter": parameter}


def test_event_detail_and_other_projects_events_are_not_found(api: type, keys: dict, shop: Project) -> None:
    first = get(api, keys["read"], "/api/v1/events").json()["events"][0]
    assert api(keys["read"]).get(f"/api/v1/events/{first['id']}").json() == first
    outsider = issue_key(create_project("Other"), "read").raw_key
    assert api(outsider).get(f"/api/v1/events/{first['id']}").status_code == 404


def test_count_total_and_hourly_series_with_gaps_filled(api: type, keys: dict, shop: Project) -> None:
    body = get(api, keys["read"], "/api/v1/events/count", interval="1h", name="user.signup").json()
    assert body["count"] == 3
    assert (body["from"], body["to"], body["interval"]) == ("2026-11-20T00:00:00Z", "2026-11-21T00:00:00Z", "1h")
    assert len(body["points"]) == 24
    assert body["points"][9] == ["2026-11-20T09:00:00Z", 0]
    assert body["points"][10] == ["2026-11-20T10:00:00Z", 3]


def test_count_group_by_tag_shows_top_groups_and_other(api: type, keys: dict, shop: Project) -> None:
    body = get(api, keys["read"], "/api/v1/events/count", group_by="tags.plan", limit=2, interval="1h").json()
    assert body["group_by"] == "tags.plan"
    assert [(group["key"], group["count"]) for group in body["groups"]] == [("pro", 4), ("free", 1), ("__other__", 1)]
    other_points = {point[0]: point[1] for point in body["groups"][2]["points"]}
    assert other_points["2026-11-20T12:00:00Z"] == 1  # the team plan order at 12:30
    assert sum(point[1] for group in body["groups"] for point in group["points"]) == body["count"] == 6


def test_count_group_by_name_without_interval(api: type, keys: dict, shop: Project) -> None:
    groups = get(api, keys["read"], "/api/v1/events/count", group_by="name").json()["groups"]
    assert groups == [
        {"key": "user.signup", "count": 3},
        {"key": "order.completed", "count": 2},
        {"key": "user.login", "count": 1},
    ]


def test_daily_counts_follow_local_midnight_across_dst(api: type, keys: dict, project: Project) -> None:
    project.timezone, project.retention_days = "Europe/Berlin", 3650
    project.save()
    # 29 March 2026 in Berlin: 00:00 CET (23:00Z the day before) to 24:00 CEST (22:00Z); 23 hours long.
    for moment in ("2026-03-28T23:30:00Z", "2026-03-29T21:59:00Z", "2026-03-29T22:00:00Z"):
        insert_event(project, datetime.fromisoformat(moment), "tick")
    body = (
        api(keys["read"])
        .get("/api/v1/events/count", {"from": "2026-03-29", "to": "2026-03-31", "interval": "1d"})
        .json()
    )
    assert body["points"] == [["2026-03-28T23:00:00Z", 2], ["2026-03-29T22:00:00Z", 1]]


def test_stats_of_value(api: type, keys: dict, shop: Project) -> None:
    body = get(api, keys["read"], "/api/v1/events/stats", field="value").json()
    assert (body["count"], body["sum"], body["min"], body["max"], body["avg"]) == (4, 240.0, 10.0, 120.0, 60.0)
    assert body["p50"] == pytest.approx(55.0, rel=0.01)  # percentiles come from a sketch: within 1%
    assert get(api, keys["read"], "/api/v1/events/stats", field="user_id").status_code == 400


def test_unique_users_overall_and_per_interval(api: type, keys: dict, shop: Project) -> None:
    body = get(api, keys["read"], "/api/v1/events/unique", field="user_id", interval="1h").json()
    assert body["unique"] == 3
    per_hour = {point[0]: point[1] for point in body["points"]}
    assert (per_hour["2026-11-20T10:00:00Z"], per_hour["2026-11-20T11:00:00Z"]) == (3, 1)
    assert get(api, keys["read"], "/api/v1/events/unique", field="tags.plan").json()["unique"] == 3


@pytest.mark.parametrize(
    ("path", "params", "parameter"),
    [
        ("/api/v1/events/count", {"group_by": "password"}, "group_by"),
        ("/api/v1/events/count", {"interval": "2h"}, "interval"),
        ("/api/v1/events/count", {"interval": "1m", "from": "-30d"}, "interval"),
        ("/api/v1/events/count", {"group_by": "name", "limit": "0"}, "limit"),
        ("/api/v1/events/unique", {"field": "tags."}, "field"),
        ("/api/v1/events/count", {"timezone": "Nowhere"}, "timezone"),
        ("/api/v1/events/count", {"period": "today", "from": "-1h"}, "period"),
    ],
)
def test_bad_query_parameters_are_400(
    api: type, keys: dict, shop: Project, path: str, params: dict, parameter: str
) -> None:
    response = api(keys["read"]).get(path, params)
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"parameter": parameter}


READ_PATHS = ["/api/v1/events", "/api/v1/events/count", "/api/v1/events/stats", "/api/v1/events/unique"]


@pytest.mark.parametrize("path", READ_PATHS)
def test_an_ingest_key_cannot_read(api: type, keys: dict, shop: Project, path: str) -> None:
    assert get(api, keys["ingest"], path).status_code == 403
    assert get(api, keys["admin"], path).status_code == 200


@pytest.mark.parametrize("path", READ_PATHS)
def test_a_read_key_sees_only_its_own_project(api: type, shop: Project, path: str) -> None:
    outsider = issue_key(create_project("Other"), "read").raw_key
    body = get(api, outsider, path).json()
    assert body.get("count", 0) == 0 and body.get("events", []) == [] and body.get("unique", 0) == 0


def test_a_read_key_cannot_write(post_json: object, keys: dict) -> None:
    assert post_json("/api/v1/events", {"name": "x"}, key=keys["read"]).status_code == 403


def test_stats_per_interval_and_per_group(api: type, keys: dict, shop: Project) -> None:
    body = get(api, keys["read"], "/api/v1/events/stats", interval="1h", group_by="tags.plan").json()
    per_hour = dict(body["points"])
    assert (per_hour["2026-11-20T10:00:00Z"]["count"], per_hour["2026-11-20T10:00:00Z"]["sum"]) == (2, 40.0)
    assert per_hour["2026-11-20T09:00:00Z"] == {
        "count": 0, "sum": None, "avg": None, "min": None, "max": None, "p50": None, "p90": None, "p95": None,
        "p99": None,
    }  # fmt: skip
    groups = {group["key"]: group for group in body["groups"]}
    assert (groups["pro"]["count"], groups["pro"]["max"]) == (3, 120.0)
    assert groups["team"]["sum"] == 80.0
    assert "free" not in groups  # its only event has no value


def test_compare_with_the_previous_period(api: type, keys: dict, shop: Project) -> None:
    insert_event(shop, T0 - timedelta(days=1), "user.signup", user_id="u9")
    body = api(keys["read"]).get("/api/v1/compare", {**RANGE, "name": "user.signup"}).json()
    assert (body["current"], body["previous"], body["change"], body["change_percent"]) == (3, 1, 2, 200.0)
    assert (body["previous_from"], body["previous_to"]) == ("2026-11-19T00:00:00Z", "2026-11-20T00:00:00Z")


def test_compare_a_week_back_and_other_measures(api: type, keys: dict, shop: Project) -> None:
    week_back = api(keys["read"]).get("/api/v1/compare", {**RANGE, "compare_to": "week", "measure": "sum"}).json()
    assert (week_back["current"], week_back["previous"], week_back["change_percent"]) == (240.0, None, None)
    assert week_back["previous_from"] == "2026-11-13T00:00:00Z"
    unique = api(keys["read"]).get("/api/v1/compare", {**RANGE, "measure": "unique", "field": "user_id"}).json()
    assert (unique["current"], unique["previous"], unique["change_percent"]) == (3, 0, None)


@pytest.mark.parametrize(
    ("params", "parameter"), [({"measure": "median"}, "measure"), ({"compare_to": "decade"}, "compare_to")]
)
def test_compare_rejects_bad_parameters(api: type, keys: dict, shop: Project, params: dict, parameter: str) -> None:
    response = api(keys["read"]).get("/api/v1/compare", {**RANGE, **params})
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"parameter": parameter}


def test_funnel_counts_users_through_ordered_steps_within_the_window(api: type, keys: dict, project: Project) -> None:
    def event(name: str, user: str, minutes: float, **tags: str) -> None:
        insert_event(project, T0 + timedelta(minutes=minutes), name, user_id=user, tags=tags)

    for user in ("a", "b", "c", "d"):
        event("page.viewed", user, 0)
    event("user.signup", "a", 10, plan="pro")
    event("user.signup", "b", 30, plan="free")
    event("user.signup", "c", 60 * 24 * 9)  # after the 7-day window
    event("user.signup", "d", -5)  # before viewing: does not count
    event("order.completed", "a", 20)
    event("order.completed", "b", 5)  # before signing up: does not count
    body = {"steps": ["page.viewed", "user.signup", "order.completed"], "window": "7d", **RANGE}
    response = api(keys["read"]).post("/api/v1/events/funnel", body, format="json")
    steps = response.json()["steps"]
    assert [(step["name"], step["users"]) for step in steps] == [
        ("page.viewed", 4), ("user.signup", 2), ("order.completed", 1),
    ]  # fmt: skip
    assert steps[1]["conversion_from_previous"] == 0.5
    assert steps[1]["median_seconds_to_convert"] == 20 * 60  # 10 and 30 minutes
    assert steps[2]["conversion_from_first"] == 0.25
    with_tags = (
        api(keys["read"])
        .post(
            "/api/v1/events/funnel",
            {"steps": ["page.viewed", {"name": "user.signup", "tags": {"plan": "pro"}}], **RANGE},
            format="json",
        )
        .json()["steps"]
    )
    assert with_tags[1]["users"] == 1


def test_a_repeated_step_needs_a_later_event_of_its_own(api: type, keys: dict, project: Project) -> None:
    """A repeat-purchase funnel (order, then order again) counted the first order twice: 100% in 0 s."""
    insert_event(project, T0, "order.completed", user_id="once")
    insert_event(project, T0, "order.completed", user_id="twice")
    insert_event(project, T0 + timedelta(hours=1), "order.completed", user_id="twice")
    body = {"steps": ["order.completed", "order.completed", "order.completed"], **RANGE}
    steps = api(keys["read"]).post("/api/v1/events/funnel", body, format="json").json()["steps"]
    assert [step["users"] for step in steps] == [2, 1, 0]
    assert (steps[1]["conversion_from_previous"], steps[1]["median_seconds_to_convert"]) == (0.5, 3600)


def test_funnel_grouped_by_a_tag_of_the_entering_event(api: type, keys: dict, project: Project) -> None:
    plans = {"a": "pro", "b": "pro", "c": "free", "d": "team", "e": None}
    for user, plan in plans.items():
        insert_event(project, T0, "page.viewed", user_id=user, tags={"plan": plan} if plan else {})
        # A later view with another plan does not move the user: the entering event decides.
        insert_event(project, T0 + timedelta(minutes=1), "page.viewed", user_id=user, tags={"plan": "other"})
    for user in ("a", "c"):
        insert_event(project, T0 + timedelta(minutes=5), "user.signup", user_id=user)
    body = {"steps": ["page.viewed", "user.signup"], "group_by": "tags.plan", **RANGE}

    groups = api(keys["read"]).post("/api/v1/events/funnel", body, format="json").json()["groups"]
    assert [(group["key"], [step["users"] for step in group["steps"]]) for group in groups] == [
        ("pro", [2, 1]), ("free", [1, 1]), ("team", [1, 0]), (None, [1, 0]),
    ]  # fmt: skip
    assert groups[0]["steps"][1]["conversion_from_previous"] == 0.5
    top = api(keys["read"]).post("/api/v1/events/funnel", {**body, "limit": 1}, format="json").json()["groups"]
    assert [(group["key"], group["steps"][0]["users"]) for group in top] == [("pro", 2), ("__other__", 3)]


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ({"steps": ["only.one"]}, "steps"),
        ({"steps": ["a", "b"], "group_by": "colour"}, "group_by"),
        ({"steps": ["a", "b"], "group_by": "name", "limit": 0}, "limit"),
        ({"steps": "a,b"}, "steps"),
        ({"steps": ["a", {"tags": {}}]}, "steps[1]"),
        ({"steps": ["a", "b"], "window": "forever"}, "window"),
        ({"steps": ["a", "b"], "window": "400d"}, "window"),
    ],
)
def test_funnel_rejects_bad_bodies(api: type, keys: dict, project: Project, body: dict, parameter: str) -> None:
    response = api(keys["read"]).post("/api/v1/events/funnel", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"parameter": parameter}


def test_names_are_the_catalogue_busiest_first(api: type, keys: dict, shop: Project) -> None:
    body = get(api, keys["read"], "/api/v1/events/names").json()
    assert [(entry["name"], entry["count"]) for entry in body["names"]] == [
        ("user.signup", 3),
        ("order.completed", 2),
        ("user.login", 1),
    ]
    orders = body["names"][1]
    assert orders["last_seen"] == "2026-11-20T12:30:00Z"
    assert get(api, keys["read"], "/api/v1/events/names", limit=1).json()["names"][0]["name"] == "user.signup"


def test_names_list_tag_keys_once_rolled_up(api: type, keys: dict, shop: Project) -> None:
    from events.models import RollupWatermark
    from events.rollups import roll_up_events

    RollupWatermark.objects.all().delete()
    roll_up_events(datetime.now(UTC) + timedelta(minutes=1))  # received_at is the transaction start
    names = {entry["name"]: entry for entry in get(api, keys["read"], "/api/v1/events/names").json()["names"]}
    assert names["order.completed"]["tag_keys"] == ["currency", "plan"]
    assert names["user.login"]["tag_keys"] == ["plan"]
    assert names["order.completed"]["last_seen"] == "2026-11-20T12:30:00Z"


def test_names_of_another_project_are_not_listed(api: type, shop: Project, other_project: Project) -> None:
    other_key = issue_key(other_project, "read").raw_key
    assert get(api, other_key, "/api/v1/events/names").json()["names"] == []


def test_groups_are_the_highest_in_the_statistic_asked_for(api: type, keys: dict, shop: Project) -> None:
    """Ranked by count only: "revenue by country" left out the country of the two largest orders."""

    def top(**rank: str) -> list:
        body = get(api, keys["read"], "/api/v1/events/stats", group_by="tags.plan", limit=1, **rank).json()
        return [group["key"] for group in body["groups"]]

    assert top() == ["pro"]  # three values
    assert top(rank_by="min") == ["team"]  # its one value, 80, against pro's least, 10
    assert top(rank_by="p50") == ["team"]
    refused = get(api, keys["read"], "/api/v1/events/stats", group_by="tags.plan", rank_by="median")
    assert refused.status_code == 400 and "rank_by must be one of" in refused.json()["error"]["message"]
