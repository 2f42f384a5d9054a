"""The daily-habit rule: a point as unusual as the same time on the days before is the series' own habit."""

from __future__ import annotations

import numpy as np

from .calibration import normal_nlp, small_sample_z
from .localtime import UTC_CLOCK, Clock
from .point import Point
from .robust import Floats, Ints, gather, median_rows

DAY_SECONDS = 86400
DAILY_REACH = 900  # seconds either side of the same time yesterday where a precedent may lie
PRECEDENT_DAYS = 2  # ...on this many of the PRECEDENT_DAYS + 1 days before
MAX_REACH_POINTS = 15  # points read either side (a minute's buckets: all of them)
PRECEDENT_Z = 3.0  # a precedent was itself at least this unusual (normal z of equal rarity)


def beyond_yesterday(
    nlp: Floats, y: Floats, idx: Ints, residual: Floats, point: Point, interval: int, clock: Clock = UTC_CLOCK
) -> Floats:
    """A point as unusual as one within DAILY_REACH of the same time yesterday (a nightly job's spike)
    is the series' own daily habit: its evidence is only what it adds beyond that precedent. Only a
    precedent that was itself unusual (PRECEDENT_Z, on the same side) counts, so on noise this almost
    never applies and the calibration holds; a level shift's earlier level is no precedent either."""
    if interval > DAY_SECONDS // 2:
        return nlp
    # Below a minute, DAILY_REACH is hundreds of points: every stride-th of them is read (as many as at a
    # minute), else the rows x window matrix grows to gigabytes at one-second buckets.
    points = max(1, round(DAILY_REACH / interval))
    stride = -(-points // MAX_REACH_POINTS)
    reach = -(-points // stride)  # in strides
    up = residual >= 0
    edge = np.where(
        up, point.upper.distance(PRECEDENT_Z, point.spread), point.lower.distance(PRECEDENT_Z, point.spread)
    )
    edge = np.fmax(edge, 0.5 * np.abs(residual))[:, None]
    gap, days = np.zeros(len(idx)), np.zeros(len(idx), dtype=np.int64)
    for day in range(1, PRECEDENT_DAYS + 2):
        same_time = clock.back(idx, day * round(DAY_SECONDS / interval))  # the same local time that day
        around = same_time[:, None] + stride * np.arange(-2 * reach, 2 * reach + 1)[None, :]
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
