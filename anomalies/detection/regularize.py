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
    if not np.all(np.isfinite(t)):
        raise ValueError("timestamps must be finite")
    step = interval or infer_interval(t)
    origin = np.floor(t.min() / step) * step
    bucket = np.floor((t - origin) / step).astype(np.int64)
    size = int(bucket.max()) + 1
    if size > MAX_BUCKETS:
        raise ValueError(f"{size:,} buckets of {step} s between the first and last timestamp is too many")
    present = ~np.isnan(v)
    sums = np.bincount(bucket[present], weights=v[present], minlength=size)
    if kind == "count":
        grid = sums
    else:
        seen = np.bincount(bucket[present], minlength=size)
        grid = np.full(size, np.nan)
        np.divide(sums, seen, out=grid, where=seen > 0)
    return origin + step * np.arange(size, dtype=np.float64), grid, step, bucket
