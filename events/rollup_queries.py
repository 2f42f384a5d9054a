"""Event counts answered from rollups plus raw rows: the rollups up to the watermark, raw rows for the
sub-minute edges of the range and for everything received after the watermark (late data included).

Only name filters can be answered from rollups; callers fall back to the raw path for other filters.
"""

from collections import Counter
from datetime import datetime
from typing import Any

from events.filters import EventFilter, glob_to_like
from events.rollups import STREAM
from flux.db import fetch_all
from flux.partial_query import Key as PartialKey
from flux.partial_query import Source, read_partials
from flux.partials import Partial
from flux.rollup_cover import cover, levels_for_buckets, ranges_condition
from flux.rollup_job import current_watermark
from flux.tenants.models import Project
from flux.timerange import TimeRange, approximate_seconds, bucket_sql, bucket_starts

Key = tuple[str | None, datetime | None]  # (name when grouped by name, bucket when bucketed)


def rollups_can_answer(event_filter: EventFilter) -> bool:
    return event_filter == EventFilter(name=event_filter.name)


def name_condition(event_filter: EventFilter) -> tuple[str, list[Any]]:
    if not event_filter.name:
        return "TRUE", []
    if "*" in event_filter.name or "?" in event_filter.name:
        return "name LIKE %s", [glob_to_like(event_filter.name)]
    return "name = %s", [event_filter.name]


def rolled_counts(
    project: Project, time_range: TimeRange, event_filter: EventFilter, interval: str | None, by_name: bool
) -> Counter[Key]:
    """Counts keyed by (name or None, bucket start or None), equal to what the raw rows give."""
    watermark = current_watermark(STREAM)
    if interval:
        levels = levels_for_buckets(bucket_starts(time_range, interval)[1:], approximate_seconds(interval))
    else:
        levels = ("minute", "hour", "day")
    pieces = cover(time_range.start, time_range.end, levels if watermark else ())
    rolled = [piece for piece in pieces if piece.source != "raw"]
    raw = [piece for piece in pieces if piece.source == "raw"]
    names, name_params = name_condition(event_filter)
    group_sql, group_params = group_columns(interval, time_range, by_name, "bucket")
    counts: Counter[Key] = Counter()
    if rolled:
        condition, params = ranges_condition(rolled, "bucket", with_level=True)
        sql = f"""SELECT {group_sql}, sum(count)::bigint FROM events_eventrollup
                  WHERE project_id = %s AND {names} AND ({condition}) GROUP BY 1, 2"""
        counts.update(run(sql, [*group_params, project.pk, *name_params, *params]))
    raw_group_sql, raw_group_params = group_columns(interval, time_range, by_name, "time")
    base = f"SELECT {raw_group_sql}, count(*) FROM events_event WHERE project_id = %s AND {names}"
    for piece in raw:
        sql = f"{base} AND time >= %s AND time < %s GROUP BY 1, 2"
        counts.update(run(sql, [*raw_group_params, project.pk, *name_params, piece.start, piece.end]))
    if rolled:
        # Received after the watermark (new or late data), in the part the rollups answered.
        condition, params = ranges_condition(rolled, "time", with_level=False)
        sql = f"{base} AND received_at > %s AND ({condition}) GROUP BY 1, 2"
        counts.update(run(sql, [*raw_group_params, project.pk, *name_params, watermark, *params]))
    return counts


def group_columns(interval: str | None, time_range: TimeRange, by_name: bool, column: str) -> tuple[str, list]:
    name_sql = "name" if by_name else "NULL::text"
    if interval is None:
        return f"{name_sql}, NULL::timestamptz", []
    bucket, params = bucket_sql(interval, time_range, column)
    return f"{name_sql}, {bucket}", params


def run(sql: str, params: list[Any]) -> Counter[Key]:
    return Counter({(name, bucket): count for name, bucket, count in fetch_all(sql, params)})


def event_partials(
    project: Project, time_range: TimeRange, event_filter: EventFilter, interval: str | None, needs: set[str]
) -> dict[PartialKey, Partial]:
    """Partials of `value` (totals, sketch) and of `user_id` (members) per bucket, for a name filter."""
    names, name_params = name_condition(event_filter)
    source = Source(
        stream=STREAM,
        rollup_from="events_eventrollup r",
        rollup_where=f"r.project_id = %s AND {names}",
        rollup_params=[project.pk, *name_params],
        rollup_totals="r.value_count, r.value_sum, r.value_min, r.value_max, NULL::float8, NULL::timestamptz",
        rollup_sketch="r.value_keys, r.value_counts",
        rollup_members="r.user_hashes, r.user_registers",
        raw_from="events_event p",
        raw_where=f"p.project_id = %s AND {names}",
        raw_params=[project.pk, *name_params],
        raw_value="p.value",
        raw_member="p.user_id",
        raw_last="NULL::float8, NULL::timestamptz",
    )
    return read_partials(source, time_range, interval, needs)
