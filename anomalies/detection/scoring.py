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

from .baseline import Blocks, candidate_models, lagged_run_totals
from .calibration import (
    LN10,
    cap_evidence,
    combine,
    normal_nlp,
    open_z,
    rank_p,
    score_of,
    small_sample_z,
    small_sample_z_inverse,
    tie_breaks,
    z_of_nlp,
)
from .config import DetectorConfig, Windows
from .detectors import POISSON_SD, anscombe, burst_nlp, counts_of, rate_nats, shift_scores, window_rate
from .episodes import Episode, alert_points, find_episodes, hysteresis
from .fitting import Fit, FitCache, Span, choose_models, fit_model, trend_of
from .regularize import MAX_BUCKETS, regularize
from .robust import Floats, Ints, Tail, gather, median_rows, quantile_sorted, run_lengths, sorted_rows, windows_before

KINDS = np.array(["flatline", "level_shift", "trend_change", "point", "burst"])
# Weighted Bonferroni (calibration.combine): the point detector fires on clean series most, so it
# carries most of the weight; each of the others costs one decade of evidence.
DETECTOR_WEIGHTS = np.array([0.1, 0.1, 0.05, 0.7, 0.05])
DAY_SECONDS = 86400
DAILY_REACH = 900  # seconds either side of the same time yesterday where a precedent may lie
PRECEDENT_DAYS = 2  # ...on this many of the PRECEDENT_DAYS + 1 days before
PRECEDENT_Z = 3.0  # a precedent was itself at least this unusual (normal z of equal rarity)
SUSTAINED_COOL_DOWNS = 1  # an episode this many cool-downs long was a change the baseline came to accept


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
    return _score(t, v, config, first=0) if len(t) else _empty()


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
    finite = np.isfinite(t)
    t, v = t[finite], np.where(np.isinf(v[finite]), np.nan, v[finite])
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


def _pick(per_model: list[Floats], choice: Ints) -> Floats:
    stacked = np.stack(per_model)
    return np.take_along_axis(stacked, np.maximum(choice, 0)[None, :], axis=0)[0]


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
    point, z, score, kind, direction, warm = _point_results(times, raw, config, start, z_before, fits)
    if carry is not None:
        score, z = np.concatenate([carry.score, score]), np.concatenate([carry.z, z])
        kind, direction = np.concatenate([carry.kind, kind]), np.concatenate([carry.direction, direction])
        offset = len(carry)
    else:
        offset = first - start
    scores = _assemble(times, raw, offset, point, z, score, kind, direction, warm, w, config, counts)
    tail = slice(max(0, len(score) - kept), None)
    return scores, Carry(score[tail], z[tail], kind[tail].astype(str), direction[tail].astype(str))


def _point_results(
    times: Floats, raw: Floats, config: DetectorConfig, start: int, z_before: Floats, fits_cache: FitCache | None
) -> tuple[Point, Floats, Floats, NDArray[np.str_], NDArray[np.str_], NDArray[np.bool_]]:
    """Every point's results from `start` on, before episodes: its chosen model's expectation and
    residual profile, z, score, kind and direction, and whether the detector is warm there. The z of
    the points just before `start` (z_before, as many as are known) feed the level-shift detector."""
    w = config.windows
    counts = config.value_kind == "count"
    y = anscombe(raw) if counts else raw
    blocks = Blocks(w.block_seconds, config.interval_seconds, round(times[0]))
    block_of = blocks.ids(times)
    idx = np.arange(start, len(raw))
    out_ids = np.arange(block_of[start], block_of[-1] + 1)
    span = Span(idx, blocks, block_of, out_ids, blocks.starts(out_ids))
    floor = POISSON_SD if counts else 0.0
    fits = [fit_model(model, y, span, w, fits_cache) for model in candidate_models(config)]
    choice = choose_models(fits, w.scale_min)[span.position]
    # Where the chosen model has no expectation (its lags are missing), fall back to the local one.
    choice = np.where(np.isnan(_pick([f.expected for f in fits], choice)) & (choice > 0), 0, choice)
    point = Point.build(fits, choice, span, y, w, counts)
    warm = (choice >= 0) & ~np.isnan(point.expected)
    residual = y[idx] - point.expected
    rarity = np.where(residual >= 0, point.upper.z(residual, point.spread), point.lower.z(-residual, point.spread))
    fitted = np.where(warm, small_sample_z(np.sign(residual) * rarity, point.valid), np.nan)
    point_nlp = _point_nlp(fits, choice, span, y, fitted, tie_breaks(times[idx], config.interval_seconds))
    point_nlp = _beyond_yesterday(point_nlp, y, idx, residual, point, config.interval_seconds)
    # z from here on is the point's own evidence (rank or fitted tail) as a normal z of equal rarity, so
    # that the level-shift detector's median of it means the same on a square wave as on white noise.
    z = np.where(warm, np.sign(residual) * z_of_nlp(point_nlp), np.nan)
    z_full = np.full(len(raw), np.nan)
    z_full[idx] = z
    z_full[start - len(z_before) : start] = z_before

    correlation = _pick([f.correlation[span.position] for f in fits], choice)
    shift, held = shift_scores(z_full, idx, w.shift_window, correlation)
    flat, flat_direction = _flatline(raw, span, point, fits, choice, w, counts)
    trend, change = np.zeros(len(idx)), np.zeros(len(idx))
    for number in np.unique(choice[choice >= 0]):  # usually one model: the trend costs a day-long median
        block_trend, block_change = trend_of(fits[number], y, span, w, floor, fits_cache)
        mine = choice == number
        trend[mine], change[mine] = block_trend[span.position[mine]], block_change[span.position[mine]]
    burst, burst_side = burst_nlp(z_full, y, idx, w.shift_window)
    evidence = np.stack([flat / LN10, normal_nlp(shift), normal_nlp(trend), point_nlp, burst])
    evidence[:, ~warm] = 0.0
    weighted = evidence + np.log10(DETECTOR_WEIGHTS)[:, None]
    nlp = cap_evidence(combine(evidence, DETECTOR_WEIGHTS), point.valid, point.moved)
    score = np.where(warm, score_of(nlp), 0.0)
    # The point's kind is the most specific one that is anomalous on its own (a count stream that
    # stops is a flatline, though it is also a drop and a level shift), else the strongest.
    anomalous = weighted >= config.open_nlp
    winner = np.where(np.any(anomalous, axis=0), np.argmax(anomalous, axis=0), np.argmax(weighted, axis=0))
    signs = np.stack([flat_direction, np.sign(held), np.sign(change), np.sign(z), burst_side])
    signs = signs[winner, np.arange(len(idx))]
    kind = np.where(winner >= 3, np.where(signs > 0, "spike", "drop"), KINDS[winner])
    direction = np.where(signs > 0, "up", np.where(signs < 0, "down", ""))
    return point, z, score, kind, direction, warm


def _point_nlp(fits: list[Fit], choice: Ints, span: Span, y: Floats, z: Floats, ties: Floats) -> Floats:
    """-log10 p of each point's residual: its rank among the window's residuals while any of them lies
    beyond it (calibrated for any noise shape); past all of them, the fitted tail's (which extrapolates
    beyond the data), never weaker than the rank."""
    fitted = normal_nlp(z)
    nlp = fitted.copy()
    for number in np.unique(choice[choice >= 0]):
        mine = np.flatnonzero(choice == number)
        fit = fits[number]
        residual = y[span.idx[mine]] - fit.expected[mine]
        rows = span.position[mine]
        p, beyond = rank_p(fit.profile, rows, residual, ties[mine])
        empirical = -np.log10(p)
        nlp[mine] = np.where(beyond > 0, empirical, np.fmax(empirical, fitted[mine]))
    return np.where(np.isnan(z), 0.0, nlp)


def _beyond_yesterday(nlp: Floats, y: Floats, idx: Ints, residual: Floats, point: Point, interval: int) -> Floats:
    """A point as unusual as one within DAILY_REACH of the same time yesterday (a nightly job's spike)
    is the series' own daily habit: its evidence is only what it adds beyond that precedent. Only a
    precedent that was itself unusual (PRECEDENT_Z, on the same side) counts, so on noise this almost
    never applies and the calibration holds; a level shift's earlier level is no precedent either."""
    if interval > DAY_SECONDS // 2:
        return nlp
    reach = max(1, round(DAILY_REACH / interval))
    up = residual >= 0
    edge = np.where(
        up, point.upper.distance(PRECEDENT_Z, point.spread), point.lower.distance(PRECEDENT_Z, point.spread)
    )
    edge = np.fmax(edge, 0.5 * np.abs(residual))[:, None]
    gap, days = np.zeros(len(idx)), np.zeros(len(idx), dtype=np.int64)
    for day in range(1, PRECEDENT_DAYS + 2):
        around = idx[:, None] - day * round(DAY_SECONDS / interval) + np.arange(-2 * reach, 2 * reach + 1)[None, :]
        nearby = gather(y, around)
        then = nearby[:, reach:-reach]
        # Judged two ways: as a value (today is back where it stood then, after the expectation had
        # followed an incident) and as a deviation from that day's own level (a weekday's nightly
        # spike recurring on a quieter weekend).
        nearest = np.full(len(idx), np.inf)
        for before in (then - point.expected[:, None], then - median_rows(nearby)[:, None]):
            with np.errstate(invalid="ignore"):
                precedent = np.where(up[:, None], before, -before) >= edge
            gaps = np.where(precedent, np.abs(residual[:, None] - before), np.inf)
            nearest = np.fmin(nearest, gaps.min(axis=1, initial=np.inf))
        seen = np.isfinite(nearest)
        gap, days = np.where(seen, np.fmax(gap, nearest), gap), days + seen
    found = (days >= PRECEDENT_DAYS) & ~np.isnan(residual)
    if not found.any():
        return nlp
    gap = np.where(found, gap, 0.0)
    rarity = np.where(up, point.upper.z(gap, point.spread), point.lower.z(gap, point.spread))
    added = normal_nlp(small_sample_z(rarity, point.valid))
    return np.where(found, np.fmin(nlp, added), nlp)


@dataclass(frozen=True)
class Point:
    """The chosen model's expectation and residual profile at each point (transformed space)."""

    expected: Floats
    spread: Floats  # IQR-based sd of the residuals, floored by the data's resolution
    upper: Tail
    lower: Tail
    valid: Floats  # residuals behind the profile: how much history the spread rests on
    moved: NDArray[np.bool_]  # whether the series changed at all over that window

    @classmethod
    def build(cls, fits: list[Fit], choice: Ints, span: Span, y: Floats, w: Windows, counts: bool) -> Point:
        position = span.position
        expected = _pick([f.expected + f.profile.centre[position] for f in fits], choice)
        spread = _pick([f.profile.spread[position] for f in fits], choice)
        valid = _pick([f.profile.valid[position].astype(np.float64) for f in fits], choice)
        if counts:
            floor, moved = np.full(len(expected), POISSON_SD), np.ones(len(expected), dtype=bool)
        else:
            quantum, typical_change = resolution(y, span.out_starts, w.scale_window)
            moved = np.isfinite(quantum[position])
            # A series that moves in steps (integers, a rounded gauge) or by a typical amount is never
            # judged finer than that; one that never moved gets a relative floor, and capped evidence.
            floor = np.where(
                moved,
                np.fmax(0.5 * quantum[position], 0.5 * typical_change[position]),
                0.01 * np.abs(np.nan_to_num(expected)) + 1e-9,
            )
        tails = []
        for side in ("upper", "lower"):
            per_model = [getattr(f.profile, side) for f in fits]
            tails.append(
                Tail(*(_pick([getattr(t, name)[position] for t in per_model], choice) for name in Tail.FIELDS))
            )
        return cls(expected, np.fmax(spread, floor), tails[0], tails[1], valid, moved)


def resolution(y: Floats, starts: Ints, window: int) -> tuple[Floats, Floats]:
    """Per block, over the `window` points before it: the data's quantum (smallest non-zero change
    between neighbours; NaN when nothing changed) and the median absolute change."""
    change = np.abs(np.diff(y, prepend=np.nan))
    ordered, valid = sorted_rows(gather(change, windows_before(starts, window)))
    positive = np.where(ordered > 0, ordered, np.inf).min(axis=1, initial=np.inf)
    typical = quantile_sorted(ordered, valid, 0.5)
    return np.where(np.isfinite(positive), positive, np.nan), np.nan_to_num(typical)


def _flatline(
    raw: Floats,
    span: Span,
    point: Point,
    fits: list[Fit],
    choice: Ints,
    w: Windows,
    counts: bool,
) -> tuple[Floats, Floats]:
    """Flatline evidence (nats: -ln p) and direction: a count stream gone silent, or a continuous series gone
    missing or stuck at one value, each judged by how unlikely such a run is for this series."""
    idx, cap = span.idx, w.episode_memory
    if counts:
        run = run_lengths(np.nan_to_num(raw, nan=0.0) == 0, cap)[idx]
        totals = [
            lagged_run_totals(f.model, raw, idx, run) if f.model.seasonal else run * counts_of(f.typical) for f in fits
        ]
        dispersion = np.fmax((point.spread / POISSON_SD) ** 2, 1.0)
        nats = np.nan_to_num(_pick(totals, choice)) / dispersion
        return np.where(run >= w.flat_min, nats, 0.0), np.full(len(idx), -1.0)
    present = ~np.isnan(raw)
    same = np.zeros(len(raw), dtype=bool)
    same[1:] = raw[1:] == raw[:-1]
    pairs = np.zeros(len(raw), dtype=bool)
    pairs[1:] = present[1:] & present[:-1]
    scores = []
    for flags, valid in ((~present, np.ones(len(raw), dtype=bool)), (same, pairs)):
        rate = window_rate(flags, valid, span.out_starts, w.scale_window)[span.position]
        nats, run = rate_nats(flags, rate, idx, cap)
        scores.append(np.where(run >= w.flat_min, nats, 0.0))
    return np.fmax(scores[0], scores[1]), np.zeros(len(idx))


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
    alert = alert_points(active, score, w.episode_memory, direction, sustained=SUSTAINED_COOL_DOWNS * w.cool_down)
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
