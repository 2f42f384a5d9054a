"""The scan: claim due watches, bring each one's cached history up to its last complete bucket
(anomalies.refresh), score the new buckets with the detector (anomalies.detection) and turn its verdicts
into anomaly episodes.

A watch is scored by the hour, or on five-minute buckets when its series is busy (anomalies.cadence),
and is due a little after each of its buckets' rollups are complete. Claiming is one conditional
UPDATE, so two workers given the same ids scan each watch once. A claim is a short lease (CLAIM_LEASE):
the batch sets its watches' next due time once their new buckets are scored and their histories, carries
and due times are stored together, so a worker killed mid-batch leaves its watches due again minutes
later, to be scored from where they were (an opening it committed is then told of by the scan that takes
it up, or by anomalies.notifications.announce_missed). Each watch is scored on its own: one that fails
is logged with its id and skipped until its next due time, never its batch.
"""

import logging
import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import numpy as np
from django.db import connection, transaction

from anomalies import cadence, carry, late_data, services
from anomalies.detection import (
    DetectorConfig,
    Scores,
    score_incremental,
    score_latest,
    severity_of,
)
from anomalies.detection.localtime import Clock, zone_or_utc
from anomalies.detection.silence import minute_baseline
from anomalies.explain import explain
from anomalies.history import floor_step, measure_of
from anomalies.models import Anomaly, DetectionSettings, Severity, Watch
from anomalies.refresh import EPISODE_LOOKBACK, cached_values, read_histories, save_histories
from anomalies.rollup_trigger import SETTLE
from anomalies.services import Verdict
from events.queries import ROLLUP_STREAM as EVENT_STREAM
from flux.query.rollup_job import current_watermark
from metrics.queries import ROLLUP_STREAM as METRIC_STREAM

logger = logging.getLogger(__name__)

# A series with fewer buckets with data than this opens nothing: a handful of points says nothing of
# what is normal for it. Until it has MIN_OBSERVED_FOR_CRITICAL, what it opens is at most a warning.
MIN_OBSERVED_TO_SCORE = 8
MIN_OBSERVED_FOR_CRITICAL = 48
# A busy count series' bucket in progress is scored early (anomalies.early) once its count so far passes
# this share of the way from the last bucket's expected value to its band: well below where it could open.
PEEK_SHARE = 0.5
# An episode the minute checks opened (its interval is a minute) stays open while they saw it within this.
MINUTE_SECONDS = 60
MINUTE_HOLD = timedelta(minutes=15)
CLAIM_LEASE = cadence.CLAIM_LEASE


@dataclass
class ScanResult:
    scanned: int = 0
    failed: list[int] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)  # their bucket was not complete yet: retry soon
    changes: dict[int, list[tuple[str, Anomaly]]] = field(default_factory=lambda: defaultdict(list))

    @contextmanager
    def isolated(self, what: str, watch_id: int) -> Iterator[None]:
        """One watch's work on its own: a failure is logged with the watch's id and the watch skipped,
        never aborting the batch."""
        try:
            yield
        except Exception:
            logger.exception("%s of watch %s failed; skipped", what, watch_id)
            self.failed.append(watch_id)

    def record(self, project_id: int, changes: Iterable[tuple[str, Anomaly] | None]) -> None:
        """A watch scanned, and the changes it made (None: none)."""
        self.scanned += 1
        self.changes[project_id].extend(change for change in changes if change is not None)


def claim(watch_ids: list[int], now: datetime) -> list[int]:
    """The ids among `watch_ids` that were due and are now this caller's to scan, for CLAIM_LEASE."""
    return list(claim_in_projects(watch_ids, now))


def claim_in_projects(watch_ids: list[int], now: datetime) -> dict[int, int]:
    """{id: project id} of the watches claim() claims (their projects scope every later read of them)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE anomalies_watch SET next_scan_at = %(lease_end)s
            WHERE id = ANY(%(ids)s) AND next_scan_at <= %(now)s AND NOT excluded
            RETURNING id, project_id
            """,
            {"lease_end": now + CLAIM_LEASE, "ids": watch_ids, "now": now},
        )
        return dict(cursor.fetchall())


def release(watch_ids: list[int], now: datetime, waiting_for_data: Collection[int] = ()) -> None:
    """The watches claimed at `now` are done: due again after their next bucket, or at the next five-minute
    one while they have no data yet (`waiting_for_data`: a watch made from raw rows before their first rollup
    found nothing, and its next look came an hour later). Only while the lease is still this batch's: one
    slower than its lease leaves the next worker's claim as it is (its due time, from `now`, may be past
    already, and a third worker would take the watch while the second still scans it)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE anomalies_watch
            SET next_scan_at = CASE WHEN interval_seconds = %(fast)s OR id = ANY(%(waiting)s) THEN %(fast_due)s
                                    ELSE %(hourly_due)s END
            WHERE id = ANY(%(ids)s) AND next_scan_at = %(lease_end)s
            """,
            {"fast": cadence.FAST, "fast_due": cadence.next_due(now, timedelta(seconds=cadence.FAST)),
             "hourly_due": cadence.next_due(now, timedelta(seconds=cadence.HOURLY)), "ids": watch_ids,
             "waiting": list(waiting_for_data), "lease_end": now + CLAIM_LEASE},
        )  # fmt: skip


def due_watch_ids(now: datetime, limit: int, source: str | None = None) -> list[int]:
    due = Watch.objects.filter(next_scan_at__lte=now, excluded=False).order_by("next_scan_at")
    if source is not None:
        due = due.filter(source=source)
    return list(due.values_list("pk", flat=True)[:limit])


def rollup_watermarks() -> dict[str, datetime | None]:
    """Per source, how far its rollups are complete."""
    streams = ((Watch.Source.EVENTS, EVENT_STREAM), (Watch.Source.METRIC, METRIC_STREAM))
    return {source: current_watermark(stream) for source, stream in streams}


def scan(watch_ids: list[int], now: datetime) -> ScanResult:
    """Scan the watches among `watch_ids` that this caller claims."""
    result = ScanResult()
    claimed = claim_in_projects(watch_ids, now)
    watches = Watch.objects.filter(project_id__in=set(claimed.values()), pk__in=list(claimed))
    watches = list(watches.select_related("series__metric", "project"))
    project_ids = {watch.project_id for watch in watches}
    configured = {item.project_id: item for item in DetectionSettings.objects.filter(project_id__in=project_ids)}
    unresolved = set(unresolved_watch_ids(watches))
    cadence.revisit_intervals(watches, now, unresolved)
    watermarks = rollup_watermarks()
    groups: dict[tuple[str, int], list[Watch]] = defaultdict(list)
    for watch in watches:
        groups[watch.source, watch.interval_seconds].append(watch)
    without_data: set[int] = set()
    for (source, interval), batch in groups.items():
        watermark = watermarks[source]
        if watermark is None:  # no rollup has run yet
            new = {watch.pk for watch in batch if watch.last_scanned_at is None}
            without_data |= new
            release([watch.pk for watch in batch], now, new)
            continue
        step = timedelta(seconds=interval)
        scanned_until = {watch.pk: watch.history_end for watch in batch}
        # A bucket is complete, as a minute is for the minute checks, once the watermark is SETTLE past it.
        new_points, refreshed = read_histories(batch, floor_step(watermark - SETTLE, step), step)
        waiting = cadence.retry_soon(batch, new_points, now)
        result.waiting += waiting
        fitted_before = {watch.pk: bytes(watch.fitted or b"") for watch in batch}
        for watch in batch:
            project_settings = configured.get(watch.project_id) or DetectionSettings(project_id=watch.project_id)
            if watch.project.archived:  # its keys are refused, so its series stop: as if detection were off
                project_settings = DetectionSettings(project_id=watch.project_id, enabled=False)
            if watch.pk not in new_points:  # its history could not be read (logged): skipped
                result.failed.append(watch.pk)
                continue
            with result.isolated("anomaly scan (until its next due time)", watch.pk):
                changes = scan_watch(
                    watch, new_points[watch.pk], project_settings, unresolved, now, scanned_until[watch.pk]
                )
                result.record(watch.project_id, changes)
        # A watch that waits for its bucket is its retry's (RETRY_AFTER later, perhaps before this batch ends):
        # what this batch read of it must not overwrite what the retry stores.
        scored = [watch for watch in batch if watch.pk in new_points and watch.pk not in waiting]
        # (A new watch only: one that had data once and has none now is a series that stopped, scanned hourly.)
        without_data |= {watch.pk for watch in scored if watch.last_scanned_at is None and not has_data(watch)}
        with transaction.atomic():  # all or nothing: a history stored without its carry or due time loses buckets
            late_data.hold_off_marks(source)
            save_histories([watch for watch in refreshed if watch.pk not in waiting], scanned_until)
            carry.save(scored, {watch.pk for watch in scored if bytes(watch.fitted or b"") != fitted_before[watch.pk]})
            release([watch.pk for watch in batch if watch.pk not in waiting], now, without_data)
    # One still without data is not stamped: its interval is chosen again at its next scan, once data came.
    stamped = [watch.pk for watch in watches if watch.pk not in without_data]
    Watch.objects.filter(pk__in=stamped).update(last_scanned_at=now)
    return result


def unresolved_watch_ids(watches: list[Watch]) -> list[int]:
    projects = {watch.project_id for watch in watches}
    episodes = Anomaly.objects.filter(project_id__in=projects, watch__in=watches)
    return list(episodes.exclude(status=Anomaly.Status.RESOLVED).values_list("watch_id", flat=True))


def has_data(watch: Watch) -> bool:
    """Whether the watch's cached history holds any bucket with data."""
    return observed_buckets(cached_values(watch), measure_of(watch)[1]) > 0


def observed_buckets(values: np.ndarray, missing: float) -> int:
    """Buckets with data: finite values, and for counts and rates (where no data reads 0) non-zero ones."""
    seen = np.isfinite(values) if math.isnan(missing) else np.isfinite(values) & (values != missing)
    return int(np.count_nonzero(seen))


def scan_watch(
    watch: Watch,
    new_points: int,
    project_settings: DetectionSettings,
    unresolved: set[int],
    now: datetime,
    scanned_until: datetime | None = None,
) -> list[tuple[str, Anomaly]]:
    """Turn the detector's verdicts on the newest buckets, oldest first, into episode changes. A normal
    bucket of a series with nothing unresolved changes nothing, so it costs no query. Buckets before
    `scanned_until` were judged before and are judged again because late data changed them: they can
    only open an episode that missed them, never resolve or extend one."""
    value_kind, missing = measure_of(watch)
    values = cached_values(watch)
    observed = observed_buckets(values, missing)
    if not (project_settings.enabled and len(values) and observed >= MIN_OBSERVED_TO_SCORE):
        watch.minute_rate = watch.peek_above = None
    if not (project_settings.enabled and new_points and len(values)):
        return []  # (a scan without new buckets keeps the rest: it is still the latest expectation)
    watch.peek_above = None
    if observed < MIN_OBSERVED_TO_SCORE and watch.pk not in unresolved:
        return []
    config = watch_config(watch, value_kind, project_settings)
    times = series_times(watch, len(values))
    first = datetime.fromtimestamp(float(times[max(0, len(values) - new_points)]), tz=UTC)
    zone = config.timezone
    carried, fits = carry.restore(watch, first, config)
    read = carry.read_entries(fits)
    scores, following = score_incremental(times, values, config, new_points, carried, fits)
    watch.carry = carry.pack(following, watch.history_end, watch.interval_seconds, config.sensitivity, zone)
    if carry.fits_changed(fits, read, watch.fitted):
        watch.fitted = carry.pack_fits(fits, watch.interval_seconds, value_kind, zone)
    changes = scan_verdicts(watch, scores, times, values, config, observed, unresolved, now, scanned_until)
    if watch.pk not in unresolved and not watch.quiet_until_normal:
        watch.peek_above = peek_threshold(watch, scores, value_kind)
    watch.minute_rate, watch.minute_dispersion, watch.minute_rate_variance = None, 1.0, 0.0
    watch.baseline_version = carry.DETECTOR_VERSION
    # Busy counts are checked by the minute (anomalies.minutes) once their expectation rests on enough
    # buckets to open anything above a warning.
    if watch.interval_seconds < cadence.HOURLY and value_kind == "count" and observed >= MIN_OBSERVED_FOR_CRITICAL:
        expected = float(scores.expected[-1])
        clock = Clock.of(zone, float(times[0]), watch.interval_seconds, len(values))
        watch.minute_rate, watch.minute_dispersion, watch.minute_rate_variance = minute_baseline(
            expected, watch.interval_seconds, values, clock
        )
    return changes


def watch_config(watch: Watch, value_kind: str, project_settings: DetectionSettings) -> DetectorConfig:
    """The detector's settings for a watch: its bucket width, its sensitivity (or its project's), and its
    project's time zone, whose days the daily and weekly patterns follow."""
    sensitivity, zone = watch.sensitivity or project_settings.sensitivity, zone_or_utc(watch.project.timezone)
    return DetectorConfig(watch.interval_seconds, value_kind, sensitivity, zone)  # type: ignore[arg-type]


def series_times(watch: Watch, points: int) -> np.ndarray:
    """Epoch seconds of the cached buckets' starts."""
    start = watch.history_end - timedelta(seconds=watch.interval_seconds) * points
    return start.timestamp() + float(watch.interval_seconds) * np.arange(points)


def peek_threshold(watch: Watch, scores: Scores, value_kind: str) -> float | None:
    """The count from which a busy count series' next bucket is worth scoring before it is complete."""
    if watch.interval_seconds >= cadence.HOURLY or value_kind != "count" or not len(scores):
        return None
    expected, upper = float(scores.expected[-1]), float(scores.upper[-1])
    if not (math.isfinite(expected) and math.isfinite(upper)):
        return None
    return expected + PEEK_SHARE * (upper - expected)


def scan_verdicts(
    watch: Watch,
    scores: Scores,
    times: np.ndarray,
    values: np.ndarray,
    config: DetectorConfig,
    observed: int,
    unresolved: set[int],
    now: datetime,
    scanned_until: datetime | None,
) -> list[tuple[str, Anomaly]]:
    new_points = len(scores)
    usual_rate = watch.minute_rate if carry.baseline_is_current(watch.baseline_version) else None
    changes = []
    explained: dict[int, Anomaly] = {}
    for index in range(len(scores)):
        anomalous = bool(scores.is_anomaly[index])
        bucket = datetime.fromtimestamp(float(scores.times[index]), tz=UTC)
        if scanned_until and bucket < scanned_until and not opens_late(watch, anomalous, unresolved, bucket):
            continue
        if not anomalous and watch.pk not in unresolved and not watch.quiet_until_normal:
            continue
        if not anomalous and watch.pk in unresolved and held_by_minutes(watch, bucket):
            continue
        if anomalous and watch.pk not in unresolved:
            # Opening: look back for the bucket the episode began, which may precede the new ones.
            lookback = score_latest(times, values, config, points=new_points + EPISODE_LOOKBACK)
            verdict = opening_verdict(lookback, len(lookback) - len(scores) + index, watch.interval_seconds)
        else:
            verdict = verdict_at(scores, index, watch.interval_seconds)
        if observed < MIN_OBSERVED_FOR_CRITICAL and verdict.severity == Severity.CRITICAL:
            verdict = replace(verdict, severity=Severity.WARNING)
        verdict = with_usual_level(verdict, usual_rate)
        change = services.apply_verdict(watch, verdict, now)
        if change is None:
            continue
        if change[0] == services.RESOLVED:
            unresolved.discard(watch.pk)
        else:
            unresolved.add(watch.pk)
        if change[0] in (services.OPENED, services.UPDATED) or change[1].pk in explained:
            explained[change[1].pk] = change[1]  # its latest state, which its channels are told of
        changes.append(change)
    # Once per episode, as it stands after the last bucket: each explanation reads the episode's tags and three
    # earlier weeks of them, and a catch-up of many buckets explained it at each.
    for anomaly in explained.values():
        explain_episode(anomaly)
    return changes


def with_usual_level(verdict: Verdict, minute_rate: float | None) -> Verdict:
    """A shortfall whose expected value is no more than what came is shown against the events its series
    usually has in such a bucket (the minute baseline, kept by busy counts): after a fall, the median of
    low five-minute counts is 0, and "0 vs 0 expected" told nobody why it was an anomaly. Only what the
    anomaly shows changes: its score, severity and band are the detector's."""
    if verdict.direction != "down" or minute_rate is None or verdict.actual is None or verdict.expected is None:
        return verdict
    if verdict.expected > verdict.actual:
        return verdict
    return replace(verdict, expected=minute_rate * verdict.interval_seconds / 60)


def explain_episode(anomaly: Anomaly) -> None:
    """Store why the episode happened, if that can be read: it is committed already, and one that cannot be
    explained (logged) must still reach the scan's changes, which its channels hear of."""
    try:
        services.set_explanation(anomaly, explain(anomaly))
    except Exception:
        logger.exception("explaining anomaly %s failed; left unexplained", anomaly.pk)


def held_by_minutes(watch: Watch, bucket: datetime) -> bool:
    """Whether the open episode is one the minute checks opened (anomalies.minutes) and saw anomalous
    within MINUTE_HOLD of the bucket's end: the bucket detector, which needs more evidence, does not
    resolve it meanwhile."""
    episode = Anomaly.objects.filter(project_id=watch.project_id, watch=watch).exclude(status=Anomaly.Status.RESOLVED)
    found = episode.values_list("interval_seconds", "last_anomalous_at").first()
    bucket_end = bucket + timedelta(seconds=watch.interval_seconds)
    return found is not None and found[0] == MINUTE_SECONDS and found[1] >= bucket_end - MINUTE_HOLD


def opens_late(watch: Watch, anomalous: bool, unresolved: set[int], bucket: datetime) -> bool:
    """Whether a bucket judged again after late data opens an episode: it is anomalous, nothing is open,
    and no earlier episode of the series already covered it."""
    if not anomalous or watch.pk in unresolved:
        return False
    episodes = Anomaly.objects.filter(project_id=watch.project_id, watch=watch).order_by("-last_anomalous_at")
    last = episodes.values_list("last_anomalous_at", flat=True).first()
    return last is None or bucket > last


def opening_verdict(scores: Scores, index: int, interval_seconds: int) -> Verdict:
    """The verdict that opens an episode on the bucket at `index`: that of the episode's strongest bucket so
    far. It is the bucket itself, unless the episode began before it and could not open then (muted, or
    its strongest bucket judged before late data, or by a scan killed mid-batch): opened on its tail, the
    episode would carry the score, severity and values of a bucket already back in its band."""
    first = index
    while first > 0 and scores.is_anomaly[first - 1]:
        first -= 1
    peak = first + int(np.argmax(scores.score[first : index + 1]))
    bucket = datetime.fromtimestamp(float(scores.times[index]), tz=UTC)
    return replace(verdict_at(scores, peak, interval_seconds), bucket=bucket)


def verdict_at(scores: Scores, index: int, interval_seconds: int) -> Verdict:
    bucket = datetime.fromtimestamp(float(scores.times[index]), tz=UTC)
    anomalous = bool(scores.is_anomaly[index])
    first = index
    while anomalous and first > 0 and scores.is_anomaly[first - 1]:
        first -= 1
    score = float(scores.score[index])
    return Verdict(
        bucket=bucket, interval_seconds=interval_seconds, is_anomaly=anomalous, score=score,
        severity=severity_of(score), kind=str(scores.kind[index]), direction=str(scores.direction[index]),
        actual=finite(scores.values[index]), expected=finite(scores.expected[index]),
        lower=finite(scores.lower[index]), upper=finite(scores.upper[index]),
        episode_start=datetime.fromtimestamp(float(scores.times[first]), tz=UTC),
    )  # fmt: skip


def finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None
