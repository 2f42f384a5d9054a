"""Batch-first event ingestion: validate items into COPY text, then one COPY per request.

Well-formed events arrive as `WireEvent`s (decoded and type-checked by msgspec in one pass) and take a
short path that only checks what the types cannot say (name characters, lengths, the time window) and
keeps the tags' JSON text as sent. Anything else, or a WireEvent that fails a check, goes through the
per-field cleaning below, which says exactly what is wrong.
"""

import re
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

import msgspec
from django.db.backends.utils import CursorWrapper

from events.dictionaries import encode
from events.sql import COPY_ENCODED_EVENTS
from flux.payloads.body import parse_json
from flux.payloads.fields import (
    NAME_MAX_LENGTH,
    NUMBER_MAX_MAGNITUDE,
    PLAIN_NAME,
    TAG_KEY_MAX_LENGTH,
    TAG_VALUE_MAX_LENGTH,
    TAGS_MAX_COUNT,
    Errors,
    FieldError,
    TimeWindow,
    clean_item_id,
    clean_name,
    clean_number,
    clean_optional_text,
    clean_properties,
    clean_tags,
    clean_timestamp,
    is_plain_short_text,
    is_plain_tag_key,
    parse_iso_timestamp,
    tags_json,
)
from flux.payloads.wire import NULL, WireEvent
from flux.storage.copy_text import COPY_NULL, copy_text

TEXT_FIELDS = ("user_id", "session_id", "environment", "service", "host", "request_id")
TAGS_DECODER = msgspec.json.Decoder(dict[str, str])
# What COPY's text format gives a meaning to, and NUL, which PostgreSQL cannot store.
SPECIAL_CHARACTERS = re.compile(r"[\\\x00\t\n\r]")
# Tag JSON this short cannot hold a key or value over its limit, nor more than TAGS_MAX_COUNT tags.
SHORT_TAGS_BYTES = TAG_KEY_MAX_LENGTH


class EventRow(NamedTuple):
    name: str
    tags: str  # JSON text of the tag set, as sent or canonical (its dictionary id is found by content)
    client_id: str | None
    line: str  # the row in COPY text format, every column after the project's, name's and tags' ids, with "\n"


def event_line(time: str, value: float | None, properties: str, texts: tuple, client_id: str | None) -> str:
    user_id, session_id, environment, service, host, request_id = map(copy_text, texts)
    number = COPY_NULL if value is None else repr(value)
    return (
        f"{time}\t{user_id}\t{session_id}\t{number}\t{copy_text(properties)}\t"
        f"{environment}\t{service}\t{host}\t{request_id}\t{copy_text(client_id)}\n"
    )


def clean_event(item: object, window: TimeWindow) -> tuple[EventRow | None, list[str]]:
    """One raw event to a row, or the list of everything wrong with it."""
    if type(item) is WireEvent:
        row = plain_event_row(item, window)
        if row is not None:
            return row, []
        item = wire_event_as_dict(item)
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
    client_id = errors.attempt(clean_item_id, item.get("id"))
    if errors.messages:
        return None, errors.messages
    line = event_line(time.isoformat(), value, properties, texts, client_id)
    return EventRow(name, tags_json(tags), client_id, line), []


@lru_cache(maxsize=4096)
def is_plain_name(name: str) -> bool:
    if len(name) > NAME_MAX_LENGTH or name[0] == " " or name[-1] == " ":
        return False
    return PLAIN_NAME.fullmatch(name) is not None


@lru_cache(maxsize=4096)
def iso_time(value: str) -> tuple[datetime, str]:
    # Cached with its COPY text: a batch's items are mostly stamped within a few milliseconds.
    moment = parse_iso_timestamp(value[:64])
    return moment, moment.isoformat()


def plain_time(value: str | float | None, window: TimeWindow) -> str | None:
    """The timestamp's COPY text when it is inside the window, else None (the long path explains)."""
    try:
        if type(value) is str:
            moment, text = iso_time(value)
        else:
            moment = clean_timestamp(value, window)
            text = moment.isoformat()
    except FieldError:
        return None
    return text if window.earliest <= moment <= window.latest else None


def plain_tags(raw: msgspec.Raw) -> str | None:
    """The tags' JSON text as sent, when it is an object of at most TAGS_MAX_COUNT short strings."""
    if raw == NULL:
        return "{}"
    try:
        tags = TAGS_DECODER.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
        return None
    if not all(is_plain_tag_key(key) for key in tags):
        return None
    text = bytes(raw).decode()
    if "\\u0000" in text:  # a NUL, which PostgreSQL cannot store (or an escaped backslash before "u0000")
        return None
    if len(raw) > SHORT_TAGS_BYTES:
        if len(tags) > TAGS_MAX_COUNT:
            return None
        for key, value in tags.items():
            if not (is_plain_short_text(key, TAG_KEY_MAX_LENGTH) and is_plain_short_text(value, TAG_VALUE_MAX_LENGTH)):
                return None
    return text


def plain_event_row(item: WireEvent, window: TimeWindow) -> EventRow | None:
    """The row of a well-formed event, or None if any field needs the long path's checks or messages."""
    name, value, client_id = item.name, item.value, item.id
    if not name or not is_plain_name(name) or (value is not None and abs(value) > NUMBER_MAX_MAGNITUDE):
        return None
    if client_id == "":
        return None
    time = plain_time(item.timestamp, window)
    tags = plain_tags(item.tags)
    if time is None or tags is None:
        return None
    if item.properties:
        try:
            properties = clean_properties(item.properties)
        except FieldError:
            return None
    else:
        properties = "{}"
    texts = (item.user_id, item.session_id, item.environment, item.service, item.host, item.request_id)
    # One scan of every text for what needs a closer look: NUL (refused) and COPY's special characters.
    # (Tags are not in the COPY text; plain_tags has refused a NUL in them.)
    special = SPECIAL_CHARACTERS.search("".join([text for text in (*texts, client_id) if text]) + properties)
    if special is not None:
        if "\x00" in special.string:
            return None
        return EventRow(name, tags, client_id, event_line(time, value, properties, texts, client_id))
    user_id, session_id, environment, service, host, request_id, copy_id = (
        COPY_NULL if text is None else text for text in (*texts, client_id)
    )
    number = COPY_NULL if value is None else repr(value)
    line = (
        f"{time}\t{user_id}\t{session_id}\t{number}\t{properties}\t"
        f"{environment}\t{service}\t{host}\t{request_id}\t{copy_id}\n"
    )
    return EventRow(name, tags, client_id, line)


def wire_event_as_dict(item: WireEvent) -> dict:
    fields = msgspec.structs.asdict(item)
    # parse_json: the generic path's reading of JSON, so its limits and its messages apply here too.
    fields["tags"] = None if item.tags == NULL else parse_json(bytes(item.tags))
    return fields


def copy_events(cursor: CursorWrapper, project_id: int, rows: list[EventRow]) -> None:
    """Store rows in one COPY round trip, written as one block of text, after the ids of their names and tag
    sets (cached; a statement only for names or tag sets this process has not seen)."""
    if not rows:
        return
    names, tag_sets = encode(cursor, project_id, {row.name for row in rows}, {row.tags for row in rows})
    heads = {name: f"{project_id}\t{name_id}\t" for name, name_id in names.items()}
    text = "".join([f"{heads[row.name]}{tag_sets[row.tags]}\t{row.line}" for row in rows])
    with cursor.copy(COPY_ENCODED_EVENTS) as copy:
        copy.write(text)
