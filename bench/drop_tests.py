"""Effective tests per five minutes of the minute checks' drop statistic (anomalies.detection.silence
.drop_evidence), measured on clean simulated series: the table DROP_TESTS is read from this.

    python bench/drop_tests.py [--series 200] [--minutes 5000]

For each volume, Poisson minute counts (the rate known exactly, then known to the relative variance the
scan's estimate has at that volume, each series' true rate drawn from a gamma of that spread around it)
and bursty ones (negative binomial, variance three times the mean, judged at the dispersion the scan
measures on them): how often per five minutes the statistic, before its cost, rises past each level
(in decades), over the 10^-level a single test would give. A threshold at T + 1 + log10(K) opens no more
than a tenth of 10^-T per five minutes where K is at least that ratio. Nothing here asserts: it prints.
"""

import argparse
import math
import sys
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from anomalies.detection.silence import dispersion_of, drop_evidence

LOOKBACK = 60  # the minutes the checks read (anomalies.minutes.LOOKBACK)
LEVELS = np.arange(1.0, 6.01, 0.5)
# The square root of the scan's rate variance at each volume, about (docs/anomaly-detection.md, "The rate").
RATE_SPREAD = {30: 0.13, 45: 0.11, 60: 0.09, 90: 0.08, 150: 0.065, 300: 0.05, 600: 0.04, 1500: 0.03}


def statistic(counts: np.ndarray, rate: np.ndarray, dispersion: float, variance: float) -> np.ndarray:
    """The drop statistic at every minute from the LOOKBACK-th on, rows x minutes, in column blocks."""
    rows, minutes = counts.shape
    found = []
    for start in range(0, minutes - LOOKBACK + 1, 500):
        windows = sliding_window_view(counts[:, start : start + 500 + LOOKBACK - 1], LOOKBACK, axis=1)
        steps = windows.shape[1]
        flat = windows.reshape(rows * steps, LOOKBACK)
        cumulative = np.concatenate([np.zeros((len(flat), 1)), np.cumsum(flat[:, ::-1], axis=1)], axis=1)
        cells = len(flat)
        value, _ = drop_evidence(
            cumulative, np.repeat(rate, steps), np.full(cells, dispersion), np.full(cells, variance)
        )
        found.append(value.reshape(rows, steps))
    return np.concatenate(found, axis=1)


def effective_tests(stat: np.ndarray) -> np.ndarray:
    """Per level: upcrossings per five minutes over 10^-level."""
    periods = stat.shape[0] * (stat.shape[1] - 1) / 5
    opens = []
    for level in LEVELS:
        above = stat >= level
        opens.append(np.count_nonzero(above[:, 1:] & ~above[:, :-1]))
    return np.array(opens) / periods / 10.0**-LEVELS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=200)
    parser.add_argument("--minutes", type=int, default=5_000)
    parser.add_argument("--volumes", default="30,45,60,90,150,300,600,1500", help="events an hour")
    args = parser.parse_args()
    rng = np.random.default_rng(17)
    print(f"drop statistic on clean series ({args.series} x {args.minutes} minutes per row): rises past each "
          "level per five minutes / 10^-level")  # fmt: skip
    print(f"{'events/h':>9}{'counts':>9}{'disp.':>6}{'rate sd':>8}" + "".join(f"{level:>6.1f}" for level in LEVELS))
    for per_hour in (int(volume) for volume in args.volumes.split(",")):
        rate = per_hour / 60
        spread = RATE_SPREAD.get(per_hour, 0.05)
        for kind, variance in (("Poisson", 0.0), ("Poisson", spread**2), ("NB", 0.0)):
            true_rate = np.full((args.series, 1), rate)
            if variance:
                true_rate = true_rate * rng.gamma(1 / variance, variance, size=(args.series, 1))
            if kind == "Poisson":
                counts = rng.poisson(true_rate, size=(args.series, args.minutes))
            else:
                size = rate / 2.0  # variance three times the mean
                counts = rng.negative_binomial(size, size / (size + rate), size=(args.series, args.minutes))
            buckets = counts[:, : args.minutes // 5 * 5].reshape(args.series, -1, 5).sum(axis=2).astype(float)
            dispersion = float(np.median([dispersion_of(row) for row in buckets])) if kind == "NB" else 1.0
            ratios = effective_tests(statistic(counts, np.full(args.series, rate), dispersion, variance))
            print(f"{per_hour:>9}{kind:>9}{dispersion:>6.1f}{math.sqrt(variance):>8.3f}"
                  + "".join(f"{ratio:>6.2f}" for ratio in ratios))  # fmt: skip
        sys.stdout.flush()


if __name__ == "__main__":
    main()
