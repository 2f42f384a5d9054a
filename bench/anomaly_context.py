"""What a five-minute anomaly's context costs the detector (anomalies.replay.score_on_windows): each bucket
scored on the scan's own window (eight days and a margin), against one score_latest call over the same
buckets with all the history before them (cheaper, but not what the scans scored).

    .venv/bin/python bench/anomaly_context.py [--points 120] [--repeat 3]

Poisson counts around 50 a bucket with a daily swing; --points is the most a context scores (96 shown, and
up to 24 from the start of a two-hour block). Prints the best of --repeat runs and the ratio.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flux.settings")
os.environ.setdefault("DEBUG", "1")

FIVE_MINUTES = 300
WINDOW = 8 * 288 + 48  # anomalies.refresh.buckets_kept for a five-minute watch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=120)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import django

    django.setup()
    from anomalies.detection import DetectorConfig, score_latest
    from anomalies.replay import score_on_windows

    length = WINDOW + args.points
    times = 1_767_225_600 + FIVE_MINUTES * np.arange(length, dtype=np.float64)
    daily = 1 + 0.5 * np.sin(2 * np.pi * np.arange(length) / 288)
    values = np.random.default_rng(7).poisson(50 * daily).astype(np.float64)
    config = DetectorConfig(FIVE_MINUTES, "count", "medium", "UTC")
    windows = best(args.repeat, lambda: score_on_windows(times, values, config, WINDOW, length - args.points))
    one_call = best(args.repeat, lambda: score_latest(times, values, config, points=args.points))
    print(f"{'scoring':<34} {'points':>6} {'seconds':>8}")
    print(f"{'each on the scan window (replay)':<34} {args.points:>6} {windows:>8.3f}")
    print(f"{'one call, all history (baseline)':<34} {args.points:>6} {one_call:>8.3f}")
    print(f"ratio: {windows / one_call:.1f}x")


def best(repeat: int, run: object) -> float:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        timings.append(time.perf_counter() - start)
    return min(timings)


if __name__ == "__main__":
    main()
