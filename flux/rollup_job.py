"""The frame every rollup job shares: one run at a time per stream, a watermark that only moves forward.

A job recomputes (never increments) the buckets touched by rows received in (watermark - OVERLAP,
new watermark], from raw rows received up to the new watermark; so a re-run changes nothing and late
data simply touches old buckets again. Queries read rollups up to the watermark and raw rows after it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction

from events.models import RollupWatermark
from flux.sketches import Cardinality

# Rows stamped within this much of now may belong to transactions still committing.
SAFETY_LAG = timedelta(seconds=5)
# (level, the level it is built from, its size): minutes come from raw rows, each coarser level from the finer.
LEVEL_STEPS = (
    ("minute", "minute", timedelta(minutes=1)),
    ("hour", "minute", timedelta(hours=1)),
    ("day", "hour", timedelta(days=1)),
)
# Re-read this much before the last watermark, so a row whose transaction committed late is not missed.
# Ingestion transactions last milliseconds; a bulk load that runs longer must rebuild its project.
OVERLAP = timedelta(minutes=2)


@dataclass(frozen=True)
class RollupRun:
    watermark: datetime
    minutes: int  # minute buckets recomputed


# (cursor, received after, received up to, project to rebuild or None) -> minute buckets recomputed
RollStep = Callable[[object, datetime, datetime, int | None], int]
# Called with the cursor after each run of a stream, in its transaction, while the run's temporary table
# `touched_minutes` lists the minute buckets it recomputed: for readers that cache rollup values
# (the anomaly scan's histories) to learn, set-based, which past buckets changed.
TouchedHook = Callable[[object], None]
TOUCHED_HOOKS: dict[str, list[TouchedHook]] = {}


def on_touched(stream: str, hook: TouchedHook) -> None:
    if hook not in TOUCHED_HOOKS.setdefault(stream, []):
        TOUCHED_HOOKS[stream].append(hook)


def current_watermark(stream: str) -> datetime | None:
    return RollupWatermark.objects.filter(stream=stream).values_list("watermark", flat=True).first()


def run_rollup(stream: str, now: datetime, rebuild_project_id: int | None, roll: RollStep) -> RollupRun:
    """Bring `stream` up to `now - SAFETY_LAG`. Concurrent runs of a stream wait for each other.

    With `rebuild_project_id`, recompute every bucket of that project instead of only the touched ones:
    for bulk loads whose transaction outlasted OVERLAP, and for repairs.
    """
    watermark = now - SAFETY_LAG
    with transaction.atomic(), connection.cursor() as cursor:
        state, _ = RollupWatermark.objects.select_for_update().get_or_create(stream=stream)
        # Rebuilds group millions of rows; hashing them in memory beats sorting them on disk.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        since = datetime.min.replace(tzinfo=now.tzinfo)
        if state.watermark and rebuild_project_id is None:
            since = state.watermark - OVERLAP
        minutes = roll(cursor, since, watermark, rebuild_project_id)
        for hook in TOUCHED_HOOKS.get(stream, ()):
            hook(cursor)
        state.watermark = max(watermark, state.watermark or watermark)
        state.save(update_fields=["watermark"])
    return RollupRun(state.watermark, minutes)


# The BRIN indexes on `received_at` of the table's children: its partitions, or its TimescaleDB chunks
# (chunks inherit from their hypertable, but their indexes are no children of the hypertable's index).
SUMMARIZE_RECEIVED_BRIN = """
    SELECT coalesce(sum(brin_summarize_new_values(ix.indexrelid)), 0)::int
    FROM pg_inherits child
    JOIN pg_index ix ON ix.indrelid = child.inhrelid
    JOIN pg_class ix_class ON ix_class.oid = ix.indexrelid
    JOIN pg_am am ON am.oid = ix_class.relam AND am.amname = 'brin'
    JOIN pg_attribute column_ ON column_.attrelid = ix.indrelid AND column_.attnum = ix.indkey[0]
    WHERE child.inhparent = to_regclass(%s) AND column_.attname = 'received_at'
"""


def summarize_received_brin(cursor: object, table: str) -> int:
    """Summarize filled BRIN ranges now rather than whenever autovacuum gets to them: queries scan
    unsummarized ranges in full when looking for rows received after the watermark. Returns the number
    of ranges summarized."""
    cursor.execute(SUMMARIZE_RECEIVED_BRIN, [table])
    return cursor.fetchone()[0]


def temp_table(cursor: object, name: str, select_sql: str, params: list) -> None:
    # ON COMMIT DROP covers the usual case; an enclosing transaction (tests) may still hold one.
    cursor.execute(f"DROP TABLE IF EXISTS {name}")
    cursor.execute(f"CREATE TEMP TABLE {name} ON COMMIT DROP AS {select_sql}", params)
    cursor.execute(f"ANALYZE {name}")  # temp tables have no statistics; the join plans need them


def merge_cardinalities(cursor: object, children_sql: str, params: dict, store_sql: str, level: str) -> int:
    """Merge the cardinality sketches of the children rows `children_sql` lists (parent key columns,
    then hashes and registers) and store each parent's with `store_sql` (hashes, registers, parent key,
    level). For the parents SQL cannot merge: those with a HyperLogLog child or too many hashes."""
    cursor.execute(children_sql, params)
    merged: dict[tuple, Cardinality] = {}
    for *parent, hashes, registers in cursor.fetchall():
        merged.setdefault(tuple(parent), Cardinality()).merge(Cardinality.from_stored(hashes, registers))
    if merged:
        cursor.executemany(store_sql, [(*sketch.stored(), *parent, level) for parent, sketch in merged.items()])
    return len(merged)
