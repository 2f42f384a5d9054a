"""Time-series storage: TimescaleDB hypertables when the extension is present, native partitions otherwise.

Migrations call `create_time_series_table`; Celery beat calls the functions in `maintenance`.
See docs/storage.md for the design and docs/decisions/0001-own-storage-module.md for why it is ours.
"""

from datetime import date, timedelta

from django.conf import settings
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from flux.storage import partitions, timescale
from flux.storage.detect import TIMESCALEDB, choose_backend
from flux.storage.tables import TimeSeriesTable

__all__ = [
    "TimeSeriesTable", "create_indexes", "create_time_series_table", "drop_time_series_table", "partition_window",
]  # fmt: skip


def partition_window(today: date) -> list[date]:
    """Days that should always have a partition: yesterday (late data) to FLUX_PARTITION_DAYS_AHEAD ahead."""
    return [today + timedelta(days=offset) for offset in range(-1, settings.FLUX_PARTITION_DAYS_AHEAD + 1)]


def create_time_series_table(
    cursor: CursorWrapper, table: TimeSeriesTable, layout: str | None = None, with_indexes: bool = True
) -> str:
    """Create `table` in the layout the database supports, or in `layout` ('timescaledb' or 'postgres': a
    table that replaces another keeps its layout); returns the layout. Without indexes for a bulk load:
    `create_indexes` after it builds them compact, in one sorted pass."""
    backend = layout or choose_backend(cursor)
    if backend == TIMESCALEDB:
        timescale.create_hypertable(cursor, table, with_indexes)
    else:
        partitions.create_partitioned_table(cursor, table, with_indexes)
        today = timezone.now().date()
        partitions.ensure_partitions(cursor, table, partition_window(today), oldest_kept=today - timedelta(days=1))
    return backend


def create_indexes(cursor: CursorWrapper, table: TimeSeriesTable) -> None:
    for statement in table.create_index_statements():
        cursor.execute(statement)


def drop_time_series_table(cursor: CursorWrapper, table: TimeSeriesTable) -> None:
    # Dropping the parent drops its partitions or chunks with it.
    cursor.execute(f"DROP TABLE IF EXISTS {table.name} CASCADE")
    for sequence in table.sequences:
        cursor.execute(f"DROP SEQUENCE IF EXISTS {sequence}")
