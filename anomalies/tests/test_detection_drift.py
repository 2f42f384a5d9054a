"""The drift detector (anomalies/detection/drift.py): a slow level change found, calibrated on clean
series, blind to an hour-long spike, and scored bucket by bucket exactly as in one run."""

import numpy as np
import pytest

from anomalies.detection import DetectorConfig, score_series
from anomalies.detection.baseline import Blocks
from anomalies.detection.calibration import tie_breaks
from anomalies.detection.detectors import anscombe
from anomalies.detection.drift import drift_nlp
from anomalies.tests.test_detection_alerts import CLEAN_SHAPES
from anomalies.tests.test_detection_contract import assert_same
from anomalies.tests.test_detection_incremental import between, walk
from anomalies.tests.test_detection_series import MONDAY, daily_gauge, index_at

DAYS = 35


def drift_of(times: np.ndarray, values: np.ndarray, interval: int, floor: float) -> np.ndarray:
    """The drift detector's -log10 p at every point, with the point detector's spread floor `floor`."""
    block = 7200
    blocks = Blocks(block, interval, round(times[0]))
    block_of = blocks.ids(times)
    ids = np.arange(block_of[0], block_of[-1] + 1)
    idx = np.arange(len(values))
    nlp, _ = drift_nlp(
        values, idx, blocks.starts(ids), block_of - ids[0], interval, block, np.full(len(values), floor),
        tie_breaks(times, interval),
    )  # fmt: skip
    return nlp


def clean(shape: str) -> tuple[int, np.ndarray, float]:
    """(interval, values on the scale the detector reads, the least spread the point detector allows)."""
    rng = np.random.default_rng(11)
    interval = 3600 if shape == "hourly counts" else 300
    n = DAYS * 86400 // interval
    index = np.arange(n)
    daily = 1 + 0.3 * np.sin(2 * np.pi * index * interval / 86400)
    return {
        "gaussian gauge": (interval, 100 * daily + rng.normal(0, 2, n), 1e-6),
        "heavy-tailed (student t3)": (interval, 50 + rng.standard_t(3, n), 1e-6),
        "skewed latency (lognormal)": (interval, np.exp(rng.normal(3, 0.5, n)), 1e-6),
        "integer gauge": (interval, np.round(20 * daily + rng.normal(0, 1, n)), 0.5),
        "square wave": (interval, np.where(index // 9 % 2 == 0, 10.0, 20.0) + rng.normal(0, 0.3, n), 1e-6),
        "low-volume counts": (interval, anscombe(rng.poisson(1.5 * daily).astype(float)), 0.5),
        "busy counts": (interval, anscombe(rng.poisson(200 * daily).astype(float)), 0.5),
        "hourly counts": (interval, anscombe(rng.poisson(50 * daily).astype(float)), 0.5),
        "autocorrelated AR(0.9)": (interval, np.convolve(rng.normal(0, 1, n), 0.9 ** np.arange(60))[:n], 1e-6),
    }[shape]  # fmt: skip


@pytest.mark.parametrize("shape", CLEAN_SHAPES)
def test_on_clean_series_the_drift_p_value_is_no_smaller_than_its_meaning(shape: str) -> None:
    interval, values, floor = clean(shape)
    times = MONDAY + interval * np.arange(len(values), dtype=np.float64)
    nlp = drift_of(times, values, interval, floor)
    judged = nlp[index_at(times, 14, 0) :]  # from two weeks on: a week of yardstick and its lags behind it
    for probability in (0.1, 0.01, 0.001):
        share = float(np.mean(judged >= -np.log10(probability)))
        assert share <= 2 * probability, (probability, share)


def slow_rise(interval: int = 300, days: int = 24) -> tuple[np.ndarray, np.ndarray, int, int]:
    """A gauge (noise sd 2) that climbs by 12% of its level over a day from day 22 on and stays there."""
    times, values = daily_gauge(days=days, interval=interval)
    start, end = index_at(times, 22, 2), index_at(times, 23, 2)
    ramp = np.clip((np.arange(len(values)) - start) / (end - start), 0.0, 1.0)
    return times, values + 12.0 * ramp, start, end


def test_a_level_that_climbs_over_a_day_alerts_once() -> None:
    """Without the drift detector: a level shift after 8 hours, then again as the baseline followed the
    climb and it went on, and a trend change a day in."""
    times, values, start, end = slow_rise()
    scores = score_series(times, values, DetectorConfig(300, "continuous"))
    rise = slice(start, end + 6 * 12)
    assert scores.alert[rise].sum() == 1
    first = start + int(np.argmax(scores.alert[rise]))
    assert str(scores.kind[first]) in ("level_shift", "trend_change") and str(scores.direction[first]) == "up"


def test_a_climb_stands_out_though_every_weekend_reads_low() -> None:
    """The gauge's weekends are 20% down: a third of the yardstick's readings lie far below the rest,
    which must widen the lower side only, not hide a rise."""
    times, values, start, end = slow_rise()
    nlp = drift_of(times, values, 300, 1e-6)
    assert nlp[: start - 1].max() < 3.0
    assert nlp[end] > 8.0


def test_the_weeks_before_a_count_streams_first_event_are_no_yardstick() -> None:
    """Four weeks without events, then 200 an hour (100 at weekends): the silent weeks' readings (each
    point equal to the same time on every day before) say nothing of how the stream drifts."""
    rng = np.random.default_rng(3)
    times = MONDAY + 3600 * np.arange(8 * 7 * 24, dtype=np.float64)
    weekend = (times - MONDAY) // 86400 % 7 >= 5
    counts = rng.poisson(np.where(weekend, 100.0, 200.0)).astype(float)
    start = 4 * 7 * 24
    counts[:start] = 0.0
    nlp = drift_of(times, anscombe(counts), 3600, 0.5)
    assert nlp[start:].max() < 4.0  # 54 (p = 1e-54) when the silent weeks made the yardstick


def test_an_hour_long_tenfold_spike_is_not_a_drift() -> None:
    times, values = daily_gauge(days=24, interval=300)
    spike = index_at(times, 22, 3)
    values[spike : spike + 12] *= 10
    nlp = drift_of(times, values, 300, 1e-6)
    # p > 1e-3 (a median of six hours moves to its 58% quantile); alerting takes p < 2.5e-6 at `medium`
    assert nlp[spike : spike + 12 * 8].max() < 3.0


def test_a_step_that_stays_is_no_drift_in_the_days_after_it() -> None:
    """The same rise as a step: the level shift tells it at once. The drift read it for three days after
    (the seven days before stay mostly below it that long), keeping a score over 0.8 on every row."""
    times, values = daily_gauge(days=26, interval=300)
    step = index_at(times, 22, 2)
    values[step:] += 12.0
    nlp = drift_of(times, values, 300, 1e-6)
    assert nlp[step:].max() < 3.0  # 40 (p = 1e-40) from three hours after the step on, before


def test_a_drift_scored_bucket_by_bucket_with_the_carry_equals_score_series() -> None:
    times, values, start, _ = slow_rise(days=24)
    config = DetectorConfig(300, "continuous")
    full = score_series(times, values, config)
    parts = walk(times, values, config, start + 60)
    for stop, step, scores in parts:
        assert_same(scores, between(full, stop - step, stop))
        np.testing.assert_array_equal(scores.alert, full.alert[stop - step : stop])
    assert {"level_shift", "trend_change"} & {str(kind) for _, _, scores in parts for kind in scores.kind}
