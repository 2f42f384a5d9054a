"""Hourly values of watched series, read from the hour rollups in one query per source for a whole
batch of watches. What each watch measures, and what a missing hour means, is decided here.

Rows come back aggregated per series as arrays (hour, value), so weeks of history for thousands of
series cost a few thousand rows, placed on the hourly grid with numpy."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from anomalies.models import Watch
from flux.db import fetch_all
from flux.partials import Partial
from metrics.models import MetricType

HOUR = timedelta(hours=1)
HOUR_SECONDS = 3600

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
    """The hours of one series that have data: epoch seconds of each hour's start, and its value."""

    starts: np.ndarray
    values: np.ndarray

    def first(self) -> datetime | None:
        return datetime.fromtimestamp(float(self.starts.min()), tz=UTC) if len(self.starts) else None

    def on_grid(self, start: datetime, end: datetime, missing: float) -> np.ndarray:
        """Values for every hour of [start, end); hours without data get `missing`."""
        grid = np.full(hours_in(start, end), missing, dtype="<f8")
        positions = ((self.starts - start.timestamp()) // HOUR_SECONDS).astype(np.int64)
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


def hours_in(start: datetime, end: datetime) -> int:
    """Whole hours in [start, end)."""
    return int((end - start) / HOUR)


def read_hours(watches: list[Watch], start: datetime, end: datetime) -> dict[int, Hours]:
    """{watch id: its hours with data in [start, end)}; watches without any are absent."""
    hours: dict[int, Hours] = {}
    events = [watch for watch in watches if watch.source == Watch.Source.EVENTS]
    if events:
        hours |= read_event_hours(events, start, end)
    metrics = [watch for watch in watches if watch.source == Watch.Source.METRIC]
    simple = [watch for watch in metrics if watch.measure in SIMPLE_MEASURES]
    if simple:
        hours |= read_simple_metric_hours(simple, start, end)
    sketched = [watch for watch in metrics if watch.measure not in SIMPLE_MEASURES]
    if sketched:
        hours |= read_sketched_metric_hours(sketched, start, end)
    return hours


def as_hours(starts: list[int], values: list[float]) -> Hours:
    return Hours(np.array(starts, dtype=np.int64), np.array(values, dtype="<f8"))


def read_event_hours(watches: list[Watch], start: datetime, end: datetime) -> dict[int, Hours]:
    by_key = {(watch.project_id, watch.name): watch.pk for watch in watches}
    rows = fetch_all(
        """
        SELECT r.project_id, r.name, array_agg(extract(epoch FROM r.bucket)::bigint), array_agg(r.count::float8)
        FROM unnest(%s::bigint[], %s::text[]) AS w(project_id, name)
        JOIN events_eventrollup r ON r.project_id = w.project_id AND r.name = w.name
        WHERE r.level = 'hour' AND r.bucket >= %s AND r.bucket < %s
        GROUP BY 1, 2
        """,
        [[key[0] for key in by_key], [key[1] for key in by_key], start, end],
    )
    return {by_key[project_id, name]: as_hours(starts, counts) for project_id, name, starts, counts in rows}


def read_simple_metric_hours(watches: list[Watch], start: datetime, end: datetime) -> dict[int, Hours]:
    """Averages, rates and counts, computed in SQL from each hour row's count and sum."""
    expressions = {"avg": "r.sum / r.count", "rate": f"r.sum / {HOUR_SECONDS}", "count": "r.count::float8"}
    hours = {}
    for measure, expression in expressions.items():
        wanted = {watch.series_id: watch.pk for watch in watches if watch.measure == measure}
        if not wanted:
            continue
        rows = fetch_all(
            f"""
            SELECT r.series_id, array_agg(extract(epoch FROM r.bucket)::bigint), array_agg({expression})
            FROM metrics_metricrollup r
            WHERE r.level = 'hour' AND r.series_id = ANY(%s) AND r.bucket >= %s AND r.bucket < %s AND r.count > 0
            GROUP BY 1
            """,
            [list(wanted), start, end],
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
        WHERE level = 'hour' AND series_id = ANY(%s) AND bucket >= %s AND bucket < %s
        ORDER BY series_id, bucket
        """,
        [list(by_series), start, end],
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
