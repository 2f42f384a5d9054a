"""The events rollup job: recompute exactly the minute, hour and day buckets that new rows touched.

Each run takes the rows received since the last watermark (with an overlap, for transactions that
committed late), recomputes their minute buckets from raw rows received up to the new watermark, then
their hours from minutes and days from hours. Recomputing (never incrementing) makes a re-run change
nothing, and late data simply touches old buckets, which are recomputed the same way.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction

from events.models import RollupWatermark

STREAM = "events"
# Rows stamped within this much of now may belong to transactions still committing.
SAFETY_LAG = timedelta(seconds=5)
# Re-read this much before the last watermark, so a row whose transaction committed late is not missed.
# Ingestion transactions last milliseconds; a bulk load that runs longer must rebuild its project.
OVERLAP = timedelta(minutes=2)

TOUCHED_MINUTES = """
    CREATE TEMP TABLE touched_minutes ON COMMIT DROP AS
    SELECT DISTINCT e.project_id, e.name, date_trunc('minute', e.time, 'UTC') AS bucket
    FROM events_event e
    -- Rows of a just-deleted project wait for their purge; they must not be rolled up meanwhile.
    JOIN tenants_project p ON p.id = e.project_id
    WHERE e.received_at > %s AND e.received_at <= %s AND (%s::bigint IS NULL OR e.project_id = %s)
"""
ROLL_MINUTES = """
    INSERT INTO events_eventrollup
        (project_id, level, name, bucket, count, value_count, value_sum, value_min, value_max)
    SELECT t.project_id, 'minute', t.name, t.bucket,
           count(*), count(e.value), sum(e.value), min(e.value), max(e.value)
    FROM touched_minutes t
    -- The range lets a few touched minutes use the (project_id, name, time) index; the equality lets
    -- many (a backfill, a big late batch) use a hash join instead of one index probe per minute.
    JOIN events_event e ON e.project_id = t.project_id AND e.name = t.name
     AND date_trunc('minute', e.time, 'UTC') = t.bucket
     AND e.time >= t.bucket AND e.time < t.bucket + interval '1 minute'
    WHERE e.received_at <= %s
    GROUP BY t.project_id, t.name, t.bucket
    ORDER BY t.project_id, t.name, t.bucket
    ON CONFLICT (project_id, level, name, bucket) DO UPDATE SET
        count = EXCLUDED.count, value_count = EXCLUDED.value_count, value_sum = EXCLUDED.value_sum,
        value_min = EXCLUDED.value_min, value_max = EXCLUDED.value_max
"""
ROLL_UP_LEVEL = """
    INSERT INTO events_eventrollup
        (project_id, level, name, bucket, count, value_count, value_sum, value_min, value_max)
    SELECT t.project_id, %(level)s, t.name, t.bucket,
           sum(r.count), sum(r.value_count), sum(r.value_sum), min(r.value_min), max(r.value_max)
    FROM (SELECT DISTINCT project_id, name, date_trunc(%(level)s, bucket, 'UTC') AS bucket FROM touched_minutes) t
    JOIN events_eventrollup r ON r.project_id = t.project_id AND r.level = %(finer)s AND r.name = t.name
     AND r.bucket >= t.bucket AND r.bucket < t.bucket + %(size)s
    GROUP BY t.project_id, t.name, t.bucket
    ORDER BY t.project_id, t.name, t.bucket
    ON CONFLICT (project_id, level, name, bucket) DO UPDATE SET
        count = EXCLUDED.count, value_count = EXCLUDED.value_count, value_sum = EXCLUDED.value_sum,
        value_min = EXCLUDED.value_min, value_max = EXCLUDED.value_max
"""


@dataclass(frozen=True)
class RollupRun:
    watermark: datetime
    minutes: int  # minute buckets recomputed


def current_watermark() -> datetime | None:
    return RollupWatermark.objects.filter(stream=STREAM).values_list("watermark", flat=True).first()


def roll_up_events(now: datetime, rebuild_project_id: int | None = None) -> RollupRun:
    """Bring the event rollups up to `now - SAFETY_LAG`. Concurrent runs wait for each other.

    With `rebuild_project_id`, recompute every bucket of that project instead of only the touched ones:
    for bulk loads whose transaction outlasted OVERLAP, and for repairs.
    """
    watermark = now - SAFETY_LAG
    with transaction.atomic(), connection.cursor() as cursor:
        state, _ = RollupWatermark.objects.select_for_update().get_or_create(stream=STREAM)
        since = datetime.min.replace(tzinfo=now.tzinfo)
        if state.watermark and rebuild_project_id is None:
            since = state.watermark - OVERLAP
        # ON COMMIT DROP covers the usual case; an enclosing transaction (tests) may still hold one.
        cursor.execute("DROP TABLE IF EXISTS touched_minutes")
        cursor.execute(TOUCHED_MINUTES, [since, watermark, rebuild_project_id, rebuild_project_id])
        cursor.execute("ANALYZE touched_minutes")  # temp tables have no statistics; the join plan needs them
        cursor.execute(ROLL_MINUTES, [watermark])
        minutes = cursor.rowcount
        for level, finer, size in (("hour", "minute", timedelta(hours=1)), ("day", "hour", timedelta(days=1))):
            cursor.execute(ROLL_UP_LEVEL, {"level": level, "finer": finer, "size": size})
        # Summarize filled BRIN ranges now rather than whenever autovacuum gets to them: queries scan
        # unsummarized ranges in full when looking for rows received after the watermark.
        cursor.execute(
            "SELECT count(brin_summarize_new_values(inhrelid)) FROM pg_inherits"
            " WHERE inhparent = to_regclass('events_event_received_brin')"
        )
        state.watermark = max(watermark, state.watermark or watermark)
        state.save(update_fields=["watermark"])
    return RollupRun(state.watermark, minutes)
