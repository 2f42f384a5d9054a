"""The metrics rollup job: recompute exactly the minute, hour and day buckets of each series that new
points touched; minutes from raw points, hours from minutes, days from hours (frame: flux.rollup_job).
Every bucket keeps count/sum/min/max/last; distributions add a quantile sketch, sets their members."""

from datetime import datetime

from flux.rollup_job import LEVEL_STEPS, RollupRun, merge_cardinalities, run_rollup, summarize_received_brin, temp_table
from flux.sketches import EXACT_LIMIT, HASH_SQL, key_sql

STREAM = "metrics"

TOUCHED_MINUTES = """
    SELECT DISTINCT p.project_id, p.series_id, date_trunc('minute', p.time, 'UTC') AS bucket,
           m.type = 'distribution' AS sketched
    FROM metrics_point p
    -- Series of a deleted project are gone with it; its raw points wait for their purge.
    JOIN metrics_metricseries s ON s.id = p.series_id JOIN metrics_metric m ON m.id = s.metric_id
    WHERE p.received_at > %s AND p.received_at <= %s AND (%s::bigint IS NULL OR p.project_id = %s)
"""
COLUMNS = """project_id, series_id, level, bucket, count, sum, min, max, last, last_time,
             sketch_keys, sketch_counts, member_hashes, member_registers"""
UPSERT = """
    ORDER BY 2, 3, 4
    ON CONFLICT (series_id, level, bucket) DO UPDATE SET
        count = EXCLUDED.count, sum = EXCLUDED.sum, min = EXCLUDED.min, max = EXCLUDED.max,
        last = EXCLUDED.last, last_time = EXCLUDED.last_time, sketch_keys = EXCLUDED.sketch_keys,
        sketch_counts = EXCLUDED.sketch_counts, member_hashes = EXCLUDED.member_hashes,
        member_registers = EXCLUDED.member_registers
"""
ROLL_MINUTES = f"""
    WITH matched AS (
        SELECT t.project_id, t.series_id, t.bucket, t.sketched, p.time, p.value, p.member
        FROM touched_minutes t
        JOIN metrics_point p ON p.series_id = t.series_id
         AND date_trunc('minute', p.time, 'UTC') = t.bucket
         AND p.time >= t.bucket AND p.time < t.bucket + interval '1 minute'
        WHERE p.received_at <= %(watermark)s
    ), totals AS (
        -- "last" breaks ties of time by the larger value, exactly as the raw path does.
        SELECT project_id, series_id, bucket, count(*) AS count, sum(value) AS sum, min(value) AS min,
               max(value) AS max, (array_agg(value ORDER BY time DESC, value DESC))[1] AS last,
               max(time) AS last_time
        FROM matched GROUP BY 1, 2, 3
    ), sketches AS (
        SELECT series_id, bucket, array_agg(key ORDER BY key) AS keys, array_agg(n ORDER BY key) AS counts
        FROM (SELECT series_id, bucket, {key_sql("value")} AS key, count(*) AS n
              FROM matched WHERE sketched GROUP BY 1, 2, 3) keyed
        GROUP BY 1, 2
    ), members AS (
        SELECT series_id, bucket, array_agg(DISTINCT {HASH_SQL.format(v="member")}) AS hashes
        FROM matched WHERE member IS NOT NULL GROUP BY 1, 2
    )
    INSERT INTO metrics_metricrollup ({COLUMNS})
    SELECT project_id, series_id, 'minute', bucket, count, sum, min, max, last, last_time,
           k.keys, k.counts, m.hashes, NULL
    FROM totals LEFT JOIN sketches k USING (series_id, bucket) LEFT JOIN members m USING (series_id, bucket)
    {UPSERT}
"""
CHILDREN = """
    WITH parents AS (
        SELECT DISTINCT series_id, date_trunc(%(level)s, bucket, 'UTC') AS bucket FROM touched_minutes
    ), children AS (
        SELECT r.project_id, p.series_id, p.bucket AS parent, r.count, r.sum, r.min, r.max, r.last,
               r.last_time, r.sketch_keys, r.sketch_counts, r.member_hashes, r.member_registers
        FROM parents p JOIN metrics_metricrollup r ON r.series_id = p.series_id AND r.level = %(finer)s
         AND date_trunc(%(level)s, r.bucket, 'UTC') = p.bucket
         AND r.bucket >= p.bucket AND r.bucket < p.bucket + %(size)s
    )
"""
ROLL_UP_LEVEL = f"""
    {CHILDREN}, totals AS (
        SELECT project_id, series_id, parent, sum(count) AS count, sum(sum) AS sum, min(min) AS min,
               max(max) AS max, (array_agg(last ORDER BY last_time DESC, last DESC))[1] AS last,
               max(last_time) AS last_time
        FROM children GROUP BY 1, 2, 3
    ), sketches AS (
        SELECT series_id, parent, array_agg(key ORDER BY key) AS keys, array_agg(n ORDER BY key) AS counts
        FROM (SELECT series_id, parent, u.key, sum(u.n)::bigint AS n
              FROM children, unnest(sketch_keys, sketch_counts) AS u(key, n) GROUP BY 1, 2, 3) keyed
        GROUP BY 1, 2
    ), members AS (
        -- Exact unions only; parents with a HyperLogLog child or too many members are merged in Python.
        SELECT series_id, parent, array_agg(DISTINCT h) AS hashes
        FROM children, unnest(member_hashes) AS h GROUP BY 1, 2
    )
    INSERT INTO metrics_metricrollup ({COLUMNS})
    SELECT project_id, series_id, %(level)s, parent, count, sum, min, max, last, last_time,
           k.keys, k.counts, m.hashes, NULL
    FROM totals LEFT JOIN sketches k USING (series_id, parent) LEFT JOIN members m USING (series_id, parent)
    {UPSERT}
"""
LARGE_MEMBER_SETS = f"""
    {CHILDREN}, large AS (
        SELECT series_id, parent FROM children GROUP BY 1, 2
        HAVING bool_or(member_registers IS NOT NULL) OR sum(cardinality(member_hashes)) > {EXACT_LIMIT}
    )
    SELECT series_id, parent, member_hashes, member_registers FROM children JOIN large USING (series_id, parent)
"""
LARGE_MINUTE_MEMBER_SETS = f"""
    SELECT r.series_id, r.bucket, r.member_hashes, r.member_registers
    FROM metrics_metricrollup r JOIN touched_minutes t USING (series_id, bucket)
    WHERE r.level = 'minute' AND cardinality(r.member_hashes) > {EXACT_LIMIT}
"""
STORE_MEMBERS = """
    UPDATE metrics_metricrollup SET member_hashes = %s, member_registers = %s
    WHERE series_id = %s AND bucket = %s AND level = %s
"""


def roll_up_metrics(now: datetime, rebuild_project_id: int | None = None) -> RollupRun:
    """Bring the metric rollups up to `now - SAFETY_LAG` (or rebuild one project's)."""
    return run_rollup(STREAM, now, rebuild_project_id, roll)


def roll(cursor: object, since: datetime, watermark: datetime, rebuild_project_id: int | None) -> int:
    temp_table(cursor, "touched_minutes", TOUCHED_MINUTES, [since, watermark, rebuild_project_id, rebuild_project_id])
    cursor.execute(ROLL_MINUTES, {"watermark": watermark})
    minutes = cursor.rowcount
    for level, finer, size in LEVEL_STEPS:
        params = {"level": level, "finer": finer, "size": size}
        if level != "minute":
            cursor.execute(ROLL_UP_LEVEL, params)
        large = LARGE_MINUTE_MEMBER_SETS if level == "minute" else LARGE_MEMBER_SETS
        merge_cardinalities(cursor, large, params, STORE_MEMBERS, level)
    summarize_received_brin(cursor, "metrics_point")
    return minutes
