"""Calibrated scores and one alert per incident."""

import numpy as np
import pytest

from anomalies.detection import DetectorConfig, score_series
from anomalies.detection.calibration import nlp_of, score_of
from anomalies.detection.episodes import alert_points, hysteresis
from anomalies.tests.test_detection_series import MONDAY, daily_counts, daily_gauge, index_at

POINTS = 6000
SETTLED = 2000  # a week of 5-minute buckets: from here the series' own history sets its yardstick


CLEAN_SHAPES = (
    "gaussian gauge", "heavy-tailed (student t3)", "skewed latency (lognormal)", "integer gauge",
    "square wave", "low-volume counts", "busy counts", "hourly counts", "autocorrelated AR(0.9)",
)  # fmt: skip


def clean_series(shape: str) -> tuple[int, str, np.ndarray]:
    rng = np.random.default_rng(5)
    index = np.arange(POINTS)
    daily = 1 + 0.3 * np.sin(2 * np.pi * index / 288)
    return {
        "gaussian gauge": (300, "continuous", 100 * daily + rng.normal(0, 2, POINTS)),
        "heavy-tailed (student t3)": (300, "continuous", 50 + rng.standard_t(3, POINTS)),
        "skewed latency (lognormal)": (300, "continuous", np.exp(rng.normal(3, 0.5, POINTS))),
        "integer gauge": (300, "continuous", np.round(20 * daily + rng.normal(0, 1, POINTS))),
        "square wave": (300, "continuous", np.where(index // 9 % 2 == 0, 10.0, 20.0) + rng.normal(0, 0.3, POINTS)),
        "low-volume counts": (300, "count", rng.poisson(1.5 * daily).astype(float)),
        "busy counts": (300, "count", rng.poisson(200 * daily).astype(float)),
        "hourly counts": (3600, "count", rng.poisson(50 * (1 + 0.3 * np.sin(2 * np.pi * index / 24))).astype(float)),
        "autocorrelated AR(0.9)": (300, "continuous", np.convolve(rng.normal(0, 1, POINTS), 0.9 ** np.arange(60))),
    }[shape]  # fmt: skip


@pytest.mark.parametrize("shape", CLEAN_SHAPES)
def test_on_clean_series_a_score_is_as_rare_as_its_tail_probability(shape: str) -> None:
    interval, kind, values = clean_series(shape)
    values = values[:POINTS]
    times = MONDAY + interval * np.arange(POINTS, dtype=np.float64)
    scores = score_series(times, values, DetectorConfig(interval, kind)).score[SETTLED:]  # type: ignore[arg-type]
    for probability in (0.1, 0.01):
        share = float(np.mean(scores >= score_of(np.array(-np.log10(probability)))))
        assert probability / 2 <= share <= probability * 2, (probability, share)


def test_the_score_map_is_documented_and_invertible() -> None:
    assert score_of(np.array(4.0)) == pytest.approx(0.5)
    assert score_of(np.array(8.0)) == pytest.approx(0.75)
    assert nlp_of(0.9) == pytest.approx(13.29, abs=0.01)
    assert score_of(np.array(19.0)) < 0.97  # about the strongest evidence a capped score reaches


def alerts_in(scores, start: int, stop: int) -> int:
    return int(scores.alert[start:stop].sum())


def test_a_level_shift_alerts_once() -> None:
    times, values = daily_gauge(days=36, interval=300)
    start, end = index_at(times, 30, 10), index_at(times, 31, 4)
    values[start:end] += 25
    scores = score_series(times, values, DetectorConfig(300))
    assert scores.alert[start : start + 12].any()  # within the hour
    assert alerts_in(scores, start - 288, end + 288) == 1
    assert scores.is_anomaly[start + 12]


def test_a_count_stream_that_stops_alerts_once() -> None:
    times, values = daily_counts(days=36, interval=300, per_hour=600)
    start, end = index_at(times, 30, 10), index_at(times, 30, 16)
    values[start:end] = 0
    scores = score_series(times, values, DetectorConfig(300, "count"))
    (opened,) = np.flatnonzero(scores.alert[start - 288 : end + 288]) + start - 288
    assert start <= opened <= start + 6 and scores.kind[opened] in ("flatline", "drop")


def test_a_gauge_that_sticks_alerts_once() -> None:
    times, values = daily_gauge(days=36, interval=300)
    start, end = index_at(times, 30, 10), index_at(times, 30, 20)
    values[start:end] = values[start - 1]
    scores = score_series(times, values, DetectorConfig(300))
    assert alerts_in(scores, start - 288, end + 288) == 1


def test_the_state_machine_opens_escalates_once_and_reopens_after_resolving() -> None:
    cool_down, memory = 3, 50
    score = np.array([0, 0.55, 0.6, 0.2, 0.8, 0.95, 0.96, 0.6, 0.92, 0.1, 0.1, 0.1, 0.1, 0.7, 0.1])
    active = hysteresis(score, cool_down, memory, open_at=0.5, cold_at=0.25)
    assert active.tolist() == [False] + [True] * 10 + [False, False, True, True]
    alert = alert_points(active, score, memory)
    # Opens at 1 (p = 1e-4.6); 4 (warning, 1e-9.3) is not three times the evidence, 5 (critical,
    # 1e-17.3) is; 6 and 8 are not news; 13 is a new episode.
    assert np.flatnonzero(alert).tolist() == [1, 5, 13]


def test_the_series_coming_back_after_an_accepted_shift_does_not_notify_again() -> None:
    score = np.array([0, 0.6, 0.6, 0.1, 0.1, 0.1, 0.1, 0.7, 0.1, 0.1, 0.1, 0.1, 0.8])
    direction = np.array(["", "up", "up", "up", "", "", "", "down", "down", "down", "", "", "up"])
    active = hysteresis(score, 3, 50, open_at=0.5, cold_at=0.25)
    # The first episode (1-4) lasted 4 points: sustained, so the return at 7 is its end, not news;
    # the second (7-9) lasted 3, so the rise at 12 after it is news; so is a return a day later.
    assert np.flatnonzero(alert_points(active, score, 50, direction, sustained=4)).tolist() == [1, 12]
    assert np.flatnonzero(alert_points(active, score, 5, direction, sustained=4)).tolist() == [1, 7, 12]
    # A short blip the other way before a drop does not hide the drop.
    assert np.flatnonzero(alert_points(active, score, 50, direction, sustained=5)).tolist() == [1, 7, 12]


def test_an_episode_that_stays_bad_for_longer_than_its_memory_alerts_again_only_if_it_worsens() -> None:
    score = np.full(200, 0.6)
    active = hysteresis(score, 3, 50, open_at=0.5, cold_at=0.25)
    assert np.flatnonzero(alert_points(active, score, 50)).tolist() == [0]


def test_a_swing_the_other_way_inside_an_episode_does_not_escalate_it() -> None:
    # A drop opens (p = 1e-4.6); the series comes back with a critical swing up (the baseline had
    # followed the drop): the end of the incident, not a worse one. A critical point down would be.
    score = np.array([0, 0.55, 0.6, 0.6, 0.96, 0.96, 0.6, 0.96])
    direction = np.array(["", "down", "down", "down", "up", "up", "down", "down"])
    active = hysteresis(score, 3, 50, open_at=0.5, cold_at=0.25)
    assert np.flatnonzero(alert_points(active, score, 50, direction)).tolist() == [1, 7]


def test_two_unusual_points_within_the_hour_open_an_episode_one_does_not() -> None:
    times, values = daily_gauge(days=36, interval=300)
    config = DetectorConfig(300)
    at = index_at(times, 30, 10)
    single, pair = values.copy(), values.copy()
    single[at] += 3.7 * 2.0  # the gauge's noise sd is 2
    pair[[at, at + 3]] += 3.7 * 2.0
    assert not score_series(times, single, config).alert[at - 12 : at + 24].any()
    opened = np.flatnonzero(score_series(times, pair, config).alert[at - 12 : at + 24]) + at - 12
    assert opened.tolist() == [at + 3]


def test_a_spike_at_the_same_time_every_night_alerts_until_it_is_a_habit() -> None:
    times, values = daily_gauge(days=30, interval=300)
    nights = range(20, 26)
    for night in nights:
        at = index_at(times, night, 3) + night % 3  # a nightly job, give or take ten minutes
        values[at] += 40
    scores = score_series(times, values, DetectorConfig(300))
    alerted = [alerts_in(scores, index_at(times, night, 2), index_at(times, night, 4)) for night in nights]
    # The first two nights are news; once it came on two of the three nights before, it is the job.
    assert alerted == [1, 1, 0, 0, 0, 0]


def test_a_spike_repeating_once_a_day_later_is_still_an_incident() -> None:
    times, values = daily_gauge(days=30, interval=300)
    for night in (20, 21):
        values[index_at(times, night, 3)] += 40
    higher = index_at(times, 23, 3)
    values[index_at(times, 22, 3)] += 40
    values[higher] += 40
    values[index_at(times, 24, 3)] += 120  # far beyond the nights before: news again
    scores = score_series(times, values, DetectorConfig(300))
    assert [alerts_in(scores, index_at(times, night, 2), index_at(times, night, 4)) for night in (20, 21)] == [1, 1]
    assert scores.alert[index_at(times, 24, 3)]


def test_a_moderate_spike_at_an_hour_that_never_spikes_is_news_on_a_series_with_a_nightly_job() -> None:
    times, values = daily_gauge(days=30, interval=300)
    for night in range(10, 26):
        values[index_at(times, night, 3)] += 40  # the nightly job: the week's largest residuals, at 03:00 only
    afternoon = index_at(times, 24, 15)
    values[afternoon] += 7 * 2.0  # 7 sd, smaller than every nightly spike of the week
    scores = score_series(times, values, DetectorConfig(300))
    assert scores.alert[afternoon]
    assert alerts_in(scores, index_at(times, 24, 2), index_at(times, 24, 4)) == 0


def test_a_move_the_other_way_far_beyond_the_last_episode_is_a_new_incident() -> None:
    # A small drop (10 -> 8) opens at 1; later the series comes back to 10 at 7 (its end, not news),
    # or leaps to 40 (far beyond where it stood, over 8 times the drop: a new incident, notified).
    score = np.array([0, 0.6, 0.6, 0.1, 0.1, 0.1, 0.1, 0.7, 0.1, 0.1, 0.1])
    direction = np.array(["", "down", "down", "down", "", "", "", "up", "up", "up", ""])
    active = hysteresis(score, 3, 50, open_at=0.5, cold_at=0.25)
    back = np.array([10.0, 8, 8, 8, 8, 8, 8, 10, 10, 10, 10])
    leap = back.copy()
    leap[7] = 40.0
    assert np.flatnonzero(alert_points(active, score, 50, direction, 1, back)).tolist() == [1]
    assert np.flatnonzero(alert_points(active, score, 50, direction, 1, leap)).tolist() == [1, 7]
    # Where the level before the episode is unknown, the move is read as its end, as without values.
    unknown = leap.copy()
    unknown[0] = np.nan
    assert np.flatnonzero(alert_points(active, score, 50, direction, 1, unknown)).tolist() == [1]


def test_a_spike_far_beyond_a_recent_drop_notifies_in_the_full_detector() -> None:
    # A one-point drop of 6 sd, then nine hours later a spike of 60 sd: before, any opening the
    # other way within a day of an episode read as that episode's end, and the spike went untold.
    times, values = daily_gauge(days=20, interval=300)
    drop, spike = index_at(times, 18, 3), index_at(times, 18, 12)
    values[drop] -= 12
    values[spike] += 120
    scores = score_series(times, values, DetectorConfig(300))
    assert scores.alert[drop] and scores.direction[drop] == "down"
    assert scores.alert[spike] and scores.direction[spike] == "up"


def test_jumps_far_beyond_the_evidence_cap_still_rank_by_size() -> None:
    times, values = daily_gauge(days=21, interval=300, noise=2.0)
    jumps = {index_at(times, day=15, hour=10): 1_000.0, index_at(times, day=18, hour=10): 100_000.0}
    for at, jump in jumps.items():
        values[at] += jump
    scores = score_series(times, values, DetectorConfig(300, "continuous")).score
    smaller, larger = (round(float(scores[at]), 6) for at in jumps)
    assert smaller < larger < 1.0
