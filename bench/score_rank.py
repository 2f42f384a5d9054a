"""How well a per-row score ranks, for bench/anomalies.py: a UCR-archive-style test and, on request, where
the rows a threshold on the score column costs come from.

UCR-style ranking accuracy (the UCR anomaly archive scores a detector by one location per series): per
labelled series, the row of the highest score after the first 15% (the probation) is a hit when it
falls inside the first label widened by its grace period on both sides (10% of its length, at least
3 buckets: the bench's grace), or by UCR's fixed 100 rows. Series with exactly one label are the
archive's case; the first label of every labelled series is reported too, and any label. The highest
score is the first row reaching it: where it is tied, the tie is counted.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

UCR_ROWS = 100  # the UCR archive's tolerance either side of its one label


def grace(start: int, end: int) -> int:
    return max(3, (end - start + 1) // 10)


def rank_hits(score: np.ndarray, labels: list[tuple[int, int]], settled: int) -> dict[str, int]:
    """Where the highest score after `settled` lies against the labels (as (first, last) rows)."""
    tail = np.nan_to_num(score[settled:], nan=-np.inf)
    if not labels or not len(tail):
        return {}
    top = float(tail.max())
    peak = settled + int(np.argmax(tail))
    start, end = labels[0]

    def near(a: int, b: int, reach: int) -> bool:
        return a - reach <= peak <= b + reach

    return {
        "series": 1,
        "single": int(len(labels) == 1),
        "single hit": int(len(labels) == 1 and near(start, end, grace(start, end))),
        "single hit ±100": int(len(labels) == 1 and near(start, end, UCR_ROWS)),
        "first hit": int(near(start, end, grace(start, end))),
        "first hit ±100": int(near(start, end, UCR_ROWS)),
        "any hit": int(any(near(a, b, grace(a, b)) for a, b in labels)),
        "tied": int(np.count_nonzero(tail >= top) > 1),
    }


def print_ranking(results: list[dict]) -> None:
    totals: dict[str, Counter] = {}
    for r in results:
        for name, hits in r["rank"].items():
            totals.setdefault(name, Counter()).update(hits)
    print(f"\n{'UCR-style ranking (argmax)':<26}{'single-label':>13}{'±100 rows':>10}"
          f"{'first label':>12}{'±100 rows':>10}{'any label':>10}{'max tied':>9}")  # fmt: skip
    for name, t in totals.items():
        one, every = max(t["single"], 1), max(t["series"], 1)
        print(
            f"{name:<26}{t['single hit'] / one:>8.2f} /{t['single']:>3}{t['single hit ±100'] / one:>10.2f}"
            f"{t['first hit'] / every:>8.2f} /{t['series']:>3}{t['first hit ±100'] / every:>10.2f}"
            f"{t['any hit'] / every:>10.2f}{t['tied']:>9}"
        )


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), (edges[1::2] - 1).tolist(), strict=True))


def _length_class(length: int) -> str:
    for top, name in ((1, "1"), (5, "2-5"), (20, "6-20"), (100, "21-100")):
        if length <= top:
            return name
    return ">100"


def where_rows_are(
    score: np.ndarray,
    kind: np.ndarray,
    first_data: int,
    per_day: int,
    labels: list[tuple[int, int]],
    windows: list[tuple[int, int]],
    settled: int,
    cut: float,
) -> Counter:
    """Counts of the rows at or above `cut` after `settled` that a NAB window does not cover (the rows
    a threshold pays for): where they lie, in runs of what length, of what kind, how young the series."""
    n = len(score)
    high = np.nan_to_num(score, nan=0.0) >= cut
    high[:settled] = False
    inside = np.zeros(n, dtype=bool)
    for a, b in windows:
        inside[a : b + 1] = True
    near_label, after_label = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    for a, b in labels:
        near_label[max(a - grace(a, b), 0) : b + grace(a, b) + 1] = True
        after_label[b + grace(a, b) + 1 : b + per_day + 1] = True
    out: Counter = Counter()
    for a, b in _runs(high & ~inside):
        length = b - a + 1
        out[f"run {_length_class(length)}"] += length
        out["runs"] += 1
        if near_label[a : b + 1].any():
            out["place: a label's rows outside its window"] += length
        elif after_label[a : b + 1].any():
            out["place: within a day after a label"] += length
        else:
            out["place: no label near"] += length
        for k, count in Counter(str(x) or "(none)" for x in kind[a : b + 1]).items():
            out[f"kind: {k}"] += count
        young = np.arange(a, b + 1) < first_data + 3 * per_day
        out["age: under 3 days of data"] += int(young.sum())
    out["rows"] = int((high & ~inside).sum())
    return out


def print_where(results: list[dict], cut: float) -> None:
    total: Counter = Counter()
    by_shape: dict[str, Counter] = {}
    for r in results:
        total.update(r["where"])
        by_shape.setdefault(r["shape"], Counter()).update(r["where"])
    rows = max(total["rows"], 1)
    print(f"\nscore column >= {cut:g}: {total['rows']} rows outside NAB windows, in {total['runs']} runs")
    for key in sorted(k for k in total if k not in ("rows", "runs")):
        print(f"  {key:<46}{total[key]:>8}{total[key] / rows:>8.0%}")
    print("  by shape: " + "; ".join(f"{s} {c['rows']}" for s, c in by_shape.items()))


def rank_miss(
    score: np.ndarray, kind: np.ndarray, first_data: int, per_day: int, labels: list[tuple[int, int]], settled: int
) -> Counter:
    """Where the highest score lies when it is near no label: its kind, place and the series' age there,
    and how its score compares with the best any label reached."""
    tail = np.nan_to_num(score[settled:], nan=-np.inf)
    if not labels or not len(tail):
        return Counter()
    peak = settled + int(np.argmax(tail))
    if any(a - grace(a, b) <= peak <= b + grace(a, b) for a, b in labels):
        return Counter()
    best_label = max(float(np.nanmax(score[max(a - grace(a, b), 0) : b + grace(a, b) + 1])) for a, b in labels)
    after = any(b < peak <= b + per_day for a, b in labels)
    place = "within a day after a label" if after else "no label near"
    return Counter(
        {
            "misses": 1,
            f"kind: {str(kind[peak]) or '(none)'}": 1,
            f"place: {place}": 1,
            "age: under 3 days of data": int(peak < first_data + 3 * per_day),
            "the labels' best score >= 0.5": int(best_label >= 0.5),
            "the labels' best score within 0.02 of the peak": int(best_label >= score[peak] - 0.02),
        }
    )


def print_misses(results: list[dict]) -> None:
    total: Counter = Counter()
    for r in results:
        total.update(r.get("miss", Counter()))
    print(f"\nflux score: {total['misses']} series whose highest score is near no label")
    for key in sorted(k for k in total if k != "misses"):
        print(f"  {key:<46}{total[key]:>8}")


def previous_max(values: np.ndarray, memory: int) -> np.ndarray:
    """Per row, the largest of the `memory` rows before it (-inf for the first row)."""
    padded = np.concatenate([np.full(memory, -np.inf), np.nan_to_num(values, nan=-np.inf)])
    return np.lib.stride_tricks.sliding_window_view(padded[:-1], memory).max(axis=1)


def new_highs(score: np.ndarray, memory: int) -> np.ndarray:
    """What-if signal: a row keeps its score only where it beats every row of the `memory` before it."""
    return np.where(score > previous_max(score, memory), score, 0.0)


def above_record(nlp: np.ndarray, memory: int) -> np.ndarray:
    """What-if signal: the decades (-log10 p) by which a row beats the record of the `memory` before it."""
    return np.maximum(nlp - np.maximum(previous_max(nlp, memory), 0.0), 0.0)


TAIL_NLPS = (1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0)  # -log10 p whose share of clean rows is counted


def tail_counts(score: np.ndarray, settled: int, cuts: np.ndarray) -> Counter:
    """Rows after `settled` and how many reach each cut (for the calibration in the far tail)."""
    tail = np.nan_to_num(score[settled:], nan=0.0)
    out = Counter({"rows": len(tail)})
    for nlp, cut in zip(TAIL_NLPS, cuts, strict=True):
        out[nlp] = int(np.count_nonzero(tail >= cut))
    return out


def print_tail(results: list[dict]) -> None:
    total: Counter = Counter()
    for r in results:
        if r["clean"]:
            total.update(r["tail"])
    rows = max(total["rows"], 1)
    print(f"\nclean series, {total['rows']:,} rows after probation: share of rows at or above the score of p")
    print("  " + "".join(f"{f'p=1e-{nlp:g}':>12}" for nlp in TAIL_NLPS))
    print("  " + "".join(f"{total[nlp] / rows:>12.2g}" for nlp in TAIL_NLPS) + "   (observed)")
    print("  " + "".join(f"{total[nlp]:>12}" for nlp in TAIL_NLPS) + "   (rows)")
    shapes: dict[str, Counter] = {}
    for r in results:
        if r["clean"]:
            shapes.setdefault(r["shape"], Counter()).update(r["tail"])
    print("  by shape, rows at p=1e-4 / 1e-8: " + "; ".join(f"{s} {c[4.0]} / {c[8.0]}" for s, c in shapes.items()))
