"""anomalies_backtest on files holding several series: grouped by --series-column, or refused by default."""

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError

from anomalies.tests.test_backtest_command import backtest_with_notes
from anomalies.tests.test_detection_series import daily_gauge

SCORED = ("score", "is_anomaly", "alert", "expected", "lower", "upper")
START = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp())


def two_series() -> dict[str, list[tuple[int, str]]]:
    """Two 5-minute gauges of different level, start and length, each with its own spike; a few off-grid rows."""
    times, values = daily_gauge(days=6, interval=300, seed=2)
    values[1400] += 60
    rows_a = [(START + int(t - times[0]), f"{v:.3f}") for t, v in zip(times, values, strict=True)]
    rows_a += [(START + 300 * 1500 + 17, "101.5"), (START + 300 * 1500 + 170, "99.0")]  # share a bucket
    times, values = daily_gauge(days=4, interval=300, level=5000.0, noise=40.0, seed=3)
    values[900] -= 2500
    rows_b = [(START + 86400 + int(t - times[0]), f"{v:.1f}") for t, v in zip(times, values, strict=True)]
    return {"kpi-a": sorted(rows_a), "kpi-b": rows_b}


def interleaved(series: dict[str, list[tuple[int, str]]]) -> list[tuple[int, str, str]]:
    """The rows of every series, ordered by time (then series), as an AIOps KPI file is."""
    return sorted((time, value, key) for key, rows in series.items() for time, value in rows)


def write(path: Path, header: str, lines: list[str]) -> Path:
    path.write_text(header + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def kpi_file(tmp_path: Path, rows: list[tuple[int, str, str]]) -> Path:
    return write(tmp_path / "kpi.csv", "timestamp,value,label,KPI ID", [f"{t},{v},0,{k}" for t, v, k in rows])


def test_each_series_scores_exactly_as_the_series_alone(tmp_path: Path) -> None:
    series = two_series()
    rows = interleaved(series)
    out, notes = backtest_with_notes("--csv", str(kpi_file(tmp_path, rows)), "--series-column", "KPI ID")
    assert [(r["timestamp"], r["value"]) for r in out] == [(str(t), v) for t, v, _ in rows]  # input order
    assert "2 series scored on their own, by column 4 'KPI ID' (--series-column)" in notes
    for key, alone_rows in series.items():
        alone_file = write(tmp_path / f"{key}.csv", "timestamp,value", [f"{t},{v}" for t, v in alone_rows])
        alone, _ = backtest_with_notes("--csv", str(alone_file))
        grouped = [r for r, (_, _, k) in zip(out, rows, strict=True) if k == key]
        assert [[r[f] for f in ("timestamp", "value", *SCORED)] for r in grouped] == [
            [r[f] for f in ("timestamp", "value", *SCORED)] for r in alone
        ]
        assert sum(r["alert"] == "1" for r in alone) >= 1


def test_rows_in_any_order_come_back_in_input_order(tmp_path: Path) -> None:
    rows = interleaved(two_series())
    shuffled = [rows[k] for k in np.random.default_rng(5).permutation(len(rows))]
    ordered, _ = backtest_with_notes("--csv", str(kpi_file(tmp_path, rows)), "--series-column", "4")
    out, _ = backtest_with_notes("--csv", str(kpi_file(tmp_path, shuffled)), "--series-column", "4")
    assert [(r["timestamp"], r["value"]) for r in out] == [(str(t), v) for t, v, _ in shuffled]
    by_row = {(r["timestamp"], r["value"]): [r[f] for f in SCORED] for r in ordered}
    assert all([r[f] for f in SCORED] == by_row[(r["timestamp"], r["value"])] for r in out)


def test_a_file_of_several_series_is_refused_by_default(tmp_path: Path) -> None:
    with pytest.raises(CommandError) as error:
        backtest_with_notes("--csv", str(kpi_file(tmp_path, interleaved(two_series()))))
    message = str(error.value)
    assert "column 4 'KPI ID' holds 2 series ('kpi-a', 'kpi-b')" in message
    assert "--series-column 'KPI ID'" in message and "--series-column none" in message


@pytest.mark.parametrize(
    ("header", "line", "key_column"),
    [
        ("time,metric,value", "{t},{k},{v}", "metric"),
        ("host,timestamp,value", "{k},{t},{v}", "1"),
        ("Series_ID;Date;Count", "{k};{t};{v}", "series id"),
        ("ts,name,y", "{t},{k},{v}", "NAME"),
    ],
)
def test_long_format_exports_are_refused_by_default(tmp_path: Path, header: str, line: str, key_column: str) -> None:
    lines = [line.format(t=t, k=k, v=v) for t, v, k in interleaved(two_series())[:800]]
    path = write(tmp_path / "long.csv", header, lines)
    with pytest.raises(CommandError, match=r"holds 2 series .* --series-column"):
        backtest_with_notes("--csv", str(path))
    out, notes = backtest_with_notes("--csv", str(path), "--series-column", key_column)
    assert len(out) == len(lines) and "2 series scored" in notes


def test_series_column_none_reads_one_series_as_before(tmp_path: Path) -> None:
    rows = interleaved(two_series())[:700]  # two rows a bucket: the earlier one costs a partial scoring each
    mixed, notes = backtest_with_notes("--csv", str(kpi_file(tmp_path, rows)), "--series-column", "none")
    plain = write(tmp_path / "plain.csv", "timestamp,value", [f"{t},{v}" for t, v, _ in rows])
    assert mixed == backtest_with_notes("--csv", str(plain))[0]
    assert "series" not in notes


@pytest.mark.parametrize(
    ("header", "keys"),
    [
        ("timestamp,value,id", lambda k, n: str(k)),  # a row id: one row per value
        ("timestamp,value,name", lambda k, n: "cpu"),  # one value
        ("timestamp,value,host", lambda k, n: "old" if k < n // 2 else "new"),  # renamed halfway
    ],
)
def test_columns_that_are_not_series_keys_are_left_alone(tmp_path: Path, header: str, keys) -> None:
    rows = two_series()["kpi-a"][:600]
    path = write(tmp_path / "one.csv", header, [f"{t},{v},{keys(k, len(rows))}" for k, (t, v) in enumerate(rows)])
    out, notes = backtest_with_notes("--csv", str(path))
    assert len(out) == len(rows) and "series" not in notes


def test_numbered_rows_are_numbered_per_series(tmp_path: Path) -> None:
    path = write(tmp_path / "values.csv", "value,sensor", [f"{k % 7},{'ab'[k % 2]}" for k in range(40)])
    with pytest.raises(CommandError, match="column 2 'sensor' holds 2 series"):
        backtest_with_notes("--csv", str(path))
    out, _ = backtest_with_notes("--csv", str(path), "--series-column", "sensor")
    assert [r["timestamp"] for r in out[:6]] == ["1", "1", "2", "2", "3", "3"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--series-column", "KPI"), "no column named 'KPI' for the series"),
        (("--series-column", "9"), "there is no column 9 for the series"),
        (("--series-column", "value"), "the series column 'value' is also the value column"),
        (("--series-column", "1"), "the series column '1' is also the time column"),
    ],
)
def test_bad_series_columns_are_clear_errors(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    path = kpi_file(tmp_path, interleaved(two_series())[:50])
    with pytest.raises(CommandError, match=f"line 1: {message}"):
        backtest_with_notes("--csv", str(path), *args)


def test_a_file_without_header_takes_the_series_column_by_number(tmp_path: Path) -> None:
    rows = interleaved(two_series())[:800]
    path = write(tmp_path / "bare.csv", "", [f"{t},{v},{k}" for t, v, k in rows])
    path.write_text(path.read_text().lstrip("\n"))
    out, notes = backtest_with_notes("--csv", str(path), "--series-column", "3")
    assert len(out) == len(rows) and "2 series scored on their own, by column 3 (--series-column)" in notes
    with pytest.raises(CommandError, match="name the series column by number"):
        backtest_with_notes("--csv", str(path), "--series-column", "KPI")


def test_notes_are_said_once_and_name_the_series_too_short_to_score(tmp_path: Path) -> None:
    rows = [(t * 1000, v, "kpi-a") for t, v in two_series()["kpi-a"]] + [(START * 1000, "3", "tiny")]
    path = write(tmp_path / "ms.csv", "timestamp,value,KPI ID", [f"{t},{v},{k}" for t, v, k in rows])
    out, notes = backtest_with_notes("--csv", str(path), "--series-column", "KPI ID")
    assert len(out) == len(rows) and notes.count("epoch milliseconds") == 1
    assert "1 of the 2 series had no row scored" in notes and "'tiny'" in notes
