"""Generated hostile series thrown at the detector: whatever comes in, it answers sanely.

Invariants on every generated series: no exception (nor a numeric RuntimeWarning: pytest makes them
errors); scores finite in [0, 1); expected values and bands finite where given; nothing opens on a
series of a handful of buckets, nothing is critical on a young one; a prefix scores as the full run
does (causality); score_latest equals the tail of score_series; and the carry, packed as the scan
stores it, continues exactly. Small, derandomized runs: a few seconds, never flaky.
"""

import math
from dataclasses import fields
from datetime import UTC, datetime

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anomalies import carry
from anomalies.detection import (
    DetectorConfig,
    FitCache,
    Scores,
    carried_points,
    score_incremental,
    score_latest,
    score_series,
)
from anomalies.detection.regularize import LAST_EPOCH
from anomalies.detection.rows import ROW_FIELDS, score_rows
from anomalies.detection.silence import minute_baseline, minute_evidence
from anomalies.tests.test_detection_contract import assert_same

HOUR = 3600
MONDAY = 1_704_067_200.0
FUZZ = settings(
    max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow], database=None
)
HOSTILE = [
    0.0, -0.0, 1.0, -1.0, 1e300, -1e300, 1e-300, -1e-300, 5e-324, 2.2250738585072014e-308,
    1.7976931348623157e308, -1.7976931348623157e308, 1e154, 1e200, float("nan"), float("inf"), float("-inf"),
]  # fmt: skip
kinds = st.sampled_from(["count", "continuous"])
sensitivities = st.sampled_from(["low", "medium", "high"])


@st.composite
def hostile_values(draw: st.DrawFn, max_size: int = 400) -> np.ndarray:
    """Values mixing extreme magnitudes, denormals, non-finite ones, sign flips and long constant runs."""
    size = draw(st.integers(0, max_size))
    shape = draw(st.sampled_from(["mixed", "alternating", "constant runs", "counts"]))
    if shape == "counts":
        return np.array(draw(st.lists(st.integers(0, 10**6), min_size=size, max_size=size)), dtype=np.float64)
    pool = st.one_of(st.sampled_from(HOSTILE), st.floats(allow_nan=True, allow_infinity=True))
    if shape == "mixed":
        return np.array(draw(st.lists(pool, min_size=size, max_size=size)), dtype=np.float64)
    if shape == "alternating":
        magnitude = draw(st.sampled_from([1e-300, 1.0, 1e300, 1.7976931348623157e308]))
        return magnitude * np.where(np.arange(size) % 2, 1.0, -1.0)
    runs = draw(st.lists(st.tuples(pool, st.integers(1, 200)), min_size=1, max_size=4))
    return np.concatenate([np.full(length, value) for value, length in runs])[:max_size]


@st.composite
def irregular_times(draw: st.DrawFn, size: int, interval: int) -> np.ndarray:
    """Times with duplicates, huge gaps (a month) and any order, from before 1970 to the last day of 9999."""
    start = draw(st.sampled_from([0.0, MONDAY, -86400.0 * 365, LAST_EPOCH - size * 30 * 86400]))
    steps = st.sampled_from([0, 0, interval, interval, interval, 7 * interval, 30 * 86400])
    gaps = draw(st.lists(steps, min_size=size, max_size=size))
    times = start + np.cumsum(np.array(gaps, dtype=np.float64))
    if draw(st.booleans()):
        times = times[np.array(draw(st.permutations(range(size))), dtype=np.int64)] if size else times
    return times


def head(scores: Scores, points: int) -> Scores:
    return Scores(**{item.name: getattr(scores, item.name)[:points] for item in fields(scores)})


def assert_sane(scores: Scores) -> None:
    assert len(scores.times) == len(scores.values) == len(scores.score) == len(scores.alert) == len(scores.expected)
    assert np.isfinite(scores.score).all()
    assert ((scores.score >= 0) & (scores.score < 1)).all()
    for name in ("expected", "lower", "upper", "z"):
        values = getattr(scores, name)
        assert not np.isinf(values).any(), name
    assert not scores.alert[~scores.is_anomaly].any()


@FUZZ
@given(values=hostile_values(), kind=kinds, sensitivity=sensitivities)
def test_any_regular_series_scores_sanely_and_causally(values: np.ndarray, kind: str, sensitivity: str) -> None:
    config = DetectorConfig(HOUR, kind, sensitivity)  # type: ignore[arg-type]
    times = MONDAY + HOUR * np.arange(len(values), dtype=np.float64)
    full = score_series(times, values, config)
    assert_sane(full)
    if len(values) <= 6:  # a handful of buckets says nothing of what is normal for the series
        assert not full.is_anomaly.any()
    if len(values) <= 30:
        assert (full.score < 0.9).all()  # never critical while young
    for cut in {len(values) // 2, max(len(values) - 1, 0)}:
        assert_same(score_series(times[:cut], values[:cut], config), head(full, cut))
    assert_same(score_latest(times, values, config, points=3), full.tail(3))


@FUZZ
@given(
    level=st.floats(1e-200, 1e99) | st.floats(-1e99, -1e-200),
    length=st.integers(2, 600),
    relative_step=st.floats(-1e-10, 1e-10),
    kind=kinds,
)
def test_a_constant_series_stepping_below_its_resolution_never_alerts(
    level: float, length: int, relative_step: float, kind: str
) -> None:
    values = np.full(length, level)
    values[-1] = level * (1 + relative_step)
    config = DetectorConfig(HOUR, kind, "high")  # type: ignore[arg-type]
    scores = score_series(MONDAY + HOUR * np.arange(length, dtype=np.float64), values, config)
    assert not scores.is_anomaly.any()
    assert scores.score.max() < config.cold_score


@settings(FUZZ, max_examples=10)
@given(data=st.data(), kind=kinds)
def test_any_rows_score_sanely_in_any_order_with_gaps_and_duplicates(data: st.DataObject, kind: str) -> None:
    values = data.draw(hostile_values(max_size=40))
    times = data.draw(irregular_times(len(values), HOUR))
    config = DetectorConfig(HOUR, kind)  # type: ignore[arg-type]
    for scores in (score_series(times, values, config), score_latest(times, values, config, points=5)):
        assert_sane(scores)
    if len(values):
        rows = score_rows(times, values, kind, interval=HOUR)  # type: ignore[arg-type]
        assert np.isfinite(rows.score).all() and ((rows.score >= 0) & (rows.score < 1)).all()
        cut = len(values) // 2
        prefix = score_rows(times[:cut], values[:cut], kind, interval=HOUR) if cut else None  # type: ignore[arg-type]
        order = np.lexsort((np.arange(len(times)), times))
        # Rows of the prefix that come, in time order, before every row after the cut score as in the full run.
        first_later = min((np.flatnonzero(order == row)[0] for row in range(cut, len(times))), default=len(times))
        earlier = order[:first_later]
        for name in ROW_FIELDS if prefix is not None else ():
            np.testing.assert_array_equal(getattr(prefix, name)[earlier], getattr(rows, name)[earlier], err_msg=name)


@FUZZ
@given(values=hostile_values(max_size=300), kind=kinds, steps=st.lists(st.integers(1, 4), min_size=1, max_size=6))
def test_the_stored_carry_continues_any_series_exactly(values: np.ndarray, kind: str, steps: list[int]) -> None:
    config = DetectorConfig(HOUR, kind)  # type: ignore[arg-type]
    times = MONDAY + HOUR * np.arange(len(values), dtype=np.float64)
    end = max(len(values) - sum(steps), 0)
    fits = FitCache()
    _, following = score_incremental(times[:end], values[:end], config, 1, None, fits)
    for step in steps:
        start, end = end, min(end + step, len(values))
        if end == start:
            break
        stored = carry.pack(following, _at(times[start]), HOUR, config.sensitivity)
        continued = carry.unpack(stored, _at(times[start]), HOUR, config.sensitivity)
        assert continued is None or len(continued) <= carried_points(config)
        fits = carry.unpack_fits(carry.pack_fits(fits, HOUR, kind), HOUR, kind)
        scores, following = score_incremental(times[:end], values[:end], config, end - start, continued, fits)
        assert_sane(scores)
        assert_same(scores, score_latest(times[:end], values[:end], config, points=end - start))


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


minute_counts = st.one_of(st.integers(0, 10**15).map(float), st.just(float("nan")))
minute_rates = st.one_of(st.floats(0, 1e15), st.sampled_from([0.0, 5e-324, 1e-300, 1e15]))


@settings(FUZZ, max_examples=60)
@given(rows=st.lists(st.lists(minute_counts, min_size=60, max_size=60), min_size=1, max_size=4), data=st.data())
def test_minute_evidence_of_any_counts_and_baselines_is_sane(rows: list[list[float]], data: st.DataObject) -> None:
    # Rates from nothing to 1e15 a minute, dispersions of bursty series up to 1e12, a rate's relative
    # variance up to 1e6 (a day with a single event): a negative binomial whose size is far below its
    # mean rounded ln(1 - p) to 0 and warned dividing by zero.
    size = len(rows)
    rates = data.draw(st.lists(minute_rates, min_size=size, max_size=size))
    dispersions = data.draw(st.lists(st.floats(1, 1e12) | st.just(1e12), min_size=size, max_size=size))
    variances = data.draw(st.lists(st.floats(0, 1e6) | st.just(1e-300), min_size=size, max_size=size))
    evidence = minute_evidence(np.array(rows), rates, dispersions, variances)
    assert not np.isnan(evidence.nlp).any()
    assert ((evidence.score() >= 0) & (evidence.score() <= 1)).all()


@settings(FUZZ, max_examples=60)
@given(counts=st.lists(minute_counts, max_size=3000), expected=st.floats(-1e100, 1e100) | st.just(float("nan")))
def test_a_minute_baseline_from_any_bucket_counts_is_finite(counts: list[float], expected: float) -> None:
    rate, dispersion, variance = minute_baseline(expected, 300, np.array(counts, dtype=np.float64))
    assert rate is None or math.isfinite(rate)
    assert math.isfinite(dispersion) and dispersion >= 1 and math.isfinite(variance)
