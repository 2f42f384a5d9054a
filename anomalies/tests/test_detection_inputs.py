"""Whatever the data, the detector answers: degenerate series, young series, irregular rows, causality."""

import tracemalloc

import numpy as np
import pytest

from anomalies.detection import DetectorConfig, score_latest, score_series, severity_of
from anomalies.detection.rows import ROW_FIELDS, score_rows
from anomalies.tests.test_detection_series import MONDAY, daily_gauge

FIVE_MINUTES = 300


def regular(values: list[float] | np.ndarray, interval: int = FIVE_MINUTES) -> np.ndarray:
    return MONDAY + interval * np.arange(len(values), dtype=np.float64)


DEGENERATE = {
    "empty": ([], []),
    "one point": ([MONDAY], [3.0]),
    "two points": ([MONDAY, MONDAY + 300], [3.0, 900.0]),
    "all missing": (regular(np.ones(500)), np.full(500, np.nan)),
    "constant": (regular(np.ones(3000)), np.full(3000, 7.0)),
    "infinite values": (regular(np.ones(400)), np.where(np.arange(400) % 7, 1.0, np.inf)),
    "huge gap": ([MONDAY, MONDAY + 300, MONDAY + 400 * 86400], [1.0, 2.0, 3.0]),
    "duplicate timestamps": ([MONDAY, MONDAY, MONDAY + 300, MONDAY + 300, MONDAY + 600], [1.0, 2.0, 3.0, 4.0, 5.0]),
    "out of order": ([MONDAY + 600, MONDAY, MONDAY + 300], [1.0, 2.0, 3.0]),
    "a timestamp far in the past": ([0.0, MONDAY, MONDAY + 300], [1.0, 2.0, 3.0]),
    "non-finite timestamps": ([np.nan, MONDAY, np.inf], [1.0, 2.0, 3.0]),
    "timestamps beyond the year 9999": ([MONDAY, MONDAY + 300, 1e300], [1.0, 2.0, 3.0]),
    "largest floats": (regular(np.ones(400)), np.where(np.arange(400) % 2, 1.7976931348623157e308, -1e308)),
    "subnormal values": (regular(np.ones(400)), np.where(np.arange(400) % 2, 5e-324, 0.0)),
    "a largest float after a constant run": (regular(np.ones(400)), np.append(np.full(399, 1e300), 1.7e308)),
}


@pytest.mark.parametrize("name", list(DEGENERATE))
@pytest.mark.parametrize("kind", ["count", "continuous"])
def test_any_input_scores_without_raising(name: str, kind: str) -> None:
    times, values = DEGENERATE[name]
    config = DetectorConfig(FIVE_MINUTES, kind)  # type: ignore[arg-type]
    for scores in (score_series(times, values, config), score_latest(times, values, config, points=3)):
        assert ((scores.score >= 0) & (scores.score < 1)).all()
        assert len(scores.times) == len(scores.score) == len(scores.alert)
        assert not scores.alert[scores.score == 0].any()
        assert not np.isinf(np.concatenate([scores.expected, scores.lower, scores.upper])).any()


def test_a_brand_new_series_with_no_complete_bucket_scores_nothing() -> None:
    # The scan's crash: a watched name with data only in the current hour has an empty history.
    scores = score_latest(np.array([]), np.array([]), DetectorConfig(3600, "count"), points=1)
    assert len(scores) == 0 and scores.episodes() == []


def test_times_and_values_of_different_lengths_are_a_callers_bug() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        score_series([MONDAY, MONDAY + 300], [1.0], DetectorConfig(FIVE_MINUTES))


@pytest.mark.parametrize("points", [1, 2, 5, 12, 30])
@pytest.mark.parametrize("kind", ["count", "continuous"])
def test_nothing_critical_from_a_series_with_a_few_points(points: int, kind: str) -> None:
    rng = np.random.default_rng(points)
    values = np.concatenate([rng.poisson(10, points - 1).astype(float), [1e6]])
    scores = score_series(regular(values), values, DetectorConfig(FIVE_MINUTES, kind))  # type: ignore[arg-type]
    assert all(severity_of(float(score)) != "critical" for score in scores.score)


def test_a_series_that_never_moved_is_not_infinitely_surprised() -> None:
    values = np.full(3000, 20.0)
    values[-1] = 20.5
    scores = score_series(regular(values), values, DetectorConfig(FIVE_MINUTES))
    assert scores.score[:-1].max() == 0
    assert 0 < scores.score[-1] < 0.75


@pytest.mark.parametrize("level", [5.0, 0.1, 1e6, -3.0, 1e-6])
@pytest.mark.parametrize("relative_step", [2e-10, 1e-12, 1e-15])
def test_a_step_far_below_the_values_resolution_is_no_news(level: float, relative_step: float) -> None:
    values = np.full(3000, level)
    values[-1] = level * (1 + relative_step)  # 5.0 to 5.000000001: the same reading, written differently
    scores = score_series(regular(values), values, DetectorConfig(FIVE_MINUTES, sensitivity="high"))
    assert scores.score.max() == 0 and not scores.alert.any()


def test_a_step_large_for_the_level_of_a_series_that_never_moved_alerts() -> None:
    values = np.full(3000, 5.0)
    values[-1] = 5.5
    scores = score_series(regular(values), values, DetectorConfig(FIVE_MINUTES))
    assert scores.alert[-1] and scores.kind[-1] == "spike"


def test_float_rounding_of_a_constant_gauge_is_no_news_and_leaves_it_unmoved() -> None:
    # A rollup's average of seven 0.1s is 0.09999999999999999: the gauge never moved. Read as a move of
    # one ulp, the rounding was news, and the series' quantum one ulp: a real step was then judged
    # infinitely finer than a series that never moved (critical from one step).
    values = np.full(3000, 0.1)
    values[::37] = sum([0.1] * 7) / 7
    values[-1] = 0.1000001
    scores = score_series(regular(values), values, DetectorConfig(FIVE_MINUTES))
    assert scores.score[:-1].max() == 0
    assert 0 < scores.score[-1] < 0.75


def irregular_rows(days: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Gauge rows about every 5 minutes with jitter: several rows share buckets, some timestamps repeat."""
    times, values = daily_gauge(days=days, interval=FIVE_MINUTES)
    rng = np.random.default_rng(11)
    jittered = times + rng.integers(0, 400, len(times))
    jittered[100::50] = jittered[99::50][: len(jittered[100::50])]  # exact duplicates
    values[-40] += 80
    return jittered.astype(np.float64), values


@pytest.mark.parametrize("kind", ["count", "continuous"])
def test_each_row_scores_the_same_in_any_prefix_of_the_rows(kind: str) -> None:
    times, values = irregular_rows()
    full = score_rows(times, values, kind, interval=FIVE_MINUTES)  # type: ignore[arg-type]
    for cut in (len(times) - 41, len(times) - 39, len(times) - 1):
        prefix = score_rows(times[:cut], values[:cut], kind, interval=FIVE_MINUTES)  # type: ignore[arg-type]
        for name in ROW_FIELDS:
            np.testing.assert_array_equal(getattr(prefix, name), getattr(full, name)[:cut], err_msg=name)


def test_a_row_sharing_its_bucket_with_a_later_spike_is_not_flagged() -> None:
    times, values = irregular_rows()
    bucket = times // FIVE_MINUTES
    last = len(times) - 40
    partner = last - 1
    times[partner] = bucket[last] * FIVE_MINUTES  # the row before the spike is in its bucket, earlier
    times[last] = bucket[last] * FIVE_MINUTES + 200
    rows = score_rows(times, values, "continuous", interval=FIVE_MINUTES)
    assert rows.score[last] > 0.5 and rows.alert[last]
    assert rows.score[partner] < 0.5 and not rows.alert[partner]


def test_each_row_carries_the_kind_and_direction_of_its_bucket() -> None:
    times, values = irregular_rows()
    rows = score_rows(times, values, "continuous", interval=FIVE_MINUTES)
    spike = len(times) - 40
    assert rows.alert[spike] and (rows.kind[spike], rows.direction[spike]) == ("spike", "up")
    assert set(rows.kind[~rows.is_anomaly].tolist()) == {""}


@pytest.mark.parametrize("kind", ["count", "continuous"])
def test_rows_of_the_largest_floats_sharing_buckets_score_without_overflow(kind: str) -> None:
    times = regular(np.ones(60)).repeat(2)  # two rows a bucket: the first row's partial bucket is summed
    rows = score_rows(times, np.full(120, 1.7976931348623157e308), kind, interval=FIVE_MINUTES)  # type: ignore[arg-type]
    assert np.isfinite(rows.score).all()


def test_one_second_buckets_score_within_a_small_memory_budget() -> None:
    # The daily-habit rule read +-15 minutes of every point's yesterday, 3,601 one-second buckets a point:
    # gigabytes for a backtest of a day of 1 Hz data. It reads every stride-th, as many as at a minute.
    values = np.random.default_rng(0).normal(10, 1, 3000)
    tracemalloc.start()
    try:
        scores = score_series(regular(values, interval=1), values, DetectorConfig(1))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(scores) == 3000
    assert peak < 150e6


@pytest.mark.parametrize("kind", ["count", "continuous"])
def test_rows_sharing_buckets_after_one_huge_value_keep_their_own_sums(kind: str) -> None:
    # Each bucket's running sum was a running total over the whole file less its value at the bucket's
    # start: after one row of 1e17 both read 1e17, and every later row but a bucket's last read as 0.
    times = regular(np.ones(200)).repeat(2)
    values = np.tile([4.0, 6.0], 200)
    values[0] = 1e17
    rows = score_rows(times, values, kind, interval=FIVE_MINUTES)  # type: ignore[arg-type]
    assert not rows.is_anomaly[2:].any()


def traced_peak(function) -> float:
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_memory_of_scoring_rows_does_not_grow_with_the_files_length(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each block keeps its sorted window of residuals per model (168 floats a point at hourly buckets):
    # the backtest of a million one-minute rows peaked at 5.6 GB. Scored a stretch at a time, a file of
    # four times the rows needs about the memory of one stretch and its history.
    monkeypatch.setattr("anomalies.detection.scoring.CHUNK_POINTS", 3000, raising=False)
    times, values = daily_gauge(days=1000, interval=3600)
    short = traced_peak(lambda: score_rows(times[:6000], values[:6000], "continuous"))
    long = traced_peak(lambda: score_rows(times, values, "continuous"))
    assert long < 1.5 * short


@pytest.mark.parametrize("kind", ["count", "continuous"])
def test_rows_scored_a_stretch_at_a_time_equal_the_whole_series_scored_at_once(
    monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    monkeypatch.setattr("anomalies.detection.scoring.CHUNK_POINTS", 500, raising=False)
    times, values = daily_gauge(days=120, interval=3600)
    values[1490:1530] *= 2  # an episode across the stretch starting at 1500
    values[2990:3010] = 0
    whole = score_latest(times, values, DetectorConfig(3600, kind), len(times))  # type: ignore[arg-type]  # at once
    rows = score_rows(times, values, kind, interval=3600)  # type: ignore[arg-type]
    assert rows.alert[1490:1530].any() and rows.is_anomaly[1499:1501].all()
    for name in ROW_FIELDS:
        np.testing.assert_array_equal(getattr(rows, name), getattr(whole, name), err_msg=name)


def test_a_row_sharing_its_bucket_with_later_rows_is_scored_alone_not_with_a_day_before_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each earlier row of a bucket was scored as a series ending at it, the day of points before it scored
    # again for its episode state: ~600 points a row at five minutes, 3,000 at one minute (a file of
    # 10-second readings scored with --interval 60 took hours). Given the state of the bucket before it
    # (the carry) and the block's fits, it scores one point.
    import anomalies.detection.scoring as scoring

    scored: list[int] = []
    point_results = scoring.point_results

    def counting(times, raw, config, start, *rest):
        scored.append(len(raw) - start)
        return point_results(times, raw, config, start, *rest)

    times, values = irregular_rows(days=4)
    values[-45:-35] += 80  # an episode over rows sharing buckets
    monkeypatch.setattr(scoring, "point_results", counting)
    rows = score_rows(times, values, "continuous", interval=FIVE_MINUTES)
    monkeypatch.undo()
    # Each such row scores as the last row of the rows up to it (in time order) does.
    order = np.lexsort((np.arange(len(times)), times))
    buckets = times // FIVE_MINUTES
    shares = np.flatnonzero(buckets[order][:-1] == buckets[order][1:])
    assert rows.is_anomaly[order[shares]].sum() >= 3
    for position in np.concatenate([shares[-6:], shares[:: len(shares) // 3]]):
        up_to = order[: position + 1]
        alone = score_rows(times[up_to], values[up_to], "continuous", interval=FIVE_MINUTES)
        for name in ROW_FIELDS:
            np.testing.assert_array_equal(getattr(alone, name)[-1], getattr(rows, name)[order[position]], name)
    partial_rows = len(times) - len(np.unique(buckets))
    # (A row whose bucket is still in the warm-up needs no scoring of its own: no value is read there.)
    assert len(scored) >= np.count_nonzero(np.isfinite(rows.expected[order[shares]])) > 0
    assert sum(scored) < int(buckets.max() - buckets.min()) + 1 + 2 * partial_rows


def test_a_long_grid_is_scored_a_stretch_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # Two rows a decade apart at one-minute buckets make a grid of five million: scored at once, it ran
    # out of memory. A stretch at a time, the memory is a stretch's, whatever the grid's length.
    monkeypatch.setattr("anomalies.detection.scoring.CHUNK_POINTS", 3000)
    times, values = daily_gauge(days=1000, interval=3600)
    config = DetectorConfig(3600, "continuous")
    short = traced_peak(lambda: score_series(times[:6000], values[:6000], config))
    long = traced_peak(lambda: score_series(times, values, config))
    assert long < 1.5 * short


def test_a_bucket_of_counts_summing_beyond_the_largest_magnitude_is_read_as_it() -> None:
    # Two counts of 1e300 in one bucket are each read as 1e100; their sum was 2e100, beyond the bound
    # every other value is held to (a grid given directly held it).
    scores = score_series([0.0, 0.0, 3600.0], [1e300, 1e300, 1.0], DetectorConfig(3600, "count"))
    assert scores.values.tolist() == [1e100, 1.0]


def test_a_huge_residual_on_a_tiny_spread_raises_no_overflow_warning() -> None:
    # 1e100 beyond a spread of about 1e-301 overflowed to infinity with RuntimeWarnings (pytest makes
    # them errors), depending on where the two-hour blocks fell.
    scores = score_series(6420.0 + 60 * np.arange(14), [4e-300] * 12 + [3.8e-300, -1e100], DetectorConfig(60))
    assert np.all(np.isfinite(scores.score))
