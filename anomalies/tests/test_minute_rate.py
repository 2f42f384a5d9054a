"""The minute checks' rate (anomalies.detection.minute_rate): the same time on previous days at today's
level, unbiased at every hour of a daily swing, with a variance that says how far off it is; and the
checks, paying for that variance, open no more than their share on clean swinging series. Pure: no
database, fixed seeds."""

import math

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from anomalies.detection import DetectorConfig
from anomalies.detection.minute_rate import SKIP_MINUTES, minute_rate
from anomalies.detection.silence import (
    MINOR_WEIGHT,
    minute_baseline,
    minute_evidence,
    silence_nats,
    updated_rate,
)

DAY_MINUTES = 1440
OPEN_NLP = DetectorConfig(300, "count").open_nlp


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


@pytest.mark.parametrize("back", [65, 120, 60 * 24 + 20])
def test_a_surge_in_a_window_the_rate_reads_does_not_move_it(back: int) -> None:
    """600 late events in one bucket of a steady series (3 a minute) doubled its rate (6.6), and a steady
    series then opened a critical drop: today's level, and a previous day's hour, hold each bucket to what
    the window's own median could give."""
    rng = np.random.default_rng(5)
    counts = rng.poisson(15, 8 * 288).astype(float)
    steady = minute_rate(counts, 300)
    counts[-back // 5] += 600
    surged = minute_rate(counts, 300)
    assert steady is not None and surged is not None
    assert abs(surged[0] / steady[0] - 1) < 0.05 and surged[0] < 3.3  # 3 a minute; it read 6.6


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


# A rate known to 17% (as the estimate is for a quiet series whose previous days happened to differ), one
# event a minute: a silence opens at 5.5 decades (the tenth share, and 5(1 - 1/e) tests per five minutes).
SURE_TO_17 = 0.17**2
SILENCE_NATS = (OPEN_NLP + 1 + math.log10(5 * (1 - math.exp(-1.0)))) * math.log(10)


def silent_minutes_to_open(shape: float) -> int:
    """Whole silent minutes until shape x ln(1 + t / shape) reaches SILENCE_NATS (one event a minute)."""
    return math.ceil(shape * math.expm1(SILENCE_NATS / shape))


def stop_after(events_before: int, silent: int) -> np.ndarray:
    counts = np.zeros((1, 60))
    counts[0, -silent - events_before : -silent] = 1  # one event a minute, then nothing
    return counts


def test_a_stop_opens_after_the_silence_its_rate_and_the_events_before_it_call_for() -> None:
    # The estimate has not read the last 40 minutes (its level ends half an hour before the history, which
    # ends ten minutes ago): the 25 events of the 25 minutes before the silence are 25 more events' worth of
    # knowing the rate (a gamma of shape 1 / 0.17^2 = 34.6, updated by them, the rate still one a minute).
    after = silent_minutes_to_open(1 / SURE_TO_17 + 25)
    alone = silent_minutes_to_open(1 / SURE_TO_17)
    assert (after, alone) == (15, 16)
    opening, waiting = stop_after(25, after), stop_after(26, after - 1)
    evidence = minute_evidence(np.vstack([opening, waiting]), [1.0, 1.0], [1.0, 1.0], [SURE_TO_17] * 2, [40, 40])
    assert list(evidence.kind) == ["flatline", "flatline"]
    assert evidence.nlp[0] >= OPEN_NLP > evidence.nlp[1]
    # Without minutes the estimate has not read, the silence waits for what the estimate alone allows.
    assert minute_evidence(opening, [1.0], [1.0], [SURE_TO_17], [0]).nlp[0] < OPEN_NLP
    assert minute_evidence(stop_after(24, alone), [1.0], [1.0], [SURE_TO_17], [0]).nlp[0] >= OPEN_NLP


def test_events_the_estimate_has_read_are_not_counted_twice() -> None:
    # The same stop, the estimate having read every minute before the silence.
    counts = stop_after(25, 15)
    assert minute_evidence(counts, [1.0], [1.0], [SURE_TO_17], [15]).nlp[0] < OPEN_NLP


def test_the_events_before_a_silence_move_its_rate_as_a_gamma_update() -> None:
    # Shape 1 / 0.17^2 = 34.6 and rate 34.6 per (event a minute), then 5 or 50 events in 25 minutes.
    shape = 1 / SURE_TO_17
    rates, variances = updated_rate(np.full(3, 1.0), np.full(3, SURE_TO_17), np.array([5, 50, 50]),
                                    np.full(3, 25.0), np.array([1.0, 1.0, 2.0]))  # fmt: skip
    assert rates[0] == pytest.approx((shape + 5) / (shape + 25)) and rates[0] < 1.0
    assert rates[1] == pytest.approx((shape + 50) / (shape + 25)) and rates[1] > 1.0
    assert variances[:2] == pytest.approx([1 / (shape + 5), 1 / (shape + 50)])
    # Twice as dispersed, the same events are half as much to learn from.
    assert rates[2] == pytest.approx((shape + 25) / (shape + 12.5)) and variances[2] == pytest.approx(1 / (shape + 25))


def test_an_exact_rate_is_not_moved_by_the_events_before_the_silence() -> None:
    counts = stop_after(25, 13)
    assert minute_evidence(counts, [1.0], [1.0], [0.0], [40]).nlp[0] == minute_evidence(counts, [1.0], [1.0]).nlp[0]


@pytest.mark.parametrize("per_hour", [30, 150])
def test_clean_swinging_series_open_no_more_than_the_checks_share(per_hour: int) -> None:
    """False opens per five minutes at p = 0.1, each minute judged with the rate the scan of the latest
    complete bucket would give (the silence updating it with the events the estimate has not read): at
    most the tenth of it each check is given (bench/alert_delay.py --calibrate measures the same, with
    more series, at smaller p)."""
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
        unseen = ends - (latest + 1) * 5 + SKIP_MINUTES  # the estimate stops half an hour before its history
        evidence = minute_evidence(sliding_window_view(counts, 60)[ends - 60], rate, dispersion, variance, unseen)
        for check in opens:
            above = (evidence.nlp >= 1.0) & (evidence.kind == check)
            opens[check] += int(np.count_nonzero(above[1:] & ~above[:-1]))
        periods += (len(ends) - 1) / 5
    for check, count in opens.items():
        assert count / periods / 0.1 <= MINOR_WEIGHT, check


def counting_variance(buckets: np.ndarray) -> float:
    """The rate's relative variance from counting noise alone (dispersion 1) for five-minute buckets in UTC:
    the reciprocals of today's three hours that ended half an hour ago, the same three hours on the seven
    days before, and the hour around now on those days."""
    today = buckets[-42:-6].sum()
    befores = sum(buckets[-42 - 288 * day : -6 - 288 * day].sum() for day in range(1, 8))
    profiles = sum(buckets[-6 - 288 * day : 6 - 288 * day].sum() for day in range(1, 8))
    return 1 / today + 1 / befores + 1 / profiles


def charged(buckets: np.ndarray) -> bool:
    """Whether the rate's variance carries a part for days that differ, beyond counting noise."""
    return minute_rate(buckets, 300, 1.0)[1] > counting_variance(buckets) * (1 + 1e-9)  # type: ignore[index]


def test_a_steady_series_pays_nothing_for_days_that_differ_and_one_whose_days_move_does() -> None:
    # Poisson days that do not differ: their ratios' spread passes counting noise for about half of them
    # by chance, which the rate's variance used to charge; days whose swing comes up to 40 minutes early or
    # late (as above) are charged for it.
    rng = np.random.default_rng(41)
    steady = [charged(five_minute(swinging(rng, 60, 8 * DAY_MINUTES, index / 100)[0])) for index in range(100)]
    moving = []
    for phase in np.linspace(0, 2 * np.pi, 40, endpoint=False):
        minute = np.arange(8 * DAY_MINUTES) + np.repeat(rng.uniform(-40, 40, 9), DAY_MINUTES)[: 8 * DAY_MINUTES]
        rate = 3000 / 60 * (1 + 0.5 * np.sin(minute / DAY_MINUTES * 2 * np.pi + phase))
        moving.append(charged(five_minute(rng.poisson(rate))))
    assert sum(steady) <= 3
    assert sum(moving) >= 30
