"""Reads of raw events. Every function takes the project first; nothing here reads across projects."""

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from events.models import Event
from events.rollup_queries import event_partials, rolled_counts, rollups_can_answer
from events.rollups import STREAM
from flux.query.db import fetch_all, read_snapshot
from flux.query.event_filter import EventFilter, field_expression, where_clause
from flux.query.partial_query import MEMBERS, SKETCH, TOTALS
from flux.query.partials import Partial
from flux.query.query_params import page_cursor
from flux.query.rollup_job import current_watermark
from flux.query.timerange import TimeRange, bucket_sql, bucket_starts
from flux.tenants.models import Project

PERCENTILES = (0.5, 0.9, 0.95, 0.99)
# The rollup stream other apps follow by name: its watermark and touched hooks (flux.query.rollup_job).
ROLLUP_STREAM = STREAM
STAT_MEASURES = ("sum", "avg", "min", "max", "p50", "p90", "p95", "p99")  # value_stats' statistics besides count


@dataclass(frozen=True)
class Page:
    events: list[Event]
    next_cursor: str | None


def list_events(
    project: Project, time_range: TimeRange, event_filter: EventFilter, limit: int, after: tuple[datetime, int] | None
) -> Page:
    """Events newest first, `limit` at a time; `after` is the (time, id) of the last event already seen."""
    where, params = where_clause(project.pk, time_range, event_filter)
    if after is not None:
        where += " AND (time, id) < (%s, %s)"
        params += list(after)
    events = list(
        Event.objects.raw(
            f"SELECT * FROM events_event WHERE {where} ORDER BY time DESC, id DESC LIMIT %s", [*params, limit + 1]
        )
    )
    has_more = len(events) > limit
    events = events[:limit]
    return Page(events, page_cursor(events[-1].time, events[-1].id) if has_more else None)


def get_event(project: Project, event_id: int) -> Event | None:
    return Event.objects.filter(project_id=project.pk, id=event_id).first()


def count_events(project: Project, time_range: TimeRange, event_filter: EventFilter) -> int:
    """How many events match; from rollups when the filter allows, else from raw rows."""
    if rollups_can_answer(event_filter):
        return sum(rolled_counts(project, time_range, event_filter, None, None).values())
    return count_events_raw(project, time_range, event_filter)


def count_events_raw(project: Project, time_range: TimeRange, event_filter: EventFilter) -> int:
    where, params = where_clause(project.pk, time_range, event_filter)
    return fetch_all(f"SELECT count(*) FROM events_event WHERE {where}", params)[0][0]


def count_series(
    project: Project, time_range: TimeRange, event_filter: EventFilter, interval: str
) -> list[tuple[datetime, int]]:
    """Counts per bucket, every bucket of the range present (zero when empty)."""
    if rollups_can_answer(event_filter):
        rolled = rolled_counts(project, time_range, event_filter, interval, None)
        counts = {bucket: count for (_, bucket), count in rolled.items()}
    else:
        counts = count_by_bucket_raw(project, time_range, event_filter, interval)
    return [(start, counts.get(start, 0)) for start in bucket_starts(time_range, interval)]


def count_by_bucket_raw(
    project: Project, time_range: TimeRange, event_filter: EventFilter, interval: str
) -> dict[datetime, int]:
    bucket, bucket_params = bucket_sql(interval, time_range)
    where, params = where_clause(project.pk, time_range, event_filter)
    return dict(
        fetch_all(f"SELECT {bucket}, count(*) FROM events_event WHERE {where} GROUP BY 1", [*bucket_params, *params])
    )


@dataclass(frozen=True)
class Group:
    key: str | None
    count: int
    points: list[tuple[datetime, int]] | None = None


def count_groups(
    project: Project, time_range: TimeRange, event_filter: EventFilter, group_by: str, limit: int,
    interval: str | None = None,
) -> list[Group]:  # fmt: skip
    """The `limit` largest groups by count, then `__other__` for the rest (when there is a rest).
    Events without the grouped field form the group with key None."""
    if rollups_can_answer(event_filter) and (group_by == "name" or group_by.startswith("tags.")):
        return groups_from_rollups(project, time_range, event_filter, group_by, limit, interval)
    return count_groups_raw(project, time_range, event_filter, group_by, limit, interval)


def count_groups_raw(
    project: Project, time_range: TimeRange, event_filter: EventFilter, group_by: str, limit: int,
    interval: str | None = None,
) -> list[Group]:  # fmt: skip
    key_sql, key_params = field_expression(group_by)
    where, params = where_clause(project.pk, time_range, event_filter)
    top = fetch_all(
        f"SELECT {key_sql}, count(*) FROM events_event WHERE {where} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT %s",
        [*key_params, *params, limit],
    )
    total = count_events(project, time_range, event_filter)
    groups = [Group(key, count) for key, count in top]
    other = total - sum(count for _, count in top)
    if interval is None:
        return groups + ([Group("__other__", other)] if other else [])
    bucket, bucket_params = bucket_sql(interval, time_range)
    keys = [key for key, _ in top if key is not None]
    rows = fetch_all(
        f"""
        SELECT {key_sql}, {bucket}, count(*) FROM events_event
        WHERE {where} AND ({key_sql} = ANY(%s) OR ({key_sql} IS NULL AND %s))
        GROUP BY 1, 2
        """,
        [*key_params, *bucket_params, *params, *key_params, keys, *key_params, len(keys) < len(top)],
    )
    per_key: dict[str | None, dict[datetime, int]] = {}
    for key, start, count in rows:
        per_key.setdefault(key, {})[start] = count
    starts = bucket_starts(time_range, interval)
    overall = dict(count_series(project, time_range, event_filter, interval))
    result = [
        Group(group.key, group.count, [(s, per_key.get(group.key, {}).get(s, 0)) for s in starts]) for group in groups
    ]
    if other:
        shown = {start: sum(per_key.get(group.key, {}).get(start, 0) for group in groups) for start in starts}
        result.append(Group("__other__", other, [(start, overall[start] - shown[start]) for start in starts]))
    return result


def groups_from_rollups(
    project: Project, time_range: TimeRange, event_filter: EventFilter, group_by: str, limit: int,
    interval: str | None,
) -> list[Group]:  # fmt: skip
    counts = rolled_counts(project, time_range, event_filter, interval, group_by)
    if group_by != "name":
        # Events without the tag: all events less the tagged ones, bucket by bucket.
        untagged = rolled_counts(project, time_range, event_filter, interval, None)
        for (_, bucket), count in list(counts.items()):
            untagged[None, bucket] -= count
        counts.update(+untagged)
    totals: Counter[str | None] = Counter()
    for (key, _), count in counts.items():
        totals[key] += count
    # As the raw path orders: biggest first, then by key with the missing key last.
    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0] is None, item[0] or ""))
    top, rest = ranked[:limit], ranked[limit:]
    starts = bucket_starts(time_range, interval) if interval else []

    def points(keys: set[str | None]) -> list[tuple[datetime, int]] | None:
        if not interval:
            return None
        per_bucket: Counter[datetime] = Counter()
        for (key, bucket), count in counts.items():
            if key in keys:
                per_bucket[bucket] += count
        return [(start, per_bucket[start]) for start in starts]

    groups = [Group(key, count, points({key})) for key, count in top]
    if rest:
        groups.append(Group("__other__", sum(count for _, count in rest), points({key for key, _ in rest})))
    return groups


STATS_SQL = """count(value), sum(value), avg(value), min(value), max(value),
               percentile_cont(%s::float8[]) WITHIN GROUP (ORDER BY value)"""


def stats_dict(count: int, total: float, average: float, minimum: float, maximum: float, percentiles: list) -> dict:
    stats = {"count": count, "sum": total, "avg": average, "min": minimum, "max": maximum}
    for fraction, value in zip(PERCENTILES, percentiles or [None] * len(PERCENTILES), strict=True):
        stats[f"p{round(fraction * 100)}"] = value
    return stats


def stats_of_partial(partial: Partial | None) -> dict:
    if partial is None or not partial.count:
        return stats_dict(0, None, None, None, None, None)
    percentiles = [partial.value(f"p{round(fraction * 100)}", 0) for fraction in PERCENTILES]
    return stats_dict(partial.count, partial.sum, partial.sum / partial.count, partial.min, partial.max, percentiles)


def value_stats(project: Project, time_range: TimeRange, event_filter: EventFilter) -> dict[str, float | int | None]:
    """count, sum, avg, min, max and percentiles of `value` (events without a value are not counted).
    From rollups when the filter allows (percentiles then within 1%), else from raw rows."""
    if rollups_can_answer(event_filter):
        partials = event_partials(project, time_range, event_filter, None, {TOTALS, SKETCH})
        return stats_of_partial(partials.get((None, None)))
    where, params = where_clause(project.pk, time_range, event_filter)
    row = fetch_all(f"SELECT {STATS_SQL} FROM events_event WHERE {where}", [list(PERCENTILES), *params])[0]
    return stats_dict(*row)


def value_stats_series(
    project: Project, time_range: TimeRange, event_filter: EventFilter, interval: str
) -> list[tuple[datetime, dict]]:
    """The same statistics per bucket; an empty bucket has count 0 and nulls."""
    if rollups_can_answer(event_filter):
        partials = event_partials(project, time_range, event_filter, interval, {TOTALS, SKETCH})
        return [(start, stats_of_partial(partials.get((None, start)))) for start in bucket_starts(time_range, interval)]
    bucket, bucket_params = bucket_sql(interval, time_range)
    where, params = where_clause(project.pk, time_range, event_filter)
    rows = fetch_all(
        f"SELECT {bucket}, {STATS_SQL} FROM events_event WHERE {where} GROUP BY 1",
        [*bucket_params, list(PERCENTILES), *params],
    )
    by_bucket = {row[0]: stats_dict(*row[1:]) for row in rows}
    empty = stats_dict(0, None, None, None, None, None)
    return [(start, by_bucket.get(start, empty)) for start in bucket_starts(time_range, interval)]


# What groups can be ranked by: a statistic's column of the groups' query below (percentiles by position).
RANK_COLUMNS = {"count": "n", "sum": "total", "avg": "average", "min": "minimum", "max": "maximum"} | {
    f"p{round(fraction * 100)}": f"percentiles[{position}]" for position, fraction in enumerate(PERCENTILES, start=1)
}


def value_stats_groups(
    project: Project, time_range: TimeRange, event_filter: EventFilter, group_by: str, limit: int,
    rank_by: str = "count",
) -> list[tuple[str | None, dict]]:  # fmt: skip
    """The same statistics for the `limit` groups highest in `rank_by` (a key of RANK_COLUMNS): ranked by
    count, "revenue by country" left out the country of the two largest orders."""
    key_sql, key_params = field_expression(group_by)
    where, params = where_clause(project.pk, time_range, event_filter)
    rows = fetch_all(
        f"""SELECT * FROM (SELECT {key_sql}, {STATS_SQL} FROM events_event WHERE {where} AND value IS NOT NULL
            GROUP BY 1) AS groups (key, n, total, average, minimum, maximum, percentiles)
            ORDER BY {RANK_COLUMNS[rank_by]} DESC NULLS LAST, key LIMIT %s""",
        [*key_params, list(PERCENTILES), *params, limit],
    )
    return [(row[0], stats_dict(*row[1:])) for row in rows]


def measure_events(
    project: Project, time_range: TimeRange, event_filter: EventFilter, what: str, field_name: str
) -> float | None:
    """One number for comparisons: the events' count, the unique count of a field or a statistic of value."""
    if what == "count":
        return count_events(project, time_range, event_filter)
    if what == "unique":
        return unique_count(project, time_range, event_filter, field_name)
    return value_stats(project, time_range, event_filter)[what]


def unique_from_rollups(event_filter: EventFilter, field_name: str) -> bool:
    return field_name == "user_id" and rollups_can_answer(event_filter)


def unique_count(project: Project, time_range: TimeRange, event_filter: EventFilter, field_name: str) -> int:
    """Distinct non-empty values of `field_name` among the matching events. Users of a name filter
    come from rollups: exact up to flux.query.sketches.EXACT_LIMIT, within 2% beyond."""
    if unique_from_rollups(event_filter, field_name):
        partials = event_partials(project, time_range, event_filter, None, {MEMBERS})
        return partials[None, None].members.estimate() if partials else 0
    return unique_count_raw(project, time_range, event_filter, field_name)


def unique_count_raw(project: Project, time_range: TimeRange, event_filter: EventFilter, field_name: str) -> int:
    key_sql, key_params = field_expression(field_name)
    where, params = where_clause(project.pk, time_range, event_filter)
    return fetch_all(f"SELECT count(DISTINCT {key_sql}) FROM events_event WHERE {where}", [*key_params, *params])[0][0]


def unique_series(
    project: Project, time_range: TimeRange, event_filter: EventFilter, field_name: str, interval: str
) -> list[tuple[datetime, int]]:
    if unique_from_rollups(event_filter, field_name):
        partials = event_partials(project, time_range, event_filter, interval, {MEMBERS})
        counts = {start: partial.members.estimate() for (_, start), partial in partials.items()}
    else:
        counts = unique_by_bucket_raw(project, time_range, event_filter, field_name, interval)
    return [(start, counts.get(start, 0)) for start in bucket_starts(time_range, interval)]


def unique_by_bucket_raw(
    project: Project, time_range: TimeRange, event_filter: EventFilter, field_name: str, interval: str
) -> dict[datetime, int]:
    key_sql, key_params = field_expression(field_name)
    bucket, bucket_params = bucket_sql(interval, time_range)
    where, params = where_clause(project.pk, time_range, event_filter)
    rows = fetch_all(
        f"SELECT {bucket}, count(DISTINCT {key_sql}) FROM events_event WHERE {where} GROUP BY 1",
        [*bucket_params, *key_params, *params],
    )
    return dict(rows)


def unique_groups(
    project: Project, time_range: TimeRange, event_filter: EventFilter, field_name: str, group_by: str, limit: int
) -> list[tuple[str | None, int]]:
    """Distinct values of `field_name` per value of `group_by`, the `limit` largest (from raw rows)."""
    key_sql, key_params = field_expression(group_by)
    field_sql, field_params = field_expression(field_name)
    where, params = where_clause(project.pk, time_range, event_filter)
    return fetch_all(
        f"""SELECT {key_sql}, count(DISTINCT {field_sql}) FROM events_event WHERE {where}
            GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT %s""",
        [*key_params, *field_params, *params, limit],
    )


def event_catalogue(project: Project, time_range: TimeRange, limit: int) -> list[dict]:
    """Event names seen in the range, busiest first: count, last seen (ever, to the minute), and tag keys."""
    counts = rolled_counts(project, time_range, EventFilter(), None, "name")
    seen = [(name, count) for (name, _), count in counts.items() if count]
    ranked = sorted(seen, key=lambda item: (-item[1], item[0]))
    names = [name for name, _ in ranked[:limit]]
    with read_snapshot():
        watermark = current_watermark(STREAM)
        # Rolled-up events are known to the minute; those received since the last rollup are read raw.
        last_seen = dict(
            fetch_all(
                """
                SELECT n.name, greatest(
                    (SELECT max(r.bucket) FROM events_eventrollup r
                     WHERE r.project_id = %s AND r.level = 'minute' AND r.name = n.name),
                    (SELECT max(e.time) FROM events_event e
                     WHERE e.project_id = %s AND e.name = n.name AND e.received_at >= %s))
                FROM unnest(%s::text[]) AS n(name)
                """,
                [project.pk, project.pk, watermark or datetime.min, names],
            )
        )
    tag_keys = tag_keys_of(project, names, time_range)
    return [
        {"name": name, "count": count, "last_seen": last_seen.get(name), "tag_keys": tag_keys[name]}
        for name, count in ranked[:limit]
    ]


def tag_keys_of(project: Project, names: list[str], time_range: TimeRange) -> dict[str, list[str]]:
    """The tag keys each event name carried in the range (from the hourly tag rollups), sorted."""
    tag_keys: dict[str, list[str]] = {name: [] for name in names}
    for name, tag_key in fetch_all(
        """
        SELECT DISTINCT name, tag_key FROM events_eventtagrollup
        WHERE project_id = %s AND level = 'hour' AND bucket >= %s AND bucket < %s AND name = ANY(%s)
        ORDER BY 1, 2
        """,
        [project.pk, time_range.start - timedelta(hours=1), time_range.end, names],
    ):
        tag_keys[name].append(tag_key)
    return tag_keys


def events_for_export(
    project: Project, time_range: TimeRange, event_filter: EventFilter, max_rows: int, chunk: int = 2000
) -> Iterator[Event]:
    """Up to `max_rows` events newest first, read `chunk` at a time (keyset pages), for a streamed export."""
    after, sent = None, 0
    while sent < max_rows:
        page = list_events(project, time_range, event_filter, min(chunk, max_rows - sent), after)
        yield from page.events
        sent += len(page.events)
        if page.next_cursor is None:
            return
        after = (page.events[-1].time, page.events[-1].id)


def has_more_events_than(project: Project, time_range: TimeRange, event_filter: EventFilter, count: int) -> bool:
    """Whether more than `count` events match: one index walk of at most `count` + 1 rows."""
    where, params = where_clause(project.pk, time_range, event_filter)
    sql = f"SELECT 1 FROM events_event WHERE {where} ORDER BY time DESC, id DESC OFFSET %s LIMIT 1"
    return bool(fetch_all(sql, [*params, count]))
