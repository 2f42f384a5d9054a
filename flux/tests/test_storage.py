"""Storage on either layout: detection, partitions, retention, rollup expiry.

Tests marked `native_partitions` check the native layout's own mechanics; the rest run on both layouts
(`make test` runs this module against TimescaleDB as well). TimescaleDB's own: test_timescaledb.py.
"""

import importlib
import importlib.util
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from events.sql import EVENTS_TABLE
from events.tests.factories import insert_event, partition_of_event
from flux.celery import TASK_PACKAGES
from flux.celery import app as celery_app
from flux.query.rollup_job import summarize_received_brin
from flux.storage import (
    create_time_series_table,
    drop_time_series_table,
    maintenance,
    partition_window,
    partitions,
    tasks,
)
from flux.storage.citus import run_on_workers
from flux.storage.detect import POSTGRES, TIMESCALEDB, StorageConfigurationError, choose_backend, table_layout
from flux.storage.partitions import day_start
from flux.storage.tables import TimeSeriesTable
from flux.tenants.models import Project
from flux.tenants.services import create_project
from metrics.tests.factories import count_points, insert_point, make_series

pytestmark = pytest.mark.storage

NOW = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)
SCRATCH = TimeSeriesTable(
    name="flux_scratch_series",
    columns="project_id bigint NOT NULL, time timestamptz NOT NULL, value double precision",
    indexes=(("project_time", "(project_id, time DESC)"), ("time_brin", "USING brin (time)")),
)


def event_exists(event_id: int) -> bool:
    return partition_of_event(event_id) != ""


def test_raw_tables_use_the_layout_the_database_was_migrated_for(db: None, settings: object) -> None:
    expected = TIMESCALEDB if settings.FLUX_STORAGE == TIMESCALEDB else POSTGRES
    with connection.cursor() as cursor:
        assert table_layout(cursor, EVENTS_TABLE.name) == expected
        assert table_layout(cursor, "metrics_point") == expected
        assert table_layout(cursor, "no_such_table") is None


@pytest.mark.native_partitions
def test_auto_detection_chooses_postgres_when_extension_is_missing(db: None) -> None:
    with connection.cursor() as cursor:
        assert choose_backend(cursor) == POSTGRES


@pytest.mark.native_partitions
def test_forcing_timescaledb_without_the_extension_fails_with_a_clear_message(db: None, settings: object) -> None:
    settings.FLUX_STORAGE = "timescaledb"
    with connection.cursor() as cursor, pytest.raises(StorageConfigurationError, match="FLUX_STORAGE=timescaledb"):
        choose_backend(cursor)


@pytest.mark.native_partitions
def test_creating_a_table_makes_partitions_for_the_current_window(db: None) -> None:
    before = datetime.now(UTC).date()
    with connection.cursor() as cursor:
        assert create_time_series_table(cursor, SCRATCH) == POSTGRES
        days = partitions.list_partition_days(cursor, SCRATCH)
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", [f"{SCRATCH.name}_default"])
        default_indexes = [definition for (definition,) in cursor.fetchall()]
        drop_time_series_table(cursor, SCRATCH)
    # the day the table was made on: the one before it or after it, should a midnight pass meanwhile
    today = before if days == partition_window(before) else datetime.now(UTC).date()
    assert days == partition_window(today)
    assert days[0] == today - timedelta(days=1)
    assert any("brin" in definition for definition in default_indexes)


@pytest.mark.native_partitions
def test_ensure_partitions_creates_the_coming_days(db: None, settings: object) -> None:
    settings.FLUX_PARTITION_DAYS_AHEAD = 5
    maintenance.ensure_all_partitions(NOW)
    with connection.cursor() as cursor:
        days = set(partitions.list_partition_days(cursor, EVENTS_TABLE))
    assert {NOW.date() + timedelta(days=offset) for offset in range(-1, 6)} <= days


@pytest.mark.native_partitions
def test_ensure_partitions_can_prepare_past_days_for_a_bulk_load(project: Project) -> None:
    maintenance.ensure_all_partitions(NOW, days_back=12)
    event_id = insert_event(project, NOW - timedelta(days=11, hours=2))
    assert partition_of_event(event_id) == f"events_rawevent_p{NOW - timedelta(days=11, hours=2):%Y%m%d}"


@pytest.mark.native_partitions
def test_an_insert_for_a_day_without_partition_never_fails(project: Project) -> None:
    far_future = NOW + timedelta(days=400)
    event_id = insert_event(project, far_future)
    assert partition_of_event(event_id) == "events_rawevent_default"


@pytest.mark.native_partitions
def test_ensure_partitions_moves_waiting_rows_into_their_new_partition(project: Project) -> None:
    late = NOW - timedelta(days=9, hours=3)
    event_id = insert_event(project, late, user_id="u1")
    maintenance.ensure_all_partitions(NOW)
    assert partition_of_event(event_id) == f"events_rawevent_p{late:%Y%m%d}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM events_rawevent_default")
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT user_id, time FROM events_event WHERE id = %s", [event_id])
        assert cursor.fetchone() == ("u1", late)


@pytest.mark.native_partitions
def test_days_older_than_the_longest_retention_get_no_partition(project: Project) -> None:
    ancient = NOW - timedelta(days=project.retention_days + 5)
    event_id = insert_event(project, ancient)
    maintenance.ensure_all_partitions(NOW)
    assert partition_of_event(event_id) == "events_rawevent_default"


def test_retention_drops_partitions_past_the_longest_retention(project: Project) -> None:
    old_day = (NOW - timedelta(days=project.retention_days - 1)).date()
    old = insert_event(project, day_start(old_day) + timedelta(hours=10))
    maintenance.ensure_all_partitions(NOW)
    expired = insert_event(project, NOW - timedelta(days=project.retention_days + 2))
    kept = insert_event(project, NOW - timedelta(hours=1))

    report = maintenance.apply_retention(NOW + timedelta(days=3))

    assert not event_exists(old) and not event_exists(expired)
    assert event_exists(kept)
    # The same report on both layouts: the [start, end) time range of each dropped partition or chunk.
    assert (day_start(old_day), day_start(old_day + timedelta(days=1))) in report.dropped["events_rawevent"]
    assert report.failures == {}


def test_retention_trims_projects_that_keep_data_less_long(project: Project) -> None:
    brief = create_project("Brief", retention_days=7)
    long_lived_event = insert_event(project, NOW - timedelta(days=10))
    brief_event = insert_event(brief, NOW - timedelta(days=10))
    brief_recent_event = insert_event(brief, NOW - timedelta(days=6))
    long_lived_series, brief_series = make_series(project), make_series(brief)
    insert_point(long_lived_series, NOW - timedelta(days=10))
    insert_point(brief_series, NOW - timedelta(days=10))

    report = maintenance.apply_retention(NOW)

    assert event_exists(long_lived_event) and event_exists(brief_recent_event)
    assert not event_exists(brief_event)
    assert (count_points(long_lived_series), count_points(brief_series)) == (1, 0)
    assert report.trimmed_rows == {"events_rawevent": 1, "metrics_point": 1}


def test_trimming_deletes_a_day_per_statement(project: Project) -> None:
    for hours in range(0, 72, 7):
        insert_event(project, NOW - timedelta(days=3, hours=hours))
    keep = insert_event(project, NOW - timedelta(hours=12))
    with CaptureQueriesContext(connection) as queries, connection.cursor() as cursor:
        deleted = maintenance.trim_project(cursor, EVENTS_TABLE, project.pk, NOW - timedelta(days=1))
    deletes = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("DELETE")]
    assert deleted == 11
    assert event_exists(keep)
    assert len(deletes) == 4  # the rows span four UTC days (and stop at the cutoff)
    assert all("ctid" not in delete for delete in deletes)  # TimescaleDB's compressed chunks have none


def test_one_failing_project_does_not_stop_the_retention_run(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    failing, brief = create_project("Failing", retention_days=7), create_project("Brief", retention_days=7)
    failing_event = insert_event(failing, NOW - timedelta(days=10))
    brief_event = insert_event(brief, NOW - timedelta(days=10))
    real_trim = maintenance.trim_project

    def trim_failing_on_the_database(cursor: object, table: object, project_id: int, cutoff: datetime) -> int:
        if project_id == failing.pk:
            with transaction.atomic():
                cursor.execute("SELECT 1 / 0")  # a real error from the server, as a broken trim would get
        return real_trim(cursor, table, project_id, cutoff)

    monkeypatch.setattr(maintenance, "trim_project", trim_failing_on_the_database)
    monkeypatch.setattr(tasks.timezone, "now", lambda: NOW)
    with pytest.raises(maintenance.RetentionIncompleteError, match=f"events_rawevent project {failing.pk}"):
        tasks.apply_retention()  # the beat task: the run goes on, then the task fails, naming what failed

    assert event_exists(failing_event) and not event_exists(brief_event)
    report = maintenance.apply_retention(NOW)
    assert set(report.failures) == {f"events_rawevent project {failing.pk}", f"metrics_point project {failing.pk}"}
    assert "division by zero" in report.failures[f"events_rawevent project {failing.pk}"]


def test_purging_a_project_removes_its_raw_rows_and_rollups(project: Project, other_project: Project) -> None:
    from events.models import EventRollup
    from events.rollups import roll_up_events

    for days_ago in (1, 20, 200):
        insert_event(project, NOW - timedelta(days=days_ago), "order", received_at=NOW)
    insert_point(make_series(project), NOW - timedelta(days=3))
    other = insert_event(other_project, NOW - timedelta(days=1), "order", received_at=NOW)
    roll_up_events(NOW + timedelta(minutes=1))

    deleted = maintenance.purge_project(project.pk)

    assert (deleted["events_rawevent"], deleted["metrics_point"], deleted["events_eventrollup"]) == (3, 1, 9)
    assert not EventRollup.objects.filter(project=project).exists()
    assert event_exists(other)


# On Citus, the same on the workers' shards of the partitions (flux.storage.citus).
WORKER_DESUMMARIZE = """
    SELECT coalesce(sum(parts.blocks / 32 + 0 * (
        SELECT count(*) FROM (SELECT brin_desummarize_range(parts.ix, b) FROM generate_series(0, parts.blocks, 32) b) d
    )), 0) FROM (
        SELECT i.oid AS ix, pg_relation_size(t.oid) / 8192 AS blocks FROM pg_index x
        JOIN pg_class t ON t.oid = x.indrelid
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_am am ON am.oid = i.relam AND am.amname = 'brin'
        JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0]
        WHERE a.attname = 'received_at' AND t.relispartition AND t.relname LIKE 'events\\_event\\_%'
    ) parts
"""


def desummarize_received_brins() -> int:
    """Forget every BRIN summary of `received_at` on the raw events' partitions or chunks (found by their
    definition in any schema), so that autovacuum's timing cannot matter; returns the full ranges."""
    if django_settings.FLUX_STORAGE == "citus":
        with connection.cursor() as cursor:
            return sum(int(ranges) for ranges in run_on_workers(cursor, WORKER_DESUMMARIZE))
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT format('%I.%I', schemaname, indexname), pg_relation_size(format('%I.%I', schemaname, tablename))
            FROM pg_indexes WHERE indexdef LIKE '%USING brin (received_at)%' AND tablename <> 'events_rawevent'
              AND (tablename LIKE 'events\\_rawevent\\_%' OR schemaname = '_timescaledb_internal')
            """
        )
        full_ranges = 0
        for index, table_bytes in cursor.fetchall():
            blocks = table_bytes // 8192
            for block in range(0, blocks, 32):
                cursor.execute("SELECT brin_desummarize_range(%s::regclass, %s)", [index, block])
            full_ranges += blocks // 32
    return full_ranges


def test_summarizing_the_received_at_brin_reaches_every_partition_or_chunk(project: Project) -> None:
    with connection.cursor() as cursor:
        for days_ago in (1, 2):  # enough rows to fill a BRIN range (32 pages) in each day's partition or chunk
            cursor.execute(
                """
                INSERT INTO events_event (project_id, time, received_at, name)
                SELECT %s, %s + make_interval(secs => n), %s, 'page.view' FROM generate_series(1, 6000) n
                """,
                [project.pk, NOW - timedelta(days=days_ago), NOW],
            )
    full_ranges = desummarize_received_brins()
    with connection.cursor() as cursor:
        first, again = (
            summarize_received_brin(cursor, EVENTS_TABLE.name),
            summarize_received_brin(cursor, EVENTS_TABLE.name),
        )
    assert first >= max(full_ranges, 2)  # the range being filled may be summarized too
    assert again == 0


def test_rollups_expire_level_by_level(project: Project, settings: object) -> None:
    from events.models import EventRollup
    from events.rollups import roll_up_events

    settings.FLUX_ROLLUP_RETENTION_DAYS = {"minute": 0, "hour": 60, "day": 0}
    for days_ago in (5, 45, 90):
        insert_event(project, NOW - timedelta(days=days_ago), "order", received_at=NOW)  # not the real now
    roll_up_events(NOW + timedelta(minutes=1))

    report = maintenance.apply_retention(NOW)

    def kept(level: str) -> list[int]:
        buckets = EventRollup.objects.filter(project=project, level=level).values_list("bucket", flat=True)
        return sorted((NOW - bucket).days for bucket in buckets)

    # Minutes live as long as raw data (the project's 30 days), hours 60 days, days forever.
    assert (kept("minute"), kept("hour"), kept("day")) == ([5], [5, 45], [5, 45, 90])
    assert report.expired_rollups == {"minute": 2, "hour": 1}


@pytest.mark.native_partitions
def test_compression_has_nothing_to_do_on_native_partitions(db: None) -> None:
    assert maintenance.compress_chunks(NOW) == {}


def test_every_beat_entry_names_a_registered_task() -> None:
    from django.conf import settings

    # What a worker's autodiscovery imports, done here directly: celery's own autodiscovery silently does
    # nothing while another thread is in it, and then only what earlier tests imported is registered.
    for package in TASK_PACKAGES:
        if importlib.util.find_spec(f"{package}.tasks") is not None:  # a package need not have tasks
            importlib.import_module(f"{package}.tasks")
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in celery_app.tasks
        assert entry["options"]["expires"] > 0
