"""The chosen model at each point: its expectation and residual profile, with spread floors that respect
the data's resolution (a series that moves in steps is never judged finer than its step)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .config import Windows
from .detectors import POISSON_SD
from .fitting import Fit, FitCache, Span
from .robust import Floats, Ints, Tail, gather, quantile_sorted, sorted_rows, unresolved, windows_before


def pick(per_model: list[Floats], choice: Ints) -> Floats:
    """Per point, the value of the model chosen there."""
    return np.stack(per_model)[np.maximum(choice, 0), np.arange(len(choice))]


@dataclass(frozen=True)
class Point:
    """The chosen model's expectation and residual profile at each point (transformed space)."""

    expected: Floats
    spread: Floats  # IQR-based sd of the residuals, floored by the data's resolution
    upper: Tail
    lower: Tail
    valid: Floats  # residuals behind the profile: how much history the spread rests on
    moved: NDArray[np.bool_]  # whether the series changed at all over that window

    @classmethod
    def build(
        cls, fits: list[Fit], choice: Ints, span: Span, y: Floats, w: Windows, counts: bool, cache: FitCache | None
    ) -> Point:
        position = span.position
        expected = pick([f.expected + f.profile.centre[position] for f in fits], choice)
        spread = pick([f.profile.spread[position] for f in fits], choice)
        valid = pick([f.profile.valid[position].astype(np.float64) for f in fits], choice)
        if counts:
            floor, moved = np.full(len(expected), POISSON_SD), np.ones(len(expected), dtype=bool)
        else:
            quantum, typical_change = block_resolution(y, span, w.scale_window, cache)
            moved = np.isfinite(quantum[position])
            # A series that moves in steps (integers, a rounded gauge) or by a typical amount is never
            # judged finer than that; one that never moved gets a relative floor, and capped evidence.
            floor = np.where(
                moved,
                np.fmax(0.5 * quantum[position], 0.5 * typical_change[position]),
                0.01 * np.abs(np.nan_to_num(expected)) + 1e-9,
            )
        tails = []
        for side in ("upper", "lower"):
            per_model = [getattr(f.profile, side) for f in fits]
            tails.append(Tail(*(pick([getattr(t, name)[position] for t in per_model], choice) for name in Tail.FIELDS)))
        return cls(expected, np.fmax(spread, floor), tails[0], tails[1], valid, moved)


def block_resolution(y: Floats, span: Span, window: int, cache: FitCache | None) -> tuple[Floats, Floats]:
    """resolution() per block of the span, from the cache when it holds every block (into it otherwise)."""
    blocks = [int(block) for block in span.out_ids]
    if cache is not None and all(block in cache.resolutions for block in blocks):
        quantum, typical_change = np.array([cache.resolutions[block] for block in blocks]).T
        return quantum, typical_change
    quantum, typical_change = resolution(y, span.out_starts, window)
    if cache is not None:
        for row, block in enumerate(blocks):
            cache.resolutions[block] = (float(quantum[row]), float(typical_change[row]))
    return quantum, typical_change


def resolution(y: Floats, starts: Ints, window: int) -> tuple[Floats, Floats]:
    """Per block, over the `window` points before it: the data's quantum (smallest non-zero change
    between neighbours; NaN when nothing changed) and the median absolute change."""
    change = np.abs(unresolved(y, np.concatenate([[np.nan], y[:-1]])))
    ordered, valid = sorted_rows(gather(change, windows_before(starts, window)))
    positive = np.where(ordered > 0, ordered, np.inf).min(axis=1, initial=np.inf)
    typical = quantile_sorted(ordered, valid, 0.5)
    return np.where(np.isfinite(positive), positive, np.nan), np.nan_to_num(typical)
