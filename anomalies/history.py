"""Hourly values of watched series, read from the hour rollups in one query per source for a whole
batch of watches. What each watch measures, and what a missing hour means, is decided here."""

from collections import defaultdict
from datetime import UTC, datetime, timedelta

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


def measure_of(watch: Watch) -> tuple[str, float]:
    """(the detector's value kind, a missing hour's value) for the watch."""
    kind = "events" if watch.source == Watch.Source.EVENTS else watch.series.metric.type
    for measure, value_kind, missing in MEASURES[kind]:
        if measure == watch.measure:
            return value_kind, missing
    raise ValueError(f"{watch} measures {watch.measure!r}, which {kind} does not have")


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hours_between(start: datetime, end: datetime) -> list[datetime]:
    count = int((end - start) / HOUR)
    return [start + index * HOUR for index in range(count)]


def read_hours(watches: list[Watch], start: datetime, end: datetime) -> dict[int, dict[datetime, float]]:
    """{watch id: {hour start: value}} for hours in [start, end) that have rollup rows."""
    values: dict[int, dict[datetime, float]] = defaultdict(dict)
    events = [watch for watch in watches if watch.source == Watch.Source.EVENTS]
    if events:
        read_event_hours(events, start, end, values)
    metrics = [watch for watch in watches if watch.source == Watch.Source.METRIC]
    if metrics:
        read_metric_hours(metrics, start, end, values)
    return values


def read_event_hours(
    watches: list[Watch], start: datetime, end: datetime, values: dict[int, dict[datetime, float]]
) -> None:
    by_key = {(watch.project_id, watch.name): watch.pk for watch in watches}
    rows = fetch_all(
        """
        SELECT r.project_id, r.name, r.bucket, r.count
        FROM unnest(%s::bigint[], %s::text[]) AS w(project_id, name)
        JOIN events_eventrollup r ON r.project_id = w.project_id AND r.name = w.name
        WHERE r.level = 'hour' AND r.bucket >= %s AND r.bucket < %s
        """,
        [[key[0] for key in by_key], [key[1] for key in by_key], start, end],
    )
    for project_id, name, bucket, count in rows:
        values[by_key[project_id, name]][bucket] = float(count)


def read_metric_hours(
    watches: list[Watch], start: datetime, end: datetime, values: dict[int, dict[datetime, float]]
) -> None:
    by_series: dict[int, list[Watch]] = defaultdict(list)
    for watch in watches:
        by_series[watch.series_id].append(watch)
    needs_sketch = any(watch.measure.startswith("p") for watch in watches)
    needs_members = any(watch.measure == "unique" for watch in watches)
    rows = fetch_all(
        f"""
        SELECT series_id, bucket, count, sum, min, max,
               {"sketch_keys, sketch_counts" if needs_sketch else "NULL, NULL"},
               {"member_hashes, member_registers" if needs_members else "NULL, NULL"}
        FROM metrics_metricrollup
        WHERE level = 'hour' AND series_id = ANY(%s) AND bucket >= %s AND bucket < %s
        """,
        [list(by_series), start, end],
    )
    for series_id, bucket, count, total, minimum, maximum, keys, counts, hashes, registers in rows:
        partial = Partial()
        partial.add_totals(count, total, minimum, maximum)
        if keys is not None:
            partial.add_sketch(keys, counts)
        if hashes is not None or registers is not None:
            partial.add_members(hashes, registers)
        for watch in by_series[series_id]:
            value = partial.value(watch.measure, HOUR_SECONDS)
            if value is not None:
                values[watch.pk][bucket] = float(value)
