"""The detectors: each turns robust deviations into evidence per point (a normal z of equal rarity,
or nats = -ln p), which calibration.py turns into p-values and one calibrated score.

All work in the series' transformed space (counts: Anscombe square root, where Poisson noise has a
standard deviation of about 0.5 whatever the volume).
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numpy.typing import NDArray

from .calibration import normal_nlp
from .robust import Floats, Ints, gather, row_scales, sorted_rows, windows_before

MAX_SHIFT_GAIN = 2.0  # however many points a level shift holds, it needs half the z of a spike
TREND_GRADUAL = 0.5  # no quarter of a trend segment may carry more than half of the change
TREND_OVER_STEP = 0.5  # a bent line must leave at most half what the best single step leaves
POISSON_SD = 0.5  # standard deviation of Poisson counts after the Anscombe transform
CONTINUATION_PRIOR = 2.0  # pseudo-points of independence behind a run's estimated chance to go on


def anscombe(counts: Floats) -> Floats:
    """Variance-stabilising transform of counts (missing buckets are zero events)."""
    return np.sqrt(np.maximum(np.nan_to_num(counts, nan=0.0), 0.0) + 0.375)


def counts_of(values: Floats) -> Floats:
    """Back from the Anscombe scale to counts (the exact inverse: a median stays a median)."""
    return np.maximum(np.maximum(values, 0.0) ** 2 - 0.375, 0.0)


def shift_scores(z_full: Floats, idx: Ints, window: int, correlation: Floats) -> tuple[Floats, Floats]:
    """Level shift: the median deviation of the last `window` points (returns its evidence as a z, and
    the median z itself).

    The median of n independent points is sqrt(n) / 1.25 times steadier than one point; correlated
    residuals (a slow wander) hold fewer independent points, (1 - r) / (1 + r) of them for AR(1).
    """
    ordered, counts = sorted_rows(gather(z_full, windows_before(idx + 1, window)))
    rows = np.arange(len(idx))
    # More than half the points must be beyond it: the lower median for a shift up, the upper for down.
    lower = ordered[rows, np.maximum(counts - 1, 0) // 2]
    upper = ordered[rows, np.minimum(counts // 2, np.maximum(counts - 1, 0))]
    held = np.where(counts > window // 2, np.where(lower > 0, lower, np.where(upper < 0, upper, 0.0)), np.nan)
    r = np.clip(np.nan_to_num(correlation), 0.0, 0.95)
    gain = np.clip(np.sqrt(window * (1 - r) / (1 + r)) / 1.25, 1.0, MAX_SHIFT_GAIN)
    # The shift must still hold at this point: once the series is back, the median of the last few
    # points lags behind for half a window, and should not keep the episode open.
    now = z_full[idx]
    holding = (np.sign(now) == np.sign(held)) & (np.abs(now) >= 0.5 * np.abs(held))
    return np.where(holding, np.nan_to_num(held * gain), 0.0), held


def run_nats(lengths: Ints, start_rate: Floats, continue_rate: Floats, idx: Ints) -> tuple[Floats, Ints]:
    """-log P(a run this long) when the flags follow a two-state Markov chain: a run starts with
    `start_rate` and goes on from one point to the next with `continue_rate` (for independent flags
    the two are the same; a series whose gaps or repeats come in long runs goes on far more often).
    `lengths`: the flags' run lengths (robust.run_lengths)."""
    run = lengths[idx]
    nats = -np.log(start_rate) - np.maximum(run - 1, 0) * np.log(continue_rate)
    return np.where(run > 0, nats, 0.0), run


def precedent_nats(lengths: Ints, run: Ints, ends: Ints, width: int, shortest: int) -> Floats:
    """-ln of the share of the `width` points before each `end` at which a run reached the length `run`
    (`lengths`: the run lengths of the whole array; a run at least that long counts once): where the
    week before holds runs as long, a run is the series' habit however far the Markov chain would put it
    (a chain's tail is geometric, idling's often is not). +inf where none was as long, or the run is
    shorter than `shortest`: the chain then judges alone."""
    high = np.clip(ends, 0, len(lengths))
    low = np.clip(ends - width, 0, len(lengths))
    out = np.full(len(run), np.inf)
    for length in np.unique(run[run >= max(shortest, 1)]):
        reached = np.flatnonzero(lengths == length)
        mine = run == length
        count = np.searchsorted(reached, high[mine]) - np.searchsorted(reached, low[mine])
        share = count / np.maximum(high[mine] - low[mine], 1)
        with np.errstate(divide="ignore"):
            out[mine] = np.where(count > 0, -np.log(share), np.inf)
    return out


def window_continuation(
    flags: NDArray[np.bool_], valid: NDArray[np.bool_], starts: Ints, width: int, start_rate: Floats
) -> Floats:
    """Per start: the share of flagged points followed by a flagged one over the `width` points before
    it, shrunk towards `start_rate` (independence) by CONTINUATION_PRIOR pseudo-points: a week with
    few flags says little about how runs go on."""
    follows = np.zeros(len(flags), dtype=bool)
    follows[1:] = flags[:-1] & valid[1:]
    goes_on = follows & flags
    followed = np.concatenate([[0], np.cumsum(follows)])
    continued = np.concatenate([[0], np.cumsum(goes_on)])
    high = np.clip(starts, 0, len(flags))
    low = np.clip(starts - width, 0, len(flags))
    return (continued[high] - continued[low] + CONTINUATION_PRIOR * start_rate) / (
        followed[high] - followed[low] + CONTINUATION_PRIOR
    )


def window_rate(flags: NDArray[np.bool_], valid: NDArray[np.bool_], starts: Ints, width: int) -> Floats:
    """Smoothed share of flagged among valid points in the `width` points before each start."""
    flagged = np.concatenate([[0], np.cumsum(flags)])
    counted = np.concatenate([[0], np.cumsum(valid)])
    high = np.clip(starts, 0, len(flags))
    low = np.clip(starts - width, 0, len(flags))
    return (flagged[high] - flagged[low] + 1.0) / (counted[high] - counted[low] + 2.0)


def trend_scores(levels: Floats, segment: int, scale_blocks: int, floor: Floats) -> tuple[Floats, Floats]:
    """Trend change per block from block levels (the first 4*segment + scale_blocks are history).

    The change of slope is the second difference of the level a segment apart; it counts only when
    the recent change was gradual (a step is a level shift, not a trend change), and is measured
    against how much that second difference usually moves. Returns (z, signed change).
    """
    count = len(levels)
    k = np.arange(2 * segment, count)
    recent = levels[k] - levels[k - segment]
    change = recent - (levels[k - segment] - levels[k - 2 * segment])
    # Gradual: no quarter of the segment carries more than half of the change (a step does).
    quarter = max(segment // 4, 1)
    moves = np.abs(levels - np.concatenate([np.full(quarter, np.nan), levels[:-quarter]]))
    largest_step = np.max(gather(moves, windows_before(k + 1, segment - quarter + 1)), axis=1)
    # And over the two segments (and a quarter before them, where a step still moves the first level)
    # a bent line beats a step clearly: days after a step, the levels move gradually again.
    bent = ramp_beats_step(levels, k, 2 * segment + 1 + quarter, quarter)
    gradual = (largest_step <= TREND_GRADUAL * np.abs(recent)) & bent
    change_full = np.full(count, np.nan)
    change_full[k] = change
    out = np.arange(4 * segment + scale_blocks, count)
    # The usual spread is read from changes at least two segments old: the change being judged must
    # not widen its own yardstick as it grows.
    _, iqr, tail, valid = row_scales(gather(change_full, windows_before(out - 2 * segment, scale_blocks)))
    spread = np.fmax(np.fmax(iqr, tail), floor[out])
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(valid >= scale_blocks // 2, np.nan_to_num(change_full[out] / spread), 0.0)
    return np.where(gradual[out - 2 * segment], z, 0.0), change_full[out]


@cache
def _bent_lines(width: int, margin: int) -> Floats:
    """Orthonormal bases (width x 3 each, side by side) of the lines bent once, `margin` or more points
    from either end."""
    t = np.arange(width, dtype=np.float64)
    bends = t[margin : width - margin]
    bases = [np.linalg.qr(np.stack([np.ones(width), t, np.fmax(t - bend, 0.0)], axis=1))[0] for bend in bends]
    return np.concatenate(bases, axis=1)


def ramp_beats_step(levels: Floats, k: Ints, width: int, margin: int) -> NDArray[np.bool_]:
    """Per k: the `width` levels up to k are clearly better told by a line bent once than by one step.

    Day-long medians turn a step into a short slope, which can pass for gradual; after it the levels
    stand still, which reads as a change of slope. Either way a single step (two flat stretches) leaves
    less unexplained than the best bent line; a trend change does the opposite. Both have three
    parameters and one breakpoint, chosen `margin` or more points from either end (a line bent next to
    an end fits a step there). A window with a missing level is not judged here.
    """
    window = gather(levels, windows_before(k + 1, width))
    centred = window - np.mean(window, axis=1, keepdims=True)
    total = np.sum(centred**2, axis=1)
    # Best step: the split whose two means are furthest apart, weighted by their sizes.
    first = np.arange(margin, width - margin + 1)
    sums = np.cumsum(centred, axis=1)[:, first - 1]
    between = sums**2 * width / (first * (width - first))
    step_left = total - np.max(between, axis=1)
    explained = (centred @ _bent_lines(width, margin)) ** 2
    bent_left = total - np.max(explained.reshape(len(k), -1, 3).sum(axis=2), axis=1)
    return np.isnan(total) | (bent_left < TREND_OVER_STEP * step_left)


def burst_nlp(z_full: Floats, y: Floats, idx: Ints, window: int) -> tuple[Floats, Floats]:
    """A burst: this point and one of the `window` - 1 before it both unusual the same way.

    One point at p = 1e-3 is ordinary somewhere in a day; two of them within an hour are not: with
    independent points, P(this one and one of the w - 1 before it both below p) is about (w - 1) p^2.
    Returns -log10 of that for the less unusual of the pair, and its side (+1 or -1). Only a point that
    is itself unusual carries the evidence, so a burst does not hold an episode open after it ends; and
    a point repeating this one's value exactly is the same reading again (a stuck sensor), not a second.
    """
    partners = windows_before(idx, max(window - 1, 1))
    before = np.where(gather(y, partners) == y[idx, None], np.nan, gather(z_full, partners))
    now = z_full[idx]
    others = np.log10(max(window - 1, 1))
    best, side = np.zeros(len(idx)), np.zeros(len(idx))
    for sign in (1.0, -1.0):
        partner = np.max(np.nan_to_num(sign * before, nan=0.0), axis=1, initial=0.0)
        second = np.fmin(np.nan_to_num(sign * now, nan=0.0), partner)
        nlp = np.where(second > 0.0, np.maximum(2.0 * normal_nlp(second) - others, 0.0), 0.0)
        side = np.where(nlp > best, sign, side)
        best = np.fmax(best, nlp)
    return best, side
