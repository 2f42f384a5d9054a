"""The scan: claim due watches, bring each one's hourly history up to the last complete hour, score the
new hours with the detector (anomalies.detection) and turn its verdicts into anomaly episodes.

A watch is due once an hour, a little after the hour's rollups are complete. Claiming is one
conditional UPDATE, so two workers given the same ids scan each watch once.
"""

import functools
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from django.db import connection

from anomalies import services
from anomalies.detection import DetectorConfig, Scores, history_needed, score_latest, severity_of
from anomalies.explain import explain
from anomalies.history import HOUR, NO_HOURS, Hours, floor_hour, measure_of, read_hours
from anomalies.models import Anomaly, DetectionSettings, Watch
from anomalies.services import Verdict
from events.rollups import STREAM as EVENT_STREAM
from flux.rollup_job import current_watermark
from metrics.rollups import STREAM as METRIC_STREAM

SCAN_DELAY = timedelta(minutes=2)  # after the hour ends: the rollups' own lag and a margin
REREAD_HOURS = 2  # hours already cached that are read again, for data that arrived late
EPISODE_LOOKBACK = 48  # scored points before the new ones, to find where an ongoing episode began
MAX_CATCH_UP_HOURS = 24  # after a long outage, score at most this many missed hours one by one


@dataclass
class ScanResult:
    scanned: int = 0
    changes: dict[int, list[tuple[str, Anomaly]]] = field(default_factory=lambda: defaultdict(list))


def next_due(now: datetime) -> datetime:
    return floor_hour(now) + HOUR + SCAN_DELAY


def claim(watch_ids: list[int], now: datetime) -> list[int]:
    """The ids among `watch_ids` that were due and are now this caller's to scan."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE anomalies_watch SET next_scan_at = %s
            WHERE id = ANY(%s) AND next_scan_at <= %s AND NOT excluded
            RETURNING id
            """,
            [next_due(now), watch_ids, now],
        )
        return [row[0] for row in cursor.fetchall()]


def due_watch_ids(now: datetime, limit: int) -> list[int]:
    due = Watch.objects.filter(next_scan_at__lte=now, excluded=False).order_by("next_scan_at")
    return list(due.values_list("pk", flat=True)[:limit])


def complete_until() -> dict[str, datetime | None]:
    """Per source, the end of the last hour whose rollups are complete."""
    ends = {}
    for source, stream in ((Watch.Source.EVENTS, EVENT_STREAM), (Watch.Source.METRIC, METRIC_STREAM)):
        watermark = current_watermark(stream)
        ends[source] = floor_hour(watermark) if watermark else None
    return ends


@functools.cache
def hours_kept(value_kind: str) -> int:
    return math.ceil(history_needed(DetectorConfig(3600, value_kind)) / 3600) + EPISODE_LOOKBACK


def history_hours(watch: Watch) -> int:
    """How many hours of the watch's series the cache keeps: what the detector needs, and a margin."""
    return hours_kept(measure_of(watch)[0])


def cached_values(watch: Watch) -> np.ndarray:
    return np.frombuffer(bytes(watch.history or b""), dtype="<f8")


def scan(watch_ids: list[int], now: datetime) -> ScanResult:
    """Scan the watches among `watch_ids` that this caller claims."""
    result = ScanResult()
    claimed = claim(watch_ids, now)
    watches = list(Watch.objects.filter(pk__in=claimed).select_related("series__metric", "project"))
    project_ids = {watch.project_id for watch in watches}
    configured = {item.project_id: item for item in DetectionSettings.objects.filter(project_id__in=project_ids)}
    ends = complete_until()
    for source in (Watch.Source.EVENTS, Watch.Source.METRIC):
        end = ends[source]
        batch = [watch for watch in watches if watch.source == source]
        if end is None or not batch:
            continue
        new_hours = refresh_histories(batch, end)
        unresolved = set(unresolved_watch_ids(batch))
        for watch in batch:
            project_settings = configured.get(watch.project_id) or DetectionSettings(project_id=watch.project_id)
            if project_settings.enabled and new_hours[watch.pk]:
                for change in score_new_hours(watch, new_hours[watch.pk], project_settings, unresolved, now):
                    result.changes[watch.project_id].append(change)
            result.scanned += 1
        Watch.objects.filter(pk__in=[watch.pk for watch in batch]).update(last_scanned_at=now)
    return result


def unresolved_watch_ids(watches: list[Watch]) -> list[int]:
    episodes = Anomaly.objects.filter(watch__in=watches).exclude(status=Anomaly.Status.RESOLVED)
    return list(episodes.values_list("watch_id", flat=True))


def refresh_histories(watches: list[Watch], end: datetime) -> dict[int, int]:
    """Extend each watch's cached hourly values up to `end` (re-reading the last few hours), save the
    changed ones, and say per watch how many hours are new (a watch seen for the first time: only the last)."""

    def stale(watch: Watch) -> bool:
        return watch.history_end is None or watch.history_end < end - HOUR * history_hours(watch)

    new_hours, changed = {}, []
    for reload, group in ((True, [w for w in watches if stale(w)]), (False, [w for w in watches if not stale(w)])):
        if not group:
            continue
        starts = {
            watch.pk: end - HOUR * history_hours(watch) if reload else min(watch.history_end, end) - HOUR * REREAD_HOURS
            for watch in group
        }
        values = read_hours(group, min(starts.values()), end)
        for watch in group:
            added = 1 if reload else int((end - watch.history_end) / HOUR)
            before = (bytes(watch.history or b""), watch.history_end)
            merge_history(watch, reload, starts[watch.pk], end, values.get(watch.pk, NO_HOURS))
            if (watch.history, watch.history_end) != before:
                changed.append(watch)
            new_hours[watch.pk] = min(max(added, 0), MAX_CATCH_UP_HOURS)
    save_histories(changed)
    return new_hours


def save_histories(watches: list[Watch]) -> None:
    if not watches:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE anomalies_watch w SET history = v.history, history_end = v.history_end
            FROM unnest(%s::bigint[], %s::bytea[], %s::timestamptz[]) AS v(id, history, history_end)
            WHERE w.id = v.id
            """,
            [[w.pk for w in watches], [w.history for w in watches], [w.history_end for w in watches]],
        )


def merge_history(watch: Watch, reload: bool, start: datetime, end: datetime, hours: Hours) -> None:
    """Cached hours before `start` stay; from there to `end` the values read (missing hours filled)."""
    value_kind, missing = measure_of(watch)
    cached = cached_values(watch)
    if reload or not len(cached):
        kept, first = cached[:0], start
        if value_kind == "count":
            # A count before the series' first hour of data is unknown, not zero: leading zeros would read
            # as a dead stream coming to life. Start the history at its first hour instead.
            first = max(start, hours.first() or end)
    else:
        cache_start = watch.history_end - HOUR * len(cached)
        keep = min(max(int((start - cache_start) / HOUR), 0), len(cached))
        kept, first = cached[:keep], cache_start + HOUR * keep
    fresh = hours.on_grid(first, end, missing)
    watch.history = np.concatenate([kept, fresh])[-history_hours(watch) :].tobytes()
    watch.history_end = end


def score_new_hours(
    watch: Watch, new_hours: int, project_settings: DetectionSettings, unresolved: set[int], now: datetime
) -> list[tuple[str, Anomaly]]:
    """Turn the detector's verdicts on the newest hours, oldest first, into episode changes. A normal hour
    of a series with nothing unresolved changes nothing, so it costs no query."""
    value_kind, _ = measure_of(watch)
    config = DetectorConfig(3600, value_kind, watch.sensitivity or project_settings.sensitivity)
    values = cached_values(watch)
    start = watch.history_end - HOUR * len(values)
    times = start.timestamp() + 3600.0 * np.arange(len(values))
    scores = score_latest(times, values, config, points=new_hours)
    changes = []
    for index in range(len(scores)):
        anomalous = bool(scores.is_anomaly[index])
        if not anomalous and watch.pk not in unresolved and not watch.quiet_until_normal:
            continue
        if anomalous and watch.pk not in unresolved:
            # Opening: look back for the hour the episode began, which may precede the new hours.
            lookback = score_latest(times, values, config, points=new_hours + EPISODE_LOOKBACK)
            verdict = verdict_at(lookback, len(lookback) - len(scores) + index)
        else:
            verdict = verdict_at(scores, index)
        change = services.apply_verdict(watch, verdict, now)
        if change is None:
            continue
        if change[0] == services.RESOLVED:
            unresolved.discard(watch.pk)
        else:
            unresolved.add(watch.pk)
        if change[0] in (services.OPENED, services.UPDATED):
            services.set_explanation(change[1], explain(change[1]))
        changes.append(change)
    return changes


def verdict_at(scores: Scores, index: int) -> Verdict:
    bucket = datetime.fromtimestamp(float(scores.times[index]), tz=UTC)
    anomalous = bool(scores.is_anomaly[index])
    first = index
    while anomalous and first > 0 and scores.is_anomaly[first - 1]:
        first -= 1
    score = float(scores.score[index])
    return Verdict(
        bucket=bucket, interval_seconds=3600, is_anomaly=anomalous, score=score, severity=severity_of(score),
        kind=str(scores.kind[index]), direction=str(scores.direction[index]), actual=finite(scores.values[index]),
        expected=finite(scores.expected[index]), lower=finite(scores.lower[index]), upper=finite(scores.upper[index]),
        episode_start=datetime.fromtimestamp(float(scores.times[first]), tz=UTC),
    )  # fmt: skip


def finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None
