"""Which columns hold the time and the value: the options, common names, or no header at all."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from . import InputError
from .local_dates import local_date
from .times import iso_seconds, plain_number

# In order of preference: a file with both `timestamp` and `index` is timed by `timestamp`.
TIME_NAMES = (
    "timestamp", "timestamps", "datetime", "date_time", "time_stamp", "ts", "ds", "time", "date", "period",
    "event_time", "created_at", "month", "week", "day", "hour", "minute", "t", "index", "idx", "row",
)  # fmt: skip
VALUE_NAMES = (
    "value", "values", "y", "count", "counts", "metric", "amount", "close", "total", "sum", "quantity",
    "qty", "sales", "volume", "price", "val", "measurement", "reading", "level", "x", "v",
)  # fmt: skip
# A word of a longer name: `Date (UTC)`, `event_time_ms`, `period_start`.
TIME_WORDS = ("timestamp", "time", "date", "datetime", "ts", "period")
# What databases (null, NULL), R (NA), Excel (#N/A) and pandas (None, <NA>) write for a missing value.
MISSING_WORDS = frozenset({"", "nan", "null", "none", "na", "n/a", "#n/a", "<na>"})
LABEL_NAMES = frozenset(
    {"is_anomaly", "anomaly", "anomalies", "label", "labels", "is_outlier", "outlier", "changepoint", "target"}
)  # labelled data sets carry these beside the value: never read as the value


@dataclass(frozen=True)
class Columns:
    time: int | None  # 0-based; None: no time column, the rows are numbered
    value: int
    has_header: bool
    note: str | None


def choose_columns(first: list[str], line: int, time_option: str | None, value_option: str | None) -> Columns:
    """The columns to read, from the first non-blank row (at `line`)."""
    try:
        return _choose(first, time_option, value_option)
    except InputError as error:
        raise InputError(f"line {line}: {error}") from None


def _choose(first: list[str], time_option: str | None, value_option: str | None) -> Columns:
    names = [normal_name(cell) for cell in first]
    for option, role in ((time_option, "time"), (value_option, "value")):
        if is_column_number(option) and not 1 <= int(option) <= len(first):  # type: ignore[arg-type]
            raise InputError(f"there is no column {int(option)} for the {role} (the first row has {len(first)})")  # type: ignore[arg-type]
    if len(first) == 1 and time_option is None and value_option in (None, "1"):
        return Columns(None, 0, plain_number(first[0]) is None and first[0].strip().lower() not in MISSING_WORDS, None)
    time_guess, value_guess = _number_of(time_option, 0), _number_of(value_option, 1)
    if _is_data(first, time_guess, value_guess):  # no header row would have a timestamp and a number there
        if not _is_number_option(time_option) or not _is_number_option(value_option):
            raise InputError("this row is data, not a header: name the columns by number (1 is the first)")
        note = None if (time_option or value_option) else "no header: time from column 1, values from column 2"
        return Columns(time_guess, value_guess, False, note)
    if time_option is None and value_option is None and plain_number(first[-1]) is None and _is_data(first, 1, 0):
        return Columns(1, 0, False, "no header: values from column 1, time from column 2")
    time = _pick(first, names, time_option, "time", lambda: _time_by_name(first, names))
    value = _pick(first, names, value_option, "value", lambda: _value_by_name(first, names, time))
    if time == value:
        raise InputError(f"the time and the value cannot both be column {time + 1} ({first[time]!r})")
    if time is None:
        return Columns(None, value, True, f"values from column {value + 1} {first[value]!r}")
    plain = names[time] == "timestamp" and names[value] == "value"
    note = f"time from column {time + 1} {first[time]!r}, values from column {value + 1} {first[value]!r}"
    return Columns(time, value, True, None if plain else note)


def normal_name(cell: str) -> str:
    """`Adj Close` -> adj_close, `#Passengers` -> passengers, `Date (UTC)` -> date_utc."""
    return re.sub(r"[^a-z0-9]+", "_", cell.strip().lower()).strip("_")


def is_column_number(option: str | None) -> bool:
    """Whether an option names a column by its number (ASCII digits: int() refuses a superscript two)."""
    return option is not None and option.strip().isascii() and option.strip().isdigit()


def _is_number_option(option: str | None) -> bool:
    return option is None or is_column_number(option)


def _number_of(option: str | None, default: int) -> int:
    return int(option) - 1 if is_column_number(option) else default  # type: ignore[arg-type]


def _is_data(row: list[str], time: int, value: int) -> bool:
    if max(time, value) >= len(row):
        return False
    cell = row[value].strip()
    if cell and plain_number(cell) is None and cell.lower() not in MISSING_WORDS:
        return False
    time_number = plain_number(row[time])
    if time_number is not None:
        return math.isfinite(time_number)
    try:
        iso_seconds(row[time].strip(), 1)
    except InputError:
        try:  # a date written year last (1/31/2024 13:05) is data too
            return local_date(row[time].strip(), 1) is not None
        except InputError:
            return False
    return True


def _pick(
    header: list[str], names: list[str], option: str | None, role: str, default: Callable[[], int | None]
) -> int | None:
    if option is None:
        return default()
    if is_column_number(option):
        number = int(option)
        if not 1 <= number <= len(header):
            raise InputError(f"there is no column {number} for the {role} (the header has {len(header)})")
        return number - 1
    wanted = normal_name(option)
    if wanted not in names:
        raise InputError(f"no column named {option!r} for the {role} in the header {header}")
    return names.index(wanted)


def _time_by_name(header: list[str], names: list[str]) -> int | None:
    """The time column, or None (rows numbered) when none looks like a time but one is named like a value."""
    for wanted in TIME_NAMES:
        if wanted in names:
            return names.index(wanted)
    for column, name in enumerate(names):
        if any(word in name.split("_") for word in TIME_WORDS):
            return column
    if len(names) > 1 and names[0] == "":  # pandas' to_csv: the index (the times) has no name
        return 0
    if any(name in VALUE_NAMES for name in names):
        return None
    raise InputError(
        f"no column of the header {header} looks like a time (timestamp, time, date, ds, ...):"
        " name it with --time-column NAME or NUMBER"
    )


def _value_by_name(header: list[str], names: list[str], time: int | None) -> int:
    for wanted in VALUE_NAMES:
        if wanted in names and names.index(wanted) != time:
            return names.index(wanted)
    others = [column for column, name in enumerate(names) if column != time and name not in LABEL_NAMES]
    if len(others) == 1:
        return others[0]
    candidates = [header[column] for column in others]
    raise InputError(
        f"which column holds the values? None is named value, y, count, ... among {candidates}:"
        " name it with --value-column NAME or NUMBER"
    )
