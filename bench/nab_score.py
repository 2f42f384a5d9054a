"""NAB-style windowed scoring (written from the benchmark's published definition) and a rolling z-score.

Standard profile: the earliest detection inside a labelled window earns up to TP (a scaled sigmoid of its
position: near TP at the window's start, 0 at its end), a window without one costs FN, and each detected
row outside every window costs up to FP (the full FP before the first window, less the nearer it follows
the end of the last window). The first PROBATION of each series is not scored. Normalised so that never
alarming scores 0 and detecting every window at its start scores 100.
"""

from __future__ import annotations

import numpy as np

TP, FP, FN = 1.0, 0.11, 1.0
PROBATION = 0.15


def sigmoid(y: np.ndarray | float) -> np.ndarray | float:
    return 2.0 / (1.0 + np.exp(5.0 * np.asarray(y))) - 1.0


def nab(detected: np.ndarray, windows: list[tuple[int, int]]) -> tuple[float, float, float, int, int]:
    """(raw score, null score, perfect score, windows found, false rows) of one series."""
    n = len(detected)
    rows = np.flatnonzero(detected[int(PROBATION * n) :]) + int(PROBATION * n)
    raw, found, inside = 0.0, 0, np.zeros(n, dtype=bool)
    for start, end in windows:
        inside[start : end + 1] = True
        hits = rows[(rows >= start) & (rows <= end)]
        length = end - start + 1
        if len(hits):
            raw += TP * float(sigmoid((hits[0] - end) / length))
            found += 1
        else:
            raw -= FN
    false_rows = rows[~inside[rows]]
    for row in false_rows:
        before = [(s, e) for s, e in windows if e < row]
        if before:
            s, e = before[-1]
            raw += FP * float(sigmoid((row - e) / (e - s + 1)))
        else:
            raw -= FP
    null = -FN * len(windows)
    perfect = TP * float(sigmoid(-1.0)) * len(windows)
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
