"""The insight periods: the last day, week or month ending now, against the same length just before. Pure."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flux.query_params import InvalidParameter
from flux.timerange import TimeRange


@dataclass(frozen=True)
class Period:
    name: str
    length: timedelta
    over: str  # "week-over-week"
    current: str  # "the last 7 days"
    previous: str  # "the 7 days before"


PERIODS = {
    "day": Period("day", timedelta(days=1), "day-over-day", "the last 24 hours", "the 24 hours before"),
    "week": Period("week", timedelta(days=7), "week-over-week", "the last 7 days", "the 7 days before"),
    "month": Period("month", timedelta(days=30), "month-over-month", "the last 30 days", "the 30 days before"),
}


def get_period(name: str | None) -> Period:
    """The period of that name (default week); any other name is a 400 naming `period`."""
    period = PERIODS.get(name or "week")
    if period is None:
        raise InvalidParameter("period", f"period must be one of {', '.join(PERIODS)}")
    return period


def period_ranges(period: Period, now: datetime, zone: ZoneInfo) -> tuple[TimeRange, TimeRange]:
    """(current, previous): the period ending now, and the one of the same length just before it."""
    current = TimeRange(now - period.length, now, zone)
    return current, TimeRange(current.start - period.length, current.start, zone)
