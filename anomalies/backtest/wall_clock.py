"""Timestamps written without an offset, read as wall-clock times in a zone (--timezone)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import numpy as np


def local_instants(walls: np.ndarray, timezone: str) -> tuple[np.ndarray, list[int]]:
    """Epoch seconds of wall-clock times in `timezone`, given as if they were UTC, in file order; and the
    rows whose time the clocks skipped (they exist in no reading: said, not silently moved).

    An hour the clocks go back over is written twice: a time in it is its first pass until a row of that
    day goes back to before a time already seen in that hour, its second pass from then on (so 02:00,
    02:30, 02:00, 02:30 reads as summer, summer, winter, winter time). A time equal to the latest seen
    starts the second pass only in a file with rows as far apart as the clocks went back, or further
    (02:00 written twice, hourly; 01:30 twice, half-hourly, where they go back half an hour); closer rows
    at the same time are events at the same moment. A file written newest first is read
    from its end, so that its older pass is still the first. A time the clocks skipped is read at the
    offset before the change (zoneinfo's fold 0), an hour later than written.
    """
    zone = ZoneInfo(timezone)
    out = np.empty(len(walls))
    steps = np.diff(walls)
    newest_first = np.count_nonzero(steps < 0) > np.count_nonzero(steps > 0)
    gaps = np.abs(steps[steps != 0])
    spacing = float(np.median(gaps)) if gaps.size else 0.0
    latest: dict[date, float] = {}  # per day, the latest time seen in an hour written twice
    second_pass: set[date] = set()  # days whose hour written twice is on its second pass
    skipped = []
    for row in range(len(walls) - 1, -1, -1) if newest_first else range(len(walls)):
        wall = float(walls[row])
        moment = datetime.fromtimestamp(wall, UTC).replace(tzinfo=zone)
        second = moment.replace(fold=1)
        went_back = _offset(moment) - _offset(second)
        if went_back > 0:  # written twice: summer time, then winter time
            day, seen = moment.date(), latest.get(moment.date(), -np.inf)
            if day in second_pass or wall < seen or (wall == seen and spacing >= went_back):
                moment = second
                second_pass.add(day)
            latest[day] = max(seen, wall)
        elif went_back < 0:
            skipped.append(row)
        out[row] = moment.timestamp()
    return out, sorted(skipped)


def _offset(moment: datetime) -> float:
    offset = moment.utcoffset()
    return offset.total_seconds() if offset is not None else 0.0
