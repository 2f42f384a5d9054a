import csv
import math
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser

from anomalies.detection.rows import RowScores, score_rows

OUTPUT_HEADER = ["timestamp", "value", "score", "is_anomaly", "alert", "expected", "lower", "upper"]
PROGRESS_FROM_ROWS = 50_000  # shorter files finish before a progress bar would be read


class Command(BaseCommand):
    help = (
        "Score a CSV of timestamp,value rows with the production detector, causally, and write "
        "timestamp,value,score,is_anomaly,alert,expected,lower,upper for every row. Needs no database."
    )
    requires_system_checks = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--csv", required=True, help="input CSV with a timestamp,value header")
        parser.add_argument("--out", help="output CSV (default: stdout)")
        parser.add_argument(
            "--kind", choices=["metric", "events"], default="metric",
            help="metric: values are measurements (bucket mean); events: values are counts (bucket sum)",
        )  # fmt: skip
        parser.add_argument("--sensitivity", choices=["low", "medium", "high"], default="medium")
        parser.add_argument("--interval", type=int, help="bucket width in seconds (default: inferred)")

    def handle(self, *args: object, **options: object) -> None:
        path = Path(str(options["csv"]))
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        texts, times, values = read_rows(path)
        if not texts:
            raise CommandError(f"{path}: no rows after the header")
        progress = None
        if len(texts) > PROGRESS_FROM_ROWS:
            progress = Progress(lambda text: self.stderr.write(text, ending=""), len(texts))
        kind = "count" if options["kind"] == "events" else "continuous"
        if progress:
            progress.note("scoring")
        try:
            scores = score_rows(times, values, kind, str(options["sensitivity"]), options["interval"])  # type: ignore[arg-type]
        except ValueError as error:
            raise CommandError(f"{path}: {error}") from error
        if options["out"]:
            with open(str(options["out"]), "w", newline="", encoding="utf-8") as out:
                write_rows(out, texts, scores, progress)
        else:
            write_rows(self.stdout, texts, scores, progress)
        if progress:
            progress.done()


def read_rows(path: Path) -> tuple[list[tuple[str, str]], np.ndarray, np.ndarray]:
    """The rows as given (for the output) and as numbers; CommandError names the line at fault."""
    texts, times, values = [], [], []
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = [name.strip().lower() for name in next(reader, [])]
        if "timestamp" not in header or "value" not in header:
            raise CommandError(f"{path}: line 1: the header must name the columns timestamp and value, got {header}")
        at_time, at_value = header.index("timestamp"), header.index("value")
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) <= max(at_time, at_value):
                raise CommandError(f"{path}: line {line}: expected {len(header)} columns, got {len(row)}")
            texts.append((row[at_time], row[at_value]))
            times.append(parse_timestamp(row[at_time], path, line))
            values.append(parse_value(row[at_value], path, line))
    return texts, np.array(times, dtype=np.float64), np.array(values, dtype=np.float64)


def parse_timestamp(text: str, path: Path, line: int) -> float:
    """Epoch seconds, or ISO 8601 with or without a zone (naive means UTC)."""
    text = text.strip()
    try:
        return float(text) if text and (text[0].isdigit() or text[0] in "+-.") and _is_number(text) else _iso(text)
    except ValueError:
        raise CommandError(f"{path}: line {line}: cannot read the timestamp {text!r}") from None


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _iso(text: str) -> float:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def parse_value(text: str, path: Path, line: int) -> float:
    """A finite number; an empty cell (or nan) is a missing value."""
    text = text.strip()
    if text == "" or text.lower() == "nan":
        return math.nan
    try:
        number = float(text)
    except ValueError:
        raise CommandError(f"{path}: line {line}: cannot read the value {text!r}") from None
    if not math.isfinite(number):
        raise CommandError(f"{path}: line {line}: the value {text!r} is not finite")
    return number


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
    return "" if math.isnan(value) else f"{value:.6g}"


class Progress:
    """A one-line progress bar on stderr (stdout may be the CSV itself)."""

    def __init__(self, write: Callable[[str], None], total: int) -> None:
        self.write, self.total = write, total

    def note(self, text: str) -> None:
        self.write(f"{text}\n")

    def update(self, row: int) -> None:
        share = row / self.total
        self.write(f"\rwriting [{'#' * int(share * 30):<30}] {share:4.0%} of {self.total:,} rows")

    def done(self) -> None:
        self.update(self.total)
        self.write("\n")
