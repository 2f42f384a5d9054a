"""Each detector on a constructed series: it fires on its anomaly, names it, and stays quiet otherwise."""

import numpy as np
import pytest

from anomalies.detection import DetectorConfig, score_series, severity_of
from anomalies.detection.detectors import trend_scores
from anomalies.tests.test_detection_series import daily_counts, daily_gauge, index_at

GAUGE = DetectorConfig(3600, "continuous")
COUNTS = DetectorConfig(3600, "count")


def episodes_after(scores, start: int) -> list:
    return [e for e in scores.episodes() if e.end >= start]


def test_a_spike_is_flagged_named_and_outside_the_band() -> None:
    times, values = daily_gauge()
    at = index_at(times, 30, 14)
    values[at] += 40  # 20 noise sd
    scores = score_series(times, values, GAUGE)
    assert scores.is_anomaly[at]
    assert (scores.kind[at], scores.direction[at]) == ("spike", "up")
    assert scores.score[at] >= 0.9
    assert scores.upper[at] < values[at]
    assert abs(scores.expected[at] - (values[at] - 40)) < 6


def test_a_drop_is_flagged_as_a_drop() -> None:
    times, values = daily_gauge()
    at = index_at(times, 30, 14)
    values[at] -= 40
    scores = score_series(times, values, GAUGE)
    assert (scores.is_anomaly[at], scores.kind[at], scores.direction[at]) == (True, "drop", "down")
    assert scores.lower[at] > values[at]


def test_a_level_shift_is_flagged_then_accepted_as_the_new_normal() -> None:
    times, values = daily_gauge()
    at = index_at(times, 29, 10)
    values[at:] += 15  # 7.5 noise sd, held
    scores = score_series(times, values, GAUGE)
    (episode,) = episodes_after(scores, at)
    assert episode.kind == "level_shift" and episode.direction == "up"
    assert at <= episode.start <= at + 3
    assert not scores.is_anomaly[at + 36 :].any()


def test_a_count_stream_going_silent_by_day_is_a_flatline() -> None:
    times, values = daily_counts()
    at = index_at(times, 30, 10)
    values[at : at + 4] = 0  # four busy hours without a single event
    scores = score_series(times, values, COUNTS)
    (episode,) = episodes_after(scores, at)
    assert (episode.kind, episode.direction) == ("flatline", "down")
    assert episode.start <= at + 3


def test_a_gauge_that_stops_arriving_is_a_flatline() -> None:
    times, values = daily_gauge()
    at = index_at(times, 30, 10)
    values[at : at + 6] = np.nan
    scores = score_series(times, values, GAUGE)
    (episode,) = episodes_after(scores, at)
    assert episode.kind == "flatline"
    assert at + 2 <= episode.start <= at + 5


def test_a_gauge_stuck_at_one_value_is_a_flatline() -> None:
    times, values = daily_gauge()
    at = index_at(times, 30, 10)
    values[at : at + 8] = values[at - 1]
    scores = score_series(times, values, GAUGE)
    (episode,) = episodes_after(scores, at)
    assert episode.kind == "flatline"


def test_a_new_slope_is_a_trend_change() -> None:
    times, values = daily_gauge(interval=300, noise=3.0)
    at = index_at(times, 28, 0)
    values[at:] += 12 * np.arange(len(values) - at) / 288  # four noise sd more every day
    scores = score_series(times, values, DetectorConfig(300, "continuous"))
    kinds = {e.kind for e in episodes_after(scores, at)}
    assert "trend_change" in kinds
    assert not scores.is_anomaly[index_at(times, 15, 0) : at].any()


def test_a_low_volume_blip_does_not_fire() -> None:
    times, values = daily_counts(per_hour=1.0)
    at = index_at(times, 30, 14)
    values[at] = 4  # 1 -> 4 events
    scores = score_series(times, values, COUNTS)
    assert scores.score[at] < 0.5
    assert not scores.is_anomaly[index_at(times, 15, 0) :].any()


def test_the_same_jump_fires_at_high_volume() -> None:
    times, values = daily_counts(per_hour=1000.0)
    at = index_at(times, 30, 14)
    values[at] *= 4
    scores = score_series(times, values, COUNTS)
    assert scores.is_anomaly[at] and scores.kind[at] == "spike"


@pytest.mark.parametrize(("interval", "kind"), [(3600, "continuous"), (3600, "count"), (900, "count")])
def test_daily_and_weekly_seasonality_is_not_flagged(interval: int, kind: str) -> None:
    series = daily_counts if kind == "count" else daily_gauge
    times, values = series(days=42, interval=interval, seed=7)
    scores = score_series(times, values, DetectorConfig(interval, kind))  # type: ignore[arg-type]
    assert not scores.is_anomaly[index_at(times, 15, 0) :].any()


def test_a_past_anomaly_does_not_poison_the_baseline() -> None:
    times, values = daily_gauge()
    week_ago, now = index_at(times, 23, 14), index_at(times, 30, 14)
    values[week_ago - 3 : week_ago + 3] += 200
    clean = values.copy()
    values[now] += 30
    scores = score_series(times, values, GAUGE)
    assert abs(scores.expected[now] - clean[now]) < 6
    assert scores.is_anomaly[now] and scores.kind[now] == "spike"


def test_a_young_series_is_scored_from_a_handful_of_points_but_never_critical() -> None:
    times, values = daily_gauge(days=10)
    values[14] += 500
    scores = score_series(times, values, GAUGE)
    assert np.isnan(scores.expected[:6]).all()
    assert not np.isnan(scores.expected[14:]).any()
    assert scores.is_anomaly[14] and scores.kind[14] == "spike"
    assert severity_of(float(scores.score[14])) != "critical"
    # The same jump on the same series a month later, with the spread known, is far stronger evidence.
    times, values = daily_gauge()
    later = index_at(times, 30, 14)
    values[later] += 500
    assert score_series(times, values, GAUGE).score[later] > scores.score[14]


def test_one_episode_covers_close_spikes_and_closes_after_the_cool_down() -> None:
    times, values = daily_gauge()
    at = index_at(times, 30, 12)
    values[[at, at + 2]] += 40
    scores = score_series(times, values, GAUGE)
    (episode,) = episodes_after(scores, at)
    assert (episode.start, episode.kind) == (at, "spike")
    cool_down = GAUGE.windows.cool_down
    assert episode.end == at + 2 + cool_down - 1
    assert not scores.is_anomaly[episode.end + 1 :].any()


def test_an_irregular_grid_is_scored_per_bucket() -> None:
    times, values = daily_gauge(days=5)
    gapped = score_series(np.delete(times, 10), np.delete(values, 10), GAUGE)
    assert gapped.times.tolist() == times.tolist()
    assert np.isnan(gapped.values[10]) and gapped.values[11] == values[11]


@pytest.mark.parametrize("seed", [1, 3, 4])
def test_a_drop_after_two_weeks_of_daily_counts_is_judged_by_the_daily_model(seed: int) -> None:
    # Two weeks is when the scale window first holds no time before the series: the daily model's
    # missing first days must not count against it as errors, or the local model (whose band is
    # twice as wide on a daily cycle) wins and a 70% drop falls inside its band.
    times, values = daily_counts(days=14 + 20 / 24, per_hour=40.0, seed=seed, swing=0.5)
    clean = score_series(times, values, COUNTS)
    assert not clean.is_anomaly.any()
    values[-1] = np.round(0.3 * values[-1])  # a 70% drop in the last hour
    scores = score_series(times, values, COUNTS)
    assert (scores.is_anomaly[-1], scores.kind[-1]) == (True, "drop")
    assert scores.lower[-1] > values[-1]


def block_levels(after_start) -> np.ndarray:
    """Day-long median levels, one per block: flat up to block 100, then `after_start(blocks since)`."""
    blocks = np.arange(200, dtype=np.float64)
    return np.where(blocks < 100, 0.0, after_start(blocks - 100))


def test_a_step_gives_no_trend_evidence_in_the_days_after_it() -> None:
    # A step, then a slight drift: a day on, the last day changed gradually and the day before by the
    # whole step, which read as a change of slope although nothing but the step happened.
    levels = block_levels(lambda since: 10.0 + 0.05 * since)
    z, _ = trend_scores(levels, 12, 12, np.full(len(levels), 0.5))
    assert np.abs(z).max() < 1.0  # the drift itself changes no slope


def test_a_ramp_still_gives_trend_evidence() -> None:
    levels = block_levels(lambda since: 0.5 * since)
    z, _ = trend_scores(levels, 12, 12, np.full(len(levels), 0.5))
    assert np.abs(z).max() >= 10.0


@pytest.mark.parametrize("seed", [0, 1])
def test_ranks_by_binary_search_equal_ranks_by_comparing_every_pair(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    """rank_p picks its method by cost alone (one point against a week of one-second residuals is a binary
    search): both must give the same p-values, ties, infinities and missing values included."""
    from anomalies.detection import calibration
    from anomalies.detection.robust import row_profile

    rng = np.random.default_rng(seed)
    window = np.round(rng.standard_t(3, size=(6, 400)), 1)  # rounded: ties
    window[rng.random(window.shape) < 0.2] = np.nan
    profile = row_profile(window)
    rows = rng.integers(0, 6, 300)
    values = np.round(rng.standard_t(3, 300) * 2, 1)
    values[:4] = [np.nan, np.inf, -np.inf, 0.0]
    spread = rng.random(300)
    results = []
    for broadcast, search in ((10**9, 10**9), (0, 0)):  # every pair at once; a binary search per block
        monkeypatch.setattr(calibration, "BROADCAST_CELLS", broadcast)
        monkeypatch.setattr(calibration, "SEARCH_CELLS", search)
        results.append(calibration.rank_p(profile, rows, values, spread))
    for at_once, searched in zip(*results, strict=True):
        np.testing.assert_array_equal(at_once, searched)
