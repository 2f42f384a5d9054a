"""Early opens: a busy count series' bucket in progress, scored before it is complete.

A count only grows as its bucket fills, and the detector's verdict on a bucket only strengthens as its
value rises above the expected one (the point's rank and fitted tail, the level-shift median and the
evidence cap all move one way, and a bucket with events is no flatline). So when the count so far
already makes the bucket anomalous upward, the complete bucket will be too: opening now, up to a few
minutes before the bucket ends, adds no false alert. A drop or a stop cannot be called early this way
(the rest of the bucket may still bring the events): it waits for the complete bucket.

Every minute, one query per source finds the watches whose count so far (complete minute rollups
since the watch's last scored bucket) passed their `peek_above` (set by each scan, well below the
band); only those are scored, each on its cached history plus the partial bucket, reusing its carry.
Nothing is stored but the episode an early open starts: the scan of the complete bucket then carries
on with it.
"""

from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np

from anomalies import carry, services
from anomalies.detection import score_incremental
from anomalies.history import floor_step, measure_of
from anomalies.models import Anomaly, DetectionSettings, Severity, Watch
from anomalies.rollup_trigger import SETTLE
from anomalies.scan import (
    MIN_OBSERVED_FOR_CRITICAL,
    MIN_OBSERVED_TO_SCORE,
    ScanResult,
    cached_values,
    explain_episode,
    observed_buckets,
    rollup_watermarks,
    series_times,
    unresolved_watch_ids,
    verdict_at,
    watch_config,
)
from flux.query.db import fetch_all

MINUTE = timedelta(minutes=1)
# The count so far of each peeked watch's bucket in progress: complete minutes from its last scored
# bucket's end, up to the bucket's end or the last complete minute (the bucket itself is not complete:
# the scan takes complete ones).
PARTIAL_EVENT_COUNTS = """
    SELECT w.id, w.project_id, sum(r.count)::float8
    FROM anomalies_watch w
    JOIN events_eventrollup r ON r.project_id = w.project_id AND r.level = 'minute' AND r.name = w.name
         AND r.bucket >= w.history_end AND r.bucket < %(complete)s
    WHERE w.source = 'events' AND w.series_id IS NULL AND {where}
    GROUP BY w.id, w.project_id, w.peek_above {having}
"""
PARTIAL_METRIC_COUNTS = """
    SELECT w.id, w.project_id, sum(r.count)::float8
    FROM anomalies_watch w
    JOIN metrics_metricrollup r ON r.project_id = w.project_id AND r.series_id = w.series_id AND r.level = 'minute'
         AND r.bucket >= w.history_end AND r.bucket < %(complete)s
    WHERE w.source = 'metric' AND w.measure = 'count' AND {where}
    GROUP BY w.id, w.project_id, w.peek_above {having}
"""
# A watch whose cached history late rows have made stale more than an hour back (a backfill still being
# rolled up) is not peeked at: scored on the history its first scan read (mostly empty), 16 events read as
# a spike where 0 were expected, while the complete bucket, scanned on its refreshed history, was normal.
# Rows a client's buffer sends a little late mark only the last bucket or so: those keep their peeks.
PEEKED = """
    w.peek_above IS NOT NULL AND w.baseline_version = %(version)s AND NOT w.excluded AND w.history_end < %(complete)s
    AND (w.stale_from IS NULL OR w.stale_from >= w.history_end - interval '1 hour')
    AND w.history_end + w.interval_seconds * interval '1 second' > %(complete)s
"""


def complete_minutes(now: datetime, sources: Collection[str] | None = None) -> dict[str, datetime]:
    """Per source (of `sources`, or all), the end of the last minute its rollups have completed."""
    return {
        source: floor_step(min(watermark - SETTLE, now), MINUTE)
        for source, watermark in rollup_watermarks().items()
        if watermark is not None and (sources is None or source in sources)
    }


@dataclass(frozen=True)
class PartialCount:
    """A peeked watch's bucket in progress: its project (every later read of the watch is scoped by it) and its
    count so far."""

    project_id: int
    count: float


def partial_counts(complete: dict[str, datetime], ids: list[int] | None = None) -> dict[int, PartialCount]:
    """{watch id: its bucket in progress}: of the given watches, or, without ids, of every peeked watch whose
    count so far passed its peek_above."""
    where = PEEKED + (" AND w.id = ANY(%(ids)s)" if ids is not None else "")
    having = "" if ids is not None else "HAVING sum(r.count) > w.peek_above"
    counts: dict[int, PartialCount] = {}
    for source, sql in ((Watch.Source.EVENTS, PARTIAL_EVENT_COUNTS), (Watch.Source.METRIC, PARTIAL_METRIC_COUNTS)):
        if source in complete:
            parameters = {"complete": complete[source], "ids": ids, "version": carry.DETECTOR_VERSION}
            rows = fetch_all(sql.format(where=where, having=having), parameters)
            counts |= {watch_id: PartialCount(project_id, total) for watch_id, project_id, total in rows}
    return counts


def peek_candidates(now: datetime, sources: Collection[str] | None = None) -> list[int]:
    """The watches (of `sources`, or all) whose bucket in progress is worth scoring now."""
    return sorted(partial_counts(complete_minutes(now, sources)))


def open_early(watch_ids: list[int], now: datetime) -> ScanResult:
    """Score the bucket in progress of the given watches; open an episode where it is anomalous upward."""
    result = ScanResult()
    complete = complete_minutes(now)
    counts = partial_counts(complete, watch_ids)
    projects = {found.project_id for found in counts.values()}
    peeked = Watch.objects.filter(project_id__in=projects, pk__in=list(counts))
    watches = list(peeked.select_related("series__metric", "project"))
    unresolved = set(unresolved_watch_ids(watches))
    configured = {item.project_id: item for item in DetectionSettings.objects.filter(project_id__in=projects)}
    for watch in watches:
        if watch.pk in unresolved:
            continue
        project_settings = configured.get(watch.project_id) or DetectionSettings(project_id=watch.project_id)
        with result.isolated("early anomaly scan", watch.pk):
            result.record(watch.project_id, [open_watch_early(watch, counts[watch.pk].count, project_settings, now)])
    return result


def open_watch_early(
    watch: Watch, count_so_far: float, project_settings: DetectionSettings, now: datetime
) -> tuple[str, Anomaly] | None:
    value_kind, missing = measure_of(watch)
    values = cached_values(watch)
    observed = observed_buckets(values, missing)
    if value_kind != "count" or not project_settings.enabled or observed < MIN_OBSERVED_TO_SCORE:
        return None
    config = watch_config(watch, value_kind, project_settings)
    times = np.append(series_times(watch, len(values)), watch.history_end.timestamp())
    carried, fits = carry.restore(watch, watch.history_end, config)
    scores, _ = score_incremental(times, np.append(values, count_so_far), config, 1, carried, fits)
    if not (scores.is_anomaly[-1] and scores.score[-1] >= config.open_score and scores.direction[-1] == "up"):
        return None
    verdict = verdict_at(scores, len(scores) - 1, watch.interval_seconds)
    if observed < MIN_OBSERVED_FOR_CRITICAL and verdict.severity == Severity.CRITICAL:
        verdict = replace(verdict, severity=Severity.WARNING)
    # Opens only: an episode a scan or the minute checks opened since `open_early` looked is theirs to carry on.
    change = services.apply_verdict(watch, verdict, now, carries_on=lambda _episode: False)
    if change is not None:
        explain_episode(change[1])
    return change
