"""Incremental event rollups equal a full recompute: whatever the runs' watermarks, late data, projects."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events import queries
from events.models import EventRollup, EventTagRollup, RollupWatermark
from events.rollups import rebuild_event_rollups, roll_up_events
from events.tests.factories import insert_event
from flux.ingestion.services import ingest
from flux.query.event_filter import EventFilter
from flux.query.rollup_job import SAFETY_LAG
from flux.query.sketches import EXACT_LIMIT
from flux.query.timerange import TimeRange, bucket_starts
from flux.tenants.models import Project
from flux.tenants.services import create_project

pytestmark = pytest.mark.storage

# Europe's clocks go forward at 01:00 UTC that day: local days of 23 hours around it.
DST_CHANGE = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
RECEIVED = DST_CHANGE + timedelta(days=3)
BERLIN = ZoneInfo("Europe/Berlin")


def rollups(project: Project) -> list[tuple]:
    rows = EventRollup.objects.filter(project=project).values_list(
        "level", "name", "bucket", "count", "value_count", "value_sum", "value_min", "value_max",
        "value_keys", "value_counts", "user_hashes", "user_registers",
    )  # fmt: skip
    tags = EventTagRollup.objects.filter(project=project).values_list(
        "level", "name", "tag_key", "tag_value", "bucket", "count"
    )
    return sorted(tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in rows) + sorted(tags)


def recomputed(project: Project) -> list[tuple]:
    rebuild_event_rollups(project.pk)
    return rollups(project)


def raw_totals(project: Project, level: str) -> list[tuple]:
    """What the rollups' totals must say, straight from the raw rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT %s, name, date_trunc(%s, time, 'UTC'), count(*), count(value), sum(value), min(value),
                      max(value), count(DISTINCT user_id)
               FROM events_event WHERE project_id = %s GROUP BY 2, 3 ORDER BY 2, 3""",
            [level, level, project.pk],
        )
        return cursor.fetchall()


def rolled_totals(project: Project, level: str) -> list[tuple]:
    rows = EventRollup.objects.filter(project=project, level=level).order_by("name", "bucket")
    return [
        (level, r.name, r.bucket, r.count, r.value_count, r.value_sum, r.value_min, r.value_max,
         len(r.user_hashes or ()))
        for r in rows
    ]  # fmt: skip


events = st.lists(
    st.tuples(
        st.integers(0, 2),  # project
        st.integers(-26 * 3600, 26 * 3600),  # seconds from the DST change
        st.integers(0, 40),  # minute of arrival: any order against the event's time (late data)
        st.sampled_from(["signup", "order"]),
        st.none() | st.integers(-50, 1000),  # whole values: sums are exact in any order
        st.none() | st.sampled_from(["u1", "u2", "u3"]),
        st.sampled_from([{}, {"plan": "pro"}, {"plan": "free", "region": "eu"}]),
    ),
    min_size=1, max_size=40,
)  # fmt: skip


@pytest.mark.django_db
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=events, cuts=st.lists(st.integers(0, 41), max_size=6))
def test_runs_split_at_any_watermarks_equal_a_full_recompute(rows: list, cuts: list[int]) -> None:
    projects = [create_project(f"Shop {index}", retention_days=3650) for index in range(3)]
    for project_index, seconds, arrival, name, value, user_id, tags in rows:
        insert_event(projects[project_index], DST_CHANGE + timedelta(seconds=seconds), name, value=value,
                     user_id=user_id, tags=tags, received_at=RECEIVED + timedelta(minutes=arrival))  # fmt: skip
    RollupWatermark.objects.all().delete()
    for cut in sorted(cuts):
        roll_up_events(RECEIVED + timedelta(minutes=cut) + SAFETY_LAG)
    roll_up_events(RECEIVED + timedelta(minutes=41) + SAFETY_LAG)

    incremental = [rollups(project) for project in projects]
    assert incremental == [recomputed(project) for project in projects]
    for project in projects:
        for level in ("minute", "hour", "day"):
            assert rolled_totals(project, level) == raw_totals(project, level)


def test_a_rerun_at_the_same_target_merges_nothing_twice(project: Project) -> None:
    insert_event(project, DST_CHANGE, "order", value=3, user_id="u1", received_at=RECEIVED)
    RollupWatermark.objects.all().delete()
    roll_up_events(RECEIVED + timedelta(minutes=1))
    before = rollups(project)
    roll_up_events(RECEIVED + timedelta(minutes=1))
    roll_up_events(RECEIVED + timedelta(seconds=30))  # a target behind the watermark
    assert rollups(project) == before


def test_a_late_event_merges_into_every_level_of_its_old_buckets(project: Project) -> None:
    insert_event(project, DST_CHANGE, "order", value=3, user_id="u1", tags={"plan": "pro"}, received_at=RECEIVED)
    RollupWatermark.objects.all().delete()
    roll_up_events(RECEIVED + timedelta(minutes=1))
    late = RECEIVED + timedelta(minutes=5)
    insert_event(project, DST_CHANGE + timedelta(seconds=10), "order", value=-1, user_id="u2", tags={"plan": "pro"},
                 received_at=late)  # fmt: skip
    roll_up_events(late + timedelta(minutes=1))
    for level in ("minute", "hour", "day"):
        row = EventRollup.objects.get(project=project, level=level, name="order")
        assert (row.count, row.value_sum, row.value_min, row.value_max, len(row.user_hashes)) == (2, 2, -1, 3, 2)
    tag_counts = set(EventTagRollup.objects.filter(project=project).values_list("level", "count"))
    assert tag_counts == {("hour", 2), ("day", 2)}


def test_many_users_merged_over_runs_equal_the_users_rolled_up_at_once(project: Project) -> None:
    for run in range(3):
        with connection.cursor() as cursor:
            cursor.execute(
                """INSERT INTO events_event (project_id, time, name, user_id, received_at)
                   SELECT %s, %s, 'login', 'user-' || i, %s FROM generate_series(%s, %s) i""",
                [project.pk, DST_CHANGE, RECEIVED + timedelta(minutes=run), run * EXACT_LIMIT // 2,
                 run * EXACT_LIMIT // 2 + EXACT_LIMIT // 2 + 10],
            )  # fmt: skip
        roll_up_events(RECEIVED + timedelta(minutes=run) + SAFETY_LAG)
    incremental = rollups(project)
    assert incremental == recomputed(project)
    assert all(row[11] is not None and row[10] is None for row in incremental if len(row) == 12)


def test_a_replayed_batch_is_counted_once(project: Project) -> None:
    moment = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    batch = [{"name": "order", "timestamp": moment, "id": f"order-{i}", "value": i} for i in range(5)]
    RollupWatermark.objects.all().delete()
    ingest(project, batch, [])
    replay = ingest(project, [*batch, {**batch[0], "id": "order-new"}], [])
    assert (replay.accepted, replay.duplicates) == (1, 5)
    roll_up_events(datetime.now(UTC) + timedelta(minutes=1))
    day = EventRollup.objects.get(project=project, level="day", name="order")
    assert (day.count, day.value_sum) == (6, 10)


def test_local_days_across_the_clock_change_count_as_raw_rows_do(project: Project) -> None:
    for hours in range(-30, 30, 3):
        insert_event(project, DST_CHANGE + timedelta(hours=hours), "order", received_at=RECEIVED)
    RollupWatermark.objects.all().delete()
    roll_up_events(RECEIVED + timedelta(minutes=1))
    days = TimeRange(datetime(2026, 3, 28, tzinfo=BERLIN), datetime(2026, 3, 31, tzinfo=BERLIN), BERLIN)
    raw = queries.count_by_bucket_raw(project, days, EventFilter(), "1d")
    expected = [(bucket, raw.get(bucket, 0)) for bucket in bucket_starts(days, "1d")]
    assert queries.count_series(project, days, EventFilter(), "1d") == expected
