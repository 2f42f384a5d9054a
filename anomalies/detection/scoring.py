"""score_series and score_latest: the whole detector, computed for any tail of a regular series.

Every intermediate value at a point or block is a function of the data at fixed offsets before it
(lags, windows, blocks aligned to the epoch), never of where the computation starts. So scoring
only the last points, given history_needed(config) seconds of history, gives exactly the values
that scoring the whole series gives there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .calibration import open_z, small_sample_z_inverse
from .config import DetectorConfig, Windows, history_needed
from .detectors import counts_of
from .episodes import Episode, alert_points, find_episodes, hysteresis
from .evidence import DETECTOR_WEIGHTS, point_results
from .fitting import FitCache
from .point import Point
from .regularize import MAX_BUCKETS, clean_values, real_times, regularize
from .robust import Floats

SUSTAINED_COOL_DOWNS = 1  # an episode this many cool-downs long was a change the baseline came to accept
# Buckets scored per pass. Each block keeps a sorted window of residuals per model (84 floats a point
# at one-minute buckets, 168 at hourly ones): a whole file at once peaked at 5.6 GB for a million rows.
CHUNK_POINTS = 25_000


@dataclass(frozen=True)
class Scores:
    """Per-point results; values and bands are in the series' own units."""

    times: Floats
    values: Floats
    expected: Floats
    lower: Floats
    upper: Floats
    score: Floats
    is_anomaly: NDArray[np.bool_]
    kind: NDArray[np.str_]  # spike | drop | level_shift | flatline | trend_change, "" outside anomalies
    direction: NDArray[np.str_]  # up | down | ""
    z: Floats  # signed deviation as a normal z of equal rarity (counts: on the square-root scale)
    alert: NDArray[np.bool_]  # where Flux notifies: an episode opens or clearly worsens (alert_points)

    def __len__(self) -> int:
        return len(self.score)

    def tail(self, points: int) -> Scores:
        """The last `points` points."""
        start = max(0, len(self) - points)
        return Scores(**{f.name: getattr(self, f.name)[start:] for f in fields(self)})

    @staticmethod
    def joined(parts: list[Scores]) -> Scores:
        """Consecutive stretches' scores as one (at least one part)."""
        return Scores(**{f.name: np.concatenate([getattr(part, f.name) for part in parts]) for f in fields(Scores)})

    def episodes(self) -> list[Episode]:
        """Runs of anomalous points as findings (indices relative to these scores)."""
        return find_episodes(self.is_anomaly, self.score, self.kind, self.direction)


def score_series(times: ArrayLike, values: ArrayLike, config: DetectorConfig) -> Scores:
    """Score every point of a series causally (each point sees only the points before it).

    A regular grid of config.interval_seconds is scored as given. Anything else (gaps, duplicate or
    out-of-order timestamps) is first put on the epoch-aligned grid (see regularize), and the scores
    are per bucket of that grid. Empty input gives empty scores; nothing here raises on data.
    """
    t, v = _validated(times, values, config)
    if len(t) <= CHUNK_POINTS:
        return _score(t, v, config, first=0) if len(t) else _empty()
    return _in_stretches(t, v, config)


def _in_stretches(times: Floats, values: Floats, config: DetectorConfig) -> Scores:
    """A long grid scored CHUNK_POINTS at a time, each stretch given the history it reads and the carry
    of the one before (score_incremental): the same results, with memory bounded by a stretch, not the
    whole series (two rows a century apart make a grid of millions of buckets)."""
    history = history_needed(config) // config.interval_seconds + 1
    parts, carry = [], None
    for start in range(0, len(times), CHUNK_POINTS):
        end, low = min(start + CHUNK_POINTS, len(times)), max(0, start - history)
        part, carry = score_incremental(times[low:end], values[low:end], config, end - start, carry)
        parts.append(part)
    return Scores.joined(parts)


def score_latest(times: ArrayLike, values: ArrayLike, config: DetectorConfig, points: int = 1) -> Scores:
    """Score only the last `points` points: equal to score_series(...).tail(points), much cheaper
    (score_incremental is cheaper still for a series scored again and again as it grows)."""
    t, v = _validated(times, values, config)
    return _score(t, v, config, first=max(0, len(v) - max(points, 1))) if len(t) else _empty()


def _validated(times: ArrayLike, values: ArrayLike, config: DetectorConfig) -> tuple[Floats, Floats]:
    """The series on a regular grid (regularized if it is not one); only a caller's bug raises."""
    t = np.ravel(np.asarray(times, dtype=np.float64))
    v = np.ravel(np.asarray(values, dtype=np.float64))
    if t.shape != v.shape:
        raise ValueError(f"times and values differ in length ({len(t)} and {len(v)})")
    real = real_times(t)
    t, v = t[real], clean_values(v[real])
    interval = config.interval_seconds
    if len(t) < 2 or np.allclose(np.diff(t), interval, rtol=0, atol=1e-3):
        return t, v
    # A stray early timestamp must not allocate years of buckets: keep the most recent span only.
    recent = t >= t.max() - interval * (MAX_BUCKETS - 1)
    grid_times, grid_values, _, _ = regularize(t[recent], v[recent], config.value_kind, interval)
    return grid_times, grid_values


def _empty() -> Scores:
    nothing = np.empty(0)
    labels = np.empty(0, dtype=str)
    return Scores(
        times=nothing, values=nothing, expected=nothing, lower=nothing, upper=nothing, score=nothing,
        is_anomaly=np.empty(0, dtype=bool), kind=labels, direction=labels, z=nothing,
        alert=np.empty(0, dtype=bool),
    )  # fmt: skip


@dataclass(frozen=True)
class Carry:
    """Per-point results before episodes are formed (score, z, kind, direction) of the points just
    before the ones being scored: what episodes and alerts look back on. score_incremental takes the
    Carry of the previous call instead of scoring those points again."""

    score: Floats
    z: Floats
    kind: NDArray[np.str_]
    direction: NDArray[np.str_]

    def __len__(self) -> int:
        return len(self.score)


def carried_points(config: DetectorConfig) -> int:
    """Points of results before the scored ones that episodes and alerts depend on (hysteresis looks
    back episode_memory + cool_down scores, alerts episode_memory + 1 points of flags; a level shift
    reads the z of the last shift_window points, fewer than these)."""
    w = config.windows
    return 2 * w.episode_memory + 1 + w.cool_down


def score_incremental(
    times: ArrayLike,
    values: ArrayLike,
    config: DetectorConfig,
    points: int,
    carry: Carry | None,
    fits: FitCache | None = None,
) -> tuple[Scores, Carry]:
    """score_latest(..., points), reusing `carry` (returned by the call that scored the points before
    these) instead of scoring the points before them again; and the Carry for the next call. A carry
    that does not fit (None, or not as long as expected) is ignored: the result is the same, slower.
    With `fits`, the models' block-level fits are read from it where it has them and added to it
    otherwise (fitting.FitCache: valid only for the same series, interval and value kind)."""
    t, v = _validated(times, values, config)
    if not len(t):
        return _empty(), Carry(np.empty(0), np.empty(0), np.empty(0, dtype=str), np.empty(0, dtype=str))
    first = max(0, len(v) - max(points, 1))
    if carry is not None and len(carry) != min(carried_points(config), first):
        carry = None
    return _score_with_carry(t, v, config, first, carry, fits)


def _score(times: Floats, raw: Floats, config: DetectorConfig, first: int) -> Scores:
    return _score_with_carry(times, raw, config, first, None)[0]


def _score_with_carry(
    times: Floats, raw: Floats, config: DetectorConfig, first: int, carry: Carry | None, fits: FitCache | None = None
) -> tuple[Scores, Carry]:
    w = config.windows
    counts = config.value_kind == "count"
    kept = carried_points(config)
    if carry is None:
        # The points a level shift needs before the carried ones are scored too (their own scores are
        # not exact, and only feed points that are not kept).
        start = max(0, first - kept - w.shift_window)
        z_before = np.empty(0)
    else:
        start, z_before = first, carry.z
    point, z, score, kind, direction, warm = point_results(times, raw, config, start, z_before, fits)
    if carry is not None:
        score, z = np.concatenate([carry.score, score]), np.concatenate([carry.z, z])
        kind, direction = np.concatenate([carry.kind, kind]), np.concatenate([carry.direction, direction])
        offset = len(carry)
    else:
        offset = first - start
    scores = _assemble(times, raw, offset, point, z, score, kind, direction, warm, w, config, counts)
    tail = slice(max(0, len(score) - kept), None)
    return scores, Carry(score[tail], z[tail], kind[tail].astype(str), direction[tail].astype(str))


def _assemble(
    times: Floats,
    raw: Floats,
    offset: int,
    point: Point,
    z: Floats,
    score: Floats,
    kind: NDArray[np.str_],
    direction: NDArray[np.str_],
    warm: NDArray[np.bool_],
    w: Windows,
    config: DetectorConfig,
    counts: bool,
) -> Scores:
    open_at = config.open_score
    active = hysteresis(score, w.cool_down, w.episode_memory, open_at, config.cold_score)
    # Points cooling down inside an episode keep the kind of the last point that was clearly anomalous.
    index = np.arange(len(score))
    last_open = np.maximum.accumulate(np.where(score >= open_at, index, 0))
    kind = np.where(active, np.where(score >= open_at, kind, kind[last_open]), "")
    direction = np.where(active, np.where(score >= open_at, direction, direction[last_open]), "")
    # The values the scores belong to (the scores may start after the array does).
    values = raw[len(raw) - len(score) :]
    values = np.nan_to_num(values, nan=0.0) if counts else values
    alert = alert_points(active, score, w.episode_memory, direction, SUSTAINED_COOL_DOWNS * w.cool_down, values)
    # The band is where the point detector alone would open an episode, read through each tail's shape.
    band_z = small_sample_z_inverse(open_z(config.open_nlp - math.log10(DETECTOR_WEIGHTS[3])), point.valid)
    centre = point.expected
    high = centre + point.upper.distance(band_z, point.spread)
    low = centre - point.lower.distance(band_z, point.spread)
    if counts:
        centre, low, high = counts_of(centre), counts_of(low), counts_of(high)
    blank = np.where(warm, 1.0, np.nan)
    keep = slice(offset, None)
    # The band is known for the points scored here: with a carry, those after it only.
    banded = slice(len(warm) - (len(score) - offset), None)
    tail = len(times) - len(score) + offset
    return Scores(
        times=times[tail:],
        values=raw[tail:],
        expected=(centre * blank)[banded],
        lower=(low * blank)[banded],
        upper=(high * blank)[banded],
        score=score[keep],
        is_anomaly=active[keep],
        kind=kind[keep].astype(str),
        direction=direction[keep].astype(str),
        z=z[keep],
        alert=alert[keep],
    )
