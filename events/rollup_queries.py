"""Event counts answered from rollups plus raw rows: the rollups up to the watermark, raw rows for the
sub-minute edges of the range and for everything received after the watermark (late data included).

Only name filters can be answered from rollups; callers fall back to the raw path for other filters.
"""

from collections import Counter
from datetime import datetime
from typing import Any

from events.rollups import STREAM
from flux.query.db import fetch_all, read_snapshot
from flux.query.event_filter import EventFilter, glob_to_like
from flux.query.partial_query import Key as PartialKey
from flux.query.partial_query import Source, read_partials
from flux.query.partials import Partial
from flux.query.rollup_cover import cover, levels_for_interval, ranges_condition
from flux.query.rollup_job import current_watermark
from flux.query.timerange import TimeRange, bucket_sql
from flux.tenants.models import Project

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
    project: Project, time_range: TimeRange, event_filter: EventFilter, interval: str | None, group: str | None
) -> Counter[Key]:
    """Counts keyed by (group key or None, bucket start or None), equal to what the raw rows give.

    `group` is None, "name" or "tags.<key>"; grouped by a tag, only events that have the tag count.
    """
    with read_snapshot():
        watermark = current_watermark(STREAM)
        levels = levels_for_interval(time_range, interval)
        tag_key = group.removeprefix("tags.") if group and group.startswith("tags.") else None
        if tag_key is not None:
            levels = tuple(level for level in levels if level != "minute")  # tags are rolled up by the hour
        pieces = cover(time_range.start, time_range.end, levels if watermark else ())
        rolled = [piece for piece in pieces if piece.source != "raw"]
        raw = [piece for piece in pieces if piece.source == "raw"]
        names, name_params = name_condition(event_filter)
        counts: Counter[Key] = Counter()
        if rolled:
            table, group_key, extra = "events_eventrollup", "name" if group else "NULL::text", "TRUE"
            if tag_key is not None:
                table, group_key, extra = "events_eventtagrollup", "tag_value", "tag_key = %s"
            bucket, bucket_params = bucket_column(interval, time_range, "bucket")
            condition, params = ranges_condition(rolled, "bucket", with_level=True)
            sql = f"""SELECT {group_key}, {bucket}, sum(count)::bigint FROM {table}
                      WHERE project_id = %s AND {names} AND {extra} AND ({condition}) GROUP BY 1, 2"""
            extra_params = [tag_key] if tag_key is not None else []
            counts.update(run(sql, [*bucket_params, project.pk, *name_params, *extra_params, *params]))
        group_key, group_params, extra = "name" if group else "NULL::text", [], "TRUE"
        if tag_key is not None:
            group_key, group_params, extra = "tags ->> %s", [tag_key], "tags ? %s"
        bucket, bucket_params = bucket_column(interval, time_range, "time")
        base = f"""SELECT {group_key}, {bucket}, count(*) FROM events_event
                   WHERE project_id = %s AND {names} AND {extra}"""
        base_params = [*group_params, *bucket_params, project.pk, *name_params, *group_params]
        for piece in raw:
            sql = f"{base} AND time >= %s AND time < %s GROUP BY 1, 2"
            counts.update(run(sql, [*base_params, piece.start, piece.end]))
        if rolled:
            # Received after the watermark (new or late data), in the part the rollups answered.
            condition, params = ranges_condition(rolled, "time", with_level=False)
            sql = f"{base} AND received_at > %s AND ({condition}) GROUP BY 1, 2"
            counts.update(run(sql, [*base_params, watermark, *params]))
    return counts


def bucket_column(interval: str | None, time_range: TimeRange, column: str) -> tuple[str, list]:
    return bucket_sql(interval, time_range, column) if interval else ("NULL::timestamptz", [])


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
