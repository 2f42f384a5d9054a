"""Every point's evidence from each detector (before episodes), combined into one calibrated score."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .baseline import Blocks, candidate_models, lagged_run_totals
from .calibration import LN10, cap_evidence, combine, normal_nlp, rank_p, score_of, small_sample_z, tie_breaks, z_of_nlp
from .config import MIN_SAME_TIME, DetectorConfig, Windows
from .detectors import (
    POISSON_SD,
    anscombe,
    burst_nlp,
    counts_of,
    precedent_nats,
    run_nats,
    shift_scores,
    window_continuation,
    window_rate,
)
from .drift import drift_nlp
from .fitting import Fit, FitCache, Span, choose_models, fit_model, trend_of
from .habit import beyond_yesterday
from .localtime import Clock
from .point import Point, pick
from .robust import Floats, Ints, Profile, run_lengths, unresolved

KINDS = np.array(["flatline", "level_shift", "trend_change", "point", "burst", "trend_change"])
# Weighted Bonferroni (calibration.combine): the point detector fires on clean series most, so it
# carries most of the weight; each of the others costs one decade of evidence or more. The last is the
# drift (drift.py: a level moving away over hours, named a trend change).
DETECTOR_WEIGHTS = np.array([0.1, 0.1, 0.025, 0.7, 0.05, 0.025])
POINT = 3  # the point detector's row
SPECIFIC_FIRST = np.array([0, 1, 2, 5, 3, 4])  # which detector names a point anomalous on several counts
# The weekly model is consulted while its error over the week is within WEEKLY_REACH of the chosen model's,
# where the two expect values at least WEEKLY_APART spreads apart (_weekly_opinion; issue #12, ninth pass).
WEEKLY_REACH = 1.25
WEEKLY_APART = 2.0
SAME_TIME_WEIGHT = 0.2  # the time-of-day reading's share of the point detector's (weighted Bonferroni)


def point_results(
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
    clock = Clock.of(config.timezone, float(times[0]), config.interval_seconds, len(raw))
    span = Span(idx, blocks, block_of, out_ids, blocks.starts(out_ids), clock)
    floor = POISSON_SD if counts else 0.0
    fits = [fit_model(model, y, span, w, fits_cache) for model in candidate_models(config)]
    choice = choose_models(fits, w.scale_min)[span.position]
    # Where the chosen model has no expectation (its lags are missing), fall back to the local one.
    choice = np.where(np.isnan(pick([f.expected for f in fits], choice)) & (choice > 0), 0, choice)
    point = Point.build(fits, choice, span, y, w, counts, fits_cache)
    warm = (choice >= 0) & ~np.isnan(point.expected)
    residual, fitted = _fitted_z(point, y, idx)
    fitted = np.where(warm, fitted, np.nan)
    ties = tie_breaks(times[idx], config.interval_seconds)
    point_nlp = _point_nlp(fits, choice, span, y, fitted, ties)
    point_nlp = _weekly_opinion(point_nlp, point, fits, choice, span, y, w, counts, ties, fits_cache)
    point_nlp = beyond_yesterday(point_nlp, y, idx, residual, point, config.interval_seconds, clock)
    # z from here on is the point's own evidence (rank or fitted tail) as a normal z of equal rarity, so
    # that the level-shift detector's median of it means the same on a square wave as on white noise.
    z = np.where(warm, np.sign(residual) * z_of_nlp(point_nlp), np.nan)
    z_full = np.full(len(raw), np.nan)
    z_full[idx] = z
    z_full[start - len(z_before) : start] = z_before

    correlation = pick([f.correlation[span.position] for f in fits], choice)
    shift, held = shift_scores(z_full, idx, w.shift_window, correlation)
    flat, flat_direction = _flatline(raw, span, point, fits, choice, w, counts)
    trend, change = np.zeros(len(idx)), np.zeros(len(idx))
    for number in np.unique(choice[choice >= 0]):  # usually one model: the trend costs a day-long median
        block_trend, block_change = trend_of(fits[number], y, span, w, floor, fits_cache)
        mine = choice == number
        trend[mine], change[mine] = block_trend[span.position[mine]], block_change[span.position[mine]]
    burst, burst_side = burst_nlp(z_full, y, idx, w.shift_window)
    drift, drift_side = drift_nlp(
        y, idx, span.out_starts, span.position, config.interval_seconds, w.block_seconds, point.spread, ties, clock
    )
    evidence = np.stack([flat / LN10, normal_nlp(shift), normal_nlp(trend), point_nlp, burst, drift])
    evidence[:, ~warm] = 0.0
    weighted = evidence + np.log10(DETECTOR_WEIGHTS)[:, None]
    nlp = cap_evidence(combine(evidence, DETECTOR_WEIGHTS), point.valid, point.moved)
    score = np.where(warm, score_of(nlp), 0.0)
    # The point's kind is the most specific one that is anomalous on its own (a count stream that
    # stops is a flatline, though it is also a drop and a level shift), else the strongest.
    anomalous = weighted[SPECIFIC_FIRST] >= config.open_nlp
    first = SPECIFIC_FIRST[np.argmax(anomalous, axis=0)]
    winner = np.where(np.any(anomalous, axis=0), first, np.argmax(weighted, axis=0))
    signs = np.stack([flat_direction, np.sign(held), np.sign(change), np.sign(z), burst_side, drift_side])
    signs = signs[winner, np.arange(len(idx))]
    kind = np.where((winner == POINT) | (winner == POINT + 1), np.where(signs > 0, "spike", "drop"), KINDS[winner])
    direction = np.where(signs > 0, "up", np.where(signs < 0, "down", ""))
    return point, z, score, kind, direction, warm


def _fitted_z(point: Point, y: Floats, idx: Ints) -> tuple[Floats, Floats]:
    """Each point's residual from the model's expectation, and its fitted tail's z (read as a Student t)."""
    residual = unresolved(y[idx], point.expected)
    rarity = np.where(residual >= 0, point.upper.z(residual, point.spread), point.lower.z(-residual, point.spread))
    return residual, small_sample_z(np.sign(residual) * rarity, point.valid)


def _weekly_opinion(
    point_nlp: Floats,
    chosen: Point,
    fits: list[Fit],
    choice: Ints,
    span: Span,
    y: Floats,
    w: Windows,
    counts: bool,
    ties: Floats,
    fits_cache: FitCache | None,
) -> Floats:
    """The point's evidence, where the weekly model is about as accurate as the chosen one (its error over
    the week within WEEKLY_REACH of it) but expects a value WEEKLY_APART spreads or more away from the chosen
    one's: the smaller of the two models' evidence. Where the two agree on what to expect, the chosen one
    judges alone (so the score's calibration on clean series stays as it was).

    The choice goes by accuracy over the whole week, which a daily model often wins (a median of seven
    days is steadier than one week's lag) on a series whose week has a shape: a weekday business is quiet
    at weekends. The daily model then expects a weekday on Saturday morning: a new series' first weekend
    is news, but its second began with a critical drop too. A point is unusual only if the model that
    knows the week finds it unusual too.
    """
    number = next((k for k, fit in enumerate(fits) if fit.model.name == "weekly"), None)
    if number is None:
        return point_nlp
    fit, position = fits[number], span.position
    chosen_error = pick([f.error[position] for f in fits], choice)
    consulted = (
        (choice >= 0)
        & (choice != number)
        & (fit.profile.valid[position] >= w.scale_min)
        & np.isfinite(fit.expected)
        & (fit.error[position] <= WEEKLY_REACH * chosen_error)
    )
    # Where even the weekly model's own spread, unfloored, puts the two expectations close, they agree
    # (the floored test below implies this one): most points, so the weekly point is built for few series.
    expected = fit.expected + fit.profile.centre[position]
    consulted &= np.abs(expected - chosen.expected) >= WEEKLY_APART * np.fmax(
        fit.profile.spread[position], chosen.spread
    )
    if not consulted.any():
        return point_nlp
    other = np.where(consulted, number, choice)
    point = Point.build(fits, other, span, y, w, counts, fits_cache)
    consulted &= np.abs(point.expected - chosen.expected) >= WEEKLY_APART * np.fmax(point.spread, chosen.spread)
    if not consulted.any():
        return point_nlp
    _, fitted = _fitted_z(point, y, span.idx)
    return np.where(consulted, np.fmin(point_nlp, _point_nlp(fits, other, span, y, fitted, ties)), point_nlp)


def _point_nlp(fits: list[Fit], choice: Ints, span: Span, y: Floats, z: Floats, ties: Floats) -> Floats:
    """-log10 p of each point's residual: its rank among the window's residuals while any of them lies
    beyond it (calibrated for any noise shape); past all of them, the fitted tail's (which extrapolates
    beyond the data), never weaker than the rank. Read twice where the days before allow it: against the
    week's residuals and against those at the same time of day (a nightly job's spikes make a moderate
    afternoon spike ordinary for the week, not for the afternoon), combined by weighted Bonferroni."""
    fitted = normal_nlp(z)
    nlp = fitted.copy()
    for number in np.unique(choice[choice >= 0]):
        mine = np.flatnonzero(choice == number)
        fit = fits[number]
        residual = unresolved(y[span.idx[mine]], fit.expected[mine])
        rows = span.position[mine]
        p, beyond = rank_p(fit.profile, rows, residual, ties[mine])
        empirical = -np.log10(p)
        nlp[mine] = np.where(beyond > 0, empirical, np.fmax(empirical, fitted[mine]))
        if fit.same_time is not None:
            at_time = _same_time_nlp(fit.same_time, rows, residual, fitted[mine], ties[mine])
            read = np.isfinite(at_time)
            both = np.fmax(nlp[mine], at_time + np.log10(SAME_TIME_WEIGHT))
            nlp[mine] = np.where(read, np.maximum(both, 0.0), nlp[mine])
    return np.where(np.isnan(z), 0.0, nlp)


def _same_time_nlp(profile: Profile, rows: Ints, residual: Floats, fitted: Floats, ties: Floats) -> Floats:
    """The point's -log10 p by its rank among the residuals at its time of day; beyond all of them, the
    week's fitted tail (`fitted`) says how far: a few days of one time of day show too little of a tail
    to extrapolate from (NaN where too few residuals are known)."""
    p, beyond = rank_p(profile, rows, residual, ties)
    empirical = -np.log10(p)
    nlp = np.where(beyond > 0, empirical, np.fmax(empirical, fitted))
    return np.where(profile.valid[rows] >= MIN_SAME_TIME, nlp, np.nan)


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
    missing or stuck at one value, each judged by how unlikely such a run is for this series (how often
    such runs start, and how often they went on, over the last week)."""
    idx, cap = span.idx, w.episode_memory
    if counts:
        run = run_lengths(np.nan_to_num(raw, nan=0.0) == 0, cap)[idx]
        totals = [
            lagged_run_totals(f.model, raw, idx, run, span.clock) if f.model.seasonal else run * counts_of(f.typical)
            for f in fits
        ]
        dispersion = np.fmax((point.spread / POISSON_SD) ** 2, 1.0)
        nats = np.nan_to_num(pick(totals, choice)) / dispersion
        return np.where(run >= w.flat_min, nats, 0.0), np.full(len(idx), -1.0)
    present = ~np.isnan(raw)
    same = np.zeros(len(raw), dtype=bool)
    same[1:] = unresolved(raw[1:], raw[:-1]) == 0
    pairs = np.zeros(len(raw), dtype=bool)
    pairs[1:] = present[1:] & present[:-1]
    scores = []
    every = np.ones(len(raw), dtype=bool)
    for flags, valid in ((~present, every), (same, pairs)):
        rate = window_rate(flags, valid, span.out_starts, w.scale_window)
        # Read a day earlier than the start rate, so that a run under way does not vouch for itself.
        # Every point after a flagged one counts, a gap too: a gap ends a run of repeats in the run
        # length judged, so it must end one in the continuation too (else a series that idles, then
        # goes missing, seems to repeat for ever).
        goes_on = window_continuation(flags, every, span.out_starts - cap, w.scale_window, rate)
        lengths = run_lengths(flags, cap)
        nats, run = run_nats(lengths, rate[span.position], goes_on[span.position], idx)
        ends = idx - run + 1  # the run under way never vouches for itself; the runs just before it do
        nats = np.fmin(nats, precedent_nats(lengths, run, ends, w.scale_window, w.flat_min))
        scores.append(np.where(run >= w.flat_min, nats, 0.0))
    return np.fmax(scores[0], scores[1]), np.zeros(len(idx))
