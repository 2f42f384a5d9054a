"""JSON shapes shared by every read endpoint."""

from datetime import UTC, datetime

from flux.query.timerange import TimeRange
from metrics.queries import list_cardinality_warnings


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def points_json(points: list[tuple[datetime, object]]) -> list[list]:
    return [[iso(start), value] for start, value in points]


def range_json(time_range: TimeRange) -> dict:
    return {"from": iso(time_range.start), "to": iso(time_range.end)}


def cardinality_warnings_json(project_id: int, metric_id: int | None = None) -> list[dict]:
    warnings = list_cardinality_warnings(project_id, metric_id)
    return [{**warning, "last_folded_at": iso(warning["last_folded_at"])} for warning in warnings]
