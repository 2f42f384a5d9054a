"""The events rollup job: recompute exactly the minute, hour and day buckets that new rows touched.

Minutes come from raw rows received up to the new watermark, hours from minutes, days from hours
(flux.rollup_job has the frame). Each bucket keeps counts, `value` aggregates, a quantile sketch of
`value` and the distinct users (flux.sketches); tag rollups keep counts per tag value, by hour and day.
"""

from datetime import datetime

from flux.rollup_job import LEVEL_STEPS, RollupRun, merge_cardinalities, run_rollup, summarize_received_brin, temp_table
from flux.sketches import EXACT_LIMIT, HASH_SQL, key_sql

STREAM = "events"

TOUCHED_MINUTES = """
    SELECT DISTINCT e.project_id, e.name, date_trunc('minute', e.time, 'UTC') AS bucket
    FROM events_event e
    -- Rows of a just-deleted project wait for their purge; they must not be rolled up meanwhile.
    JOIN tenants_project p ON p.id = e.project_id
    WHERE e.received_at > %s AND e.received_at <= %s AND (%s::bigint IS NULL OR e.project_id = %s)
"""
COLUMNS = """project_id, level, name, bucket, count, value_count, value_sum, value_min, value_max,
             value_keys, value_counts, user_hashes, user_registers"""
UPSERT = """
    ORDER BY 1, 2, 3
    ON CONFLICT (project_id, level, name, bucket) DO UPDATE SET
        count = EXCLUDED.count, value_count = EXCLUDED.value_count, value_sum = EXCLUDED.value_sum,
        value_min = EXCLUDED.value_min, value_max = EXCLUDED.value_max, value_keys = EXCLUDED.value_keys,
        value_counts = EXCLUDED.value_counts, user_hashes = EXCLUDED.user_hashes,
        user_registers = EXCLUDED.user_registers
"""
ROLL_MINUTES = f"""
    WITH matched AS (
        SELECT t.project_id, t.name, t.bucket, e.value, e.user_id
        FROM touched_minutes t
        -- The range lets a few touched minutes use the (project_id, name, time) index; the equality lets
        -- many (a backfill, a big late batch) use a hash join instead of one index probe per minute.
        JOIN events_event e ON e.project_id = t.project_id AND e.name = t.name
         AND date_trunc('minute', e.time, 'UTC') = t.bucket
         AND e.time >= t.bucket AND e.time < t.bucket + interval '1 minute'
        WHERE e.received_at <= %(watermark)s
    ), totals AS (
        SELECT project_id, name, bucket, count(*) AS count, count(value) AS value_count,
               sum(value) AS value_sum, min(value) AS value_min, max(value) AS value_max
        FROM matched GROUP BY 1, 2, 3
    ), value_sketches AS (
        SELECT project_id, name, bucket, array_agg(key ORDER BY key) AS keys, array_agg(n ORDER BY key) AS counts
        FROM (SELECT project_id, name, bucket, {key_sql("value")} AS key, count(*) AS n
              FROM matched WHERE value IS NOT NULL GROUP BY 1, 2, 3, 4) keyed
        GROUP BY 1, 2, 3
    ), users AS (
        SELECT project_id, name, bucket, array_agg(DISTINCT {HASH_SQL.format(v="user_id")}) AS hashes
        FROM matched WHERE user_id IS NOT NULL GROUP BY 1, 2, 3
    )
    INSERT INTO events_eventrollup ({COLUMNS})
    SELECT project_id, 'minute', name, bucket, count, value_count, value_sum, value_min, value_max,
           v.keys, v.counts, u.hashes, NULL
    FROM totals LEFT JOIN value_sketches v USING (project_id, name, bucket)
    LEFT JOIN users u USING (project_id, name, bucket)
    {UPSERT}
"""
CHILDREN = """
    WITH parents AS (
        SELECT DISTINCT project_id, name, date_trunc(%(level)s, bucket, 'UTC') AS bucket FROM touched_minutes
    ), children AS (
        SELECT p.project_id, p.name, p.bucket AS parent, r.count, r.value_count, r.value_sum, r.value_min,
               r.value_max, r.value_keys, r.value_counts, r.user_hashes, r.user_registers
        FROM parents p JOIN events_eventrollup r ON r.project_id = p.project_id AND r.level = %(finer)s
         AND r.name = p.name AND date_trunc(%(level)s, r.bucket, 'UTC') = p.bucket
         AND r.bucket >= p.bucket AND r.bucket < p.bucket + %(size)s
    )
"""
ROLL_UP_LEVEL = f"""
    {CHILDREN}, totals AS (
        SELECT project_id, name, parent, sum(count) AS count, sum(value_count) AS value_count,
               sum(value_sum) AS value_sum, min(value_min) AS value_min, max(value_max) AS value_max
        FROM children GROUP BY 1, 2, 3
    ), value_sketches AS (
        SELECT project_id, name, parent, array_agg(key ORDER BY key) AS keys, array_agg(n ORDER BY key) AS counts
        FROM (SELECT project_id, name, parent, u.key, sum(u.n)::bigint AS n
              FROM children, unnest(value_keys, value_counts) AS u(key, n) GROUP BY 1, 2, 3, 4) keyed
        GROUP BY 1, 2, 3
    ), users AS (
        -- Exact unions only; parents with a HyperLogLog child or too many users are merged in Python.
        SELECT project_id, name, parent, array_agg(DISTINCT h) AS hashes
        FROM children, unnest(user_hashes) AS h GROUP BY 1, 2, 3
    )
    INSERT INTO events_eventrollup ({COLUMNS})
    SELECT project_id, %(level)s, name, parent, count, value_count, value_sum, value_min, value_max,
           v.keys, v.counts, u.hashes, NULL
    FROM totals LEFT JOIN value_sketches v USING (project_id, name, parent)
    LEFT JOIN users u USING (project_id, name, parent)
    {UPSERT}
"""
LARGE_USER_SETS = f"""
    {CHILDREN}, large AS (
        SELECT project_id, name, parent FROM children GROUP BY 1, 2, 3
        HAVING bool_or(user_registers IS NOT NULL) OR sum(cardinality(user_hashes)) > {EXACT_LIMIT}
    )
    SELECT project_id, name, parent, user_hashes, user_registers
    FROM children JOIN large USING (project_id, name, parent)
"""
ROLL_TAG_HOURS = """
    INSERT INTO events_eventtagrollup (project_id, level, name, tag_key, tag_value, bucket, count)
    SELECT t.project_id, 'hour', t.name, tag.key, tag.value, t.bucket, count(*)
    FROM (SELECT DISTINCT project_id, name, date_trunc('hour', bucket, 'UTC') AS bucket FROM touched_minutes) t
    JOIN events_event e ON e.project_id = t.project_id AND e.name = t.name
     AND date_trunc('hour', e.time, 'UTC') = t.bucket
     AND e.time >= t.bucket AND e.time < t.bucket + interval '1 hour'
    CROSS JOIN LATERAL jsonb_each_text(e.tags) AS tag
    WHERE e.received_at <= %(watermark)s
    GROUP BY 1, 3, 4, 5, 6
    ORDER BY 1, 4, 6, 3, 5
    ON CONFLICT (project_id, tag_key, level, bucket, name, tag_value) DO UPDATE SET count = EXCLUDED.count
"""
ROLL_UP_TAG_LEVEL = """
    INSERT INTO events_eventtagrollup (project_id, level, name, tag_key, tag_value, bucket, count)
    SELECT t.project_id, %(level)s, t.name, r.tag_key, r.tag_value, t.bucket, sum(r.count)
    FROM (SELECT DISTINCT project_id, name, date_trunc(%(level)s, bucket, 'UTC') AS bucket FROM touched_minutes) t
    -- As for minutes: the range for an index scan of a few parents, the equality for a hash join of many.
    JOIN events_eventtagrollup r ON r.project_id = t.project_id AND r.level = %(finer)s AND r.name = t.name
     AND date_trunc(%(level)s, r.bucket, 'UTC') = t.bucket AND r.bucket >= t.bucket AND r.bucket < t.bucket + %(size)s
    GROUP BY 1, 3, 4, 5, 6
    ORDER BY 1, 4, 6, 3, 5
    ON CONFLICT (project_id, tag_key, level, bucket, name, tag_value) DO UPDATE SET count = EXCLUDED.count
"""
LARGE_MINUTE_USER_SETS = f"""
    SELECT r.project_id, r.name, r.bucket, r.user_hashes, r.user_registers
    FROM events_eventrollup r JOIN touched_minutes t USING (project_id, name, bucket)
    WHERE r.level = 'minute' AND cardinality(r.user_hashes) > {EXACT_LIMIT}
"""
STORE_USERS = """
    UPDATE events_eventrollup SET user_hashes = %s, user_registers = %s
    WHERE project_id = %s AND name = %s AND bucket = %s AND level = %s
"""


def roll_up_events(now: datetime, rebuild_project_id: int | None = None) -> RollupRun:
    """Bring the event rollups up to `now - SAFETY_LAG` (or rebuild one project's)."""
    return run_rollup(STREAM, now, rebuild_project_id, roll)


def roll(cursor: object, since: datetime, watermark: datetime, rebuild_project_id: int | None) -> int:
    temp_table(cursor, "touched_minutes", TOUCHED_MINUTES, [since, watermark, rebuild_project_id, rebuild_project_id])
    cursor.execute(ROLL_MINUTES, {"watermark": watermark})
    minutes = cursor.rowcount
    # Tags are rolled up by the hour, straight from raw rows: minute rows per tag value would be nearly as
    # many as the events themselves. Sub-hour edges of tag queries read raw rows instead.
    cursor.execute(ROLL_TAG_HOURS, {"watermark": watermark})
    for level, finer, size in LEVEL_STEPS:
        params = {"level": level, "finer": finer, "size": size}
        if level != "minute":
            cursor.execute(ROLL_UP_LEVEL, params)
        if level == "day":
            cursor.execute(ROLL_UP_TAG_LEVEL, params)
        large = LARGE_MINUTE_USER_SETS if level == "minute" else LARGE_USER_SETS
        merge_cardinalities(cursor, large, params, STORE_USERS, level)
    summarize_received_brin(cursor, "events_event")
    return minutes
