import argparse
import csv
import math
import os
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from anomalies.backtest import InputError
from anomalies.backtest.grouped import SeriesFailure, late_unscored_rows, score_table, unscored_series
from anomalies.backtest.local_dates import DATE_ORDERS
from anomalies.backtest.reader import ReadOptions, Table, read_table
from anomalies.backtest.times import DEFAULT_INDEX_INTERVAL, TIME_UNITS
from anomalies.detection.rows import RowScores

OUTPUT_HEADER = ["timestamp", "value", "score", "is_anomaly", "alert", "expected", "lower", "upper"]
STDIN = Path("/dev/stdin")  # --csv -
PROGRESS_FROM_ROWS = 50_000  # shorter files finish before a progress bar would be read
LATE_UNSCORED_SHARE = 0.01  # rows past the warm-up with no expected value, noted from this share of the file
MAX_SECONDS = 366 * 86400  # --interval, --index-interval: beyond a year no series has a pattern to learn
DESCRIPTION = """\
Score a CSV of time,value rows with the production detector, strictly causally, and write
timestamp,value,score,is_anomaly,alert,expected,lower,upper for every row, in input order, the
timestamp and value exactly as given: score is the row's strength from 0 to 1, alert is 1 on the row
where Flux would notify (an episode opens or escalates). Needs no database.

Columns: named timestamp, time, date, datetime, ts, ds, period, ... and value, y, count, metric,
amount, close, ... (any case; other columns such as is_anomaly are ignored), or chosen with
--time-column / --value-column (a name or a 1-based number). A file whose first row is data has no
header: column 1 is the time, column 2 the value (or the value first, then a written time). A file
of values only has its rows numbered.
Commas, semicolons, tabs or pipes separate cells; so do spaces in a file of numbers (all on one line:
one value a row).

Timestamps: ISO 8601 (2024-01-31T12:00:00Z, 2024-01-31 12:00, offsets, fractions; naive is UTC,
or local time with --timezone), dates written year last (1/31/2024 1:05 PM, 31/01/2024 13:05,
31.01.2024; the order from the data),
epoch seconds, milliseconds, microseconds or nanoseconds (told apart by magnitude), or row numbers
(consecutive integers 1, 2, 3, ... below 10^7), read as one row per --index-interval seconds (hourly
unless set). Every guess other than plain ISO or epoch seconds is noted on stderr.

Several series in one file (AIOps `timestamp,value,label,KPI ID`, long exports `time,metric,value` or
`host,timestamp,value`): --series-column NAME|NUMBER scores each series on its own, exactly as if its
rows were a file of their own; the output keeps one row per input row in input order and, like every
other input column, the series column is not written (join by row position). Without the option, a
column named like a series key (id, series, kpi, metric, name, host, key, ...) whose values repeat
the same timestamps is an error naming it: --series-column none reads the file as one series.

--timezone ZONE scores the file as a project in that IANA zone: its daily and weekly patterns are
compared at the same local time on previous days and weeks, across daylight saving changes."""


class Command(BaseCommand):
    help = DESCRIPTION
    requires_system_checks = []

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: object) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keep the paragraphs of DESCRIPTION
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--csv", required=True, help="input CSV file (- reads stdin)")
        parser.add_argument("--out", help="output CSV (default, or -: stdout)")
        parser.add_argument(
            "--kind", choices=["metric", "events"], default="metric",
            help="metric: values are measurements (bucket mean); events: values are counts (bucket sum)",
        )  # fmt: skip
        parser.add_argument("--sensitivity", choices=["low", "medium", "high"], default="medium")
        parser.add_argument("--interval", type=positive_int, metavar="SECONDS", help="bucket width (default: inferred)")
        parser.add_argument("--time-column", metavar="NAME|NUMBER", help="name or 1-based number of the time column")
        parser.add_argument("--value-column", metavar="NAME|NUMBER", help="name or 1-based number of the value column")
        parser.add_argument(
            "--time-unit", choices=TIME_UNITS, default="auto",
            help="how to read numeric timestamps: epoch s, ms, us, ns, or row numbers (index); default: auto",
        )  # fmt: skip
        parser.add_argument(
            "--date-order", choices=DATE_ORDERS, default="auto",
            help="dates written year last (1/2/2024): month first (mdy) or day first (dmy); default: from the data",
        )  # fmt: skip
        parser.add_argument(
            "--index-interval", type=positive_int, default=DEFAULT_INDEX_INTERVAL, metavar="SECONDS",
            help=f"seconds between rows when timestamps are row numbers (default: {DEFAULT_INDEX_INTERVAL}, hourly)",
        )  # fmt: skip

        parser.add_argument(
            "--timezone", type=time_zone, default="UTC", metavar="ZONE",
            help="IANA zone (e.g. Europe/Berlin) whose days the daily and weekly patterns follow, across daylight "
            "saving changes, as a project's zone does; timestamps without an offset are read in it (default: UTC)",
        )  # fmt: skip
        parser.add_argument(
            "--series-column", metavar="NAME|NUMBER|none",
            help="score each series (rows grouped by this column's value) on its own; none: the file is one series",
        )  # fmt: skip

    def handle(self, *args: object, **options: object) -> None:
        try:
            self.backtest(options)
        except KeyboardInterrupt:
            raise CommandError("interrupted: nothing more was written", returncode=130) from None

    def backtest(self, options: dict[str, object]) -> None:
        path = STDIN if options["csv"] == "-" else Path(str(options["csv"]))
        if path.is_dir():
            raise CommandError(f"{path} is a directory, not a file: give one CSV file (--csv FILE)")
        if not path.exists():  # a pipe or /dev/stdin is read like a file
            raise CommandError(f"no such file: {path}")
        if options["out"] == "-":
            options["out"] = None  # stdout, as --csv - is stdin
        if options["out"]:
            check_output(path, Path(str(options["out"])))
        table = read(path, options)
        for note in table.notes:
            self.stderr.write(f"note: {note}", style_func=str)
        progress = None
        if len(table.texts) > PROGRESS_FROM_ROWS:
            progress = Progress(self.stderr, len(table.texts))
            progress.note("scoring")
        kind = "count" if options["kind"] == "events" else "continuous"
        try:
            sensitivity, zone = str(options["sensitivity"]), str(options["timezone"])
            scores = score_table(table, kind, sensitivity, options["interval"], zone)  # type: ignore[arg-type]
        except SeriesFailure as failure:
            where = "this file" if failure.series is None else f"the series {failure.series!r} of this file"
            raise CommandError(
                f"{path}: the detector failed on {where} (a bug: please report it with the file; "
                "--traceback shows where)"
            ) from failure.__cause__
        for note in score_notes(table, scores):
            self.stderr.write(f"note: {note}", style_func=str)
        try:
            if options["out"]:
                with open(str(options["out"]), "w", newline="", encoding="utf-8") as out:
                    write_rows(out, table.texts, scores, progress)
            else:
                write_rows(self.stdout, table.texts, scores, progress)
        except OSError as error:
            raise CommandError(f"cannot write {options['out'] or 'stdout'}: {error.strerror or error}") from error
        if progress:
            progress.done()


def check_output(source: Path, out: Path) -> None:
    """Refuse an --out that would overwrite the input or cannot be written, before any scoring."""
    if out.is_dir():
        raise CommandError(f"cannot write {out}: it is a directory (--out FILE)")
    if out.exists() and out.samefile(source):
        raise CommandError(f"--out {out} is the input file itself: writing the scores there would overwrite it")
    folder = out.parent
    if not folder.is_dir():
        raise CommandError(f"cannot write {out}: no such directory {folder}")
    # An existing file is written in place (its folder need not be writable: /dev/null, a file of one's own).
    writable = os.access(out, os.W_OK) if out.exists() else os.access(folder, os.W_OK)
    if not writable:
        raise CommandError(f"cannot write {out}: permission denied")


def score_notes(table: Table, scores: RowScores) -> list[str]:
    """How many series were scored; where no row got an expected value, e.g. row numbers read as seconds; and
    how many rows past the warm-up got none."""
    unscored = unscored_series(table, scores)
    late = [] if unscored else late_note(table, scores)
    if table.series is None:
        return [unscored_note(table, scores)] if unscored else late
    count = len(table.series)
    notes = [f"{count:,} series scored on their own, by {table.series_column} (--series-column)"]
    if unscored:
        shown = ", ".join(repr(key) for key in unscored[:3]) + (" ..." if len(unscored) > 3 else "")
        notes.append(
            f"{len(unscored):,} of the {count:,} series had no row scored, too little history for the detector: "
            f"{shown} (check --time-unit, --index-interval and --interval)"
        )
    return notes + late


def late_note(table: Table, scores: RowScores) -> list[str]:
    late = late_unscored_rows(table, scores)
    if late < max(LATE_UNSCORED_SHARE * len(table.texts), 1):
        return []
    warmup = scores.config.windows.warmup_seconds / 86400
    return [
        f"{late:,} of the {len(table.texts):,} rows got no expected value although more than {warmup:g} days "
        f"into their series: in buckets of {scores.config.interval_seconds} s the data around them is too sparse "
        "(or broken by a long gap) for the detector; a wider --interval may score them"
    ]


def unscored_note(table: Table, scores: RowScores) -> str:
    span = float(table.times.max() - table.times.min())
    known = int(np.isfinite(table.values).sum())
    if len(table.texts) == 1:
        return "no row could be scored: one row has no history before it"
    if known == 0:
        return f"no row could be scored: none of the {len(table.texts):,} rows has a value"
    if span == 0:
        return f"no row could be scored: all {len(table.texts):,} rows have the same timestamp"
    return (
        f"no row could be scored: {len(table.texts):,} rows over {span:,.0f} s in buckets of "
        f"{scores.config.interval_seconds} s are too little history for the detector "
        "(check --time-unit, --index-interval and --interval)"
    )


def time_zone(text: str) -> str:
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is not an IANA time zone name (e.g. Europe/Berlin)") from None
    return text


def positive_int(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of seconds") from None
    if not 1 <= number <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"{text!r} must be from 1 to {MAX_SECONDS:,} (a year)")
    return number


def read(path: Path, options: dict[str, object]) -> Table:
    """The input rows; CommandError names the file and the line at fault."""
    settings = ReadOptions(
        time_column=options.get("time_column"),  # type: ignore[arg-type]
        value_column=options.get("value_column"),  # type: ignore[arg-type]
        time_unit=options.get("time_unit") or "auto",  # type: ignore[arg-type]
        index_interval=options.get("index_interval") or DEFAULT_INDEX_INTERVAL,  # type: ignore[arg-type]
        interval=options.get("interval"),  # type: ignore[arg-type]
        date_order=options.get("date_order") or "auto",  # type: ignore[arg-type]
        series_column=options.get("series_column"),  # type: ignore[arg-type]
        timezone=str(options.get("timezone") or "UTC"),
    )
    try:
        return read_table(path, settings)
    except InputError as error:
        raise CommandError(f"{path}: {error}") from None
    except OSError as error:
        raise CommandError(f"{path}: cannot read the file: {error.strerror or error}") from None


def write_rows(out: TextIO, texts: list[tuple[str, str]], scores: RowScores, progress: "Progress | None") -> None:
    """One output row per input row, in input order, with the scores of its bucket up to it."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(OUTPUT_HEADER)
    score, flagged, alert = scores.score, scores.is_anomaly, scores.alert
    expected, lower, upper = scores.expected, scores.lower, scores.upper
    step = max(len(texts) // 100, 1)
    for row, (time_text, value_text) in enumerate(texts):
        writer.writerow(
            [time_text, value_text, f"{score[row]:.6f}", int(flagged[row]), int(alert[row]),
             _number(expected[row]), _number(lower[row]), _number(upper[row])]
        )  # fmt: skip
        if progress and row % step == 0:
            progress.update(row)


def _number(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.10g}"  # a band around 1.7e9 must still tell 1700000365


class Progress:
    """A one-line progress bar on stderr (stdout may be the CSV itself); where stderr is not a terminal (a
    log file, a pipe), no redrawn bar: only the steps, one line each."""

    def __init__(self, stream: OutputWrapper, total: int) -> None:
        self.stream, self.total, self.live = stream, total, stream.isatty()

    def write(self, text: str) -> None:
        self.stream.write(text, ending="", style_func=str)

    def note(self, text: str) -> None:
        self.write(f"{text}\n")

    def update(self, row: int) -> None:
        if self.live:
            share = row / self.total
            self.write(f"\rwriting [{'#' * int(share * 30):<30}] {share:4.0%} of {self.total:,} rows")

    def done(self) -> None:
        if self.live:
            self.update(self.total)
            self.write("\n")
        else:
            self.note(f"wrote {self.total:,} rows")
