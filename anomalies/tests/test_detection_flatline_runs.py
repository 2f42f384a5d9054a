"""Flatlines judged by how this series' runs of gaps and repeats usually go on."""

import numpy as np

from anomalies.detection import DetectorConfig, score_series
from anomalies.tests.test_detection_series import grid, index_at


def idle_disk_writes(days: float = 21, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Bytes written per 5 minutes: busy for 4 to 12 hours, then idle (exactly 0) for 1 to 3 hours."""
    times = grid(days, 300)
    rng = np.random.default_rng(seed)
    values = rng.lognormal(14, 1, len(times))
    at = int(rng.integers(48, 144))
    while at < len(times):
        values[at : at + int(rng.integers(12, 36))] = 0.0
        at += int(rng.integers(48, 144))
    return times, values


def test_an_idle_stretch_no_longer_than_the_series_usual_ones_is_no_flatline() -> None:
    times, values = idle_disk_writes()
    settled = index_at(times, 8, 0)
    scores = score_series(times, values, DetectorConfig(300))
    assert not (scores.kind[settled:] == "flatline").any()


def test_an_idle_stretch_far_longer_than_the_usual_ones_is_a_flatline() -> None:
    times, values = idle_disk_writes()
    at = index_at(times, 15, 0)
    values[at : at + 12 * 24] = 0.0  # a whole day without a write
    scores = score_series(times, values, DetectorConfig(300))
    assert (scores.kind[at : at + 12 * 24] == "flatline").any()


def key_presses_then_switched_off(days: int = 21, seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Hold time per 5 minutes on a desktop: used from 08:00 for 8 to 10 hours, idle (exactly 0) for 15
    minutes to an hour, then switched off (no rows) until the next morning: every idle run ends in a gap."""
    times = grid(days, 300)
    rng = np.random.default_rng(seed)
    values = np.full(len(times), np.nan)
    for day in range(days):
        start = index_at(times, day, 8)
        busy = start + int(rng.integers(96, 120))
        values[start:busy] = rng.normal(0.07, 0.01, busy - start)
        values[busy : busy + int(rng.integers(3, 12))] = 0.0
    return times, values


def test_a_run_that_ends_in_a_gap_has_ended_so_a_night_of_repeats_is_a_flatline() -> None:
    times, values = key_presses_then_switched_off()
    at = index_at(times, 15, 18)
    values[at : at + 12 * 12] = 0.0  # left on overnight: twelve hours at 0 where it usually switches off
    scores = score_series(times, values, DetectorConfig(300))
    flatline = scores.kind == "flatline"
    assert flatline[at : at + 12 * 12].any()
    flatline[at : at + 12 * 12 + 12 * 24] = False  # the night and the day after it
    assert not flatline[index_at(times, 8, 0) :].any()


def quiet_nights(days: int = 28, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """A low-volume count sent as a metric (mentions per 5 minutes): 0.3 an interval by day, 0.01 from
    01:00 to 06:00. Its runs of 0 are short by day and hours long each night: a long tail, where a chain
    that goes on with one probability has a geometric one and calls most nights' run a flatline."""
    times = grid(days, 300)
    hour = (times % 86400) / 3600
    rate = np.where((hour >= 1) & (hour < 6), 0.01, 0.3)
    return times, np.random.default_rng(seed).poisson(rate).astype(float)


def test_a_quiet_night_as_long_as_the_nights_before_is_no_flatline() -> None:
    times, values = quiet_nights()
    scores = score_series(times, values, DetectorConfig(300))
    settled = index_at(times, 8, 0)
    flatline_alerts = ((scores.kind == "flatline") & scores.alert)[settled:].sum()
    assert flatline_alerts <= 4  # of 20 nights: those longer than every night of the week before (the chain: 16)
