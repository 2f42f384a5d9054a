"""Scheduled storage work, the same on both layouts: partitions ahead, retention, compression."""

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import Max

from flux.storage import partition_window, partitions, timescale
from flux.storage.detect import POSTGRES, TIMESCALEDB, table_layout
from flux.storage.registry import TIME_SERIES_TABLES
from flux.storage.tables import TimeSeriesTable
from flux.tenants.models import Project

logger = logging.getLogger(__name__)

# Deletes go one time window per transaction: short transactions, index-bounded, and a form TimescaleDB
# runs on compressed chunks (no ctid there) and a distributed table could run too.
RAW_DELETE_WINDOW = timedelta(days=1)
ROLLUP_DELETE_WINDOW = timedelta(days=7)
WINDOW_ORIGIN = datetime(2000, 1, 3, tzinfo=UTC)  # a Monday at midnight UTC
ROLLUP_TABLES = ("events_eventrollup", "events_eventtagrollup", "metrics_metricrollup")

TimeRange = timescale.TimeRange


class RetentionIncompleteError(RuntimeError):
    """Raised by the beat task after a retention run in which some table or project failed."""


@dataclass
class RetentionReport:
    cutoff: datetime
    # Per table, the [start, end) time ranges of the partitions or chunks dropped, oldest first.
    dropped: dict[str, list[TimeRange]] = field(default_factory=dict)
    trimmed_rows: dict[str, int] = field(default_factory=dict)
    expired_rollups: dict[str, int] = field(default_factory=dict)
    # What failed ("table" or "table project N") with the error; the rest of the run went on.
    failures: dict[str, str] = field(default_factory=dict)


def longest_retention_days() -> int:
    longest = Project.objects.aggregate(days=Max("retention_days"))["days"]
    return longest or settings.FLUX_DEFAULT_RETENTION_DAYS


def ensure_all_partitions(now: datetime, days_back: int = 0) -> dict[str, list[date]]:
    """Create the coming days' partitions (and those late data needs) on every native-partitioned table;
    with `days_back`, also those of the past days (before a bulk load of old data, so that its rows go
    straight to their day instead of through the default partition)."""
    oldest_kept = (now - timedelta(days=longest_retention_days())).date()
    wanted = partition_window(now.date()) + [now.date() - timedelta(days=back) for back in range(1, days_back + 1)]
    created = {}
    with connection.cursor() as cursor:
        for table in TIME_SERIES_TABLES:
            if table_layout(cursor, table.name) != POSTGRES:
                continue
            with transaction.atomic():
                created[table.name] = partitions.ensure_partitions(cursor, table, wanted, oldest_kept)
    return created


def delete_by_time_windows(
    cursor: CursorWrapper, table: str, time_column: str, where: str, params: list, before: datetime, window: timedelta
) -> int:
    """Delete the rows matching `where` with `time_column` < `before`, one `window` of time per transaction,
    from the oldest such row on; returns rows deleted."""
    cursor.execute(f"SELECT min({time_column}), max({time_column}) FROM {table} WHERE {where} AND {time_column} < %s",
                   [*params, before])  # fmt: skip
    oldest, newest = cursor.fetchone()
    if oldest is None:
        return 0
    deleted, start = 0, oldest - (oldest - WINDOW_ORIGIN) % window  # windows line up with days, like chunks
    while start <= newest:
        end = min(start + window, before)
        with transaction.atomic():
            cursor.execute(
                f"DELETE FROM {table} WHERE {where} AND {time_column} >= %s AND {time_column} < %s",
                [*params, start, end],
            )
            deleted += cursor.rowcount
        start = end
    return deleted


def trim_project(cursor: CursorWrapper, table: TimeSeriesTable, project_id: int, cutoff: datetime) -> int:
    """Delete one project's rows older than `cutoff`, a day per transaction; returns rows deleted."""
    return delete_by_time_windows(
        cursor, table.name, "time", "project_id = %s", [project_id], cutoff, RAW_DELETE_WINDOW
    )


def purge_project(project_id: int) -> dict[str, int]:
    """Delete all raw rows, their dictionaries and rollups of a (deleted) project, raw rows and rollups window
    by window; returns rows deleted per table."""
    end_of_time = datetime.max.replace(tzinfo=UTC)
    deleted = {}
    with connection.cursor() as cursor:
        for table in TIME_SERIES_TABLES:
            deleted[table.name] = trim_project(cursor, table, project_id, end_of_time)
            for dictionary in table.dictionaries:  # after the rows that use them
                cursor.execute(f"DELETE FROM {dictionary} WHERE project_id = %s", [project_id])
                deleted[dictionary] = cursor.rowcount
        for rollup_table in ROLLUP_TABLES:
            deleted[rollup_table] = delete_by_time_windows(
                cursor, rollup_table, "bucket", "project_id = %s", [project_id], end_of_time, ROLLUP_DELETE_WINDOW
            )
    return deleted


def expire_rollups(now: datetime) -> dict[str, int]:
    """Delete rollup rows past their level's FLUX_ROLLUP_RETENTION_DAYS; returns rows deleted per level."""
    expired = {}
    with connection.cursor() as cursor:
        for level, days in settings.FLUX_ROLLUP_RETENTION_DAYS.items():
            if not days and level == "minute":
                days = longest_retention_days()
            if not days:
                continue
            cutoff = now - timedelta(days=days)
            expired[level] = sum(
                delete_by_time_windows(cursor, table, "bucket", "level = %s", [level], cutoff, ROLLUP_DELETE_WINDOW)
                for table in ROLLUP_TABLES
            )
    return expired


def drop_expired(cursor: CursorWrapper, table: TimeSeriesTable, cutoff: datetime) -> list[TimeRange]:
    """Drop the partitions or chunks that lie wholly before `cutoff`; returns their time ranges."""
    with transaction.atomic():
        if table_layout(cursor, table.name) == TIMESCALEDB:
            return timescale.drop_chunks_before(cursor, table, cutoff)
        days = partitions.drop_partitions_before(cursor, table, cutoff)
        return [(partitions.day_start(day), partitions.day_start(day + timedelta(days=1))) for day in days]


def apply_retention(now: datetime) -> RetentionReport:
    """Drop partitions/chunks past the longest retention, trim projects that keep data less long, and
    expire rollups level by level. A table or project that fails is logged and the run goes on."""
    longest = longest_retention_days()
    report = RetentionReport(cutoff=now - timedelta(days=longest))
    shorter = list(Project.objects.filter(retention_days__lt=longest).values_list("pk", "retention_days"))
    with connection.cursor() as cursor:
        for table in TIME_SERIES_TABLES:
            try:
                report.dropped[table.name] = drop_expired(cursor, table, report.cutoff)
            except DatabaseError as error:
                logger.exception("retention: dropping old data of %s failed", table.name)
                report.failures[table.name] = str(error).strip()
            report.trimmed_rows[table.name] = 0
            for project_id, days in shorter:
                try:
                    report.trimmed_rows[table.name] += trim_project(
                        cursor, table, project_id, now - timedelta(days=days)
                    )
                except DatabaseError as error:
                    logger.exception("retention: trimming %s of project %s failed", table.name, project_id)
                    report.failures[f"{table.name} project {project_id}"] = str(error).strip()
    try:
        report.expired_rollups = expire_rollups(now)
    except DatabaseError as error:
        logger.exception("retention: expiring rollups failed")
        report.failures["rollups"] = str(error).strip()
    logger.info("retention: %s", report)
    return report


def compress_chunks(now: datetime) -> dict[str, int]:
    """On TimescaleDB, compress chunks older than FLUX_COMPRESS_AFTER_DAYS; nothing to do on native partitions."""
    cutoff = now - timedelta(days=settings.FLUX_COMPRESS_AFTER_DAYS)
    compressed = {}
    with connection.cursor() as cursor:
        for table in TIME_SERIES_TABLES:
            if table_layout(cursor, table.name) == TIMESCALEDB:
                compressed[table.name] = timescale.compress_chunks_before(cursor, table, cutoff)
    return compressed
