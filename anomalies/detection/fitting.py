"""Fit every candidate model on the points being scored, and pick one per block by recent accuracy."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .baseline import (
    Blocks,
    Model,
    level_offsets,
    local_expectation,
    seasonal_expectation,
    seasonal_reference,
)
from .config import MIN_RESIDUALS, Windows
from .detectors import trend_scores
from .robust import Floats, Ints, Profile, gather, median_rows, row_profile, windows_before

SIMPLER_MARGIN = 1.02  # a more seasonal model must be 2% more accurate than a simpler one to be chosen


@dataclass(frozen=True)
class Span:
    """Where the work is: points idx (a tail of the array) and the blocks they fall in."""

    idx: Ints
    blocks: Blocks
    block_of: Ints  # block id of every point of the array
    out_ids: Ints  # block ids covering idx, consecutive
    out_starts: Ints  # their first indices (may be negative)

    @property
    def position(self) -> Ints:
        """For each point of idx, its block's position in out_ids."""
        return self.block_of[self.idx] - self.out_ids[0]


@dataclass(frozen=True)
class Fit:
    """One model's expectation and reference per point of the span, and its scale per block."""

    model: Model
    expected: Floats  # per point
    typical: Floats  # per point, local model only: median of the last day (the flatline baseline)
    profile: Profile  # per block: the residuals over the scale window before it
    correlation: Floats  # per block: lag-1 autocorrelation of those residuals
    error: Floats  # per block: clipped RMS residual, lower is better


def fit_model(model: Model, y: Floats, span: Span, w: Windows) -> Fit:
    """Expectation, baseline and residual profile of one model over the span."""
    n = len(y)
    idx, blocks = span.idx, span.blocks
    first = int(max(0, span.out_starts[0] - w.scale_window))
    scored = np.arange(first, n)
    if model.seasonal:
        ids = np.arange(span.block_of[first], span.out_ids[-1] + 1)
        offsets = level_offsets(model, y, blocks.starts(ids), w.level_window)
        expected = seasonal_expectation(model, y, scored, offsets[:, span.block_of[scored] - ids[0]])
        typical = np.full(len(idx), np.nan)
    else:
        expected = local_expectation(y, scored, w.local_window)
        daily = median_rows(gather(y, windows_before(span.out_starts, w.scale_min)), min_count=w.scale_min // 2)
        typical = daily[span.position]
    residuals = np.full(n, np.nan)
    residuals[first:] = y[first:] - expected
    window = gather(residuals, windows_before(span.out_starts, w.scale_window))
    profile = row_profile(window)
    error = _clipped_rms(window, profile.centre, profile.spread)
    correlation = lag_correlation(window, profile.centre)
    return Fit(model, expected[idx[0] - first :], typical, profile, correlation, error)


def _clipped_rms(window: Floats, centre: Floats, spread: Floats) -> Floats:
    """Root mean square residual, each clipped at 5 sd: a model that is wrong every weekend for a few
    hours must lose against one that is not, although both are right most of the time; the clip
    keeps a past anomaly from deciding."""
    clipped = np.fmin(np.abs(window - centre[:, None]), 5 * spread[:, None])
    valid = np.count_nonzero(~np.isnan(clipped), axis=1)
    return np.sqrt(np.nansum(clipped**2, axis=1) / np.maximum(valid, 1))


def lag_correlation(window: Floats, centre: Floats) -> Floats:
    """Robust lag-1 autocorrelation per row: the quadrant (sign) correlation, read as a normal's."""
    signs = np.sign(window - centre[:, None])
    products = signs[:, 1:] * signs[:, :-1]
    valid = np.count_nonzero(~np.isnan(products), axis=1)
    quadrant = np.nansum(products, axis=1) / np.maximum(valid, 1)
    return np.sin(np.pi / 2 * quadrant)


def trend_of(fit: Fit, y: Floats, span: Span, w: Windows, floor: float) -> tuple[Floats, Floats]:
    """Trend change z and signed change per block of the span, for one fitted model."""
    model, scale = fit.model, np.fmax(fit.profile.spread, floor)
    scale_blocks = math.ceil(w.scale_window * span.blocks.interval / span.blocks.block_seconds)
    history = 4 * w.trend_blocks + scale_blocks
    ids = np.arange(span.out_ids[0] - history, span.out_ids[-1] + 1)
    # A day-long median: it follows a trend a day later, but any leftover daily pattern cancels out.
    index = windows_before(span.blocks.starts(ids), w.trend_window)
    values = gather(y, index)
    if model.seasonal:
        values = values - seasonal_reference(model, y, index.ravel()).reshape(index.shape)
    levels = median_rows(values, min_count=w.trend_window // 2)
    floor = np.zeros(len(ids))
    # Never steadier than independent noise allows: a day-long median of n points moves by
    # 1.25 sd / sqrt(n), and a second difference of three of them by sqrt(6) times that.
    floor[history:] = np.sqrt(6) * 1.25 * scale / np.sqrt(w.trend_window)
    return trend_scores(levels, w.trend_blocks, scale_blocks, floor)


def choose_models(fits: list[Fit], scale_min: int) -> Ints:
    """Per block, the index of the most accurate trusted model (-1 while none is trusted yet).

    The local model is trusted from a handful of residuals (its uncertainty is then wide, see
    calibration.small_sample_z); a seasonal one only from `scale_min`, a day of them.
    """
    choice = np.full(len(fits[0].error), -1)
    best = np.full(len(choice), np.inf)
    for number, fit in enumerate(fits):
        trusted_from = scale_min if fit.model.seasonal else MIN_RESIDUALS
        accuracy = np.where(fit.profile.valid >= trusted_from, fit.error, np.nan)
        margin = 1.0 if number == 0 else SIMPLER_MARGIN
        better = np.isfinite(accuracy) & (accuracy * margin < best)
        choice = np.where(better, number, choice)
        best = np.where(better, accuracy, best)
    return choice
