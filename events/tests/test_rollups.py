"""Rollups give exactly the raw answer: after each run, with late data, for any range and interval."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events import queries
from events.models import EventRollup, RollupWatermark
from events.rollups import rebuild_event_rollups, roll_up_events
from events.tests.factories import insert_event
from flux.query.event_filter import EventFilter
from flux.query.rollup_job import SAFETY_LAG
from flux.query.timerange import MAX_POINTS, TimeRange, approximate_seconds, bucket_starts
from flux.tenants.models import Project
from flux.tenants.services import create_project

pytestmark = pytest.mark.storage  # `make test` runs these on TimescaleDB too

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
RECEIVED = T0 + timedelta(days=2)  # when the "on time" rows arrived
ROLLUP_AT = RECEIVED + timedelta(minutes=10)
LATE = ROLLUP_AT + timedelta(minutes=1)  # arrives after the rollup ran


def rollup_rows(project: Project) -> list[tuple]:
    return sorted(
        EventRollup.objects.filter(project=project).values_list(
            "level", "name", "bucket", "count", "value_count", "value_sum", "value_min", "value_max"
        )
    )


def test_a_run_aggregates_minutes_hours_and_days(project: Project) -> None:
    for minutes, value in ((0, 10.0), (0.5, None), (1, 30.0), (61, 5.0)):
        insert_event(project, T0 + timedelta(minutes=minutes), "order", value=value, received_at=RECEIVED)
    RollupWatermark.objects.all().delete()
    run = roll_up_events(ROLLUP_AT)
    assert run.watermark == ROLLUP_AT - SAFETY_LAG
    rows = rollup_rows(project)
    assert ("minute", "order", T0, 2, 1, 10.0, 10.0, 10.0) in rows
    assert ("hour", "order", T0, 3, 2, 40.0, 10.0, 30.0) in rows
    assert ("day", "order", T0.replace(hour=0), 4, 3, 45.0, 5.0, 30.0) in rows
    assert len(rows) == 3 + 2 + 1


def test_running_again_changes_nothing(project: Project) -> None:
    insert_event(project, T0, "order", received_at=RECEIVED)
    RollupWatermark.objects.all().delete()
    roll_up_events(ROLLUP_AT)
    before = rollup_rows(project)
    roll_up_events(ROLLUP_AT)
    roll_up_events(ROLLUP_AT + timedelta(minutes=1))
    assert rollup_rows(project) == before


def test_late_data_is_counted_before_and_after_its_bucket_is_rolled_again(project: Project) -> None:
    insert_event(project, T0, "order", received_at=RECEIVED)
    RollupWatermark.objects.all().delete()
    roll_up_events(ROLLUP_AT)
    insert_event(project, T0 + timedelta(seconds=5), "order", received_at=LATE)  # old time, arrives late
    whole_day = TimeRange(T0 - timedelta(hours=12), T0 + timedelta(hours=12), ZoneInfo("UTC"))
    assert queries.count_events(project, whole_day, EventFilter(name="order")) == 2
    roll_up_events(LATE + timedelta(minutes=1))
    assert ("day", "order", T0.replace(hour=0), 2, 0, None, None, None) in rollup_rows(project)
    assert queries.count_events(project, whole_day, EventFilter(name="order")) == 2


def raw_group_counts(project: Project, time_range: TimeRange) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, count(*) FROM events_event WHERE project_id = %s AND time >= %s AND time < %s GROUP BY 1",
            [project.pk, time_range.start, time_range.end],
        )
        return dict(cursor.fetchall())


offsets = st.integers(min_value=-2 * 86400 * 1000, max_value=86400 * 1000)
# Range lengths: any, and often whole-hour or longer ones so that hour and day rollups take part.
lengths = st.integers(0, 3 * 86400 * 1000) | st.integers(1, 72).map(lambda hours: hours * 3600 * 1000 + 1)
events = st.lists(
    st.tuples(
        offsets, st.sampled_from(["signup", "login", "order"]), st.booleans(),
        st.none() | st.integers(1, 10_000), st.none() | st.sampled_from(["u1", "u2", "u3", "u4", "u5"]),
        st.none() | st.sampled_from(["free", "pro", "team"]),
    ),
    min_size=1, max_size=40,
)  # fmt: skip


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=events,
    range_ms=st.tuples(offsets, lengths),
    interval=st.sampled_from(["1m", "5m", "1h", "3h", "1d"]),
    zone=st.sampled_from(["UTC", "Europe/Berlin", "Asia/Kolkata", "America/New_York"]),
    name=st.sampled_from([None, "signup", "log*"]),
)
def test_rollup_answers_equal_raw_answers(rows: list, range_ms: tuple, interval: str, zone: str, name: str) -> None:
    project = create_project("Property", retention_days=3650)
    for offset, event_name, late, value, user_id, plan in rows:
        # Values in hundredths, so that sums are exact in any order.
        insert_event(project, T0 + timedelta(milliseconds=offset), event_name, received_at=LATE if late else RECEIVED,
                     value=None if value is None else value / 100, user_id=user_id,
                     tags={"plan": plan} if plan else {})  # fmt: skip
    RollupWatermark.objects.all().delete()
    roll_up_events(ROLLUP_AT)
    start = T0 + timedelta(milliseconds=range_ms[0])
    end = start + timedelta(milliseconds=range_ms[1])
    if start == end:
        end += timedelta(milliseconds=1)
    time_range, event_filter = TimeRange(start, end, ZoneInfo(zone)), EventFilter(name=name)

    assert queries.count_events(project, time_range, event_filter) == queries.count_events_raw(
        project, time_range, event_filter
    )
    if time_range.duration.total_seconds() / approximate_seconds(interval) <= MAX_POINTS:
        raw = queries.count_by_bucket_raw(project, time_range, event_filter, interval)
        expected = [(bucket, raw.get(bucket, 0)) for bucket in bucket_starts(time_range, interval)]
        assert queries.count_series(project, time_range, event_filter, interval) == expected
    groups = queries.count_groups(project, time_range, EventFilter(), "name", limit=10)
    assert {group.key: group.count for group in groups} == raw_group_counts(project, time_range)
    grouped_interval = interval if time_range.duration.total_seconds() / approximate_seconds(interval) <= 300 else None
    assert queries.count_groups(
        project, time_range, event_filter, "tags.plan", limit=2, interval=grouped_interval
    ) == queries.count_groups_raw(project, time_range, event_filter, "tags.plan", limit=2, interval=grouped_interval)
    assert queries.unique_count(project, time_range, event_filter, "user_id") == queries.unique_count_raw(
        project, time_range, event_filter, "user_id"
    )
    # The raw path is the same function with a filter the rollups cannot answer (and that matches all).
    everything = EventFilter(name=name, value_min=-1.0)
    rolled, raw = (queries.value_stats(project, time_range, chosen) for chosen in (event_filter, everything))
    for field, value in rolled.items():
        tolerance = 0.01 if field[1:].isdigit() else 1e-9  # percentiles come from a sketch
        assert value == (None if raw[field] is None else pytest.approx(raw[field], rel=tolerance))


def test_many_users_become_a_hyperloglog_and_are_counted_within_two_percent(project: Project) -> None:
    from flux.query.sketches import EXACT_LIMIT

    users = EXACT_LIMIT * 3
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO events_event (project_id, time, name, user_id, received_at)
               SELECT %s, %s + i * interval '1 second', 'login', 'user-' || i, %s FROM generate_series(1, %s) i""",
            [project.pk, T0, RECEIVED, users],
        )
    RollupWatermark.objects.all().delete()
    roll_up_events(ROLLUP_AT)
    day = EventRollup.objects.get(project=project, level="day", name="login")
    assert day.user_hashes is None and day.user_registers is not None
    whole_day = TimeRange(T0.replace(hour=0), T0.replace(hour=0) + timedelta(days=1), ZoneInfo("UTC"))
    assert queries.unique_count(project, whole_day, EventFilter(name="login"), "user_id") == pytest.approx(
        users, rel=0.02
    )


def test_counts_served_from_rollups_are_whole_numbers_in_json(api: type, keys: dict, project: Project) -> None:
    insert_event(project, T0, "order", received_at=RECEIVED)
    RollupWatermark.objects.all().delete()
    roll_up_events(ROLLUP_AT)
    body = (
        api(keys["read"])
        .get("/api/v1/events/count", {"from": "2026-11-19", "to": "2026-11-22", "group_by": "name", "interval": "1d"})
        .content.decode()
    )
    assert '"count":1,' in body and '"count":1.0' not in body
    assert '["2026-11-20T00:00:00Z",1]' in body


def test_rows_of_a_deleted_project_awaiting_purge_are_skipped(project: Project) -> None:
    doomed = create_project("Doomed")
    insert_event(doomed, T0, "order", received_at=RECEIVED)
    insert_event(project, T0, "order", received_at=RECEIVED)
    doomed.delete()  # raw rows stay until the purge task runs
    RollupWatermark.objects.all().delete()
    roll_up_events(ROLLUP_AT)
    assert ("day", "order", T0.replace(hour=0), 1, 0, None, None, None) in rollup_rows(project)


def test_a_rebuild_takes_a_projects_rows_however_long_ago_they_were_received(project: Project) -> None:
    RollupWatermark.objects.all().delete()
    roll_up_events(ROLLUP_AT)
    insert_event(project, T0, "order", received_at=RECEIVED - timedelta(hours=1))  # loaded with an old stamp
    roll_up_events(ROLLUP_AT + timedelta(minutes=1))
    assert rollup_rows(project) == []  # received before the watermark: the regular run does not read it
    rebuild_event_rollups(project.pk)
    assert ("day", "order", T0.replace(hour=0), 1, 0, None, None, None) in rollup_rows(project)
