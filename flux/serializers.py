"""JSON shapes shared by every read endpoint."""

from datetime import UTC, datetime


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def points_json(points: list[tuple[datetime, object]]) -> list[list]:
    return [[iso(start), value] for start, value in points]
