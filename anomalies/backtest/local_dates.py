"""Dates written the local way, year last: 1/31/2024 1:05 PM (month first), 31/01/2024 13:05, 31.01.2024.

Which of the first two numbers is the day is decided once per file: a first number above 12 means day
first, a second one above 12 month first; when no number tells, the order that keeps the rows in time
order wins (files are nearly always written in time order), and month first when both do. Dots
(31.01.2024) always mean day first. `--date-order` overrides.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Literal, NamedTuple

import numpy as np

from . import InputError

DateOrder = Literal["auto", "mdy", "dmy"]
DATE_ORDERS: tuple[DateOrder, ...] = ("auto", "mdy", "dmy")

_LOCAL = re.compile(
    r"(\d{1,2})([/.-])(\d{1,2})[/.-](\d{4})"
    r"(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6})\d*)?)?\s*(?:([AaPp])\.?[Mm]\.?)?)?\s*"
)


class LocalDate(NamedTuple):
    first: int
    second: int
    year: int
    clock: tuple[int, int, int, int]  # hour (24-hour), minute, second, microsecond
    dotted: bool


def local_date(text: str, line: int) -> LocalDate | None:
    """The parts of a local date, or None when the text is not one."""
    match = _LOCAL.fullmatch(text)
    if not match:
        return None
    first, separator, second, year, hour, minute, sec, fraction, half = match.groups()
    hour_number = int(hour or 0)
    if half:
        if not 1 <= hour_number <= 12:
            raise InputError(f"line {line}: cannot read the timestamp {text!r} (hour {hour_number} with AM/PM)")
        hour_number = hour_number % 12 + (12 if half in "Pp" else 0)
    micro = int((fraction or "0").ljust(6, "0"))
    clock = (hour_number, int(minute or 0), int(sec or 0), micro)
    return LocalDate(int(first), int(second), int(year), clock, separator == ".")


def local_seconds(
    dates: dict[int, LocalDate], cells: list[str], lines: list[int], order: DateOrder
) -> tuple[dict[int, float], str]:
    """Epoch seconds of each local date (naive means UTC) and a note on the order chosen and why."""
    rows = sorted(dates)
    chosen, why = (order, "--date-order") if order != "auto" else _decide(dates, rows, cells, lines)
    seconds = {}
    for row in rows:
        seconds[row] = _seconds(dates[row], chosen, cells[row], lines[row])
    name = "month/day/year" if chosen == "mdy" else "day/month/year"
    return seconds, f"dates such as {cells[rows[0]].strip()!r} read as {name} ({why}; --date-order changes it)"


def _decide(dates: dict[int, LocalDate], rows: list[int], cells: list[str], lines: list[int]) -> tuple[DateOrder, str]:
    day_first = [row for row in rows if dates[row].first > 12 or dates[row].dotted]
    month_first = [row for row in rows if dates[row].second > 12]
    if day_first and month_first:
        row, other = day_first[0], month_first[0]
        raise InputError(
            f"line {lines[other]}: {cells[other].strip()!r} has the day second but line {lines[row]}"
            f" ({cells[row].strip()!r}) has it first: --date-order mdy or dmy says which"
        )
    if day_first:
        return "dmy", f"line {lines[day_first[0]]} has the day first"
    if month_first:
        return "mdy", f"line {lines[month_first[0]]} has the day second"
    backwards = {}
    for order in ("mdy", "dmy"):
        try:
            times = np.array([_seconds(dates[row], order, cells[row], lines[row]) for row in rows])  # type: ignore[arg-type]
        except InputError:
            backwards[order] = len(rows)
            continue
        backwards[order] = int(np.count_nonzero(np.diff(times) < 0))
    if backwards["dmy"] < backwards["mdy"]:
        return "dmy", "that order keeps the rows in time order"
    if backwards["mdy"] < backwards["dmy"]:
        return "mdy", "that order keeps the rows in time order"
    return "mdy", "no date tells, month first is the default"


def _seconds(date: LocalDate, order: DateOrder, cell: str, line: int) -> float:
    month, day = (date.first, date.second) if order == "mdy" else (date.second, date.first)
    try:
        return datetime(date.year, month, day, *date.clock, tzinfo=UTC).timestamp()
    except ValueError:
        raise InputError(f"line {line}: {cell.strip()!r} is not a date read as {order}") from None
