"""Vectorised robust statistics over rows of a matrix, ignoring NaN (numpy's nan-functions are slow here)."""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from numpy.typing import NDArray

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]

NORMAL_MAD = 1.4826  # MAD of a normal sample times this is its standard deviation
NORMAL_IQR = 1.349  # interquartile range of the standard normal
TAIL_RATE = 0.01  # each tail is fitted beyond its 99% quantile...
TAIL_POINTS = 10  # ...or further in, so that at least this many past points lie beyond it
MAX_TAIL_RATE = 0.05
NORMAL_TAIL = 1.15  # a tail starting within 15% of where a normal would start it is read as normal...
HEAVY_BLEND = 0.2  # ...and one starting 35% further out as Pareto; in between, a blend of the two
BISECTIONS = 40  # inverting the blend to ~1e-12 of the gap between the two readings' z
REJECT_SD = 8.0
MAX_REJECTED = 0.05
RECURRING = 6  # outliers in this many separate runs are the series' own behaviour, not past incidents
SHAPE_GAIN = 0.8  # Pareto shape per unit of tail-start ratio beyond NORMAL_TAIL (Student t 4 reads ~0.25)
MAX_SHAPE = 0.5  # Student t with 2 degrees of freedom
# Two values closer than this share of their magnitude are the same reading: far above float rounding
# (an average of seven 0.1s is 0.09999999999999999), far below any change a person records.
RELATIVE_RESOLUTION = 1e-9
SMALLEST_NORMAL = float(np.finfo(np.float64).tiny)  # differences below it (subnormal) have no precision left
_inverse_normal_each = np.vectorize(NormalDist().inv_cdf, otypes=[np.float64])


def _inverse_normal(p: Floats) -> Floats:
    # Few distinct values (a window's share), so invert each once.
    distinct, where = np.unique(p, return_inverse=True)
    return _inverse_normal_each(distinct)[where.reshape(np.shape(p))] if len(distinct) else np.asarray(p)


def unresolved(a: Floats, b: Floats) -> Floats:
    """a - b, or 0 where a and b are the same reading (within RELATIVE_RESOLUTION of their magnitude, or
    closer than the smallest normal float: 0 and 5e-324 are both zero)."""
    difference = a - b
    with np.errstate(invalid="ignore"):
        same = np.abs(difference) < np.fmax(RELATIVE_RESOLUTION * np.fmax(np.abs(a), np.abs(b)), SMALLEST_NORMAL)
    return np.where(same, 0.0, difference)


def gather(values: Floats, index: Ints) -> Floats:
    """values[index], NaN where the index falls outside the array."""
    if len(values) == 0:
        return np.full(index.shape, np.nan)
    out = values.take(index, mode="clip")
    outside = (index < 0) | (index >= len(values))
    if outside.any():
        out[outside] = np.nan
    return out


def sorted_rows(matrix: Floats) -> tuple[Floats, Ints]:
    """Each row sorted (NaN last) and its count of valid entries."""
    ordered = np.sort(matrix, axis=-1)
    return ordered, np.count_nonzero(~np.isnan(matrix), axis=-1)


def quantile_sorted(ordered: Floats, counts: Ints, q: float | Floats, first: Ints | None = None) -> Floats:
    """q-quantile (linear interpolation) of each sorted row's valid part; NaN for empty rows.

    q may be a scalar, one value per row, or (rows, k) for k quantiles per row at once. With `first`,
    each row's part starts there (and holds `counts` values).
    """
    last = np.maximum(counts - 1, 0)
    q = np.asarray(q, dtype=np.float64)
    several = q.ndim == 2
    position = (last[:, None] if several else last) * q
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, last[:, None] if several else last)
    if first is not None:
        shift = first[:, None] if several else first
        position, below, above = position + shift, below + shift, above + shift
    if several:
        low, high = np.take_along_axis(ordered, below, axis=1), np.take_along_axis(ordered, above, axis=1)
    else:
        rows = np.arange(ordered.shape[0])
        low, high = ordered[rows, below], ordered[rows, above]
    with np.errstate(invalid="ignore"):
        result = low + (high - low) * (position - below)
    return np.where((counts[:, None] if several else counts) > 0, result, np.nan)


def median_rows(matrix: Floats, min_count: int = 1) -> Floats:
    """Median of each row's valid entries; NaN where a row has fewer than min_count."""
    if matrix.shape[-1] == 0:
        return np.full(matrix.shape[0], np.nan)
    ordered, counts = sorted_rows(matrix)
    median = quantile_sorted(ordered, counts, 0.5)
    return np.where(counts >= max(min_count, 1), median, np.nan)


@dataclass(frozen=True)
class Tail:
    """One tail of a window of residuals, per row, as distances from the centre.

    Where the tail starts (its 1 - p quantile) where a normal with the window's IQR would put it,
    it is read as that normal. Where it starts further out (heavy-tailed noise: latencies, bursty
    traffic), beyond the quantile it is a generalised Pareto tail whose scale is fitted between the
    1 - 4p and 1 - p quantiles, and whose shape grows with how much further out the tail starts
    than a normal's (SHAPE_GAIN): a residual is then judged by how rare it is under the tail the
    series has shown, not as if it were normal. Pickands' or Hill's estimators of the shape, from
    the few points beyond a week's 99% quantile, are far too noisy to use instead.
    """

    rate: Floats  # p
    z_p: Floats  # the standard normal's 1 - p quantile
    start: Floats  # the 1 - p quantile
    gap: Floats  # from the 1 - 4p quantile to the 1 - p quantile

    FIELDS = ("rate", "z_p", "start", "gap")

    def z(self, distance: Floats, spread: Floats) -> Floats:
        """How rare a residual this far out is, as the normal z of the same one-sided tail probability."""
        heavy, sd, tail = self._shape(spread)
        with np.errstate(over="ignore"):  # a residual 1e100 beyond a spread of 1e-300: z is infinite
            normal = np.maximum(distance, 0.0) / sd
        normal, pareto = np.broadcast_arrays(normal, tail.z(distance))
        blended = (heavy > 0.0) & (heavy < 1.0)
        plain = np.where(heavy >= 1.0, pareto, normal)
        if not blended.any():
            return plain
        # distance() is increasing in z and lies between the two readings' distances, so z lies
        # between their z: bisect there (the blend of distances has no closed-form inverse), only
        # where the tail is blended.
        low, high = np.fmin(normal, pareto)[blended], np.fmax(normal, pareto)[blended]
        target = np.broadcast_to(distance, blended.shape)[blended]
        heavy_b, sd_b = np.broadcast_to(heavy, blended.shape)[blended], np.broadcast_to(sd, blended.shape)[blended]
        tail_b = tail.where(blended)
        for _ in range(BISECTIONS):
            middle = 0.5 * (low + high)
            beyond = self._blend(middle, heavy_b, sd_b, tail_b) >= target
            high, low = np.where(beyond, middle, high), np.where(beyond, low, middle)
        plain[blended] = 0.5 * (low + high)
        return plain

    def distance(self, z: float | Floats, spread: Floats) -> Floats:
        """The distance from the centre at which a residual reaches `z` (inverse of z())."""
        heavy, sd, tail = self._shape(spread)
        return self._blend(z, heavy, sd, tail)

    @staticmethod
    def _blend(z: float | Floats, heavy: Floats, sd: Floats, tail: _Pareto) -> Floats:
        normal, pareto = z * sd, tail.distance(z)
        with np.errstate(invalid="ignore"):
            blend = (1.0 - heavy) * normal + heavy * pareto
        return np.where(heavy <= 0.0, normal, np.where(heavy >= 1.0, pareto, blend))

    def _shape(self, spread: Floats) -> tuple[Floats, Floats, _Pareto]:
        """How far the tail is read as heavy (0: normal, 1: Pareto), the normal's sd, the Pareto tail."""
        z_p = self.z_p
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.nan_to_num(self.start / (spread * z_p), nan=1.0, posinf=1e6)
        # The two readings do not meet at NORMAL_TAIL (the Pareto's band is far wider), so the tail
        # passes from one to the other over HEAVY_BLEND of the ratio: a band that jumps between two
        # windows whose tails start almost alike would hide a surge in one of them.
        heavy = np.clip((ratio - NORMAL_TAIL) / HEAVY_BLEND, 0.0, 1.0)
        shape = np.clip(SHAPE_GAIN * (ratio - NORMAL_TAIL), 1e-6, MAX_SHAPE)
        # A Pareto tail whose 1-4p and 1-p quantiles are `gap` apart has, from 1-p on, the scale
        # gap * xi * 4^xi / (4^xi - 1) (threshold stability; gap / ln 4 for an exponential). Never
        # lighter than the normal: beyond z_p, a normal decays like an exponential of scale sd / z_p.
        scale = np.fmax(self.gap * shape * 4**shape / np.expm1(shape * np.log(4.0)), spread / z_p)
        start = np.fmax(self.start, spread * z_p)
        return heavy, np.fmax(spread, start / z_p), _Pareto(start, scale, shape, -np.log(self.rate))


_PARETO_FIELDS = ("start", "scale", "shape", "nats_at_start")


@dataclass(frozen=True)
class _Pareto:
    """A generalised Pareto tail beyond `start`, read in nats (minus the log tail probability)."""

    start: Floats
    scale: Floats
    shape: Floats
    nats_at_start: Floats

    def where(self, mask: NDArray[np.bool_]) -> _Pareto:
        """The tail at the entries where mask holds."""
        return _Pareto(*(np.broadcast_to(getattr(self, name), mask.shape)[mask] for name in _PARETO_FIELDS))

    def z(self, distance: Floats) -> Floats:
        start, scale, shape, nats_at_start = self.start, self.scale, self.shape, self.nats_at_start
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            beyond = nats_at_start + np.log1p(shape * (distance - start) / scale) / shape
            within = nats_at_start * (np.maximum(distance, 0.0) / start) ** 2
        return np.sqrt(2.0 * np.nan_to_num(np.where(distance > start, beyond, within), posinf=1e12))

    def distance(self, z: float | Floats) -> Floats:
        start, scale, shape, nats_at_start = self.start, self.scale, self.shape, self.nats_at_start
        nats = np.multiply(z, z) / 2.0
        with np.errstate(over="ignore"):
            beyond = start + scale * np.expm1(shape * (nats - nats_at_start)) / shape
        return np.where(nats > nats_at_start, beyond, start * np.sqrt(nats / nats_at_start))


@dataclass(frozen=True)
class Profile:
    """Robust summary of a window of residuals, per row."""

    centre: Floats
    spread: Floats  # IQR-based standard deviation
    upper: Tail
    lower: Tail
    valid: Ints
    ordered: Floats  # each row's values sorted (NaN last): the empirical distribution...
    kept_from: Ints  # ...without the past anomalies: from this index...
    kept: Ints  # ...this many values


def row_profile(matrix: Floats) -> Profile:
    """Per row: median, IQR-based sd, and each tail (see Tail)."""
    ordered, counts = sorted_rows(matrix)
    fixed = np.ones(len(counts))
    centre, q25, q75 = quantile_sorted(ordered, counts, np.stack([0.5 * fixed, 0.25 * fixed, 0.75 * fixed], 1)).T
    spread = (q75 - q25) / NORMAL_IQR
    # Residuals beyond REJECT_SD bulk sd are past anomalies, to be left out of the tails (else a
    # day-long incident would blind the detector for the week it stays in the window), unless
    # there are too many of them for anomalies, or they came back time and again (a square wave's
    # edges): then that is how the series behaves.
    with np.errstate(invalid="ignore"):
        low_flags = matrix < (centre - REJECT_SD * spread)[:, None]
        high_flags = matrix > (centre + REJECT_SD * spread)[:, None]
    low_out, high_out = np.count_nonzero(low_flags, axis=1), np.count_nonzero(high_flags, axis=1)
    low_out = np.where((low_out <= MAX_REJECTED * counts) & (_runs(low_flags) < RECURRING), low_out, 0)
    high_out = np.where((high_out <= MAX_REJECTED * counts) & (_runs(high_flags) < RECURRING), high_out, 0)
    kept = counts - low_out - high_out
    rate = np.clip(TAIL_POINTS / np.maximum(kept, 1), TAIL_RATE, MAX_TAIL_RATE)
    levels = np.stack([rate, 4 * rate, 1 - rate, 1 - 4 * rate], axis=1)
    low1, low4, high1, high4 = quantile_sorted(ordered, kept, levels, first=low_out).T
    z_p = _inverse_normal(1.0 - rate)
    upper = Tail(rate, z_p, np.fmax(high1 - centre, 0.0), np.fmax(high1 - high4, 0.0))
    lower = Tail(rate, z_p, np.fmax(centre - low1, 0.0), np.fmax(low4 - low1, 0.0))
    return Profile(centre, spread, upper, lower, counts, ordered, low_out, kept)


def _runs(flags: NDArray[np.bool_]) -> Ints:
    """Per row, how many separate runs of True it holds."""
    return np.count_nonzero(flags[:, 1:] & ~flags[:, :-1], axis=1) + flags[:, 0]


def row_scales(matrix: Floats) -> tuple[Floats, Floats, Floats, Ints]:
    """Per row: median, IQR-based sd, a tail-based sd (its 1-p quantile read as a normal's), count."""
    profile = row_profile(matrix)
    z_p = profile.upper.z_p
    tail = np.fmax(profile.upper.start, profile.lower.start) / z_p
    return profile.centre, profile.spread, tail, profile.valid


def windows_before(starts: Ints, width: int) -> Ints:
    """Index matrix: row k holds the `width` indices just before starts[k]."""
    return starts[:, None] - width + np.arange(width)[None, :]


def run_lengths(flags: NDArray[np.bool_], cap: int) -> Ints:
    """Length of the run of True ending at each position, capped at `cap`."""
    n = len(flags)
    index = np.arange(n)
    last_false = np.where(flags, -1, index)
    np.maximum.accumulate(last_false, out=last_false)
    return np.minimum(index - last_false, cap).astype(np.int64)
