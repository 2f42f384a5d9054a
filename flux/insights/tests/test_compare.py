"""compare_insight on constructed data where the right sentence is known (Europe/Berlin project)."""

from datetime import UTC, datetime, timedelta

import pytest

from flux.insights.compare import compare_insight
from flux.insights.tests.factories import answer_of, insert_hourly_events, insert_hourly_points, steady
from flux.query.query_params import InvalidParameter
from flux.tenants.models import Project
from flux.web.api import NotFound
from metrics.tests.factories import make_series

NOW = datetime(2026, 11, 19, 10, 0, tzinfo=UTC)  # Thursday, 11:00 in Berlin
TWO_WEEKS_AGO = NOW - timedelta(days=14)
RISE = steady(291, 40) + steady(45, 52)  # from Tuesday 17 November 14:00 in Berlin (13:00 UTC)


@pytest.fixture
def berlin(project: Project) -> Project:
    project.timezone = "Europe/Berlin"
    project.save()
    return project


def assert_facts_hold(api: type, key: str, insight: dict) -> None:
    client = api(key)
    for fact in insight["facts"]:
        assert answer_of(client, fact) == pytest.approx(fact["value"]), fact


def test_a_rise_names_the_day_and_hour_it_started(berlin: Project, api: type, keys: dict) -> None:
    insert_hourly_events(berlin, "user.signup", TWO_WEEKS_AGO, RISE)
    insight = compare_insight(berlin, "user.signup", "last_7d", NOW)
    assert insight["text"] == (
        "user.signup events are up 8% week-over-week (7,256 vs 6,720). The rise started Tuesday around 14:00, "
        "after which the hourly rate stayed ~30% higher (52 vs 40 an hour)."
    )
    assert (insight["current"], insight["previous"]) == (sum(RISE[168:]), sum(RISE[:168]))
    assert (insight["verdict"], insight["significant"], insight["kind"]) == ("up", True, "event")
    assert insight["change_start"]["at"] == "2026-11-17T13:00:00Z"
    assert insight["change_start"]["text"] == "Tuesday around 14:00"
    assert [fact["value"] for fact in insight["facts"]] == [7256, 6720, sum(RISE[:291]), sum(RISE[291:])]
    assert_facts_hold(api, keys["read"], insight)


def test_the_hour_is_the_projects_local_hour(project: Project) -> None:
    insert_hourly_events(project, "user.signup", TWO_WEEKS_AGO, RISE)  # the project is in UTC
    assert "The rise started Tuesday around 13:00" in compare_insight(project, "user.signup", "last_7d", NOW)["text"]


def test_a_drop_names_when_it_started(berlin: Project, api: type, keys: dict) -> None:
    insert_hourly_events(berlin, "order.completed", TWO_WEEKS_AGO, steady(268, 40) + steady(68, 25))
    insight = compare_insight(berlin, "order.completed", "last_7d", NOW)
    assert insight["text"] == (
        "order.completed events are down 15% week-over-week (5,699 vs 6,720). The drop started Monday around "
        "15:00, after which the hourly rate stayed ~37% lower (25 vs 40 an hour)."
    )
    assert insight["verdict"] == "down"
    assert_facts_hold(api, keys["read"], insight)


def test_a_change_within_normal_variation_is_steady(berlin: Project) -> None:
    counts = steady(336, 40)
    counts[168::12] = [count + 1 for count in counts[168::12]]
    insert_hourly_events(berlin, "user.login", TWO_WEEKS_AGO, counts)
    insight = compare_insight(berlin, "user.login", "last_7d", NOW)
    assert insight["text"] == (
        "user.login events are steady week-over-week (6,734 vs 6,720; the difference is within normal variation)."
    )
    assert (insight["verdict"], insight["significant"], insight["change_start"]) == ("steady", False, None)
    assert insight["p_value"] > 0.5


def test_a_gradual_rise_has_no_clear_start(berlin: Project) -> None:
    insert_hourly_events(berlin, "page.viewed", TWO_WEEKS_AGO, [30 + hour // 12 for hour in range(336)])
    insight = compare_insight(berlin, "page.viewed", "last_7d", NOW)
    assert insight["text"] == (
        "page.viewed events are up 38% week-over-week (8,484 vs 6,132). The rise did not start at one clear point "
        "in time."
    )
    assert (insight["significant"], insight["change_start"]) == (True, None)


def test_without_events_before_there_is_no_baseline(berlin: Project) -> None:
    insert_hourly_events(berlin, "promo.viewed", NOW - timedelta(days=2), [3] * 48)
    insight = compare_insight(berlin, "promo.viewed", "last_7d", NOW)
    assert insight["text"] == (
        "promo.viewed events: 144 in the last 7 days and none in the 7 days before, so there is no baseline to "
        "compare against."
    )
    assert (insight["verdict"], insight["change_percent"]) == ("not_enough_data", None)


def test_too_few_events_are_not_enough_to_tell(berlin: Project) -> None:
    insert_hourly_events(berlin, "user.deleted", TWO_WEEKS_AGO, [1 if hour % 50 == 0 else 0 for hour in range(336)])
    insight = compare_insight(berlin, "user.deleted", "last_7d", NOW)
    assert insight["text"] == (
        "There are too few user.deleted events to tell a trend: 3 in the last 7 days against 4 in the 7 days before."
    )
    assert insight["verdict"] == "not_enough_data"


def test_no_events_at_all_says_so(berlin: Project) -> None:
    insight = compare_insight(berlin, "user.signup", "last_30d", NOW)
    assert insight["text"] == "There were no user.signup events in the last 30 days or the 30 days before."
    assert [fact["value"] for fact in insight["facts"]] == [0, 0]


def test_a_metric_compares_its_default_aggregation(berlin: Project, api: type, keys: dict) -> None:
    depth = make_series(berlin, "queue.depth", "gauge", queue="mail")
    wobble = [(hour % 5) * 0.2 for hour in range(48)]
    levels = [10.0] * 34 + [13.0] * 14  # from Wednesday 18 November 21:00 in Berlin
    insert_hourly_points(
        depth, NOW - timedelta(days=2), [level + extra for level, extra in zip(levels, wobble, strict=True)]
    )
    insight = compare_insight(berlin, "queue.depth", "last_24h", NOW)
    assert insight["text"] == (
        "The average of queue.depth is up 17% day-over-day (12.1 vs 10.4). The rise started yesterday around 21:00, "
        "after which the hourly average stayed ~29% higher (13.4 vs 10.4)."
    )
    assert (insight["kind"], insight["aggregation"]) == ("metric", "avg")
    assert [fact["query"]["path"] for fact in insight["facts"]] == [
        "/api/v1/compare", "/api/v1/compare", "/api/v1/metrics/queue.depth/query", "/api/v1/metrics/queue.depth/query",
    ]  # fmt: skip
    assert_facts_hold(api, keys["read"], insight)


def test_a_metric_with_too_few_hours_is_not_enough_data(berlin: Project) -> None:
    insert_hourly_points(make_series(berlin, "cache.size", "gauge"), NOW - timedelta(hours=28), [5.0] * 28)
    insight = compare_insight(berlin, "cache.size", "last_24h", NOW)
    assert insight["text"] == (
        "There is too little cache.size data to compare day-over-day: it needs 6 hours with data in the last 24 "
        "hours and in the 24 hours before."
    )
    assert insight["verdict"] == "not_enough_data"


def test_a_metric_name_wins_unless_events_are_asked_for(berlin: Project) -> None:
    make_series(berlin, "user.signup", "counter")
    insert_hourly_events(berlin, "user.signup", TWO_WEEKS_AGO, RISE)
    assert compare_insight(berlin, "user.signup", "last_7d", NOW)["kind"] == "metric"
    assert compare_insight(berlin, "user.signup", "last_7d", NOW, kind="event")["current"] == 7256


def test_an_unknown_metric_asked_for_is_not_found(berlin: Project) -> None:
    with pytest.raises(NotFound):
        compare_insight(berlin, "user.signup", "last_7d", NOW, kind="metric")


def test_an_unknown_period_names_the_parameter(berlin: Project) -> None:
    with pytest.raises(InvalidParameter) as raised:
        compare_insight(berlin, "user.signup", "year", NOW)
    assert raised.value.details == {"parameter": "period"}


@pytest.mark.parametrize(("old", "new"), [("week", "last_7d"), ("day", "last_24h"), ("month", "last_30d")])
def test_calendar_names_are_refused_with_the_rolling_name_to_use(berlin: Project, old: str, new: str) -> None:
    # `week` is the calendar week in the query endpoints; the insights' rolling 7 days are `last_7d`.
    with pytest.raises(InvalidParameter) as raised:
        compare_insight(berlin, "user.signup", old, NOW)
    assert raised.value.details == {"parameter": "period"}
    assert f"use {new}" in raised.value.message


def test_cut_hours_at_the_edges_leave_the_facts_true(berlin: Project, api: type, keys: dict) -> None:
    insert_hourly_events(berlin, "user.signup", TWO_WEEKS_AGO, RISE)
    insight = compare_insight(berlin, "user.signup", "last_7d", NOW - timedelta(minutes=23))
    assert insight["change_start"]["text"] == "Tuesday around 14:00"
    assert insight["facts"][0]["query"]["params"]["to"] == "2026-11-19T09:37:00Z"
    assert_facts_hold(api, keys["read"], insight)
