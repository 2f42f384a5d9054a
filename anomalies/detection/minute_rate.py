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
counts instead. No rate (None) with fewer than MIN_DAYS previous days, or
no events in a sum: the caller keeps the detector's expectation. The previous days are the project's
local days (a Clock: after a change of clocks, the same hour yesterday is 23 or 25 hours back).
"""

from __future__ import annotations

import numpy as np

from .localtime import UTC_CLOCK, Clock
from .robust import Floats

DAY_SECONDS = 86400
MAX_DAYS = 7
MIN_DAYS = 3
PROFILE_MINUTES = 60  # the same time of day, centred on the minutes ahead
LEVEL_MINUTES = 180  # how busy today is...
SKIP_MINUTES = 30  # ...up to this long before the latest bucket's end


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
    today = float(np.nansum(counts[level_end - level_span : level_end]))
    befores = np.array([np.nansum(counts[start : start + level_span]) for start in starts])
    profiles = np.array([np.nansum(counts[max(centre - half_profile, 0) : centre + half_profile])
                         for centre in centres])  # fmt: skip
    before, profile = float(befores.sum()), float(profiles.sum())
    if min(today, before, profile) <= 0:
        return None
    minutes = 2 * half_profile * interval_seconds / 60 * len(days)
    rate = profile / minutes * today / (before / len(days))
    noise = max(dispersion, 1.0)
    variance = noise * (1 / today + 1 / before + 1 / profile)
    # Days differ by more than counting noise (the hour's shape moves, a weekend, an outage on one day).
    # Today's hour-to-level ratio is one more draw from the previous days' ratios: the part of their
    # spread that counting noise does not explain is added, for today and for their mean.
    if np.all(befores > 0) and np.all(profiles > 0):
        ratios = profiles / befores
        spread = float(np.var(ratios, ddof=1)) / float(np.mean(ratios)) ** 2
        counting = noise * float(np.mean(1 / profiles + 1 / befores))
        variance += max(spread - counting, 0.0) * (1 + 1 / len(days))
    return rate, variance
