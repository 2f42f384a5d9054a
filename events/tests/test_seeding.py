import random
from datetime import UTC, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from events import queries
from events.rollups import roll_up_events
from events.seeding import MEAN_WEIGHT, hour_weight, recent_rates, seed
from flux.ingestion import outcomes
from flux.query.event_filter import EventFilter
from flux.query.timerange import TimeRange
from flux.tenants.models import Project
from flux.web.redis_store import redis_client
from metrics.models import Metric

END = datetime(2026, 11, 23, 12, tzinfo=UTC)


def scalar(sql: str, params: list) -> object:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def test_seeding_writes_the_requested_rows_in_the_window(project: Project) -> None:
    report = seed(project, events=600, points=400, days=3, end=END)
    assert (report.events, report.points) == (600, 400)
    first, last = scalar(
        "SELECT min(time) || '|' || max(time) FROM events_event WHERE project_id = %s", [project.pk]
    ).split("|")
    assert datetime.fromisoformat(first) >= END - timedelta(days=3, hours=1)
    assert datetime.fromisoformat(last) < END
    assert set(Metric.objects.filter(project=project).values_list("type", flat=True)) == {
        "gauge", "counter", "distribution", "set",
    }  # fmt: skip
    names = scalar("SELECT count(DISTINCT name) FROM events_event WHERE project_id = %s", [project.pk])
    assert names == 5


def test_traffic_follows_the_daily_profile(project: Project) -> None:
    seed(project, events=3000, points=0, days=7, end=END)
    night = scalar(
        "SELECT count(*) FROM events_event WHERE project_id = %s AND extract(hour FROM time AT TIME ZONE 'UTC') < 5",
        [project.pk],
    )
    evening = scalar(
        "SELECT count(*) FROM events_event"
        " WHERE project_id = %s AND extract(hour FROM time AT TIME ZONE 'UTC') BETWEEN 17 AND 21",
        [project.pk],
    )
    assert evening > 5 * night


def test_seed_demo_command_seeds_and_rolls_up(project: Project) -> None:
    redis_client().delete(outcomes.last_received_key(project.pk))  # ids restart with a new test database
    out = StringIO()
    call_command(
        "seed_demo", "--project", project.slug, "--events", "300", "--points", "100", "--days", "2", "--no-incident",
        stdout=out,
    )  # fmt: skip
    assert "Seeded 300 events and 100 points" in out.getvalue()
    assert outcomes.health(project.pk).last_received_at is not None  # not "Last data received: never"
    whole = TimeRange(datetime.now(UTC) - timedelta(days=3), datetime.now(UTC), ZoneInfo("UTC"))
    assert queries.count_events(project, whole, EventFilter()) == 300
    # In a test the whole run is one transaction, so its rows look received "just now": rebuild later.
    roll_up_events(datetime.now(UTC) + timedelta(minutes=1))
    assert (
        scalar("SELECT sum(count) FROM events_eventrollup WHERE project_id = %s AND level = 'day'", [project.pk]) == 300
    )


def test_seed_demo_refuses_unknown_projects_and_days_beyond_retention(project: Project) -> None:
    with pytest.raises(CommandError, match="no project"):
        call_command("seed_demo", "--project", "nope", stdout=StringIO())
    with pytest.raises(CommandError, match="retention"):
        call_command("seed_demo", "--project", project.slug, "--days", "9999", stdout=StringIO())


def test_the_demo_ends_with_a_campaign_surge_for_the_detector_to_find(project: Project) -> None:
    def last_hour() -> datetime:
        return datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)

    out, first = StringIO(), last_hour()
    call_command("seed_demo", "--project", project.slug, "--events", "300", "--points", "10", "--days", "2", stdout=out)
    assert "signup surge" in out.getvalue()
    surge = scalar(  # the hour before the command began, whichever side of an hour it ended
        """SELECT count(*) FROM events_event WHERE project_id = %s AND name = 'user.signup'
           AND tags ->> 'campaign' = 'black-friday' AND time >= %s AND time < %s""",
        [project.pk, first, last_hour() + timedelta(hours=1)],
    )
    assert surge >= 60


def test_live_traffic_goes_on_from_where_the_seed_ended_at_its_rate(project: Project) -> None:
    """`seed_demo --live`: without it the seeded series stop, and the detector sees every one of them stop."""
    from flux.ingestion.management.commands.seed_demo import stream_live

    seed(project, events=300, points=100, days=1, end=END)
    ticks = [END + timedelta(minutes=minutes) for minutes in range(10, 6 * 60 + 1, 10)]
    sent = stream_live(project, random.Random(3), END, ticks, events_per_day=24_000, points_per_day=2_400)  # noqa: S311
    after = scalar("SELECT count(*) FROM events_event WHERE project_id = %s AND time >= %s", [project.pk, END])
    points = scalar("SELECT count(*) FROM metrics_point WHERE project_id = %s AND time >= %s", [project.pk, END])
    assert sent == after + points and max(ticks) > END
    expected = 24_000 / 4 * sum(hour_weight(END + timedelta(hours=h)) for h in range(6)) / 6 / MEAN_WEIGHT
    assert 0.8 * expected < after < 1.2 * expected  # six hours of the profile at 24,000 a day
    last = scalar("SELECT max(time) FROM events_event WHERE project_id = %s", [project.pk])
    assert last < max(ticks) and last > max(ticks) - timedelta(minutes=10)


def test_a_live_demo_on_a_seeded_project_goes_on_at_the_seeded_rate(project: Project, other_project: Project) -> None:
    """Run after the README's first command, `seed_demo --live` seeded the month again and then streamed at
    its own defaults, a third of the rate seeded: the detector opened drops on the demo's own series."""
    from metrics.rollups import roll_up_metrics

    now = datetime.now(UTC)
    seed(project, events=2_000, points=400, days=2, end=now)
    roll_up_events(now + timedelta(minutes=1))
    roll_up_metrics(now + timedelta(minutes=1))
    events_per_day, points_per_day = recent_rates(project, now)
    assert 900 < events_per_day < 1_100 and 180 < points_per_day < 220
    assert recent_rates(other_project, now) is None  # nothing seeded: the command seeds first
