"""The minute checks' rate (anomalies.detection.minute_rate): the same time on previous days at today's
level, unbiased at every hour of a daily swing, with a variance that says how far off it is; and the
checks, paying for that variance, open no more than their share on clean swinging series. Pure: no
database, fixed seeds."""

import math

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from anomalies.detection.minute_rate import SKIP_MINUTES, minute_rate
from anomalies.detection.silence import MINOR_WEIGHT, minute_baseline, minute_evidence, silence_nats

DAY_MINUTES = 1440


def swinging(rng: np.random.Generator, per_hour: float, minutes: int, phase: float) -> tuple[np.ndarray, np.ndarray]:
    """Poisson minute counts swinging by half over the day (from `phase` of it) and their true rates."""
    rate = per_hour / 60 * (1 + 0.5 * np.sin((np.arange(minutes) / DAY_MINUTES + phase) * 2 * np.pi))
    return rng.poisson(rate), rate


def five_minute(counts: np.ndarray) -> np.ndarray:
    return counts.reshape(-1, 5).sum(axis=1).astype(float)


@pytest.mark.parametrize("phase", [0.0, 0.25, 0.5, 0.75])
def test_the_rate_is_right_at_every_hour_of_a_daily_swing(phase: float) -> None:
    # (The detector's expectation of the latest bucket reads 0.6 to 1.3 of it, depending on the hour.)
    rng = np.random.default_rng(17)
    errors, z = [], []
    for _ in range(150):
        counts, rate = swinging(rng, 60, 8 * DAY_MINUTES, phase)
        estimate, variance = minute_rate(five_minute(counts), 300)
        errors.append(estimate / rate[-1] - 1)
        z.append(errors[-1] / math.sqrt(variance))
    assert abs(np.mean(errors)) < 0.03
    assert 0.8 < np.std(z) < 1.25  # the variance says how far off the estimate is


@pytest.mark.parametrize("phase", [1.0, 2.5])
def test_days_that_differ_by_more_than_counting_noise_widen_the_variance(phase: float) -> None:
    # A busy series whose daily swing comes up to 40 minutes early or late each day: its rate is off by
    # more than counting noise says (with that alone, z's sd is 1.65 to 1.85), and the variance says so.
    rng = np.random.default_rng(29)
    z = []
    for _ in range(150):
        shifts = np.repeat(rng.uniform(-40, 40, 9), DAY_MINUTES)[: 8 * DAY_MINUTES]
        minute = np.arange(8 * DAY_MINUTES) + shifts
        rate = 3000 / 60 * (1 + 0.5 * np.sin(minute / DAY_MINUTES * 2 * np.pi + phase))
        estimate, variance = minute_rate(five_minute(rng.poisson(rate)), 300)
        z.append((estimate / rate[-1] - 1) / math.sqrt(variance))
    assert 0.75 < np.std(z) < 1.25


def test_the_last_half_hour_does_not_move_the_rate() -> None:
    rng = np.random.default_rng(3)
    counts = five_minute(swinging(rng, 60, 8 * DAY_MINUTES, 0.1)[0])
    stopped = counts.copy()
    stopped[-SKIP_MINUTES // 5 :] = 0  # a stop that began half an hour ago
    assert minute_rate(stopped, 300) == minute_rate(counts, 300)


def test_a_series_without_three_previous_days_keeps_the_detectors_expectation() -> None:
    rng = np.random.default_rng(3)
    young = five_minute(swinging(rng, 60, 3 * DAY_MINUTES, 0.1)[0])
    assert minute_rate(young, 300) is None
    assert minute_baseline(6.0, 300, young)[0::2] == (1.2, 0.0)
    assert minute_rate(np.zeros(8 * 288), 300) is None


def test_an_uncertain_rate_needs_a_longer_silence() -> None:
    quiet = np.array([10])
    assert silence_nats(np.array([1.0]), quiet, np.array([0.0]))[0] == pytest.approx(10.0)
    uncertain = silence_nats(np.array([1.0]), quiet, np.array([0.01]))[0]
    assert uncertain == pytest.approx(100 * math.log(1.1)) and uncertain < 10.0


@pytest.mark.parametrize("per_hour", [30, 150])
def test_clean_swinging_series_open_no_more_than_the_checks_share(per_hour: int) -> None:
    """False opens per five minutes at p = 0.1, each minute judged with the rate the scan of the latest
    complete bucket would give: at most the tenth of it each check is given (bench/alert_delay.py
    --calibrate measures the same, with more series, at smaller p)."""
    rng = np.random.default_rng(23)
    history, minutes, series = 8 * DAY_MINUTES, 1500, 12
    opens, periods = {"flatline": 0, "drop": 0, "spike": 0}, 0
    for index in range(series):
        counts = swinging(rng, per_hour, history + minutes, index / series)[0]
        buckets = five_minute(counts)
        ends = np.arange(history + 60, len(counts) + 1)  # each judged minute's end
        latest = (ends - 1) // 5 - 1  # the last complete bucket then
        baselines = {b: minute_baseline(1.0, 300, buckets[: b + 1]) for b in set(latest)}
        rate, dispersion, variance = (np.array([baselines[b][i] for b in latest]) for i in range(3))
        evidence = minute_evidence(sliding_window_view(counts, 60)[ends - 60], rate, dispersion, variance)
        for check in opens:
            above = (evidence.nlp >= 1.0) & (evidence.kind == check)
            opens[check] += int(np.count_nonzero(above[1:] & ~above[:-1]))
        periods += (len(ends) - 1) / 5
    for check, count in opens.items():
        assert count / periods / 0.1 <= MINOR_WEIGHT, check
