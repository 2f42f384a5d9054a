"""The backtest's cost for rows that share a bucket (issue #12): each row but a bucket's last is scored as
if the data had stopped at it (detection.rows.score_rows), so readings faster than the bucket width cost a
scoring each. Baseline in the same run: the same readings as one row a bucket (their means), scored the
usual way. No database.

    .venv/bin/python bench/backtest_shared_buckets.py [--hours 2.2] [--hz 10] [--same-time 20000]

Prints rows, seconds and microseconds a row for both, the ratio of a shared-bucket row's cost to a bucket
row's, and the cost of --same-time rows at one timestamp (all in the warm-up: nothing can be scored).
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from anomalies.detection.rows import score_rows

START = 1_700_000_000


def timed(times: np.ndarray, values: np.ndarray) -> tuple[float, int, int]:
    """Seconds to score the rows at one-second buckets, and how many rows were past the warm-up and alerted."""
    began = time.perf_counter()
    rows = score_rows(times, values, "continuous", interval=1)
    return time.perf_counter() - began, int(np.isfinite(rows.expected).sum()), int(rows.alert.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=2.2, help="hours of readings (the first two are warm-up)")
    parser.add_argument("--hz", type=int, default=10, help="readings a second (rows a one-second bucket)")
    parser.add_argument("--same-time", type=int, default=20_000, help="rows at one timestamp")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    count = int(args.hours * 3600 * args.hz)
    times = START + np.arange(count) / args.hz
    values = rng.normal(100, 5, count)
    shared, warm, alerts = timed(times, values)
    buckets = values[: count - count % args.hz].reshape(-1, args.hz).mean(axis=1)
    alone, warm_buckets, _ = timed(START + np.arange(len(buckets), dtype=np.float64), buckets)
    partial_warm = warm - warm_buckets  # rows past the warm-up that are not the last of their bucket
    print(f"{count:,} rows at {args.hz} Hz, one-second buckets: {shared:.1f} s", end=" ")
    print(f"({warm:,} past the warm-up, {alerts} alerts)")
    print(f"{len(buckets):,} rows, one a bucket (baseline): {alone:.1f} s, {alone / len(buckets) * 1e6:.0f} us a row")
    if partial_warm > 0:
        per_partial = (shared - alone) / partial_warm
        print(
            f"a shared-bucket row past the warm-up: {per_partial * 1e3:.2f} ms, "
            f"{per_partial / (alone / len(buckets)):.0f}x a bucket row"
        )
    same = np.full(args.same_time, float(START))
    seconds, _, _ = timed(same, rng.normal(100, 5, args.same_time))
    print(f"{args.same_time:,} rows at one timestamp: {seconds:.2f} s")


if __name__ == "__main__":
    main()
