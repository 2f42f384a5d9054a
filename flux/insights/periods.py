"""The insight periods: the last 24 hours, 7 or 30 days ending now, against the same length just before. Pure.

They carry the names the time-range parameter gives the same rolling stretches (`last_7d`), so a name
means one thing across the API: `week` is always the calendar week (see flux.query.timerange).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flux.query.query_params import InvalidParameter
from flux.query.timerange import TimeRange


@dataclass(frozen=True)
class Period:
    name: str
    length: timedelta
    over: str  # "week-over-week"
    current: str  # "the last 7 days"
    previous: str  # "the 7 days before"


PERIODS = {
    "last_24h": Period("last_24h", timedelta(days=1), "day-over-day", "the last 24 hours", "the 24 hours before"),
    "last_7d": Period("last_7d", timedelta(days=7), "week-over-week", "the last 7 days", "the 7 days before"),
    "last_30d": Period("last_30d", timedelta(days=30), "month-over-month", "the last 30 days", "the 30 days before"),
}
DEFAULT_PERIOD = "last_7d"
# The names insights used before; `week` there meant the last 7 days, but the calendar week everywhere else.
RENAMED = {"day": "last_24h", "week": "last_7d", "month": "last_30d"}


def get_period(name: str | None) -> Period:
    """The period of that name (default last_7d); any other name is a 400 naming `period`."""
    period = PERIODS.get(name or DEFAULT_PERIOD)
    if period is not None:
        return period
    message = f"period must be one of {', '.join(PERIODS)} (rolling, ending now)"
    if name in RENAMED:
        message += f"; for the last {PERIODS[RENAMED[name]].current.removeprefix('the last ')} use {RENAMED[name]}"
        message += " (`week` and `month` name calendar periods elsewhere in the API)"
    raise InvalidParameter("period", message)


def period_ranges(period: Period, now: datetime, zone: ZoneInfo) -> tuple[TimeRange, TimeRange]:
    """(current, previous): the period ending now, and the one of the same length just before it."""
    current = TimeRange(now - period.length, now, zone)
    return current, TimeRange(current.start - period.length, current.start, zone)
