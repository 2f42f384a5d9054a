"""Batch-first metric ingestion: validate points, resolve their series set-wise, one COPY per request."""

from dataclasses import dataclass
from datetime import datetime

from django.db.backends.utils import CursorWrapper

from flux.ingestion.fields import (
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
from metrics.models import MetricType, tags_fingerprint

SET_MEMBER_MAX_LENGTH = 200
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

    @property
    def series_key(self) -> tuple[str, str]:
        return self.name, tags_fingerprint(self.tags)


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
    errors: list[str] = []

    def attempt(clean: object, *args: object) -> object:
        try:
            return clean(*args)
        except FieldError as error:
            errors.append(str(error))
            return None

    metric_type = item.get("type")
    if metric_type not in MetricType.values:
        errors.append(f"type must be one of {', '.join(MetricType.values)}, got {str(metric_type)[:40]!r}")
    name = attempt(clean_name, item.get("name"))
    tags = attempt(clean_tags, item.get("tags"))
    time = attempt(clean_timestamp, item.get("timestamp"), window)
    value, member = (attempt(clean_value, metric_type, item.get("value")) or (None, None)) if not errors else (0, None)
    client_id = attempt(clean_optional_text, item.get("id"), "id")
    if errors:
        return None, errors
    return PointItem(index, metric_type, name, tags, time, value, member, client_id), []


def resolve_metric_types(cursor: CursorWrapper, project_id: int, items: list[PointItem]) -> dict[str, str]:
    """Create unseen metric names (first type in the batch wins) and return every name's stored type."""
    first_types: dict[str, str] = {}
    for item in items:
        first_types.setdefault(item.name, item.type)
    names = sorted(first_types)  # sorted: concurrent batches take row locks in the same order
    cursor.execute(
        """
        INSERT INTO metrics_metric (project_id, name, type, created_at)
        SELECT %s, name, type, now() FROM unnest(%s::text[], %s::text[]) AS input(name, type)
        ON CONFLICT (project_id, name) DO NOTHING
        """,
        [project_id, names, [first_types[name] for name in names]],
    )
    cursor.execute(
        "SELECT name, type FROM metrics_metric WHERE project_id = %s AND name = ANY(%s)", [project_id, names]
    )
    return dict(cursor.fetchall())


def resolve_series(cursor: CursorWrapper, project_id: int, items: list[PointItem]) -> dict[tuple[str, str], int]:
    """Series id per (name, tags fingerprint), creating new series; one statement in the usual case."""
    wanted = {item.series_key: item.tags for item in items}
    keys = sorted(wanted)
    params = [[name for name, _ in keys], [digest for _, digest in keys], [tags_json(wanted[key]) for key in keys]]
    # Inserted rows come from RETURNING, existing ones from the join (the statement's snapshot does not
    # see its own inserts). last_seen_at is refreshed at most hourly so hot series are not rewritten.
    sql = """
        WITH input AS (
            SELECT m.id AS metric_id, i.name, i.tags_hash, i.tags
            FROM unnest(%s::text[], %s::text[], %s::jsonb[]) AS i(name, tags_hash, tags)
            JOIN metrics_metric m ON m.project_id = %s AND m.name = i.name
        ), inserted AS (
            INSERT INTO metrics_metricseries (project_id, metric_id, tags, tags_hash, first_seen_at, last_seen_at)
            SELECT %s, metric_id, tags, tags_hash, now(), now() FROM input
            ON CONFLICT (metric_id, tags_hash) DO UPDATE SET last_seen_at = now()
                WHERE metrics_metricseries.last_seen_at < now() - interval '1 hour'
            RETURNING id, metric_id, tags_hash
        )
        SELECT input.name, input.tags_hash, inserted.id FROM inserted JOIN input USING (metric_id, tags_hash)
        UNION ALL
        SELECT input.name, input.tags_hash, s.id FROM metrics_metricseries s JOIN input USING (metric_id, tags_hash)
    """
    cursor.execute(sql, [*params, project_id, project_id])
    found = {(name, digest): series_id for name, digest, series_id in cursor.fetchall()}
    missing = [key for key in keys if key not in found]
    if missing:
        # Another transaction created these after our snapshot was taken; they are committed now.
        cursor.execute(
            """
            SELECT m.name, s.tags_hash, s.id FROM metrics_metricseries s JOIN metrics_metric m ON m.id = s.metric_id
            WHERE m.project_id = %s AND (m.name, s.tags_hash) IN (SELECT * FROM unnest(%s::text[], %s::text[]))
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
