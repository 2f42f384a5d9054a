"""Batch-first event ingestion: validate items into rows, then one COPY per request."""

from dataclasses import dataclass
from datetime import datetime

from django.db.backends.utils import CursorWrapper

from flux.ingestion.fields import (
    FieldError,
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
    errors: list[str] = []

    def attempt(clean: object, *args: object) -> object:
        try:
            return clean(*args)
        except FieldError as error:
            errors.append(str(error))
            return None

    name = attempt(clean_name, item.get("name"))
    time = attempt(clean_timestamp, item.get("timestamp"), window)
    raw_value = item.get("value")
    value = None if raw_value is None else attempt(clean_number, raw_value, "value")
    tags = attempt(clean_tags, item.get("tags"))
    properties = attempt(clean_properties, item.get("properties"))
    texts = tuple(attempt(clean_optional_text, item.get(field), field) for field in TEXT_FIELDS)
    client_id = attempt(clean_optional_text, item.get("id"), "id")
    if errors:
        return None, errors
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
