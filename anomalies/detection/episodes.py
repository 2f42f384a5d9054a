"""From per-point scores to findings: episode hysteresis, the alert state machine, severity, deviation."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from .calibration import nlps_of
from .robust import Floats, gather, median_rows, run_lengths, windows_before

Severity = Literal["info", "warning", "critical"]

# Kinds in the order that names an episode holding several: the most specific explanation wins.
KIND_PRECEDENCE = ("flatline", "level_shift", "trend_change", "drop", "spike")


def severity_of(score: float) -> Severity:
    """info under 0.75 (p > 1e-8), warning under 0.9 (p > 1e-13.3), critical from 0.9."""
    if score >= SEVERITY_SCORES[1]:
        return "critical"
    if score >= SEVERITY_SCORES[0]:
        return "warning"
    return "info"


def deviation(actual: float, expected: float) -> tuple[float, float]:
    """(actual - expected, the same relative to |expected|; NaN when expected is 0 or unknown)."""
    absolute = actual - expected
    if not math.isfinite(expected) or expected == 0:
        return absolute, math.nan
    return absolute, absolute / abs(expected)


SEVERITY_SCORES = (0.75, 0.9)  # warning and critical start here (p = 1e-8 and 1e-13.3)
NEVER = -(10**12)
# The series "comes back" when it lands no further from where it stood before the last episode than
# this many times that episode's opening move; beyond, the move the other way is a new incident.
RETURN_REACH = 8.0
ESCALATION = 3.0  # an escalation needs three times the evidence that opened the episode (p cubed)


def hysteresis(score: Floats, cool_down: int, memory: int, open_at: float, cold_at: float) -> NDArray[np.bool_]:
    """Open on a point scoring >= open_at; close once `cool_down` points in a row score < cold_at.

    Also close when no point reached open_at for `memory` points, so that whether a point is in an
    episode depends only on the last memory + cool_down scores (score_latest relies on that).
    """
    n = len(score)
    index = np.arange(n)
    last_open = np.maximum.accumulate(np.where(score >= open_at, index, NEVER))
    cooled = run_lengths(score < cold_at, cap=cool_down) >= cool_down
    last_cooled = np.maximum.accumulate(np.where(cooled, index, NEVER))
    return (last_open >= index - memory) & (last_cooled < last_open)


def alert_points(
    active: NDArray[np.bool_],
    score: Floats,
    memory: int,
    direction: NDArray[np.str_] | None = None,
    sustained: int = 1,
    values: Floats | None = None,
) -> NDArray[np.bool_]:
    """Where Flux notifies: an episode's first point, and a point where the incident clearly worsened:
    its severity is higher than any the episode reached in the `memory` points before, and its
    evidence (-log10 p) at least ESCALATION times that of the episode's first point (or, in a very
    long episode, of the point `memory` before), in the direction the episode went (with
    `direction`: a swing the other way is the series coming back). An episode that opens the other
    way right after a sustained one (at least `sustained` points, opened within `memory` points)
    does not notify: it is the series coming back after the baseline had accepted the change (the
    end of the same incident), not a new one; given the points' `values`, only when it comes back
    near where the series stood before that episode (see _returning).

    A pure function of the flags, scores and values (the state machine open / escalate / resolve,
    vectorised): the alert at a point depends on the flags and scores of the last memory + 1 points
    and the values of the last memory + sustained + 1 only.
    """
    n = len(active)
    index = np.arange(n)
    previous = np.concatenate([[False], active[:-1]])
    opens = active & ~previous
    began = np.maximum.accumulate(np.where(opens, index, NEVER))
    since = np.maximum(began, index - memory)
    level = np.where(active, severity_levels(score), 0)
    if direction is not None:
        # An incident worsens the way it went: a swing the other way inside it is the series coming
        # back (a drop recovering, a surge settling), not a worse incident. (The way it went at
        # `since`, not at its opening, which may lie further back than memory + 1 points.)
        way = direction == direction[np.clip(since, 0, max(n - 1, 0))]
        level = np.where(way, level, 0)
    evidence = nlps_of(score)
    reference = evidence[np.clip(since, 0, max(n - 1, 0))]
    worse = np.zeros(n, dtype=bool)
    for rank in (2, 3):
        reached = np.maximum.accumulate(np.where(level >= rank, index, NEVER))
        before = np.concatenate([[NEVER], reached[:-1]])
        worse |= (level >= rank) & (before < since)
    escalates = active & (began < index) & worse & (evidence >= ESCALATION * reference)
    if direction is None:
        return opens | escalates
    return (opens & ~_returning(active, opens, direction, memory, sustained, values)) | escalates


def _returning(
    active: NDArray[np.bool_],
    opens: NDArray[np.bool_],
    direction: NDArray[np.str_],
    memory: int,
    sustained: int,
    values: Floats | None,
) -> NDArray[np.bool_]:
    """Per point: the episode before it opened within `memory` points, lasted `sustained` points or
    more, and went the other way; and (with `values`) the point is back near where the series stood
    in the `sustained` points before that episode: no further from it than RETURN_REACH times the move
    that opened it (a spike far beyond that, after a small drop, is a new incident, not its end)."""
    index = np.arange(len(opens))
    last = np.maximum.accumulate(np.where(opens, index, NEVER))
    before = np.concatenate([[NEVER], last[:-1]])
    last_active = np.maximum.accumulate(np.where(active, index, NEVER))
    ended = np.concatenate([[NEVER], last_active[:-1]])
    recent = (before >= index - memory) & (ended - before + 1 >= sustained)
    earlier = direction[np.clip(before, 0, max(len(opens) - 1, 0))]
    opposite = ((direction == "up") & (earlier == "down")) | ((direction == "down") & (earlier == "up"))
    returning = recent & opposite
    if values is None:
        return returning
    candidates = np.flatnonzero(returning)
    opened = before[candidates]
    level = median_rows(gather(values, windows_before(opened, sustained)))
    now = values[candidates]
    # Unknown levels (missing data) keep the episode's end as it was: not news.
    elsewhere = np.abs(now - level) > RETURN_REACH * np.abs(values[opened] - level)
    returning[candidates[elsewhere]] = False
    return returning


def severity_levels(score: Floats) -> NDArray[np.int64]:
    """1 info, 2 warning, 3 critical (for a point that is anomalous)."""
    return 1 + np.searchsorted(np.array(SEVERITY_SCORES), score, side="right")


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
