"""Per-window view of NAB scoring (bench/anomalies_real.py --explain): where the points go.

For each series: every counted window, found or missed at the default sensitivity (the alert's row as
an offset into the window and a share of its width, the credit it earns), where `high` found it, the
highest score inside it and the first alert after it (a window found late, after its end); every
scored false alert with its kind, direction, score and cost. Each loss is also given in points of the
normalised score over the whole run (100 * loss / (perfect - null)), so the list of the costliest
items at the end reads directly as what the score would gain if each were fixed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from nab_score import FN, FP, TP, probation_rows, sigmoid, window_credit


@dataclass(frozen=True)
class Flagged:
    """What one sensitivity's run gave per row (only what the explanation reads)."""

    alert: np.ndarray
    kind: np.ndarray
    direction: np.ndarray
    score: np.ndarray


@dataclass(frozen=True)
class Loss:
    series: str
    what: str
    points: float  # raw NAB score lost against a perfect detector (a missed window costs TP + FN)


def _when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M")


def explain(
    name: str, times: np.ndarray, windows: list[tuple[int, int]], medium: Flagged, high: np.ndarray
) -> tuple[list[str], list[Loss]]:
    """Lines describing one series, and its losses (raw NAB points) against a perfect detector."""
    n = len(times)
    settled = probation_rows(n)
    rows = np.flatnonzero(medium.alert[settled:]) + settled
    high_rows = np.flatnonzero(high[settled:]) + settled
    inside = np.zeros(n, dtype=bool)
    lines, losses = [], []
    ends = []
    for number, (start, end) in enumerate(windows, 1):
        inside[start : end + 1] = True
        ends.append((start, end))
        if end < settled:
            lines.append(f"  window {number}: in the probation (not counted)")
            continue
        width = end - start + 1
        head = f"  window {number} {_when(times[start])} .. {_when(times[end])} ({width} rows):"
        hits = rows[(rows >= start) & (rows <= end)]
        highs = high_rows[(high_rows >= start) & (high_rows <= end)]
        peak = float(np.max(medium.score[max(start, settled) : end + 1]))
        high_text = f"high +{highs[0] - start} ({(highs[0] - start) / width:.0%})" if len(highs) else "high misses too"
        if len(hits):
            row = int(hits[0])
            credit = window_credit(row, start, end)
            kind = f"{medium.kind[row]} {medium.direction[row]}".strip()
            lines.append(
                f"{head} found +{row - start} ({(row - start) / width:.0%}), {kind}, credit {credit:.2f}; {high_text}"
            )
            if credit < TP - 1e-9:
                losses.append(Loss(name, f"window {number} late (+{(row - start) / width:.0%}, {kind})", TP - credit))
        else:
            later = rows[rows > end]
            after = f"next alert +{later[0] - end} rows after its end" if len(later) else "no alert after it"
            lines.append(f"{head} MISSED (peak score {peak:.2f}; {after}); {high_text}")
            losses.append(Loss(name, f"window {number} missed (peak {peak:.2f}; {high_text})", TP + FN))
    end_rows = np.array([end for _, end in ends], dtype=np.int64)
    for row in rows[~inside[rows]].tolist():
        k = int(np.searchsorted(end_rows, row, side="left")) - 1
        if k < 0:
            cost, where = FP, "before the first window"
        else:
            start, end = ends[k]
            cost = -FP * sigmoid(abs(row - end) / max(end - start, 1))
            where = f"{row - end} rows after window {k + 1}"
        kind = f"{medium.kind[row]} {medium.direction[row]}".strip() or "?"
        lines.append(f"  false {_when(times[row])} {kind} score {medium.score[row]:.2f}, {where}, cost {cost:.3f}")
        if cost > 0:
            losses.append(Loss(name, f"false {kind} {_when(times[row])}", cost))
    unscored = int(np.count_nonzero(medium.alert[:settled]))
    if unscored:
        lines.append(f"  ({unscored} alerts in the probation, {settled} rows: not scored)")
    return lines, losses


def costliest(losses: list[Loss], scale: float, top: int = 40) -> list[str]:
    """The largest losses, in points of the normalised score over the run (scale: perfect - null)."""
    ordered = sorted(losses, key=lambda loss: -loss.points)[:top]
    out = [f"{100 * loss.points / scale:6.2f}  {loss.series:<40} {loss.what}" for loss in ordered]
    kinds: dict[str, float] = {}
    for loss in losses:
        words = loss.what.split(" ")
        label = " ".join(words[:2]) if words[0] == "false" else words[2]
        kinds[label] = kinds.get(label, 0.0) + loss.points
    summary = ", ".join(f"{label} {100 * points / scale:.1f}" for label, points in sorted(kinds.items()))
    return [*out, f"total lost by cause (points): {summary}"]
