"""explain_change: the comparison, then the tag values that drive the change (constructed data)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from flux.insights.drivers import explain_change
from flux.insights.tests.factories import answer_of, insert_hourly_points, steady
from flux.tenants.models import Project
from metrics.tests.factories import make_series

NOW = datetime(2026, 11, 19, 10, 0, tzinfo=UTC)
TWO_WEEKS_AGO = NOW - timedelta(days=14)
CHANGE = 291  # hours after TWO_WEEKS_AGO: Tuesday 17 November 13:00 UTC


def insert_tagged(project: Project, name: str, start: datetime, counts: list[int], tags: str) -> None:
    times = [start + timedelta(hours=hour, seconds=i * 3600 // count) for hour, count in enumerate(counts)
             for i in range(count)]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO events_event (project_id, time, name, tags)
               SELECT %s, t, %s, %s::jsonb FROM unnest(%s::timestamptz[]) AS t""",
            [project.pk, name, tags, times],
        )


def roll_up_everything() -> None:
    from events.models import RollupWatermark
    from events.rollups import roll_up_events

    RollupWatermark.objects.filter(stream="events").delete()
    roll_up_events(datetime.now(UTC) + timedelta(minutes=1))


def test_a_rise_is_explained_by_the_tag_value_that_carries_it(project: Project, api: type, keys: dict) -> None:
    free = steady(336, 30)
    pro = steady(CHANGE, 10) + steady(336 - CHANGE, 24)  # pro signups more than double from the change on
    insert_tagged(project, "user.signup", TWO_WEEKS_AGO, free, '{"plan": "free", "country": "DE"}')
    insert_tagged(project, "user.signup", TWO_WEEKS_AGO, pro, '{"plan": "pro", "country": "DE"}')
    roll_up_everything()  # tag keys come from the tag rollups, as in production
    answer = explain_change(project, "user.signup", "last_7d", NOW)
    assert answer["verdict"] == "up" and answer["change_start"]["at"] == "2026-11-17T13:00:00Z"
    assert answer["after"] == {"from": "2026-11-17T13:00:00Z", "to": "2026-11-19T10:00:00Z"}
    top = answer["drivers"][0]
    assert (top["tag"], top["value"]) == ("plan", "pro") and top["share"] > 0.8
    assert "of the rise is plan=pro" in answer["text"]
    assert all(item["value"] != "free" for item in answer["drivers"])  # the steady plan carries nothing
    client = api(keys["read"])
    for fact in answer["facts"]:
        assert answer_of(client, fact) == pytest.approx(fact["value"]), fact


def test_no_significant_change_has_nothing_to_explain(project: Project) -> None:
    insert_tagged(project, "user.login", TWO_WEEKS_AGO, steady(336, 40), '{"plan": "free"}')
    answer = explain_change(project, "user.login", "last_7d", NOW)
    assert answer["verdict"] == "steady" and answer["drivers"] == []
    assert answer["text"].endswith("There is no change to explain.")


def test_a_metric_names_the_series_that_moved(project: Project, api: type, keys: dict) -> None:
    checkout = make_series(project, "api.latency", "gauge", route="/checkout")
    home = make_series(project, "api.latency", "gauge", route="/")
    insert_hourly_points(checkout, TWO_WEEKS_AGO, [100.0 + hour % 5 for hour in range(CHANGE)]
                         + [300.0 + hour % 5 for hour in range(336 - CHANGE)])  # fmt: skip
    insert_hourly_points(home, TWO_WEEKS_AGO, [50.0 + hour % 5 for hour in range(336)])
    answer = explain_change(project, "api.latency", "last_7d", NOW)
    assert answer["verdict"] == "up"
    top = answer["drivers"][0]
    assert (top["tag"], top["value"]) == ("route", "/checkout") and top["change_percent"] > 150
    assert "route=/checkout (+" in answer["text"]
    client = api(keys["read"])
    for fact in answer["facts"]:
        assert answer_of(client, fact) == pytest.approx(fact["value"]), fact


def test_the_endpoint_needs_a_name_and_a_read_key(api: type, keys: dict, project: Project) -> None:
    assert api(keys["read"]).get("/api/v1/insights/explain").json()["error"]["details"]["parameter"] == "name"
    assert api(keys["ingest"]).get("/api/v1/insights/explain", {"name": "x"}).status_code == 403
    assert api(keys["read"]).get("/api/v1/insights/explain", {"name": "nothing.yet"}).status_code == 200
