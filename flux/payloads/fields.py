"""Validation of the fields events and metrics share. Pure functions: no ORM, no request.

Each `clean_*` returns the cleaned value or raises `FieldError` with a message for the client.
Liberal where real clients are (ids and tag values as numbers or booleans become strings), strict
where data would be wrong (a non-numeric value, a missing name, a timestamp without a zone).
"""

import json
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TypeVar

NAME_MAX_LENGTH = 200
# The common case, checked cheaply; any other printable Unicode is checked character by character.
PLAIN_NAME = re.compile(r"[A-Za-z0-9_.:/ #-]+")
# Control characters, surrogates and line/paragraph separators cannot be shown or typed back in a filter.
UNPRINTABLE_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
# Embeddings, overrides and isolates: a name holding U+202E shows reversed in pages and CSV files.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
INVISIBLE_CATEGORIES = frozenset({"Cf", "Zs", "Mn", "Me"})  # only U+200B, spaces or a lone accent show as nothing
EDGE_INVISIBLES = "\ufeff\u200b\u200c\u200d\u200e\u200f\u2060\u00ad"
BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")  # Hangul fillers and a blank braille cell
NAME_RULES = (
    f"Any printable Unicode text up to {NAME_MAX_LENGTH} characters (letters in any script, digits, spaces, "
    "punctuation, emoji), without control characters or line breaks; spaces around it are removed."
)
# A finite decimal as text (what Ruby's BigDecimal becomes in JSON): "49.99", "-3", "1e6"; not "NaN"/"inf".
# ASCII digits only: float() also reads full-width or Arabic-Indic digits, which no client means.
DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
DECIMAL_TEXT_MAX_LENGTH = 64
# No measurement comes near this; a few values of 1e308 overflow a rollup's float8 sum, which fails the
# whole rollup run (every project's) again at each retry.
NUMBER_MAX_MAGNITUDE = 1e100
TEXT_MAX_LENGTH = 200
TAGS_MAX_COUNT = 50
TAG_KEY_MAX_LENGTH = 100
TAG_VALUE_MAX_LENGTH = 200
PROPERTIES_MAX_BYTES = 32 * 1024
T = TypeVar("T")
# Built once: json.dumps with options would construct a new encoder for every item.
COMPACT_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
SORTED_COMPACT_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"), sort_keys=True)
# json.dumps writes NUL as \u0000; an even run of backslashes before it means it is not a literal "\u0000".
ESCAPED_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


class FieldError(ValueError):
    pass


class Errors:
    """Collects every field's error for one item, so the client sees all problems at once."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def attempt(self, clean: Callable[..., T], *args: object) -> T | None:
        try:
            return clean(*args)
        except FieldError as error:
            self.messages.append(str(error))
            return None


@dataclass(frozen=True)
class TimeWindow:
    """Timestamps accepted for a project: from its retention horizon to a little into the future."""

    earliest: datetime
    latest: datetime
    now: datetime

    @classmethod
    def around(cls, now: datetime, retention_days: int, max_future_seconds: int) -> "TimeWindow":
        return cls(now - timedelta(days=retention_days), now + timedelta(seconds=max_future_seconds), now)


def scalar_to_text(value: object) -> str:
    """Numbers and booleans as JSON writes them (true, 42, 4.5); strings unchanged."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    raise FieldError("must be a string, number or boolean")


def check_storable(text: str, field: str) -> str:
    # PostgreSQL text and jsonb cannot hold NUL, and lone surrogates cannot be encoded as UTF-8.
    if "\x00" in text:
        raise FieldError(f"{field} contains a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise FieldError(f"{field} contains an invalid Unicode character") from None
    return text


def clean_name(value: object) -> str:
    """Printable Unicode up to NAME_MAX_LENGTH; surrounding spaces are dropped, so `"Signed Up "` is `Signed Up`."""
    if value is None or value == "":
        raise FieldError("name is required")
    if not isinstance(value, str):
        raise FieldError("name must be a string")
    if PLAIN_NAME.fullmatch(value) and len(value) <= NAME_MAX_LENGTH and value[0] != " " and value[-1] != " ":
        return value
    # Spaces and invisible format characters (a BOM, U+200B, U+200F) around a name are dropped: "\ufeffx"
    # and "x" looked the same and were two names.
    name = value.strip().strip(EDGE_INVISIBLES).strip()
    if not name:
        raise FieldError("name must not be empty or only spaces (or invisible characters)")
    if len(name) > NAME_MAX_LENGTH:
        raise FieldError(f"name is longer than {NAME_MAX_LENGTH} characters")
    return check_shown_characters(name, "name")


def check_shown_characters(text: str, label: str) -> str:
    """A name or tag key as pages, CSV files and queries show it: no control character, no bidirectional
    control, and at least one visible character."""
    for char in text:
        if unicodedata.category(char) in UNPRINTABLE_CATEGORIES:
            raise FieldError(f"{label} contains an unprintable character (U+{ord(char):04X})")
        if char in BIDI_CONTROLS:
            raise FieldError(f"{label} contains a bidirectional control character (U+{ord(char):04X})")
    if all(char in BLANK_LETTERS or unicodedata.category(char) in INVISIBLE_CATEGORIES for char in text):
        raise FieldError(f"{label} has no visible character")
    return text


def is_plain_short_text(value: object, max_length: int) -> bool:
    """The common case, checked cheaply: a short ASCII string without NUL needs no further work."""
    return type(value) is str and len(value) <= max_length and value.isascii() and "\x00" not in value


def is_plain_tag_key(key: str) -> bool:
    """A tag key the fast paths may keep as sent: short printable ASCII with something besides spaces. Any
    other goes to clean_tags, which checks it closely (control, bidirectional and invisible characters)."""
    return bool(key) and is_plain_short_text(key, TAG_KEY_MAX_LENGTH) and key.isprintable() and not key.isspace()


def clean_item_id(value: object) -> str | None:
    """An item's id (its idempotency key): absent, or a non-empty text; `""` would make every later item
    sent with it a duplicate."""
    if value == "":
        raise FieldError("id must not be empty: leave it out for an item without one")
    return clean_optional_text(value, "id")


def clean_optional_text(value: object, field: str) -> str | None:
    if value is None:
        return None
    if is_plain_short_text(value, TEXT_MAX_LENGTH):
        return value
    return bounded_text(value, field, TEXT_MAX_LENGTH)


def bounded_text(value: object, label: str, max_length: int) -> str:
    """A scalar as storable text of at most `max_length` characters; `label` names it in errors."""
    try:
        text = scalar_to_text(value)
    except FieldError:
        raise FieldError(f"{label} must be a string, number or boolean") from None
    if len(text) > max_length:
        raise FieldError(f"{label} is longer than {max_length} characters")
    return check_storable(text, label)


def clean_number(value: object, field: str) -> float:
    """A JSON number, or a decimal number as a string ("49.99", as Ruby sends a BigDecimal); finite only."""
    if isinstance(value, str):
        text = value.strip()
        if len(text) > DECIMAL_TEXT_MAX_LENGTH or not DECIMAL_TEXT.fullmatch(text):
            raise FieldError(f'{field} must be a number or a decimal string such as "49.99"')
        value = float(text)
    # bool is an int in Python, but `true` is not a number in JSON.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FieldError(f"{field} must be a number")
    number = float(value)
    if not math.isfinite(number):
        raise FieldError(f"{field} must be a finite number (not NaN or Infinity)")
    if abs(number) > NUMBER_MAX_MAGNITUDE:
        raise FieldError(f"{field} must be between -1e100 and 1e100")
    return number


@lru_cache(maxsize=4096)
def parse_iso_timestamp(value: str) -> datetime:
    # Cached: clients batch items stamped within the same millisecond, and parsing is the costly part.
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise FieldError(f"timestamp {value[:40]!r} is not ISO 8601") from None
    if moment.tzinfo is None:
        raise FieldError("timestamp needs a UTC offset, e.g. 2026-11-23T10:00:00Z")
    return moment


def clean_timestamp(value: object, window: TimeWindow) -> datetime:
    """ISO 8601 with a UTC offset, or epoch milliseconds; absent means now; must fall inside `window`."""
    if value is None:
        return window.now
    if isinstance(value, bool):
        raise FieldError("timestamp must be an ISO 8601 string or epoch milliseconds")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise FieldError("timestamp must be a finite number of epoch milliseconds")
        try:
            moment = datetime.fromtimestamp(value / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise FieldError("timestamp is out of range") from None
    elif isinstance(value, str):
        moment = parse_iso_timestamp(value[:64])
    else:
        raise FieldError("timestamp must be an ISO 8601 string or epoch milliseconds")
    if moment < window.earliest:
        raise FieldError(
            f"timestamp is older than the project's retention (earliest {window.earliest:%Y-%m-%dT%H:%M}Z)"
        )
    if moment > window.latest:
        raise FieldError(f"timestamp is too far in the future (latest {window.latest:%Y-%m-%dT%H:%M:%S}Z)")
    return moment


def clean_tags(value: object) -> dict[str, str]:
    """A flat object of scalars, stored as strings; null values mean the tag is absent."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FieldError("tags must be an object")
    if len(value) > TAGS_MAX_COUNT:
        raise FieldError(f"more than {TAGS_MAX_COUNT} tags ({len(value)})")
    tags = {}
    for key, raw in value.items():
        if is_plain_short_text(raw, TAG_VALUE_MAX_LENGTH) and is_plain_tag_key(key):
            tags[key] = raw
            continue
        if raw is None:
            continue
        if len(key) > TAG_KEY_MAX_LENGTH:
            raise FieldError(f"tag key {key[:20]!r}… is longer than {TAG_KEY_MAX_LENGTH} characters")
        if not key:
            raise FieldError("tag keys must not be empty")
        if isinstance(raw, (dict, list)):
            raise FieldError(f"tag {key!r} must be a string, number or boolean, not an object or array")
        key = check_shown_characters(check_storable(key, "a tag key"), f"tag key {key!r}")
        tags[key] = bounded_text(raw, f"tag {key!r}", TAG_VALUE_MAX_LENGTH)
    return tags


def clean_properties(value: object) -> str:
    """Any JSON object (nested values allowed) up to 32 KB; returned as the JSON text to store."""
    if value is None:
        return "{}"
    if not isinstance(value, dict):
        raise FieldError("properties must be an object")
    try:
        text = COMPACT_JSON.encode(value)
    except ValueError:
        raise FieldError("properties must not contain NaN or Infinity") from None
    if ESCAPED_NUL.search(text):
        raise FieldError("properties contain a NUL character")
    check_storable(text, "properties")
    if len(text.encode("utf-8")) > PROPERTIES_MAX_BYTES:
        raise FieldError(f"properties are larger than {PROPERTIES_MAX_BYTES // 1024} KB")
    return text


def tags_json(tags: dict[str, str]) -> str:
    """Canonical JSON of a tag set (keys sorted), also what series fingerprints are computed from."""
    return SORTED_COMPACT_JSON.encode(tags)
