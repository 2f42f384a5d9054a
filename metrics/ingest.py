"""Batch-first metric ingestion: validate points, resolve their series set-wise, one COPY per request.

Well-formed points arrive as `WirePoint`s (decoded and type-checked by msgspec in one pass): their tag
texts are checked and made canonical once per distinct text (a batch repeats a few tag sets), and the
points go to PostgreSQL as one block of COPY text. Anything else, or a WirePoint that fails a check,
goes through the per-field cleaning, which says exactly what is wrong.
"""

import time
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache, partial

import msgspec
from django.db import transaction
from django.db.backends.utils import CursorWrapper

from flux.payloads.body import parse_json
from flux.payloads.fields import (
    TAG_VALUE_MAX_LENGTH,
    TAGS_MAX_COUNT,
    Errors,
    FieldError,
    TimeWindow,
    check_storable,
    clean_item_id,
    clean_name,
    clean_number,
    clean_tags,
    clean_timestamp,
    is_plain_short_text,
    is_plain_tag_key,
    scalar_to_text,
    tags_json,
)
from flux.payloads.wire import NULL, WirePoint
from flux.storage.copy_text import copy_text
from metrics.models import MetricType, fingerprint_of_canonical

SET_MEMBER_MAX_LENGTH = 200
METRIC_TYPES = frozenset(MetricType.values)
COPY_POINTS = "COPY metrics_point (project_id, series_id, time, value, member, client_id) FROM STDIN"
TAGS_DECODER = msgspec.json.Decoder(dict[str, str])


@dataclass(frozen=True)
class PointItem:
    index: int
    type: str
    name: str
    tags: dict[str, str]
    time: datetime
    value: float
    member: str | None
    client_id: str | None
    tags_json: str  # canonical: sorted keys
    series_key: tuple[str, str]  # (name, fingerprint of the tags)


def clean_value(metric_type: str, raw: object) -> tuple[float, str | None]:
    """The numeric value and, for sets, the member (any string or number; the value is then 1)."""
    if metric_type == MetricType.SET:
        if raw is None or isinstance(raw, (dict, list)):
            raise FieldError("a set value must be a string or number (the member)")
        try:
            member = scalar_to_text(raw)
        except FieldError:
            raise FieldError("a set value must be a string or number (the member)") from None
        if len(member) > SET_MEMBER_MAX_LENGTH:
            raise FieldError(f"set member is longer than {SET_MEMBER_MAX_LENGTH} characters")
        return 1.0, check_storable(member, "set member")
    if raw is None:
        if metric_type == MetricType.COUNTER:
            return 1.0, None  # increment by one, like StatsD
        raise FieldError(f"value is required for a {metric_type}")
    return clean_number(raw, "value"), None


def clean_point(index: int, item: object, window: TimeWindow) -> tuple[PointItem | None, list[str]]:
    """One raw metric point to a PointItem, or the list of everything wrong with it."""
    if type(item) is WirePoint:
        point = plain_point(index, item, window)
        if point is not None:
            return point, []
        item = wire_point_as_dict(item)
    if not isinstance(item, dict):
        return None, ["a metric must be a JSON object"]
    errors = Errors()
    metric_type = item.get("type")
    type_is_known = isinstance(metric_type, str) and metric_type in METRIC_TYPES
    if not type_is_known:
        errors.messages.append(f"type must be one of {', '.join(MetricType.values)}, got {str(metric_type)[:40]!r}")
    name = errors.attempt(clean_name, item.get("name"))
    tags = errors.attempt(clean_tags, item.get("tags"))
    time = errors.attempt(clean_timestamp, item.get("timestamp"), window)
    # What a valid value is depends on the type, so it is only checked once the type is known.
    cleaned_value = errors.attempt(clean_value, metric_type, item.get("value")) if type_is_known else None
    client_id = errors.attempt(clean_item_id, item.get("id"))
    if errors.messages:
        return None, errors.messages
    value, member = cleaned_value
    canonical_tags = tags_json(tags)
    series_key = (name, fingerprint_of_canonical(canonical_tags))
    return PointItem(index, metric_type, name, tags, time, value, member, client_id, canonical_tags, series_key), []


@lru_cache(maxsize=4096)
def plain_name(name: str) -> str | None:
    """The name when it is valid as sent (the long path strips spaces and explains), else None."""
    try:
        return name if clean_name(name) == name else None
    except FieldError:
        return None


@lru_cache(maxsize=4096)
def plain_tags(raw: bytes) -> tuple[dict[str, str], str, str] | None:
    """(tags, canonical JSON, fingerprint) of a tag object of short strings; None when it needs the long path.

    Cached by the text as sent: the points of a batch, and of the next, mostly repeat a few tag sets.
    """
    try:
        tags = TAGS_DECODER.decode(raw) if raw != b"null" else {}
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
        return None
    if len(tags) > TAGS_MAX_COUNT:
        return None
    for key, value in tags.items():
        if not is_plain_tag_key(key):
            return None
        if not is_plain_short_text(value, TAG_VALUE_MAX_LENGTH):
            return None
    canonical = tags_json(tags)
    return tags, canonical, fingerprint_of_canonical(canonical)


def plain_point(index: int, item: WirePoint, window: TimeWindow) -> PointItem | None:
    """The PointItem of a well-formed point, or None if any field needs the long path's checks or messages."""
    if item.type not in METRIC_TYPES or not item.name or plain_name(item.name) is None:
        return None
    tagged = plain_tags(bytes(item.tags))
    if tagged is None:
        return None
    try:
        moment = clean_timestamp(item.timestamp, window)
        value, member = clean_value(item.type, item.value)
        client_id = clean_item_id(item.id)
    except FieldError:
        return None
    tags, canonical, fingerprint = tagged
    return PointItem(index, item.type, item.name, tags, moment, value, member, client_id, canonical,
                     (item.name, fingerprint))  # fmt: skip


def wire_point_as_dict(item: WirePoint) -> dict:
    fields = msgspec.structs.asdict(item)
    # parse_json: the generic path's reading of JSON, so its limits and its messages apply here too.
    fields["tags"] = None if item.tags == NULL else parse_json(bytes(item.tags))
    return fields


class SeriesCache:
    """Per-process memory of metric types and series ids, so steady-state batches skip those queries.

    Safe because both are immutable once created (a name keeps its type; a series keeps its id) and ids
    are never reused. Series entries expire after an hour so `last_seen_at` still gets refreshed.
    """

    MAX_ENTRIES = 200_000
    SERIES_TTL_SECONDS = 3600

    def __init__(self) -> None:
        self.types: dict[tuple[int, str], str] = {}
        self.series: dict[tuple[int, str, str], tuple[int, float]] = {}

    def known_type(self, project_id: int, name: str) -> str | None:
        return self.types.get((project_id, name))

    def remember_types(self, project_id: int, types: dict[str, str]) -> None:
        if len(self.types) > self.MAX_ENTRIES:
            self.types.clear()
        self.types.update({(project_id, name): metric_type for name, metric_type in types.items()})

    def known_series(self, project_id: int, key: tuple[str, str], now: float) -> int | None:
        entry = self.series.get((project_id, *key))
        return entry[0] if entry and now - entry[1] < self.SERIES_TTL_SECONDS else None

    def remember_series(self, project_id: int, found: dict[tuple[str, str], int], now: float) -> None:
        if len(self.series) > self.MAX_ENTRIES:
            self.series.clear()
        self.series.update({(project_id, *key): (series_id, now) for key, series_id in found.items()})


cache = SeriesCache()


def resolve_metric_types(cursor: CursorWrapper, project_id: int, items: list[PointItem]) -> dict[str, str]:
    """Every name's stored type, creating unseen names (the first type in the batch wins)."""
    types = {item.name: cache.known_type(project_id, item.name) for item in items}
    unknown: dict[str, str] = {}
    for item in items:
        if types[item.name] is None:
            unknown.setdefault(item.name, item.type)
    if unknown:
        names = sorted(unknown)  # sorted: concurrent batches take row locks in the same order
        cursor.execute(
            """
            WITH input(name, type) AS (SELECT * FROM unnest(%s::text[], %s::text[])),
            inserted AS (
                INSERT INTO metrics_metric (project_id, name, type, created_at)
                SELECT %s, name, type, now() FROM input
                ON CONFLICT (project_id, name) DO NOTHING
                RETURNING name, type
            )
            SELECT name, type FROM inserted
            UNION ALL
            SELECT m.name, m.type FROM metrics_metric m JOIN input USING (name) WHERE m.project_id = %s
            """,
            [names, [unknown[name] for name in names], project_id, project_id],
        )
        stored = dict(cursor.fetchall())
        missing = [name for name in names if name not in stored]
        if missing:  # created by a concurrent batch after this statement's snapshot
            cursor.execute(
                "SELECT name, type FROM metrics_metric WHERE project_id = %s AND name = ANY(%s)", [project_id, missing]
            )
            stored.update(cursor.fetchall())
        # Remembered only once committed: a rolled-back insert must not leave a phantom in the cache.
        transaction.on_commit(partial(cache.remember_types, project_id, stored))
        types.update(stored)
    return types


def resolve_series(cursor: CursorWrapper, project_id: int, items: list[PointItem]) -> dict[tuple[str, str], int]:
    """Series id per (name, tags fingerprint), creating new series; cached, else one statement."""
    now = time.monotonic()
    found: dict[tuple[str, str], int] = {}
    wanted: dict[tuple[str, str], str] = {}
    for item in items:
        key = item.series_key
        if key not in found and key not in wanted:
            series_id = cache.known_series(project_id, key, now)
            if series_id is None:
                wanted[key] = item.tags_json
            else:
                found[key] = series_id
    if wanted:
        created = upsert_series(cursor, project_id, wanted)
        transaction.on_commit(partial(cache.remember_series, project_id, created, now))
        found.update(created)
    return found


def upsert_series(cursor: CursorWrapper, project_id: int, wanted: dict) -> dict[tuple[str, str], int]:
    keys = sorted(wanted)
    params = [[name for name, _ in keys], [digest for _, digest in keys], [wanted[key] for key in keys]]
    # Inserted rows come from RETURNING, existing ones from the join (the statement's snapshot does not
    # see its own inserts). last_seen_at is refreshed at most hourly so hot series are not rewritten.
    sql = """
        WITH input AS (
            SELECT m.id AS metric_id, i.name, i.tags_hash, i.tags
            FROM unnest(%s::text[], %s::text[], %s::jsonb[]) AS i(name, tags_hash, tags)
            JOIN metrics_metric m ON m.project_id = %s AND m.name = i.name
        ), inserted AS (
            INSERT INTO metrics_metricseries (project_id, metric_id, tags, tags_hash, first_seen_at, last_seen_at)
            SELECT %s, metric_id, tags, tags_hash, now(), now() FROM input ORDER BY metric_id, tags_hash
            ON CONFLICT (project_id, metric_id, tags_hash) DO UPDATE SET last_seen_at = EXCLUDED.last_seen_at
                WHERE EXCLUDED.last_seen_at - metrics_metricseries.last_seen_at > interval '1 hour'
            RETURNING id, metric_id, tags_hash
        )
        SELECT input.name, input.tags_hash, inserted.id FROM inserted JOIN input USING (metric_id, tags_hash)
        UNION ALL
        SELECT input.name, input.tags_hash, s.id FROM metrics_metricseries s JOIN input USING (metric_id, tags_hash)
        WHERE s.project_id = %s
    """
    cursor.execute(sql, [*params, project_id, project_id, project_id])
    found = {(name, digest): series_id for name, digest, series_id in cursor.fetchall()}
    missing = [key for key in keys if key not in found]
    if missing:
        # Another transaction created these after our snapshot was taken; they are committed now.
        cursor.execute(
            """
            SELECT m.name, s.tags_hash, s.id FROM metrics_metricseries s JOIN metrics_metric m ON m.id = s.metric_id
            WHERE m.project_id = %s AND s.project_id = m.project_id
              AND (m.name, s.tags_hash) IN (SELECT * FROM unnest(%s::text[], %s::text[]))
            """,
            [project_id, [name for name, _ in missing], [digest for _, digest in missing]],
        )
        found.update({(name, digest): series_id for name, digest, series_id in cursor.fetchall()})
    return found


@lru_cache(maxsize=4096)
def time_text(moment: datetime) -> str:
    # Cached: the points of a batch are mostly stamped within a few milliseconds.
    return moment.isoformat()


def copy_points(cursor: CursorWrapper, project_id: int, items: list[PointItem], series: dict) -> None:
    """Store points in one COPY round trip, written as one block of text."""
    if not items:
        return
    lines = [
        f"{project_id}\t{series[item.series_key]}\t{time_text(item.time)}\t{item.value!r}\t"
        f"{copy_text(item.member)}\t{copy_text(item.client_id)}\n"
        for item in items
    ]
    with cursor.copy(COPY_POINTS) as copy:
        copy.write("".join(lines))
