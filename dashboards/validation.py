"""Validation of dashboard and widget configurations: pure functions, no database.

Every problem is reported with the dotted path of the field (`query.aggregation`, `position.w`), so
that a dashboard managed as code gets an error it can act on. Unknown keys are refused rather than
ignored: a typo in a config must not silently do nothing.
"""

import re
from collections.abc import Callable, Mapping
from typing import Any

from events.queries import STAT_MEASURES
from flux.query.event_filter import PLAIN_FIELDS
from flux.query.formula import FormulaError, names_in, parse
from flux.query.timerange import INTERVAL_LADDER
from metrics.queries import AGGREGATIONS, DEFAULT_AGGREGATION

GRID_COLUMNS = 12
MAX_HEIGHT = 24
MAX_WIDGETS = 60
MAX_TITLE = 200
MAX_NAME = 200
MAX_DESCRIPTION = 2000
MAX_FILTERS = 20
MAX_COLORS = 20
MAX_THRESHOLDS = 10
WIDGET_TYPES = ("number", "graph", "bar", "pie", "table", "heatmap")
MAX_VARIABLES = 5
MAX_MORE_QUERIES = 4  # b to e
MAX_FORMULA = 200
MAX_ALIAS = 100
QUERY_NAMES = "abcde"
MAX_SELECTED = 50
EVENT_AGGREGATIONS = ("count", "unique", *STAT_MEASURES)
METRIC_AGGREGATIONS = tuple(dict.fromkeys(name for by_type in AGGREGATIONS.values() for name in by_type))
FORMATS = ("number", "percent", "bytes", "duration", "currency")
GRAPH_STYLES = ("line", "area", "bars")
HEATMAP_MODES = ("hour_of_week", "time_value")
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_SIZE = {"number": (3, 2), "graph": (6, 4), "bar": (6, 4), "pie": (4, 4), "table": (6, 4), "heatmap": (12, 4)}
# Relative ranges (the last 15 minutes…) and calendar periods (flux.query.timerange.PERIODS) a dashboard opens on.
CALENDAR_RANGES = ("today", "yesterday", "week", "last_week", "month", "last_month")
DASHBOARD_RANGES = ("15m", "1h", "24h", "7d", "30d", "90d", *CALENDAR_RANGES)
REFRESH = ("off", "10s", "1m")

# (metric name) -> its type, or None when no such metric exists yet
MetricTypeLookup = Callable[[str], str | None]


class InvalidConfig(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def require_mapping(value: object, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidConfig(field, f"{field} must be an object")
    return value


def refuse_unknown(value: Mapping[str, Any], allowed: tuple[str, ...], prefix: str) -> None:
    for key in value:
        if key not in allowed:
            raise InvalidConfig(f"{prefix}{key}", f"unknown field {prefix}{key} (allowed: {', '.join(allowed)})")


def text(value: object, field: str, max_length: int, required: bool = True) -> str | None:
    if value is None or value == "":
        if required:
            raise InvalidConfig(field, f"{field} is required")
        return None
    if not isinstance(value, str):
        raise InvalidConfig(field, f"{field} must be a string")
    if len(value) > max_length:
        raise InvalidConfig(field, f"{field} must be at most {max_length} characters")
    return value


def one_of(value: object, field: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise InvalidConfig(field, f"{field} must be one of {', '.join(allowed)}")
    return str(value)


def integer(value: object, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidConfig(field, f"{field} must be a whole number from {low} to {high}")
    return value


def number(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidConfig(field, f"{field} must be a number")
    return float(value)


def tag_filters(value: object, field: str) -> dict[str, str]:
    filters = require_mapping(value if value is not None else {}, field)
    if len(filters) > MAX_FILTERS:
        raise InvalidConfig(field, f"{field} may have at most {MAX_FILTERS} entries")
    cleaned = {}
    for key, tag_value in filters.items():
        if not isinstance(key, str) or not key or len(key) > MAX_NAME:
            raise InvalidConfig(field, f"{field} keys must be tag names")
        cleaned[key] = text(tag_value, f"{field}.{key}", MAX_NAME) or ""
    return cleaned


def clean_query(value: object, metric_type: MetricTypeLookup, field: str = "query") -> dict[str, Any]:
    """A widget's query; `field` names it in errors (`query`, or `query.more[0]` for an added query)."""
    query = require_mapping(value, field)
    primary = field == "query"
    allowed = ("source", "name", "aggregation", "filters", "alias")
    if primary:
        allowed = (*allowed, "group_by", "interval", "more", "formula", "formula_alias")
    refuse_unknown(query, allowed, f"{field}.")
    source = one_of(query.get("source", "events"), f"{field}.source", ("events", "metric"))
    name = text(query.get("name"), f"{field}.name", MAX_NAME, required=source == "metric") or "*"
    group_by = text(query.get("group_by"), f"{field}.group_by", MAX_NAME, required=False)
    if source == "events":
        aggregation = one_of(query.get("aggregation", "count"), f"{field}.aggregation", EVENT_AGGREGATIONS)
        if group_by and group_by not in PLAIN_FIELDS and not re.match(r"^(tags|properties)\.\S+$", group_by):
            raise InvalidConfig(
                f"{field}.group_by", f"{field}.group_by must be an event field, tags.<key> or properties.<key>"
            )
    else:
        known_type = metric_type(name)
        allowed_aggregations = tuple(AGGREGATIONS[known_type]) if known_type else METRIC_AGGREGATIONS
        default = DEFAULT_AGGREGATION[known_type] if known_type else "avg"
        aggregation = one_of(query.get("aggregation") or default, f"{field}.aggregation", allowed_aggregations)
        if group_by and not re.match(r"^tags\.\S+$", group_by):
            raise InvalidConfig(f"{field}.group_by", f"{field}.group_by of a metric must be tags.<key>")
    cleaned = {"source": source, "name": name, "aggregation": aggregation,
               "filters": tag_filters(query.get("filters"), f"{field}.filters")}  # fmt: skip
    if query.get("alias"):
        cleaned["alias"] = text(query["alias"], f"{field}.alias", MAX_ALIAS)
    if not primary:
        return cleaned
    interval = one_of(query.get("interval") or "auto", "query.interval", ("auto", *INTERVAL_LADDER))
    return {**cleaned, "group_by": group_by, "interval": interval, **clean_combination(query, metric_type)}


def clean_combination(query: Mapping[str, Any], metric_type: MetricTypeLookup) -> dict[str, Any]:
    """Added queries (b, c, … after the widget's own a) and a formula over them, with its alias."""
    more = query.get("more") or []
    if not isinstance(more, list) or len(more) > MAX_MORE_QUERIES:
        raise InvalidConfig("query.more", f"query.more must be a list of at most {MAX_MORE_QUERIES} queries")
    cleaned: dict[str, Any] = {}
    if more:
        cleaned["more"] = [clean_query(item, metric_type, f"query.more[{index}]") for index, item in enumerate(more)]
    if query.get("formula"):
        formula = text(query["formula"], "query.formula", MAX_FORMULA)
        try:
            names = names_in(parse(formula))
        except FormulaError as error:
            raise InvalidConfig("query.formula", f"query.formula: {error}") from None
        known = QUERY_NAMES[: len(more) + 1]
        if names - set(known):
            raise InvalidConfig("query.formula", f"query.formula may name only the queries {', '.join(known)}")
        cleaned["formula"] = formula
        if query.get("formula_alias"):
            cleaned["formula_alias"] = text(query["formula_alias"], "query.formula_alias", MAX_ALIAS)
    if cleaned and query.get("group_by"):
        raise InvalidConfig("query.group_by", "a widget with several queries or a formula cannot be grouped")
    return cleaned


def clean_display(value: object, widget_type: str) -> dict[str, Any]:
    display = require_mapping(value if value is not None else {}, "display")
    allowed = ("unit", "format", "decimals", "colors", "stacked", "style", "donut", "thresholds", "mode", "limit",
               "compare")  # fmt: skip
    refuse_unknown(display, allowed, "display.")
    cleaned: dict[str, Any] = {}
    if "unit" in display:
        cleaned["unit"] = text(display["unit"], "display.unit", 20, required=False) or ""
    if "format" in display:
        cleaned["format"] = one_of(display["format"], "display.format", FORMATS)
    if "decimals" in display:
        cleaned["decimals"] = integer(display["decimals"], "display.decimals", 0, 6)
    if "colors" in display:
        colors = display["colors"]
        if not isinstance(colors, list) or len(colors) > MAX_COLORS:
            raise InvalidConfig("display.colors", f"display.colors must be a list of at most {MAX_COLORS} colours")
        for index, color in enumerate(colors):
            if not isinstance(color, str) or not COLOR.match(color):
                raise InvalidConfig(f"display.colors[{index}]", "a colour is #rrggbb")
        cleaned["colors"] = list(colors)
    for flag in ("stacked", "donut"):
        if flag in display:
            if not isinstance(display[flag], bool):
                raise InvalidConfig(f"display.{flag}", f"display.{flag} must be true or false")
            cleaned[flag] = display[flag]
    if "style" in display:
        cleaned["style"] = one_of(display["style"], "display.style", GRAPH_STYLES)
    if "mode" in display:
        cleaned["mode"] = one_of(display["mode"], "display.mode", HEATMAP_MODES)
    if "limit" in display:
        cleaned["limit"] = integer(display["limit"], "display.limit", 1, 100)
    if display.get("compare"):
        if widget_type != "graph":
            raise InvalidConfig("display.compare", "display.compare (an overlay of the previous period) is for graphs")
        cleaned["compare"] = one_of(display["compare"], "display.compare", ("previous",))
    if "thresholds" in display:
        cleaned["thresholds"] = clean_thresholds(display["thresholds"])
    if widget_type == "heatmap":
        cleaned.setdefault("mode", "hour_of_week")
    return cleaned


def clean_thresholds(value: object) -> list[dict[str, Any]]:
    if not isinstance(value, list) or len(value) > MAX_THRESHOLDS:
        raise InvalidConfig("display.thresholds", f"display.thresholds must be a list of at most {MAX_THRESHOLDS}")
    cleaned = []
    for index, threshold in enumerate(value):
        field = f"display.thresholds[{index}]"
        threshold = require_mapping(threshold, field)
        refuse_unknown(threshold, ("value", "color"), f"{field}.")
        color = threshold.get("color")
        if not isinstance(color, str) or not COLOR.match(color):
            raise InvalidConfig(f"{field}.color", "a colour is #rrggbb")
        cleaned.append({"value": number(threshold.get("value"), f"{field}.value"), "color": color})
    return sorted(cleaned, key=lambda threshold: threshold["value"])


def clean_position(value: object, widget_type: str) -> dict[str, int]:
    position = require_mapping(value if value is not None else {}, "position")
    refuse_unknown(position, ("x", "y", "w", "h"), "position.")
    width, height = DEFAULT_SIZE[widget_type]
    w = integer(position.get("w", width), "position.w", 1, GRID_COLUMNS)
    h = integer(position.get("h", height), "position.h", 1, MAX_HEIGHT)
    x = integer(position.get("x", 0), "position.x", 0, GRID_COLUMNS - w)
    y = integer(position.get("y", 0), "position.y", 0, 10_000)
    return {"x": x, "y": y, "w": w, "h": h}


def clean_widget(value: object, metric_type: MetricTypeLookup, partial: Mapping[str, Any] | None = None) -> dict:
    """A complete, normalised widget config; with `partial` (the stored widget), `value` may change
    only some fields (PATCH), and the result is validated as a whole."""
    widget = require_mapping(value, "widget")
    refuse_unknown(widget, ("title", "type", "query", "display", "position"), "")
    merged = {**(partial or {}), **widget}
    widget_type = one_of(merged.get("type"), "type", WIDGET_TYPES)
    return {
        "title": text(merged.get("title"), "title", MAX_TITLE, required=False) or "",
        "type": widget_type,
        "query": combined_for(clean_query(merged.get("query"), metric_type), widget_type),
        "display": clean_display(merged.get("display"), widget_type),
        "position": clean_position(merged.get("position"), widget_type),
    }


def combined_for(query: dict[str, Any], widget_type: str) -> dict[str, Any]:
    if ("more" in query or "formula" in query) and widget_type not in ("number", "graph"):
        raise InvalidConfig("query.more", "several queries and formulas are for number and graph widgets")
    return query


def clean_variables(value: object) -> list[dict[str, Any]]:
    """`[{"tag", "multi", "selected"}]`: tags named once each, at most MAX_VARIABLES (dashboards/variables.py)."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_VARIABLES:
        raise InvalidConfig("settings.variables", f"settings.variables must be a list of at most {MAX_VARIABLES}")
    cleaned, seen = [], set()
    for index, item in enumerate(value):
        field = f"settings.variables[{index}]"
        variable = require_mapping(item, field)
        refuse_unknown(variable, ("tag", "multi", "selected"), f"{field}.")
        tag = text(variable.get("tag"), f"{field}.tag", MAX_NAME)
        if tag in seen:
            raise InvalidConfig(f"{field}.tag", f"{field}.tag {tag!r} is already a variable")
        seen.add(tag)
        multi = variable.get("multi", False)
        if not isinstance(multi, bool):
            raise InvalidConfig(f"{field}.multi", f"{field}.multi must be true or false")
        selected = variable.get("selected") or []
        if not isinstance(selected, list) or len(selected) > (MAX_SELECTED if multi else 1):
            raise InvalidConfig(f"{field}.selected", f"{field}.selected must be a list of at most "
                                f"{MAX_SELECTED if multi else 1} values")  # fmt: skip
        values = [text(choice, f"{field}.selected", MAX_NAME) for choice in selected]
        cleaned.append({"tag": tag, "multi": multi, "selected": values})
    return cleaned


def clean_settings(value: object) -> dict[str, Any]:
    """Dashboard-wide settings: default range, timezone (None: the project's), tag filters, refresh."""
    settings = require_mapping(value if value is not None else {}, "settings")
    refuse_unknown(settings, ("range", "timezone", "filters", "refresh", "variables"), "settings.")
    cleaned: dict[str, Any] = {
        "range": one_of(settings.get("range", "24h"), "settings.range", DASHBOARD_RANGES),
        "filters": tag_filters(settings.get("filters"), "settings.filters"),
        "refresh": one_of(settings.get("refresh", "off"), "settings.refresh", REFRESH),
        "timezone": text(settings.get("timezone"), "settings.timezone", 64, required=False),
        "variables": clean_variables(settings.get("variables")),
    }
    if cleaned["timezone"]:
        from zoneinfo import available_timezones

        if cleaned["timezone"] not in available_timezones():
            raise InvalidConfig("settings.timezone", "settings.timezone must be an IANA timezone name")
    return cleaned
