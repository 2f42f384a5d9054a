"""TimescaleDB storage: every statement Flux sends that only TimescaleDB understands lives here.

Written from TimescaleDB's API reference (create_hypertable with by_range, 2.13+; show_chunks,
compress_chunk and drop_chunks). Flux calls compression and retention itself from Celery beat rather
than adding TimescaleDB policies: policy jobs misbehave on some PostgreSQL minors (docs/storage.md),
and this keeps all scheduled work in one place on both storage paths.
"""

from datetime import datetime

from django.db.backends.utils import CursorWrapper

from flux.storage.tables import TimeSeriesTable

TimeRange = tuple[datetime, datetime]


def create_hypertable(cursor: CursorWrapper, table: TimeSeriesTable, with_indexes: bool = True) -> None:
    for sequence in table.sequences:
        cursor.execute(f"CREATE SEQUENCE IF NOT EXISTS {sequence}")
    key = f", PRIMARY KEY {table.primary_key}" if table.primary_key else ""
    cursor.execute(f"CREATE TABLE {table.name} ({table.columns}{key})")
    # Flux creates its own indexes below; the default (time DESC) index would only duplicate them.
    cursor.execute(
        "SELECT create_hypertable(%s::regclass, by_range('time', %s::interval), create_default_indexes => false)",
        [table.name, table.chunk_interval],
    )
    for statement in table.create_index_statements() if with_indexes else ():
        cursor.execute(statement)
    cursor.execute(
        f"ALTER TABLE {table.name} SET (timescaledb.compress, "
        f"timescaledb.compress_segmentby = '{table.compress_segment_by}', "
        f"timescaledb.compress_orderby = '{table.compress_order_by}')"
    )


# Chunk status bits (TimescaleDB's src/chunk.h): compressed, compressed but unordered, compressed with
# rows outside the compressed data (late data). The last two need compress_chunk again to be whole.
COMPRESSED, UNORDERED, PARTIAL = 1, 2, 8

CHUNKS_TO_COMPRESS = f"""
    SELECT chunk FROM (
        SELECT format('%%I.%%I', chunk_schema, chunk_name)::regclass AS chunk, range_start
        FROM timescaledb_information.chunks WHERE hypertable_name = %s AND range_end <= %s::timestamptz
    ) chunks
    WHERE _timescaledb_functions.chunk_status(chunk) & {COMPRESSED} = 0
       OR _timescaledb_functions.chunk_status(chunk) & {UNORDERED | PARTIAL} <> 0
    ORDER BY range_start
"""


def compress_chunks_before(cursor: CursorWrapper, table: TimeSeriesTable, cutoff: datetime) -> int:
    """Compress every chunk that ends before `cutoff`, and recompress those that received rows since they
    were compressed (compress_chunk merges them in); returns how many chunks were (re)compressed."""
    cursor.execute(CHUNKS_TO_COMPRESS, [table.name, cutoff])
    chunks = [name for (name,) in cursor.fetchall()]
    for chunk in chunks:
        cursor.execute("SELECT compress_chunk(%s::regclass)", [chunk])  # recompresses a partial chunk
    return len(chunks)


def drop_chunks_before(
    cursor: CursorWrapper, table: TimeSeriesTable, cutoff: datetime
) -> list[tuple[datetime, datetime]]:
    """Drop every chunk whose whole range ends before `cutoff`; returns the dropped time ranges."""
    cursor.execute(
        """
        SELECT range_start, range_end FROM timescaledb_information.chunks
        WHERE hypertable_name = %s AND range_end <= %s::timestamptz ORDER BY range_start
        """,
        [table.name, cutoff],
    )
    ranges = list(cursor.fetchall())
    cursor.execute("SELECT drop_chunks(%s::regclass, older_than => %s::timestamptz)", [table.name, cutoff])
    return ranges
