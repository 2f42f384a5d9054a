"""Score raw rows (any order, irregular, several per bucket) strictly causally: what the backtest writes.

Rows are taken in time order (file order among equal timestamps). A row's bucket holds only the rows
up to and including it: the last row of a bucket sees the whole bucket, an earlier one a partial sum
(counts) or mean (measurements), scored as if the data had stopped there. So a row's result never
depends on a later row, and scoring a prefix of the rows gives exactly the results of the full run
for those rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .config import DetectorConfig, Sensitivity, ValueKind, history_needed
from .fitting import FitCache
from .regularize import clean_values, regularize
from .robust import Floats, Ints
from .scoring import Carry, Scores, carried_points, score_incremental, score_series

ROW_FIELDS = ("score", "is_anomaly", "alert", "expected", "lower", "upper", "kind", "direction")
KIND_WIDTH = "<U12"  # the longest kind, trend_change: a row filled later must not be cut short


@dataclass(frozen=True)
class RowScores:
    """Per input row, in input order."""

    score: Floats
    is_anomaly: NDArray[np.bool_]
    alert: NDArray[np.bool_]  # Flux would notify at this row (an episode opens or escalates)
    expected: Floats
    lower: Floats
    upper: Floats
    kind: NDArray[np.str_]  # the point's kind (scores.kind): spike, drop, level_shift, ... or ""
    direction: NDArray[np.str_]  # up, down or ""
    config: DetectorConfig


def score_rows(
    times: ArrayLike,
    values: ArrayLike,
    value_kind: ValueKind,
    sensitivity: Sensitivity = "medium",
    interval: int | None = None,
    timezone: str = "UTC",
) -> RowScores:
    """Score each row on the buckets up to it, the seasons following `timezone`'s days (raises ValueError
    only for non-finite or absurd times, or an unknown zone)."""
    t = np.asarray(times, dtype=np.float64)
    v = clean_values(values)
    grid_times, grid_values, step, bucket = regularize(t, v, value_kind, interval)
    config = DetectorConfig(step, value_kind, sensitivity, timezone)
    scores = score_series(grid_times, grid_values, config)  # a stretch at a time: bounded memory
    out = {name: getattr(scores, name)[bucket].copy() for name in ROW_FIELDS}
    out["kind"], out["direction"] = out["kind"].astype(KIND_WIDTH), out["direction"].astype(KIND_WIDTH)
    order = np.lexsort((np.arange(len(t)), t))
    ordered_buckets = bucket[order]
    last = np.concatenate([ordered_buckets[1:] != ordered_buckets[:-1], [True]])
    partial = _partial_values(v[order], ordered_buckets, value_kind)
    history, kept = history_needed(config) // step + 1, carried_points(config)
    fits = FitCache()
    for position in np.flatnonzero(~last):
        row, k = order[position], int(ordered_buckets[position])
        if np.isnan(scores.expected[k]):
            continue  # not warm yet: nothing reads the bucket's value, so the row's results are the bucket's
        low = max(0, k + 1 - history)
        window = grid_values[low : k + 1].copy()
        window[-1] = partial[position]
        # The buckets before k are as the whole run scored them: their state is carried, and the block's
        # fits (from the data before the block) are shared by every row of it.
        carry = _carry_before(scores, k, min(kept, k - low))
        _fill(out, row, score_incremental(grid_times[low : k + 1], window, config, 1, carry, fits)[0])
        fits = _newest_block(fits)  # the rows come in time order: older blocks are not read again
    # One notification per bucket: the first row (in time) at which its bucket alerts.
    alerted = out["alert"][order]
    seen_before = _earlier_in_bucket(alerted, ordered_buckets)
    out["alert"][order] = alerted & ~seen_before
    return RowScores(config=config, **out)


def _carry_before(scores: Scores, bucket: int, points: int) -> Carry:
    """The carry score_incremental takes for `bucket`: the `points` buckets before it. Their kinds and
    directions as scored (blank outside episodes) stand for the raw ones: those are read only where a
    point opens an episode, and there the two are the same."""
    before = slice(bucket - points, bucket)
    return Carry(scores.score[before], scores.z[before], scores.kind[before], scores.direction[before])


def _newest_block(fits: FitCache) -> FitCache:
    if not fits.blocks:
        return fits
    newest = max(block for _, block in fits.blocks)
    return FitCache(
        {key: item for key, item in fits.blocks.items() if key[1] == newest},
        {key: item for key, item in fits.trends.items() if key[1] == newest},
        {block: item for block, item in fits.resolutions.items() if block == newest},
    )


def _partial_values(ordered_values: Floats, ordered_buckets: Ints, value_kind: ValueKind) -> Floats:
    """Per row (in time order): its bucket's sum (counts) or mean (measurements) up to and including it."""
    present = ~np.isnan(ordered_values)
    sums = _running_in_bucket(np.where(present, ordered_values, 0.0), ordered_buckets)
    if value_kind == "count":
        return sums
    counts = _running_in_bucket(present.astype(np.float64), ordered_buckets)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan)


def _running_in_bucket(values: Floats, buckets: Ints) -> Floats:
    """Per row (in time order), the sum of its bucket's values up to it. Summed within each bucket, rank
    by rank (the k-th rows of all buckets at once): a running total over the whole file, less its value
    at the bucket's start, lost every later bucket's sums to rounding after one huge value (1e17 + 1 -
    1e17 is 0)."""
    index = np.arange(len(values))
    starts = np.concatenate([[True], buckets[1:] != buckets[:-1]])
    rank = index - np.maximum.accumulate(np.where(starts, index, 0))
    by_rank = np.argsort(rank, kind="stable")
    edges = np.searchsorted(rank[by_rank], np.arange(1, int(rank.max(initial=0)) + 1))
    sums = values.copy()
    for rows in np.split(by_rank, edges)[1:]:
        sums[rows] += sums[rows - 1]
    return sums


def _carry_forward(values: Floats) -> Floats:
    """Each NaN replaced by the last non-NaN before it."""
    index = np.where(~np.isnan(values), np.arange(len(values)), 0)
    return values[np.maximum.accumulate(index)]


def _earlier_in_bucket(flags: NDArray[np.bool_], buckets: Ints) -> NDArray[np.bool_]:
    """Whether a flagged row came earlier in the same bucket (rows in time order)."""
    counts = np.cumsum(flags) - flags
    starts = np.concatenate([[True], buckets[1:] != buckets[:-1]])
    at_start = _carry_forward(np.where(starts, counts.astype(np.float64), np.nan))
    return counts > at_start


def _fill(out: dict[str, np.ndarray], row: int, scores: Scores) -> None:
    for name in ROW_FIELDS:
        out[name][row] = getattr(scores, name)[-1]
