"""project_summary on a constructed week where the right sentences are known (Europe/Berlin project)."""

from datetime import UTC, datetime, timedelta

import pytest

from anomalies.models import Anomaly
from anomalies.tests.factories import make_watch, open_anomaly
from flux.insights.summary import project_summary
from flux.insights.tests.factories import answer_of, insert_hourly_events, insert_hourly_points, steady
from flux.tenants.models import Project
from metrics.tests.factories import make_series

NOW = datetime(2026, 11, 19, 10, 0, tzinfo=UTC)  # Thursday, 11:00 in Berlin
TWO_WEEKS_AGO = NOW - timedelta(days=14)


@pytest.fixture
def week(project: Project) -> Project:
    """A rise of signups from Tuesday 14:00, a drop of orders from Monday 15:00, steady logins, a new event
    name and a new metric, two anomalies during the week and one resolved long before it."""
    project.timezone = "Europe/Berlin"
    project.save()
    insert_hourly_events(project, "user.signup", TWO_WEEKS_AGO, steady(291, 40) + steady(45, 52))
    insert_hourly_events(project, "order.completed", TWO_WEEKS_AGO, steady(268, 40) + steady(68, 25))
    logins = steady(336, 40)
    logins[168::12] = [count + 1 for count in logins[168::12]]
    insert_hourly_events(project, "user.login", TWO_WEEKS_AGO, logins)
    insert_hourly_events(project, "promo.viewed", NOW - timedelta(days=2), [3] * 48)
    insert_hourly_points(make_series(project, "cache.hits", "counter"), NOW - timedelta(days=2), [7.0] * 48)
    open_anomaly(make_watch(project, "user.signup"), datetime(2026, 11, 17, 13, tzinfo=UTC), "critical", "spike")
    open_anomaly(make_watch(project, "order.completed"), datetime(2026, 11, 16, 14, tzinfo=UTC), "warning", "drop")
    old = open_anomaly(make_watch(project, "user.login"), datetime(2026, 10, 1, 9, tzinfo=UTC), "critical", "spike")
    Anomaly.objects.filter(pk=old.pk).update(status="resolved", resolved_at=datetime(2026, 10, 1, 12, tzinfo=UTC))
    return project


def test_the_summary_tells_volume_movers_anomalies_and_new_names(week: Project) -> None:
    assert project_summary(week, "last_7d", NOW)["text"] == (
        "The project received 19,833 events in the last 7 days, steady week-over-week (against 20,160). "
        "Biggest movers week-over-week: order.completed events down 15% (5,699 vs 6,720); user.signup events up 8% "
        "(7,256 vs 6,720). 2 anomalies were open during the last 7 days (1 critical and 1 warning); the most severe "
        "is a critical spike in user.signup that started Tuesday around 14:00. New in the last 7 days: promo.viewed "
        "(144 events) and the metric cache.hits (48 points)."
    )


def test_every_fact_is_what_its_query_answers(week: Project, api: type, keys: dict) -> None:
    summary = project_summary(week, "last_7d", NOW)
    client = api(keys["read"])
    for fact in summary["facts"]:
        assert answer_of(client, fact) == pytest.approx(fact["value"]), fact
    assert [fact["value"] for fact in summary["facts"]] == [
        19833, 20160,  # all events
        5699, 6720, 7256, 6720,  # the movers, now and before
        2, 1, 1,  # anomalies: all, critical, warning
        144, 0, 48, 0,  # the new event name and metric, in the week and before it
    ]  # fmt: skip


def test_the_parts_behind_the_text_are_returned(week: Project) -> None:
    summary = project_summary(week, "last_7d", NOW)
    assert [(mover["name"], mover["verdict"]) for mover in summary["movers"]] == [
        ("order.completed", "down"), ("user.signup", "up"),
    ]  # fmt: skip
    assert summary["movers"][1]["text"].endswith("The rise started Tuesday around 14:00, after which the hourly rate "
                                                 "stayed ~30% higher (52 vs 40 an hour).")  # fmt: skip
    assert summary["anomalies"]["by_severity"] == {"critical": 1, "warning": 1, "info": 0}
    assert summary["anomalies"]["top"]["name"] == "user.signup"
    assert summary["new"] == {"events": [{"name": "promo.viewed", "count": 144}],
                              "metrics": [{"name": "cache.hits", "points": 48}]}  # fmt: skip
    assert summary["events"] == {"current": 19833, "previous": 20160, "change_percent": pytest.approx(-1.622, abs=1e-3),
                                 "verdict": "steady"}  # fmt: skip
    assert (summary["from"], summary["previous_from"]) == ("2026-11-12T10:00:00Z", "2026-11-05T10:00:00Z")


def test_an_empty_project_says_nothing_came_in(project: Project) -> None:
    assert project_summary(project, "last_24h", NOW)["text"] == (
        "No events came in during the last 24 hours or the 24 hours before. "
        "No anomalies were open during the last 24 hours."
    )


def test_a_new_project_has_no_baseline_and_everything_is_new(project: Project) -> None:
    insert_hourly_events(project, "user.signup", NOW - timedelta(hours=5), [2] * 5)
    assert project_summary(project, "last_7d", NOW)["text"] == (
        "The project received 10 events in the last 7 days and none in the 7 days before. "
        "No anomalies were open during the last 7 days. New in the last 7 days: user.signup (10 events)."
    )


def test_another_projects_data_is_not_summarised(week: Project, other_project: Project) -> None:
    assert project_summary(other_project, "last_30d", NOW)["text"] == (
        "No events came in during the last 30 days or the 30 days before. "
        "No anomalies were open during the last 30 days."
    )


def test_the_summary_reads_a_bounded_number_of_queries(week: Project, django_assert_max_num_queries: object) -> None:
    # Two event names (2 queries each) and one metric get the full comparison here; at most 6 names and 5
    # metrics do, which stays below about 70 queries, all of them set-based (no query per event).
    with django_assert_max_num_queries(29):
        project_summary(week, "last_7d", NOW)
