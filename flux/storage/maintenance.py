"""Scheduled storage work, the same on both layouts: partitions ahead, retention, compression."""

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max

from flux.storage import partition_window, partitions, timescale
from flux.storage.detect import POSTGRES, TIMESCALEDB, table_layout
from flux.storage.registry import TIME_SERIES_TABLES
from flux.storage.tables import TimeSeriesTable
from flux.tenants.models import Project

logger = logging.getLogger(__name__)

TRIM_BATCH_ROWS = 10_000
ROLLUP_TABLES = ("events_eventrollup", "events_eventtagrollup", "metrics_metricrollup")


@dataclass
class RetentionReport:
    cutoff: datetime
    dropped: dict[str, list[str]] = field(default_factory=dict)
    trimmed_rows: dict[str, int] = field(default_factory=dict)
    expired_rollups: dict[str, int] = field(default_factory=dict)


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


def trim_project(cursor: object, table: TimeSeriesTable, project_id: int, cutoff: datetime) -> int:
    """Delete one project's rows older than `cutoff` in bounded batches; returns rows deleted."""
    deleted = 0
    while True:
        with transaction.atomic():
            # (tableoid, ctid) names one row across partitions; ctid alone repeats between partitions.
            cursor.execute(
                f"""
                DELETE FROM {table.name} WHERE (tableoid, ctid) IN (
                    SELECT tableoid, ctid FROM {table.name}
                    WHERE project_id = %s AND time < %s LIMIT {TRIM_BATCH_ROWS}
                )
                """,
                [project_id, cutoff],
            )
            deleted += cursor.rowcount
        if cursor.rowcount < TRIM_BATCH_ROWS:
            return deleted


def delete_in_batches(cursor: object, table: str, where: str, params: list) -> int:
    """Delete the rows of a plain (unpartitioned) table matching `where`, a bounded batch per transaction."""
    deleted = 0
    while True:
        with transaction.atomic():
            cursor.execute(
                f"DELETE FROM {table} WHERE ctid IN (SELECT ctid FROM {table} WHERE {where} LIMIT {TRIM_BATCH_ROWS})",
                params,
            )
            deleted += cursor.rowcount
        if cursor.rowcount < TRIM_BATCH_ROWS:
            return deleted


def purge_project(project_id: int) -> dict[str, int]:
    """Delete all raw rows and rollups of a (deleted) project, in batches; returns rows deleted per table."""
    end_of_time = datetime.max.replace(tzinfo=UTC)
    with connection.cursor() as cursor:
        deleted = {table.name: trim_project(cursor, table, project_id, end_of_time) for table in TIME_SERIES_TABLES}
        for table in ROLLUP_TABLES:
            deleted[table] = delete_in_batches(cursor, table, "project_id = %s", [project_id])
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
                delete_in_batches(cursor, table, "level = %s AND bucket < %s", [level, cutoff])
                for table in ROLLUP_TABLES
            )
    return expired


def apply_retention(now: datetime) -> RetentionReport:
    """Drop partitions/chunks past the longest retention, trim projects that keep data less long, and
    expire rollups level by level."""
    longest = longest_retention_days()
    report = RetentionReport(cutoff=now - timedelta(days=longest))
    shorter = list(Project.objects.filter(retention_days__lt=longest).values_list("pk", "retention_days"))
    with connection.cursor() as cursor:
        for table in TIME_SERIES_TABLES:
            layout = table_layout(cursor, table.name)
            with transaction.atomic():
                if layout == TIMESCALEDB:
                    report.dropped[table.name] = timescale.drop_chunks_before(cursor, table, report.cutoff)
                else:
                    dropped_days = partitions.drop_partitions_before(cursor, table, report.cutoff)
                    report.dropped[table.name] = [str(day) for day in dropped_days]
            report.trimmed_rows[table.name] = sum(
                trim_project(cursor, table, project_id, now - timedelta(days=days)) for project_id, days in shorter
            )
    report.expired_rollups = expire_rollups(now)
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
