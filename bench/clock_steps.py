"""The cost of local lags per scan call, with the clock's steps shared between calls or found afresh.

    .venv/bin/python bench/clock_steps.py [--repeats 9]

A scan builds a new localtime.Clock per call; each lag's steps (where the shift changes) were found per
clock (~70 us a lag under load, about nine lags a call). They are now found once per zone, width and
lag (localtime._epoch_steps). This times score_incremental as the scan calls it (history_needed of
history, one new bucket, the carry and the block's fits reused), on a Berlin business
day (bench/dst.py) from a day after clocks go forward: as UTC (the baseline), in Berlin with the steps
cache cleared before each call (as before), and in Berlin as now, alternating; medians of --repeats
runs of 24 calls.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from anomalies.detection import DetectorConfig, FitCache, history_needed, score_incremental
from anomalies.detection.localtime import _epoch_steps
from anomalies.detection.scoring import Carry
from bench.dst import series

DAY = 86400


def scan_calls(times: np.ndarray, values: np.ndarray, config: DetectorConfig, start: int, fresh: bool) -> float:
    """Milliseconds per scan-like call over 24 buckets from `start`."""
    need = int(np.ceil(history_needed(config) / config.interval_seconds))

    def call(end: int, carry: Carry | None) -> Carry:
        low = max(end - need, 0)
        return score_incremental(times[low:end], values[low:end], config, 1, carry, fits)[1]

    fits = FitCache()
    carry, spent = call(start, None), 0.0
    for end in range(start + 1, start + 25):
        if fresh:
            _epoch_steps.cache_clear()
        began = time.perf_counter()
        carry = call(end, carry)
        spent += time.perf_counter() - began
    return spent / 24 * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=9)
    repeats = parser.parse_args().repeats
    for interval, kind in ((300, "count"), (3600, "continuous")):
        times, values, at = series("Europe/Berlin", "2026-03-29", interval, kind, 0)
        start = int(np.searchsorted(times, at + DAY))
        runs: dict[str, list[float]] = {"UTC": [], "Berlin, steps per clock": [], "Berlin, steps shared": []}
        for _ in range(repeats):
            for name, measured in runs.items():
                zone = "UTC" if name == "UTC" else "Europe/Berlin"
                config = DetectorConfig(interval, kind, "medium", zone)  # type: ignore[arg-type]
                measured.append(scan_calls(times, values, config, start, fresh=name.endswith("per clock")))
        medians = {name: float(np.median(measured)) for name, measured in runs.items()}
        base = medians["UTC"]
        print(
            f"{interval:>5} s {kind:<10} "
            + "; ".join(f"{name} {ms:.2f} ms ({ms / base:.2f}x)" for name, ms in medians.items())
        )


if __name__ == "__main__":
    main()
