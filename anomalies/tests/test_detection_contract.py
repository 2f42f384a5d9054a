"""The contract the production scan relies on: causality, score_latest, history, regularize, findings."""

import math

import numpy as np
import pytest

from anomalies.detection import (
    DetectorConfig,
    deviation,
    history_needed,
    regularize,
    score_latest,
    score_series,
    severity_of,
)
from anomalies.tests.test_detection_series import daily_counts, daily_gauge, index_at

FIELDS = ("expected", "lower", "upper", "score", "z")
LABELS = ("is_anomaly", "kind", "direction")


def assert_same(left, right) -> None:
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(left, name), getattr(right, name), err_msg=name)
    for name in LABELS:
        assert getattr(left, name).tolist() == getattr(right, name).tolist(), name


def with_anomalies(values: np.ndarray, times: np.ndarray) -> np.ndarray:
    values = values.copy()
    values[index_at(times, 30, 12)] *= 3
    values[index_at(times, 33, 9) : index_at(times, 33, 14)] = 0
    return values


@pytest.mark.parametrize(
    ("interval", "kind"), [(3600, "continuous"), (3600, "count"), (300, "continuous"), (300, "count")]
)
def test_score_latest_equals_the_tail_of_score_series(interval: int, kind: str) -> None:
    series = daily_counts if kind == "count" else daily_gauge
    times, values = series(days=36, interval=interval)
    values = with_anomalies(values, times)
    config = DetectorConfig(interval, kind)  # type: ignore[arg-type]
    full = score_series(times, values, config)
    for points in (1, 7, 200):
        assert_same(score_latest(times, values, config, points=points), full.tail(points))


@pytest.mark.parametrize(("interval", "kind"), [(3600, "continuous"), (3600, "count"), (900, "count")])
def test_history_needed_is_enough_for_score_latest(interval: int, kind: str) -> None:
    series = daily_counts if kind == "count" else daily_gauge
    times, values = series(days=60, interval=interval)
    values = with_anomalies(values, times)
    config = DetectorConfig(interval, kind)  # type: ignore[arg-type]
    window = history_needed(config) // interval + 24
    recent = score_latest(times[-window:], values[-window:], config, points=24)
    assert_same(recent, score_series(times, values, config).tail(24))


def random_walk(days: float = 36, interval: int = 3600) -> tuple[np.ndarray, np.ndarray]:
    times = 1_704_067_200 + interval * np.arange(int(days * 86400 / interval), dtype=np.float64)
    return times, 100 + np.cumsum(np.random.default_rng(4).normal(0, 1, len(times)))


@pytest.mark.parametrize("series", [daily_gauge, random_walk], ids=["seasonal", "random walk"])
def test_scores_are_causal(series) -> None:
    times, values = series(days=36)
    cut = index_at(times, 30, 12)
    changed = values.copy()
    changed[cut:] = np.random.default_rng(9).normal(500, 100, len(values) - cut)
    before = score_series(times, values, DetectorConfig(3600))
    after = score_series(times, changed, DetectorConfig(3600))
    for name in (*FIELDS, *LABELS):
        np.testing.assert_array_equal(getattr(before, name)[:cut], getattr(after, name)[:cut], err_msg=name)
    assert after.is_anomaly[cut] and not before.is_anomaly[cut]


@pytest.mark.parametrize(
    "values",
    [np.full(2000, 7.0), np.full(2000, np.nan), np.zeros(2000), np.array([3.0]), np.arange(2000.0) ** 3],
    ids=["constant", "all missing", "all zero", "one point", "explosive"],
)
@pytest.mark.parametrize("kind", ["count", "continuous"])
def test_degenerate_series_score_without_warnings(values: np.ndarray, kind: str) -> None:
    times = 1_704_067_200 + 3600.0 * np.arange(len(values))
    scores = score_series(times, values, DetectorConfig(3600, kind))  # type: ignore[arg-type]
    assert len(scores) == len(values)
    assert ((scores.score >= 0) & (scores.score <= 1)).all()


def test_regularize_infers_the_interval_and_bins_irregular_rows() -> None:
    start = 1_704_067_200
    times = np.array([start + 1, start + 299, start + 310, start + 905, start + 1201, start + 1190])
    values = np.array([1.0, 3.0, 5.0, 7.0, 2.0, 4.0])
    grid, gauge, interval, bucket = regularize(times, values, "continuous")
    assert interval == 300
    assert grid.tolist() == [start + k * 300 for k in range(5)]
    assert bucket.tolist() == [0, 0, 1, 3, 4, 3]
    np.testing.assert_array_equal(gauge, [2.0, 5.0, np.nan, 5.5, 2.0])
    _, counts, _, _ = regularize(times, values, "count")
    assert counts.tolist() == [4.0, 5.0, 0.0, 11.0, 2.0]


def test_regularize_aligns_buckets_to_the_clock() -> None:
    times = np.array([1_704_067_200 + 3600 * k + 1234 for k in range(48)], dtype=float)
    grid, _, interval, _ = regularize(times, np.ones(48), "count")
    assert interval == 3600 and grid[0] == 1_704_067_200


def test_regularize_refuses_an_absurd_span() -> None:
    with pytest.raises(ValueError, match="too many"):
        regularize(np.array([0.0, 1.0, 2.0, 3e9]), np.ones(4), "count")


def test_severity_follows_the_score() -> None:
    assert [severity_of(s) for s in (0.5, 0.74, 0.75, 0.89, 0.9, 1.0)] == [
        "info", "info", "warning", "warning", "critical", "critical",
    ]  # fmt: skip


def test_deviation_is_absolute_and_relative() -> None:
    assert deviation(150.0, 100.0) == (50.0, 0.5)
    assert deviation(50.0, -100.0) == (150.0, 1.5)
    absolute, relative = deviation(3.0, 0.0)
    assert absolute == 3.0 and math.isnan(relative)


def test_config_rejects_unknown_settings() -> None:
    with pytest.raises(ValueError, match="sensitivity"):
        DetectorConfig(60, "count", "extreme")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="interval"):
        DetectorConfig(0)


def test_sensitivity_moves_the_threshold_not_the_score() -> None:
    times, values = daily_gauge()
    at = index_at(times, 30, 14)
    values[at] += 12
    low, high = (score_series(times, values, DetectorConfig(3600, "continuous", s)) for s in ("low", "high"))
    assert low.score[at] == high.score[at]
    assert DetectorConfig(3600, "continuous", "high").open_score < DetectorConfig(3600, "continuous", "low").open_score
    assert high.is_anomaly[at] and not low.is_anomaly[at]
