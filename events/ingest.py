"""Batch-first event ingestion: validate items into rows, then one COPY per request."""

from dataclasses import dataclass
from datetime import datetime

from django.db.backends.utils import CursorWrapper

from flux.ingestion.fields import (
    Errors,
    TimeWindow,
    clean_name,
    clean_number,
    clean_optional_text,
    clean_properties,
    clean_tags,
    clean_timestamp,
    tags_json,
)

TEXT_FIELDS = ("user_id", "session_id", "environment", "service", "host", "request_id")
COPY_EVENTS = (
    "COPY events_event (project_id, time, name, user_id, session_id, value, tags, properties,"
    " environment, service, host, request_id, client_id) FROM STDIN"
)


@dataclass(frozen=True)
class EventRow:
    time: datetime
    name: str
    value: float | None
    tags: str  # JSON text
    properties: str  # JSON text
    texts: tuple[str | None, ...]  # TEXT_FIELDS, in order
    client_id: str | None


def clean_event(item: object, window: TimeWindow) -> tuple[EventRow | None, list[str]]:
    """One raw event to a row, or the list of everything wrong with it."""
    if not isinstance(item, dict):
        return None, ["an event must be a JSON object"]
    errors = Errors()
    name = errors.attempt(clean_name, item.get("name"))
    time = errors.attempt(clean_timestamp, item.get("timestamp"), window)
    raw_value = item.get("value")
    value = None if raw_value is None else errors.attempt(clean_number, raw_value, "value")
    tags = errors.attempt(clean_tags, item.get("tags"))
    properties = errors.attempt(clean_properties, item.get("properties"))
    texts = tuple(errors.attempt(clean_optional_text, item.get(field), field) for field in TEXT_FIELDS)
    client_id = errors.attempt(clean_optional_text, item.get("id"), "id")
    if errors.messages:
        return None, errors.messages
    return EventRow(time, name, value, tags_json(tags), properties, texts, client_id), []


def copy_events(cursor: CursorWrapper, project_id: int, rows: list[EventRow]) -> None:
    """Store rows in one COPY round trip."""
    if not rows:
        return
    with cursor.copy(COPY_EVENTS) as copy:
        for row in rows:
            user_id, session_id, environment, service, host, request_id = row.texts
            copy.write_row(
                (project_id, row.time, row.name, user_id, session_id, row.value, row.tags, row.properties,
                 environment, service, host, request_id, row.client_id)
            )  # fmt: skip
