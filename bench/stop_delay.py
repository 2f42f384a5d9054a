"""Where a stop's minutes to alert go (issue #12): the stops of bench/alert_delay.py's minutes-to-alert run
(the same seeded series, the same first anomalous minutes), judged offline minute by minute as the minute
checks judge them (anomalies.detection.silence, with the rate, dispersion and variance the scan of the
latest complete five-minute bucket stores), one cost added at a time, from the bound (one test at the
opening p on the stop's expected course, read the moment its minute ends) to the pipeline. No database.

    python bench/stop_delay.py --alert-series 180

Each row prints p50 / p95 / mean minutes from the first silent minute to the opening, per volume band.
The pipeline's rows reproduce `bench/anomaly_scan.py --series 0 --fast-series 0 --alert-series 180 --modes
minutes` for the series the scan puts on five-minute buckets (the last day's volume at least 30 an hour).
"""

import argparse
import math
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from alert_delay import WINDOW_MINUTES, injected_anomalies
from scan_seed import ANOMALIES, FAST_DAYS, MINUTE, busy_series, minute_rates

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from anomalies.detection import DetectorConfig
from anomalies.detection.calibration import LN10
from anomalies.detection.minute_rate import SKIP_MINUTES
from anomalies.detection.silence import minute_baseline, minute_evidence, silence_cost, trailing_zeros

READ_LAG = 19 / 60  # a minute is read 19 s after it ends (anomalies.rollup_trigger: the run at 18 s, then the check)
STOP_MINUTES = ANOMALIES["stop"][1]
OPEN_NLP = DetectorConfig(300, "count").open_nlp
# (rate, dispersion, variance, minutes the estimate has not read) for a check reading up to minute `end`
Baseline = tuple[float, float, float, int]


class Stop:
    """One stopped series: its minute counts from the seeding's start, and its first silent minute."""

    def __init__(self, volume: float, counts: np.ndarray, start: datetime, first: datetime) -> None:
        self.volume, self.counts, self.start = volume, counts, start
        self.at = int((first - start) / MINUTE)
        self.true = minute_rates(volume, start, len(counts))
        self.offset = int(start.timestamp() // 60) % 5  # buckets are aligned on the clock's five minutes
        self.cache: dict[int, tuple[float, float, float]] = {}

    def estimate(self, minute: int) -> Baseline:
        """What the scan of the last bucket complete at `minute` stores (and the minutes it has not read)."""
        end = (minute + self.offset) // 5 * 5 - self.offset
        if end not in self.cache:
            buckets = self.counts[end - FAST_DAYS * 1440 : end].reshape(-1, 5).sum(axis=1).astype(float)
            rate, dispersion, variance = minute_baseline(1.0, 300, buckets)
            self.cache[end] = (float(rate or 0.0), dispersion, variance)
        return (*self.cache[end], minute - end + SKIP_MINUTES)

    def is_checked(self, t0: datetime) -> bool:
        """The scan puts it on five-minute buckets: its last day, as of t0, has 30 events an hour or more."""
        day = int((t0 - self.start) / MINUTE)
        return self.counts[day - 1440 : day].sum() / 24 >= 30

    def opens(self, judge: Callable[["Stop", int], float]) -> float:
        """Minutes from the first silent minute to the first check whose evidence reaches OPEN_NLP."""
        for minute in range(self.at + 1, self.at + STOP_MINUTES + 1):
            if judge(self, minute) >= OPEN_NLP:
                return minute - self.at + READ_LAG
        return math.inf


def bound(stop: Stop) -> float:
    """One Poisson test at the opening p on the stop's expected course (alert_delay.bound_minutes)."""
    expected = np.cumsum(stop.true[stop.at : stop.at + STOP_MINUTES])
    reached = np.flatnonzero(expected >= OPEN_NLP * LN10)
    return float(reached[0] + 1) if len(reached) else math.inf


def silence_at_true_rate(cost: Callable[[float], float]) -> Callable[[Stop, int], float]:
    """The silence so far at the true rate of its last minute, less `cost` decades."""

    def judge(stop: Stop, minute: int) -> float:
        rate = float(stop.true[minute - 1])
        quiet = int(trailing_zeros(stop.counts[None, minute - 60 : minute])[0])
        return rate * quiet / LN10 - cost(rate)

    return judge


def check(baseline: Callable[[Stop, int], Baseline], unseen: bool) -> Callable[[Stop, int], float]:
    """The minute checks' evidence (silence, drop and spike) with the baseline given."""

    def judge(stop: Stop, minute: int) -> float:
        rate, dispersion, variance, not_read = baseline(stop, minute)
        window = stop.counts[None, minute - 60 : minute]
        extra = [[not_read]] if unseen else []
        return float(minute_evidence(window, [rate], [dispersion], [variance], *extra).nlp[0])

    return judge


STEPS: list[tuple[str, Callable[[Stop], float]]] = [
    ("bound: one test at 1e-4, expected course, read at once", bound),
    ("+ read 19 s after the minute ends", lambda stop: bound(stop) + READ_LAG),
    ("silence on the counts, true rate, one test at 1e-4", lambda s: s.opens(silence_at_true_rate(lambda r: 0.0))),
    ("+ the check's share (a tenth of the p)", lambda s: s.opens(silence_at_true_rate(lambda r: 1.0))),
    ("+ a test per gap between events", lambda s: s.opens(silence_at_true_rate(lambda r: float(silence_cost(r))))),
    ("+ the rate estimated (taken as exact, dispersion 1)",
     lambda s: s.opens(check(lambda s, m: (s.estimate(m)[0], 1.0, 0.0, 0), False))),
    ("+ the dispersion measured",
     lambda s: s.opens(check(lambda s, m: (*s.estimate(m)[:2], 0.0, 0), False))),
    ("+ the estimate's variance paid: the pipeline before", lambda s: s.opens(check(Stop.estimate, False))),
    ("+ the events before the silence: the pipeline now", lambda s: s.opens(check(Stop.estimate, True))),
]  # fmt: skip


def summary(minutes: list[float]) -> str:
    values = np.array(minutes)
    finite = bool(np.isfinite(values).all())
    p50, p95 = np.percentile(np.minimum(values, 1e9), [50, 95], method="linear" if finite else "higher")
    mean = f"{values.mean():6.1f}" if finite else f"{'-':>6}"
    return "".join(f"{v:6.1f}" if v < 1e9 else f"{'-':>6}" for v in (p50, p95)) + mean


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alert-series", type=int, default=180, help="series of the minutes-to-alert run")
    parser.add_argument("--alert-hour", type=int, default=23, help="UTC hour the minutes-to-alert run starts at")
    args = parser.parse_args()
    t0 = datetime(2026, 1, 1, args.alert_hour, 2, tzinfo=UTC)  # only the time of day matters (UTC, daily swing)
    injected = injected_anomalies(args.alert_series, t0)
    start, end = t0 - timedelta(days=FAST_DAYS + 1), t0 + MINUTE * WINDOW_MINUTES
    stops = [
        Stop(volume, counts, start, injected[index][1])
        for index, (volume, counts) in enumerate(busy_series(args.alert_series, start, end, injected))
        if index in injected and injected[index][0] == "stop"
    ]
    stops = [stop for stop in stops if stop.is_checked(t0)]
    bands = (("30-60/h", 30, 60), ("60-150/h", 60, 151))
    chosen = {band: [stop for stop in stops if low <= stop.volume < high] for band, low, high in bands}
    print(f"stops of the minutes-to-alert run ({args.alert_series} series, from {args.alert_hour:02}:02 UTC) that the "
          f"minute checks judge; minutes from the first silent minute to the opening, p50 / p95 / mean")  # fmt: skip
    print(f"{'':<56}" + "".join(f"{f'{band} ({len(chosen[band])})':>18}" for band, _, _ in bands))
    for label, minutes in STEPS:
        cells = [summary([minutes(stop) for stop in chosen[band]]) for band, _, _ in bands]
        print(f"{label:<56}" + "".join(f"{cell:>18}" for cell in cells))


if __name__ == "__main__":
    main()
