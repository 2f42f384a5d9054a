"""Fit every candidate model on the points being scored, and pick one per block by recent accuracy."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

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
from .localtime import Clock
from .robust import Floats, Ints, Profile, Tail, gather, median_rows, row_profile, unresolved, windows_before

SIMPLER_MARGIN = 1.02  # a more seasonal model must be 2% more accurate than a simpler one to be chosen


@dataclass(frozen=True)
class Span:
    """Where the work is: points idx (a tail of the array) and the blocks they fall in."""

    idx: Ints
    blocks: Blocks
    block_of: Ints  # block id of every point of the array
    out_ids: Ints  # block ids covering idx, consecutive
    out_starts: Ints  # their first indices (may be negative)
    clock: Clock  # where the same local time a day (week) back lies

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
    same_time: Profile | None  # per block: the residuals at the same time of day on the days before


@dataclass(frozen=True)
class BlockFit:
    """What fit_model found for one block: all of it depends only on the data before the block."""

    offsets: Floats  # per lag, the level moved since (seasonal models; empty for the local one)
    typical: float  # local model: median of the day before the block
    profile: Floats  # centre, spread, upper tail (4), lower tail (4), valid, kept_from, kept
    ordered: Floats  # the profile's sorted window
    correlation: float
    error: float
    same_time: Floats | None = None  # the time-of-day profile's numbers, then its sorted window


@dataclass
class FitCache:
    """Block-level results of fit_model and trend_of per (model name, block id). They depend only on the
    data before their block, so a series scored again and again within a block (every bucket of a
    two-hour block) fits its models once per block; fill it from a previous call, or let a call fill it."""

    blocks: dict[tuple[str, int], BlockFit] = field(default_factory=dict)
    trends: dict[tuple[str, int], tuple[float, float]] = field(default_factory=dict)
    # Per block id, the data's quantum and typical change (point.resolution): model-free, and cheap
    # enough next to the fits that it is not stored with a watch (anomalies.carry).
    resolutions: dict[int, tuple[float, float]] = field(default_factory=dict)


def fit_model(model: Model, y: Floats, span: Span, w: Windows, cache: FitCache | None = None) -> Fit:
    """Expectation, baseline and residual profile of one model over the span (the blocks' part from the
    cache when it holds every block of the span, into it otherwise)."""
    if cache is not None:
        cached = [cache.blocks.get((model.name, int(block))) for block in span.out_ids]
        # Fits kept from before the time-of-day profiles existed lack them: fitted again.
        complete = [item is not None and (item.same_time is not None) == bool(w.same_time_days) for item in cached]
        if all(complete):
            return _cached_fit(model, y, span, w, cached)  # type: ignore[arg-type]
    n = len(y)
    idx, blocks = span.idx, span.blocks
    first = int(max(0, span.out_starts[0] - w.scale_window))
    scored = np.arange(first, n)
    if model.seasonal:
        ids = np.arange(span.block_of[first], span.out_ids[-1] + 1)
        offsets = level_offsets(model, y, blocks.starts(ids), w.level_window, span.clock)
        expected = seasonal_expectation(model, y, scored, offsets[:, span.block_of[scored] - ids[0]], span.clock)
        typical = np.full(len(idx), np.nan)
        block_offsets, daily = offsets[:, len(ids) - len(span.out_ids) :], np.full(len(span.out_ids), np.nan)
    else:
        expected = local_expectation(y, scored, w.local_window)
        daily = median_rows(gather(y, windows_before(span.out_starts, w.scale_min)), min_count=w.scale_min // 2)
        typical = daily[span.position]
        block_offsets = np.empty((0, len(span.out_ids)))
    residuals = np.full(n, np.nan)
    residuals[first:] = unresolved(y[first:], expected)
    window = gather(residuals, windows_before(span.out_starts, w.scale_window))
    profile = row_profile(window)
    error = _clipped_rms(window, profile.centre, profile.spread)
    correlation = lag_correlation(window, profile.centre)
    same_time = row_profile(gather(residuals, same_time_index(span, w))) if w.same_time_days else None
    fit = Fit(model, expected[idx[0] - first :], typical, profile, correlation, error, same_time)
    if cache is not None:
        for row, block in enumerate(span.out_ids):
            cache.blocks[model.name, int(block)] = BlockFit(
                block_offsets[:, row].copy(), float(daily[row]), _profile_numbers(profile, row),
                profile.ordered[row].copy(), float(correlation[row]), float(error[row]),
                None if same_time is None else _numbers_and_window(same_time, row),
            )  # fmt: skip
    return fit


def same_time_index(span: Span, w: Windows) -> Ints:
    """Per block: the points at the block's times of day, widened by same_time_reach either side, on each
    of the same_time_days days before (all before the block; inside its scale window but for the hour a
    change of clocks may add)."""
    period = round(86400 / span.blocks.interval)
    width = math.ceil(span.blocks.block_seconds / span.blocks.interval)
    offsets = np.arange(-w.same_time_reach, width + w.same_time_reach)
    days = np.stack([span.clock.back(span.out_starts, day * period) for day in range(1, w.same_time_days + 1)], 1)
    index = days[:, :, None] + offsets[None, None, :]
    return index.reshape(len(span.out_starts), -1)


PROFILE_NUMBERS = 10 + 3  # centre, spread, two tails of Tail.FIELDS, then valid, kept_from, kept


def _profile_numbers(profile: Profile, row: int) -> Floats:
    tails = [getattr(tail, name)[row] for tail in (profile.upper, profile.lower) for name in Tail.FIELDS]
    counts = (profile.valid[row], profile.kept_from[row], profile.kept[row])
    return np.array([profile.centre[row], profile.spread[row], *tails, *counts], dtype=np.float64)


def _numbers_and_window(profile: Profile, row: int) -> Floats:
    return np.concatenate([_profile_numbers(profile, row), profile.ordered[row]])


def _cached_fit(model: Model, y: Floats, span: Span, w: Windows, cached: list[BlockFit]) -> Fit:
    """fit_model from the blocks' cached results: only the points' expectations are computed."""
    position = span.position
    if model.seasonal:
        offsets = _rows([item.offsets for item in cached]).T
        expected = seasonal_expectation(model, y, span.idx, offsets[:, position], span.clock)
        typical = np.full(len(span.idx), np.nan)
    else:
        expected = local_expectation(y, span.idx, w.local_window)
        typical = np.array([item.typical for item in cached])[position]
    profile = _profile_of(_rows([item.profile for item in cached]), _rows([item.ordered for item in cached]))
    same_time = None
    if cached[0].same_time is not None:
        both = _rows([item.same_time for item in cached])  # type: ignore[misc]
        same_time = _profile_of(both[:, :PROFILE_NUMBERS], both[:, PROFILE_NUMBERS:])
    correlation = np.array([item.correlation for item in cached])
    error = np.array([item.error for item in cached])
    return Fit(model, expected, typical, profile, correlation, error, same_time)


def _rows(arrays: list[Floats]) -> Floats:
    """The arrays as the rows of one matrix. One block (a bucket scored within its block, the usual call)
    is a read-only view: a stack copied a week of sorted residuals per model at every call."""
    if len(arrays) > 1:
        return np.stack(arrays)
    view = arrays[0][None]
    view.flags.writeable = False
    return view


def _profile_of(numbers: Floats, ordered: Floats) -> Profile:
    """A Profile back from its numbers (_profile_numbers, one row per block) and sorted windows."""
    tails = len(Tail.FIELDS)
    counts = numbers[:, 2 + 2 * tails :].astype(np.int64)
    return Profile(
        centre=numbers[:, 0], spread=numbers[:, 1],
        upper=Tail(*(numbers[:, 2 + k] for k in range(tails))),
        lower=Tail(*(numbers[:, 2 + tails + k] for k in range(tails))),
        valid=counts[:, 0], ordered=ordered, kept_from=counts[:, 1], kept=counts[:, 2],
    )  # fmt: skip


def _clipped_rms(window: Floats, centre: Floats, spread: Floats) -> Floats:
    """Root mean square residual, each clipped at 5 sd: a model that is wrong every weekend for a few
    hours must lose against one that is not, although both are right most of the time; the clip
    keeps a past anomaly from deciding. A missing residual (before the series began, or before a
    seasonal model had its lags) stays missing: np.fmin would count it as a 5 sd error, so a seasonal
    model lost to the local one for as long as its first days without lags were in the window."""
    clipped = np.minimum(np.abs(window - centre[:, None]), 5 * spread[:, None])
    valid = np.count_nonzero(~np.isnan(clipped), axis=1)
    return np.sqrt(np.nansum(clipped**2, axis=1) / np.maximum(valid, 1))


def lag_correlation(window: Floats, centre: Floats) -> Floats:
    """Robust lag-1 autocorrelation per row: the quadrant (sign) correlation, read as a normal's."""
    signs = np.sign(window - centre[:, None])
    products = signs[:, 1:] * signs[:, :-1]
    valid = np.count_nonzero(~np.isnan(products), axis=1)
    quadrant = np.nansum(products, axis=1) / np.maximum(valid, 1)
    return np.sin(np.pi / 2 * quadrant)


def trend_of(
    fit: Fit, y: Floats, span: Span, w: Windows, floor: float, cache: FitCache | None = None
) -> tuple[Floats, Floats]:
    """Trend change z and signed change per block of the span, for one fitted model (from the cache when
    it holds every block of the span, into it otherwise)."""
    keys = [(fit.model.name, int(block)) for block in span.out_ids]
    if cache is not None and all(key in cache.trends for key in keys):
        z, change = np.array([cache.trends[key] for key in keys]).T
        return z, change
    z, change = _trend(fit, y, span, w, floor)
    if cache is not None:
        cache.trends.update({key: (float(z[row]), float(change[row])) for row, key in enumerate(keys)})
    return z, change


def _trend(fit: Fit, y: Floats, span: Span, w: Windows, floor: float) -> tuple[Floats, Floats]:
    model, scale = fit.model, np.fmax(fit.profile.spread, floor)
    scale_blocks = math.ceil(w.scale_window * span.blocks.interval / span.blocks.block_seconds)
    history = 4 * w.trend_blocks + scale_blocks
    ids = np.arange(span.out_ids[0] - history, span.out_ids[-1] + 1)
    # A day-long median: it follows a trend a day later, but any leftover daily pattern cancels out.
    index = windows_before(span.blocks.starts(ids), w.trend_window)
    values = gather(y, index)
    if model.seasonal:
        values = values - seasonal_reference(model, y, index.ravel(), span.clock).reshape(index.shape)
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
