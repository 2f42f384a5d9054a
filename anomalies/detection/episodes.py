"""Episode hysteresis, severity and deviation: from per-point scores to findings."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from .config import SCORE_COLD, SCORE_OPEN
from .robust import Floats, run_lengths

Severity = Literal["info", "warning", "critical"]

# Kinds in the order that names an episode holding several: the most specific explanation wins.
KIND_PRECEDENCE = ("flatline", "level_shift", "trend_change", "drop", "spike")


def severity_of(score: float) -> Severity:
    """info under 0.75, warning under 0.9, critical from 0.9 (an anomaly scores at least 0.5)."""
    if score >= 0.9:
        return "critical"
    if score >= 0.75:
        return "warning"
    return "info"


def deviation(actual: float, expected: float) -> tuple[float, float]:
    """(actual - expected, the same relative to |expected|; NaN when expected is 0 or unknown)."""
    absolute = actual - expected
    if not math.isfinite(expected) or expected == 0:
        return absolute, math.nan
    return absolute, absolute / abs(expected)


def hysteresis(score: Floats, cool_down: int, memory: int) -> NDArray[np.bool_]:
    """Open on a point scoring >= SCORE_OPEN; close once `cool_down` points in a row score < SCORE_COLD.

    Also close when no point reached SCORE_OPEN for `memory` points, so that whether a point is in an
    episode depends only on the last memory + cool_down scores (score_latest relies on that).
    """
    n = len(score)
    index = np.arange(n)
    last_open = np.maximum.accumulate(np.where(score >= SCORE_OPEN, index, -(10**12)))
    cooled = run_lengths(score < SCORE_COLD, cap=cool_down) >= cool_down
    last_cooled = np.maximum.accumulate(np.where(cooled, index, -(10**12)))
    return (last_open >= index - memory) & (last_cooled < last_open)


@dataclass(frozen=True)
class Episode:
    """One anomaly: a run of anomalous points, named by its most specific kind."""

    start: int  # index of the first anomalous point
    end: int  # index of the last anomalous point (inclusive)
    peak: int  # index of the highest score
    kind: str
    direction: str
    score: float
    severity: Severity
    ongoing: bool  # still open at the last point


def find_episodes(
    is_anomaly: NDArray[np.bool_], score: Floats, kind: NDArray[np.str_], direction: NDArray[np.str_]
) -> list[Episode]:
    """Runs of anomalous points, each with its kind, direction, peak score and severity."""
    flags = np.concatenate([[False], is_anomaly, [False]])
    edges = np.flatnonzero(flags[1:] != flags[:-1])
    found = []
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        peak = start + int(np.argmax(score[start:stop]))
        kinds = set(kind[start:stop].tolist())
        name = next((k for k in KIND_PRECEDENCE if k in kinds), str(kind[peak]))
        named = [i for i in range(start, stop) if kind[i] == name]
        turn = named[int(np.argmax(score[named]))] if named else peak
        found.append(
            Episode(
                start=int(start),
                end=int(stop - 1),
                peak=int(peak),
                kind=name,
                direction=str(direction[turn]),
                score=float(score[peak]),
                severity=severity_of(float(score[peak])),
                ongoing=bool(stop == len(is_anomaly)),
            )
        )
    return found
