"""Dashboard variables: dropdowns of a tag's values (`country`, `plan`, `env`), one or several chosen,
applied to every widget whose series carry that tag; the other widgets are left as they are and say so.

Saved in the dashboard's settings as `variables: [{"tag", "multi", "selected": [values]}]` (nothing
selected: all values); a request may choose others with `var[<tag>]=<value>[,<value>…]` (empty: all).
"""

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from dashboards.models import Dashboard, Widget
from dashboards.validation import MAX_SELECTED
from flux.query.db import fetch_all
from flux.query.event_filter import glob_to_like
from flux.query.query_params import InvalidParameter
from flux.query.timerange import TimeRange
from flux.tenants.models import Project
from metrics import queries as metrics

MAX_OPTIONS = 200
# Tag rollups are hourly and lag the newest rows: the last hours are read from raw events too.
RECENT = timedelta(hours=2)
Chosen = dict[str, tuple[str, ...]]


def chosen_values(dashboard: Dashboard, params: Mapping[str, str]) -> Chosen:
    """Each variable's chosen values (from `var[<tag>]`, else as saved); variables with none are left out."""
    variables = (dashboard.settings or {}).get("variables", [])
    declared = {variable["tag"]: variable for variable in variables}
    for key in params:
        if key.startswith("var[") and key.endswith("]") and key[4:-1] not in declared:
            raise InvalidParameter(key, f"{key[4:-1]!r} is not a variable of this dashboard")
    chosen: Chosen = {}
    for tag, variable in declared.items():
        raw = params.get(f"var[{tag}]")
        values = [value.strip() for value in raw.split(",")] if raw is not None else variable["selected"]
        values = [value for value in values if value][:MAX_SELECTED]
        if not variable["multi"]:
            values = values[:1]
        if values:
            chosen[tag] = tuple(values)
    return chosen


def as_tag_filter(chosen: Chosen) -> dict[str, str | tuple[str, ...]]:
    """One value as an equality (the index's containment), several as any-of."""
    return {tag: values[0] if len(values) == 1 else values for tag, values in chosen.items()}


def widget_tag_keys(project: Project, widget: Widget, time_range: TimeRange) -> set[str]:
    """The tag keys the widget's series carry: its metric's series, or its events in the range."""
    query = widget.query
    if query["source"] == "metric":
        metric = metrics.get_metric(project.pk, query["name"])
        return set(metrics.metric_tag_keys(metric)) if metric else set()
    name = query["name"] if query["name"] not in ("", "*") else None
    name_sql, name_params = ("TRUE", []) if name is None else name_condition(name)
    rows = fetch_all(
        f"""
        SELECT DISTINCT tag_key FROM events_eventtagrollup
        WHERE project_id = %s AND level = 'hour' AND bucket >= %s AND bucket < %s AND {name_sql}
        UNION
        SELECT DISTINCT jsonb_object_keys(tags) FROM events_event
        WHERE project_id = %s AND time >= %s AND time < %s AND {name_sql}
        """,
        [project.pk, time_range.start - timedelta(hours=1), time_range.end, *name_params,
         project.pk, max(time_range.start, time_range.end - RECENT), time_range.end, *name_params],
    )  # fmt: skip
    return {key for (key,) in rows}


def name_condition(name: str) -> tuple[str, list[Any]]:
    if "*" in name or "?" in name:
        return "name LIKE %s", [glob_to_like(name)]
    return "name = %s", [name]


def variable_options(project: Project, tags: list[str], time_range: TimeRange) -> dict[str, list[str]]:
    """The values each tag had in the range (events) or has (metric series), sorted, at most MAX_OPTIONS."""
    options: dict[str, list[str]] = {}
    for tag in tags:
        rows = fetch_all(
            """
            SELECT value FROM (
                SELECT DISTINCT tag_value AS value FROM events_eventtagrollup
                WHERE project_id = %s AND level = 'hour' AND tag_key = %s AND bucket >= %s AND bucket < %s
                UNION
                SELECT DISTINCT tags ->> %s FROM events_event
                WHERE project_id = %s AND time >= %s AND time < %s AND tags ? %s
                UNION
                SELECT DISTINCT tags ->> %s FROM metrics_metricseries WHERE project_id = %s AND tags ? %s
            ) found WHERE value IS NOT NULL ORDER BY 1 LIMIT %s
            """,
            [project.pk, tag, time_range.start - timedelta(hours=1), time_range.end,
             tag, project.pk, max(time_range.start, time_range.end - RECENT), time_range.end, tag,
             tag, project.pk, tag, MAX_OPTIONS],
        )  # fmt: skip
        options[tag] = [value for (value,) in rows]
    return options
