"""Anomaly detection benchmark: labelled synthetic series, quality per kind, and scan throughput.

    .venv/bin/python bench/anomalies.py                      # defaults: about 2 minutes on 2 cores
    .venv/bin/python bench/anomalies.py --seed 7 --series 600 --scan 10000 --sensitivity high

Generates `--series` realistic series (5-minute, 15-minute and hourly buckets, six weeks; event
counts with Poisson or over-dispersed noise from 0.2 to 20,000 events an hour, or gauges with
Gaussian or heavy-tailed, autocorrelated noise and missing points; daily shapes, weekends, growth or
decline) of which a third are left clean and the rest get one to three labelled anomalies: spike,
drop, level_shift, flatline (a count stream going silent, a gauge that stops arriving or sticks),
trend_change. Magnitudes are in units of the series' own noise, so that every label is something
a person would call an anomaly (6-15 sd for one point, 4-8 sd held for a level shift).

Scoring rule (NAB-style windows): a label is detected when a point of its window, or of the grace
period after it (10% of the window, at least 3 buckets), is flagged; the delay is from the label's
start to the first flagged point. An episode (a run of flagged points) that touches no label window
is a false alarm, charged to the kind it was named. Precision per kind = labels' episodes /
(those + false alarms named so). False alarms per series per week are counted on the clean series.
Then a sanity table on series unlike the generator (random walk, sawtooth, heavy tails, ...), and
the scan figure: score_latest over `--scan` hourly series of history_needed() length, on all cores.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from anomalies.detection import DetectorConfig, history_needed, score_latest, score_series

KINDS = ("spike", "drop", "level_shift", "flatline", "trend_change")
MONDAY = 1_704_067_200  # 2024-01-01 00:00 UTC
DAY = 86400
SETTLED = 15  # days: from here the weekly model is in use; false alarms before are counted apart


@dataclass(frozen=True)
class Label:
    kind: str
    start: int
    end: int  # inclusive


@dataclass(frozen=True)
class Series:
    interval: int
    kind: str
    times: np.ndarray
    values: np.ndarray
    labels: tuple[Label, ...]


def _shape(rng: np.random.Generator, times: np.ndarray) -> np.ndarray:
    """Daily shape x weekend factor x growth, mean 1-ish."""
    hours = (times % DAY) / 3600
    days = (times - times[0]) / DAY
    weekday = ((times // DAY) + 3) % 7  # the epoch was a Thursday
    a1, a2 = rng.uniform(0, 0.8) * (rng.random() < 0.85), rng.uniform(0, 0.25)
    p1, p2 = rng.uniform(0, 24, 2)
    daily = np.clip(
        1 + a1 * np.cos(2 * np.pi * (hours - p1) / 24) + a2 * np.cos(4 * np.pi * (hours - p2) / 24), 0.05, None
    )
    weekend = rng.uniform(0.35, 1.0) if rng.random() < 0.6 else 1.0
    growth = rng.uniform(-0.01, 0.02) if rng.random() < 0.7 else 0.0
    return daily * np.where(weekday >= 5, weekend, 1.0) * np.exp(growth * days)


def generate(rng: np.random.Generator, clean: bool) -> Series:
    interval = int(rng.choice([300, 900, 3600, 3600]))
    kind = "count" if rng.random() < 0.5 else "continuous"
    n = 6 * 7 * DAY // interval
    times = (MONDAY + rng.integers(0, 7) * DAY + np.arange(n) * interval).astype(np.float64)
    shape = _shape(rng, times)
    if kind == "count":
        rate = np.exp(rng.uniform(np.log(0.2), np.log(20_000))) * interval / 3600 * shape
        dispersion = rng.choice([np.inf, 50.0, 8.0])
        gamma = rng.gamma(dispersion, 1 / dispersion, n) if np.isfinite(dispersion) else 1.0
        values = rng.poisson(rate * gamma).astype(np.float64)
        base, noise = np.sqrt(rate + 0.375), 0.5 * np.sqrt(1 + rate / dispersion)  # Anscombe scale
    else:
        level = np.exp(rng.uniform(0, np.log(1000)))
        phi, sd = rng.uniform(0, 0.6), level * rng.uniform(0.01, 0.08)
        shocks = rng.standard_t(4, n) / np.sqrt(2) if rng.random() < 0.25 else rng.normal(0, 1, n)
        ar = np.empty(n)
        ar[0] = shocks[0]
        for i in range(1, n):
            ar[i] = phi * ar[i - 1] + shocks[i] * np.sqrt(1 - phi**2)
        base, noise = level * shape, np.full(n, sd)
        values = base + sd * ar
        values[rng.random(n) < rng.uniform(0, 0.02)] = np.nan
    labels = () if clean else _inject(rng, kind, interval, values, base, noise)
    return Series(interval, kind, times, values, labels)


def _inject(rng: np.random.Generator, kind: str, interval: int, values: np.ndarray, base: np.ndarray, noise) -> tuple:
    per_day = DAY // interval
    n = len(values)
    labels = []
    free = np.ones(n, dtype=bool)
    free[: 22 * per_day] = False  # the weekly model needs three weeks
    if rng.random() < 0.25:  # a trend change runs to the end: the last four to six days
        start = n - int(rng.uniform(4, 6) * per_day)
        ramp = rng.choice([-1, 1]) * rng.uniform(3, 6) * np.arange(n - start) / per_day
        _apply(kind, values, base, noise, slice(start, n), ramp)
        labels.append(Label("trend_change", start, n - 1))
        free[start - 2 * per_day :] = False
    for _ in range(rng.integers(1, 4)):
        what = str(rng.choice(["spike", "drop", "level_shift", "flatline"]))
        length = {"spike": int(rng.integers(1, 4)), "drop": int(rng.integers(1, 4))}.get(what)
        if what == "level_shift":
            length = int(rng.uniform(1, 3) * per_day)
        elif what == "flatline":
            length = max(int(rng.uniform(2, 8) * 3600 / interval), 3)
        candidates = np.flatnonzero(free[: n - length - per_day])
        if kind == "count" and what in ("drop", "flatline"):  # only where silence is unusual
            candidates = candidates[base[candidates] ** 2 > 20]
        if len(candidates) == 0:
            continue
        start = int(rng.choice(candidates))
        window = slice(start, start + length)
        if not free[window].all():
            continue
        if what == "flatline":
            if kind == "count":
                values[window] = 0.0
            elif rng.random() < 0.5:
                values[window] = np.nan
            else:
                values[window] = np.nanmean(values[start - 3 : start])
        else:
            sign = -1 if what == "drop" else 1 if what == "spike" else rng.choice([-1, 1])
            size = rng.uniform(6, 15) if what in ("spike", "drop") else rng.uniform(4, 8)
            _apply(kind, values, base, noise, window, sign * size * np.ones(length))
        labels.append(Label(what, start, start + length - 1))
        free[max(0, start - 2 * per_day) : start + length + 2 * per_day] = False
    return tuple(labels)


def _apply(kind: str, values: np.ndarray, base: np.ndarray, noise, window: slice, sds: np.ndarray) -> None:
    """Move `values[window]` by `sds` noise standard deviations (counts: on the square-root scale)."""
    sd = noise[window] if np.ndim(noise) else noise
    if kind == "count":
        observed = np.sqrt(values[window] + 0.375)
        values[window] = np.round(np.maximum(observed + sds * sd, np.sqrt(0.375)) ** 2 - 0.375)
    else:
        values[window] = values[window] + sds * sd


def evaluate(job: tuple[int, bool, str]) -> dict:
    seed, clean, sensitivity = job
    series = generate(np.random.default_rng(seed), clean)
    config = DetectorConfig(series.interval, series.kind, sensitivity)  # type: ignore[arg-type]
    scores = score_series(series.times, series.values, config)
    episodes = scores.episodes()
    grace = [max(3, (label.end - label.start + 1) // 10) for label in series.labels]
    span = len(series.values) * series.interval
    result = {"clean": clean, "weeks": (span - SETTLED * DAY) / (7 * DAY), "labels": []}
    touched = set()
    for label, extra in zip(series.labels, grace, strict=True):
        flagged = np.flatnonzero(scores.is_anomaly[label.start : label.end + extra + 1])
        delay = float(flagged[0] * series.interval / 60) if len(flagged) else None
        named = [e.kind for e in episodes if e.start <= label.end + extra and e.end >= label.start]
        result["labels"].append((label.kind, delay, label.kind in named))
        touched.update(i for i, e in enumerate(episodes) if e.start <= label.end + extra and e.end >= label.start)
    settled = SETTLED * DAY // series.interval
    result["false"] = [e.kind for i, e in enumerate(episodes) if i not in touched and e.start >= settled]
    result["early"] = sum(1 for e in episodes if e.start < settled)
    return result


def quality(results: list[dict]) -> None:
    found, total, delays, named = defaultdict(int), defaultdict(int), defaultdict(list), defaultdict(int)
    false = defaultdict(int)
    for r in results:
        for kind, delay, right in r["labels"]:
            total[kind] += 1
            if delay is not None:
                found[kind] += 1
                delays[kind].append(delay)
                named[kind] += right
        if not r["clean"]:
            for kind in r["false"]:
                false[kind] += 1
    print(f"{'kind':<13}{'labels':>7}{'recall':>8}{'precision':>10}{'F1':>7}{'median delay':>14}{'named right':>12}")
    for kind in (*KINDS, "overall"):
        if kind == "overall":
            hits, labels, fp = sum(found.values()), sum(total.values()), sum(false.values())
            all_delays = [d for k in KINDS for d in delays[k]]
            right = sum(named.values())
        else:
            hits, labels, fp, all_delays, right = found[kind], total[kind], false[kind], delays[kind], named[kind]
        recall = hits / labels if labels else 0.0
        precision = hits / (hits + fp) if hits + fp else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        delay = f"{statistics.median(all_delays):.0f} min" if all_delays else "-"
        right_share = f"{right / hits:.0%}" if hits else "-"
        print(f"{kind:<13}{labels:>7}{recall:>8.2f}{precision:>10.2f}{f1:>7.2f}{delay:>14}{right_share:>12}")
    clean = [r for r in results if r["clean"]]
    alarms, weeks = sum(len(r["false"]) for r in clean), sum(r["weeks"] for r in clean)
    early, early_weeks = sum(r["early"] for r in clean), len(clean) * (SETTLED - 3) / 7
    print(
        f"clean series: {len(clean)}, {alarms} false alarms in {weeks:.0f} series-weeks from day {SETTLED} = "
        f"{alarms / weeks:.3f} per series per week ({alarms / weeks * 30.4 / 7:.2f} per month)\n"
        f"  before day {SETTLED} (weekly seasonality not learnt yet): {early} in {early_weeks:.0f} series-weeks "
        f"= {early / early_weeks:.3f} per series per week"
    )


def off_generator(seed: int) -> list[tuple[str, str, int, np.ndarray]]:
    """Anomaly-free series unlike the generator: (name, kind, interval, values), five weeks each."""
    rng = np.random.default_rng(seed)
    n = 5 * 7 * 24 * 12
    i = np.arange(n)
    return [
        ("random walk", "continuous", 300, 100 + np.cumsum(rng.normal(0, 1, n))),
        ("sawtooth 7h", "continuous", 300, 50 + 10 * ((i % 84) / 84) + rng.normal(0, 0.5, n)),
        ("student-t(2) noise", "continuous", 300, 100 + rng.standard_t(2, n)),
        ("lognormal latency", "continuous", 300, np.exp(rng.normal(4, 0.4, n))),
        ("square wave 90 min", "continuous", 300, np.where((i // 9) % 2 == 0, 10.0, 20.0) + rng.normal(0, 0.3, n)),
        ("integer gauge 0-3", "continuous", 300, rng.integers(0, 4, n).astype(float)),
        ("sparse counts 0.05/bucket", "count", 300, rng.poisson(0.05, n).astype(float)),
        ("bursty counts", "count", 300, rng.poisson(rng.gamma(0.3, 10, n)).astype(float)),
        ("hourly AR(0.95)", "continuous", 3600, 20 + _ar(rng, n // 12)),
    ]


def _ar(rng: np.random.Generator, n: int) -> np.ndarray:
    out = np.zeros(n)
    for k in range(1, n):
        out[k] = 0.95 * out[k - 1] + rng.normal()
    return out


def sanity(seed: int, sensitivity: str) -> None:
    print(f"\n{'series unlike the generator (no anomalies)':<44}{'alarms/week':>12}{'flagged points':>16}")
    for name, kind, interval, values in off_generator(seed):
        times = MONDAY + np.arange(len(values), dtype=np.float64) * interval
        scores = score_series(times, values, DetectorConfig(interval, kind, sensitivity))  # type: ignore[arg-type]
        weeks = (len(values) * interval - 3 * DAY) / (7 * DAY)
        print(f"{name:<44}{len(scores.episodes()) / weeks:>12.2f}{scores.is_anomaly.mean():>16.2%}")


def _scan_chunk(job: tuple[int, int, int]) -> int:
    seed, count, interval = job
    rng = np.random.default_rng(seed)
    config = DetectorConfig(interval, "count")
    points = history_needed(config) // interval + 1
    times = MONDAY + np.arange(points, dtype=np.float64) * interval
    shape = 1 + 0.5 * np.sin(2 * np.pi * times / DAY)
    histories = [rng.poisson(rng.uniform(1, 500) * shape).astype(np.float64) for _ in range(8)]
    for k in range(count):
        score_latest(times, histories[k % 8], config, points=1)
    return count


def scan(total: int, interval: int, processes: int) -> None:
    chunks = [(s, total // processes, interval) for s in range(processes)]
    points = history_needed(DetectorConfig(interval, "count")) // interval + 1
    started = time.perf_counter()
    with multiprocessing.Pool(processes) as pool:
        done = sum(pool.map(_scan_chunk, chunks))
    elapsed = time.perf_counter() - started
    print(
        f"scan: score_latest on {done:,} series of {points:,} points ({interval} s buckets) "
        f"in {elapsed:.1f} s on {processes} processes = {done / elapsed:,.0f} series/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--series", type=int, default=450, help="series generated (a third clean)")
    parser.add_argument("--sensitivity", default="medium", choices=["low", "medium", "high"])
    parser.add_argument("--scan", type=int, default=10_000, help="series in the scan throughput run (0: skip)")
    parser.add_argument("--processes", type=int, default=multiprocessing.cpu_count())
    args = parser.parse_args()
    if args.series:
        jobs = [(args.seed * 1_000_003 + k, k % 3 == 0, args.sensitivity) for k in range(args.series)]
        started = time.perf_counter()
        with multiprocessing.Pool(args.processes) as pool:
            results = pool.map(evaluate, jobs, chunksize=4)
        print(
            f"{args.series} series (seed {args.seed}, sensitivity {args.sensitivity}) scored in "
            f"{time.perf_counter() - started:.1f} s\n"
        )
        quality(results)
    sanity(args.seed, args.sensitivity)
    if args.scan:
        print()
        scan(args.scan, 3600, args.processes)
        scan(args.scan // 10, 300, args.processes)


if __name__ == "__main__":
    main()
