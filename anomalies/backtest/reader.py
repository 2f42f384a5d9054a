"""A CSV file to (timestamp text, value text) pairs and numbers, with notes on every guess made."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from anomalies.detection.regularize import MAX_BUCKETS, SENSIBLE_INTERVALS, infer_interval, real_times

from . import InputError
from .columns import MISSING_WORDS, choose_columns
from .local_dates import DateOrder
from .series import check_one_series, choose_series, group_rows
from .times import DEFAULT_INDEX_INTERVAL, TimeUnit, duration_text, plain_number, read_times

DELIMITERS = (",", ";", "\t", "|")
# An inferred interval is refused (with a wider one suggested) past this many buckets, and this many a row.
SPARSE_BUCKETS, SPARSE_RATIO = 1_000_000, 1_000
NOTES_SHOWN = 4  # of the notes on each series' timestamps: one file of 200 KPIs must not print 200
THOUSANDS = re.compile(r"[+-]?[1-9]\d{0,2}(,\d{3})+(\.\d*)?")  # a quoted "1,234.5" in a file split by commas
DOT_THOUSANDS = re.compile(r"[+-]?[1-9]\d{0,2}(\.\d{3})+")  # 1.234 where a comma is the decimal mark
DECIMAL_COMMA = re.compile(r"[+-]?(\d{1,3}(\.\d{3})+|\d*),\d*")  # 1,5 and 1.234,5 where the comma is decimal


@dataclass(frozen=True)
class ReadOptions:
    time_column: str | None = None
    value_column: str | None = None
    time_unit: TimeUnit = "auto"
    index_interval: int = DEFAULT_INDEX_INTERVAL
    interval: int | None = None
    date_order: DateOrder = "auto"
    series_column: str | None = None  # NAME|NUMBER, "none" for one series, None to check
    timezone: str = "UTC"  # timestamps without an offset are wall-clock times here


@dataclass
class Table:
    texts: list[tuple[str, str]]  # timestamp and value exactly as given, for the output
    times: np.ndarray  # epoch seconds
    values: np.ndarray  # NaN where missing
    notes: list[str] = field(default_factory=list)
    series: dict[str, list[int]] | None = None  # rows per series key, when grouped by --series-column
    series_column: str = ""  # its header (or number), for notes


def read_table(path: Path, options: ReadOptions) -> Table:
    """Every data row of the file; InputError names the line at fault."""
    text, notes = _decode(path)
    text, spaces_note = _split_by_spaces(text)
    notes += spaces_note
    delimiter = _delimiter(text)
    rows = _rows(text, delimiter, blank=True)
    first = next((row for row in rows if row[0]), None)
    if first is None:
        raise InputError("the file is empty")
    columns = choose_columns(first[0], first[1], options.time_column, options.value_column)
    notes += [columns.note] if columns.note else []
    try:
        series = choose_series(first[0], columns, options.series_column)
    except InputError as error:
        raise InputError(f"line {first[1]}: {error}") from None
    if not columns.has_header:
        rows = itertools.chain([first], rows)
    texts, values, lines = [], [], []
    keyed = [series.column] if series.column is not None else list(series.suspects)
    keys: dict[int, list[str]] = {column: [] for column in keyed}
    time_column = columns.value if columns.time is None else columns.time  # numbered rows: replaced below
    width = max(time_column, columns.value, -1 if series.column is None else series.column) + 1
    # One column of values: a blank line is a missing value, not nothing.
    rows = list(_blank_as_missing(rows) if width == 1 else (row for row in rows if row[0]))
    comma, comma_note = _comma_reading([cells[columns.value] for cells, _ in rows if len(cells) >= width], delimiter)
    notes += [comma_note] if comma_note else []
    notes += _longer_rows_note(rows, len(first[0])) if columns.has_header else []
    try:
        for cells, line in rows:
            if len(cells) < width:
                raise InputError(f"line {line}: expected at least {width} columns, got {len(cells)}")
            _check_open_quote(cells, line, delimiter)
            value = _value(cells[columns.value], line, comma)
            texts.append((cells[time_column], cells[columns.value]))
            values.append(value)
            lines.append(line)
            if keys:  # the one-series files of the common case skip this
                for column, column_keys in keys.items():
                    column_keys.append(cells[column].strip() if column < len(cells) else "")
    except InputError:
        if columns.time is not None:  # an earlier bad timestamp is reported first
            read_times([t for t, _ in texts], lines, options.time_unit, options.index_interval, options.date_order,
                       options.timezone)  # fmt: skip
        raise
    if not texts:
        raise InputError("no rows after the header")
    time_texts = None if columns.time is None else [t for t, _ in texts]
    for suspect in series.suspects:
        check_one_series(first[0], suspect, keys[suspect], time_texts)
    groups = group_rows(keys[series.column]) if series.column is not None else None
    if groups is None:
        times, time_notes = _read_series(texts, lines, columns.time is None, options)
    else:
        times, time_notes = _read_groups(texts, lines, groups, columns.time is None, options)
    notes += time_notes[:NOTES_SHOWN]
    if len(time_notes) > NOTES_SHOWN:
        notes.append(f"... and {len(time_notes) - NOTES_SHOWN:,} more notes like these on other series")
    column_name = "" if series.column is None else _column_name(first[0], series.column, columns.has_header)
    return Table(texts, times, np.array(values, dtype=np.float64), notes, groups, column_name)


def _read_groups(
    texts: list[tuple[str, str]], lines: list[int], groups: dict[str, list[int]], numbered: bool, options: ReadOptions
) -> tuple[np.ndarray, list[str]]:
    """Each series' times read on their own, in input order; each note said once."""
    times, notes = np.empty(len(texts)), []
    for rows in groups.values():
        series_texts, series_lines = [texts[row] for row in rows], [lines[row] for row in rows]
        times[rows], series_notes = _read_series(series_texts, series_lines, numbered, options)
        for row, text in zip(rows, series_texts, strict=True):  # numbered rows were renumbered
            texts[row] = text
        notes += [note for note in series_notes if note not in notes]
    return times, notes


def _read_series(
    texts: list[tuple[str, str]], lines: list[int], numbered: bool, options: ReadOptions
) -> tuple[np.ndarray, list[str]]:
    """The times of one series' rows, read as if they were a file of their own (numbered rows: rewritten)."""
    if numbered:
        texts[:], times, note = _numbered(texts, options.index_interval)
        notes = [note]
    else:
        cells = [t for t, _ in texts]
        times, notes = read_times(
            cells, lines, options.time_unit, options.index_interval, options.date_order, options.timezone
        )
    _check_span(times, lines, options.interval)
    return times, notes


def _longer_rows_note(rows: list[tuple[list[str], int]], header: int) -> list[str]:
    """Rows with more cells than the header: their extra cells are ignored, which must not pass unsaid (an
    unquoted decimal comma, 1,5 in a comma file, reads as the value 1)."""
    longer = [line for cells, line in rows if len(cells) > header]
    if not longer:
        return []
    return [
        f"{len(longer):,} {'row has' if len(longer) == 1 else 'rows have'} more cells than the header's {header} "
        f"(the first on line {longer[0]}): "
        "the cells beyond were ignored (a decimal comma must be quoted in a comma-separated file)"
    ]


def _check_open_quote(cells: list[str], line: int, delimiter: str) -> None:
    """A cell that runs on over lines that read as rows: a quote left open swallowed them (in a column not
    read, they vanished from the output without a word)."""
    for column, cell in enumerate(cells):
        if "\n" in cell and delimiter in cell.split("\n", 1)[1]:
            raise InputError(
                f"line {line}: the cell of column {column + 1} runs on over {len(cell.splitlines()):,} lines that "
                f'read as rows ({cell.splitlines()[1]!r}): a quote (") opened there is not closed'
            )


def _column_name(header: list[str], column: int, has_header: bool) -> str:
    return f"column {column + 1} {header[column].strip()!r}" if has_header else f"column {column + 1}"


def _numbered(texts: list[tuple[str, str]], interval: int) -> tuple[list[tuple[str, str]], np.ndarray, str]:
    """A file of values only: rows 1, 2, ... one interval apart, the numbers written as the timestamps."""
    note = (
        f"no time column: the rows are numbered 1 to {len(texts)} (the output's timestamp column), one every "
        f"{duration_text(interval)} (--index-interval SECONDS changes it)"
    )
    numbered = [(str(number), value) for number, (_, value) in enumerate(texts, start=1)]
    times = np.arange(1, len(texts) + 1, dtype=np.float64) * interval
    if not real_times(times[-1:]).all():
        raise InputError(
            f"{len(texts):,} rows one every {duration_text(interval)} reach past the year 9999: "
            "pass a shorter --index-interval"
        )
    return numbered, times, note


def _decode(path: Path) -> tuple[str, list[str]]:
    data = path.read_bytes()
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):  # (UTF-32 LE's begins as UTF-16 LE's does)
        return _decoded(data, "utf-32"), []
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decoded(data, "utf-16"), []
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise InputError(f"line {line}: a NUL byte: this is not a text CSV file")
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        return data.decode("latin-1"), ["not UTF-8: read as Latin-1"]


def _decoded(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise InputError(f"not readable as {encoding.upper()}, as its byte order mark says ({error.reason})") from None


def _delimiter(text: str) -> str:
    """The most frequent of , ; tab | on the first non-blank line (a comma when none is there)."""
    first = next((line for line in io.StringIO(text) if line.strip()), "")
    counts = [first.count(candidate) for candidate in DELIMITERS]
    return DELIMITERS[counts.index(max(counts))] if max(counts) else ","


def _split_by_spaces(text: str) -> tuple[str, list[str]]:
    """A file of numbers separated by runs of spaces, and by none of the DELIMITERS, as a file split by
    commas; numbers all on one line (as some files of the UCR archive hold them) as one a line."""
    if any(candidate in text for candidate in DELIMITERS):
        return text, []
    lines = text.splitlines()
    filled = list(itertools.islice((line.split() for line in lines if line.strip()), 2))
    if not filled:
        return text, []
    sample = filled[1] if len(filled) > 1 else filled[0]  # a data row: the first may be a header
    if len(sample) < 2 or len(filled[0]) != len(sample) or not all(map(_is_number, sample)):
        return text, []
    if len(filled) == 1:
        return "\n".join(sample) + "\n", [f"{len(sample):,} values on one line, separated by spaces: one value a row"]
    return "\n".join(",".join(line.split()) for line in lines) + "\n", ["columns separated by spaces"]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _rows(text: str, delimiter: str, blank: bool = False) -> Iterator[tuple[list[str], int]]:
    """The non-blank rows (blank ones too, as [], if asked), each with the line it starts on."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    try:
        for cells in reader:
            if any(map(str.strip, cells)):
                yield cells, start
            elif blank:
                yield [], start
            start = reader.line_num + 1
    except csv.Error as error:
        if "field limit" in str(error):
            raise InputError(
                f'line {start}: a cell runs on past {csv.field_size_limit():,} characters: a quote (") opened on '
                "this line is probably not closed"
            ) from None
        raise InputError(f"line {start}: not readable as CSV ({error})") from None


def _blank_as_missing(rows: Iterator[tuple[list[str], int]]) -> Iterator[tuple[list[str], int]]:
    """Blank lines between values as empty cells; blank lines at the end are dropped."""
    pending: list[int] = []
    for cells, line in rows:
        if not cells:
            pending.append(line)
            continue
        yield from (([""], blank_line) for blank_line in pending)
        pending.clear()
        yield cells, line


def _comma_reading(cells: list[str], delimiter: str) -> tuple[str, str | None]:
    """How a comma inside a value reads, decided once for the file: "decimal" (1,5 is 1.5, and dots group
    thousands: 1.234,5), "thousands" (1,234 is 1234; in a file split by commas only a quoted 1,234.5 has
    one) or "none" (no value has one)."""
    if delimiter == ",":
        return "thousands", None
    with_comma = [cell.strip() for cell in cells if "," in cell]
    if not with_comma:
        return "none", None
    if all(THOUSANDS.fullmatch(cell) for cell in with_comma):
        return "thousands", f"values such as {with_comma[0]!r} read with ',' as a thousands separator"
    return "decimal", None


def _value(cell: str, line: int, comma: str) -> float:
    """A finite number; an empty cell (or nan, null, NA, ...) is a missing value; a comma reads as
    _comma_reading decided (with a decimal comma, dots group thousands: 1.234,5 is 1234.5)."""
    number = plain_number(cell)
    text = cell.strip()
    if comma == "decimal" and DOT_THOUSANDS.fullmatch(text):  # with a decimal comma, 1.234 is 1234
        number = plain_number(text.replace(".", ""))
    if number is not None and math.isfinite(number):
        return number
    if "\n" in text:  # the csv module reads on to the next quote, to the end of the file if there is none
        raise InputError(
            f"line {line}: the value {text.splitlines()[0]!r} runs on over {len(text.splitlines()):,} lines: "
            'a quote (") opened there is not closed'
        )
    if text.lower() in MISSING_WORDS:
        return math.nan
    if number is None and comma == "decimal" and DECIMAL_COMMA.fullmatch(text):
        number = plain_number(text.replace(".", "").replace(",", "."))
    elif number is None and THOUSANDS.fullmatch(text):
        number = plain_number(text.replace(",", ""))
    if number is None:
        raise InputError(f"line {line}: cannot read the value {text!r}")
    if not math.isfinite(number):
        raise InputError(f"line {line}: the value {text!r} is not finite")
    return number


def _check_span(times: np.ndarray, lines: list[int], interval: int | None) -> None:
    """The detector's grid has a bucket per interval from first to last: a stray timestamp must not ask billions,
    nor a few rows far apart, at the fine interval their spacing suggests, millions of empty ones."""
    step = interval or infer_interval(times)
    first, last = int(np.argmin(times)), int(np.argmax(times))
    buckets = (times[last] - times[first]) / step
    where = f"line {lines[first]} ({_when(times[first])}) and line {lines[last]} ({_when(times[last])})"
    if buckets >= MAX_BUCKETS:
        raise InputError(
            f"{where} are {buckets:,.0f} buckets of {step} s apart, more than {MAX_BUCKETS:,}: check those "
            "timestamps (--time-unit, --index-interval) or pass a wider --interval"
        )
    if interval is None and buckets > SPARSE_BUCKETS and buckets > SPARSE_RATIO * len(times):
        fits = [int(width) for width in SENSIBLE_INTERVALS if buckets * step / width <= SPARSE_RATIO * len(times)]
        wide = fits[0] if fits else int(SENSIBLE_INTERVALS[-1])
        raise InputError(
            f"{where} are {buckets:,.0f} buckets of {step} s apart (the interval their spacing suggests) for "
            f"{len(times):,} rows: scoring so many empty buckets would take minutes and gigabytes for nothing. "
            f"Check those timestamps, or pass --interval (--interval {wide} for at most {SPARSE_RATIO:,} buckets a row)"
        )


def _when(seconds: float) -> str:
    try:
        return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    except (ValueError, OverflowError, OSError):
        return f"{seconds:.0f} s from 1970"
