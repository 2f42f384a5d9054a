"""Which events a query looks at (the filter grammar every reader of events shares: names and globs, tags,
properties, users, value bounds; group_by/unique fields), and the SQL that selects them within one project."""

from dataclasses import dataclass, field
from typing import Any

from flux.query.tag_match import tag_conditions
from flux.query.timerange import TimeRange

# group_by / unique fields: column names, or JSON keys under tags./properties.
PLAIN_FIELDS = ("name", "user_id", "session_id", "environment", "service", "host")


@dataclass(frozen=True)
class EventFilter:
    name: str | None = None  # exact, or a glob with * and ?
    tags: dict[str, str | tuple[str, ...]] = field(default_factory=dict)  # a tuple: any of these values
    properties: dict[str, str] = field(default_factory=dict)
    user_id: str | None = None
    session_id: str | None = None
    value_min: float | None = None
    value_max: float | None = None


def glob_to_like(pattern: str) -> str:
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def where_clause(project_id: int, time_range: TimeRange, event_filter: EventFilter) -> tuple[str, list[Any]]:
    clauses, params = ["project_id = %s", "time >= %s", "time < %s"], [project_id, time_range.start, time_range.end]
    if event_filter.name:
        if "*" in event_filter.name or "?" in event_filter.name:
            clauses.append("name LIKE %s")
            params.append(glob_to_like(event_filter.name))
        else:
            clauses.append("name = %s")
            params.append(event_filter.name)
    if event_filter.tags:
        tags_sql, tags_params = tag_conditions("tags", event_filter.tags)
        clauses.append(tags_sql)
        params.extend(tags_params)
    for key, value in event_filter.properties.items():
        clauses.append("properties ->> %s = %s")
        params.extend([key, value])
    for column in ("user_id", "session_id"):
        if getattr(event_filter, column) is not None:
            clauses.append(f"{column} = %s")
            params.append(getattr(event_filter, column))
    if event_filter.value_min is not None:
        clauses.append("value >= %s")
        params.append(event_filter.value_min)
    if event_filter.value_max is not None:
        clauses.append("value <= %s")
        params.append(event_filter.value_max)
    return " AND ".join(clauses), params


def field_expression(field_name: str) -> tuple[str, list[Any]] | None:
    """SQL for a group_by/unique field (from a whitelist, with JSON keys as parameters), or None if unknown."""
    if field_name in PLAIN_FIELDS:
        return field_name, []
    for prefix in ("tags", "properties"):
        if field_name.startswith(f"{prefix}.") and len(field_name) > len(prefix) + 1:
            return f"{prefix} ->> %s", [field_name[len(prefix) + 1 :]]
    return None
