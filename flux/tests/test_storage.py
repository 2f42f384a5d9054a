"""Storage on plain PostgreSQL (these machines have no TimescaleDB): detection, partitions, retention."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from events.sql import EVENTS_TABLE
from events.tests.factories import insert_event, partition_of_event
from flux.celery import app as celery_app
from flux.storage import create_time_series_table, drop_time_series_table, maintenance, partition_window, partitions
from flux.storage.detect import POSTGRES, StorageConfigurationError, choose_backend, table_layout
from flux.storage.tables import TimeSeriesTable
from flux.tenants.models import Project
from flux.tenants.services import create_project
from metrics.tests.factories import count_points, insert_point, make_series

NOW = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)
SCRATCH = TimeSeriesTable(
    name="flux_scratch_series",
    columns="project_id bigint NOT NULL, time timestamptz NOT NULL, value double precision",
    indexes=(("project_time", "(project_id, time DESC)"), ("time_brin", "USING brin (time)")),
)


def event_exists(event_id: int) -> bool:
    return partition_of_event(event_id) != ""


def test_raw_tables_use_native_partitions_without_timescaledb(db: None) -> None:
    with connection.cursor() as cursor:
        assert table_layout(cursor, "events_event") == POSTGRES
        assert table_layout(cursor, "metrics_point") == POSTGRES
        assert table_layout(cursor, "no_such_table") is None


def test_auto_detection_chooses_postgres_when_extension_is_missing(db: None) -> None:
    with connection.cursor() as cursor:
        assert choose_backend(cursor) == POSTGRES


def test_forcing_timescaledb_without_the_extension_fails_with_a_clear_message(db: None, settings: object) -> None:
    settings.FLUX_STORAGE = "timescaledb"
    with connection.cursor() as cursor, pytest.raises(StorageConfigurationError, match="FLUX_STORAGE=timescaledb"):
        choose_backend(cursor)


def test_creating_a_table_makes_partitions_for_the_current_window(db: None) -> None:
    with connection.cursor() as cursor:
        assert create_time_series_table(cursor, SCRATCH) == POSTGRES
        days = partitions.list_partition_days(cursor, SCRATCH)
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", [f"{SCRATCH.name}_default"])
        default_indexes = [definition for (definition,) in cursor.fetchall()]
        drop_time_series_table(cursor, SCRATCH)
    today = datetime.now(UTC).date()
    assert days == partition_window(today)
    assert days[0] == today - timedelta(days=1)
    assert any("brin" in definition for definition in default_indexes)


def test_ensure_partitions_creates_the_coming_days(db: None, settings: object) -> None:
    settings.FLUX_PARTITION_DAYS_AHEAD = 5
    maintenance.ensure_all_partitions(NOW)
    with connection.cursor() as cursor:
        days = set(partitions.list_partition_days(cursor, EVENTS_TABLE))
    assert {NOW.date() + timedelta(days=offset) for offset in range(-1, 6)} <= days


def test_ensure_partitions_can_prepare_past_days_for_a_bulk_load(project: Project) -> None:
    maintenance.ensure_all_partitions(NOW, days_back=12)
    event_id = insert_event(project, NOW - timedelta(days=11, hours=2))
    assert partition_of_event(event_id) == f"events_event_p{NOW - timedelta(days=11, hours=2):%Y%m%d}"


def test_an_insert_for_a_day_without_partition_never_fails(project: Project) -> None:
    far_future = NOW + timedelta(days=400)
    event_id = insert_event(project, far_future)
    assert partition_of_event(event_id) == "events_event_default"


def test_ensure_partitions_moves_waiting_rows_into_their_new_partition(project: Project) -> None:
    late = NOW - timedelta(days=9, hours=3)
    event_id = insert_event(project, late, user_id="u1")
    maintenance.ensure_all_partitions(NOW)
    assert partition_of_event(event_id) == f"events_event_p{late:%Y%m%d}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM events_event_default")
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT user_id, time FROM events_event WHERE id = %s", [event_id])
        assert cursor.fetchone() == ("u1", late)


def test_days_older_than_the_longest_retention_get_no_partition(project: Project) -> None:
    ancient = NOW - timedelta(days=project.retention_days + 5)
    event_id = insert_event(project, ancient)
    maintenance.ensure_all_partitions(NOW)
    assert partition_of_event(event_id) == "events_event_default"


def test_retention_drops_partitions_past_the_longest_retention(project: Project) -> None:
    old = insert_event(project, NOW - timedelta(days=project.retention_days - 1))
    maintenance.ensure_all_partitions(NOW)
    expired = insert_event(project, NOW - timedelta(days=project.retention_days + 2))
    kept = insert_event(project, NOW - timedelta(hours=1))

    report = maintenance.apply_retention(NOW + timedelta(days=3))

    assert not event_exists(old) and not event_exists(expired)
    assert event_exists(kept)
    assert str((NOW - timedelta(days=project.retention_days - 1)).date()) in report.dropped["events_event"]


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
    assert report.trimmed_rows == {"events_event": 1, "metrics_point": 1}


def test_trimming_works_in_bounded_batches(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(maintenance, "TRIM_BATCH_ROWS", 4)
    for minute in range(10):
        insert_event(project, NOW - timedelta(days=3, minutes=minute))
    keep = insert_event(project, NOW)
    with connection.cursor() as cursor:
        deleted = maintenance.trim_project(cursor, EVENTS_TABLE, project.pk, NOW - timedelta(days=1))
    assert deleted == 10
    assert event_exists(keep)


def test_rollups_expire_level_by_level(project: Project, settings: object) -> None:
    from events.models import EventRollup
    from events.rollups import roll_up_events

    settings.FLUX_ROLLUP_RETENTION_DAYS = {"minute": 0, "hour": 60, "day": 0}
    for days_ago in (5, 45, 90):
        insert_event(project, NOW - timedelta(days=days_ago), "order", received_at=NOW)  # not the real now
    roll_up_events(NOW + timedelta(minutes=1), rebuild_project_id=project.pk)

    report = maintenance.apply_retention(NOW)

    def kept(level: str) -> list[int]:
        buckets = EventRollup.objects.filter(project=project, level=level).values_list("bucket", flat=True)
        return sorted((NOW - bucket).days for bucket in buckets)

    # Minutes live as long as raw data (the project's 30 days), hours 60 days, days forever.
    assert (kept("minute"), kept("hour"), kept("day")) == ([5], [5, 45], [5, 45, 90])
    assert report.expired_rollups == {"minute": 2, "hour": 1}


def test_compression_has_nothing_to_do_on_native_partitions(db: None) -> None:
    assert maintenance.compress_chunks(NOW) == {}


def test_every_beat_entry_names_a_registered_task() -> None:
    from django.conf import settings

    celery_app.loader.import_default_modules()  # what a worker does at start: autodiscovery
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in celery_app.tasks
        assert entry["options"]["expires"] > 0
