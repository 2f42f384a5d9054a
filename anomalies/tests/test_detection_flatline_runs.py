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
