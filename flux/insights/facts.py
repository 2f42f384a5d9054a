"""Facts: each number an insight states, with the query against Flux's own API that gives it. Pure.

A fact is `{"query": {"path", "params"}, "field", "value", "label"}` and optionally `"reduce"`: run the
query with a read key, follow `field` (dot-separated keys, list positions as numbers) in the answer,
and, when `reduce` is given, reduce what is there: `length` of a list, or `mean` of the non-null values
of `[bucket, value]` points. The result is `value`.
"""

from datetime import datetime

from flux.query.timerange import TimeRange
from flux.web.serializers import iso


def fact(path: str, params: dict, field: str, value: float, label: str, reduce: str | None = None) -> dict:
    """One number with the query that gives it."""
    found = {"query": {"path": path, "params": params}, "field": field, "value": value, "label": label}
    return found | ({"reduce": reduce} if reduce else {})


def range_params(start: datetime, end: datetime) -> dict[str, str]:
    """`from` and `to` as absolute UTC instants, so a fact's query answers the same later."""
    return {"from": iso(start), "to": iso(end)}


def tag_params(tags: dict[str, str] | None) -> dict[str, str]:
    return {f"tags[{key}]": value for key, value in (tags or {}).items()}


def event_count(
    name: str | None, start: datetime, end: datetime, value: int, label: str, tags: dict[str, str] | None = None
) -> dict:
    """Events (of a name, or all; with these tags) in [start, end): GET /api/v1/events/count."""
    params = ({"name": name} if name else {}) | tag_params(tags) | range_params(start, end)
    return fact("/api/v1/events/count", params, "count", value, label)


def metric_compare(
    name: str, aggregation: str, current: TimeRange, field: str, value: float, label: str,
    tags: dict[str, str] | None = None,
) -> dict:  # fmt: skip
    """A metric's aggregation over `current` (`field` current) or the range just before it (`field` previous)."""
    params = {"metric": name, "aggregation": aggregation} | tag_params(tags) | range_params(current.start, current.end)
    return fact("/api/v1/compare", params, field, value, label)


def metric_hourly_mean(name: str, aggregation: str, start: datetime, end: datetime, value: float, label: str) -> dict:
    """The mean of a metric's hourly aggregates in [start, end): GET /api/v1/metrics/{name}/query by the hour."""
    params = {"aggregation": aggregation, "interval": "1h"} | range_params(start, end)
    return fact(f"/api/v1/metrics/{name}/query", params, "series.0.points", value, label, reduce="mean")


def metric_points(name: str, start: datetime, end: datetime, value: int, label: str) -> dict:
    """Points a metric received in [start, end): GET /api/v1/metrics/{name}."""
    return fact(f"/api/v1/metrics/{name}", range_params(start, end), "points", value, label)


def anomaly_count(params: dict, value: int, label: str) -> dict:
    """Anomalies listed by GET /api/v1/anomalies with these parameters (the length of `anomalies`)."""
    return fact("/api/v1/anomalies", params, "anomalies", value, label, reduce="length")
