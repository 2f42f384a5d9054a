"""Detector configuration and the window sizes derived from a series' bucket width."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from .calibration import score_of
from .drift import drift_history_points
from .localtime import MAX_SHIFT

ValueKind = Literal["count", "continuous"]
Sensitivity = Literal["low", "medium", "high"]

HOUR = 3600
DAY = 86400
WEEK = 7 * DAY

# -log10 p at which an episode opens (the alert threshold, in probability terms, per point).
OPEN_NLP = {"low": 5.0, "medium": 4.0, "high": 3.5}
FINEST_THRESHOLD_SECONDS = 300  # thresholds are per point down to 5-minute buckets, per 5 minutes below
COLD_SHARE = 0.5  # a point under this share of the opening -log10 p is "back" (closing an episode)
MIN_RESIDUALS = 6  # a series is scored once its local model has this many residuals behind a block
DAILY_LAGS = 7  # same time on each of the last 7 days
WEEKLY_LAGS = 3  # same time of week on each of the last 3 weeks
MIN_DAILY_LAGS = 3
MIN_WEEKLY_LAGS = 1
SAME_TIME_DAYS = 7  # the time-of-day profile reads up to a week of days (as far as the scale window goes)
MIN_SAME_TIME = 30  # residuals at the same time of day before that reading counts


def _clamp(value: float, low: int, high: int) -> int:
    return int(min(max(round(value), low), high))


@dataclass(frozen=True)
class DetectorConfig:
    """How to read a series: bucket width, what a value is, how eager to alert, and the IANA time zone
    whose days and weeks its seasons follow (the project's; see localtime.py)."""

    interval_seconds: int
    value_kind: ValueKind = "continuous"
    sensitivity: Sensitivity = "medium"
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if self.interval_seconds <= 0:
            raise ValueError("interval_seconds must be positive")
        if self.value_kind not in ("count", "continuous"):
            raise ValueError(f"unknown value_kind {self.value_kind!r}")
        if self.sensitivity not in OPEN_NLP:
            raise ValueError(f"unknown sensitivity {self.sensitivity!r}")
        if self.timezone != "UTC":
            try:
                ZoneInfo(self.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {self.timezone!r}") from None

    @property
    def open_nlp(self) -> float:
        """-log10 p from which a point is anomalous (opens an episode).

        The threshold holds per five minutes of data: a 1-minute series has five times as many points,
        so each must be five times as rare to give as few false alerts a month.
        """
        return OPEN_NLP[self.sensitivity] + max(0.0, math.log10(FINEST_THRESHOLD_SECONDS / self.interval_seconds))

    @property
    def open_score(self) -> float:
        return float(score_of(np.array(self.open_nlp)))

    @property
    def cold_score(self) -> float:
        return float(score_of(np.array(COLD_SHARE * self.open_nlp)))

    @cached_property
    def windows(self) -> Windows:
        return Windows.for_interval(self.interval_seconds)


@dataclass(frozen=True)
class Windows:
    """Every window of the detector, in buckets of the series (block_seconds in seconds)."""

    seasons: tuple[tuple[int, int, int], ...]  # (period, lags, min valid lags) per seasonal model
    neighbours: int  # a seasonal lag also takes this many points either side of the same time
    level_window: int  # h: recent points that set the current level of a seasonal model
    local_window: int  # recent points whose median is the expectation without seasonality
    block_seconds: int  # scales, model choice and level offsets are refreshed once per block
    scale_window: int  # residuals (points) behind each block's scale
    scale_min: int  # fewest valid residuals for a model to be trusted at all
    shift_window: int  # points whose median residual makes a level shift
    trend_blocks: int  # R: blocks per trend segment (about a day)
    trend_window: int  # points whose median is the level the trend detector follows (a day)
    cool_down: int  # points back in the band that close an episode
    episode_memory: int  # an episode without a new strong point for this long closes
    flat_min: int  # shortest zero / missing / constant run called a flatline
    warmup_seconds: int  # the least history score_latest is given (scoring itself starts much earlier)
    same_time_days: int  # days before a block whose same time of day (+- same_time_reach points)...
    same_time_reach: int  # ...make its time-of-day residual profile (0 days: none)

    @classmethod
    def for_interval(cls, interval: int) -> Windows:
        seasons = []
        if interval <= DAY // 2:
            seasons.append((round(DAY / interval), DAILY_LAGS, MIN_DAILY_LAGS))
        if interval <= DAY:
            seasons.append((round(WEEK / interval), WEEKLY_LAGS, MIN_WEEKLY_LAGS))
        block = max(interval, 2 * HOUR)
        scale_window = max(round(WEEK / interval), min(336, round(8 * WEEK / interval)), 60)
        period, reach = round(DAY / interval), _clamp(HOUR / interval, 0, 60)
        # The time-of-day window lies inside the scale window (so it needs no more history) and before
        # the block (the same time plus the block and the reach stay within the previous day).
        fits_a_day = interval <= DAY // 2 and math.ceil(block / interval) + reach <= period
        same_time_days = min(SAME_TIME_DAYS, (scale_window - reach) // period) if fits_a_day else 0
        if same_time_days * (math.ceil(block / interval) + 2 * reach) < MIN_SAME_TIME:
            same_time_days = 0  # too few residuals at any one time of day to read (hourly buckets)
        return cls(
            seasons=tuple(seasons),
            neighbours=_clamp(600 / interval, 0, 3),
            level_window=_clamp(12 * HOUR / interval, 6, 144),
            local_window=_clamp(2 * HOUR / interval, 6, 24),
            block_seconds=block,
            scale_window=scale_window,
            scale_min=max(round(DAY / interval), 24),
            shift_window=_clamp(HOUR / interval, 4, 12),
            trend_blocks=max(round(DAY / block), 7),
            trend_window=max(round(DAY / interval), _clamp(12 * HOUR / interval, 6, 144)),
            cool_down=_clamp(HOUR / interval, 3, 60),
            episode_memory=max(round(DAY / interval), 24),
            flat_min=_clamp(900 / interval, 3, 6),
            warmup_seconds=max(3 * DAY, 30 * interval),
            same_time_days=same_time_days,
            same_time_reach=reach,
        )


def history_needed(config: DetectorConfig) -> int:
    """Seconds of history before the first scored point that make score_latest equal score_series."""
    w = config.windows
    interval = config.interval_seconds
    block_points = math.ceil(w.block_seconds / interval)
    deepest_lag = max((period * lags for period, lags, _ in w.seasons), default=0)
    # A residual needs its lags and its level window; a scale needs a window of residuals before its
    # block; the trend detector compares three levels a trend segment apart; hysteresis looks back
    # up to episode_memory points for the point that opened the episode, and alerts as far again (the
    # levels an episode reached, the direction of the last opening).
    residual_points = deepest_lag + w.neighbours + w.level_window + block_points
    scale_points = w.scale_window + block_points
    trend_points = (4 * w.trend_blocks + 2) * block_points + w.trend_window
    drift_points = drift_history_points(interval, w.block_seconds)
    reach = max(residual_points + max(scale_points, trend_points), drift_points)
    points = reach + 2 * w.episode_memory + w.cool_down + w.shift_window
    # Outside UTC a lag is up to MAX_SHIFT longer after a change of clocks (localtime.Clock).
    shift = 0 if config.timezone == "UTC" else math.ceil(MAX_SHIFT / interval)
    return max((points + shift) * interval, w.warmup_seconds)
