"""Widgets over several queries (a, b, … : the widget's own query and `query.more`), and formulas over them
(`a / b * 100`): a number evaluates the formula over each query's value, a graph over each bucket."""

from collections.abc import Callable
from datetime import datetime

from dashboards.models import Widget
from flux.query.compare import compare, shown_percent_change
from flux.query.formula import evaluate, parse
from flux.query.timerange import TimeRange, widget_interval
from flux.web.serializers import points_json

QUERY_NAMES = "abcde"
Points = list[tuple[datetime, float | int | None]]


def is_combined(widget: Widget) -> bool:
    return bool(widget.query.get("more") or widget.query.get("formula"))


def named_queries(widget: Widget) -> dict[str, dict]:
    """a: the widget's own query; b, c, …: its added ones."""
    return dict(zip(QUERY_NAMES, [widget.query, *widget.query.get("more", [])], strict=False))


def combined_data(widget: Widget, time_range: TimeRange, source_of: Callable[[dict], object | None]) -> dict:
    """Number or graph data of a combined widget; `source_of` turns a query into an EventSource/MetricSource
    (None: a metric that has not arrived, whose values count as missing)."""
    sources = {name: source_of(query) for name, query in named_queries(widget).items()}
    formula = parse(widget.query["formula"]) if widget.query.get("formula") else None
    if widget.type == "number":
        return number_data(sources, formula, time_range)
    interval = widget_interval(time_range, widget.query["interval"])
    per_query = {name: series_of(source, time_range, interval) for name, source in sources.items()}
    if formula is None:
        series = [
            {"key": series_label(widget, name), "points": points_json(points)} for name, points in per_query.items()
        ]
    else:
        starts = sorted({start for points in per_query.values() for start, _ in points})
        by_name = {name: dict(points) for name, points in per_query.items()}
        points = [(start, evaluate(formula, {name: by_name[name].get(start) for name in by_name})) for start in starts]
        series = [{"key": widget.query.get("formula_alias") or widget.query["formula"], "points": points_json(points)}]
    return {"interval": interval, "series": series, "anomalies": []}


def series_of(source: object | None, time_range: TimeRange, interval: str) -> Points:
    if source is None:
        return []
    found = source.series(time_range, interval, 1)
    return found[0][1] if found else []


def series_label(widget: Widget, name: str) -> str:
    query = named_queries(widget)[name]
    return query.get("alias") or f"{query['name']} ({query['aggregation']})"


def number_data(sources: dict, formula: object, time_range: TimeRange) -> dict:
    def measure(over: TimeRange) -> float | None:
        values = {name: source.value(over) if source else None for name, source in sources.items()}
        return evaluate(formula, values) if formula is not None else values["a"]

    result = compare(measure, time_range, "previous")
    return {
        "value": result.current, "previous": result.previous, "change": result.change,
        "change_percent": shown_percent_change(result.current, result.previous), "sparkline": [],
    }  # fmt: skip
