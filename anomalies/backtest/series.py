"""Files holding several series (a KPI id, a host, a metric name per row): found, refused or grouped."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from . import InputError
from .columns import LABEL_NAMES, Columns, is_column_number, normal_name

ONE_SERIES = "none"  # --series-column none: read the whole file as one series, whatever its columns say
# A word of a header name that says "which series this row belongs to": `KPI ID`, `host`, `metric_name`.
SERIES_WORDS = frozenset(
    {"id", "series", "kpi", "metric", "name", "host", "hostname", "key", "instance", "server", "machine",
     "node", "sensor", "device", "entity", "item", "source", "service", "pod", "container", "cmdb", "tag"}
)  # fmt: skip
EXAMPLES_SHOWN = 3


@dataclass(frozen=True)
class SeriesChoice:
    column: int | None  # 0-based; the rows are grouped by its value
    suspects: tuple[int, ...]  # columns named like a series key, checked once the rows are read


def choose_series(header: list[str], columns: Columns, option: str | None) -> SeriesChoice:
    """The series column the option names, or (without the option) the columns to check."""
    if option is not None and option.strip().lower() == ONE_SERIES:
        return SeriesChoice(None, ())
    used = {columns.time, columns.value}
    if option is None:
        if not columns.has_header:
            return SeriesChoice(None, ())
        names = [normal_name(cell) for cell in header]
        suspects = tuple(
            column
            for column, name in enumerate(names)
            if column not in used and name not in LABEL_NAMES and SERIES_WORDS & set(name.split("_"))
        )
        return SeriesChoice(None, suspects)
    column = _column_of(header, columns.has_header, option)
    if column in used:
        role = "time" if column == columns.time else "value"
        raise InputError(f"the series column {option!r} is also the {role} column")
    return SeriesChoice(column, ())


def _column_of(header: list[str], has_header: bool, option: str) -> int:
    if is_column_number(option):
        number = int(option)
        if not 1 <= number <= len(header):
            raise InputError(f"there is no column {number} for the series (the first row has {len(header)})")
        return number - 1
    names = [normal_name(cell) for cell in header]
    if not has_header:
        raise InputError("this row is data, not a header: name the series column by number (1 is the first)")
    if normal_name(option) not in names:
        raise InputError(f"no column named {option!r} for the series in the header {header}")
    return names.index(normal_name(option))


def check_one_series(header: list[str], suspect: int, keys: list[str], times: list[str] | None) -> None:
    """Refuse a file that holds several series in a column named like a key: they would be mixed into one.

    Several series means several values, each on more than one row on average (not a row id), and a
    timestamp that comes back under another value (not one series renamed halfway); in a file without
    times (rows numbered), a value that comes back after another."""
    distinct = set(keys)
    if len(distinct) < 2 or 2 * len(distinct) > len(keys) or not _overlap(keys, times):
        return
    name = header[suspect].strip()
    shown = ", ".join(repr(key) for key in sorted(distinct)[:EXAMPLES_SHOWN])
    more = f" and {len(distinct) - EXAMPLES_SHOWN:,} more" if len(distinct) > EXAMPLES_SHOWN else ""
    raise InputError(
        f"column {suspect + 1} {name!r} holds {len(distinct):,} series ({shown}{more}) over the same timestamps:"
        f" read as one they would be mixed. Score each on its own with --series-column {_quoted(name)},"
        f" or pass --series-column {ONE_SERIES} to read the file as one series"
    )


def _overlap(keys: list[str], times: list[str] | None) -> bool:
    if times is None:
        runs = 1 + sum(1 for before, after in pairwise(keys) if before != after)
        return runs > len(set(keys))
    owner: dict[str, str] = {}
    return any(owner.setdefault(time.strip(), key) != key for key, time in zip(keys, times, strict=True))


def group_rows(keys: list[str]) -> dict[str, list[int]]:
    """Row numbers per series, the series in order of first appearance, the rows in input order."""
    groups: dict[str, list[int]] = {}
    for row, key in enumerate(keys):
        groups.setdefault(key, []).append(row)
    return groups


def _quoted(name: str) -> str:
    return f"'{name}'" if not name or any(not (c.isalnum() or c in "_-.") for c in name) else name
