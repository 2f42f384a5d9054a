"""Time ranges and buckets for queries: parsing `from`/`to`/`period`/`interval`, and bucket maths.

Pure functions (no ORM). Calendar things (days, weeks, months, periods like "yesterday") follow the
project's timezone, so a DST day has 23 or 25 hours; sub-day intervals are fixed lengths.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

RELATIVE = re.compile(r"-(\d{1,6})(s|m|h|d|w)")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
FIXED_INTERVALS = {"1m": 60, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600, "3h": 10800, "6h": 21600, "12h": 43200}
CALENDAR_INTERVALS = ("1d", "1w", "1mo")
INTERVAL_LADDER = (*FIXED_INTERVALS, *CALENDAR_INTERVALS)
PERIODS = (
    "today", "yesterday", "week", "last_week", "month", "last_month", "year",
    "last_24h", "last_7d", "last_30d", "last_90d",
)  # fmt: skip
MAX_POINTS = 2000
# Every instant of a range lies in these bounds (README): far from datetime's limits, so that bucket maths,
# time zones and comparisons with an earlier period of the same length never overflow.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
BOUNDS_TEXT = "between 1970-01-01 and 2200-01-01 (UTC)"
AUTO_MAX_POINTS = 300
T = TypeVar("T")


class RangeError(ValueError):
    """A bad time parameter; `parameter` names it for the error message."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


@dataclass(frozen=True)
class TimeRange:
    start: datetime  # inclusive
    end: datetime  # exclusive
    zone: ZoneInfo

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def parse_instant(value: str, parameter: str, now: datetime, zone: ZoneInfo) -> datetime:
    """ISO 8601 (a date or a time without offset is in the project's zone), epoch ms, `now`, or `-7d`;
    within EARLIEST..LATEST."""
    return within_bounds(parameter, lambda: read_instant(value, parameter, now, zone))


def read_instant(value: str, parameter: str, now: datetime, zone: ZoneInfo) -> datetime:
    value = value.strip()
    if value == "now":
        return now
    if match := RELATIVE.fullmatch(value):
        return now - timedelta(seconds=int(match[1]) * UNIT_SECONDS[match[2]])
    if value.isdigit():
        try:
            return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise RangeError(parameter, f"{parameter} is out of range") from None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise RangeError(
            parameter, f"{parameter} must be ISO 8601, epoch milliseconds, 'now' or relative like -24h, -7d"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def period_range(period: str, now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """A named calendar period in `zone`; periods that include today end now."""
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    first_of_month = today.replace(day=1)
    previous_month_start = (first_of_month - timedelta(days=1)).replace(day=1)
    ranges = {
        "today": (local_midnight(today, zone), now),
        "yesterday": (local_midnight(today - timedelta(days=1), zone), local_midnight(today, zone)),
        "week": (local_midnight(monday, zone), now),
        "last_week": (local_midnight(monday - timedelta(days=7), zone), local_midnight(monday, zone)),
        "month": (local_midnight(first_of_month, zone), now),
        "last_month": (local_midnight(previous_month_start, zone), local_midnight(first_of_month, zone)),
        "year": (local_midnight(today.replace(month=1, day=1), zone), now),
    }
    if period in ranges:
        return ranges[period]
    if period.startswith("last_") and period[5:-1].isdigit():
        return parse_instant(f"-{period[5:]}", "period", now, zone), now
    raise RangeError("period", f"period must be one of {', '.join(PERIODS)}")


def resolve_zone(name: str | None, default: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or default)
    except (ValueError, KeyError, OSError):
        raise RangeError("timezone", f"timezone {name!r} is not an IANA time zone name") from None


def parse_range(params: dict[str, str], now: datetime, project_timezone: str) -> TimeRange:
    """`from`/`to` (default: the last 24 hours) or `period`, never both; every instant within the bounds."""
    zone = resolve_zone(params.get("timezone"), project_timezone)
    if params.get("period"):
        if params.get("from") or params.get("to"):
            raise RangeError("period", "give either period or from/to, not both")
        start, end = within_bounds("period", lambda: period_range(params["period"], now, zone))
    else:
        end = parse_instant(params["to"], "to", now, zone) if params.get("to") else now
        start = parse_instant(params["from"], "from", now, zone) if params.get("from") else end - timedelta(days=1)
    if start >= end:
        raise RangeError("from", "from must be before to")
    return TimeRange(start, end, zone)


def within_bounds(parameter: str, compute: Callable[[], T]) -> T:
    """`compute()`'s instant(s), refused (naming the parameter) outside EARLIEST..LATEST or past datetime's range."""
    try:
        result = compute()
    except OverflowError:
        result = None
    instants = result if isinstance(result, tuple) else (result,)
    if any(instant is None or not EARLIEST <= instant <= LATEST for instant in instants):
        raise RangeError(parameter, f"{parameter} is out of range: times must be {BOUNDS_TEXT}")
    return result


def bucket_starts(time_range: TimeRange, interval: str) -> list[datetime]:
    """Start of every bucket that overlaps the range, in UTC; the first may begin before the range."""
    if interval in FIXED_INTERVALS:
        step = timedelta(seconds=FIXED_INTERVALS[interval])
        origin = local_midnight(time_range.start.astimezone(time_range.zone).date(), time_range.zone)
        first = origin + ((time_range.start - origin) // step) * step
        count = -(-(time_range.end - first) // step)
        return [first + step * index for index in range(count)]
    day = truncate_local(time_range.start, interval, time_range.zone)
    starts = []
    while local_midnight(day, time_range.zone) < time_range.end:
        starts.append(local_midnight(day, time_range.zone))
        day = next_calendar_start(day, interval)
    return starts


def truncate_local(moment: datetime, interval: str, zone: ZoneInfo) -> date:
    local_day = moment.astimezone(zone).date()
    if interval == "1w":
        return local_day - timedelta(days=local_day.weekday())
    if interval == "1mo":
        return local_day.replace(day=1)
    return local_day


def next_calendar_start(day: date, interval: str) -> date:
    if interval == "1d":
        return day + timedelta(days=1)
    if interval == "1w":
        return day + timedelta(days=7)
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def approximate_seconds(interval: str) -> int:
    return FIXED_INTERVALS.get(interval) or {"1d": 86400, "1w": 604800, "1mo": 2_592_000}[interval]


def widget_interval(time_range: TimeRange, saved: str) -> str:
    """A saved widget's interval over the range it is viewed at: `auto` chooses; a saved one is the finest
    shown, coarsened where it would give more than MAX_POINTS (a widget saved at 1m, viewed over 30 days,
    made the whole dashboard's answer a 500)."""
    if saved == "auto":
        return choose_interval(time_range, None)
    seconds = time_range.duration.total_seconds()
    for candidate in INTERVAL_LADDER[INTERVAL_LADDER.index(saved) :]:
        if seconds / approximate_seconds(candidate) <= MAX_POINTS:
            return candidate
    return INTERVAL_LADDER[-1]


def choose_interval(time_range: TimeRange, requested: str | None) -> str:
    """The requested interval (checked), or the finest one giving at most ~300 points."""
    seconds = time_range.duration.total_seconds()
    if requested:
        if requested not in INTERVAL_LADDER:
            raise RangeError("interval", f"interval must be one of {', '.join(INTERVAL_LADDER)}")
        if seconds / approximate_seconds(requested) > MAX_POINTS:
            raise RangeError("interval", f"interval {requested} gives more than {MAX_POINTS} points for this range")
        return requested
    for candidate in INTERVAL_LADDER:
        if seconds / approximate_seconds(candidate) <= AUTO_MAX_POINTS:
            return candidate
    return INTERVAL_LADDER[-1]


def bucket_sql(interval: str, time_range: TimeRange, column: str = "time") -> tuple[str, list]:
    """SQL (and its parameters) that maps `column` to the start of its bucket, matching `bucket_starts`."""
    if interval in FIXED_INTERVALS:
        origin = local_midnight(time_range.start.astimezone(time_range.zone).date(), time_range.zone)
        return f"date_bin(%s::interval, {column}, %s::timestamptz)", [
            timedelta(seconds=FIXED_INTERVALS[interval]),
            origin,
        ]
    unit = {"1d": "day", "1w": "week", "1mo": "month"}[interval]
    return f"date_trunc(%s, {column}, %s)", [unit, time_range.zone.key]


def bucket_end(start: datetime, interval: str, zone: ZoneInfo) -> datetime:
    """Where the bucket starting at `start` ends (a local calendar boundary for 1d/1w/1mo)."""
    if interval in FIXED_INTERVALS:
        return start + timedelta(seconds=FIXED_INTERVALS[interval])
    return local_midnight(next_calendar_start(start.astimezone(zone).date(), interval), zone)


def covered_seconds(start: datetime, interval: str, time_range: TimeRange) -> float:
    """How much of the bucket starting at `start` lies inside the range (edge buckets are cut)."""
    end = bucket_end(start, interval, time_range.zone)
    return (min(end, time_range.end) - max(start, time_range.start)).total_seconds()
