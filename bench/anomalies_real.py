"""Anomaly detection on real labelled data: series from the Numenta Anomaly Benchmark (NAB), replayed through
the path `manage.py anomalies_backtest` uses (detection.rows.score_rows: each row scored on the buckets up
to it), scored NAB-style (bench/nab_score.py) against baselines computed in the same run.

    .venv/bin/python bench/anomalies_real.py --data /work/nab

--data is a folder laid out like the NAB repository: data/<group>/<name>.csv (timestamp,value) and
labels/combined_windows.json. The data are not in this repository (licence). Series are split into a dev
set (the detector's constants may be looked at on these), a held-out set (reported; seen once when an
earlier change was judged, so no longer unseen) and fresh: any other labelled series found, never looked
at while the detector was changed.

Detectors, each with one threshold for every series:
- flux alerts: the backtest's `alert` column (a notification: an episode opens or escalates), per sensitivity.
- flux score rows: every row whose `score` is at least a cut (what a plain threshold on the column gives).
- rolling z-score: |x - mean| / sd of the last day of rows before each row, every row beyond a cut; the best
  cut is chosen in hindsight on the very data it is scored on (an upper bound for that baseline).
- never alarm: the null (0 by construction).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository, before bench/ itself

from nab_score import nab, normalised, rolling_z

from anomalies.detection.rows import score_rows

DEV = ("ec2_cpu_utilization_24ae8d", "speed_7578")
HELD_OUT = (
    "ec2_request_latency_system_failure",
    "occupancy_6005",
    "exchange-2_cpc_results",
    "exchange-3_cpc_results",
    "TravelTime_387",
)
SETS = ("dev", "held out", "fresh")
SENSITIVITIES = ("low", "medium", "high")
SCORE_CUTS = (0.5, 0.6, 0.7, 0.8, 0.9)
Z_CUTS = (2.5, 3.0, 3.5, 4.0, 5.0, 6.0)
DAY = 86400


@dataclass(frozen=True)
class Labelled:
    name: str
    times: np.ndarray
    values: np.ndarray
    windows: list[tuple[int, int]]

    @property
    def group(self) -> str:
        return "dev" if self.name in DEV else "held out" if self.name in HELD_OUT else "fresh"


def _seconds(text: str) -> float:
    return datetime.fromisoformat(text.strip()).replace(tzinfo=UTC).timestamp()


def load(folder: Path) -> list[Labelled]:
    labels = json.loads((folder / "labels" / "combined_windows.json").read_text())
    found = []
    for relative, spans in sorted(labels.items()):
        path = folder / "data" / relative
        if not path.is_file():
            continue
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
        times = np.array([_seconds(r["timestamp"]) for r in rows])
        values = np.array([float(r["value"]) for r in rows])
        windows = []
        for start, end in spans:
            first = int(np.searchsorted(times, _seconds(start), side="left"))
            last = int(np.searchsorted(times, _seconds(end), side="right")) - 1
            if first <= last:
                windows.append((first, last))
        found.append(Labelled(Path(relative).stem, times, values, windows))
    return found


def detections(series: Labelled) -> tuple[dict[tuple[str, str], np.ndarray], float]:
    """Detected rows per (detector, threshold), and Flux's cost in seconds (medium sensitivity)."""
    out: dict[tuple[str, str], np.ndarray] = {}
    cost = 0.0
    for sensitivity in SENSITIVITIES:
        started = time.perf_counter()
        scored = score_rows(series.times, series.values, "continuous", sensitivity)  # type: ignore[arg-type]
        if sensitivity == "medium":
            cost = time.perf_counter() - started
            for cut in SCORE_CUTS:
                out[("flux score rows", f"score>={cut:g}")] = scored.score >= cut
        out[("flux alerts", sensitivity)] = scored.alert
    step = float(np.median(np.diff(series.times))) if len(series.times) > 1 else 300.0
    z = rolling_z(series.values, max(30, round(DAY / step)))
    for cut in Z_CUTS:
        out[("rolling z-score", f"|z|>{cut:g}")] = z > cut
    out[("never alarm", "-")] = np.zeros(len(series.values), dtype=bool)
    return out, cost


def report(results: list[tuple[Labelled, dict, float]]) -> None:
    keys = list(results[0][1])
    parts = {key: [nab(found[key], s.windows) for s, found, _ in results] for key in keys}
    members = {name: [i for i, (s, _, _) in enumerate(results) if s.group == name] for name in SETS}
    header = f"{'detector':<18}{'threshold':>12}" + "".join(f"{name:>10}" for name in SETS) + f"{'all':>8}"
    print(f"{header}{'windows found':>15}{'false rows':>12}")
    for key in keys:
        mine = parts[key]
        found = sum(p[3] for p in mine)
        windows = sum(len(s.windows) for s, _, _ in results)
        false = sum(p[4] for p in mine)
        cells = "".join(f"{_set_score(mine, members[name]):>10}" for name in SETS)
        print(f"{key[0]:<18}{key[1]:>12}{cells}{normalised(mine):>8.1f}{f'{found}/{windows}':>15}{false:>12}")
    best_z = max((k for k in keys if k[0] == "rolling z-score"), key=lambda k: normalised(parts[k]))
    shown = [("flux alerts", "medium"), ("flux alerts", "high"), best_z]
    print(f"\nper series (normalised score; rolling z at its hindsight-best cut {best_z[1]})")
    print(f"{'series':<40}{'set':>9}{'rows':>7}" + "".join(f"{k[0][:5] + ' ' + k[1]:>16}" for k in shown))
    for i, (s, _, _) in enumerate(results):
        cells = "".join(f"{normalised([parts[k][i]]):>16.1f}" for k in shown)
        print(f"{s.name:<40}{s.group:>9}{len(s.values):>7}{cells}")
    rows = sum(len(s.values) for s, _, _ in results)
    seconds = sum(cost for _, _, cost in results)
    print(f"\nflux cost (score_rows, as the backtest): {rows:,} rows, {seconds / rows * 1e6:.1f} µs per row")


def _set_score(parts: list, members: list[int]) -> str:
    return f"{normalised([parts[i] for i in members]):.1f}" if members else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="a folder laid out like the NAB repository")
    args = parser.parse_args()
    series = load(args.data)
    if not series:
        raise SystemExit(f"no labelled series under {args.data}")
    results = []
    for s in series:
        found, cost = detections(s)
        results.append((s, found, cost))
    counts = ", ".join(f"{sum(s.group == name for s in series)} {name}" for name in SETS)
    print(f"{len(series)} series ({counts})\n")
    report(results)


if __name__ == "__main__":
    main()
