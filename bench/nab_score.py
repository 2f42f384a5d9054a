"""NAB scoring (the Numenta Anomaly Benchmark's standard profile, v1.0 onwards), written from its published
definition and checked against its scorer, and a rolling z-score baseline.

Per series, with detections as a boolean row mask and labelled windows as (first row, last row):
- The probation is the first min(floor(0.15 n), 750) rows: nothing in it is scored, neither detections
  nor the parts of windows that lie there.
- A window earns the best of its detections: a row i of a window [a, b] is worth
  sigmoid(-(b - i + 1) / (b - a + 1)) / sigmoid(-1) (so 1 at its first row, about 0.17 / 0.99 at its
  last), times A_TP. A window with no detection costs A_FN. Only windows reaching past the probation
  count.
- A detection outside every window costs A_FP, scaled by sigmoid((i - b') / (b' - a')) for the
  last window [a', b'] that ended before it (a detection right after a window costs almost nothing),
  or the full A_FP before the first window.
Here sigmoid(y) = 2 / (1 + exp(5 y)) - 1, and -1 from y >= 3.

Over a corpus the raw scores add up, and the normalised score is 100 (raw - null) / (perfect - null):
null is what never alarming scores (-A_FN per counted window), perfect is A_TP per window. NAB also
picks each detector's one threshold for the whole corpus in hindsight; the benches here print every
threshold they try.
"""

from __future__ import annotations

import math

import numpy as np

TP, FP, FN = 1.0, 0.11, 1.0  # the standard profile's A_TP, A_FP, A_FN
PROBATION = 0.15
PROBATION_ROWS = 750  # the probation never exceeds 15% of 5,000 rows


def sigmoid(y: float) -> float:
    """NAB's scaled sigmoid of a relative position: ~0.987 at -1, 0 at 0, ~-0.987 at 1, -1 from 3 on."""
    return -1.0 if y >= 3.0 else 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0


def window_credit(row: int, start: int, end: int) -> float:
    """What the earliest detection at `row` inside the window [start, end] earns (1 at its first row)."""
    return TP * sigmoid(-(end - row + 1) / (end - start + 1)) / MAX_TP


MAX_TP = sigmoid(-1.0)


def probation_rows(n: int) -> int:
    return int(min(math.floor(PROBATION * n), PROBATION * 5000))


def nab(
    detected: np.ndarray, windows: list[tuple[int, int]], probation: int | None = None
) -> tuple[float, float, float, int, int]:
    """(raw score, null score, perfect score, windows found, false rows) of one series.

    `probation` overrides NAB's (rows not scored at the start), for series generated with another.
    """
    n = len(detected)
    settled = probation_rows(n) if probation is None else probation
    rows = np.flatnonzero(detected[settled:]) + settled
    raw, null, found = 0.0, 0.0, 0
    inside = np.zeros(n, dtype=bool)
    for start, end in windows:
        inside[start : end + 1] = True
        if end < settled:
            continue  # NAB does not count a window that lies wholly in the probation
        null -= FN
        hits = rows[(rows >= start) & (rows <= end)]
        if len(hits):
            raw += window_credit(int(hits[0]), start, end)
            found += 1
        else:
            raw -= FN
    false_rows = rows[~inside[rows]]
    ends = np.array([end for _, end in windows], dtype=np.int64)
    widths = np.array([end - start + 1 for start, end in windows], dtype=np.int64)
    previous = np.searchsorted(ends, false_rows, side="left") - 1  # the last window ending before the row
    for row, k in zip(false_rows.tolist(), previous.tolist(), strict=True):
        if k < 0:
            raw -= FP
        else:
            raw += FP * sigmoid(abs(row - int(ends[k])) / max(int(widths[k]) - 1, 1))
    perfect = TP * len(windows)
    return raw, null, perfect, found, len(false_rows)


def normalised(parts: list[tuple[float, float, float, int, int]]) -> float:
    """100 * (raw - null) / (perfect - null) over several series' nab() results."""
    raw, null, perfect = (sum(p[i] for p in parts) for i in range(3))
    return 100 * (raw - null) / (perfect - null) if perfect != null else 0.0


def rolling_z(values: np.ndarray, window: int, least: int = 30) -> np.ndarray:
    """|x - mean| / sd over the `window` rows before each row (NaN rows ignored); a plain baseline."""
    present = ~np.isnan(values)
    x = np.where(present, values, 0.0)
    s1, s2, c = (np.concatenate([[0.0], np.cumsum(a)]) for a in (x, x * x, present.astype(float)))
    idx = np.arange(len(values))
    low = np.maximum(idx - window, 0)
    count = c[idx] - c[low]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (s1[idx] - s1[low]) / count
        sd = np.sqrt(np.maximum((s2[idx] - s2[low]) / count - mean**2, 0.0))
        z = np.abs(values - mean) / sd
    return np.where(present & (count >= least), np.nan_to_num(z, posinf=1e9), 0.0)
