"""Labelled series shaped like production data, for bench/anomalies.py (seeded, numpy only).

Every shape is a clean signal plus noise of a known size, so that each injected anomaly has a
magnitude in units of the series' own noise (6-15 sd for a spike or drop, 3-8 sd held for a level
shift, 3-6 sd a day for a drift), something a person would call an anomaly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

MONDAY = 1_704_067_200  # 2024-01-01 00:00 UTC
DAY = 86400
PROBATION = 0.15  # NAB leaves the first 15% of a series unscored: no label starts there
SPAN_DAYS = {60: 14, 300: 28, 3600: 56}

Rng = np.random.Generator


@dataclass(frozen=True)
class Label:
    kind: str
    start: int
    end: int  # inclusive


@dataclass(frozen=True)
class Series:
    shape: str
    interval: int
    kind: str  # count | continuous
    times: np.ndarray
    values: np.ndarray
    labels: tuple[Label, ...]


@dataclass
class Draft:
    """A series being built: a base (rate for counts, level for gauges) and a noise sd per point."""

    interval: int
    kind: str
    base: np.ndarray
    noise: np.ndarray  # gauges: sd of the noise; counts: unused (Poisson with over-dispersion)
    first: int = 0  # the series starts here (mid-benchmark shapes): nothing before
    dispersion: float = np.inf
    unit: float = 0.0  # gauges: the least sd an anomaly's size is measured in (noise-free shapes)
    noiseless: bool = False  # the base is the series (a sensor that moves in steps)
    stick: np.ndarray | None = None  # gauges: points that repeat the previous value
    gone: np.ndarray | None = None  # points with no data

    @property
    def n(self) -> int:
        return len(self.base)


def _times(rng: Rng, interval: int) -> np.ndarray:
    n = SPAN_DAYS[interval] * DAY // interval
    return (MONDAY + int(rng.integers(0, 7)) * DAY + np.arange(n) * interval).astype(np.float64)


def daily_shape(rng: Rng, times: np.ndarray, depth: float) -> np.ndarray:
    hours = (times % DAY) / 3600
    weekday = ((times // DAY) + 3) % 7
    daily = 1 + depth * np.cos(2 * np.pi * (hours - rng.uniform(0, 24)) / 24)
    weekend = rng.uniform(0.4, 1.0) if rng.random() < 0.6 else 1.0
    return np.clip(daily, 0.05, None) * np.where(weekday >= 5, weekend, 1.0)


def ar_noise(rng: Rng, n: int, phi: float, heavy: bool) -> np.ndarray:
    shocks = rng.standard_t(3, n) / np.sqrt(3) if heavy else rng.normal(0, 1, n)
    out = np.empty(n)
    out[0] = shocks[0]
    scale = np.sqrt(1 - phi**2)
    for i in range(1, n):
        out[i] = phi * out[i - 1] + shocks[i] * scale
    return out


# --- shapes: each returns a Draft and the anomaly kinds that make sense for it --------------------


def seasonal_counts(rng: Rng, interval: int, times: np.ndarray) -> Draft:
    rate = np.exp(rng.uniform(np.log(20), np.log(20_000))) * interval / 3600
    return Draft(interval, "count", rate * daily_shape(rng, times, rng.uniform(0, 0.8)), np.zeros(len(times)))


def low_volume_counts(rng: Rng, interval: int, times: np.ndarray) -> Draft:
    per_bucket = rng.uniform(0.3, 3.0) * (1 if interval < 3600 else rng.uniform(1, 5))
    return Draft(interval, "count", per_bucket * daily_shape(rng, times, rng.uniform(0, 0.6)), np.zeros(len(times)))


def bursty_counts(rng: Rng, interval: int, times: np.ndarray) -> Draft:
    rate = np.exp(rng.uniform(np.log(30), np.log(3000))) * interval / 3600
    draft = Draft(interval, "count", rate * daily_shape(rng, times, rng.uniform(0, 0.7)), np.zeros(len(times)))
    draft.dispersion = float(rng.uniform(1.5, 4.0))  # gamma-Poisson: heavy bursts
    return draft


def seasonal_gauge(rng: Rng, interval: int, times: np.ndarray) -> Draft:
    level = np.exp(rng.uniform(0, np.log(1000)))
    base = level * daily_shape(rng, times, rng.uniform(0, 0.5))
    return Draft(interval, "continuous", base, np.full(len(times), level * rng.uniform(0.01, 0.06)))


def quantized_gauge(rng: Rng, interval: int, times: np.ndarray) -> Draft:
    draft = seasonal_gauge(rng, interval, times)
    draft.noise = draft.noise * 0 + rng.uniform(0.5, 2.0)  # in quanta: rounding to integers below
    draft.base = draft.base / draft.base.mean() * rng.uniform(5, 60)
    return draft


def square_wave(rng: Rng, interval: int, times: np.ndarray) -> Draft:
    period = max(int(rng.uniform(2400, 6 * 3600) / interval), 4)
    duty = rng.uniform(0.3, 0.7)
    low, high = rng.uniform(0, 10), rng.uniform(20, 100)
    phase = ((np.arange(len(times)) + rng.integers(0, period)) % period) / period
    base = np.where(phase < duty, high, low)
    noise = np.full(len(times), (high - low) * rng.choice([0.0, 0.01, 0.03]))
    return Draft(interval, "continuous", base, noise, unit=0.05 * (high - low))


def sticky_sensor(rng: Rng, interval: int, times: np.ndarray) -> Draft:
    n = len(times)
    steps = np.where(rng.random(n) < rng.uniform(0.02, 0.2), rng.choice([-1.0, 1.0], n), 0.0)
    walk = np.cumsum(steps)
    walk -= np.convolve(walk, np.ones(50) / 50, mode="same") * 0.9  # mean-reverting
    return Draft(interval, "continuous", 20 + np.round(walk), np.full(n, 1.0), unit=1.0, noiseless=True)


def noise_step(rng: Rng, interval: int, times: np.ndarray) -> Draft:
    draft = seasonal_gauge(rng, interval, times)
    at = int(rng.uniform(0.3, 0.8) * len(times))
    draft.noise[at:] *= rng.choice([1 / 3, 3.0])
    return draft


def late_start(rng: Rng, interval: int, times: np.ndarray) -> Draft:
    draft = (seasonal_counts if rng.random() < 0.5 else seasonal_gauge)(rng, interval, times)
    draft.first = int(rng.uniform(0.3, 0.6) * len(times))
    return draft


SHAPES: dict[str, tuple[Callable[[Rng, int, np.ndarray], Draft], tuple[str, ...]]] = {
    "seasonal counts": (seasonal_counts, ("spike", "drop", "level_shift", "flatline", "trend_change")),
    "low-volume counts": (low_volume_counts, ("spike", "level_shift", "flatline")),
    "bursty counts": (bursty_counts, ("spike", "level_shift", "flatline")),
    "seasonal gauge": (seasonal_gauge, ("spike", "drop", "level_shift", "flatline", "trend_change")),
    "quantized gauge": (quantized_gauge, ("spike", "drop", "level_shift", "flatline", "trend_change")),
    "square wave": (square_wave, ("spike", "level_shift", "flatline")),
    "sticky sensor": (sticky_sensor, ("spike", "level_shift", "trend_change")),
    "noise step": (noise_step, ("spike", "drop", "level_shift")),
    "late start": (late_start, ("spike", "drop", "level_shift", "flatline")),
}


def generate(seed: int, shape: str, clean: bool) -> Series:
    rng = np.random.default_rng(seed)
    interval = int(rng.choice([60, 300, 300, 3600]))
    times = _times(rng, interval)
    make, kinds = SHAPES[shape]
    draft = make(rng, interval, times)
    labels = () if clean else _inject(rng, draft, kinds)
    values = _sample(rng, draft, shape)
    return Series(shape, interval, draft.kind, times, values, labels)


def _sample(rng: Rng, draft: Draft, shape: str) -> np.ndarray:
    n = draft.n
    if draft.kind == "count":
        rate = np.maximum(draft.base, 0.0)
        if np.isfinite(draft.dispersion):
            rate = rate * rng.gamma(draft.dispersion, 1 / draft.dispersion, n)
        values = rng.poisson(rate).astype(np.float64)
    elif draft.noiseless:
        values = draft.base.copy()
    else:
        noise = ar_noise(rng, n, rng.uniform(0, 0.6), heavy=rng.random() < 0.25)
        values = draft.base + draft.noise * noise
        if shape == "quantized gauge":
            values = np.round(values)
        else:
            values[rng.random(n) < rng.uniform(0, 0.01)] = np.nan
    if draft.gone is not None:
        values[draft.gone] = 0.0 if draft.kind == "count" else np.nan
    if draft.stick is not None:
        for i in np.flatnonzero(draft.stick):
            values[i] = values[i - 1]
    values[: draft.first] = 0.0 if draft.kind == "count" else np.nan
    return values


def _inject(rng: Rng, draft: Draft, kinds: tuple[str, ...]) -> tuple[Label, ...]:
    n, per_day = draft.n, DAY // draft.interval
    free = np.ones(n, dtype=bool)
    free[: max(int(PROBATION * n), draft.first) + per_day // (4 if draft.first else 1)] = False
    free[n - per_day // 2 :] = False
    labels = []
    for _ in range(int(rng.integers(1, 4))):
        what = str(rng.choice(kinds))
        length = _length(rng, what, draft.interval, per_day)
        candidates = np.flatnonzero(free[: n - length])
        if draft.kind == "count" and what == "flatline":  # only where silence is unusual: > 12 events expected
            window_events = np.convolve(draft.base, np.ones(length), mode="full")[length - 1 : n]
            candidates = candidates[window_events[candidates] > 12]
        if len(candidates) == 0:
            continue
        start = int(rng.choice(candidates))
        if not free[start : start + length].all():
            continue
        _apply(rng, draft, what, start, length)
        labels.append(Label(what, start, start + length - 1))
        free[max(0, start - per_day) : start + length + per_day] = False
    return tuple(labels)


def _length(rng: Rng, what: str, interval: int, per_day: int) -> int:
    if what in ("spike", "drop"):
        return int(rng.integers(1, 4))
    if what == "level_shift":
        return int(rng.uniform(0.3, 2) * per_day)
    if what == "trend_change":
        return int(rng.uniform(1, 3) * per_day)
    return max(int(rng.uniform(1, 6) * 3600 / interval), 4)  # flatline


def _apply(rng: Rng, draft: Draft, what: str, start: int, length: int) -> None:
    window = slice(start, start + length)
    if what == "flatline":
        if draft.kind == "count":
            draft.base[window] = 0.0
        elif rng.random() < 0.4:
            draft.gone = np.zeros(draft.n, dtype=bool) if draft.gone is None else draft.gone
            draft.gone[window] = True
        else:
            draft.stick = np.zeros(draft.n, dtype=bool) if draft.stick is None else draft.stick
            draft.stick[window] = True
        return
    sign = -1.0 if what == "drop" else 1.0 if what == "spike" else float(rng.choice([-1.0, 1.0]))
    if what in ("spike", "drop"):
        size = np.full(length, rng.uniform(6, 15))
    elif what == "level_shift":
        size = np.full(length, rng.uniform(3, 8))
    else:
        size = rng.uniform(3, 6) * np.arange(1, length + 1) / (DAY / draft.interval)
    if draft.kind == "count":
        # On the square-root scale, where Poisson noise has sd 0.5 (times the burst dispersion).
        sd = 0.5 * np.sqrt(1 + draft.base[window] / draft.dispersion) if np.isfinite(draft.dispersion) else 0.5
        root = np.sqrt(draft.base[window]) + sign * size * sd
        draft.base[window] = np.maximum(root, 0.0) ** 2
    else:
        sd = np.fmax(draft.noise[window], draft.unit)
        draft.base[window] = draft.base[window] + sign * size * sd
