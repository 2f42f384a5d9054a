"""A week with a shape: a weekday business, quiet at weekends. The model chosen by its accuracy over the
week is often the daily one; the weekly model, which knows the weekend, must find a point unusual too."""

import numpy as np

from anomalies.detection import DetectorConfig, score_series

MONDAY = 1_789_948_800  # 2026-09-21 00:00 UTC, a Monday
DAY = 86400
MINUTE = 60


def weekday_business(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Fifteen days from a Monday, a minute apart: 58 on weekdays and 28 at weekends, noise of a unit,
    rounded."""
    rng = np.random.default_rng(seed)
    times = MONDAY + MINUTE * np.arange(15 * DAY // MINUTE, dtype=np.float64)
    weekend = (times - MONDAY) // DAY % 7 >= 5
    return times, np.round(np.where(weekend, 28.0, 58.0) + rng.normal(0, 1, len(times)))


def test_a_new_series_second_weekend_is_no_drop() -> None:
    """Its first weekend is news; its second began with a critical drop too (0.96), while the daily
    model, still the more accurate over the week, expected a weekday there."""
    times, values = weekday_business(1)
    scores = score_series(times, values, DetectorConfig(MINUTE, "continuous"))
    second_weekend = slice(12 * DAY // MINUTE, 14 * DAY // MINUTE)
    assert not scores.alert[second_weekend].any()
    assert scores.score[second_weekend].max() < 0.5


def test_a_weekday_drop_is_still_seen_at_once() -> None:
    times, values = weekday_business(2)
    start = (10 * DAY + 14 * 3600) // MINUTE  # the second Thursday, 14:00, for three hours
    values[start : start + 180] = np.round(values[start : start + 180] / 2)
    scores = score_series(times, values, DetectorConfig(MINUTE, "continuous"))
    opened = np.flatnonzero(scores.alert[start : start + 180])
    assert len(opened) and opened[0] <= 2
    assert str(scores.kind[start + opened[0]]) == "drop"
