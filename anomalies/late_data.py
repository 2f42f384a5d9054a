"""Late data and backfills: when a rollup run recomputes buckets that a watch has already cached, the
watch is marked (`stale_from`, the earliest such bucket) and its next scan reads its history again
from there. One UPDATE per rollup run, from the run's own list of touched minutes (flux.query.rollup_job),
so nothing is compared per watch and nothing is read when no late data came in. Every mark counts
(`stale_marks`), a later bucket's too, though `stale_from` keeps the earliest: a scan that read the
watch before the mark must not clear it (anomalies.refresh.save_histories).

Buckets inside the last few a scan re-reads anyway (anomalies.refresh.UNMARKED_BUCKETS) do not mark,
unless they lie more than REREAD_BUCKETS before the watermark the run started from: a scan that misses
the run's rows read no later watermark, so the cache it stores ends at or before it and the next scan
re-reads from REREAD_BUCKETS before that end, whatever the watch had cached (a first scan, a catch-up of
several buckets after an outage). The
refreshed history changes how the coming buckets are scored (a stream that stopped while its
history still read zeros is then seen as stopped), and the changed buckets of the last day (24
buckets at most) are judged again, so a surge whose rows reached the rollups after its bucket was
scanned still opens an episode."""

import zlib

from django.db import connection

from anomalies.models import Watch
from anomalies.refresh import REREAD_BUCKETS, UNMARKED_BUCKETS
from events.queries import ROLLUP_STREAM as EVENTS
from flux.query.rollup_job import current_watermark
from metrics.queries import ROLLUP_STREAM as METRICS

# Times are compared in UTC (timestamp, not timestamptz): `timestamptz - interval` is STABLE, and a
# distributed table (Citus) refuses STABLE functions of its columns in an UPDATE; the UTC forms are IMMUTABLE.

MARK_EVENT_WATCHES = """
    UPDATE anomalies_watch w SET stale_from = LEAST(w.stale_from, t.first), stale_marks = w.stale_marks + 1
    FROM (SELECT project_id, name, min(bucket) AS first FROM touched_minutes GROUP BY 1, 2) t
    WHERE w.source = 'events' AND w.series_id IS NULL AND w.project_id = t.project_id AND w.name = t.name
      AND t.first AT TIME ZONE 'UTC' < GREATEST(
          w.history_end AT TIME ZONE 'UTC' - w.interval_seconds * %(unmarked)s * interval '1 second',
          %(watermark)s::timestamptz AT TIME ZONE 'UTC' - w.interval_seconds * %(reread)s * interval '1 second')
"""
MARK_METRIC_WATCHES = """
    UPDATE anomalies_watch w SET stale_from = LEAST(w.stale_from, t.first), stale_marks = w.stale_marks + 1
    FROM (SELECT project_id, series_id, min(bucket) AS first FROM touched_minutes GROUP BY 1, 2) t
    WHERE w.project_id = t.project_id AND w.series_id = t.series_id
      AND t.first AT TIME ZONE 'UTC' < GREATEST(
          w.history_end AT TIME ZONE 'UTC' - w.interval_seconds * %(unmarked)s * interval '1 second',
          %(watermark)s::timestamptz AT TIME ZONE 'UTC' - w.interval_seconds * %(reread)s * interval '1 second')
"""


def mark_event_watches(cursor: object) -> None:
    cursor.execute(EXCLUSIVE_WRITES, [writes_key(Watch.Source.EVENTS)])
    cursor.execute(MARK_EVENT_WATCHES, mark_params(EVENTS))


def mark_metric_watches(cursor: object) -> None:
    cursor.execute(EXCLUSIVE_WRITES, [writes_key(Watch.Source.METRIC)])
    cursor.execute(MARK_METRIC_WATCHES, mark_params(METRICS))


# One lock taken before any watch row, by a run's mark (alone) and by each scan batch that stores its watches
# (together), per source. A mark locks its rows in its join's order and a batch in three statements (histories,
# carries, due times): without it each could hold rows the other waited for, a deadlock that failed the batch
# (nothing stored) or the whole rollup run (redone at the next). A mark now waits for the batches storing, and
# they for the end of its run. (Row locks in id order would do on one server; a distributed table (Citus)
# refuses locking reads across shards.)
EXCLUSIVE_WRITES = "SELECT pg_advisory_xact_lock(%s)"
SHARED_WRITES = "SELECT pg_advisory_xact_lock_shared(%s)"


def writes_key(source: str) -> int:
    return zlib.crc32(f"anomalies_watch marks {source}".encode())


def hold_off_marks(source: str) -> None:
    """In a scan batch's transaction, before it stores its watches of `source`: no mark meanwhile."""
    with connection.cursor() as cursor:
        cursor.execute(SHARED_WRITES, [writes_key(source)])


def mark_params(stream: str) -> dict:
    # Read in the run's transaction, before it stores its own: the watermark it started from, which no
    # scan missing this run's rows can have read past.
    return {"unmarked": UNMARKED_BUCKETS, "reread": REREAD_BUCKETS, "watermark": current_watermark(stream)}
