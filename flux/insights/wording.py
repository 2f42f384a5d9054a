"""Numbers, changes and moments written for people. Pure, English, independent of the process locale.

Choices: counts below a million with thousands separators (1,234), larger ones compact (1.2M, 3.4B);
other numbers to three significant digits (12.3, 0.0457). Percentages whole from 10% up (23%), with
one decimal below (4.2%). A moment is named by its local hour in the project's timezone: "today around
14:00", "yesterday around 09:00", the weekday within the last week ("Tuesday around 14:00"), else the
weekday and date ("Tuesday 3 November around 14:00").
"""

import math
from datetime import datetime
from zoneinfo import ZoneInfo

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
COMPACT = ((1e12, "T"), (1e9, "B"), (1e6, "M"))


def round_half_up(value: float, digits: int = 0) -> float:
    """Rounding as people expect it (2.5 → 3), not Python's round-half-to-even."""
    scale = 10**digits
    return math.copysign(math.floor(abs(value) * scale + 0.5) / scale, value)


def strip_zeros(text: str) -> str:
    """ "4.50" → "4.5", "13.0" → "13"."""
    return text.rstrip("0").rstrip(".") if "." in text else text


def number(value: float) -> str:
    """1,234; 1.2M; 12.3; 0.0457."""
    size = abs(value)
    for threshold, suffix in COMPACT:
        if size >= threshold * 0.99995:  # 999,999.6 reads as 1M, not 1,000,000
            scaled = round_half_up(value / threshold, 1 if size < threshold * 100 else 0)
            return f"{strip_zeros(f'{scaled:.1f}')}{suffix}"
    if size >= 100 or float(value).is_integer():
        return f"{round_half_up(value):,.0f}"
    if size >= 1e-4:
        digits = 2 - math.floor(math.log10(size))  # three significant digits
        return strip_zeros(f"{round_half_up(value, digits):.{digits}f}")
    return f"{value:.2e}"


def percent(value: float) -> str:
    """23%, 4.2%, 1,250% (the sign is left to the words around it)."""
    size = abs(value)
    if round_half_up(size, 1) >= 10:
        return f"{round_half_up(size):,.0f}%"
    return f"{strip_zeros(f'{round_half_up(size, 1):.1f}')}%"


def trend(change: float | None, significant: bool) -> str:
    """ "up", "down" or "steady" (a change that is not significant is steady)."""
    if not significant or not change:
        return "steady"
    return "up" if change > 0 else "down"


def moment(at: datetime, now: datetime, zone: ZoneInfo) -> str:
    """ "today around 14:00", "yesterday around 09:00", "Tuesday around 14:00", "Tuesday 3 November around 14:00"."""
    local = at.astimezone(zone)
    days_ago = (now.astimezone(zone).date() - local.date()).days
    hour = f"{local.hour:02d}:{local.minute:02d}"
    if days_ago == 0:
        day = "today"
    elif days_ago == 1:
        day = "yesterday"
    elif 1 < days_ago < 7:
        day = WEEKDAYS[local.weekday()]
    else:
        day = f"{WEEKDAYS[local.weekday()]} {local.day} {MONTHS[local.month - 1]}"
    return f"{day} around {hour}"


def local_time(at: datetime, zone: ZoneInfo) -> str:
    """ "Tuesday 17 November 14:00" in the zone, for fact labels."""
    local = at.astimezone(zone)
    return f"{WEEKDAYS[local.weekday()]} {local.day} {MONTHS[local.month - 1]} {local.hour:02d}:{local.minute:02d}"


def plural(count: float, singular: str, plural_form: str | None = None) -> str:
    """ "1 anomaly", "3 anomalies", "1,234 events"."""
    word = singular if count == 1 else plural_form or f"{singular}s"
    return f"{number(count)} {word}"


def joined(items: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def sentence(text: str) -> str:
    """The text with its first letter capitalised (names like `user.signup` are left alone elsewhere)."""
    return text[:1].upper() + text[1:]
