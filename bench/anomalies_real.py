"""Anomaly detection on real labelled data: series from the Numenta Anomaly Benchmark (NAB), replayed through
the path `manage.py anomalies_backtest` uses (detection.rows.score_rows: each row scored on the buckets up
to it), scored as NAB scores (bench/nab_score.py, the standard profile) against baselines in the same run.

    .venv/bin/python bench/anomalies_real.py --data /work/nab                  # the dev set only
    .venv/bin/python bench/anomalies_real.py --data /work/nab --set held-out   # to judge a decided change

--data is a folder laid out like the NAB repository: data/<group>/<name>.csv (timestamp,value) and
labels/combined_windows.json. The data are not in this repository (licence; bench/nab_transcribe.py rebuilds
and checks them from copies made through a search tool). Any subset of the labelled files may be present:
the others are skipped (and counted).

Protocol against overfitting (fixed before the larger set was looked at, issue #12):
- The split is by name, deterministic: the first 8 hex digits of sha256(<file name without .csv>), read
  as a fraction of 2^32, put a series in dev below 0.4, else in held-out (about 40% / 60%). The two
  series tuned on before (DEV_BEFORE) stay in dev whatever their hash.
- The detector's constants may be chosen by looking at dev only. Held-out is run only to judge a change
  already decided on dev, and every held-out run is listed in docs/anomaly-detection.md with its result
  (whether the change was kept or not). `--set all` counts as a held-out run.
- Figures per NAB category (realAWSCloudwatch, realTraffic, ...) are printed for the sets run.

Detectors, each with one threshold for every series:
- flux alerts: the backtest's `alert` column (a notification: an episode opens or escalates), per sensitivity.
- flux score rows: every row whose `score` is at least a cut (what a plain threshold on the column gives).
- rolling z-score: |x - mean| / sd of the last day of rows before each row, every row beyond a cut; the best
  cut is chosen in hindsight on the very data it is scored on (an upper bound for that baseline).
- never alarm: the null (0 by construction).
--peers DIR ranks NAB's published detectors and Flux on the same files, from each detector's per-file scores
in NAB's repository (bench/nab_peers.py says how to lay them out).
NAB's published scoreboard (v1.0, standard profile, the whole corpus of 58 files, each detector's threshold
chosen in hindsight) is printed beside: a subset of the corpus scores differently, so read it as context.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import multiprocessing
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository, before bench/ itself

from nab_explain import Flagged, Loss, costliest, explain
from nab_peers import load_peers, ranking
from nab_score import nab, normalised, rolling_z

from anomalies.detection.rows import score_rows

DEV_BEFORE = ("ec2_cpu_utilization_24ae8d", "speed_7578")
DEV_SHARE = 0.4
SETS = ("dev", "held-out")
SENSITIVITIES = ("low", "medium", "high")
SCORE_CUTS = (0.5, 0.6, 0.7, 0.8, 0.9)
Z_CUTS = (2.5, 3.0, 3.5, 4.0, 5.0, 6.0)
DAY = 86400
SHOWN = (("flux alerts", "medium"), ("flux alerts", "high"))
# NAB v1.0 scoreboard, standard profile (github.com/numenta/NAB README): the whole corpus.
SCOREBOARD = (
    ("Numenta HTM", "70.5-69.7"),
    ("CAD OSE", "69.9"),
    ("KNN CAD", "58.0"),
    ("Relative Entropy", "54.6"),
    ("Random Cut Forest", "51.7"),
    ("Twitter ADVec", "47.1"),
    ("Windowed Gaussian", "39.6"),
    ("Etsy Skyline", "35.7"),
    ("Random", "11.0"),
)


def split_of(name: str) -> str:
    """dev or held-out, from the series' name alone (see the protocol above)."""
    fraction = int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) / 2**32
    return "dev" if name in DEV_BEFORE or fraction < DEV_SHARE else "held-out"


@dataclass(frozen=True)
class Labelled:
    name: str
    category: str
    times: np.ndarray
    values: np.ndarray
    windows: list[tuple[int, int]]

    @property
    def split(self) -> str:
        return split_of(self.name)


def _seconds(text: str) -> float:
    return datetime.fromisoformat(text.strip()).replace(tzinfo=UTC).timestamp()


def load(folder: Path, sets: tuple[str, ...]) -> tuple[list[Labelled], int]:
    """The labelled series present in `folder` and in `sets`, and how many labelled files were absent."""
    labels = json.loads((folder / "labels" / "combined_windows.json").read_text())
    found, missing = [], 0
    for relative, spans in sorted(labels.items()):
        path = folder / "data" / relative
        if split_of(Path(relative).stem) not in sets:
            continue
        if not path.is_file():
            missing += 1
            continue
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
        times = np.array([_seconds(r["timestamp"]) for r in rows])
        values = np.array([float(r["value"]) for r in rows])
        windows = []
        for start, end in sorted(spans):
            first = int(np.searchsorted(times, _seconds(start), side="left"))
            last = int(np.searchsorted(times, _seconds(end), side="right")) - 1
            if first <= last:
                windows.append((first, last))
        found.append(Labelled(Path(relative).stem, Path(relative).parent.name, times, values, windows))
    return found, missing


def detections(series: Labelled) -> tuple[dict[tuple[str, str], tuple], float, tuple[list[str], list[Loss]]]:
    """NAB parts per (detector, threshold), Flux's cost in seconds (medium sensitivity), and the
    per-window explanation of its medium alerts (nab_explain)."""
    out: dict[tuple[str, str], tuple] = {}
    rows: dict[tuple[str, str], tuple] = {}
    cost = 0.0
    flagged: dict[str, Flagged] = {}
    for sensitivity in SENSITIVITIES:
        started = time.perf_counter()
        scored = score_rows(series.times, series.values, "continuous", sensitivity)  # type: ignore[arg-type]
        if sensitivity == "medium":
            cost = time.perf_counter() - started
            for cut in SCORE_CUTS:
                rows[("flux score rows", f"score>={cut:g}")] = nab(scored.score >= cut, series.windows)
        out[("flux alerts", sensitivity)] = nab(scored.alert, series.windows)
        flagged[sensitivity] = Flagged(scored.alert, scored.kind, scored.direction, scored.score)
    out.update(rows)
    step = float(np.median(np.diff(series.times))) if len(series.times) > 1 else 300.0
    z = rolling_z(series.values, max(30, round(DAY / step)))
    for cut in Z_CUTS:
        out[("rolling z-score", f"|z|>{cut:g}")] = nab(z > cut, series.windows)
    out[("never alarm", "-")] = nab(np.zeros(len(series.values), dtype=bool), series.windows)
    why = explain(series.name, series.times, series.windows, flagged["medium"], flagged["high"].alert)
    return out, cost, why


def _cell(parts: list, members: list[int]) -> str:
    return f"{normalised([parts[i] for i in members]):.1f}" if members else "-"


def report(series: list[Labelled], results: list[tuple[dict, float, tuple]], sets: tuple[str, ...]) -> None:
    keys = list(results[0][0])
    parts = {key: [found[key] for found, _, _ in results] for key in keys}
    members = {name: [i for i, s in enumerate(series) if s.split == name] for name in sets}
    everyone = list(range(len(series)))
    header = f"{'detector':<18}{'threshold':>12}" + "".join(f"{name:>10}" for name in sets) + f"{'all':>8}"
    print(f"{header}{'windows found':>15}{'false rows':>12}")
    windows = sum(len(s.windows) for s in series)
    for key in keys:
        mine = parts[key]
        found, false = sum(p[3] for p in mine), sum(p[4] for p in mine)
        cells = "".join(f"{_cell(mine, members[name]):>10}" for name in sets)
        print(f"{key[0]:<18}{key[1]:>12}{cells}{_cell(mine, everyone):>8}{f'{found}/{windows}':>15}{false:>12}")
    best_z = max((k for k in keys if k[0] == "rolling z-score"), key=lambda k: normalised(parts[k]))
    shown = (*SHOWN, best_z)
    labels = "".join(f"{k[0][:5] + ' ' + k[1]:>16}" for k in shown)
    categories = defaultdict(list)
    for i, s in enumerate(series):
        categories[s.category].append(i)
    print(f"\nper NAB category (rolling z at its hindsight-best cut over all, {best_z[1]})")
    print(f"{'category':<24}{'series':>7}{'windows':>8}{labels}")
    for category, rows in sorted(categories.items()):
        cells = "".join(f"{_cell(parts[k], rows):>16}" for k in shown)
        print(f"{category:<24}{len(rows):>7}{sum(len(series[i].windows) for i in rows):>8}{cells}")
    print(f"\nper series\n{'series':<40}{'set':>9}{'rows':>7}{labels}")
    for i, s in enumerate(series):
        cells = "".join(f"{normalised([parts[k][i]]):>16.1f}" for k in shown)
        print(f"{s.name:<40}{s.split:>9}{len(s.values):>7}{cells}")
    rows = sum(len(s.values) for s in series)
    seconds = sum(cost for _, cost, _ in results)
    print(f"\nflux cost (score_rows, as the backtest): {rows:,} rows, {seconds / rows * 1e6:.1f} µs per row")
    print("\nNAB v1.0 scoreboard, standard profile, whole corpus (context only: a subset scores differently)")
    print("; ".join(f"{name} {score}" for name, score in SCOREBOARD))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="a folder laid out like the NAB repository")
    parser.add_argument("--set", default="dev", choices=["dev", "held-out", "all"], help="held-out: see protocol")
    parser.add_argument("--processes", type=int, default=multiprocessing.cpu_count())
    parser.add_argument("--explain", action="store_true", help="per window and false alert, at medium")
    parser.add_argument("--groups", default="", help="only NAB groups starting with this (e.g. real)")
    parser.add_argument("--peers", type=Path, help="NAB's per-file scores of published detectors (nab_peers.py)")
    args = parser.parse_args()
    sets = SETS if args.set == "all" else (args.set,)
    series, missing = load(args.data, sets)
    series = [s for s in series if s.category.startswith(args.groups)]
    if not series:
        raise SystemExit(f"no labelled series of {', '.join(sets)} under {args.data}")
    with multiprocessing.Pool(args.processes) as pool:
        results = pool.map(detections, series, chunksize=1)
    counts = ", ".join(f"{sum(s.split == name for s in series)} {name}" for name in sets)
    rows, windows = sum(len(s.values) for s in series), sum(len(s.windows) for s in series)
    print(f"{len(series)} series ({counts}; {missing} labelled files of these sets absent)", end="")
    print(f", {rows:,} rows, {windows} windows\n")
    report(series, results, sets)
    if args.peers:
        print_peers(series, results, load_peers(args.peers))
    if args.explain:
        print_explanations(series, results)


def print_peers(series: list[Labelled], results: list[tuple[dict, float, tuple]], peers: dict) -> None:
    """Published detectors (NAB's per-file raw scores, each at its hindsight threshold over the corpus)
    and Flux's alerts at each sensitivity, ranked over the same files."""
    files = [f"{s.category}/{s.name}.csv" for s in series]
    flux = {f"flux alerts, {level}": [r[0][("flux alerts", level)] for r in results] for level in SENSITIVITIES}
    count, rows = ranking(peers, files, flux)
    print(f"\non the {count} of these files that every published detector here scored (NAB's per-file scores,")
    print("each detector at its own threshold chosen in hindsight over NAB's corpus; Flux at its sensitivities)")
    for name, score in rows:
        print(f"{name:<28}{score:>8.1f}")


def print_explanations(series: list[Labelled], results: list[tuple[dict, float, tuple]]) -> None:
    """Per series, every window and false alert of Flux at medium; then the costliest of them."""
    print("\nper window, Flux alerts at medium (offsets in rows from the window's first row)")
    losses: list[Loss] = []
    for s, (found, _, (lines, lost)) in zip(series, results, strict=True):
        print(f"\n{s.name} ({s.category}, {s.split}): medium {normalised([found[('flux alerts', 'medium')]]):.1f}")
        print("\n".join(lines))
        losses.extend(lost)
    parts = [found[("flux alerts", "medium")] for found, _, _ in results]
    scale = sum(p[2] for p in parts) - sum(p[1] for p in parts)
    print("\ncostliest, in points of the medium score over these series")
    print("\n".join(costliest(losses, scale)))


if __name__ == "__main__":
    main()
