"""What each MCP tool does, as plain functions of the caller and the tool's arguments. Every answer
comes from Flux's REST API (flux.mcp.internal_api) and is kept small enough for a model's context:
series get an interval giving at most MAX_POINTS buckets, lists are capped, and an answer larger than
MAX_ANSWER_BYTES is cut down (with `"truncated": true`, flux.mcp.bounding)."""

import difflib
from typing import Any

from django.utils import timezone
from mcp.server.mcpserver.exceptions import ToolError

from flux.insights.facts import tag_params
from flux.insights.stats import count_change, welch
from flux.mcp.bounding import bounded
from flux.mcp.internal_api import Caller, call
from flux.query.timerange import INTERVAL_LADDER, RangeError, approximate_seconds, parse_range
from metrics.queries import get_metric

MAX_POINTS = 120
MAX_ITEMS = 50
EVENT_MEASURES = ("count", "unique", "sum", "avg", "min", "max", "p50", "p90", "p95", "p99")


def range_params(start: str | None, end: str | None, period: str | None) -> dict[str, str | None]:
    return {"from": start, "to": end, "period": period}


def coarse_interval(caller: Caller, window: dict[str, str | None], requested: str | None) -> str | None:
    """The requested interval, or the finest one giving at most MAX_POINTS buckets (the API checks both)."""
    if requested and requested != "auto":
        return requested
    try:
        time_range = parse_range({k: v for k, v in window.items() if v}, timezone.now(), caller.project.timezone)
    except RangeError:
        return None  # the API says what is wrong with the range
    seconds = time_range.duration.total_seconds()
    return next((step for step in INTERVAL_LADDER if seconds / approximate_seconds(step) <= MAX_POINTS), "1mo")


def tags_params(filters: dict[str, str] | None) -> dict[str, str]:
    return tag_params({key: str(value) for key, value in (filters or {}).items()})


def thinned(items: list, at_most: int) -> list:
    """Every n-th item, n the smallest step that leaves at most `at_most`."""
    return items[:: max(1, -(-len(items) // at_most))]


def list_events(caller: Caller, period: str = "last_30d", limit: int = MAX_ITEMS) -> dict:
    """Event names seen in the period, busiest first, with count, last seen time and tag keys."""
    return bounded(call(caller, "GET", "/api/v1/events/names", {"period": period, "limit": min(limit, 200)}))


def unknown_name_note(caller: Caller, name: str | None, count: object) -> dict:
    """For no events of a name never seen (a guess such as `user.signup` where the project sends `signup`):
    a note saying so, with the names it may have meant, rather than a plain zero."""
    if count != 0 or not name or any(character in name for character in "*?["):
        return {}
    known = [item["name"] for item in call(caller, "GET", "/api/v1/events/names", {"period": "last_90d", "limit": 1000})
             ["names"]]  # fmt: skip
    if name in known:
        return {}
    close = difflib.get_close_matches(name, known, n=5, cutoff=0.4)
    return {
        "note": f"No event named {name!r} in the last 90 days"
        + (f"; did you mean {', '.join(close)}?" if close else "; list_events gives the names.")
    }


def list_metrics(caller: Caller) -> dict:
    """Every metric with its type, series count, tag keys (with common values) and last seen time."""
    answer = call(caller, "GET", "/api/v1/metrics")
    return bounded({"metrics": answer["metrics"][:200], "total": len(answer["metrics"])})


def query_events(
    caller: Caller, measure: str = "count", name: str | None = None, start: str | None = None, end: str | None = None,
    period: str | None = None, interval: str | None = None, filters: dict[str, str] | None = None,
    group_by: str | None = None, limit: int = 10, field: str = "user_id",
) -> dict:  # fmt: skip
    """count, unique values of `field`, or a statistic of events' value, over a range; optionally per
    interval and/or grouped."""
    if measure not in EVENT_MEASURES:
        raise ToolError(f"measure must be one of {', '.join(EVENT_MEASURES)}")
    window = range_params(start, end, period)
    params = {**window, "name": name, "group_by": group_by, "limit": min(limit, MAX_ITEMS), **tags_params(filters)}
    if interval is not None or group_by is None:
        params["interval"] = coarse_interval(caller, window, interval)
    if measure == "count":
        answer = call(caller, "GET", "/api/v1/events/count", params)
        return bounded(answer | unknown_name_note(caller, name, answer.get("count")))
    if measure == "unique":  # no groups there: `limit` (this tool's own default) does not apply
        unique_params = {key: value for key, value in params.items() if key != "limit"}
        return bounded(call(caller, "GET", "/api/v1/events/unique", {**unique_params, "field": field}))
    ranked = {"rank_by": measure} if group_by else {}  # the groups highest in what was asked, not in count
    answer = call(caller, "GET", "/api/v1/events/stats", {**params, **ranked})
    return bounded({"measure": measure, **answer})


def query_metric(
    caller: Caller, name: str, aggregation: str | None = None, start: str | None = None, end: str | None = None,
    period: str | None = None, interval: str | None = None, filters: dict[str, str] | None = None,
    group_by: str | None = None, limit: int = 10,
) -> dict:  # fmt: skip
    """A metric aggregated per interval (the type's default aggregation unless given), with its summary."""
    window = range_params(start, end, period)
    params = {
        **window, "aggregation": aggregation, "interval": coarse_interval(caller, window, interval),
        "group_by": f"tags.{group_by}" if group_by and not group_by.startswith("tags.") else group_by,
        "limit": min(limit, 20), **tags_params(filters),
    }  # fmt: skip
    series = call(caller, "GET", f"/api/v1/metrics/{name}/query", params)
    summary = call(caller, "GET", f"/api/v1/metrics/{name}", window)  # it takes no tag filters
    # With filters the summary would read as the filtered series' (an avg of 51 where the series' was 2).
    scope = "the whole metric, all tags: the filters apply to the series only" if filters else "the whole metric"
    return bounded({**series, "summary": {**summary, "covers": scope}})


PERIODS = ("last_24h", "last_7d", "last_30d")  # rolling, ending now: the API's names for them
AGAINST = ("previous", "day", "week", "month", "year")


def compare_periods(
    caller: Caller, name: str, period: str = "last_7d", against: str = "previous", kind: str | None = None
) -> dict:
    """The last 24 hours, 7 or 30 days against the stretch before (with Flux's own sentence, significance and when the
    change started), or against the same stretch a day, week, month (4 weeks) or year (52 weeks) earlier."""
    if period not in PERIODS:
        raise ToolError(f"period must be one of {', '.join(PERIODS)}")
    if against not in AGAINST:
        raise ToolError(f"against must be one of {', '.join(AGAINST)}")
    if against == "previous":
        return bounded(call(caller, "GET", "/api/v1/insights/compare", {"name": name, "period": period, "kind": kind}))
    window = {"period": period, "compare_to": against}
    metric = kind == "metric" or (kind is None and get_metric(caller.project.pk, name) is not None)
    answer = call(caller, "GET", "/api/v1/compare", {**window, "metric": name} if metric else {**window, "name": name})
    return bounded(answer | significance(caller, name, answer, metric))


def significance(caller: Caller, name: str, answer: dict, metric: bool) -> dict:
    """Whether the change is more than normal variation: Poisson counts for events, Welch's t on the
    hourly values for a metric (flux.insights.stats, as the insights use)."""
    current, previous = answer["current"], answer["previous"]
    if current is None or previous is None:
        return {"significant": None, "p_value": None}
    if not metric:
        verdict = count_change(int(current), int(previous))
    else:
        hourly = []
        for start, end in ((answer["from"], answer["to"]), (answer["previous_from"], answer["previous_to"])):
            params = {"from": start, "to": end, "interval": "1h", "aggregation": answer.get("aggregation")}
            series = call(caller, "GET", f"/api/v1/metrics/{name}/query", params)["series"]
            hourly.append([value for _, value in (series[0]["points"] if series else []) if value is not None])
        if min(len(values) for values in hourly) < 2:
            return {"significant": None, "p_value": None}
        verdict = welch(hourly[1], hourly[0])
    return {"significant": verdict.significant, "p_value": verdict.p_value}


def explain_change(caller: Caller, name: str, period: str = "last_7d", kind: str | None = None) -> dict:
    """When a change started and which tag values drive it (with Flux's own sentence)."""
    if period not in PERIODS:
        raise ToolError(f"period must be one of {', '.join(PERIODS)}")
    return bounded(call(caller, "GET", "/api/v1/insights/explain", {"name": name, "period": period, "kind": kind}))


def funnel(
    caller: Caller, steps: list[str], start: str | None = None, end: str | None = None, period: str | None = None,
    window: str = "7d", group_by: str | None = None,
) -> dict:  # fmt: skip
    """Users who did each step in order (within `window` of the first), with conversion between steps."""
    body = {**{k: v for k, v in range_params(start, end, period).items() if v}, "window": window,
            "steps": [{"name": step} for step in steps]}  # fmt: skip
    if group_by:
        body["group_by"] = group_by
    return bounded(call(caller, "POST", "/api/v1/events/funnel", body=body))


def list_anomalies(
    caller: Caller, status: str = "open,acknowledged", severity: str | None = None, kind: str | None = None,
    name: str | None = None, limit: int = 20,
) -> dict:  # fmt: skip
    """Anomalies newest first (unresolved by default)."""
    params = {"status": status, "severity": severity, "kind": kind, "name": name, "limit": min(limit, MAX_ITEMS)}
    answer = call(caller, "GET", "/api/v1/anomalies", params)
    return bounded({"anomalies": answer["anomalies"], "more": answer["next_cursor"] is not None})


def get_anomaly(caller: Caller, anomaly_id: int) -> dict:
    """One anomaly with its explanation and its series around it (every other hour past MAX_POINTS)."""
    answer = call(caller, "GET", f"/api/v1/anomalies/{anomaly_id}")
    return bounded({**answer, "context": thinned(answer.get("context", []), MAX_POINTS)})


def acknowledge_anomaly(caller: Caller, anomaly_id: int, note: str = "") -> dict:
    """Mark an anomaly as being looked at (no more reminders), with an optional note."""
    return call(caller, "POST", f"/api/v1/anomalies/{anomaly_id}/acknowledge", body={"note": note} if note else {})


def get_dashboard(caller: Caller, dashboard: str) -> dict:
    """A dashboard's widgets with their current data (over the dashboard's own range and filters)."""
    layout = call(caller, "GET", f"/api/v1/dashboards/{dashboard}")
    data = call(caller, "GET", f"/api/v1/dashboards/{dashboard}/data")
    widgets = [
        {"id": widget["id"], "title": widget["title"], "type": widget["type"], "query": widget["query"],
         "data": shrink_series(data["widgets"].get(str(widget["id"])))}
        for widget in layout["widgets"]
    ]  # fmt: skip
    window = {"from": data["from"], "to": data["to"], "filters": data["filters"]}
    return bounded({"name": layout["name"], "slug": layout["slug"], **window, "widgets": widgets})


def shrink_series(data: Any) -> Any:
    """Every n-th point of long widget series, so one dashboard fits in an answer."""
    if isinstance(data, dict) and isinstance(data.get("series"), list):
        for item in data["series"]:
            item["points"] = thinned(item.get("points", []), MAX_POINTS)
    if isinstance(data, dict) and isinstance(data.get("sparkline"), list):
        data["sparkline"] = thinned(data["sparkline"], 30)
    return data


def create_dashboard_widget(caller: Caller, dashboard: str, widget: dict) -> dict:
    """Add a widget (title, type, query, display, position) to a dashboard; the API validates it."""
    return call(caller, "POST", f"/api/v1/dashboards/{dashboard}/widgets", body=widget)


def track_event(
    caller: Caller, name: str, properties: dict | None = None, tags: dict | None = None, user_id: str | None = None,
    value: float | None = None, timestamp: str | None = None,
) -> dict:  # fmt: skip
    """Record one event (e.g. an annotation such as "deploy.finished")."""
    event = {"name": name, "properties": properties, "tags": tags, "user_id": user_id, "value": value,
             "timestamp": timestamp}  # fmt: skip
    given = {key: value for key, value in event.items() if value is not None}
    return call(caller, "POST", "/api/v1/events", body=given)


def create_annotation(
    caller: Caller, text: str, time: str | None = None, time_end: str | None = None, tags: dict | None = None
) -> dict:
    """Mark a deploy, campaign or incident on the project's graphs (at `time`, default now, or a range)."""
    body = {"text": text, "time": time, "time_end": time_end, "tags": tags}
    return call(caller, "POST", "/api/v1/annotations", body={key: value for key, value in body.items() if value})


def list_annotations(
    caller: Caller, start: str | None = None, end: str | None = None, period: str | None = "last_30d"
) -> dict:
    """Annotations (deploys, campaigns) touching a range, oldest first."""
    window = range_params(start, end, None if start or end else period)
    params = {**{key: value for key, value in window.items() if value}, "limit": MAX_ITEMS}
    return bounded(call(caller, "GET", "/api/v1/annotations", params))
