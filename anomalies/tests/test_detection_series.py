"""Constructed series for the detector tests: plain functions, seeded, no database."""

import numpy as np

MONDAY = 1_704_067_200  # 2024-01-01 00:00 UTC
DAY = 86400


def grid(days: float, interval: int) -> np.ndarray:
    return MONDAY + np.arange(int(days * DAY / interval), dtype=np.float64) * interval


def daily_gauge(days: float = 35, interval: int = 3600, level: float = 100.0, noise: float = 2.0, seed: int = 1):
    """A gauge with a daily cycle (+-20%), a quieter weekend and Gaussian noise."""
    times = grid(days, interval)
    rng = np.random.default_rng(seed)
    hours = (times % DAY) / 3600
    weekend = ((times // DAY) + 3) % 7 >= 5
    values = level * (1 + 0.2 * np.sin(2 * np.pi * (hours - 8) / 24)) * np.where(weekend, 0.8, 1.0)
    return times, values + rng.normal(0, noise, len(times))


def daily_counts(days: float = 35, interval: int = 3600, per_hour: float = 200.0, seed: int = 1, swing: float = 0.8):
    """Event counts per bucket: Poisson around a daily cycle (+-swing) that is busy by day and quiet at night."""
    times = grid(days, interval)
    rng = np.random.default_rng(seed)
    hours = (times % DAY) / 3600
    rate = per_hour * interval / 3600 * (1 + swing * np.sin(2 * np.pi * (hours - 8) / 24))
    return times, rng.poisson(rate).astype(np.float64)


def index_at(times: np.ndarray, day: float, hour: float) -> int:
    return int(np.searchsorted(times, MONDAY + day * DAY + hour * 3600))
