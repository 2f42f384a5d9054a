"""Cardinality guardrails: within one metric, at most FLUX_MAX_SERIES_PER_METRIC series and at most
FLUX_MAX_TAG_VALUES_PER_KEY distinct values of any tag key. A point that would go past a limit is kept,
with the offending tag values replaced by OTHER (all of its tag values, past the series limit), and
the ingest answer warns about it by index; the (metric, tag key) is remembered in CardinalityLimitHit
for the overview and the metric's page.

Set-based and off the hot path: only points whose series is not in the process cache are looked at
(steady traffic costs nothing), with one query for which of them exist and, when some are new, one for
the series count and one for the tag values of their metrics. Concurrent batches may each admit a few
series past a limit: the limits are guardrails, not quotas.
"""

import dataclasses
import time
from collections import defaultdict

from django.conf import settings
from django.db.backends.utils import CursorWrapper

from flux.payloads.fields import tags_json
from metrics.ingest import PointItem, cache
from metrics.models import fingerprint_of_canonical

OTHER = "__other__"
SERIES_LIMIT_KEY = ""  # the CardinalityLimitHit tag key recorded when the series limit, not a key's, was hit

EXISTING_SERIES = """
    SELECT m.name, s.tags_hash FROM metrics_metricseries s JOIN metrics_metric m ON m.id = s.metric_id
    WHERE m.project_id = %s AND s.project_id = m.project_id
      AND (m.name, s.tags_hash) IN (SELECT * FROM unnest(%s::text[], %s::text[]))
"""
SERIES_PER_METRIC = """
    SELECT m.name, count(*) FROM metrics_metricseries s JOIN metrics_metric m ON m.id = s.metric_id
    WHERE m.project_id = %s AND s.project_id = m.project_id AND m.name = ANY(%s) GROUP BY 1
"""
TAG_VALUES = """
    SELECT m.name, kv.key, array_agg(DISTINCT kv.value)
    FROM metrics_metricseries s JOIN metrics_metric m ON m.id = s.metric_id, jsonb_each_text(s.tags) kv
    WHERE m.project_id = %s AND s.project_id = m.project_id AND m.name = ANY(%s) AND kv.key = ANY(%s) GROUP BY 1, 2
"""
RECORD_HITS = """
    INSERT INTO metrics_cardinalitylimithit (project_id, metric_id, tag_key, folded_points, last_folded_at)
    SELECT %s, m.id, i.tag_key, i.folded, now()
    FROM unnest(%s::text[], %s::text[], %s::bigint[]) AS i(name, tag_key, folded)
    JOIN metrics_metric m ON m.project_id = %s AND m.name = i.name
    ORDER BY m.id, i.tag_key
    ON CONFLICT (project_id, metric_id, tag_key) DO UPDATE SET
        folded_points = metrics_cardinalitylimithit.folded_points + EXCLUDED.folded_points,
        last_folded_at = EXCLUDED.last_folded_at
"""


@dataclasses.dataclass
class Known:
    """What the metrics touched by a batch already have: series counts and tag values per key."""

    series: dict[str, int]
    values: dict[tuple[str, str], set[str]]
    series_keys: set[tuple[str, str]]


def fold_excess_cardinality(
    cursor: CursorWrapper, project_id: int, points: list[PointItem]
) -> tuple[list[PointItem], list[dict]]:
    """The points with tag values past the limits folded into OTHER, and a warning per folded point."""
    now = time.monotonic()
    unknown = {p.series_key for p in points if cache.known_series(project_id, p.series_key, now) is None}
    if not unknown:
        return points, []
    existing = existing_series(cursor, project_id, unknown)
    new_points = [p for p in points if p.series_key in unknown and p.series_key not in existing]
    if not new_points:
        return points, []
    known = load_known(cursor, project_id, new_points, existing)
    folded: dict[int, tuple[PointItem, list[str]]] = {}
    for point in new_points:
        replacement, keys = fold_point(point, known)
        if keys:
            folded[point.index] = (replacement, keys)
    if not folded:
        return points, []
    record_hits(cursor, project_id, folded.values())
    warnings = [warning(replacement, keys) for replacement, keys in folded.values()]
    return [folded[p.index][0] if p.index in folded else p for p in points], warnings


def existing_series(cursor: CursorWrapper, project_id: int, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
    ordered = sorted(keys)
    cursor.execute(EXISTING_SERIES, [project_id, [n for n, _ in ordered], [h for _, h in ordered]])
    return {(name, digest) for name, digest in cursor.fetchall()}


def load_known(cursor: CursorWrapper, project_id: int, new_points: list[PointItem], existing: set) -> Known:
    names = sorted({p.name for p in new_points})
    tag_keys = sorted({key for p in new_points for key in p.tags})
    cursor.execute(SERIES_PER_METRIC, [project_id, names])
    series = defaultdict(int, cursor.fetchall())
    values: dict[tuple[str, str], set[str]] = defaultdict(set)
    if tag_keys:
        cursor.execute(TAG_VALUES, [project_id, names, tag_keys])
        for name, key, distinct in cursor.fetchall():
            values[(name, key)] = set(distinct)
    return Known(series, values, set(existing))


def fold_point(point: PointItem, known: Known) -> tuple[PointItem, list[str]]:
    """The point as stored (new values past a key's limit, or all values past the series limit, folded)."""
    tags, folded_keys = {}, []
    for key, value in point.tags.items():
        seen = known.values[(point.name, key)]
        if value not in seen and len(seen) - (OTHER in seen) >= settings.FLUX_MAX_TAG_VALUES_PER_KEY:
            tags[key] = OTHER
            folded_keys.append(key)
        else:
            tags[key] = value
    series_key = (point.name, fingerprint_of_canonical(tags_json(tags)))
    if series_key not in known.series_keys and known.series[point.name] >= settings.FLUX_MAX_SERIES_PER_METRIC:
        tags = dict.fromkeys(point.tags, OTHER)
        folded_keys = [SERIES_LIMIT_KEY]
        series_key = (point.name, fingerprint_of_canonical(tags_json(tags)))
    for key, value in tags.items():
        known.values[(point.name, key)].add(value)
    if series_key not in known.series_keys:
        known.series_keys.add(series_key)
        known.series[point.name] += 1
    if not folded_keys:
        return point, []
    canonical = tags_json(tags)
    return dataclasses.replace(point, tags=tags, tags_json=canonical, series_key=series_key), folded_keys


def warning(point: PointItem, keys: list[str]) -> dict:
    if keys == [SERIES_LIMIT_KEY]:
        message = (
            f"metric {point.name!r} has reached {settings.FLUX_MAX_SERIES_PER_METRIC:,} series; "
            f"this point's tag values were stored as {OTHER!r}"
        )
    else:
        message = (
            f"tag {', '.join(map(repr, keys))} of metric {point.name!r} has reached "
            f"{settings.FLUX_MAX_TAG_VALUES_PER_KEY:,} distinct values; this point's value was stored as {OTHER!r}"
        )
    return {"index": point.index, "kind": "metric", "tag_keys": keys, "message": message}


def record_hits(cursor: CursorWrapper, project_id: int, folded: object) -> None:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for point, keys in folded:
        for key in keys:
            counts[(point.name, key)] += 1
    rows = sorted(counts)
    cursor.execute(
        RECORD_HITS, [project_id, [n for n, _ in rows], [k for _, k in rows], [counts[r] for r in rows], project_id]
    )
