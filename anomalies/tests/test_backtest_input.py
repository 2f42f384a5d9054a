"""anomalies_backtest reading real files: column names, no header, timestamp formats, and every bad input."""

import io
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from anomalies.tests.test_backtest_command import backtest_with_notes

START = datetime(2024, 1, 1, tzinfo=UTC)
HOURLY = [(START + timedelta(hours=k), 100 + (k % 24) + (60 if k == 400 else 0)) for k in range(480)]


def run(tmp_path: Path, content: str | bytes, *args: str) -> tuple[list[dict[str, str]], str]:
    path = tmp_path / "in.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return backtest_with_notes("--csv", str(path), *args)


def epoch_seconds(moment: datetime) -> str:
    return str(int(moment.timestamp()))


def hourly_file(header: str | None, time_text: Callable[[datetime], str] = epoch_seconds, sep: str = ",") -> str:
    lines = [header] if header is not None else []
    lines += [f"{time_text(moment)}{sep}{value}" for moment, value in HOURLY]
    return "\n".join(lines) + "\n"


def scored(rows: list[dict[str, str]]) -> list[tuple[str, str, str]]:
    return [(r["value"], r["score"], r["alert"]) for r in rows]


@pytest.fixture
def reference(tmp_path: Path) -> list[tuple[str, str, str]]:
    rows, notes = run(tmp_path, hourly_file("timestamp,value"))
    assert notes == "" and rows[400]["alert"] == "1"
    return scored(rows)


@pytest.mark.parametrize(
    "header",
    ["ds,y", "date,count", "time,value", "datetime,value", "Date,Close", "TIMESTAMP,Value", "ts,metric",
     "period,amount", "Date (UTC),Sales", "timestamps,value"],
)  # fmt: skip
def test_common_column_names_are_recognised(tmp_path: Path, reference: list, header: str) -> None:
    rows, notes = run(tmp_path, hourly_file(header))
    assert scored(rows) == reference
    time_name, value_name = header.split(",")
    if header.lower() == "timestamp,value":
        assert notes == ""
    else:
        assert f"time from column 1 {time_name!r}, values from column 2 {value_name!r}" in notes


def test_the_value_column_is_found_among_others_and_labels_are_ignored(tmp_path: Path, reference: list) -> None:
    stock = "\n".join(f"{m:%Y-%m-%d %H:%M},1,2,{v},3" for m, v in HOURLY)
    rows, _ = run(tmp_path, "Date,Open,High,Close,Volume\n" + stock + "\n")
    assert scored(rows) == reference
    labelled = "\n".join(f"0,{int(m.timestamp())},{v}" for m, v in HOURLY)
    rows, notes = run(tmp_path, "is_anomaly,time_utc,cpu_load\n" + labelled + "\n")
    assert scored(rows) == reference and "time from column 2 'time_utc', values from column 3 'cpu_load'" in notes


def test_a_file_without_header_is_time_then_value(tmp_path: Path, reference: list) -> None:
    rows, notes = run(tmp_path, hourly_file(None))
    assert scored(rows) == reference and rows[0]["timestamp"] == str(int(START.timestamp()))
    assert "no header: time from column 1, values from column 2" in notes
    iso = hourly_file(None, lambda moment: moment.strftime("%Y-%m-%d %H:%M:%S"))
    assert scored(run(tmp_path, iso)[0]) == reference


@pytest.mark.parametrize(
    "first_row",
    ["01/01/2024 00:00,100", "2024-01-01T00:00:00Z,NA"],  # a date written year last; a missing first value
)
def test_a_headerless_first_row_is_data_whatever_its_format(tmp_path: Path, first_row: str) -> None:
    later = (
        "".join(f"{m:%m/%d/%Y %H:%M},{v}\n" for m, v in HOURLY[1:])
        if "/" in first_row
        else "".join(f"{m:%Y-%m-%dT%H:%M:%SZ},{v}\n" for m, v in HOURLY[1:])
    )
    rows, notes = run(tmp_path, first_row + "\n" + later)
    assert len(rows) == len(HOURLY) and rows[0]["timestamp"] == first_row.split(",")[0]
    assert "no header: time from column 1, values from column 2" in notes


def test_column_zero_is_refused_with_or_without_a_header(tmp_path: Path) -> None:
    for content in (hourly_file(None), hourly_file("timestamp,value")):
        for option in ("--value-column", "--time-column"):
            with pytest.raises(CommandError, match="there is no column 0 for the"):
                run(tmp_path, content, option, "0")


def test_a_file_without_header_may_put_the_value_first(tmp_path: Path, reference: list) -> None:
    swapped = "\n".join(f"{v},{m:%Y-%m-%d %H:%M:%S}" for m, v in HOURLY) + "\n"
    rows, notes = run(tmp_path, swapped)
    assert scored(rows) == reference and "no header: values from column 1, time from column 2" in notes


def test_an_unnamed_first_column_is_the_time_as_pandas_writes_it(tmp_path: Path, reference: list) -> None:
    rows, notes = run(tmp_path, hourly_file(",value", lambda moment: f"{moment:%Y-%m-%d %H:%M:%S}"))
    assert scored(rows) == reference and "time from column 1" in notes


def test_a_file_of_values_only_numbers_its_rows(tmp_path: Path, reference: list) -> None:
    """Shaped like the UCR archive (one value a line) or `value,is_anomaly`: rows 1, 2, ... one hour apart."""
    rows, notes = run(tmp_path, "\n".join(str(v) for _, v in HOURLY) + "\n", "--index-interval", "3600")
    assert [r["timestamp"] for r in rows] == [str(k) for k in range(1, 481)]
    assert "no time column: the rows are numbered 1 to 480 (the output's timestamp column), one every hour" in notes
    spike = rows[400]
    assert spike["alert"] == "1"
    labelled, notes = run(tmp_path, "Value,is_anomaly\n" + "".join(f"{v},0\n" for _, v in HOURLY))
    assert scored(labelled) == scored(rows) and "values from column 1 'Value'" in notes


def test_columns_can_be_chosen_by_name_or_number(tmp_path: Path, reference: list) -> None:
    content = "id,when,a,b\n" + "\n".join(f"{k},{int(m.timestamp())},0,{v}" for k, (m, v) in enumerate(HOURLY)) + "\n"
    by_name = run(tmp_path, content, "--time-column", "WHEN", "--value-column", "b")[0]
    by_number = run(tmp_path, content, "--time-column", "2", "--value-column", "4")[0]
    assert scored(by_name) == scored(by_number) == reference
    no_header = "\n".join(f"{v};x;{m.isoformat()}" for m, v in HOURLY) + "\n"
    assert scored(run(tmp_path, no_header, "--time-column", "3", "--value-column", "1")[0]) == reference


@pytest.mark.parametrize(
    "time_text",
    [
        lambda m: m.strftime("%Y-%m-%dT%H:%M:%SZ"),
        lambda m: m.strftime("%Y-%m-%d %H:%M"),
        lambda m: m.strftime("%Y-%m-%dT%H:%M:%S.250000+00:00"),
        lambda m: m.astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat(),
        lambda m: m.astimezone(timezone(timedelta(hours=-7))).strftime("%Y-%m-%dT%H:%M:%S%z"),
        lambda m: m.astimezone(timezone(timedelta(hours=5))).strftime("%Y-%m-%d %H:%M:%S+05"),
        lambda m: m.strftime("%Y-%m-%dT%H:%M:%S.123456789Z"),
        lambda m: m.strftime("%Y/%m/%d %H:%M:%S"),
        lambda m: m.strftime("%Y-%m-%d %H:%M:%S UTC"),
        lambda m: m.strftime("%Y%m%dT%H%M%SZ"),
        lambda m: m.strftime("%m/%d/%Y %I:%M %p").lstrip("0"),
        lambda m: m.strftime("%d/%m/%Y %H:%M"),
        lambda m: m.strftime("%d.%m.%Y %H:%M:%S"),
        lambda m: m.strftime("%Y-%m-%d %I:%M:%S %p"),
        lambda m: m.strftime("%Y/%m/%d %I:%M %p").replace(" 0", " "),
        lambda m: f"{m.timestamp():.3f}",
        lambda m: f"{m.timestamp() * 1000:.0f}",
    ],
)
def test_timestamp_formats_read_the_same_moments(
    tmp_path: Path, reference: list, time_text: Callable[[datetime], str]
) -> None:
    rows, _ = run(tmp_path, hourly_file("timestamp,value", time_text))
    assert scored(rows) == reference
    assert [r["timestamp"] for r in rows] == [time_text(m) for m, _ in HOURLY]


def test_dates_written_as_eight_digit_numbers(tmp_path: Path) -> None:
    days = [(START + timedelta(days=k)).strftime("%Y%m%d") for k in range(120)]
    rows, notes = run(tmp_path, "date,value\n" + "".join(f"{day},{10 + k % 7}\n" for k, day in enumerate(days)))
    iso = [(START + timedelta(days=k)).strftime("%Y-%m-%d") for k in range(120)]
    same, _ = run(tmp_path, "date,value\n" + "".join(f"{day},{10 + k % 7}\n" for k, day in enumerate(iso)))
    assert "timestamps read as dates written YYYYMMDD" in notes
    assert scored(rows) == scored(same) and [r["timestamp"] for r in rows] == days


def test_the_order_of_day_and_month_is_decided_by_the_file(tmp_path: Path) -> None:
    _, notes = run(tmp_path, "date,value\n" + "".join(f"{m:%m/%d/%Y %H:%M},{v}\n" for m, v in HOURLY))
    assert "read as month/day/year (line 290 has the day second; --date-order changes it)" in notes
    short = "date,value\n12/01/2024,1\n01/02/2024,2\n02/02/2024,3\n"
    assert "read as day/month/year (that order keeps the rows in time order" in run(tmp_path, short)[1]
    assert "month/day/year (--date-order" in run(tmp_path, short, "--date-order", "mdy")[1]


def test_other_separators_and_decimal_commas(tmp_path: Path, reference: list) -> None:
    assert scored(run(tmp_path, hourly_file("timestamp\tvalue", sep="\t"))[0]) == reference
    european = "zeit;wert;value\n" + "\n".join(f"{m:%Y-%m-%d %H:%M};x;{v},0" for m, v in HOURLY) + "\n"
    rows, _ = run(tmp_path, european, "--time-column", "1")
    assert [r["score"] for r in rows] == [score for _, score, _ in reference]
    assert rows[0]["value"] == f"{HOURLY[0][1]},0"


def test_a_comma_in_values_is_read_once_for_the_file(tmp_path: Path) -> None:
    def values_read(cells: list[str]) -> list[str]:
        content = "t;value\n" + "".join(
            f"{epoch_seconds(m)};{cells[k % len(cells)]}\n" for k, (m, _) in enumerate(HOURLY)
        )
        rows, notes = run(tmp_path, content)
        return [r["expected"] for r in rows[-3:]], notes

    grouped, notes = values_read(["1,234", "1,240", "1,228"])
    assert "values such as '1,234' read with ',' as a thousands separator" in notes
    assert 1200 < float(grouped[-1]) < 1260
    decimal, notes = values_read(["1,234", "1,5", "1,2"])
    assert "thousands" not in notes and 1.0 < float(decimal[-1]) < 1.4
    european, _ = values_read(["1.234,5", "1.240,5", "1.228,5"])
    assert 1200 < float(european[-1]) < 1260
    # With a decimal comma, dots group thousands with or without a comma after them; a group that starts
    # with 0 is no thousands group (0,125 is an eighth).
    dotted, _ = values_read(["1.234", "1.240,5", "1.228"])
    assert 1200 < float(dotted[-1]) < 1260
    eighths, notes = values_read(["0,125", "0,250", "1,500"])
    assert "thousands" not in notes and 0.1 < float(eighths[-1]) < 1.6
    plain_dots, _ = values_read(["1.234", "1.240", "1.228"])  # no comma anywhere: dots are decimal points
    assert 1.2 < float(plain_dots[-1]) < 1.26


def test_blank_lines_in_a_file_of_values_only_are_missing_values(tmp_path: Path) -> None:
    rows, _ = run(
        tmp_path, "value\n" + "".join(f"{v}\n" if k != 5 else "\n" for k, (_, v) in enumerate(HOURLY)) + "\n\n"
    )
    assert len(rows) == len(HOURLY) and rows[5]["value"] == "" and rows[6]["timestamp"] == "7"
    assert rows[400]["alert"] == "1"


def test_thousands_separators_in_quoted_values(tmp_path: Path) -> None:
    grouped, _ = run(tmp_path, "t,value\n" + "".join(f'{epoch_seconds(m)},"{v * 1000:,}.5"\n' for m, v in HOURLY))
    plain, _ = run(tmp_path, "t,value\n" + "".join(f"{epoch_seconds(m)},{v * 1000}.5\n" for m, v in HOURLY))
    assert grouped[0]["value"] == "100,000.5"
    assert [r | {"value": ""} for r in grouped] == [r | {"value": ""} for r in plain]
    assert grouped[400]["alert"] == "1"


def test_latin_1_and_utf_16_files_are_read(tmp_path: Path, reference: list) -> None:
    rows, notes = run(tmp_path, hourly_file("date,température").encode("latin-1"))
    assert scored(rows) == reference
    assert "not UTF-8: read as Latin-1" in notes and "values from column 2 'température'" in notes
    rows, notes = run(tmp_path, hourly_file("timestamp,value").encode("utf-16"))
    assert scored(rows) == reference and notes == ""
    rows, notes = run(tmp_path, hourly_file("timestamp,value").encode("utf-32"))
    assert scored(rows) == reference and notes == ""


def test_a_quote_left_open_in_any_column_is_an_error_not_lost_rows(tmp_path: Path) -> None:
    """In a column not read, the rows it swallowed vanished from the output, which no longer lined up."""
    notes = ['"oops' if k == 2 else "ok" for k in range(len(HOURLY))]
    rows = [f"{epoch_seconds(m)},{v},{note}\n" for (m, v), note in zip(HOURLY, notes, strict=True)]
    content = "timestamp,value,note\n" + "".join(rows)
    with pytest.raises(CommandError, match="line 4: the cell of column 3 runs on over 478 lines that read as rows"):
        run(tmp_path, content)
    quoted_note = content.replace('"oops', '"two\nlines"')  # a closed quote over lines is a cell like any
    assert len(run(tmp_path, quoted_note)[0]) == len(HOURLY)
    past_the_limit = 'timestamp,value\n1704067200,1\n1704067500,"2\n' + "1704067800,3\n" * 12_000
    with pytest.raises(CommandError, match="line 3: a cell runs on past 131,072 characters: a quote"):
        run(tmp_path, past_the_limit)


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("", (), "the file is empty"),
        ("\n \n", (), "the file is empty"),
        ("timestamp,value\n", (), "no rows after the header"),
        (b"timestamp,value\n1,\x00\x01\x02\n", (), "line 2: a NUL byte: this is not a text CSV file"),
        ("a,b\n1704067200,1\n", (), "line 1: no column of the header .* looks like a time"),
        ("time,foo,bar\n1704067200,1,2\n", (), "line 1: which column holds the values"),
        ("a,b\n1,2\n", (), "line 1: no column of the header \\['a', 'b'\\] looks like a time"),
        ("value\n1\n2\nlots\n", (), "line 4: cannot read the value 'lots'"),
        ('timestamp,value\n1704067200,"1,23"\n', (), "line 2: cannot read the value '1,23'"),
        ("\n\nid,foo\n", (), "line 3: no column of the header"),
        ("timestamp,value\n1704067200,1\n", ("--time-column", "date"), "line 1: no column named 'date' for the time"),
        ("timestamp,value\n1704067200,1\n", ("--value-column", "3"), "line 1: there is no column 3 for the value"),
        ("timestamp,value\n1704067200,1\n", ("--value-column", "1"), "line 1: the time and the value cannot both"),
        ("1704067200,1\n", ("--time-column", "when"), "line 1: this row is data, not a header"),
        ("timestamp,value\n1704067200\n", (), "line 2: expected at least 2 columns, got 1"),
        ("timestamp,value\n1704067200,1\n2024-13-01,2\n", (), "line 3: cannot read the timestamp '2024-13-01'"),
        ("date,value\n13/01/2024,1\n01/13/2024,2\n", (), "line 3: '01/13/2024' has the day second but line 2"),
        ("date,value\n02/30/2024,1\n", ("--date-order", "mdy"), "line 2: '02/30/2024' is not a date read as mdy"),
        ("date,value\n1/31/2024 13:05 PM,1\n", (), r"line 2: cannot read the timestamp .* \(hour 13 with AM/PM\)"),
        ("date,value\n2024-01-31 00:05 AM,1\n", (), r"line 2: cannot read the timestamp .* \(hour 0 with AM/PM\)"),
        ("timestamp,value\n1704067200,1\n1e999,2\n", (), "line 3: the timestamp '1e999' is out of range"),
        ("timestamp,value\n1704067200,1\nnan,2\n", (), "line 3: cannot read the timestamp 'nan'"),
        ("timestamp,value\n1e300,1\n1e300,2\n", ("--time-unit", "s"),
         r"line 2: the timestamp '1e300' is out of range: it reads as a time outside the years 1 to 9999"),
        ("timestamp,value\n253402300800,1\n", ("--time-unit", "s"), "line 2: the timestamp '253402300800' is out of"),
        ("timestamp,value\n1704067200,1\n1704067300,2\n1e300,3\n", (), "line 4: the timestamp '1e300' is out of range"),
        ("timestamp,value\n9000,1\n9001,2\n", ("--time-unit", "index", "--index-interval", "31622400"),
         "line 2: the timestamp '9000' is out of range"),
        ("timestamp,value\n1704067200,1\n1704067300,1e999\n", (), "line 3: the value '1e999' is not finite"),
        ("timestamp,value\n1704067200,1\n1704067300,-inf\n", (), "line 3: the value '-inf' is not finite"),
        ("timestamp,value\n1704067200,1\n1704067300,12%\n", (), "line 3: cannot read the value '12%'"),
        ("timestamp,value\nnow,1\n1704067300,x\n", (), "line 2: cannot read the timestamp 'now'"),
        ("time,value\n2024-01-01T00:00,1\n2024-01-01T01:00,abc\n", (), "line 3: cannot read the value 'abc'"),
        ("date,value\n31/01/2024,1\n01/02/2024,inf\n", (), "line 3: the value 'inf' is not finite"),
        ("timestamp,value\n1704067200,x\nnow,1\n", (), "line 2: cannot read the value 'x'"),
        ("timestamp,value\n1704067200000,1\n1704067200,2\n1704067300000,3\n", (),
         "line 3: the timestamp 1704067200 reads as epoch seconds but most are epoch milliseconds"),
        ("timestamp,value\n1704067200,1\n1704067260,2\n1704067320,1\n99999999999,3\n", (),
         r"line 2 \(2024-01-01T00:00:00Z\) and line 5 \(5138-11-16T09:46:39Z\) are .* buckets of 60 s apart"),
        ("timestamp,value\n1,1\n2,2\n2024-01-01,3\n", ("--time-unit", "index"),
         "line 4: row numbers .* must all be numbers"),
        ('timestamp,value\n1704067200,"1\n' + "x" * 200_000 + "\n", (),
         "line 2: a cell runs on past 131,072 characters"),
    ],
)  # fmt: skip
def test_bad_input_is_a_clear_error_naming_file_and_line(
    tmp_path: Path, content: str | bytes, args: tuple[str, ...], message: str
) -> None:
    with pytest.raises(CommandError, match=rf"^{re.escape(str(tmp_path / 'in.csv'))}: {message}"):
        run(tmp_path, content, *args)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--interval", "0"), "argument --interval: '0' must be from 1 to 31,622,400"),
        (("--index-interval", "hourly"), "argument --index-interval: 'hourly' is not a whole number of seconds"),
        (("--out", "/nonexistent-folder/out.csv"), "cannot write /nonexistent-folder/out.csv"),
    ],
)
def test_bad_options_are_clear_errors(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        run(tmp_path, "timestamp,value\n1704067200,1\n", *args)


def test_a_folder_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="is a directory, not a file: give one CSV file"):
        call_command("anomalies_backtest", "--csv", str(tmp_path), stdout=io.StringIO(), stderr=io.StringIO())


@pytest.mark.parametrize(
    "content",
    [
        "timestamp,value\n1704067200,5\n",
        "timestamp,value\n1704067200,\n1704070800,\n1704074400,nan\n",
        "timestamp,value\n" + "".join(f"{1704067200 + 3600 * k},7\n" for k in range(500)),
        "timestamp,value\n" + "".join(f"{1704067200 + 3600 * (k % 50)},{k}\n" for k in range(300)),
        "timestamp,value\n" + "".join(f"{1704067200 + 3600 * (499 - k)},{k % 9}\n" for k in range(500)),
        "timestamp,value\n1704067200,1\n1704067260,2\n1704067320,3\n1705067200,4\n",
        "timestamp,value\n-86400,1\n0,2\n86400,3\n",
        "timestamp,value\n" + "".join(f"{1704067200 + 3600 * k},{(k % 3, 1e308)[k % 50 == 49]}\n" for k in range(300)),
        "timestamp,value\n" + "".join(f"{1704067200 + 3600 * (k // 2)},-1.7976931348623157e308\n" for k in range(300)),
        "timestamp,value\n1704067200,5\n1704067200,6\n",
        "timestamp,value\n" + "1704067200,5\n" * 50,
        "timestamp,value\n" + "".join(f"{1704067200 + 3600 * k},{'5e-324' if k % 2 else 0}\n" for k in range(300)),
    ],
    ids=["one row", "no values", "constant", "duplicates", "reversed", "huge gap", "before 1970", "1e308",
         "largest floats sharing buckets", "two rows at one time", "identical rows", "denormals"],
)  # fmt: skip
def test_degenerate_files_are_scored_without_error(tmp_path: Path, content: str) -> None:
    rows, _ = run(tmp_path, content)
    assert len(rows) == content.count("\n") - 1
    assert all(0 <= float(row["score"]) < 1 for row in rows)
    assert all(math.isfinite(float(row[name])) for row in rows for name in ("expected", "lower", "upper") if row[name])


@pytest.mark.parametrize("missing", ["null", "NULL", "None", "NA", "N/A", "#N/A", "<NA>", " nan ", "NaN", ""])
def test_words_for_a_missing_value_are_missing_values(tmp_path: Path, missing: str) -> None:
    """Database exports write null or NULL, R writes NA, pandas reads all of these as NaN."""
    content = hourly_file("timestamp,value").splitlines()
    content[1 + 100] = content[1 + 100].split(",")[0] + f",{missing}"
    rows, _ = run(tmp_path, "\n".join(content) + "\n")
    assert rows[100]["value"] == missing and rows[100]["score"] == "0.000000"
    assert rows[400]["alert"] == "1"


@pytest.mark.parametrize("missing", ["NA", "null", "None"])
def test_a_file_of_values_only_whose_first_value_is_missing_has_no_header(tmp_path: Path, missing: str) -> None:
    rows, _ = run(tmp_path, missing + "\n" + "\n".join(str(v) for _, v in HOURLY[1:]) + "\n")
    assert len(rows) == len(HOURLY) and rows[0]["value"] == missing and rows[400]["timestamp"] == "401"


def test_values_on_one_line_separated_by_spaces_are_one_value_a_row(tmp_path: Path) -> None:
    """Some files of the UCR anomaly archive hold every value on one line, separated by spaces."""
    one_a_line, _ = run(tmp_path, "\n".join(str(v) for _, v in HOURLY) + "\n", "--index-interval", "3600")
    one_line, notes = run(tmp_path, "  " + "  ".join(f"{v:.7e}" for _, v in HOURLY) + "\n", "--index-interval", "3600")
    assert scored(one_line) == [
        (f"{v:.7e}", s, a) for (_, s, a), (_, v) in zip(scored(one_a_line), HOURLY, strict=True)
    ]
    assert "480 values on one line, separated by spaces: one value a row" in notes


def test_columns_separated_by_spaces_are_read_as_columns(tmp_path: Path, reference: list) -> None:
    rows, notes = run(tmp_path, hourly_file("timestamp   value", sep="   "))
    assert scored(rows) == reference and "columns separated by spaces" in notes
    headless, _ = run(tmp_path, hourly_file(None, sep=" "))
    assert scored(headless) == reference
