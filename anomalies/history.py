"""Values of watched series on a regular grid (hours, or five minutes for busy series), read from the
rollups in one query per source for a whole batch of watches. What each watch measures, and what a
missing bucket means, is decided here.

Hourly values come from the hour rollups; five-minute values are summed from the minute rollups in
SQL. Rows come back aggregated per series as arrays (bucket, value), so weeks of history for
thousands of series cost a few thousand rows, placed on the grid with numpy."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from anomalies.models import Watch
from flux.query.db import fetch_all
from flux.query.partials import Partial
from metrics.models import MetricType

HOUR = timedelta(hours=1)
HOUR_SECONDS = 3600
FIVE_MINUTES = timedelta(minutes=5)

# What is watched for each source or metric type: (measure, value kind for the detector, a missing hour's value).
# Counts and sums of an hour without data are 0; an average or percentile of no data is unknown (NaN).
MEASURES: dict[str, list[tuple[str, str, float]]] = {
    "events": [("count", "count", 0.0)],
    MetricType.GAUGE: [("avg", "continuous", float("nan"))],
    MetricType.COUNTER: [("rate", "continuous", 0.0)],
    MetricType.DISTRIBUTION: [("p95", "continuous", float("nan")), ("count", "count", 0.0)],
    MetricType.SET: [("unique", "count", 0.0)],
}
SIMPLE_MEASURES = ("avg", "rate", "count")  # plain arithmetic on a rollup row's count and sum


@dataclass(frozen=True)
class Hours:
    """The buckets of one series that have data: epoch seconds of each bucket's start, and its value."""

    starts: np.ndarray
    values: np.ndarray

    def first(self) -> datetime | None:
        return datetime.fromtimestamp(float(self.starts.min()), tz=UTC) if len(self.starts) else None

    def on_grid(self, start: datetime, end: datetime, missing: float, step: timedelta = HOUR) -> np.ndarray:
        """Values for every bucket of `step` in [start, end); buckets without data get `missing`."""
        grid = np.full(int((end - start) / step), missing, dtype="<f8")
        positions = ((self.starts - start.timestamp()) // step.total_seconds()).astype(np.int64)
        inside = (positions >= 0) & (positions < len(grid))
        grid[positions[inside]] = self.values[inside]
        return grid


NO_HOURS = Hours(np.empty(0, dtype=np.int64), np.empty(0))


def measure_of(watch: Watch) -> tuple[str, float]:
    """(the detector's value kind, a missing hour's value) for the watch."""
    kind = "events" if watch.source == Watch.Source.EVENTS else watch.series.metric.type
    for measure, value_kind, missing in MEASURES[kind]:
        if measure == watch.measure:
            return value_kind, missing
    raise ValueError(f"{watch} measures {watch.measure!r}, which {kind} does not have")


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def floor_step(moment: datetime, step: timedelta) -> datetime:
    epoch = moment.timestamp()
    return datetime.fromtimestamp(epoch - epoch % step.total_seconds(), tz=UTC)


def hours_in(start: datetime, end: datetime) -> int:
    """Whole hours in [start, end)."""
    return int((end - start) / HOUR)


def read_hours(watches: list[Watch], start: datetime, end: datetime, step: timedelta = HOUR) -> dict[int, Hours]:
    """{watch id: its buckets of `step` with data in [start, end)}; watches without any are absent.
    Buckets shorter than an hour are summed from minute rollups (percentiles and distinct counts,
    which need sketches merged, are only read by the hour)."""
    hours: dict[int, Hours] = {}
    events = [watch for watch in watches if watch.source == Watch.Source.EVENTS]
    if events:
        hours |= read_event_hours(events, start, end, step)
    metrics = [watch for watch in watches if watch.source == Watch.Source.METRIC]
    simple = [watch for watch in metrics if watch.measure in SIMPLE_MEASURES]
    if simple:
        hours |= read_simple_metric_hours(simple, start, end, step)
    sketched = [watch for watch in metrics if watch.measure not in SIMPLE_MEASURES]
    if sketched:
        if step != HOUR:
            raise ValueError("percentiles and distinct counts are only read by the hour")
        hours |= read_sketched_metric_hours(sketched, start, end)
    return hours


def rollup_level(step: timedelta) -> str:
    return "hour" if step % HOUR == timedelta(0) else "minute"


def as_hours(starts: list[int], values: list[float]) -> Hours:
    return Hours(np.array(starts, dtype=np.int64), np.array(values, dtype="<f8"))


def read_event_hours(watches: list[Watch], start: datetime, end: datetime, step: timedelta) -> dict[int, Hours]:
    by_key = {(watch.project_id, watch.name): watch.pk for watch in watches}
    rows = fetch_all(
        """
        SELECT project_id, name, array_agg(bucket), array_agg(count) FROM (
            SELECT r.project_id, r.name, extract(epoch FROM r.bucket)::bigint / %(step)s * %(step)s AS bucket,
                   sum(r.count)::float8 AS count
            FROM unnest(%(projects)s::bigint[], %(names)s::text[]) AS w(project_id, name)
            JOIN events_eventrollup r ON r.project_id = w.project_id AND r.name = w.name
            WHERE r.level = %(level)s AND r.bucket >= %(start)s AND r.bucket < %(end)s
            GROUP BY 1, 2, 3
        ) buckets GROUP BY 1, 2
        """,
        {"projects": [key[0] for key in by_key], "names": [key[1] for key in by_key], "start": start, "end": end,
         "step": int(step.total_seconds()), "level": rollup_level(step)},
    )  # fmt: skip
    return {by_key[project_id, name]: as_hours(starts, counts) for project_id, name, starts, counts in rows}


def read_simple_metric_hours(watches: list[Watch], start: datetime, end: datetime, step: timedelta) -> dict[int, Hours]:
    """Averages, rates and counts, computed in SQL from the rollup rows' counts and sums."""
    seconds = int(step.total_seconds())
    expressions = {"avg": "sum(r.sum) / sum(r.count)", "rate": f"sum(r.sum) / {seconds}", "count": "sum(r.count)"}
    hours = {}
    projects, level = sorted({watch.project_id for watch in watches}), rollup_level(step)
    for measure, expression in expressions.items():
        wanted = {watch.series_id: watch.pk for watch in watches if watch.measure == measure}
        if not wanted:
            continue
        rows = fetch_all(
            f"""
            SELECT series_id, array_agg(bucket), array_agg(value) FROM (
                SELECT r.series_id, extract(epoch FROM r.bucket)::bigint / %(step)s * %(step)s AS bucket,
                       ({expression})::float8 AS value
                FROM metrics_metricrollup r
                WHERE r.level = %(level)s AND r.project_id = ANY(%(projects)s) AND r.series_id = ANY(%(series)s)
                  AND r.bucket >= %(start)s AND r.bucket < %(end)s AND r.count > 0
                GROUP BY 1, 2
            ) buckets GROUP BY 1
            """,
            {"projects": projects, "series": list(wanted), "start": start, "end": end, "step": seconds, "level": level},
        )
        hours |= {wanted[series_id]: as_hours(starts, values) for series_id, starts, values in rows}
    return hours


def read_sketched_metric_hours(watches: list[Watch], start: datetime, end: datetime) -> dict[int, Hours]:
    """Percentiles and distinct counts: each hour row's sketch or members finished into the value."""
    by_series: dict[int, list[Watch]] = {}
    for watch in watches:
        by_series.setdefault(watch.series_id, []).append(watch)
    rows = fetch_all(
        """
        SELECT series_id, extract(epoch FROM bucket)::bigint, count, sum, min, max,
               sketch_keys, sketch_counts, member_hashes, member_registers
        FROM metrics_metricrollup
        WHERE level = 'hour' AND project_id = ANY(%s) AND series_id = ANY(%s) AND bucket >= %s AND bucket < %s
        ORDER BY series_id, bucket
        """,
        [sorted({watch.project_id for watch in watches}), list(by_series), start, end],
    )
    collected: dict[int, tuple[list[int], list[float]]] = {}
    for series_id, hour, count, total, minimum, maximum, keys, counts, hashes, registers in rows:
        partial = Partial()
        partial.add_totals(count, total, minimum, maximum)
        if keys is not None:
            partial.add_sketch(keys, counts)
        if hashes is not None or registers is not None:
            partial.add_members(hashes, registers)
        for watch in by_series[series_id]:
            value = partial.value(watch.measure, HOUR_SECONDS)
            if value is not None:
                starts, values = collected.setdefault(watch.pk, ([], []))
                starts.append(hour)
                values.append(float(value))
    return {watch_id: as_hours(starts, values) for watch_id, (starts, values) in collected.items()}
