"""The frame every rollup job shares: one run at a time per stream, a watermark that only moves forward,
and runs that cost only what arrived since the watermark.

Every aggregate a bucket keeps is mergeable (counts and sums add, minima and maxima compare, quantile
sketches add key by key, user sets unite), so a run aggregates only the raw rows received in
(watermark, target] into per-minute deltas (the temporary table `touched_minutes`) and merges those into
the minute, hour and day buckets: no older raw row and no other bucket is read again, and late data
merges like any other. The merge and the new watermark commit in one transaction, so every raw row is
counted exactly once.

Which target is safe: raw rows take `received_at` from their transaction's start (the column's default
`now()`), so a row not yet committed has a `received_at` at or after the start of a transaction that is
still open. The target is the start of the oldest open transaction writing to the raw table, or
`now - SAFETY_LAG` if sooner: a writer younger than SAFETY_LAG stamps its rows after the target anyway.
(This assumes a writer takes its lock on the raw table within SAFETY_LAG of starting; ingestion does so
in milliseconds.) Queries read rollups up to the watermark and raw rows after it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction

from flux.query.sketches import Cardinality
from flux.storage.citus import summarize_received_brin_on_workers
from flux.storage.detect import citus_installed

# Rows stamped within this much of now may belong to transactions that have not locked the table yet.
SAFETY_LAG = timedelta(seconds=5)
LEVELS = ("minute", "hour", "day")
BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class RollWindow:
    """Raw rows received in (after, upto], of one project or of all."""

    after: datetime
    upto: datetime
    project_id: int | None = None

    def params(self) -> dict:
        return {"after": self.after, "upto": self.upto, "project": self.project_id}


@dataclass(frozen=True)
class RollupRun:
    watermark: datetime | None
    minutes: int = 0  # minute buckets merged into
    rows: int = 0  # raw rows aggregated
    skipped: bool = False  # another run of the stream held the lock


# Aggregates the window's raw rows into `touched_minutes` and merges them into every level; returns
# (minute buckets touched, raw rows aggregated).
RollStep = Callable[[object, RollWindow], tuple[int, int]]
# Called with the cursor after each run of a stream, in its transaction, while the run's temporary table
# `touched_minutes` lists the minute buckets it merged into: for readers that cache rollup values
# (the anomaly scan's histories) to learn, set-based, which past buckets changed.
TouchedHook = Callable[[object], None]
TOUCHED_HOOKS: dict[str, list[TouchedHook]] = {}


@dataclass(frozen=True)
class Stream:
    name: str
    raw_table: str
    rollup_tables: tuple[str, ...]
    roll: RollStep


def on_touched(stream: str, hook: TouchedHook) -> None:
    if hook not in TOUCHED_HOOKS.setdefault(stream, []):
        TOUCHED_HOOKS[stream].append(hook)


def current_watermark(stream: str) -> datetime | None:
    with connection.cursor() as cursor:
        cursor.execute(CURRENT_WATERMARK, [stream])
        row = cursor.fetchone()
    return row[0] if row else None


# The watermarks live in events_rollupwatermark (one row per stream, events.models.RollupWatermark); this
# platform module reaches them by SQL only, so that it imports no app.
CURRENT_WATERMARK = "SELECT watermark FROM events_rollupwatermark WHERE stream = %s"
ENSURE_WATERMARK = """INSERT INTO events_rollupwatermark (stream, watermark) VALUES (%s, NULL)
                      ON CONFLICT (stream) DO NOTHING"""
LOCK_WATERMARK = "SELECT watermark FROM events_rollupwatermark WHERE stream = %s FOR UPDATE"
STORE_WATERMARK = "UPDATE events_rollupwatermark SET watermark = %s WHERE stream = %s"
# The start of the oldest other transaction holding (or waiting for) a write lock on the raw table or
# one of its partitions or chunks.
OLDEST_WRITER = """
    SELECT min(activity.xact_start)
    FROM pg_locks lock JOIN pg_stat_activity activity ON activity.pid = lock.pid
    WHERE lock.locktype = 'relation' AND lock.mode = 'RowExclusiveLock' AND lock.pid <> pg_backend_pid()
      AND lock.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND lock.relation IN (SELECT to_regclass(%(table)s) UNION ALL
                            SELECT inhrelid FROM pg_inherits WHERE inhparent = to_regclass(%(table)s))
"""


def lock_watermark(cursor: object, stream: str, wait: bool) -> tuple[bool, datetime | None]:
    """Lock the stream's watermark row; (False, None) if another run holds it and `wait` is false."""
    cursor.execute(ENSURE_WATERMARK, [stream])
    cursor.execute(LOCK_WATERMARK + ("" if wait else " SKIP LOCKED"), [stream])
    row = cursor.fetchone()
    return (row is not None, row[0] if row else None)


def safe_target(cursor: object, raw_table: str, now: datetime | None) -> datetime:
    """The latest `received_at` below which every raw row has committed (see the module's docstring)."""
    cursor.execute("SELECT clock_timestamp()")
    target = (now or cursor.fetchone()[0]) - SAFETY_LAG
    cursor.execute(OLDEST_WRITER, {"table": raw_table})
    oldest_writer = cursor.fetchone()[0]
    if oldest_writer is not None:
        # received_at >= oldest_writer may be uncommitted; everything strictly before it is settled.
        target = min(target, oldest_writer - timedelta(microseconds=1))
    return target


def run_rollup(stream: Stream, now: datetime | None = None, wait: bool = False) -> RollupRun:
    """Merge what `stream` received since its watermark into its rollups, up to the safe target.

    If another run holds the stream, return at once (skipped: it is doing this very work), unless
    `wait`. The target is taken after the lock, so a run never works toward a moment that passed while
    it waited. `now` stands in for the database clock (tests, and loaders that just committed).
    """
    # Before the merge too: a backfill's rows in partitions never analyzed (autovacuum off or behind) were
    # planned blind, and the run that took them held the stream for over eleven minutes (a review's figure).
    analyze_stale(stream)
    with transaction.atomic(), connection.cursor() as cursor:
        locked, watermark = lock_watermark(cursor, stream.name, wait=wait)
        if not locked:
            return RollupRun(watermark=None, skipped=True)
        target = safe_target(cursor, stream.raw_table, now)
        if watermark is not None and target <= watermark:
            return RollupRun(watermark)
        tune_run(cursor)
        minutes, rows = stream.roll(cursor, RollWindow(watermark or BEGINNING, target))
        for hook in TOUCHED_HOOKS.get(stream.name, ()):
            hook(cursor)
        cursor.execute(STORE_WATERMARK, [target, stream.name])
        summarize_received_brin(cursor, stream.raw_table)
    analyze_stale(stream)
    return RollupRun(target, minutes, rows)


def tune_run(cursor: object) -> None:
    # Backlogs group many rows: hashing in memory beats sorting on disk. JIT compiling costs a steady run
    # more (a few hundred milliseconds per statement) than it saves on its few thousand rows.
    cursor.execute("SET LOCAL work_mem = '64MB'")
    cursor.execute("SET LOCAL jit = off")


def rebuild_rollups(stream: Stream, project_id: int) -> RollupRun:
    """Recompute every bucket of one project from its raw rows received up to the watermark: for
    repairs and after loading rows with an old `received_at`. Waits for a running run of the stream."""
    with transaction.atomic(), connection.cursor() as cursor:
        _, watermark = lock_watermark(cursor, stream.name, wait=True)
        if watermark is None:
            return RollupRun(None)  # nothing rolled up yet: the next run takes everything
        for table in stream.rollup_tables:
            cursor.execute(f"DELETE FROM {table} WHERE project_id = %s", [project_id])
        tune_run(cursor)
        minutes, rows = stream.roll(cursor, RollWindow(BEGINNING, watermark, project_id))
        for hook in TOUCHED_HOOKS.get(stream.name, ()):
            hook(cursor)
    analyze_stale(stream)
    return RollupRun(watermark, minutes, rows)


# The raw table's partitions or chunks and the rollup tables that changed twice as much since their last
# ANALYZE as autovacuum waits for by default (50 rows + 10%): new partitions, a backfill, autovacuum off
# or behind. Without fresh statistics the planner guesses row counts (reading new rows by received_at,
# merging into buckets) and can pick plans that are slower by orders of magnitude.
STALE_STATISTICS = """
    SELECT stats.relid::regclass::text FROM pg_stat_user_tables stats JOIN pg_class class ON class.oid = stats.relid
    WHERE (stats.relid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = to_regclass(%s))
           OR stats.relid = ANY(%s::regclass[]))
      AND stats.n_mod_since_analyze > 2 * (50 + 0.1 * greatest(class.reltuples, 0))
"""


def analyze_stale(stream: Stream) -> list[str]:
    """ANALYZE what the planner would otherwise be blind to; returns the tables analyzed. Runs before the
    merge and after it committed: ANALYZE does not block writers, but the watermark need not wait for it."""
    with connection.cursor() as cursor:
        cursor.execute(STALE_STATISTICS, [stream.raw_table, list(stream.rollup_tables)])
        tables = [name for (name,) in cursor.fetchall()]
        for table in tables:
            cursor.execute(f"ANALYZE {table}")
    return tables


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
    """Summarize filled BRIN ranges now rather than whenever autovacuum gets to them: the next run
    scans unsummarized ranges in full when looking for rows received after the watermark. Returns the
    number of ranges summarized."""
    if citus_installed(cursor):
        return summarize_received_brin_on_workers(cursor, table)
    cursor.execute(SUMMARIZE_RECEIVED_BRIN, [table])
    return cursor.fetchone()[0]


def temp_table(cursor: object, name: str, select_sql: str, params: dict) -> None:
    # ON COMMIT DROP covers the usual case; an enclosing transaction (tests) may still hold one.
    cursor.execute(f"DROP TABLE IF EXISTS {name}")
    cursor.execute(f"CREATE TEMP TABLE {name} ON COMMIT DROP AS {select_sql}", params)
    cursor.execute(f"ANALYZE {name}")  # temp tables have no statistics; the merge plans need them


def sketch_merge_sql(keys: str, counts: str) -> str:
    """SET clauses of an `ON CONFLICT … DO UPDATE` that add the stored quantile sketch (`r`) and the
    new part's (EXCLUDED) key by key; both key arrays stay sorted and distinct."""
    return f"""{keys} = (SELECT array_agg(DISTINCT k) FROM unnest(r.{keys} || EXCLUDED.{keys}) AS k),
            {counts} = (
                SELECT array_agg(n ORDER BY key) FROM (
                    SELECT u.key, sum(u.n)::bigint AS n
                    FROM unnest(r.{keys} || EXCLUDED.{keys}, r.{counts} || EXCLUDED.{counts}) AS u(key, n)
                    GROUP BY 1) by_key)"""


def set_union_sql(column: str) -> str:
    """The SET clause that unites the stored exact hash set (`r`) with the new part's (EXCLUDED)."""
    return f"{column} = (SELECT array_agg(DISTINCT h) FROM unnest(r.{column} || EXCLUDED.{column}) AS h)"


def merge_by_level(merge_sql: str, minutes_sql: str, minutes_as_parts_sql: str) -> dict[str, str]:
    """The merge statement of each level: `merge_sql` reads its parts from `{parts}`, which is the new
    minutes themselves for the minute level and the minutes grouped into coarser buckets above it."""
    coarser = merge_sql.format(parts=minutes_as_parts_sql)
    return {"minute": merge_sql.format(parts=minutes_sql), "hour": coarser, "day": coarser}


def fold_cardinalities(cursor: object, merge_sql: str, params: dict, store_sql: str) -> int:
    """Run `merge_sql`, a merge that returns (key columns..., hashes, registers) of the buckets whose
    distinct set SQL cannot finish (over EXACT_LIMIT hashes, or hashes beside HyperLogLog registers),
    and store each one's folded sketch with `store_sql` (hashes, registers, key columns...)."""
    cursor.execute(merge_sql, params)
    folded = []
    for *key, hashes, registers in cursor.fetchall():
        sketch = Cardinality.from_stored(hashes, bytes(registers) if registers is not None else None)
        folded.append((*sketch.stored(), *key))
    if folded:
        cursor.executemany(store_sql, sorted(folded, key=lambda row: row[2:]))
    return len(folded)
