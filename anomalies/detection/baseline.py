"""Expected values of a series under three candidate models, all causal and robust.

- local: the median of the last few points (a series without seasonality).
- daily / weekly: for each of the last K days (weeks), the value at the same time of day (week) plus
  how much the level moved since then, measured as the median difference over the last hours; the
  expectation is the median over the K lags. A past anomaly sits in one lag only and the median
  drops it; a level shift is accepted after half the level window; a trend is carried by the moved
  level. Each lag is corrected on its own, so the expectation never double-counts a past shift.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import DetectorConfig
from .localtime import Clock
from .robust import Floats, Ints, gather, median_rows, windows_before


@dataclass(frozen=True)
class Model:
    """A candidate model: `period` points per season (0: none), compared over `lags` seasons."""

    name: str
    period: int
    lags: int
    min_lags: int
    neighbours: int = 0

    @property
    def seasonal(self) -> bool:
        return self.period > 0


def candidate_models(config: DetectorConfig) -> tuple[Model, ...]:
    """The local model, then the seasonal ones the interval allows (daily, weekly)."""
    # Buckets of half a day or less have both seasons, up to a day only the weekly, wider ones none.
    names = ("daily", "weekly")[-len(config.windows.seasons) :] if config.windows.seasons else ()
    seasonal = tuple(
        Model(name, *season, config.windows.neighbours)
        for name, season in zip(names, config.windows.seasons, strict=True)
    )
    return (Model("local", 0, 0, 0), *seasonal)


@dataclass(frozen=True)
class Blocks:
    """Blocks are aligned to the epoch, so a point's block does not depend on where the array starts."""

    block_seconds: int
    interval: int
    origin: int  # epoch seconds of index 0

    def ids(self, times: Floats) -> Ints:
        return np.floor_divide(np.round(times).astype(np.int64), self.block_seconds)

    def starts(self, block_ids: Ints) -> Ints:
        """Index (relative to the array, possibly negative) of each block's first point."""
        offset = block_ids * self.block_seconds - self.origin
        return -np.floor_divide(-offset, self.interval)


def level_offsets(model: Model, y: Floats, starts: Ints, window: int, clock: Clock) -> Floats:
    """Per lag j and block: median of y[u] - y[u - j*period] over the `window` points before the block
    (u - j*period: the same local time, see localtime.Clock, as for every lag below)."""
    index = windows_before(starts, window)
    now = gather(y, index)
    offsets = np.empty((model.lags, len(starts)))
    for j in range(1, model.lags + 1):
        offsets[j - 1] = median_rows(now - gather(y, clock.back(index, j * model.period)), min_count=window // 2)
    return offsets


def seasonal_expectation(model: Model, y: Floats, idx: Ints, offsets: Floats, clock: Clock) -> Floats:
    """Median over lags of (value one season back + level moved since); offsets are per point here.

    At fine resolutions each lag brings its neighbours too (the same time +- a few minutes): the
    seasonal shape hardly moves in minutes, and a median of more values is a steadier expectation.
    """
    spread = np.arange(-model.neighbours, model.neighbours + 1)
    back = np.stack([clock.back(idx, j * model.period) for j in range(1, model.lags + 1)])
    # One gather for every (lag, neighbour) pair at once: rows lag-major, as the median reads them.
    index = (back[:, None, :] + spread[None, :, None]).reshape(-1, len(idx))
    lagged = gather(y, index) + np.repeat(offsets, len(spread), axis=0)
    return median_rows(lagged.T, min_count=model.min_lags * len(spread))


def local_expectation(y: Floats, idx: Ints, window: int) -> Floats:
    """Median of the `window` points before each index."""
    return median_rows(gather(y, windows_before(idx, window)), min_count=max(window // 2, 1))


def lagged_run_totals(model: Model, counts: Floats, idx: Ints, run: Ints, clock: Clock) -> Floats:
    """Median over lags of the events in the same stretch (the `run` buckets ending at idx) a season back."""
    prefix = np.concatenate([[0.0], np.cumsum(np.nan_to_num(counts, nan=0.0))])
    totals = np.full((model.lags, len(idx)), np.nan)
    for j in range(1, model.lags + 1):
        end = clock.back(idx, j * model.period) + 1
        begin = end - run
        inside = begin >= 0
        totals[j - 1, inside] = prefix[end[inside]] - prefix[begin[inside]]
    return median_rows(totals.T, min_count=model.min_lags)


def seasonal_reference(model: Model, y: Floats, idx: Ints, clock: Clock) -> Floats:
    """What usually happens at this time: median of the lagged seasons, without level correction."""
    lagged = np.stack([gather(y, clock.back(idx, j * model.period)) for j in range(1, model.lags + 1)])
    return median_rows(lagged.T, min_count=model.min_lags)
