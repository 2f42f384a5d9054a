"""JSON shapes shared by every read endpoint."""

from datetime import UTC, datetime

from flux.query.timerange import TimeRange


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def points_json(points: list[tuple[datetime, object]]) -> list[list]:
    return [[iso(start), value] for start, value in points]


def range_json(time_range: TimeRange) -> dict:
    return {"from": iso(time_range.start), "to": iso(time_range.end)}
