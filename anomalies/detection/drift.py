"""Drift: a level change that builds up over hours to a day, which the two-hour local expectation and
the 12-hour level of the seasonal models follow as it comes, so that no single point is unusual.

Each point's change is its value less the median of the same time on the seven days before (a day's
pattern cancels out, and a rise spread over a day or two shows in full); the reading is the median of
the changes over the last six hours (a one-hour spike, even a tenfold one, moves it to its 58% quantile
at most). It is judged against the same reading at the start of every two-hour block over three weeks,
ending a day before the point's block (a drift under way does not widen its own yardstick): its rank
among them while any lies beyond it; past all of them a normal with that side's own spread, read as a
Student t with one degree of freedom per six hours of yardstick (its spread is itself an estimate). The
reading counts only while the last hour still stands at least half as far out the same way (a series
back at its level is no longer drifting, though the six-hour median lags for three hours), and only when it
did not arrive as a step (from under a quarter to three quarters of it within two blocks, in the four days
before): the level shift detector tells a step at once, and read as a drift it stayed one for days.

A point equal to the same time on every day before (a count stream before its first event) gives no
reading: weeks of such zeros are no yardstick.

Per point: seven lagged values and two medians (six hours, one hour); per block one profile of the
yardstick's readings. Only for 5-minute to hourly buckets: finer ones would need medians of hundreds of
points per row. It depends on the data alone (no carry for score_incremental).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from .calibration import normal_nlp, rank_p, small_sample_z
from .localtime import UTC_CLOCK, Clock
from .robust import Floats, Ints, gather, median_rows, quantile_sorted, row_profile, windows_before

HOUR = 3600
DAY = 86400
LEVEL_SECONDS = 6 * HOUR  # the level whose drift is judged
NOW_SECONDS = HOUR  # the level that must still stand out (a drift over, the series back, is not one)
LAGS = 7  # the same six hours on each of the last seven days...
MIN_LAGS = 3  # ...of which at least this many known
YARDSTICK_DAYS = 21  # readings over three weeks...
GAP_DAYS = 1  # ...ending a day before the block
MIN_YARDSTICK_DAYS = 7  # fewer readings than a week's: no drift evidence yet
QUARTILE_Z = 0.6745  # the standard normal's 75% quantile
HOLD_SHARE = 0.5  # the last hour must stand at least this share of the drift out, the same way
STEP_BLOCKS = 2  # a drift reached from under a quarter to three quarters within this many blocks...
STEPPED_DAYS = 4  # ...in the days a step displaces the change for (most of the seven days before): a step
FINEST, COARSEST = 300, HOUR  # bucket widths the drift is read at
# A yardstick of MIN_YARDSTICK_DAYS needs readings that far back, each with MIN_LAGS days before it, and
# ends GAP_DAYS before the block: a shorter history has no drift evidence (the scan's eight days at
# five minutes never has), so it is not computed.
SHORTEST_DAYS = MIN_LAGS + GAP_DAYS + MIN_YARDSTICK_DAYS


def drift_applies(interval: int) -> bool:
    return FINEST <= interval <= COARSEST and (2 * HOUR) % interval == 0


def drift_history_points(interval: int, block_seconds: int) -> int:
    """Points before a block that its drift readings reach back to."""
    if not drift_applies(interval):
        return 0
    reach = (GAP_DAYS + YARDSTICK_DAYS + LAGS) * DAY + LEVEL_SECONDS + block_seconds
    return math.ceil(reach / interval)


def drift_nlp(
    y: Floats, idx: Ints, block_starts: Ints, position: Ints, interval: int, block_seconds: int,
    floor: Floats, ties: Floats, clock: Clock = UTC_CLOCK,
) -> tuple[Floats, Floats]:  # fmt: skip
    """-log10 p of the drift at each point of idx (a tail of y) and its side (+1 up, -1 down).

    block_starts: index of the first point of each block covering idx (may be negative); position: each
    point's block among them; floor: per point, the point detector's spread (the data's resolution).
    """
    nothing = np.zeros(len(idx))
    if not drift_applies(interval) or not len(idx) or len(y) * interval < SHORTEST_DAYS * DAY:
        return nothing, nothing
    period, level = DAY // interval, round(LEVEL_SECONDS / interval)
    per_block, blocks_a_day = block_seconds // interval, DAY // block_seconds
    # Each point against the same time on the days before: what is left is the level's change.
    first = (GAP_DAYS + YARDSTICK_DAYS) * blocks_a_day
    low = max(int(block_starts[0]) - first * per_block - level, 0)
    points = np.arange(low, len(y))
    lagged = gather(y, np.stack([clock.back(points, day * period) for day in range(1, LAGS + 1)], 1))
    change = np.full(len(y), np.nan)
    change[low:] = np.where(_idle(y[low:], lagged), np.nan, y[low:] - median_rows(lagged, min_count=MIN_LAGS))
    # Its median over the last six hours: at every block start (the yardstick: the readings of the
    # three weeks before the day before each block), and at each point.
    starts = block_starts[0] + per_block * np.arange(-first, len(block_starts))
    readings = _levels(change, starts - 1, level)
    back = np.arange(GAP_DAYS * blocks_a_day, first)
    yardstick = readings[first + np.arange(len(block_starts))[:, None] - back[None, :]]
    now = _levels(change, idx, level)

    profile = row_profile(yardstick)
    enough = profile.valid >= MIN_YARDSTICK_DAYS * DAY // block_seconds
    distance = now - profile.centre[position]
    # Each side read as a normal with that side's own spread (its quartile, and where its tail starts):
    # a weekly pattern makes the readings lopsided (every weekend reads low), which must not hide a rise.
    # A few weeks of readings (autocorrelated, about one independent per six hours) are too few to fit a
    # Pareto tail's shape to: read as one, a rise of eight sd scored like one of four.
    quartiles = quantile_sorted(profile.ordered, profile.valid, np.array([[0.25, 0.75]] * len(profile.valid)))
    up = np.fmax((quartiles[:, 1] - profile.centre) / QUARTILE_Z, profile.upper.start / profile.upper.z_p)
    down = np.fmax((profile.centre - quartiles[:, 0]) / QUARTILE_Z, profile.lower.start / profile.lower.z_p)
    # Never steadier than independent noise allows (a median of n points moves by 1.25 sd / sqrt(n), and
    # the reading is the difference of two), nor finer than the readings' own step (medians of integers).
    noise = 1.25 * math.sqrt(2.0 / level) * floor
    spread = np.fmax(
        np.fmax(np.where(distance >= 0, up[position], down[position]), noise), _step(profile.ordered)[position]
    )
    rarity = np.abs(distance) / spread
    independent = profile.valid[position] * block_seconds / max(LEVEL_SECONDS, block_seconds)
    fitted = normal_nlp(small_sample_z(rarity, independent))
    p, beyond = rank_p(profile, position, np.nan_to_num(now), ties)
    empirical = -np.log10(p)
    nlp = np.where(beyond > 0, empirical, np.fmax(empirical, fitted))

    standing = _levels(change, idx, max(round(NOW_SECONDS / interval), 1)) - profile.centre[position]
    side = np.sign(distance)
    holding = (np.sign(standing) == side) & (np.abs(standing) >= HOLD_SHARE * np.abs(distance))
    stepped = _stepped(readings, first + position, STEPPED_DAYS * blocks_a_day, profile.centre[position], distance)
    usable = holding & enough[position] & np.isfinite(distance) & ~stepped
    return np.where(usable, np.nan_to_num(nlp), 0.0), np.where(usable, side, 0.0)


def _stepped(readings: Floats, current: Ints, blocks: int, centre: Floats, distance: Floats) -> NDArray[np.bool_]:
    """Per point: its drift arrived as a step. Over the `blocks` block-start readings up to the point's block
    (`current`) and its own, the last one below a quarter of the drift was followed within STEP_BLOCKS
    blocks by one at three quarters of it or more. A drift that builds up over hours takes longer; a
    weekend ending (every Monday reads higher than Sunday) rises to where the series always is, not to the
    drift.

    A step leaves the change displaced until most of the seven days before are past it (three to four
    days), so read alone it was a drift all that time, though the level shift told it at once.
    """
    window = gather(readings, windows_before(current + 1, blocks))
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.sign(distance)[:, None] * (window - centre[:, None]) / np.abs(distance)[:, None]
    share = np.concatenate([share, np.ones((len(share), 1))], axis=1)  # and the point's own reading, the drift
    below = share < 0.25
    last_below = blocks - np.argmax(below[:, ::-1], axis=1)
    after = np.arange(blocks + 1)[None, :] > last_below[:, None]
    first_high = np.argmax((share >= 0.75) & after, axis=1)
    reached = np.any((share >= 0.75) & after, axis=1)
    return np.any(below, axis=1) & reached & (first_high - last_below <= STEP_BLOCKS)


def _idle(values: Floats, lagged: Floats) -> NDArray[np.bool_]:
    """Points equal to every known value at the same time on the days before (a count stream before its
    first event, a gauge that has not moved): their change of 0 is no reading of how the series drifts.
    Counted, weeks of them made a yardstick of exact zeros, and any move after a drift of p = 1e-50."""
    with np.errstate(invalid="ignore"):
        return (np.fmin.reduce(lagged, axis=1) == values) & (np.fmax.reduce(lagged, axis=1) == values)


def _levels(y: Floats, points: Ints, width: int) -> Floats:
    """Median of the `width` points up to each of `points` (NaN before the series or with too few)."""
    levels = np.full(len(points), np.nan)
    known = points >= 0
    levels[known] = median_rows(gather(y, windows_before(points[known] + 1, width)), min_count=max(width // 2, 1))
    return levels


def _step(ordered: Floats) -> Floats:
    """Per row of sorted values: the smallest non-zero gap between neighbours (0 if none)."""
    gaps = np.diff(ordered, axis=1)
    smallest = np.where(gaps > 0, gaps, np.inf).min(axis=1, initial=np.inf)
    return np.where(np.isfinite(smallest), smallest, 0.0)
