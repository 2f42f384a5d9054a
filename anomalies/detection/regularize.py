"""Put irregular (timestamp, value) rows on a regular grid of buckets."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .config import ValueKind
from .robust import Floats, Ints

# Bucket widths a person would choose; an inferred interval is rounded to the nearest (in ratio).
SENSIBLE_INTERVALS = np.array(
    [1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 14400, 21600, 43200, 86400, 604800]
)
MAX_BUCKETS = 5_000_000  # a stray timestamp years away must not allocate a grid of billions
# No measurement comes near this; beyond it, squares and sums of a few values overflow (1e308 + 1e308).
MAX_MAGNITUDE = 1e100
# The instants a datetime can hold (years 1 to 9999): a timestamp outside is no time at all.
FIRST_EPOCH, LAST_EPOCH = -62_135_596_800.0, 253_402_300_799.0


def clean_values(values: ArrayLike) -> Floats:
    """Values the detector can compute with: infinite ones are missing (NaN), and magnitudes beyond
    MAX_MAGNITUDE are read as MAX_MAGNITUDE (still far beyond anything else in the series)."""
    v = np.asarray(values, dtype=np.float64)
    return np.where(np.isinf(v), np.nan, np.clip(v, -MAX_MAGNITUDE, MAX_MAGNITUDE))


def real_times(times: Floats) -> np.ndarray:
    """Which timestamps are instants: finite and within the years 1 to 9999."""
    with np.errstate(invalid="ignore"):
        return (times >= FIRST_EPOCH) & (times <= LAST_EPOCH)


def infer_interval(times: Floats) -> int:
    """Median spacing of the distinct timestamps, rounded to a sensible bucket width (1 s to 1 week)."""
    distinct = np.unique(times)
    if len(distinct) < 2:
        return 3600
    spacing = float(np.median(np.diff(distinct)))
    nearest = int(np.argmin(np.abs(np.log(SENSIBLE_INTERVALS / max(spacing, 1e-9)))))
    return int(SENSIBLE_INTERVALS[nearest])


def regularize(
    times: ArrayLike, values: ArrayLike, kind: ValueKind, interval: int | None = None
) -> tuple[Floats, Floats, int, Ints]:
    """Bin rows into epoch-aligned buckets: sum for counts (empty = 0), mean for continuous (empty = NaN).

    Returns (grid_times, grid_values, interval, row_to_bucket_index); rows may come in any order.
    """
    t = np.asarray(times, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if t.ndim != 1 or t.shape != v.shape or len(t) == 0:
        raise ValueError("times and values must be non-empty 1-d arrays of the same length")
    if not np.all(real_times(t)):
        raise ValueError("timestamps must be finite instants of the years 1 to 9999")
    step = interval or infer_interval(t)
    origin = np.floor(t.min() / step) * step
    size = int(np.floor((t.max() - origin) / step)) + 1
    if size > MAX_BUCKETS:
        raise ValueError(f"{size:,} buckets of {step} s between the first and last timestamp is too many")
    bucket = np.floor((t - origin) / step).astype(np.int64)
    present = ~np.isnan(v)
    sums = np.bincount(bucket[present], weights=v[present], minlength=size)
    if kind == "count":
        # A bucket's sum of values each read as at most MAX_MAGNITUDE is read as at most that too.
        grid = np.clip(sums, -MAX_MAGNITUDE, MAX_MAGNITUDE)
    else:
        seen = np.bincount(bucket[present], minlength=size)
        grid = np.full(size, np.nan)
        np.divide(sums, seen, out=grid, where=seen > 0)
    return origin + step * np.arange(size, dtype=np.float64), grid, step, bucket
