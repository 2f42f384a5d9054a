"""What a widget shows: its query run through the events and metrics query layers, shaped by widget type.

number  {"value", "previous", "change", "change_percent", "sparkline": [[t, v], ...]}
graph   {"interval", "series": [{"key", "points": [[t, v], ...]}], "anomalies": [{"id", "from", "to", "severity", …}]}
bar/pie/table  {"groups": [{"key", "value"}], "total", "additive"} (additive: the groups add up to the
        total, so each group's share of it means something: counts and sums, not averages or percentiles)
heatmap {"mode": "hour_of_week", "cells": [[weekday 0=Mon, hour, value]]} (project-local time) or
        {"mode": "time_value", "interval", "bins": [lower bounds], "cells": [[t, bin index, count]]}
"""

import math
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from anomalies.queries import anomaly_marks
from dashboards.combined import combined_data, is_combined
from dashboards.models import Dashboard, Widget
from dashboards.validation import CALENDAR_RANGES
from dashboards.variables import Chosen, as_tag_filter, widget_tag_keys
from events import queries as events
from flux.query import query_params
from flux.query.compare import compare, earlier, shown_percent_change
from flux.query.event_filter import EventFilter
from flux.query.sketches import key_value
from flux.query.tag_match import TagFilter
from flux.query.timerange import INTERVAL_LADDER, TimeRange, approximate_seconds, choose_interval, widget_interval
from flux.tenants.models import Project
from flux.web.serializers import iso, points_json
from metrics import queries as metrics
from metrics.models import Metric

SPARKLINE_POINTS = 30
GROUP_LIMIT = 10
ADDITIVE = ("count", "sum")
Points = list[tuple[datetime, float | int | None]]


def widget_data(
    project: Project, widget: Widget, time_range: TimeRange, dashboard_filters: dict[str, str],
    variables: Chosen | None = None,
) -> dict:  # fmt: skip
    """The widget's data over `time_range`, with the dashboard-wide tag filters added to its own, and the
    chosen variables whose tag its series carry (the others listed as not applied)."""
    applied: Chosen = {}
    marks = {}
    if variables:
        keys = widget_tag_keys(project, widget, time_range)
        applied = {tag: values for tag, values in variables.items() if tag in keys}
        marks = {"variables": {"applied": sorted(applied), "ignored": sorted(set(variables) - set(applied))}}
    tag_filter = {**dashboard_filters, **as_tag_filter(applied)}
    data = shaped_data(project, widget, time_range, tag_filter)
    if widget.type == "graph" and widget.display.get("compare") == "previous" and "series" in data:
        data["previous"] = previous_overlay(project, widget, time_range, tag_filter)
    return {**data, **marks}


def previous_overlay(project: Project, widget: Widget, time_range: TimeRange, tag_filter: TagFilter) -> list[dict]:
    """The graph over the period just before, its times moved forward onto this one's, to draw over it."""
    before = earlier(time_range, "previous")
    shift = time_range.start - before.start
    series = shaped_data(project, widget, before, tag_filter).get("series", [])
    return [
        {"key": item["key"], "points": [[iso(parse_iso(at) + shift), value] for at, value in item["points"]]}
        for item in series
    ]


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text)


def shaped_data(project: Project, widget: Widget, time_range: TimeRange, tag_filter: TagFilter) -> dict:
    query = widget.query
    if is_combined(widget):
        return combined_data(widget, time_range, lambda each: source_for(project, each, tag_filter))
    source = EventSource(project, query, tag_filter) if query["source"] == "events" else None
    if source is None:
        metric = metrics.get_metric(project.pk, query["name"])
        if metric is None:
            return {"empty": True, "message": f"No metric named {query['name']!r} has arrived yet."}
        source = MetricSource(project, metric, query, tag_filter)
    limit = widget.display.get("limit", GROUP_LIMIT)
    if widget.type == "number":
        return number_data(source, time_range)
    if widget.type == "graph":
        interval = widget_interval(time_range, query["interval"])
        series = [
            {"key": key, "points": points_json(points)} for key, points in source.series(time_range, interval, limit)
        ]
        marks = anomaly_marks(project, query["source"], query["name"], time_range.start, time_range.end)
        return {"interval": interval, "series": series, "anomalies": marks}
    if widget.type in ("bar", "pie", "table"):
        groups = source.groups(time_range, limit)
        return {
            "groups": [{"key": key, "value": value} for key, value in groups], "total": source.value(time_range),
            "additive": source.aggregation in ADDITIVE,
        }  # fmt: skip
    if widget.display.get("mode") == "time_value" and isinstance(source, MetricSource):
        return source.value_heatmap(time_range)
    return {"mode": "hour_of_week", "cells": hour_of_week(source, time_range)}


def source_for(project: Project, query: dict, tag_filter: TagFilter) -> "EventSource | MetricSource | None":
    """The query's source; None for a metric that has not arrived yet."""
    if query["source"] == "events":
        return EventSource(project, {"group_by": None, **query}, tag_filter)
    metric = metrics.get_metric(project.pk, query["name"])
    return MetricSource(project, metric, {"group_by": None, **query}, tag_filter) if metric else None


def number_data(source: "EventSource | MetricSource", time_range: TimeRange) -> dict:
    result = compare(source.value, time_range, "previous")
    seconds = time_range.duration.total_seconds()
    interval = next(
        (step for step in INTERVAL_LADDER if seconds / approximate_seconds(step) <= SPARKLINE_POINTS),
        INTERVAL_LADDER[-1],
    )
    sparkline = next(iter(source.series(time_range, interval, 1)), (None, []))[1]
    return {
        "value": result.current, "previous": result.previous, "change": result.change,
        "change_percent": shown_percent_change(result.current, result.previous), "sparkline": points_json(sparkline),
    }  # fmt: skip


def hour_of_week(source: "EventSource | MetricSource", time_range: TimeRange) -> list[list]:
    """Sums (events) or averages (metrics) per local weekday and hour, from an hourly series."""
    totals: Counter[tuple[int, int]] = Counter()
    seen: Counter[tuple[int, int]] = Counter()
    counting = isinstance(source, EventSource)
    for start, value in next(iter(source.series(time_range, "1h", 1)), (None, []))[1]:
        if value is None or (counting and not value):
            continue  # an hour without events adds nothing; a metric's empty hour is no data
        local = start.astimezone(time_range.zone)
        totals[local.weekday(), local.hour] += value
        seen[local.weekday(), local.hour] += 1
    average = not counting and source.aggregation not in ("sum", "count")
    return [
        [day, hour, (totals[day, hour] / seen[day, hour]) if average else totals[day, hour]]
        for day, hour in sorted(totals)
    ]


class EventSource:
    def __init__(self, project: Project, query: dict, dashboard_filters: TagFilter) -> None:
        self.project = project
        self.aggregation = query["aggregation"]
        self.group_by = query["group_by"]
        name = None if query["name"] in ("*", "") else query["name"]
        self.filter = EventFilter(name=name, tags={**dashboard_filters, **query["filters"]})

    def value(self, time_range: TimeRange) -> float | None:
        if self.aggregation == "count":
            return events.count_events(self.project, time_range, self.filter)
        if self.aggregation == "unique":
            return events.unique_count(self.project, time_range, self.filter, "user_id")
        return events.value_stats(self.project, time_range, self.filter)[self.aggregation]

    def series(self, time_range: TimeRange, interval: str, limit: int) -> list[tuple[str | None, Points]]:
        if self.aggregation == "count" and self.group_by:
            groups = events.count_groups(self.project, time_range, self.filter, self.group_by, limit, interval)
            return [(group.key, group.points or []) for group in groups]
        if self.aggregation == "count":
            return [(None, events.count_series(self.project, time_range, self.filter, interval))]
        if self.aggregation == "unique":
            return [(None, events.unique_series(self.project, time_range, self.filter, "user_id", interval))]
        stats = events.value_stats_series(self.project, time_range, self.filter, interval)
        return [(None, [(start, values[self.aggregation]) for start, values in stats])]

    def groups(self, time_range: TimeRange, limit: int) -> list[tuple[str | None, Any]]:
        group_by = self.group_by or "name"
        if self.aggregation == "count":
            found = events.count_groups(self.project, time_range, self.filter, group_by, limit)
            return [(group.key, group.count) for group in found]
        if self.aggregation == "unique":
            return events.unique_groups(self.project, time_range, self.filter, "user_id", group_by, limit)
        found = events.value_stats_groups(self.project, time_range, self.filter, group_by, limit, self.aggregation)
        return [(key, stats[self.aggregation]) for key, stats in found]


class MetricSource:
    def __init__(self, project: Project, metric: Metric, query: dict, dashboard_filters: TagFilter) -> None:
        self.project, self.metric = project, metric
        self.aggregation = query["aggregation"]
        self.group_by = query["group_by"][5:] if query["group_by"] else None
        self.filters = {**dashboard_filters, **query["filters"]}

    def value(self, time_range: TimeRange) -> float | None:
        return metrics.metric_value(self.project.pk, self.metric, time_range, self.aggregation, self.filters)

    def series(self, time_range: TimeRange, interval: str, limit: int) -> list[tuple[str | None, Points]]:
        found = metrics.metric_series(
            self.project.pk, self.metric, time_range, interval, self.aggregation, self.filters, self.group_by, limit
        )
        return [(result.tags.get(self.group_by) if self.group_by else None, result.points) for result in found]

    def groups(self, time_range: TimeRange, limit: int) -> list[tuple[str | None, Any]]:
        if not self.group_by:
            return [(self.metric.name, self.value(time_range))]
        return metrics.metric_groups(
            self.project.pk, self.metric, time_range, self.aggregation, self.filters, self.group_by, limit
        )

    def value_heatmap(self, time_range: TimeRange) -> dict:
        """Time by value: how many points fell in each value band per interval (log-spaced bands)."""
        interval = choose_interval(time_range, None)
        sketches = metrics.metric_sketches(self.project.pk, self.metric, time_range, self.filters, interval)
        values = [key_value(key) for _, sketch in sketches for key in sketch]
        if not values:
            return {"mode": "time_value", "interval": interval, "bins": [], "cells": []}
        bins = value_bins(min(values), max(values))
        cells = []
        for start, sketch in sketches:
            per_bin: Counter[int] = Counter()
            for key, count in sketch.items():
                per_bin[bin_of(key_value(key), bins)] += count
            cells += [[iso(start), index, count] for index, count in sorted(per_bin.items())]
        return {"mode": "time_value", "interval": interval, "bins": bins, "cells": cells}


def value_bins(low: float, high: float, count: int = 20) -> list[float]:
    """Lower bounds of `count` bands from low to high: logarithmic for positive data, else linear."""
    if low > 0 and high / low > 10:
        ratio = (high / low) ** (1 / count)
        return [low * ratio**index for index in range(count)]
    step = (high - low) / count or 1.0
    return [low + step * index for index in range(count)]


def bin_of(value: float, bins: list[float]) -> int:
    index = 0
    for position, lower in enumerate(bins):
        if value >= lower or math.isclose(value, lower):
            index = position
    return index


def data_window(dashboard: Dashboard, params: Mapping[str, str], project: Project) -> tuple[TimeRange, dict[str, str]]:
    """The range asked for (default: the dashboard's), and the tag filters (default: the dashboard's)."""
    settings = dashboard.settings or {}
    wanted = dict(params.items())
    if not any(wanted.get(key) for key in ("from", "to", "period")):
        saved = settings.get("range", "24h")
        if saved in CALENDAR_RANGES:
            wanted["period"] = saved
        else:
            wanted["from"] = f"-{saved}"
    if not wanted.get("timezone") and settings.get("timezone"):
        wanted["timezone"] = settings["timezone"]
    filters = query_params.bracketed(params, "tags") or settings.get("filters", {})
    return query_params.time_range(wanted, project), filters
