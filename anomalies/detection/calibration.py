"""From evidence to a calibrated score: every detector speaks in tail probabilities (p-values).

A score means the same on every series: `score = 1 - 2 ** (-nlp / NLP_HALF)` with `nlp = -log10 p`,
p the probability of seeing something at least this unusual given the series' own recent behaviour.
So 0.5 is p = 1e-4, 0.75 is p = 1e-8 and 0.9 is p = 1e-13.3; the map is smooth and never reaches 1,
so strong anomalies still rank against each other.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .robust import Floats, Ints, Profile

NLP_HALF = 4.0  # -log10 p that scores 0.5 (the default alert threshold)
EXTRAPOLATION_DECADES = 15.0  # how far beyond 1 / (n + 1) a fitted tail may carry the evidence...
UNMOVED_DECADES = 3.0  # ...and how far when the series never moved (there is no scale to extrapolate)
BROADCAST_CELLS = 1_000_000  # rank by comparing every pair up to this many (points x window) at once...
SEARCH_CELLS = 4_000  # ...and while that is cheaper than a binary search per block (about this many pairs)
FULL_REACH_POINTS = 200  # residuals a tail is fitted on before it may extrapolate that far
# tanh reaches its bound exactly in floating point from 19 caps on, so evidence far beyond the cap tied
# there (a gauge's 500-sd jump and a 50,000-sd one scored the same). A thousandth of a decade per
# natural log of the raw evidence keeps them ordered, visibly at the score's six decimals.
BEYOND_CAP_DECADES = 1e-3
LN10 = math.log(10.0)
GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0
# Numerical Recipes' Chebyshev fit of erfc: fractional error under 1.2e-7 for every z >= 0, in log form
# so that a z of 40 gives -log10 p of about 350 instead of underflowing to p = 0.
_ERFC = (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587)
_ERFC_TAIL = (-0.82215223, 0.17087277)


def _log_erfc(x: Floats) -> Floats:
    t = 1.0 / (1.0 + 0.5 * x)
    poly = np.zeros_like(x)
    for coefficient in reversed(_ERFC + _ERFC_TAIL):
        poly = coefficient + t * poly
    return np.log(t) - x * x + poly


def normal_nlp(z: Floats) -> Floats:
    """-log10 of the two-sided normal tail probability of |z| (0 for NaN)."""
    z = np.asarray(z, dtype=np.float64)
    # (Not nan_to_num: its infinities become the largest float, which the cap at 1e6 makes the same.)
    x = np.minimum(np.abs(np.where(np.isnan(z), 0.0, z)), 1e6) / math.sqrt(2.0)
    return np.maximum(-_log_erfc(x) / LN10, 0.0)


def tie_breaks(times: Floats, interval: int) -> Floats:
    """A fixed, evenly spread number in (0, 1) per bucket (a Weyl sequence on the bucket index), to
    split ties in rank p-values without randomness: the same bucket always gets the same number."""
    return 0.02 + 0.96 * ((np.floor(times / interval) * GOLDEN) % 1.0)


def z_of_nlp(nlp: Floats) -> Floats:
    """|z| whose two-sided normal tail probability is 10 ** -nlp, vectorised (Newton from the asymptote)."""
    nlp = np.maximum(np.nan_to_num(np.asarray(nlp, dtype=np.float64)), 0.0)
    z = np.sqrt(np.maximum(2.0 * nlp * LN10 - np.log(2.0 * np.pi * np.maximum(nlp, 1.0) * LN10), 0.01))
    for _ in range(6):
        # d nlp / dz = 2 phi(z) / (p ln 10), computed in logs: p can be 1e-300.
        at_z = normal_nlp(z)
        slope = 2.0 * np.exp(-z * z / 2.0 - 0.5 * math.log(2.0 * math.pi) + at_z * LN10) / LN10
        z = np.maximum(z - (at_z - nlp) / np.maximum(slope, 1e-12), 0.0)
    return np.where(nlp > 0, z, 0.0)


@functools.cache
def open_z(nlp: float) -> float:
    """z_of_nlp for one threshold, remembered (the band is drawn at the same few thresholds)."""
    return float(z_of_nlp(np.array([nlp]))[0])


def small_sample_z(z: Floats, valid: Floats) -> Floats:
    """A z read from n residuals, made as rare as a Student t with n - 1 degrees of freedom finds it.

    With few points the spread itself is uncertain: the same z is weaker evidence. -log p of a t with
    v degrees of freedom grows like (v + 1) / 2 * log(1 + t^2 / v), which tends to z^2 / 2 as v grows;
    the result is the normal z of that rarity, so that all later steps stay normal.
    """
    v = np.maximum(np.nan_to_num(valid, nan=1.0) - 1.0, 1.0)
    with np.errstate(over="ignore"):  # an infinite z stays infinite
        nats = (v + 1.0) / 2.0 * np.log1p(np.square(np.nan_to_num(z)) / v)
    return np.sign(z) * np.sqrt(2.0 * nats)


def small_sample_z_inverse(z: float, valid: Floats) -> Floats:
    """The plain z that small_sample_z turns into `z` (to draw the band)."""
    v = np.maximum(np.nan_to_num(valid, nan=1.0) - 1.0, 1.0)
    with np.errstate(over="ignore"):
        return np.sqrt(v * np.expm1(z * z / (v + 1.0)))


def cap_evidence(nlp: Floats, valid: Floats, moved: Floats) -> Floats:
    """Bound the evidence by what n past points can show, smoothly (no ties at the bound).

    n points show a value beyond all of them with probability 1 / (n + 1); a fitted tail can carry
    that further, but not without limit: the less history it was fitted on, the less far (full reach
    from FULL_REACH_POINTS), and not at all on a series that never moved (no scale).
    """
    n = np.maximum(np.nan_to_num(valid, nan=0.0), 0.0)
    grown = UNMOVED_DECADES + (EXTRAPOLATION_DECADES - UNMOVED_DECADES) * np.sqrt(
        np.minimum(n / FULL_REACH_POINTS, 1.0)
    )
    reach = np.where(moved, grown, UNMOVED_DECADES)
    cap = np.log10(n + 1.0) + reach
    raw = np.maximum(nlp, 0.0)
    return cap * np.tanh(raw / cap) + BEYOND_CAP_DECADES * np.log1p(raw)


def score_of(nlp: Floats) -> Floats:
    """The calibrated score of -log10 p: 0.5 at p = 10^-NLP_HALF, smooth, below 1."""
    return -np.expm1(-np.maximum(nlp, 0.0) * math.log(2.0) / NLP_HALF)


def nlp_of(score: float) -> float:
    """-log10 p of a score (inverse of score_of)."""
    return -NLP_HALF * math.log2(1.0 - min(max(score, 0.0), 1.0 - 1e-15))


def nlps_of(score: Floats) -> Floats:
    """nlp_of for an array of scores."""
    return -NLP_HALF * np.log2(np.maximum(1.0 - np.clip(score, 0.0, 1.0), 1e-300))


def combine(nlps: Floats, weights: Floats) -> Floats:
    """Weighted Bonferroni over the detectors (rows): p = min_i p_i / w_i with sum w_i = 1.

    The combined p is never smaller than its own meaning allows (P(p <= a) <= a), and the detector
    that fires on clean series most (the point detector) carries most of the weight, so that the
    combined score stays close to calibrated, not four times too strict.
    """
    return np.maximum(np.max(nlps + np.log10(weights)[:, None], axis=0), 0.0)


def rank_p(profile: Profile, rows: Ints, values: Floats, spread: Floats) -> tuple[Floats, Floats]:
    """Per value: its two-sided rank p-value among the sorted window of its row (past anomalies left
    out), and how many of the window lie beyond it (on its side of the centre).

    This is the conformal p-value: on a series whose recent past is like its present it is exactly
    calibrated, whatever the shape of the noise (skewed, bimodal, integer-valued). Ties (integer data)
    are split by `spread`, a fixed number in [0, 1) per point: a randomised p-value, deterministic here.
    """
    counts = profile.kept[rows]
    cells = len(values) * profile.ordered.shape[1]
    # (the blocks are counted only where comparing every pair is possible at all: a long stretch skips it)
    if cells <= BROADCAST_CELLS and cells <= SEARCH_CELLS * len(np.unique(rows)):
        below, above = _ranks_at_once(profile, rows, values)
    else:
        below, above = _ranks_by_block(profile, rows, values)
    centre = profile.centre[rows]
    ties = counts - below - above
    beyond = np.where(values >= centre, above, below)
    split = np.where(values == centre, 1.0, spread)  # the usual value itself is no news
    p = np.minimum(2.0 * (beyond + split * (ties + 1)) / (counts + 1), 1.0)
    return p, beyond.astype(np.float64)


def _ranks_at_once(profile: Profile, rows: Ints, values: Floats) -> tuple[Ints, Ints]:
    """How many kept window values lie below and above each value: one comparison of every pair."""
    window = profile.ordered[rows]
    column = np.arange(window.shape[1])[None, :]
    first = profile.kept_from[rows][:, None]
    kept = (column >= first) & (column < first + profile.kept[rows][:, None])
    x = values[:, None]
    return np.count_nonzero(kept & (window < x), axis=1), np.count_nonzero(kept & (window > x), axis=1)


def _ranks_by_block(profile: Profile, rows: Ints, values: Floats) -> tuple[Ints, Ints]:
    """The same by binary search, one block at a time (long series: many points share a block)."""
    below, above = np.zeros(len(values), dtype=np.int64), np.zeros(len(values), dtype=np.int64)
    order = np.argsort(rows, kind="stable")
    edges = np.flatnonzero(np.diff(rows[order])) + 1
    for group in np.split(order, edges):
        row = int(rows[group[0]])
        count, first = int(profile.kept[row]), int(profile.kept_from[row])
        window = profile.ordered[row, first : first + count]
        below[group] = np.searchsorted(window, values[group], side="left")
        above[group] = count - np.searchsorted(window, values[group], side="right")
    missing = np.isnan(values)  # (searchsorted puts NaN above everything; no comparison holds for it)
    below[missing], above[missing] = 0, 0
    return below, above
