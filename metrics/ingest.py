"""Batch-first metric ingestion: validate points, resolve their series set-wise, one COPY per request."""

import time
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.db import transaction
from django.db.backends.utils import CursorWrapper

from flux.payloads.fields import (
    Errors,
    FieldError,
    TimeWindow,
    check_storable,
    clean_name,
    clean_number,
    clean_optional_text,
    clean_tags,
    clean_timestamp,
    scalar_to_text,
    tags_json,
)
from metrics.models import MetricType, fingerprint_of_canonical

SET_MEMBER_MAX_LENGTH = 200
METRIC_TYPES = frozenset(MetricType.values)
COPY_POINTS = "COPY metrics_point (project_id, series_id, time, value, member, client_id) FROM STDIN"


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
    client_id = errors.attempt(clean_optional_text, item.get("id"), "id")
    if errors.messages:
        return None, errors.messages
    value, member = cleaned_value
    canonical_tags = tags_json(tags)
    series_key = (name, fingerprint_of_canonical(canonical_tags))
    return PointItem(index, metric_type, name, tags, time, value, member, client_id, canonical_tags, series_key), []


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


def copy_points(cursor: CursorWrapper, project_id: int, items: list[PointItem], series: dict) -> None:
    """Store points in one COPY round trip."""
    if not items:
        return
    with cursor.copy(COPY_POINTS) as copy:
        for item in items:
            copy.write_row((project_id, series[item.series_key], item.time, item.value, item.member, item.client_id))
