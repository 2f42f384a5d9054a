"""The metrics rollup job: merge the points received since the watermark into each series' minute, hour
and day buckets (frame and exactly-once argument: flux.query.rollup_job). Every bucket keeps
count/sum/min/max/last; distributions add a quantile sketch, sets their members; all of them merge."""

from datetime import datetime

from flux.query.rollup_job import (
    LEVELS,
    RollupRun,
    RollWindow,
    Stream,
    fold_cardinalities,
    merge_by_level,
    rebuild_rollups,
    run_rollup,
    set_union_sql,
    sketch_merge_sql,
    temp_table,
)
from flux.query.sketches import EXACT_LIMIT, HASH_SQL, key_sql

STREAM = "metrics"

TOUCHED_MINUTES = f"""
    WITH new_points AS (
        SELECT p.project_id, p.series_id, date_trunc('minute', p.time, 'UTC') AS bucket, p.time, p.value, p.member,
               m.type = 'distribution' AS sketched
        FROM metrics_point p
        -- Series of a deleted project are gone with it; its raw points wait for their purge.
        JOIN metrics_metricseries s ON s.project_id = p.project_id AND s.id = p.series_id
        JOIN metrics_metric m ON m.project_id = s.project_id AND m.id = s.metric_id
        WHERE p.received_at > %(after)s AND p.received_at <= %(upto)s
          AND (%(project)s::bigint IS NULL OR p.project_id = %(project)s)
    ), totals AS (
        -- "last" breaks ties of time by the larger value, exactly as the raw path does.
        SELECT project_id, series_id, bucket, count(*) AS count, sum(value) AS sum, min(value) AS min,
               max(value) AS max, (array_agg(value ORDER BY time DESC, value DESC))[1] AS last,
               max(time) AS last_time
        FROM new_points GROUP BY 1, 2, 3
    ), sketches AS (
        SELECT project_id, series_id, bucket, array_agg(key ORDER BY key) AS sketch_keys,
               array_agg(n ORDER BY key) AS sketch_counts
        FROM (SELECT project_id, series_id, bucket, {key_sql("value")} AS key, count(*) AS n
              FROM new_points WHERE sketched GROUP BY 1, 2, 3, 4) keyed
        GROUP BY 1, 2, 3
    ), members AS (
        SELECT project_id, series_id, bucket, array_agg(DISTINCT {HASH_SQL.format(v="member")}) AS member_hashes
        FROM new_points WHERE member IS NOT NULL GROUP BY 1, 2, 3
    )
    SELECT t.*, k.sketch_keys, k.sketch_counts, m.member_hashes
    FROM totals t LEFT JOIN sketches k USING (project_id, series_id, bucket)
    LEFT JOIN members m USING (project_id, series_id, bucket)
"""
COLUMNS = """project_id, series_id, level, bucket, count, sum, min, max, last, last_time,
             sketch_keys, sketch_counts, member_hashes, member_registers"""
# The new minutes as parts of coarser buckets; as for events (events.rollups.MINUTES_AS_PARTS).
MINUTES_AS_PARTS = """
    WITH parts AS (
        SELECT project_id, series_id, date_trunc(%(level)s, bucket, 'UTC') AS bucket, sum(count)::bigint AS count,
               sum(sum) AS sum, min(min) AS min, max(max) AS max,
               (array_agg(last ORDER BY last_time DESC, last DESC))[1] AS last, max(last_time) AS last_time
        FROM touched_minutes GROUP BY 1, 2, 3
    ), keyed AS (
        SELECT project_id, series_id, bucket, array_agg(key ORDER BY key) AS keys, array_agg(n ORDER BY key) AS counts
        FROM (SELECT project_id, series_id, date_trunc(%(level)s, bucket, 'UTC') AS bucket, k.key, sum(k.n)::bigint AS n
              FROM touched_minutes, unnest(sketch_keys, sketch_counts) AS k(key, n) GROUP BY 1, 2, 3, 4) by_key
        GROUP BY 1, 2, 3
    ), members AS (
        SELECT project_id, series_id, date_trunc(%(level)s, bucket, 'UTC') AS bucket, array_agg(DISTINCT h) AS hashes
        FROM touched_minutes, unnest(member_hashes) AS h GROUP BY 1, 2, 3
    )
    SELECT parts.*, k.keys, k.counts, m.hashes
    FROM parts LEFT JOIN keyed k USING (project_id, series_id, bucket)
    LEFT JOIN members m USING (project_id, series_id, bucket)
"""
MINUTES = """SELECT project_id, series_id, bucket, count, sum, min, max, last, last_time,
                    sketch_keys AS keys, sketch_counts AS counts, member_hashes AS hashes FROM touched_minutes"""
# Merge the parts into the buckets of one level; as for events (events.rollups.MERGE).
MERGE = f"""
    WITH merged AS (
        INSERT INTO metrics_metricrollup AS r ({COLUMNS})
        SELECT project_id, series_id, %(level)s, bucket, count, sum, min, max, last, last_time,
               keys, counts, hashes, NULL
        FROM ({{parts}}) parts
        ORDER BY 1, 2, 4
        ON CONFLICT (project_id, series_id, level, bucket) DO UPDATE SET
            count = r.count + EXCLUDED.count,
            sum = r.sum + EXCLUDED.sum,
            min = least(r.min, EXCLUDED.min),
            max = greatest(r.max, EXCLUDED.max),
            last = CASE WHEN (EXCLUDED.last_time, EXCLUDED.last) > (r.last_time, r.last) THEN EXCLUDED.last
                        ELSE r.last END,
            last_time = greatest(r.last_time, EXCLUDED.last_time),
            {sketch_merge_sql("sketch_keys", "sketch_counts")},
            {set_union_sql("member_hashes")}
        RETURNING r.project_id, r.series_id, r.level, r.bucket, r.member_hashes, r.member_registers
    )
    SELECT project_id, series_id, level, bucket, member_hashes, member_registers FROM merged
    WHERE cardinality(member_hashes) > {EXACT_LIMIT} OR (member_hashes IS NOT NULL AND member_registers IS NOT NULL)
"""
MERGE_BY_LEVEL = merge_by_level(MERGE, MINUTES, MINUTES_AS_PARTS)
STORE_MEMBERS = """
    UPDATE metrics_metricrollup SET member_hashes = %s, member_registers = %s
    WHERE project_id = %s AND series_id = %s AND level = %s AND bucket = %s
"""
TOUCHED_SIZE = "SELECT count(*), coalesce(sum(count), 0)::bigint FROM touched_minutes"


def roll(cursor: object, window: RollWindow) -> tuple[int, int]:
    temp_table(cursor, "touched_minutes", TOUCHED_MINUTES, window.params())
    cursor.execute(TOUCHED_SIZE)
    minutes, rows = cursor.fetchone()
    if not minutes:
        return 0, 0
    for level in LEVELS:
        fold_cardinalities(cursor, MERGE_BY_LEVEL[level], {"level": level}, STORE_MEMBERS)
    return minutes, rows


METRICS = Stream(STREAM, "metrics_point", ("metrics_metricrollup",), roll)


def roll_up_metrics(now: datetime | None = None, wait: bool = False) -> RollupRun:
    """Merge the points received since the watermark into the rollups (skipped if a run is under way)."""
    return run_rollup(METRICS, now, wait)


def rebuild_metric_rollups(project_id: int) -> RollupRun:
    """Recompute one project's metric rollups from its raw points."""
    return rebuild_rollups(METRICS, project_id)
