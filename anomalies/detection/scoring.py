"""score_series and score_latest: the whole detector, computed for any tail of a regular series.

Every intermediate value at a point or block is a function of the data at fixed offsets before it
(lags, windows, blocks aligned to the epoch), never of where the computation starts. So scoring
only the last points, given history_needed(config) seconds of history, gives exactly the values
that scoring the whole series gives there.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .baseline import Blocks, candidate_models, lagged_run_totals
from .config import SCORE_OPEN, DetectorConfig, Windows
from .detectors import (
    POISSON_SD,
    anscombe,
    counts_of,
    nats_to_score,
    point_scores,
    rate_nats,
    shift_scores,
    window_rate,
)
from .episodes import Episode, find_episodes, hysteresis
from .fitting import Fit, Span, choose_models, fit_model, trend_of
from .robust import Floats, Ints, Tail, run_lengths

KINDS = np.array(["flatline", "level_shift", "trend_change", "point"])


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
    """Score every point of a regular series causally (each point sees only the points before it)."""
    t, v = _validated(times, values, config)
    return _score(t, v, config, first=0)


def score_latest(times: ArrayLike, values: ArrayLike, config: DetectorConfig, points: int = 1) -> Scores:
    """Score only the last `points` points: equal to score_series(...).tail(points), much cheaper."""
    t, v = _validated(times, values, config)
    return _score(t, v, config, first=max(0, len(v) - max(points, 1)))


def _validated(times: ArrayLike, values: ArrayLike, config: DetectorConfig) -> tuple[Floats, Floats]:
    t = np.asarray(times, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if t.ndim != 1 or t.shape != v.shape or len(t) == 0:
        raise ValueError("times and values must be non-empty 1-d arrays of the same length")
    if len(t) > 1 and not np.allclose(np.diff(t), config.interval_seconds, rtol=0, atol=1e-3):
        raise ValueError(f"times must be a regular grid of {config.interval_seconds} s (see regularize)")
    return t, v


def _pick(per_model: list[Floats], choice: Ints) -> Floats:
    stacked = np.stack(per_model)
    return np.take_along_axis(stacked, np.maximum(choice, 0)[None, :], axis=0)[0]


def _score(times: Floats, raw: Floats, config: DetectorConfig, first: int) -> Scores:
    w = config.windows
    counts = config.value_kind == "count"
    y = anscombe(raw) if counts else raw
    blocks = Blocks(w.block_seconds, config.interval_seconds, round(times[0]))
    block_of = blocks.ids(times)
    # Hysteresis looks back episode_memory + cool_down scores; a score looks back at most
    # episode_memory points (flatline runs) or shift_window (level shifts).
    start = max(0, first - (w.episode_memory + w.cool_down + max(w.shift_window, w.episode_memory)))
    idx = np.arange(start, len(raw))
    out_ids = np.arange(block_of[start], block_of[-1] + 1)
    span = Span(idx, blocks, block_of, out_ids, blocks.starts(out_ids))
    floor = POISSON_SD if counts else 0.0
    fits = [fit_model(model, y, span, w) for model in candidate_models(config)]
    choice = choose_models(fits, w.scale_min)[span.position]
    # Where the chosen model has no expectation (its lags are missing), fall back to the local one.
    choice = np.where(np.isnan(_pick([f.expected for f in fits], choice)) & (choice > 0), 0, choice)
    point = Point.build(fits, choice, span.position, counts)
    seen = np.flatnonzero(~np.isnan(raw))
    first_seen = times[0] if counts else times[seen[0]] if len(seen) else np.inf
    warm = (choice >= 0) & (times[idx] - first_seen >= w.warmup_seconds)
    residual = y[idx] - point.expected
    rarity = np.where(residual >= 0, point.upper.z(residual, point.spread), point.lower.z(-residual, point.spread))
    z = np.where(warm, np.sign(residual) * rarity, np.nan)
    z_full = np.full(len(raw), np.nan)
    z_full[idx] = z

    correlation = _pick([f.correlation[span.position] for f in fits], choice)
    shift, held = shift_scores(z_full, idx, w.shift_window, correlation, config.z_half)
    flat, flat_direction = _flatline(raw, span, point, fits, choice, w, config, counts)
    trend, change = np.zeros(len(idx)), np.zeros(len(idx))
    for number in np.unique(choice[choice >= 0]):  # usually one model: the trend costs a day-long median
        block_trend, block_change = trend_of(fits[number], y, span, w, floor, config.z_half)
        mine = choice == number
        trend[mine], change[mine] = block_trend[span.position[mine]], block_change[span.position[mine]]
    stacked = np.nan_to_num(np.stack([flat, shift, trend, point_scores(z, config.z_half)]))
    stacked[:, ~warm] = 0.0
    # The point's score is the highest; its kind is the most specific one that is anomalous on its own
    # (a count stream that stops is a flatline, though it is also a drop and a level shift).
    score = np.max(stacked, axis=0)
    winner = np.where(
        np.any(stacked >= SCORE_OPEN, axis=0), np.argmax(stacked >= SCORE_OPEN, axis=0), np.argmax(stacked, axis=0)
    )
    signs = np.stack([flat_direction, np.sign(held), np.sign(change), np.sign(z)])[winner, np.arange(len(idx))]
    kind = np.where(winner == 3, np.where(z > 0, "spike", "drop"), KINDS[winner])
    direction = np.where(signs > 0, "up", np.where(signs < 0, "down", ""))
    return _assemble(times, raw, first - start, point, z, score, kind, direction, warm, w, config, counts)


@dataclass(frozen=True)
class Point:
    """The chosen model's expectation and residual profile at each point (transformed space)."""

    expected: Floats
    spread: Floats  # IQR-based sd of the residuals, floored (Poisson noise for counts)
    upper: Tail
    lower: Tail

    @classmethod
    def build(cls, fits: list[Fit], choice: Ints, position: Ints, counts: bool) -> Point:
        expected = _pick([f.expected + f.profile.centre[position] for f in fits], choice)
        spread = _pick([f.profile.spread[position] for f in fits], choice)
        floor = np.full(len(expected), POISSON_SD) if counts else 1e-3 * np.abs(expected) + 1e-9
        tails = []
        for side in ("upper", "lower"):
            per_model = [getattr(f.profile, side) for f in fits]
            tails.append(
                Tail(*(_pick([getattr(t, name)[position] for t in per_model], choice) for name in Tail.FIELDS))
            )
        return cls(expected, np.fmax(spread, floor), tails[0], tails[1])


def _flatline(
    raw: Floats,
    span: Span,
    point: Point,
    fits: list[Fit],
    choice: Ints,
    w: Windows,
    config: DetectorConfig,
    counts: bool,
) -> tuple[Floats, Floats]:
    """Flatline score and direction: a count stream gone silent, or a continuous series gone
    missing or stuck at one value, each judged by how unlikely such a run is for this series."""
    idx, cap = span.idx, w.episode_memory
    if counts:
        run = run_lengths(np.nan_to_num(raw, nan=0.0) == 0, cap)[idx]
        totals = [
            lagged_run_totals(f.model, raw, idx, run) if f.model.seasonal else run * counts_of(f.typical) for f in fits
        ]
        dispersion = np.fmax((point.spread / POISSON_SD) ** 2, 1.0)
        nats = np.nan_to_num(_pick(totals, choice)) / dispersion
        return np.where(run >= w.flat_min, nats_to_score(nats, config.z_half), 0.0), np.full(len(idx), -1.0)
    present = ~np.isnan(raw)
    same = np.zeros(len(raw), dtype=bool)
    same[1:] = raw[1:] == raw[:-1]
    pairs = np.zeros(len(raw), dtype=bool)
    pairs[1:] = present[1:] & present[:-1]
    scores = []
    for flags, valid in ((~present, np.ones(len(raw), dtype=bool)), (same, pairs)):
        rate = window_rate(flags, valid, span.out_starts, w.scale_window)[span.position]
        nats, run = rate_nats(flags, rate, idx, cap)
        scores.append(np.where(run >= w.flat_min, nats_to_score(nats, config.z_half), 0.0))
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
    active = hysteresis(score, w.cool_down, w.episode_memory)
    # Points cooling down inside an episode keep the kind of the last point that was clearly anomalous.
    index = np.arange(len(score))
    last_open = np.maximum.accumulate(np.where(score >= SCORE_OPEN, index, 0))
    kind = np.where(active, np.where(score >= SCORE_OPEN, kind, kind[last_open]), "")
    direction = np.where(active, np.where(score >= SCORE_OPEN, direction, direction[last_open]), "")
    # The band is where a point scores under 0.5: z_half, read through each tail's own shape.
    centre = point.expected
    high = centre + point.upper.distance(config.z_half, point.spread)
    low = centre - point.lower.distance(config.z_half, point.spread)
    if counts:
        centre, low, high = counts_of(centre), counts_of(low), counts_of(high)
    blank = np.where(warm, 1.0, np.nan)
    keep = slice(offset, None)
    tail = len(times) - len(score) + offset
    return Scores(
        times=times[tail:],
        values=raw[tail:],
        expected=(centre * blank)[keep],
        lower=(low * blank)[keep],
        upper=(high * blank)[keep],
        score=score[keep],
        is_anomaly=active[keep],
        kind=kind[keep].astype(str),
        direction=direction[keep].astype(str),
        z=z[keep],
    )
