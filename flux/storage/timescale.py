"""TimescaleDB storage: every statement Flux sends that only TimescaleDB understands lives here.

Written from TimescaleDB's API reference (create_hypertable with by_range, 2.13+; show_chunks,
compress_chunk and drop_chunks). Flux calls compression and retention itself from Celery beat rather
than adding TimescaleDB policies: policy jobs misbehave on some PostgreSQL minors (docs/storage.md),
and this keeps all scheduled work in one place on both storage paths.
"""

from datetime import datetime

from django.db.backends.utils import CursorWrapper

from flux.storage.tables import TimeSeriesTable


def create_hypertable(cursor: CursorWrapper, table: TimeSeriesTable) -> None:
    for sequence in table.sequences:
        cursor.execute(f"CREATE SEQUENCE IF NOT EXISTS {sequence}")
    key = f", PRIMARY KEY {table.primary_key}" if table.primary_key else ""
    cursor.execute(f"CREATE TABLE {table.name} ({table.columns}{key})")
    # Flux creates its own indexes below; the default (time DESC) index would only duplicate them.
    cursor.execute(
        "SELECT create_hypertable(%s::regclass, by_range('time', %s::interval), create_default_indexes => false)",
        [table.name, table.chunk_interval],
    )
    for suffix, definition in table.indexes:
        cursor.execute(f"CREATE INDEX {table.name}_{suffix} ON {table.name} {definition}")
    cursor.execute(
        f"ALTER TABLE {table.name} SET (timescaledb.compress, "
        f"timescaledb.compress_segmentby = '{table.compress_segment_by}', "
        f"timescaledb.compress_orderby = '{table.compress_order_by}')"
    )


def compress_chunks_before(cursor: CursorWrapper, table: TimeSeriesTable, cutoff: datetime) -> int:
    """Compress every chunk that ends before `cutoff`; returns how many were compressed now."""
    cursor.execute(
        """
        SELECT compress_chunk(format('%%I.%%I', chunk_schema, chunk_name)::regclass)
        FROM timescaledb_information.chunks
        WHERE hypertable_name = %s AND NOT is_compressed AND range_end <= %s::timestamptz
        ORDER BY range_start
        """,
        [table.name, cutoff],
    )
    return len(cursor.fetchall())


def drop_chunks_before(cursor: CursorWrapper, table: TimeSeriesTable, cutoff: datetime) -> list[str]:
    """Drop every chunk whose whole range ends before `cutoff`; returns the dropped chunks' names."""
    cursor.execute("SELECT drop_chunks(%s::regclass, older_than => %s::timestamptz)", [table.name, cutoff])
    return [name for (name,) in cursor.fetchall()]
