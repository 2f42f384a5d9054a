"""The production detector replayed over a stretch of a watched series: the band around an anomaly on
its page, and "how would this have alerted last month?" over the API. The hours before the stretch
that the detector needs are read too, so each hour scores exactly as a live scan scored it (given
the same data).

A five-minute watch can also be replayed on its own buckets (the anomaly page does): its scans score
each bucket on a cache of anomalies.refresh.buckets_kept buckets ending with it, shorter than all the
detector could use, so each bucket is scored here on the same sliding window, with fits made once per
block at its first bucket as the scans make them."""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from anomalies.cadence import HOURLY, step_of
from anomalies.detection import (
    DetectorConfig,
    Episode,
    FitCache,
    Scores,
    history_needed,
    score_incremental,
    score_latest,
)
from anomalies.detection.localtime import zone_or_utc
from anomalies.history import HOUR, NO_HOURS, floor_hour, floor_step, hours_in, measure_of, read_hours
from anomalies.models import Watch
from anomalies.queries import detection_settings
from anomalies.refresh import buckets_kept
from flux.web.serializers import iso

MAX_REPLAY_HOURS = 24 * 92  # a quarter: enough for "last month" with room, bounded for the response size
MAX_FAST_POINTS = 12 * 8  # eight hours of five-minute buckets: each is scored on its own window


@dataclass(frozen=True)
class Replay:
    scores: Scores
    sensitivity: str


def replay(
    watch: Watch, start: datetime, end: datetime, sensitivity: str | None = None, own_interval: bool = False
) -> Replay:
    """Scores of every hour in [start, end) (hours rounded down; at most MAX_REPLAY_HOURS). With
    `own_interval`, a five-minute watch's buckets instead (at most the last MAX_FAST_POINTS)."""
    value_kind, missing = measure_of(watch)
    sensitivity = sensitivity or watch.sensitivity or detection_settings(watch.project).sensitivity
    zone = zone_or_utc(watch.project.timezone)
    if own_interval and watch.interval_seconds < HOURLY:
        config = DetectorConfig(watch.interval_seconds, value_kind, sensitivity, zone)  # type: ignore[arg-type]
        return Replay(replay_buckets(watch, start, end, config, missing), sensitivity)
    start, end = floor_hour(start), floor_hour(end)
    config = DetectorConfig(3600, value_kind, sensitivity, zone)  # type: ignore[arg-type]
    history_start = start - HOUR * math.ceil(history_needed(config) / 3600)
    hours = read_hours([watch], history_start, end).get(watch.pk, NO_HOURS)
    if value_kind == "count":  # as the scan does: a count stream's history starts at its first hour of data
        history_start = max(history_start, hours.first() or end)
    series = hours.on_grid(history_start, end, missing)
    times = history_start.timestamp() + HOUR.total_seconds() * np.arange(len(series))
    points = min(hours_in(start, end), len(series))
    if not points:
        return Replay(score_latest(np.array([start.timestamp()]), np.array([missing]), config).tail(0), sensitivity)
    return Replay(score_latest(times, series, config, points=points).tail(points), sensitivity)


def replay_buckets(watch: Watch, start: datetime, end: datetime, config: DetectorConfig, missing: float) -> Scores:
    """Each bucket of the watch's interval in [start, end) scored as its scan scored it: on the window of
    buckets_kept buckets ending with it (a count's starting no earlier than its first bucket of data, as
    a rebuilt cache does), read from the rollups as the scan reads them (anomalies.history.read_hours)."""
    step = step_of(watch)
    end = floor_step(end, step)
    start = max(floor_step(start, step), end - step * MAX_FAST_POINTS)
    # Fits are made once per block and reused for its later buckets, so scoring starts at the block's first.
    scored_from = floor_step(start, timedelta(seconds=config.windows.block_seconds))
    window = buckets_kept(watch)
    history_start = scored_from - step * (window - 1)
    buckets = read_hours([watch], history_start, end, step).get(watch.pk, NO_HOURS)
    if config.value_kind == "count":
        history_start = max(history_start, buckets.first() or end)
    series = buckets.on_grid(history_start, end, missing, step)
    times = history_start.timestamp() + step.total_seconds() * np.arange(len(series))
    scores = score_on_windows(times, series, config, window, max(0, int((scored_from - history_start) / step)))
    return scores.tail(int(np.count_nonzero(scores.times >= start.timestamp())))


def score_on_windows(times: np.ndarray, series: np.ndarray, config: DetectorConfig, window: int, first: int) -> Scores:
    """Each point from `first` on scored as a scan with a cache of `window` points scores it: on the
    `window` points ending with it, the detector's carry and block fits passed on from point to point."""
    fits, carried, scored = FitCache(), None, []
    for last in range(first, len(series)):
        start = max(0, last + 1 - window)
        point, carried = score_incremental(times[start : last + 1], series[start : last + 1], config, 1, carried, fits)
        scored.append(point)
    if not scored:
        return score_latest(np.empty(0), np.empty(0), config)
    return Scores.joined(scored)


def number(value: float) -> float | None:
    return round(float(value), 6) if math.isfinite(value) else None


def at(scores: Scores, index: int) -> str:
    return iso(datetime.fromtimestamp(float(scores.times[index]), tz=UTC))


def point_json(scores: Scores, index: int) -> dict:
    return {
        "time": at(scores, index), "value": number(scores.values[index]),
        "expected": number(scores.expected[index]), "lower": number(scores.lower[index]),
        "upper": number(scores.upper[index]), "score": round(float(scores.score[index]), 4),
        "is_anomaly": bool(scores.is_anomaly[index]),
    }  # fmt: skip


def points_json(scores: Scores) -> list[dict]:
    return [point_json(scores, index) for index in range(len(scores))]


def episode_json(scores: Scores, episode: Episode) -> dict:
    return {
        "started_at": at(scores, episode.start), "last_anomalous_at": at(scores, episode.end), "kind": episode.kind,
        "direction": episode.direction, "score": round(float(episode.score), 4), "severity": episode.severity,
        "ongoing": episode.ongoing,
    }  # fmt: skip


def episodes_json(scores: Scores) -> list[dict]:
    """The anomalies the replay would have opened, with where they started and ended."""
    return [episode_json(scores, episode) for episode in scores.episodes()]
