"""Daylight saving: false alerts around a time-zone change on clean series whose day follows local time.

    .venv/bin/python bench/dst.py                 # every zone and change, 5-minute and hourly, 8 seeds
    .venv/bin/python bench/dst.py --seeds 20 --zones Europe/Berlin

Each series is a business's day in its own zone (orders, signups, a response time): a strong daily
swing by local hour (quiet night, busy day), a quieter weekend, noise (Poisson counts, or a gauge with
normal noise), no anomaly. It spans five weeks before a clock change and two after, and is scored
with score_series and the production config for its bucket width, once as UTC (what Flux did before
project time zones reached the detector) and once in its zone. Counted: notifications (the `alert`
column) and the share of anomalous rows, in the week after the change and, as the control, in the week
before it.

--cost times the detector in the zone against UTC on the same series (alternating, median of
--repeats): score_series per row over the seven weeks (and the part of it spent finding the lags), and
score_incremental per call as the scan uses it (one new bucket, the carry and the block's fits reused)
on the days after the change.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from anomalies.detection import DetectorConfig, FitCache, score_incremental, score_series
from anomalies.detection.localtime import Clock

DAY, WEEK = 86400, 7 * 86400
# (zone, a local date just after a change): spring and autumn in both hemispheres, and a half-hour change.
CHANGES = (
    ("Europe/Berlin", "2026-03-29"),
    ("Europe/Berlin", "2026-10-25"),
    ("America/New_York", "2026-03-08"),
    ("America/New_York", "2026-11-01"),
    ("Australia/Sydney", "2026-04-05"),
    ("Australia/Sydney", "2026-10-04"),
    ("Australia/Lord_Howe", "2026-04-05"),
)


def local_hours(times: np.ndarray, zone: str) -> tuple[np.ndarray, np.ndarray]:
    """Local hour of day (fractional) and day of week of each time."""
    tz = ZoneInfo(zone)
    moments = [datetime.fromtimestamp(float(t), tz) for t in times]
    hours = np.array([m.hour + m.minute / 60 for m in moments])
    return hours, np.array([m.weekday() for m in moments])


def daily_shape(hours: np.ndarray, weekday: np.ndarray) -> np.ndarray:
    """A business day: near nothing at night, a ramp from 7:00, a busy afternoon; weekends at 60%."""
    day = np.exp(-0.5 * ((hours - 14.0) / 3.5) ** 2)
    return (0.08 + day) * np.where(weekday >= 5, 0.6, 1.0)


def series(zone: str, change: str, interval: int, kind: str, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """A clean series of five weeks before the change and two after; and the change's epoch second."""
    at = datetime.fromisoformat(change).replace(tzinfo=ZoneInfo(zone)).timestamp()
    start = (at - 5 * WEEK) // interval * interval
    times = start + interval * np.arange((7 * WEEK) // interval, dtype=np.float64)
    hours, weekday = local_hours(times, zone)
    shape = daily_shape(hours, weekday)
    rng = np.random.default_rng(seed)
    if kind == "count":
        values = rng.poisson(shape * 400.0 * interval / 3600).astype(np.float64)  # ~400 an hour at the peak
    else:
        values = 100.0 + 60.0 * shape + rng.normal(0.0, 2.0, len(times))
    return times, values, at


def measure(zone: str, change: str, interval: int, kind: str, seeds: int, timezone: str) -> tuple[int, int, float]:
    """Notifications in the week after the change, in the week before, and the share of anomalous rows after."""
    after = before = 0
    anomalous = []
    for seed in range(seeds):
        times, values, at = series(zone, change, interval, kind, seed)
        zoned = {"timezone": timezone} if timezone != "UTC" else {}  # (UTC also runs on the code before zones)
        scores = score_series(times, values, DetectorConfig(interval, kind, "medium", **zoned))  # type: ignore[arg-type]
        week_after = (times >= at) & (times < at + WEEK)
        week_before = (times >= at - WEEK) & (times < at)
        after += int(scores.alert[week_after].sum())
        before += int(scores.alert[week_before].sum())
        anomalous.append(float(scores.is_anomaly[week_after].mean()))
    return after, before, float(np.mean(anomalous))


def cost(repeats: int) -> None:
    """Per row (score_series) and per scan call (score_incremental): UTC against the zone, and the time
    spent finding lags (Clock.back, wrapped to be timed)."""
    print("cost: UTC against Europe/Berlin on the same series spanning a change (medians of alternating runs)")
    spent = [0.0]
    unwrapped = Clock.back

    def timed(clock: Clock, index: np.ndarray, points: int) -> np.ndarray:
        began = time.perf_counter()
        out = unwrapped(clock, index, points)
        spent[0] += time.perf_counter() - began
        return out

    Clock.back = timed  # type: ignore[method-assign]
    for interval, kind in ((300, "count"), (3600, "continuous")):
        times, values, at = series("Europe/Berlin", "2026-03-29", interval, kind, 0)
        start = int(np.searchsorted(times, at + 2 * DAY))
        runs: dict[str, list[tuple[float, float, float]]] = {"UTC": [], "Europe/Berlin": []}
        for _ in range(repeats):
            for zone, measured in runs.items():
                config = DetectorConfig(interval, kind, "medium", zone)  # type: ignore[arg-type]
                spent[0], began = 0.0, time.perf_counter()
                score_series(times, values, config)
                per_row, lags = (time.perf_counter() - began) / len(times) * 1e6, spent[0] / len(times) * 1e6
                fits = FitCache()
                _, carry = score_incremental(times[:start], values[:start], config, 1, None, fits)
                began = time.perf_counter()
                for end in range(start + 1, start + 25):
                    _, carry = score_incremental(times[:end], values[:end], config, 1, carry, fits)
                measured.append((per_row, lags, (time.perf_counter() - began) / 24 * 1e3))
        (utc_row, _, utc_call), (row, lags, call) = (np.median(np.array(m), axis=0) for m in runs.values())
        print(f"  {interval:>5} s {kind:<10} score_series {utc_row:6.1f} vs {row:6.1f} us/row, of which lags "
              f"{lags:4.1f}; scan call {utc_call:6.2f} vs {call:6.2f} ms")  # fmt: skip
    Clock.back = unwrapped  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--zones", nargs="*", help="only these zones")
    parser.add_argument("--utc-only", action="store_true", help="only as UTC (runs on the detector before zones)")
    parser.add_argument("--cost", action="store_true", help="time the zone against UTC instead")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.cost:
        cost(args.repeats)
        return
    print(f"{args.seeds} clean series per row; notifications in the week after / the week before the change")
    print(f"{'zone':<20} {'change':<11} {'bucket':>6} {'kind':<10} {'as UTC':>14} {'in its zone':>14}")
    totals = {"UTC": [0, 0], "zone": [0, 0]}
    for zone, change in CHANGES:
        if args.zones and zone not in args.zones:
            continue
        for interval in (300, 3600):
            for kind in ("count", "continuous"):
                cells = []
                for name, timezone in (("UTC", "UTC"), ("zone", zone))[: 1 if args.utc_only else 2]:
                    after, before, share = measure(zone, change, interval, kind, args.seeds, timezone)
                    totals[name][0] += after
                    totals[name][1] += before
                    cells.append(f"{after:>4} / {before:<3} {share:5.1%}")
                cells += ["-"] * (2 - len(cells))
                label = "5 min" if interval == 300 else "1 h"
                print(f"{zone:<20} {change:<11} {label:>6} {kind:<10} {cells[0]:>14} {cells[1]:>14}", flush=True)
    for name, (after, before) in totals.items():
        print(f"total {name}: {after} notifications in the weeks after a change, {before} in the weeks before")


if __name__ == "__main__":
    main()
