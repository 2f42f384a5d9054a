"""Timestamp cells to epoch seconds: ISO 8601, epoch seconds / ms / us / ns told apart by magnitude, or row numbers."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Literal

import numpy as np

from anomalies.detection.regularize import real_times

from . import InputError
from .local_dates import DateOrder, LocalDate, local_date, local_seconds
from .wall_clock import local_instants

TimeUnit = Literal["auto", "s", "ms", "us", "ns", "index"]
TIME_UNITS: tuple[TimeUnit, ...] = ("auto", "s", "ms", "us", "ns", "index")
SECONDS_PER = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
UNIT_NAMES = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}
# Epoch seconds stay below 10^11 until the year 5138; each unit reaches the next power of 1000 in 1973,
# so any date from 1973 to 5138 has exactly one reading.
UNITS: tuple[TimeUnit, ...] = ("s", "ms", "us", "ns")
CEILINGS = np.array([1e11, 1e14, 1e17])
INDEX_LIMIT = 10_000_000  # consecutive integers below this are row numbers (as epoch seconds: April 1970)
SMALL_SECONDS = 1e8  # epoch seconds below this (before 1973) are rarely dates: say how they were read
DEFAULT_INDEX_INTERVAL = 3600  # Yahoo S5 A1 and most row-numbered public data sets are hourly
ACCEPTED = "ISO 8601 such as 2024-01-31T12:00:00Z, 1/31/2024 1:00 PM, epoch seconds, ms, us or ns, or row numbers"

_DATE = re.compile(r"(\d{4})[-/](\d{1,2})(?:[-/](\d{1,2}))?(?=$|[T ])")
_ZONE_WORD = re.compile(r"\s*(UTC|GMT)$", re.IGNORECASE)
_ONE_DIGIT_HOUR = re.compile(r"^([T ])(\d):")
_HALF_DAY = re.compile(r"\s*([AaPp])\.?[Mm]\.?$")


def read_times(
    cells: list[str],
    lines: list[int],
    unit: TimeUnit = "auto",
    index_interval: int = DEFAULT_INDEX_INTERVAL,
    date_order: DateOrder = "auto",
    timezone: str = "UTC",
) -> tuple[np.ndarray, list[str]]:
    """Epoch seconds per cell and notes on how they were read (none when plainly ISO or epoch seconds).
    Dates and times written without an offset are wall-clock times in `timezone`."""
    nan = math.nan
    number_list, second_list = [nan] * len(cells), [nan] * len(cells)
    local: dict[int, LocalDate] = {}
    naive = np.zeros(len(cells), dtype=bool)
    for row, cell in enumerate(cells):
        number = plain_number(cell)
        if number is not None and not math.isnan(number):
            number_list[row] = number
        elif (date := local_date(cell.strip(), lines[row])) is not None:
            local[row], naive[row] = date, True
        else:
            second_list[row], naive[row] = iso_reading(cell.strip(), lines[row])
    notes = []
    if local:
        found, note = local_seconds(local, cells, lines, date_order)
        for row, moment in found.items():
            second_list[row] = moment
        notes.append(note)
    seconds, note = _numbers_read(cells, lines, np.array(number_list), np.array(second_list), unit, index_interval)
    outside = np.flatnonzero(np.isfinite(seconds) & ~real_times(seconds))
    if len(outside):
        raise _out_of_range(cells, lines, int(outside[0]))
    # Dates alone (every naive time at midnight) are days, as YYYYMMDD numbers are: read as local
    # midnights they would land an hour off across a change, two days in one bucket where the offset
    # crosses 0 (London's summer midnight is 23:00 UTC the day before).
    if timezone != "UTC" and naive.any() and np.any(seconds[naive] % 86400):
        seconds[naive], skipped = local_instants(seconds[naive], timezone)
        notes.append(f"timestamps without an offset read as local time in {timezone} (--timezone)")
        notes += _skipped_note(cells, lines, np.flatnonzero(naive)[skipped], timezone)
    return seconds, notes + ([note] if note else [])


def _skipped_note(cells: list[str], lines: list[int], rows: np.ndarray, timezone: str) -> list[str]:
    if not len(rows):
        return []
    first = int(rows[0])
    return [
        f"{len(rows):,} {'timestamp falls' if len(rows) == 1 else 'timestamps fall'} in a time the clocks skipped "
        f"in {timezone} (the first on line {lines[first]}, {cells[first].strip()!r}): such a time exists in no "
        "reading, and is read with the offset before the change, as if the clocks had not moved yet"
    ]


def _out_of_range(cells: list[str], lines: list[int], row: int) -> InputError:
    return InputError(
        f"line {lines[row]}: the timestamp {cells[row].strip()!r} is out of range: it reads as a time outside"
        " the years 1 to 9999 (--time-unit s|ms|us|ns|index reads numbers another way)"
    )


def _numbers_read(
    cells: list[str], lines: list[int], numbers: np.ndarray, seconds: np.ndarray, unit: TimeUnit, index_interval: int
) -> tuple[np.ndarray, str | None]:
    """The seconds with the numeric cells read in their unit (guessed when auto), and a note on the guess."""
    if np.isinf(numbers).any():
        row = int(np.flatnonzero(np.isinf(numbers))[0])
        raise InputError(f"line {lines[row]}: the timestamp {cells[row].strip()!r} is out of range")
    numeric = ~np.isnan(numbers)
    if not numeric.any():
        return seconds, None
    if unit == "auto" and numeric.all():
        dates = _compact_dates(numbers)
        if dates is not None:
            return dates, "timestamps read as dates written YYYYMMDD (--time-unit s reads them as seconds)"
    guessed = unit == "auto"
    if guessed:
        unit = "index" if numeric.all() and _row_numbers(numbers) else _unit_by_magnitude(numbers, cells, lines)
    if unit == "index":
        if not numeric.all():
            line = lines[int(np.argmin(numeric))]
            raise InputError(f"line {line}: row numbers (--time-unit index) must all be numbers")
        return numbers * index_interval, _index_note(numbers, index_interval)
    seconds[numeric] = numbers[numeric] * SECONDS_PER[unit]
    return seconds, _unit_note(unit, numbers[numeric]) if guessed else None


def plain_number(text: str) -> float | None:
    """The number written (inf and nan included), or None; float() alone would also take `1_000`."""
    try:
        number = float(text)
    except ValueError:
        return None
    return None if "_" in text else number


def iso_seconds(text: str, line: int) -> float:
    """ISO 8601 (T or space, Z, offsets, fractions; naive means UTC), also 2024/01/31, 2024-1-31 and 2024-01."""
    return iso_reading(text, line)[0]


def iso_reading(text: str, line: int) -> tuple[float, bool]:
    """iso_seconds, and whether the time was written without an offset (naive)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = _loose_iso(text, line)
    try:
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp(), moment.tzinfo is None
    except (ValueError, OverflowError):
        raise InputError(f"line {line}: the timestamp {text!r} is out of range") from None


def _loose_iso(text: str, line: int) -> datetime:
    normal = _ZONE_WORD.sub("+00:00", text)
    half = _HALF_DAY.search(normal)
    normal = normal[: half.start()] if half else normal
    date = _DATE.match(normal)
    if date:
        year, month, day = date.groups()
        clock = _ONE_DIGIT_HOUR.sub(r"\g<1>0\2:", normal[date.end() :])
        normal = f"{year}-{int(month):02d}-{int(day or 1):02d}{clock}"
    try:
        moment = datetime.fromisoformat(normal)
    except ValueError:
        raise InputError(f"line {line}: cannot read the timestamp {text!r} ({ACCEPTED})") from None
    if half and not 1 <= moment.hour <= 12:
        raise InputError(f"line {line}: cannot read the timestamp {text!r} (hour {moment.hour} with AM/PM)")
    return moment.replace(hour=moment.hour % 12 + (12 if half.group(1) in "Pp" else 0)) if half else moment


def _row_numbers(numbers: np.ndarray) -> bool:
    """Non-negative integers below INDEX_LIMIT that mostly step by one: 1, 2, 3, ... (gaps allowed)."""
    if numbers.min() < 0 or numbers.max() >= INDEX_LIMIT or np.any(numbers != np.floor(numbers)):
        return False
    distinct = np.unique(numbers)
    return len(distinct) > 1 and float(np.median(np.diff(distinct))) == 1.0


def _compact_dates(numbers: np.ndarray) -> np.ndarray | None:
    """Epoch seconds of 20240131-style dates, if every number is one (from 1900 to 2099), else None."""
    if numbers.min() < 19000101 or numbers.max() > 20991231 or np.any(numbers != np.floor(numbers)):
        return None
    seconds = np.empty(len(numbers))
    for row, number in enumerate(numbers.astype(np.int64)):
        try:
            moment = datetime(int(number // 10000), int(number // 100 % 100), int(number % 100), tzinfo=UTC)
        except ValueError:
            return None
        seconds[row] = moment.timestamp()
    return seconds


def _unit_by_magnitude(numbers: np.ndarray, cells: list[str], lines: list[int]) -> TimeUnit:
    """The unit of the typical magnitude; a cell of another magnitude is an error, not a date in 1970."""
    present = np.flatnonzero(~np.isnan(numbers))
    no_instant = np.flatnonzero(~real_times(numbers[present] * SECONDS_PER["ns"]))  # in no unit (1e300)
    if len(no_instant):
        raise _out_of_range(cells, lines, int(present[no_instant[0]]))
    units = np.searchsorted(CEILINGS, np.abs(numbers[present]), side="right")
    typical = int(np.searchsorted(CEILINGS, np.median(np.abs(numbers[present])), side="right"))
    odd = np.flatnonzero(units != typical)
    if len(odd):
        row = int(present[odd[0]])
        raise InputError(
            f"line {lines[row]}: the timestamp {cells[row].strip()} reads as epoch "
            f"{UNIT_NAMES[UNITS[units[odd[0]]]]} but most are epoch {UNIT_NAMES[UNITS[typical]]}"
            " (--time-unit s|ms|us|ns reads them all one way)"
        )
    return UNITS[typical]


def _unit_note(unit: TimeUnit, numbers: np.ndarray) -> str | None:
    if unit != "s":
        return f"timestamps read as epoch {UNIT_NAMES[unit]} (from their magnitude; --time-unit overrides)"
    if np.abs(numbers).max() < SMALL_SECONDS:
        return "timestamps read as seconds (since 1970 or since a start); row numbers need --time-unit index"
    return None


def _index_note(numbers: np.ndarray, index_interval: int) -> str:
    return (
        f"timestamps {numbers.min():.0f} to {numbers.max():.0f} read as row numbers, one row every "
        f"{duration_text(index_interval)} (--index-interval SECONDS changes it; --time-unit s reads them as seconds)"
    )


def duration_text(seconds: int) -> str:
    for size, name in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds % size == 0:
            count = seconds // size
            return f"{name}" if count == 1 else f"{count} {name}s"
    return f"{seconds} s"
