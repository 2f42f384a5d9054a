"""anomalies_backtest: CSV in, one scored row per input row out; no database involved."""

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from anomalies.tests.test_detection_series import daily_gauge


def write_csv(path: Path, rows: list[tuple[str, str]], header: str = "timestamp,value") -> Path:
    path.write_text(header + "\n" + "".join(f"{t},{v}\n" for t, v in rows), encoding="utf-8")
    return path


def backtest(*args: str) -> list[dict[str, str]]:
    out = io.StringIO()
    call_command("anomalies_backtest", *args, stdout=out, stderr=io.StringIO())
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def gauge_rows(spike_at: int | None = None) -> list[tuple[str, str]]:
    times, values = daily_gauge(days=21, interval=300)
    if spike_at is not None:
        values[spike_at] += 60
    start = datetime.fromtimestamp(times[0], UTC).replace(tzinfo=None)
    return [((start + timedelta(minutes=5 * k)).isoformat(sep=" "), f"{v:.3f}") for k, v in enumerate(values)]


def test_every_row_comes_back_in_order_with_its_score(tmp_path: Path) -> None:
    rows = gauge_rows(spike_at=5000)
    out = backtest("--csv", str(write_csv(tmp_path / "in.csv", rows)))
    assert list(out[0]) == ["timestamp", "value", "score", "is_anomaly", "alert", "expected", "lower", "upper"]
    assert [(r["timestamp"], r["value"]) for r in out] == rows
    assert out[5000]["is_anomaly"] == "1" and out[5000]["alert"] == "1" and float(out[5000]["score"]) > 0.75
    assert float(out[5000]["upper"]) < float(out[5000]["value"])
    assert out[0]["expected"] == "" and out[0]["score"] == "0.000000"
    assert [r["alert"] for r in out[5001:5100]] == ["0"] * 99


def test_out_writes_the_same_csv_to_a_file(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in.csv", gauge_rows())
    target = tmp_path / "out.csv"
    printed = backtest("--csv", str(source))
    call_command("anomalies_backtest", "--csv", str(source), "--out", str(target), stdout=io.StringIO())
    assert list(csv.DictReader(target.open(encoding="utf-8"))) == printed


def test_irregular_timestamps_in_any_format_map_to_their_buckets(tmp_path: Path) -> None:
    base = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
    rng = np.random.default_rng(3)
    rows = []
    for k in range(6 * 24 * 12):
        moment = base + k * 300 + float(rng.integers(0, 120))
        text = [
            str(int(moment)),
            datetime.fromtimestamp(moment, UTC).isoformat().replace("+00:00", "Z"),
            datetime.fromtimestamp(moment, UTC).astimezone(UTC).replace(tzinfo=None).isoformat(),
            datetime.fromtimestamp(moment, UTC).astimezone(datetime.now().astimezone().tzinfo).isoformat(),
        ][k % 4]
        rows.append((text, "3" if k % 7 else "4"))
    rows.insert(10, (rows[10][0], "5"))  # two rows in one bucket
    out = backtest("--csv", str(write_csv(tmp_path / "in.csv", rows)), "--kind", "events")
    assert [(r["timestamp"], r["value"]) for r in out] == rows
    # Rows 10 and 11 share a timestamp: row 10 is scored on its bucket as it stood then (5 events), row
    # 11 on the whole bucket; scoring the rows up to 10 alone gives row 10 the same result.
    prefix = backtest("--csv", str(write_csv(tmp_path / "prefix.csv", rows[:11])), "--kind", "events")
    assert prefix[10] == out[10]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("time,value\n1,2\n", "line 1: the header must name the columns timestamp and value"),
        ("timestamp,value\n1704067200,2\nyesterday,3\n", "line 3: cannot read the timestamp 'yesterday'"),
        ("timestamp,value\n1704067200,2\n1704067500,lots\n", "line 3: cannot read the value 'lots'"),
        ("timestamp,value\n1704067200,inf\n", "line 2: the value 'inf' is not finite"),
        ("timestamp,value\n1704067200\n", "line 2: expected 2 columns, got 1"),
        ("timestamp,value\n", "no rows after the header"),
    ],
)
def test_bad_input_names_the_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "in.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CommandError, match=message):
        backtest("--csv", str(path))


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no such file"):
        backtest("--csv", str(tmp_path / "absent.csv"))


def test_empty_values_are_missing_points(tmp_path: Path) -> None:
    rows = gauge_rows()
    rows[3000] = (rows[3000][0], "")
    out = backtest("--csv", str(write_csv(tmp_path / "in.csv", rows)))
    assert out[3000]["value"] == "" and out[3000]["expected"] != ""


def test_long_files_show_progress_on_stderr_only(tmp_path: Path) -> None:
    rows = [(str(1_704_067_200 + 60 * k), "1") for k in range(50_001)]
    out, err = io.StringIO(), io.StringIO()
    call_command("anomalies_backtest", "--csv", str(write_csv(tmp_path / "in.csv", rows)), stdout=out, stderr=err)
    assert "100% of 50,001 rows" in err.getvalue()
    assert len(out.getvalue().splitlines()) == 50_002


def test_it_runs_from_a_bare_shell_without_secret_key_debug_or_database(tmp_path: Path) -> None:
    import subprocess
    import sys

    source = tmp_path / "in.csv"
    source.write_text("timestamp,value\n" + "".join(f"{1_700_000_000 + 3600 * i},{10 + i % 3}\n" for i in range(50)))
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "anomalies_backtest", "--csv", str(source)], cwd=root, capture_output=True,
        text=True, env={"PATH": "/usr/bin:/bin", "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"},
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "timestamp,value,score,is_anomaly,alert,expected,lower,upper" and len(lines) == 51


def test_weekly_buckets_are_scored(tmp_path: Path) -> None:
    """Buckets wider than a day have no seasonal model: this crashed inside the detector (zip() ... shorter)."""
    rows = [(str(1_420_070_400 + 604_800 * k), str(10 + k % 5 + (50 if k == 250 else 0))) for k in range(300)]
    out = backtest("--csv", str(write_csv(tmp_path / "in.csv", rows)))
    assert [(r["timestamp"], r["value"]) for r in out] == rows
    assert out[250]["alert"] == "1"
