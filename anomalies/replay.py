"""The production detector replayed over a stretch of a watched series: the band around an anomaly on
its page, and "how would this have alerted last month?" over the API. The hours before the stretch
that the detector needs are read too, so each hour scores exactly as a live scan scored it (given
the same data)."""

import math
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from anomalies.detection import DetectorConfig, Episode, Scores, history_needed, score_latest
from anomalies.detection.localtime import zone_or_utc
from anomalies.history import HOUR, NO_HOURS, floor_hour, hours_in, measure_of, read_hours
from anomalies.models import Watch
from anomalies.queries import detection_settings
from flux.web.serializers import iso

MAX_REPLAY_HOURS = 24 * 92  # a quarter: enough for "last month" with room, bounded for the response size


@dataclass(frozen=True)
class Replay:
    scores: Scores
    sensitivity: str


def replay(watch: Watch, start: datetime, end: datetime, sensitivity: str | None = None) -> Replay:
    """Scores of every hour in [start, end) (hours rounded down; at most MAX_REPLAY_HOURS)."""
    start, end = floor_hour(start), floor_hour(end)
    value_kind, missing = measure_of(watch)
    sensitivity = sensitivity or watch.sensitivity or detection_settings(watch.project).sensitivity
    config = DetectorConfig(3600, value_kind, sensitivity, zone_or_utc(watch.project.timezone))  # type: ignore[arg-type]
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
