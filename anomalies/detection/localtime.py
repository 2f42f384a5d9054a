"""The same local time a number of days (weeks) back, on a regular grid of UTC buckets.

A business's day follows its own clock: when the project's zone moves to summer time, its whole daily
pattern moves an hour earlier in UTC, and "the same time yesterday" is 23 hours back (25 after the
change back). Every seasonal lag of the detector is taken through a Clock: `points` buckets back,
corrected by how much the zone's UTC offset changed in between. In UTC, and in a zone whose offset does
not change over the grid, the lag is exactly `points` back (the same integers as without a clock).

The offset is read at the bucket's start, now and `points` back; a change of offset is rounded to whole
buckets (an hour's change moves an hourly lag by one bucket, a half-hour's by none) and limited to
MAX_SHIFT either way: a zone that crosses the date line (a day's change) keeps its time of day, and no
daylight saving has ever moved clocks by more than two hours. A day's lag then stays over 22 hours
back, so every lag is still well before its point and its block (causal, and the block fits too).
"""

from __future__ import annotations

import functools
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from .robust import Floats, Ints

HOUR = 3600
DAY = 86400
MAX_SHIFT = 2 * HOUR  # the largest change of offset followed (double summer time; Troll's two hours)
SAMPLE = 6 * HOUR  # a zone's offset is sampled this often to find its changes (none come closer)
MIN_YEAR, MAX_YEAR = 1970, 2200


@functools.lru_cache(maxsize=1024)
def zone_or_utc(timezone: str) -> str:
    """The zone if zoneinfo knows it, else UTC: a project's stored zone that no longer reads (a zone
    database without it) must not stop its series from being watched."""
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return timezone


def shift_points(interval: int) -> int:
    """The most a lag moves, in buckets (0: clocks never move a lag at this bucket width)."""
    return round(MAX_SHIFT / interval)


@dataclass(frozen=True)
class Clock:
    """Lags on a grid whose index 0 starts at `origin` (epoch seconds), `interval` seconds a bucket.

    changes / offsets: the epoch seconds at which the zone's UTC offset changes near the grid, and the
    offset (seconds) before the first change and after each; None where lags never move. zone: the
    (name, first year, last year) they were read for, which every clock of that zone and width shares its
    steps by (a scan builds a clock per call)."""

    origin: float
    interval: int
    changes: Floats | None = None
    offsets: Floats | None = None
    zone: tuple[str, int, int] | None = None
    steps: dict[int, tuple[list[int], list[int]]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, timezone: str, origin: float, interval: int, points: int) -> Clock:
        """The clock of a grid of `points` buckets. Only its own span matters (and MAX_SHIFT before it): a
        lag that lands further before the grid is outside it (missing) however the clocks moved."""
        if timezone == "UTC" or not shift_points(interval):
            return cls(origin, interval)
        low, high = origin - DAY, origin + points * interval + DAY
        zone = (timezone, _year(low), _year(high))
        changes, offsets = _offsets(*zone)
        if not np.any((changes >= low) & (changes <= high)):
            return cls(origin, interval)  # no change of offset anywhere near: lags as in UTC
        return cls(origin, interval, changes, offsets, zone)

    def back(self, index: Ints, points: int) -> Ints:
        """Per index, the index of the same local time `points` buckets (a whole number of days) back."""
        lagged = index - points
        if self.changes is None:
            return lagged
        breaks, shifts = self._steps(points)
        if not index.size:
            return lagged
        # Few steps, and most calls lie within one: comparisons, cheaper than a search per index.
        low, high = bisect_right(breaks, int(index.min())), bisect_right(breaks, int(index.max()))
        if shifts[low]:
            lagged += shifts[low]
        for step in range(low, high):
            lagged += (shifts[step + 1] - shifts[step]) * (index >= breaks[step])
        return lagged

    def _steps(self, points: int) -> tuple[list[int], list[int]]:
        """The shift is a step function of the index: it changes only where a change of offset enters the
        lag (at the first bucket from the change on) or leaves it (`points` later). Per lag: those
        indices, and the shift before, between and after them (cached: lags repeat on every call)."""
        if points not in self.steps:
            assert self.zone is not None
            # Found once per zone, width and lag on the epoch's buckets, then moved to this grid's origin:
            # finding them per clock cost ~70 us a lag, a tenth of a scan call across a change.
            phase = self.origin % self.interval
            base = round((self.origin - phase) / self.interval)
            breaks, shifts = _epoch_steps(*self.zone, self.interval, phase, points)
            self.steps[points] = ([at - base for at in breaks], shifts)
        return self.steps[points]


@functools.lru_cache(maxsize=4096)
def _epoch_steps(
    timezone: str, first_year: int, last_year: int, interval: int, phase: float, points: int
) -> tuple[list[int], list[int]]:
    """Clock._steps on the grid whose index 0 starts at `phase` (< interval): indices are epoch buckets."""
    changes, offsets = _offsets(timezone, first_year, last_year)
    first = np.ceil((changes - phase) / interval).astype(np.int64)
    breaks = np.unique(np.concatenate([first, first + points]))
    at = np.concatenate([[breaks[0] - 1], breaks])
    shifts = _shift(changes, offsets, phase + interval * at.astype(np.float64), interval, points)
    return breaks.tolist(), shifts.tolist()


def _shift(changes: Floats, offsets: Floats, now: Floats, interval: int, points: int) -> Ints:
    """Buckets by which the offset changed from `points` back to each time (whole, within MAX_SHIFT)."""
    then = now - interval * points
    moved = offsets[np.searchsorted(changes, now, side="right")] - offsets[np.searchsorted(changes, then, side="right")]
    # A day's change (a zone crossing the date line) leaves the time of day as it was.
    moved = (moved + DAY / 2) % DAY - DAY / 2
    limit = shift_points(interval)
    return np.clip(np.round(moved / interval), -limit, limit).astype(np.int64)


UTC_CLOCK = Clock(0.0, 1)  # lags exactly `points` back


def _year(seconds: float) -> int:
    # Clamped before it is read: fromtimestamp fails outside years 1 to 9999.
    if seconds < _start_of(MIN_YEAR):
        return MIN_YEAR
    if seconds >= _start_of(MAX_YEAR + 1):
        return MAX_YEAR
    return datetime.fromtimestamp(seconds, UTC).year


@functools.lru_cache(maxsize=256)
def _offsets(timezone: str, first_year: int, last_year: int) -> tuple[Floats, Floats]:
    """The changes of the zone's UTC offset from the start of first_year to the end of last_year."""
    parts = [_changes_in(timezone, year) for year in range(first_year, last_year + 1)]
    changes = np.concatenate([part[0] for part in parts])
    offsets = np.concatenate([[_offset(ZoneInfo(timezone), _start_of(first_year))], *(part[1] for part in parts)])
    return changes, offsets


@functools.lru_cache(maxsize=1024)
def _changes_in(timezone: str, year: int) -> tuple[Floats, Floats]:
    """Epoch seconds at which the offset changes during `year`, and the offset after each."""
    zone = ZoneInfo(timezone)
    start, end = _start_of(year), _start_of(year + 1)
    samples = np.arange(start, end + SAMPLE, SAMPLE, dtype=np.float64)
    offsets = np.array([_offset(zone, float(t)) for t in samples])
    changes, after = [], []
    for k in np.flatnonzero(offsets[1:] != offsets[:-1]):
        low, high = float(samples[k]), float(samples[k + 1])
        while high - low > 1:  # bisect to the second
            middle = (low + high) // 2
            low, high = (middle, high) if _offset(zone, middle) == offsets[k] else (low, middle)
        if start < high <= end:
            changes.append(high)
            after.append(offsets[k + 1])
    return np.array(changes, dtype=np.float64), np.array(after, dtype=np.float64)


def _start_of(year: int) -> float:
    return datetime(year, 1, 1, tzinfo=UTC).timestamp()


def _offset(zone: ZoneInfo, seconds: float) -> float:
    offset = datetime.fromtimestamp(seconds, zone).utcoffset()
    return offset.total_seconds() if offset is not None else 0.0
