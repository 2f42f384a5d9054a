"""Which tag values carry an anomaly's change: the pure arithmetic, the sentence it becomes, and an
anomaly's explanation read from real tag rollups."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from anomalies.explain import contributions, earlier_window, explain, median_window, sentence, weeks_back
from anomalies.tests.factories import make_watch, open_anomaly
from events.models import RollupWatermark
from events.rollups import STREAM, rebuild_event_rollups
from flux.tenants.models import Project


def test_the_value_that_carries_the_change_is_named_with_its_share() -> None:
    actual = {("plan", "pro"): 180.0, ("plan", "free"): 60.0, ("country", "DE"): 100.0, ("country", "FR"): 140.0}
    earlier = [
        {("plan", "pro"): 20.0, ("plan", "free"): 60.0, ("country", "DE"): 40.0, ("country", "FR"): 40.0},
        {("plan", "pro"): 22.0, ("plan", "free"): 58.0, ("country", "DE"): 40.0, ("country", "FR"): 40.0},
        {("plan", "pro"): 18.0, ("plan", "free"): 62.0, ("country", "DE"): 40.0, ("country", "FR"): 40.0},
    ]
    found = contributions(actual, earlier, total_change=160.0)
    assert [(item["tag"], item["value"], item["share"]) for item in found] == [
        ("plan", "pro", 1.0), ("country", "FR", 0.625), ("country", "DE", 0.375),
    ]  # fmt: skip
    assert found[0]["expected"] == 20.0
    assert sentence(found, "up") == "100% of the rise is plan=pro; also country=FR (62%), country=DE (38%)."


def test_a_drop_names_the_values_that_fell() -> None:
    actual = {("country", "DE"): 10.0, ("country", "US"): 95.0}
    earlier = [{("country", "DE"): 90.0, ("country", "US"): 100.0}] * 3
    found = contributions(actual, earlier, total_change=-85.0)
    assert [(item["value"], item["share"]) for item in found] == [("DE", 0.941)]
    assert sentence(found, "down") == "94% of the drop is country=DE."


def test_nothing_is_named_when_no_value_stands_out_or_nothing_changed() -> None:
    even = {("shard", str(index)): 12.0 for index in range(20)}
    before = [{("shard", str(index)): 10.0 for index in range(20)}] * 3
    assert contributions(even, before, total_change=40.0) == []  # each carries 5%
    assert contributions(even, before, total_change=0.0) == []
    assert sentence([], "up") == "No single tag value stands out in the rise."


def test_events_without_tags_are_said_to_have_none_rather_than_no_value_standing_out() -> None:
    # "No single tag value stands out" reads as if the tags had been looked at and found even.
    assert sentence([], "down", tagged=False) == "These events carry no tags to break the drop down by."


def test_a_value_behind_every_event_ranks_after_the_one_that_explains_the_change() -> None:
    actual = {("country", "DE"): 160.0, ("plan", "pro"): 100.0, ("plan", "free"): 60.0}
    earlier = [{("country", "DE"): 80.0, ("plan", "pro"): 20.0, ("plan", "free"): 60.0}] * 3
    found = contributions(actual, earlier, total_change=80.0)
    assert [(item["tag"], item["value"], item["share"]) for item in found] == [
        ("plan", "pro", 1.0), ("country", "DE", 1.0),
    ]  # fmt: skip


def test_a_drop_spread_over_several_values_names_the_largest_shares_first() -> None:
    usual = {"US": 300.0, "DE": 200.0, "FR": 60.0, "GB": 40.0, "ES": 20.0}
    # Every country fell, by different amounts: DE carries 40% of the drop, US 30%, FR 15%, GB 10%, ES 5%.
    fell = {"US": 60.0, "DE": 80.0, "FR": 30.0, "GB": 20.0, "ES": 10.0}
    actual = {("country", name): usual[name] - fell[name] for name in usual}
    earlier = [{("country", name): count for name, count in usual.items()}] * 3
    found = contributions(actual, earlier, total_change=-200.0)
    assert [(item["value"], item["share"]) for item in found] == [("DE", 0.4), ("US", 0.3), ("FR", 0.15)]
    assert sentence(found, "down") == "40% of the drop is country=DE; also country=US (30%), country=FR (15%)."


def test_a_value_new_to_the_change_is_named_out_of_the_ordinary_beyond_the_largest_shares() -> None:
    """The demo's surge: "81% of the rise is plan=free; also channel=web (48%), country=DE (37%)", and not a word
    of the campaign that was new that day (60 of the 218 more signups, none before)."""
    before = {("plan", "free"): 66.0, ("plan", "pro"): 35.0, ("channel", "web"): 50.0, ("channel", "app"): 51.0,
              ("country", "DE"): 40.0, ("country", "US"): 61.0}  # fmt: skip
    after = {("plan", "free"): 243.0, ("plan", "pro"): 76.0, ("channel", "web"): 155.0, ("channel", "app"): 164.0,
             ("country", "DE"): 121.0, ("country", "US"): 198.0, ("campaign", "black-friday"): 60.0}  # fmt: skip
    found = contributions(after, [before], total_change=218.0)
    assert [item["value"] for item in found] == ["free", "US", "app", "black-friday"]
    assert sentence(found, "up") == (
        "81% of the rise is plan=free; also country=US (63%), channel=app (52%); out of the ordinary: "
        "campaign=black-friday (28% of the rise, usually 0% of the events)."
    )


def test_a_value_behind_nearly_every_event_comes_after_one_that_carries_a_little_less() -> None:
    actual = {("country", "DE"): 158.0, ("country", "AT"): 2.0, ("plan", "pro"): 97.0, ("plan", "free"): 63.0}
    earlier = [{("country", "DE"): 78.0, ("country", "AT"): 2.0, ("plan", "pro"): 20.0, ("plan", "free"): 60.0}] * 3
    found = contributions(actual, earlier, total_change=80.0)
    assert [(item["value"], item["share"]) for item in found] == [("pro", 0.963), ("DE", 1.0)]


USUAL = {"US": 30, "DE": 20, "FR": 6, "GB": 4, "ES": 2}  # signups an hour per country
FELL = {"US": 6, "DE": 8, "FR": 3, "GB": 2, "ES": 1}  # DE carries 8 of the 20 missing: 40%


def add_signups(project: Project, hour: datetime, per_country: dict[str, int]) -> None:
    with connection.cursor() as cursor:
        for country, count in per_country.items():
            cursor.execute(
                """INSERT INTO events_event (project_id, time, received_at, name, tags)
                   SELECT %s, %s + n * interval '30 seconds', now(), 'user.signup', jsonb_build_object('country', %s)
                   FROM generate_series(1, %s) AS n""",
                [project.pk, hour, country, count],
            )


def test_an_anomalys_explanation_ranks_a_drop_over_every_country_from_its_rollups(project: Project) -> None:
    hour = datetime(2026, 11, 18, 10, tzinfo=UTC)
    for weeks in (1, 2, 3):
        add_signups(project, hour - timedelta(weeks=weeks), USUAL)
    add_signups(project, hour, {country: USUAL[country] - FELL[country] for country in USUAL})
    RollupWatermark.objects.update_or_create(stream=STREAM, defaults={"watermark": datetime.now(UTC)})
    rebuild_event_rollups(project.pk)
    anomaly = open_anomaly(make_watch(project), hour, kind="drop")
    explanation = explain(anomaly)
    assert [(item["value"], item["share"]) for item in explanation["contributors"]] == [
        ("DE", 0.4), ("US", 0.3), ("FR", 0.15),
    ]  # fmt: skip
    assert explanation["text"].startswith("40% of the ")


def test_the_weeks_before_are_the_same_local_hours_across_a_change_of_clocks() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    after = datetime(2026, 3, 30, 8, tzinfo=UTC)  # 10:00 CEST, the day after clocks went forward
    assert weeks_back(after, 1, berlin) == datetime(2026, 3, 23, 9, tzinfo=UTC)  # 10:00 CET
    assert weeks_back(after, 1, ZoneInfo("UTC")) == after - timedelta(weeks=1)


WEEK = timedelta(weeks=1)


def test_an_hour_after_two_a_week_after_clocks_go_forward_is_set_against_an_hour() -> None:
    # 02:00-03:00 CEST on 5 April; a week before, 02:00 did not exist and 03:00 came at 01:00 UTC.
    berlin, hour = ZoneInfo("Europe/Berlin"), timedelta(hours=1)
    start = datetime(2026, 4, 5, 0, tzinfo=UTC)
    window = earlier_window(start, start, hour, 1, berlin)
    assert window == (datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 3, 29, 2, tzinfo=UTC))  # 03:00-04:00
    ordinary = datetime(2026, 4, 5, 9, tzinfo=UTC)
    assert earlier_window(ordinary, ordinary + hour, hour, 1, berlin) == (ordinary - WEEK, ordinary + 2 * hour - WEEK)


def test_a_drop_of_events_without_tags_says_they_carry_none(project: Project) -> None:
    hour = datetime(2026, 11, 18, 10, tzinfo=UTC)
    with connection.cursor() as cursor:
        for start, count in [(hour - timedelta(weeks=weeks), 30) for weeks in (1, 2, 3)] + [(hour, 3)]:
            cursor.execute(
                """INSERT INTO events_event (project_id, time, received_at, name, tags)
                   SELECT %s, %s + n * interval '30 seconds', now(), 'payment.ok', '{}'::jsonb
                   FROM generate_series(1, %s) AS n""",
                [project.pk, start, count],
            )
    RollupWatermark.objects.update_or_create(stream=STREAM, defaults={"watermark": datetime.now(UTC)})
    rebuild_event_rollups(project.pk)
    anomaly = open_anomaly(make_watch(project, "payment.ok"), hour, kind="drop")
    anomaly.direction = "down"
    assert explain(anomaly) == {"text": "These events carry no tags to break the drop down by.", "contributors": []}


def test_weeks_before_the_series_began_are_not_read_as_weeks_without_events(project: Project) -> None:
    # Eight days of history: the median of (last week, nothing, nothing) was nothing, and the "drop" was
    # explained by what was left of the events (country=US, the largest remaining) instead of what fell.
    hour = datetime(2026, 11, 18, 10, tzinfo=UTC)
    add_signups(project, hour - timedelta(weeks=1), USUAL)
    add_signups(project, hour, {country: USUAL[country] - FELL[country] for country in USUAL})
    RollupWatermark.objects.update_or_create(stream=STREAM, defaults={"watermark": datetime.now(UTC)})
    rebuild_event_rollups(project.pk)
    anomaly = open_anomaly(make_watch(project), hour, kind="drop")
    anomaly.direction = "down"
    explanation = explain(anomaly)
    assert [(item["value"], item["share"]) for item in explanation["contributors"]] == [
        ("DE", 0.4), ("US", 0.3), ("FR", 0.15),
    ]  # fmt: skip


def test_a_series_younger_than_a_week_says_it_has_nothing_to_compare_with(project: Project) -> None:
    hour = datetime(2026, 11, 18, 10, tzinfo=UTC)
    add_signups(project, hour - timedelta(days=2), USUAL)
    add_signups(project, hour, {"DE": 40})
    RollupWatermark.objects.update_or_create(stream=STREAM, defaults={"watermark": datetime.now(UTC)})
    rebuild_event_rollups(project.pk)
    explanation = explain(open_anomaly(make_watch(project), hour))
    assert explanation == {
        "text": "The series is younger than a week: no earlier week to compare its tags with.", "contributors": [],
    }  # fmt: skip


def test_the_shares_of_a_tag_on_every_event_add_up_to_the_whole_change() -> None:
    """Both plans fell to 0. Against each plan's own median (6 and 4) and the median of the totals (12) the
    shares read 50% and 33%; against one usual week they are the whole drop between them."""
    earlier = [{("plan", "free"): 6.0, ("plan", "pro"): 4.0}, {("plan", "free"): 4.0, ("plan", "pro"): 8.0},
               {("plan", "free"): 9.0, ("plan", "pro"): 3.0}]  # fmt: skip
    usual, usual_total = median_window(earlier, [10.0, 12.0, 12.0])
    actual = {("plan", "free"): 0.0, ("plan", "pro"): 0.0}
    found = contributions(actual, [usual], 0.0 - usual_total)
    assert sum(item["share"] for item in found) == pytest.approx(1.0)
    assert median_window(earlier[:2], [10.0, 12.0]) == ({("plan", "free"): 5.0, ("plan", "pro"): 6.0}, 11.0)
