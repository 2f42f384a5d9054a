"""score_incremental, the scan's cheap path: scoring bucket by bucket with the carry of the previous call
gives exactly what scoring the whole series gives; and the monotony early opens rely on."""

from dataclasses import fields
from itertools import pairwise

import numpy as np
import pytest

from anomalies.detection import (
    DetectorConfig,
    FitCache,
    Scores,
    carried_points,
    score_incremental,
    score_latest,
    score_series,
)
from anomalies.tests.test_detection_contract import assert_same, with_anomalies
from anomalies.tests.test_detection_series import daily_counts, daily_gauge, index_at


def latest_block(fits: FitCache) -> FitCache:
    last = max(block for _, block in fits.blocks)
    return FitCache(
        {key: item for key, item in fits.blocks.items() if key[1] == last},
        {key: item for key, item in fits.trends.items() if key[1] == last},
    )


def between(scores: Scores, start: int, end: int) -> Scores:
    return Scores(**{item.name: getattr(scores, item.name)[start:end] for item in fields(scores)})


def walk(times: np.ndarray, values: np.ndarray, config: DetectorConfig, start: int, seed: int = 3) -> list:
    """Score from `start` on, a few buckets at a time (1 to 5), each call given the previous carry and
    the block fits cached so far (only the latest block's, as the scan keeps them)."""
    rng = np.random.default_rng(seed)
    fits = FitCache()
    _, carry = score_incremental(times[:start], values[:start], config, 1, None, fits)
    parts, end = [], start
    while end < len(times):
        step = min(int(rng.integers(1, 6)), len(times) - end)
        end += step
        fits = latest_block(fits)
        scores, carry = score_incremental(times[:end], values[:end], config, step, carry, fits)
        assert len(carry) == carried_points(config)
        parts.append((end, step, scores))
    return parts


@pytest.mark.parametrize(("interval", "kind"), [(3600, "continuous"), (3600, "count")])
def test_hourly_scores_bucket_by_bucket_with_the_carry_equal_score_series(interval: int, kind: str) -> None:
    series = daily_counts if kind == "count" else daily_gauge
    times, values = series(days=36, interval=interval)
    values = with_anomalies(values, times)  # a spike on day 30, a stop on day 33
    config = DetectorConfig(interval, kind)  # type: ignore[arg-type]
    full = score_series(times, values, config)
    parts = walk(times, values, config, index_at(times, 29, 0))
    assert sum(scores.is_anomaly.sum() for _, _, scores in parts) > 0
    for end, step, scores in parts:
        assert_same(scores, between(full, end - step, end))
        np.testing.assert_array_equal(scores.alert, full.alert[end - step : end])
        np.testing.assert_array_equal(scores.times, full.times[end - step : end])


def test_five_minute_counts_bucket_by_bucket_with_the_carry_equal_score_series() -> None:
    times, values = daily_counts(days=10, interval=300, per_hour=120)
    values[index_at(times, 9, 10) : index_at(times, 9, 10.5)] *= 4  # a surge
    values[index_at(times, 9, 14) : index_at(times, 9, 15)] = 0  # a stop
    config = DetectorConfig(300, "count")
    full = score_series(times, values, config)
    parts = walk(times, values, config, index_at(times, 9, 8))
    for end, step, scores in parts:
        assert_same(scores, between(full, end - step, end))
        np.testing.assert_array_equal(scores.alert, full.alert[end - step : end])
    assert {"spike", "flatline"} <= {str(kind) for _, _, scores in parts for kind in scores.kind}


def test_a_jump_far_beyond_a_recent_dip_is_told_alike_bucket_by_bucket() -> None:
    # The return rule reads the values of the hour before the last episode, up to a day back.
    times, values = daily_gauge(days=20, interval=300)
    dip, jump = index_at(times, 18, 3), index_at(times, 18, 12)
    values[dip : dip + 30] -= 12  # a level shift down for two and a half hours, its end a return
    values[jump] += 120  # hours later a jump far beyond where it stood: told
    config = DetectorConfig(300)
    full = score_series(times, values, config)
    assert full.alert[jump]
    parts = walk(times, values, config, index_at(times, 18, 0))
    for end, step, scores in parts:
        assert_same(scores, between(full, end - step, end))
        np.testing.assert_array_equal(scores.alert, full.alert[end - step : end])


def test_a_carry_that_does_not_continue_the_series_is_ignored() -> None:
    times, values = daily_gauge(days=36)
    values = with_anomalies(values, times)
    config = DetectorConfig(3600, "continuous")
    _, carry = score_incremental(times[:-10], values[:-10], config, 1, None)  # ends ten buckets too early
    scores, following = score_incremental(times, values, config, 3, carry)
    assert_same(scores, score_latest(times, values, config, points=3))
    assert len(following) == carried_points(config)


def test_a_count_scores_no_lower_as_it_rises_above_its_expected_value() -> None:
    """What early opens rely on: a bucket in progress whose count so far is anomalous upward stays so
    when the rest of its events come in."""
    times, values = daily_counts(days=9, interval=300, per_hour=60)
    config = DetectorConfig(300, "count")
    for day, hour in ((8, 3), (8, 11), (8, 15.5), (8, 20)):
        end = index_at(times, day, hour) + 1
        expected = score_latest(times[:end], values[:end], config).expected[-1]
        scores = []
        for count in np.arange(np.ceil(expected), 4 * expected + 10):
            trial = values[:end].copy()
            trial[-1] = count
            scores.append(score_latest(times[:end], trial, config))
        assert all(b.score[-1] >= a.score[-1] for a, b in pairwise(scores))
        opened = [bool(s.is_anomaly[-1]) for s in scores]
        assert opened == sorted(opened) and opened[-1]  # once anomalous, anomalous at every higher count
        assert {str(s.direction[-1]) for s in scores if s.is_anomaly[-1]} == {"up"}
