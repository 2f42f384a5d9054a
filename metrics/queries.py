"""Reads of metrics. Every function takes the project first.

Answers come from rollups plus raw edges (metrics.rollup_queries); the `*_raw` functions scan raw
points only and are the reference the rollup path is tested and benchmarked against."""

from dataclasses import dataclass
from datetime import datetime

from flux.query.db import fetch_all
from flux.query.partial_query import MEMBERS, SKETCH, TOTALS
from flux.query.partials import PERCENTILES, Partial
from flux.query.query_params import InvalidParameter
from flux.query.tag_match import TagFilter, tag_conditions
from flux.query.timerange import TimeRange, bucket_sql, bucket_starts, covered_seconds
from flux.web.api import NotFound
from flux.web.serializers import iso
from metrics.models import CardinalityLimitHit, Metric, MetricType
from metrics.rollup_queries import SERIES_GROUP, metric_partials, project_partials
from metrics.rollups import STREAM

# aggregation -> (SQL over the bucket's points, value for an empty bucket)
AGGREGATIONS: dict[str, dict[str, tuple[str, float | None]]] = {
    MetricType.GAUGE: {
        "last": ("(array_agg(p.value ORDER BY p.time DESC, p.value DESC))[1]", None),
        "avg": ("avg(p.value)", None),
        "min": ("min(p.value)", None),
        "max": ("max(p.value)", None),
    },
    MetricType.COUNTER: {"sum": ("sum(p.value)", 0.0), "rate": ("sum(p.value)", 0.0)},
    MetricType.DISTRIBUTION: {
        "avg": ("avg(p.value)", None),
        "count": ("count(*)", 0),
        "min": ("min(p.value)", None),
        "max": ("max(p.value)", None),
        **{
            name: (f"percentile_cont({fraction}) WITHIN GROUP (ORDER BY p.value)", None)
            for name, fraction in PERCENTILES.items()
        },
    },
    MetricType.SET: {"unique": ("count(DISTINCT p.member)", 0)},
}
DEFAULT_AGGREGATION = {
    MetricType.GAUGE: "avg",
    MetricType.COUNTER: "sum",
    MetricType.DISTRIBUTION: "p95",
    MetricType.SET: "unique",
}

# The rollup stream other apps follow by name: its watermark and touched hooks (flux.query.rollup_job).
ROLLUP_STREAM = STREAM


@dataclass(frozen=True)
class SeriesResult:
    tags: dict[str, str]
    points: list[tuple[datetime, float | None]]


def checked_aggregation(metric: Metric, aggregation: str | None) -> str:
    """The aggregation asked for (or the type's default), if the metric's type has it."""
    aggregation = aggregation or DEFAULT_AGGREGATION[metric.type]
    allowed = AGGREGATIONS[metric.type]
    if aggregation not in allowed:
        raise InvalidParameter("aggregation", f"a {metric.type} can be aggregated by {', '.join(allowed)}")
    return aggregation


def get_metric(project_id: int, name: str) -> Metric | None:
    return Metric.objects.filter(project_id=project_id, name=name).first()


def require_metric(project_id: int, name: str) -> Metric:
    metric = get_metric(project_id, name)
    if metric is None:
        raise NotFound(f"No metric named {name!r} in this project.")
    return metric


def list_cardinality_warnings(project_id: int, metric_id: int | None = None) -> list[dict]:
    """Metrics (or one metric) whose tag values were folded into `__other__`, the latest first."""
    hits = CardinalityLimitHit.objects.filter(project_id=project_id).select_related("metric")
    if metric_id is not None:
        hits = hits.filter(metric_id=metric_id)
    return [
        {"metric": hit.metric.name, "tag_key": hit.tag_key or None, "folded_points": hit.folded_points,
         "last_folded_at": hit.last_folded_at}
        for hit in hits.order_by("-last_folded_at")[:50]
    ]  # fmt: skip


def cardinality_warnings_json(project_id: int, metric_id: int | None = None) -> list[dict]:
    """The cardinality warnings as the API shows them."""
    warnings = list_cardinality_warnings(project_id, metric_id)
    return [{**warning, "last_folded_at": iso(warning["last_folded_at"])} for warning in warnings]


def list_metrics(project_id: int, top_values: int = 5) -> list[dict]:
    """The catalogue: every metric with its type, series count, tag keys with their commonest values, last seen."""
    metrics = fetch_all(
        """
        SELECT m.id, m.name, m.type, count(s.id), max(s.last_seen_at)
        FROM metrics_metric m LEFT JOIN metrics_metricseries s ON s.project_id = m.project_id AND s.metric_id = m.id
        WHERE m.project_id = %s GROUP BY m.id ORDER BY m.name
        """,
        [project_id],
    )
    tag_rows = fetch_all(
        """
        SELECT s.metric_id, tag.key, tag.value, count(*) FROM metrics_metricseries s, jsonb_each_text(s.tags) AS tag
        WHERE s.project_id = %s GROUP BY 1, 2, 3 ORDER BY 1, 2, 4 DESC, 3
        """,
        [project_id],
    )
    tags: dict[int, dict[str, list[str]]] = {}
    for metric_id, key, value, _ in tag_rows:
        values = tags.setdefault(metric_id, {}).setdefault(key, [])
        if len(values) < top_values:
            values.append(value)
    return [
        {"name": name, "type": metric_type, "series": series, "tags": tags.get(metric_id, {}), "last_seen": last_seen}
        for metric_id, name, metric_type, series, last_seen in metrics
    ]


def metric_series_raw(
    project_id: int, metric: Metric, time_range: TimeRange, interval: str, aggregation: str,
    tag_filter: TagFilter, group_by: str | None, limit: int,
) -> list[SeriesResult]:  # fmt: skip
    """metric_series computed by scanning raw points."""
    expression, empty = AGGREGATIONS[metric.type][aggregation]
    bucket, bucket_params = bucket_sql(interval, time_range, "p.time")
    group_sql, group_params = ("s.tags ->> %s", [group_by]) if group_by else ("NULL::text", [])
    tags_sql, tags_params = tag_conditions("s.tags", tag_filter)
    rows = fetch_all(
        f"""
        SELECT {group_sql}, {bucket}, {expression}, count(*)
        FROM metrics_point p JOIN metrics_metricseries s ON s.project_id = p.project_id AND s.id = p.series_id
        WHERE s.metric_id = %s AND {tags_sql} AND p.project_id = %s AND p.time >= %s AND p.time < %s
        GROUP BY 1, 2
        """,
        [
            *group_params,
            *bucket_params,
            metric.pk,
            *tags_params,
            project_id,
            time_range.start,
            time_range.end,
        ],
    )
    per_group: dict[str | None, dict[datetime, float]] = {}
    volume: dict[str | None, int] = {}
    for key, start, value, count in rows:
        per_group.setdefault(key, {})[start] = value
        volume[key] = volume.get(key, 0) + count
    ranked = sorted(per_group, key=lambda key: (-volume[key], str(key)))[:limit] if group_by else [None]
    results = []
    for key in ranked:
        values = per_group.get(key, {})
        points = []
        for start in bucket_starts(time_range, interval):
            value = values.get(start, empty)
            if aggregation == "rate" and value is not None:
                value = value / covered_seconds(start, interval, time_range)
            points.append((start, None if value is None else float(value)))
        results.append(SeriesResult({group_by: key} if group_by else tag_filter, points))
    return results


def metric_summary_raw(project_id: int, metric: Metric, time_range: TimeRange) -> dict:
    """metric_summary computed by scanning raw points."""
    row = fetch_all(
        """
        SELECT count(*), count(DISTINCT p.series_id), sum(p.value), avg(p.value), min(p.value), max(p.value),
               (array_agg(p.value ORDER BY p.time DESC, p.value DESC))[1], count(DISTINCT p.member),
               percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY p.value)
        FROM metrics_point p JOIN metrics_metricseries s ON s.project_id = p.project_id AND s.id = p.series_id
        WHERE s.metric_id = %s AND p.project_id = %s AND p.time >= %s AND p.time < %s
        """,
        [metric.pk, project_id, time_range.start, time_range.end],
    )[0]
    points, series, total, average, minimum, maximum, last, members, percentiles = row
    summary: dict = {"points": points, "series": series}
    if metric.type == MetricType.GAUGE:
        summary |= {"last": last, "avg": average, "min": minimum, "max": maximum}
    elif metric.type == MetricType.COUNTER:
        summary |= {"sum": total or 0.0, "rate": (total or 0.0) / time_range.duration.total_seconds()}
    elif metric.type == MetricType.DISTRIBUTION:
        p50, p95, p99 = percentiles or (None, None, None)
        summary |= {"avg": average, "min": minimum, "max": maximum, "p50": p50, "p95": p95, "p99": p99}
    else:
        summary |= {"unique": members}
    return summary


def needs_of(aggregation: str) -> set[str]:
    """Which parts of the rollups an aggregation reads: percentiles only the sketch (one query)."""
    if aggregation == "unique":
        return {TOTALS, MEMBERS}
    return {SKETCH} if aggregation in PERCENTILES else {TOTALS}


def metric_series(
    project_id: int, metric: Metric, time_range: TimeRange, interval: str, aggregation: str,
    tag_filter: TagFilter, group_by: str | None, limit: int,
) -> list[SeriesResult]:  # fmt: skip
    """One series of aggregated points (or one per value of the `group_by` tag, the `limit` busiest)."""
    empty = AGGREGATIONS[metric.type][aggregation][1]
    partials = metric_partials(project_id, metric, time_range, tag_filter, interval, group_by, needs_of(aggregation))
    per_group: dict[str | None, dict[datetime, Partial]] = {}
    volume: dict[str | None, int] = {}
    for (key, start), partial in partials.items():
        per_group.setdefault(key, {})[start] = partial
        volume[key] = volume.get(key, 0) + partial.volume
    ranked = sorted(per_group, key=lambda key: (-volume[key], str(key)))[:limit] if group_by else [None]
    results = []
    for key in ranked:
        buckets = per_group.get(key, {})
        points = []
        for start in bucket_starts(time_range, interval):
            partial = buckets.get(start)
            value = partial.value(aggregation, covered_seconds(start, interval, time_range)) if partial else empty
            points.append((start, None if value is None else float(value)))
        results.append(SeriesResult({group_by: key} if group_by else tag_filter, points))
    return results


def metric_summary(project_id: int, metric: Metric, time_range: TimeRange) -> dict:
    """Points, series, and the type's natural statistics over the range."""
    needs = {TOTALS, SKETCH} if metric.type == MetricType.DISTRIBUTION else {TOTALS}
    if metric.type == MetricType.SET:
        needs.add(MEMBERS)
    per_series = metric_partials(project_id, metric, time_range, {}, None, SERIES_GROUP, needs)
    whole = Partial()
    for partial in per_series.values():
        whole.merge(partial)
    summary: dict = {"points": whole.count, "series": sum(1 for partial in per_series.values() if partial.count)}
    seconds = time_range.duration.total_seconds()
    natural = {
        MetricType.GAUGE: ("last", "avg", "min", "max"),
        MetricType.COUNTER: ("sum", "rate"),
        MetricType.DISTRIBUTION: ("avg", "min", "max", "p50", "p95", "p99"),
        MetricType.SET: ("unique",),
    }[metric.type]
    for aggregation in natural:
        value = whole.value(aggregation, seconds)
        summary[aggregation] = int(value) if aggregation == "unique" and value is not None else value
    return summary


def metric_value(
    project_id: int, metric: Metric, time_range: TimeRange, aggregation: str, tag_filter: TagFilter
) -> float | None:
    """The aggregation over the whole range, as one number (what comparisons and number widgets show)."""
    partials = metric_partials(project_id, metric, time_range, tag_filter, None, None, needs_of(aggregation))
    partial = partials.get((None, None), Partial())
    if not partial.volume:
        return AGGREGATIONS[metric.type][aggregation][1]
    return partial.value(aggregation, time_range.duration.total_seconds())


def points_per_metric(project_id: int, time_range: TimeRange) -> dict[int, int]:
    """How many points each metric (by id) received in the range; metrics without points are absent."""
    partials = project_partials(project_id, time_range, None, per_metric=True)
    return {int(key): partial.count for (key, _), partial in partials.items() if key is not None and partial.count}


def points_series(project_id: int, time_range: TimeRange, interval: str) -> list[tuple[datetime, int]]:
    """Points received per bucket across every metric of the project, every bucket present."""
    partials = project_partials(project_id, time_range, interval, per_metric=False)
    counts = {start: partial.count for (_, start), partial in partials.items()}
    return [(start, counts.get(start, 0)) for start in bucket_starts(time_range, interval)]


def metric_values_by_tag(
    project_id: int, metric: Metric, time_range: TimeRange, tag_key: str, aggregation: str
) -> dict[str, float | None]:
    """The aggregation over the whole range for each value of a tag (series without the tag left out)."""
    partials = metric_partials(project_id, metric, time_range, {}, None, tag_key, needs_of(aggregation))
    seconds = time_range.duration.total_seconds()
    return {key: partial.value(aggregation, seconds) for (key, _), partial in partials.items() if key is not None}


def metric_groups(
    project_id: int, metric: Metric, time_range: TimeRange, aggregation: str, tag_filter: TagFilter, group_by: str,
    limit: int,
) -> list[tuple[str | None, float | None]]:  # fmt: skip
    """The aggregation over the whole range per value of the `group_by` tag, the `limit` busiest groups first."""
    partials = metric_partials(project_id, metric, time_range, tag_filter, None, group_by, needs_of(aggregation))
    seconds = time_range.duration.total_seconds()
    ranked = sorted(partials.items(), key=lambda item: (-item[1].volume, str(item[0][0])))[:limit]
    return [(key, partial.value(aggregation, seconds)) for (key, _), partial in ranked]


def metric_sketches(
    project_id: int, metric: Metric, time_range: TimeRange, tag_filter: TagFilter, interval: str
) -> list[tuple[datetime, dict[int, int]]]:
    """Per bucket with points, oldest first, the values' sketch: point counts by sketch key (flux.query.sketches)."""
    partials = metric_partials(project_id, metric, time_range, tag_filter, interval, None, {SKETCH})
    return [(start, partial.sketch) for (_, start), partial in sorted(partials.items(), key=lambda item: item[0][1])]


def metric_tag_keys(metric: Metric) -> list[str]:
    """The tag keys of the metric's series, sorted."""
    rows = fetch_all(
        """SELECT DISTINCT jsonb_object_keys(tags) FROM metrics_metricseries
           WHERE project_id = %s AND metric_id = %s ORDER BY 1""",
        [metric.project_id, metric.pk],
    )
    return [key for (key,) in rows]
