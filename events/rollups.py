"""The events rollup job: merge the raw rows received since the watermark into minute, hour and day buckets.

Each bucket keeps counts, `value` aggregates, a quantile sketch of `value` and the distinct users
(flux.query.sketches), all mergeable; tag rollups keep counts per tag value, by hour and day. A run reads only
the new raw rows, each once (flux.query.rollup_job has the frame and the exactly-once argument).
"""

from datetime import datetime

from events.dictionaries import analyze_stale_dictionaries
from events.sql import EVENTS_TABLE
from flux.query.rollup_job import (
    LEVELS,
    RollupRun,
    RollWindow,
    Stream,
    fold_cardinalities,
    rebuild_rollups,
    run_rollup,
    set_union_sql,
    sketch_merge_sql,
    temp_table,
)
from flux.query.sketches import EXACT_LIMIT, HASH_SQL, key_sql

STREAM = "events"

# Rows of a just-deleted project wait for their purge; they must not be rolled up meanwhile. Raw rows
# carry the ids of their name and tag set (events/sql.py): they are grouped by id, decoded per group.
RAW_ROWS = "events_rawevent e JOIN tenants_project p ON p.id = e.project_id"
NAMES = "events_eventname n ON n.project_id = {rows}.project_id AND n.id = {rows}.name_id"
NEW_ROWS = """e.received_at > %(after)s AND e.received_at <= %(upto)s
              AND (%(project)s::bigint IS NULL OR e.project_id = %(project)s)"""
# One pass over the new raw rows yields every part a run merges, in one temporary table: the minute parts
# (`tagset_id` NULL: counts, value aggregates, the value sketch, the users' hashes per name and minute) and
# the tag parts (counts per name, tag set and hour, merged by MERGE_TAGS). Reading the new rows a second
# time for the tags cost as much as the first pass: on a busy ingest those pages have left shared buffers
# (COPY fills a ring of its own), and the first reader dirties them again by setting hint bits.
NEW_PARTS = f"""
    WITH new_rows AS MATERIALIZED (
        SELECT e.project_id, e.name_id, e.tagset_id, date_trunc('minute', e.time, 'UTC') AS bucket, e.value,
               CASE WHEN e.value IS NOT NULL THEN {key_sql("e.value")} END AS key,
               {HASH_SQL.format(v="e.user_id")} AS user_hash
        FROM {RAW_ROWS} WHERE {NEW_ROWS}
    ), keyed AS (
        SELECT project_id, name_id, bucket, key, count(*) AS n, sum(value) AS value_sum, min(value) AS value_min,
               max(value) AS value_max
        FROM new_rows GROUP BY 1, 2, 3, 4
    ), totals AS (
        -- No ordered aggregate over many rows: PostgreSQL can only sort, not hash, to group for one.
        SELECT project_id, name_id, bucket, sum(n)::bigint AS count,
               coalesce(sum(n) FILTER (WHERE key IS NOT NULL), 0)::bigint AS value_count,
               sum(value_sum) AS value_sum, min(value_min) AS value_min, max(value_max) AS value_max,
               array_agg(key) FILTER (WHERE key IS NOT NULL) AS value_keys,
               array_agg(n) FILTER (WHERE key IS NOT NULL) AS value_counts
        FROM keyed GROUP BY 1, 2, 3
    ), users AS (
        SELECT project_id, name_id, bucket, array_agg(user_hash) AS user_hashes
        FROM (SELECT DISTINCT project_id, name_id, bucket, user_hash FROM new_rows WHERE user_hash IS NOT NULL) d
        GROUP BY 1, 2, 3
    ), parts AS (
        -- Stored sketches and hash sets are sorted: sorted here, per bucket.
        SELECT t.project_id, t.name_id, t.bucket, t.count, t.value_count, t.value_sum, t.value_min, t.value_max,
               (SELECT array_agg(k ORDER BY k) FROM unnest(t.value_keys) AS k) AS value_keys,
               (SELECT array_agg(c ORDER BY k) FROM unnest(t.value_keys, t.value_counts) AS kc(k, c)) AS value_counts,
               NULL::integer AS tagset_id,
               (SELECT array_agg(h ORDER BY h) FROM unnest(u.user_hashes) AS h) AS user_hashes
        FROM totals t LEFT JOIN users u USING (project_id, name_id, bucket)
        UNION ALL
        SELECT project_id, name_id, date_trunc('hour', bucket, 'UTC'), count(*), NULL, NULL, NULL, NULL, NULL, NULL,
               tagset_id, NULL
        FROM new_rows GROUP BY project_id, name_id, tagset_id, date_trunc('hour', bucket, 'UTC')
    )
    SELECT parts.project_id, n.name, parts.tagset_id, parts.bucket, parts.count, parts.value_count, parts.value_sum,
           parts.value_min, parts.value_max, parts.value_keys, parts.value_counts, parts.user_hashes
    FROM parts JOIN {NAMES.format(rows="parts")}
"""
# The minute parts, for the merges and for the hooks (flux.query.rollup_job.TouchedHook).
TOUCHED_MINUTES = """SELECT project_id, name, bucket, count, value_count, value_sum, value_min, value_max, value_keys,
                            value_counts, user_hashes FROM new_parts WHERE tagset_id IS NULL"""
COLUMNS = """project_id, level, name, bucket, count, value_count, value_sum, value_min, value_max,
             value_keys, value_counts, user_hashes, user_registers"""
# The parts of one level (`{source}`) as parts of coarser buckets: counts add, sketches add key by key, user
# sets unite.
COARSER_PARTS = """
    WITH parts AS (
        SELECT project_id, name, date_trunc(%(level)s, bucket, 'UTC') AS bucket, sum(count)::bigint AS count,
               sum(value_count)::bigint AS value_count, sum(value_sum) AS value_sum, min(value_min) AS value_min,
               max(value_max) AS value_max
        FROM {source} GROUP BY 1, 2, 3
    ), keyed AS (
        SELECT project_id, name, bucket, array_agg(key ORDER BY key) AS keys, array_agg(n ORDER BY key) AS counts
        FROM (SELECT project_id, name, date_trunc(%(level)s, bucket, 'UTC') AS bucket, k.key, sum(k.n)::bigint AS n
              FROM {source}, unnest(value_keys, value_counts) AS k(key, n) GROUP BY 1, 2, 3, 4) by_key
        GROUP BY 1, 2, 3
    ), users AS (
        SELECT project_id, name, date_trunc(%(level)s, bucket, 'UTC') AS bucket, array_agg(DISTINCT h) AS hashes
        FROM {source}, unnest(user_hashes) AS h GROUP BY 1, 2, 3
    )
    SELECT parts.*, k.keys, k.counts, u.hashes
    FROM parts LEFT JOIN keyed k USING (project_id, name, bucket) LEFT JOIN users u USING (project_id, name, bucket)
"""
# The new minutes are the parts of the minute buckets; the new hours (made of them) those of the hour buckets,
# and the parts of the day buckets are made of the hours, not again of the minutes: a run's new hours hold
# each user's hash once, its new minutes once per minute.
LEVEL_PARTS = """SELECT project_id, name, bucket, count, value_count, value_sum, value_min, value_max,
                        value_keys AS keys, value_counts AS counts, user_hashes AS hashes FROM {source}"""
TOUCHED_HOURS = f"""SELECT project_id, name, bucket, count, value_count, value_sum, value_min, value_max,
                           keys AS value_keys, counts AS value_counts, hashes AS user_hashes
                    FROM ({COARSER_PARTS.format(source="touched_minutes")}) hours"""
# Merge the parts into the buckets of one level. The SET expressions see the stored row (`r`) and the
# part (EXCLUDED). User sets past EXACT_LIMIT, or beside HyperLogLog registers, are folded in Python:
# the merge returns those buckets.
MERGE = f"""
    WITH merged AS (
        INSERT INTO events_eventrollup AS r ({COLUMNS})
        SELECT project_id, %(level)s, name, bucket, count, value_count, value_sum, value_min, value_max,
               keys, counts, hashes, NULL
        FROM ({{parts}}) parts
        ORDER BY 1, 3, 4
        ON CONFLICT (project_id, level, name, bucket) DO UPDATE SET
            count = r.count + EXCLUDED.count,
            value_count = r.value_count + EXCLUDED.value_count,
            value_sum = coalesce(r.value_sum + EXCLUDED.value_sum, r.value_sum, EXCLUDED.value_sum),
            value_min = least(r.value_min, EXCLUDED.value_min),
            value_max = greatest(r.value_max, EXCLUDED.value_max),
            {sketch_merge_sql("value_keys", "value_counts")},
            {set_union_sql("user_hashes")}
        RETURNING r.project_id, r.level, r.name, r.bucket, r.user_hashes, r.user_registers
    )
    SELECT project_id, level, name, bucket, user_hashes, user_registers FROM merged
    WHERE cardinality(user_hashes) > {EXACT_LIMIT} OR (user_hashes IS NOT NULL AND user_registers IS NOT NULL)
"""
MERGE_BY_LEVEL = {
    "minute": MERGE.format(parts=LEVEL_PARTS.format(source="touched_minutes")),
    "hour": MERGE.format(parts=LEVEL_PARTS.format(source="touched_hours")),
    "day": MERGE.format(parts=COARSER_PARTS.format(source="touched_hours")),
}
STORE_USERS = """
    UPDATE events_eventrollup SET user_hashes = %s, user_registers = %s
    WHERE project_id = %s AND level = %s AND name = %s AND bucket = %s
"""
# Tags are rolled up by the hour and day: minute rows per tag value would be nearly as many as the events
# themselves (sub-hour edges of tag queries read raw rows instead). Each tag set of the run is expanded
# once, from its dictionary entry, not once per raw row.
TAG_UPSERT = """
    ORDER BY project_id, tag_key, bucket, name, tag_value
    ON CONFLICT (project_id, tag_key, level, bucket, name, tag_value) DO UPDATE SET count = r.count + EXCLUDED.count
"""
MERGE_TAGS = f"""
    WITH parts AS (
        SELECT p.project_id, p.name, tag.key AS tag_key, tag.value AS tag_value, p.bucket, sum(p.count)::bigint AS count
        FROM new_parts p
        JOIN events_eventtagset s ON s.project_id = p.project_id AND s.id = p.tagset_id
        CROSS JOIN LATERAL jsonb_each_text(s.tags) AS tag
        WHERE p.tagset_id IS NOT NULL
        GROUP BY 1, 2, 3, 4, 5
    ), hours AS (
        INSERT INTO events_eventtagrollup AS r (project_id, level, name, tag_key, tag_value, bucket, count)
        SELECT project_id, 'hour', name, tag_key, tag_value, bucket, count FROM parts
        {TAG_UPSERT}
    )
    INSERT INTO events_eventtagrollup AS r (project_id, level, name, tag_key, tag_value, bucket, count)
    SELECT project_id, 'day', name, tag_key, tag_value, bucket, count
    FROM (SELECT project_id, name, tag_key, tag_value, date_trunc('day', bucket, 'UTC') AS bucket, sum(count) AS count
          FROM parts GROUP BY 1, 2, 3, 4, 5) days
    {TAG_UPSERT}
"""
TOUCHED_SIZE = "SELECT count(*), coalesce(sum(count), 0)::bigint FROM touched_minutes"


def roll(cursor: object, window: RollWindow) -> tuple[int, int]:
    analyze_stale_dictionaries(cursor)  # this run decodes through them, and so do raw queries
    # The planner cannot know how many rows arrived since the watermark (statistics lag behind the newest
    # received_at), guesses a handful and sorts them all to group them; hashing costs a fraction of that.
    cursor.execute("SET LOCAL enable_sort = off")
    temp_table(cursor, "new_parts", NEW_PARTS, window.params())
    cursor.execute("SET LOCAL enable_sort = on")
    temp_table(cursor, "touched_minutes", TOUCHED_MINUTES, {})
    temp_table(cursor, "touched_hours", TOUCHED_HOURS, {"level": "hour"})
    cursor.execute(TOUCHED_SIZE)
    minutes, rows = cursor.fetchone()
    if not minutes:
        return 0, 0
    for level in LEVELS:
        fold_cardinalities(cursor, MERGE_BY_LEVEL[level], {"level": level}, STORE_USERS)
    cursor.execute(MERGE_TAGS)
    return minutes, rows


EVENTS = Stream(STREAM, EVENTS_TABLE.name, ("events_eventrollup", "events_eventtagrollup"), roll)


def roll_up_events(now: datetime | None = None, wait: bool = False) -> RollupRun:
    """Merge the events received since the watermark into the rollups (skipped if a run is under way)."""
    return run_rollup(EVENTS, now, wait)


def rebuild_event_rollups(project_id: int) -> RollupRun:
    """Recompute one project's event rollups from its raw rows."""
    return rebuild_rollups(EVENTS, project_id)
