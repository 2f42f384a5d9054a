"""Minute checks: a busy count series that stops, drops or surges is opened minutes after it does, not
after the whole five-minute buckets the detector needs (a flatline there takes three empty buckets).

Every minute, one query per source reads the last LOOKBACK minutes of minute rollups of every watch that
has a minute baseline (busy count series: the expected events a minute, how uncertain that is, and the
dispersion each scan stores), up to the last minute the rollups have completed: minutes not rolled up
yet are never read, so data still on its way never looks like silence. The evidence
(anomalies.detection.silence: the silence so far, and the Poisson lower and upper tails of trailing
windows) is computed for all of them at once with numpy; a series whose evidence passes its
sensitivity's threshold opens an episode judged on minutes (interval_seconds 60), a flatline, a drop or
a spike. While its evidence stays above the threshold's cold share in the same direction, the same
checks extend it (and escalate it, which tells the channels whose minimum severity it then reaches); the
scan's detector, which confirms it on whole buckets, resolves it once the minute checks have not seen it
for anomalies.scan.MINUTE_HOLD. An episode the detector opened (on whole buckets, or early on a bucket
in progress: anomalies.early) is left to the scans.
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

import numpy as np

from anomalies import carry, services
from anomalies.cadence import FAST
from anomalies.detection import DetectorConfig, severity_of
from anomalies.detection.config import COLD_SHARE
from anomalies.detection.minute_rate import SKIP_MINUTES
from anomalies.detection.silence import minute_evidence
from anomalies.early import MINUTE, complete_minutes
from anomalies.models import Anomaly, DetectionSettings, Watch
from anomalies.scan import MINUTE_SECONDS, ScanResult, explain_episode
from flux.query.db import fetch_all

LOOKBACK = 60  # minutes read per series: the longest drop window (longer silences are the detector's)
# A baseline is the rate of the minutes just after its scan's last bucket: one whose scan is further behind
# than the minutes read can hold unseen (LOOKBACK - SKIP_MINUTES: the rollups resuming after a stall, a watch
# whose scans fail) is of another time of day, and waits for the scan catching up.
MINUTE_EVENT_COUNTS = """
    SELECT w.id, w.project_id, w.sensitivity, w.minute_rate, w.minute_dispersion, w.minute_rate_variance,
           w.history_end, array_remove(array_agg(extract(epoch FROM r.bucket)::bigint), NULL),
           array_remove(array_agg(r.count), NULL)
    FROM anomalies_watch w JOIN tenants_project p ON p.id = w.project_id AND NOT p.archived
    LEFT JOIN events_eventrollup r ON r.project_id = w.project_id AND r.level = 'minute' AND r.name = w.name
         AND r.bucket >= %(since)s AND r.bucket < %(complete)s
    WHERE w.source = 'events' AND w.series_id IS NULL AND w.minute_rate IS NOT NULL AND NOT w.excluded
          AND w.baseline_version = %(version)s AND w.history_end >= %(fresh_from)s
    GROUP BY w.project_id, w.id
"""
MINUTE_METRIC_COUNTS = """
    SELECT w.id, w.project_id, w.sensitivity, w.minute_rate, w.minute_dispersion, w.minute_rate_variance,
           w.history_end, array_remove(array_agg(extract(epoch FROM r.bucket)::bigint), NULL),
           array_remove(array_agg(r.count), NULL)
    FROM anomalies_watch w JOIN tenants_project p ON p.id = w.project_id AND NOT p.archived
    LEFT JOIN metrics_metricrollup r ON r.project_id = w.project_id AND r.series_id = w.series_id
         AND r.level = 'minute' AND r.bucket >= %(since)s AND r.bucket < %(complete)s
    WHERE w.source = 'metric' AND w.measure = 'count' AND w.minute_rate IS NOT NULL AND NOT w.excluded
          AND w.baseline_version = %(version)s AND w.history_end >= %(fresh_from)s
    GROUP BY w.project_id, w.id
"""


@dataclass(frozen=True)
class MinuteRow:
    """One watch's minute baseline (anomalies.scan stores it) and its last LOOKBACK minute counts."""

    watch_id: int
    project_id: int
    sensitivity: str
    rate: float
    dispersion: float
    rate_variance: float  # the rate's relative variance (anomalies.detection.minute_rate)
    counts: np.ndarray  # oldest minute first, the last one ending at `complete`
    complete: datetime
    unseen: int  # the last minutes the rate's estimate has not read (it stops SKIP_MINUTES before the history)


def minute_rows(complete: dict[str, datetime]) -> list[MinuteRow]:
    """Every checked watch's row, its minutes up to its source's last complete minute."""
    found = []
    for source, sql in ((Watch.Source.EVENTS, MINUTE_EVENT_COUNTS), (Watch.Source.METRIC, MINUTE_METRIC_COUNTS)):
        if source not in complete:
            continue
        since = complete[source] - LOOKBACK * MINUTE
        parameters = {"since": since, "complete": complete[source], "version": carry.DETECTOR_VERSION,
                      "fresh_from": complete[source] - (LOOKBACK - SKIP_MINUTES) * MINUTE}  # fmt: skip
        for watch_id, project_id, sensitivity, rate, dispersion, variance, history_end, starts, counts in fetch_all(
            sql, parameters
        ):
            row = np.zeros(LOOKBACK)
            offsets = (np.array(starts, dtype=np.int64) - int(since.timestamp())) // 60
            np.add.at(row, offsets, np.array(counts, dtype=np.float64))
            unseen = unseen_minutes(history_end, complete[source])
            found.append(
                MinuteRow(
                    watch_id, project_id, sensitivity, rate, dispersion or 1.0, variance or 0.0, row, complete[source],
                    unseen,
                )
            )  # fmt: skip
    return found


def unseen_minutes(history_end: datetime | None, complete: datetime) -> int:
    """How many of the minutes up to `complete` the rate's estimate (made by the scan of the bucket ending at
    `history_end`) has not read: it reads today's counts up to SKIP_MINUTES before the history's end."""
    if history_end is None:
        return 0
    return min(max(int((complete - history_end) / MINUTE) + SKIP_MINUTES, 0), LOOKBACK)


def check_minutes(now: datetime, sources: Collection[str] | None = None) -> ScanResult:
    """Open, or extend, the minute-judged episodes of busy count series (of `sources`, or all) that have
    gone quiet or surged."""
    result = ScanResult()
    rows = minute_rows(complete_minutes(now, sources))
    if not rows:
        return result
    evidence = minute_evidence(
        np.stack([row.counts for row in rows]),
        [row.rate for row in rows],
        [row.dispersion for row in rows],
        [row.rate_variance for row in rows],
        [row.unseen for row in rows],
    )
    scores = evidence.score()
    projects = {row.project_id for row in rows}
    configured = {item.project_id: item for item in DetectionSettings.objects.filter(project_id__in=projects)}
    warm: list[tuple[int, DetectorConfig]] = []
    for index, row in enumerate(rows):
        project_settings = configured.get(row.project_id) or DetectionSettings(project_id=row.project_id)
        config = DetectorConfig(FAST, "count", row.sensitivity or project_settings.sensitivity)
        if project_settings.enabled and evidence.nlp[index] >= COLD_SHARE * config.open_nlp:
            warm.append((index, config))
    if not warm:
        return result
    ids = [rows[index].watch_id for index, _ in warm]
    unresolved = Anomaly.objects.filter(project_id__in=projects, watch_id__in=ids).exclude(
        status=Anomaly.Status.RESOLVED
    )
    open_episodes = {
        watch_id: (interval, direction)
        for watch_id, interval, direction in unresolved.values_list("watch_id", "interval_seconds", "direction")
    }
    watches = Watch.objects.filter(project_id__in=projects).select_related("series__metric", "project").in_bulk(ids)
    for index, config in warm:
        row = rows[index]
        interval, direction = open_episodes.get(row.watch_id, (None, None))
        opened_by_minutes = interval == MINUTE_SECONDS
        if row.watch_id in open_episodes and not (opened_by_minutes and direction == evidence.direction[index]):
            continue  # the detector's own episode (the scans carry it on), or a turn the other way
        if not opened_by_minutes and evidence.nlp[index] < config.open_nlp:
            continue
        with result.isolated("minute check", row.watch_id):
            kind, direction = str(evidence.kind[index]), str(evidence.direction[index])
            verdict = minute_verdict(row, kind, direction, int(evidence.minutes[index]), float(scores[index]))
            change = services.apply_verdict(
                watches[row.watch_id], verdict, now, may_open=bool(evidence.nlp[index] >= config.open_nlp),
                carries_on=partial(is_minute_episode, direction=direction),
            )  # fmt: skip
            if change is not None and change[0] == services.OPENED:
                explain_episode(change[1])
            result.record(row.project_id, [change])
    return result


def is_minute_episode(episode: Anomaly, direction: str) -> bool:
    """Whether the minute checks carry on the episode: one they opened, going the same way."""
    return (episode.interval_seconds, episode.direction) == (MINUTE_SECONDS, direction)


def minute_verdict(row: MinuteRow, kind: str, direction: str, minutes: int, score: float) -> services.Verdict:
    """The verdict on the watch's last complete minute: quiet (a flatline or a drop) or surging (a spike)
    for `minutes`."""
    minutes = max(minutes, 1)
    return services.Verdict(
        bucket=row.complete - MINUTE, interval_seconds=MINUTE_SECONDS, is_anomaly=True, score=score,
        severity=severity_of(score), kind=kind, direction=direction, actual=float(row.counts[-minutes:].sum()),
        expected=row.rate * minutes, episode_start=row.complete - timedelta(minutes=minutes),
    )  # fmt: skip
