"""The expected events a minute of a busy count series in the minutes ahead, for the minute checks
(anomalies.detection.silence), from its own bucket counts, with how uncertain that is. Pure (numpy only).

The detector's expectation of its latest bucket lags a daily swing: on Poisson series swinging by half
over the day it reads from 0.6 to 1.3 of the true rate depending on the hour, about 0.8 on a morning
ramp (docs/anomaly-detection.md, "Minutes to alert"). The minute checks turn the rate straight into
tail probabilities, so a rate 20% low makes stops and drops a quarter to a half slower to call, and a
rate 20% high calls silences that are not there. Here the rate is the same time of day on the previous
days, scaled by how busy today is against them:

    rate = (mean count of the same hour around now on each previous day, a minute)
           x (today's counts over LEVEL_MINUTES) / (the previous days' over the same minutes)

Today's level stops SKIP_MINUTES before the latest bucket, so an anomaly that began less than that ago
does not lower (or raise) the rate it is judged against. Each of the three sums is a Poisson count (over
the series' dispersion), so the rate's relative variance is about the sum of their reciprocals; the
checks pay for it (silence.minute_evidence); when the previous days' ratios of that hour to their level
differ by more than that (busy series, whose days differ by more than counting noise), their spread
counts instead, once a test shows it (days_differ). No rate (None) with fewer than MIN_DAYS previous days, or
no events in a sum: the caller keeps the detector's expectation. The previous days are the project's
local days (a Clock: after a change of clocks, the same hour yesterday is 23 or 25 hours back).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .localtime import UTC_CLOCK, Clock
from .robust import Floats

DAY_SECONDS = 86400
MAX_DAYS = 7
MIN_DAYS = 3
PROFILE_MINUTES = 60  # the same time of day, centred on the minutes ahead
LEVEL_MINUTES = 180  # how busy today is...
SKIP_MINUTES = 30  # ...up to this long before the latest bucket's end
# The days-differ part of the variance is charged once the days' spread passes counting noise's at this
# p (days_differ: DIFFER_Z its normal quantile), tested at the hour around now or pooled over this many
# hours of the same days (one at each whole hour back from now).
DIFFER_P = 0.01
# Each sum holds every bucket under CLIP_FACTOR times its window's median plus CLIP_Z counting sds (and one):
# a surge, or a late batch of events for a past minute, is an anomaly of its own and not how busy a day is
# (600 late events in one bucket doubled the rate, and a steady series then opened a critical drop).
CLIP_FACTOR, CLIP_Z = 1.5, 4.0
DIFFER_Z = 2.326
DIFFER_HOURS = 24


def minute_rate(
    counts: Floats, interval_seconds: int, dispersion: float = 1.0, clock: Clock = UTC_CLOCK
) -> tuple[float, float] | None:
    """(expected events a minute just after the last of `counts`, the relative variance of that
    estimate) for bucket counts of `interval_seconds` on a regular grid (missing buckets NaN; `clock`:
    the grid's, for local days), or None."""
    counts = np.asarray(counts, dtype=np.float64)
    per_day = DAY_SECONDS // interval_seconds
    half_profile = max(PROFILE_MINUTES * 60 // interval_seconds // 2, 1)
    level_span = max(LEVEL_MINUTES * 60 // interval_seconds, 1)
    skip = SKIP_MINUTES * 60 // interval_seconds
    now = len(counts)  # the bucket just after the history
    level_end = now - skip
    if DAY_SECONDS % interval_seconds:
        return None
    # Each previous day's level window and hour around now, at the same local time.
    lags = np.arange(1, MAX_DAYS + 1) * per_day
    level_starts = np.array([clock.back(np.array([level_end - level_span]), lag)[0] for lag in lags])
    centres = np.array([clock.back(np.array([now]), lag)[0] for lag in lags])
    known = level_starts >= 0
    if np.count_nonzero(known) < MIN_DAYS:
        return None
    days, starts, centres = lags[known] // per_day, level_starts[known], centres[known]
    noise = max(dispersion, 1.0)
    today = held_sum(counts[level_end - level_span : level_end], noise)
    befores = np.array([held_sum(counts[start : start + level_span], noise) for start in starts])
    profiles = np.array([held_sum(counts[max(centre - half_profile, 0) : centre + half_profile], noise)
                         for centre in centres])  # fmt: skip
    before, profile = float(befores.sum()), float(profiles.sum())
    if min(today, before, profile) <= 0:
        return None
    minutes = 2 * half_profile * interval_seconds / 60 * len(days)
    rate = profile / minutes * today / (before / len(days))
    variance = noise * (1 / today + 1 / before + 1 / profile)
    return rate, variance + days_differ(
        profiles, befores, noise, lambda: pooled_differ(counts, interval_seconds, noise, clock)
    )


def held_sum(window: np.ndarray, noise: float) -> float:
    """The window's sum (missing buckets left out), each bucket held under what its median could give."""
    values = window[np.isfinite(window)]
    if not len(values):
        return 0.0
    middle = float(np.median(values))
    bound = CLIP_FACTOR * middle + CLIP_Z * math.sqrt(max(middle, 1.0) * noise) + 1
    return float(np.minimum(values, bound).sum())


def days_differ(profiles: np.ndarray, befores: np.ndarray, noise: float, pooled: Callable[[], bool]) -> float:
    """The relative variance the rate gains because its previous days differ by more than counting noise
    (the hour's shape moves, a weekend, an outage on one day), from their sums of the hour around now and
    of the level: 0 unless a test at DIFFER_P shows it, at that hour or `pooled` over the day's hours."""
    if not (np.all(befores > 0) and np.all(profiles > 0)):
        return 0.0
    # Today's hour-to-level ratio is one more draw from the previous days' ratios: the part of their spread
    # that counting noise does not explain is added, for today and for their mean. With counting noise
    # alone, days - 1 times that spread over counting's is about chi-square of days - 1 degrees of freedom,
    # so the part comes out above 0 for half the series whose days do not differ: it is charged only past
    # the test. Seven days are too few to tell a moving shape from noise at one hour, but what moves it (a
    # day early or late, a weekend) moves the day's other hours too; a cause at one hour alone (an outage)
    # is large, and that hour shows it.
    ratios = profiles / befores
    spread = float(np.var(ratios, ddof=1)) / float(np.mean(ratios)) ** 2
    counting = noise * float(np.mean(1 / profiles + 1 / befores))
    if spread <= counting:
        return 0.0
    if spread * (len(ratios) - 1) <= counting * chi2_upper(len(ratios) - 1) and not pooled():
        return 0.0
    return (spread - counting) * (1 + 1 / len(ratios))


def pooled_differ(counts: Floats, interval_seconds: int, noise: float, clock: Clock) -> bool:
    """Whether the previous days' spread, pooled over DIFFER_HOURS hours back from now (the sum of each
    hour's days - 1 times its spread over counting noise's, a chi-square of their sum), passes counting
    noise's at DIFFER_P."""
    spreads, countings, freedoms = day_spreads(counts, interval_seconds, noise, clock)
    statistic = float((freedoms * spreads / countings).sum())
    return bool(freedoms.sum()) and statistic > chi2_upper(int(freedoms.sum()))


def day_spreads(
    counts: Floats, interval_seconds: int, noise: float, clock: Clock
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per hour of DIFFER_HOURS back from now: the previous days' hour-to-level ratios' relative variance
    (as days_differ's at now), what counting noise gives it, and its degrees of freedom (days - 1; 0, and
    a spread of 0, for an hour without MIN_DAYS days, or with a day without events in a sum)."""
    per_day, hour = DAY_SECONDS // interval_seconds, max(3600 // interval_seconds, 1)
    half = max(PROFILE_MINUTES * 60 // interval_seconds // 2, 1)
    span, skip = max(LEVEL_MINUTES * 60 // interval_seconds, 1), SKIP_MINUTES * 60 // interval_seconds
    sums = np.concatenate([[0.0], np.cumsum(np.nan_to_num(np.asarray(counts, dtype=np.float64)))])
    ats = len(counts) - np.arange(DIFFER_HOURS) * hour
    lags = np.arange(1, MAX_DAYS + 1) * per_day
    starts = np.stack([clock.back(ats - skip - span, lag) for lag in lags], axis=1)  # hours x days
    centres = np.stack([clock.back(ats, lag) for lag in lags], axis=1)
    known = starts >= 0
    last = len(counts)
    befores = sums[np.clip(starts + span, 0, last)] - sums[np.clip(starts, 0, last)]
    profiles = sums[np.clip(centres + half, 0, last)] - sums[np.clip(centres - half, 0, last)]
    days = known.sum(axis=1)
    usable = (days >= MIN_DAYS) & np.all(~known | ((befores > 0) & (profiles > 0)), axis=1)
    read = known & usable[:, None]
    n = np.maximum(days, 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(read, profiles / befores, 0.0)
        means = ratios.sum(axis=1) / n
        spreads = (np.where(read, ratios - means[:, None], 0.0) ** 2).sum(axis=1) / (n - 1)
        countings = noise * np.where(read, 1 / profiles + 1 / befores, 0.0).sum(axis=1) / n
        spreads = np.where(usable, spreads / means**2, 0.0)
    return spreads, np.where(usable, countings, 1.0), np.where(usable, days - 1, 0)


def chi2_upper(freedom: int | np.integer) -> float:
    """The upper DIFFER_P point of chi-square with `freedom` degrees of freedom (Wilson and Hilferty's cube,
    within 0.3% of it from 2 degrees of freedom up)."""
    ninths = 2 / (9 * float(freedom))
    return float(freedom) * (1 - ninths + DIFFER_Z * math.sqrt(ninths)) ** 3
