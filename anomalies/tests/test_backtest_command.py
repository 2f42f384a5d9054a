"""anomalies_backtest: CSV in, one scored row per input row out; no database involved."""

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from anomalies.backtest.times import read_times
from anomalies.tests.test_detection_localtime import BERLIN_SPRING, local_day
from anomalies.tests.test_detection_series import daily_gauge


def write_csv(path: Path, rows: list[tuple[str, str]], header: str = "timestamp,value") -> Path:
    path.write_text(header + "\n" + "".join(f"{t},{v}\n" for t, v in rows), encoding="utf-8")
    return path


def backtest(*args: str) -> list[dict[str, str]]:
    return backtest_with_notes(*args)[0]


def backtest_with_notes(*args: str) -> tuple[list[dict[str, str]], str]:
    """The output rows and what was written on stderr."""
    out, err = io.StringIO(), io.StringIO()
    call_command("anomalies_backtest", *args, stdout=out, stderr=err)
    return list(csv.DictReader(io.StringIO(out.getvalue()))), err.getvalue()


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


def test_out_naming_the_input_itself_is_refused_and_the_input_kept(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in.csv", gauge_rows()[:50])
    link = tmp_path / "link.csv"
    link.symlink_to(source)
    before = source.read_bytes()
    for out in (source, link):
        with pytest.raises(CommandError, match="is the input file itself"):
            call_command("anomalies_backtest", "--csv", str(source), "--out", str(out), stdout=io.StringIO())
    assert source.read_bytes() == before


def test_an_out_that_cannot_be_written_is_refused_before_scoring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_csv(tmp_path / "in.csv", gauge_rows()[:50])
    monkeypatch.setattr("anomalies.management.commands.anomalies_backtest.score_table", pytest.fail)
    with pytest.raises(CommandError, match="no such directory"):
        call_command("anomalies_backtest", "--csv", str(source), "--out", str(tmp_path / "nowhere" / "out.csv"))
    with pytest.raises(CommandError, match="is a directory"):
        call_command("anomalies_backtest", "--csv", str(source), "--out", str(tmp_path))


def test_an_interrupted_run_ends_with_a_message_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("anomalies.management.commands.anomalies_backtest.score_table", interrupted)
    with pytest.raises(CommandError, match="interrupted") as error:
        call_command("anomalies_backtest", "--csv", str(write_csv(tmp_path / "in.csv", gauge_rows()[:50])))
    assert error.value.returncode == 130


def test_a_file_of_one_row_says_why_it_has_no_score(tmp_path: Path) -> None:
    out, notes = backtest_with_notes("--csv", str(write_csv(tmp_path / "in.csv", gauge_rows()[:1])))
    assert len(out) == 1 and out[0]["score"] == "0.000000"
    assert "no row could be scored: one row has no history before it" in notes


def test_rows_longer_than_the_header_are_noted(tmp_path: Path) -> None:
    # An unquoted decimal comma in a comma file: "1,5" is the value 1 and a cell "5" beyond the header.
    rows = gauge_rows()[:50]
    rows[20] = (rows[20][0], "1,5")
    out, notes = backtest_with_notes("--csv", str(write_csv(tmp_path / "in.csv", rows)))
    assert len(out) == 50
    assert "1 row has more cells than the header's 2 (the first on line 22)" in notes


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
        ("timestamp,value\n1704067200,2\nyesterday,3\n", "line 3: cannot read the timestamp 'yesterday'"),
        ("timestamp,value\n1704067200,2\n1704067500,lots\n", "line 3: cannot read the value 'lots'"),
        ("timestamp,value\n1704067200,inf\n", "line 2: the value 'inf' is not finite"),
        ("timestamp,value\n1704067200\n", "line 2: expected at least 2 columns, got 1"),
        ("timestamp,value\n", "no rows after the header"),
        (
            'timestamp,value\n1704067200,"2\n1704067500,3\n1704067800,4\n',
            "line 2: the cell of column 2 runs on over 3 lines that read as rows",
        ),
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


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("terminal", [True, False])
def test_long_files_show_progress_on_stderr_only(tmp_path: Path, terminal: bool) -> None:
    """A bar redrawn with carriage returns on a terminal; in a log file or a pipe, a line per step only."""
    rows = [(str(1_704_067_200 + 60 * k), "1") for k in range(50_001)]
    out, err = io.StringIO(), Terminal() if terminal else io.StringIO()
    call_command("anomalies_backtest", "--csv", str(write_csv(tmp_path / "in.csv", rows)), stdout=out, stderr=err)
    if terminal:
        assert "100% of 50,001 rows" in err.getvalue() and err.getvalue().count("\r") > 50
    else:
        assert err.getvalue() == "scoring\nwrote 50,001 rows\n"
    assert len(out.getvalue().splitlines()) == 50_002


def test_out_dash_is_stdout_and_bands_keep_ten_significant_digits(tmp_path: Path) -> None:
    """Around 1.7e9 six digits printed 1.7e+09 for the value's expected, lower and upper alike."""
    rows = [(str(1_704_067_200 + 300 * k), str(1_700_000_000 + 50 * np.sin(k / 40) + k % 7)) for k in range(2000)]
    out = backtest("--csv", str(write_csv(tmp_path / "in.csv", rows)), "--out", "-")
    assert len(out) == 2000 and not (tmp_path / "-").exists()
    band = [float(out[-1][name]) for name in ("lower", "expected", "upper")]
    assert band[0] < band[1] < band[2] and 1_699_999_000 < band[1] < 1_700_001_000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--interval", "10000000000000000000"), "argument --interval: .* must be from 1 to 31,622,400"),
        (("--index-interval", "99999999999"), "argument --index-interval: .* must be from 1 to 31,622,400"),
    ],
)
def test_intervals_beyond_a_year_are_refused(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        backtest("--csv", str(write_csv(tmp_path / "in.csv", gauge_rows())), *args)


def test_numbered_rows_past_the_year_9999_are_refused(tmp_path: Path) -> None:
    (tmp_path / "values.csv").write_text("value\n" + "1\n" * 9000)
    with pytest.raises(CommandError, match=r"9,000 rows one every .* reach past the year 9999"):
        backtest("--csv", str(tmp_path / "values.csv"), "--index-interval", str(366 * 86400))


def test_rows_past_the_warm_up_left_unscored_are_noted(tmp_path: Path) -> None:
    """A day of one-minute rows, then five-minute ones: in one-minute buckets those never fill the detector's
    windows again. Said, with what to do."""
    start, day = 1_704_067_200, 86_400
    rows = [(str(start + 60 * k), str(100 + k % 12)) for k in range(1440)]
    rows += [(str(start + day + 300 * k), str(100 + k % 12)) for k in range(5 * 288)]
    out, notes = backtest_with_notes("--csv", str(write_csv(tmp_path / "in.csv", rows)), "--interval", "60")
    late = sum(1 for r in out if int(r["timestamp"]) >= start + 3 * day and r["expected"] == "")
    expected_note = (
        f"{late:,} of the 2,880 rows got no expected value although more than 3 days into their series: in buckets "
        "of 60 s the data around them is too sparse"
    )
    assert late == 3 * 288 and expected_note in notes  # every five-minute row from day 3 on
    regular = [(str(start + 300 * k), str(100 + k % 12)) for k in range(6 * 288)]
    assert "no expected value" not in backtest_with_notes("--csv", str(write_csv(tmp_path / "r.csv", regular)))[1]


def test_a_few_rows_far_apart_at_a_fine_inferred_interval_are_refused_with_a_wider_one(tmp_path: Path) -> None:
    """Seven rows, six a second apart and one 57 days later: 4.9 million one-second buckets took 263 s of CPU
    and 8.3 GB to say nothing could be scored."""
    rows = [(str(1_704_067_200 + k), str(k)) for k in range(6)] + [(str(1_704_067_200 + 4_900_000), "9")]
    path = write_csv(tmp_path / "in.csv", rows)
    with pytest.raises(CommandError, match=r"4,900,000 buckets of 1 s apart .* for 7 rows: .*\(--interval 900 "):
        backtest("--csv", str(path))
    assert len(backtest("--csv", str(path), "--interval", "900")) == 7  # asked for, it is done


def test_a_pipe_is_read_like_a_file(tmp_path: Path) -> None:
    import os
    import threading

    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    text = "timestamp,value\n" + "".join(f"{t},{v}\n" for t, v in gauge_rows())
    writer = threading.Thread(target=pipe.write_text, args=(text,))
    writer.start()
    out = backtest("--csv", str(pipe))
    writer.join()
    assert [(r["timestamp"], r["value"]) for r in out] == gauge_rows()


def test_it_runs_from_a_bare_shell_without_secret_key_debug_or_database(tmp_path: Path) -> None:
    import subprocess
    import sys

    source = tmp_path / "in.csv"
    source.write_text("timestamp,value\n" + "".join(f"{1_700_000_000 + 3600 * i},{10 + i % 3}\n" for i in range(50)))
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "manage.py", "anomalies_backtest", "--csv", "-"], cwd=root, capture_output=True,
        text=True, env={"PATH": "/usr/bin:/bin", "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"},
        timeout=120, input=source.read_text(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()  # (--csv - read the file from stdin)
    assert lines[0] == "timestamp,value,score,is_anomaly,alert,expected,lower,upper" and len(lines) == 51
    assert done.stderr == ""  # a plain file needs no note, and nothing else writes there (axes' banner did)


def test_weekly_buckets_are_scored(tmp_path: Path) -> None:
    """Buckets wider than a day have no seasonal model: this crashed inside the detector (zip() ... shorter)."""
    rows = [(str(1_420_070_400 + 604_800 * k), str(10 + k % 5 + (50 if k == 250 else 0))) for k in range(300)]
    out = backtest("--csv", str(write_csv(tmp_path / "in.csv", rows)))
    assert [(r["timestamp"], r["value"]) for r in out] == rows
    assert out[250]["alert"] == "1"


def yahoo_a1_rows(spike_at: int) -> list[tuple[str, str, str]]:
    """Shaped like Yahoo S5 A1: row numbers 1..1420 for hourly data with a daily cycle, one labelled spike."""
    rng = np.random.default_rng(7)
    rows = []
    for number in range(1, 1421):
        value = 100 + 20 * np.sin(2 * np.pi * number / 24) + rng.normal(0, 2)
        rows.append((str(number), f"{value + (40 if number == spike_at else 0):.3f}", str(int(number == spike_at))))
    return rows


def test_a_yahoo_a1_shaped_file_reads_row_numbers_as_hours(tmp_path: Path) -> None:
    rows = yahoo_a1_rows(spike_at=1000)
    path = tmp_path / "real_1.csv"
    path.write_text("timestamp,value,is_anomaly\n" + "".join(f"{t},{v},{a}\n" for t, v, a in rows))
    out, notes = backtest_with_notes("--csv", str(path))
    assert [(r["timestamp"], r["value"]) for r in out] == [(t, v) for t, v, _ in rows]
    assert "timestamps 1 to 1420 read as row numbers, one row every hour" in notes
    assert "--index-interval" in notes
    spike = out[999]
    assert spike["alert"] == "1" and float(spike["score"]) > 0.75
    assert [r["alert"] for r in out].count("1") <= 3
    assert all(r["expected"] != "" for r in out[200:])


def test_index_interval_sets_the_spacing_of_row_numbers(tmp_path: Path) -> None:
    rows = yahoo_a1_rows(spike_at=1000)
    path = write_csv(tmp_path / "in.csv", [(t, v) for t, v, _ in rows], header="index,value")
    hourly = backtest("--csv", str(path))
    _, notes = backtest_with_notes("--csv", str(path), "--index-interval", "300")
    assert "one row every 5 minutes" in notes
    as_seconds, notes = backtest_with_notes("--csv", str(path), "--time-unit", "s")
    assert "no row could be scored: 1,420 rows over 1,419 s in buckets of 1 s are too little history" in notes
    seconds_rows = write_csv(tmp_path / "s.csv", [(str(int(t) * 3600), v) for t, v, _ in rows])
    assert hourly == [
        r | {"timestamp": t} for r, (t, _, _) in zip(backtest("--csv", str(seconds_rows)), rows, strict=True)
    ]
    assert as_seconds != hourly


@pytest.mark.parametrize(("unit", "factor", "name"), [("ms", 10**3, "milliseconds"), ("us", 10**6, "microseconds"),
                                                      ("ns", 10**9, "nanoseconds")])  # fmt: skip
def test_epoch_units_are_told_apart_by_magnitude(tmp_path: Path, unit: str, factor: int, name: str) -> None:
    times, values = daily_gauge(days=14, interval=300)
    values[3000] += 60
    seconds = [(str(int(t)), f"{v:.3f}") for t, v in zip(times, values, strict=True)]
    scaled = [(str(int(t) * factor), v) for t, v in seconds]
    expected = backtest("--csv", str(write_csv(tmp_path / "s.csv", seconds)))
    out, notes = backtest_with_notes("--csv", str(write_csv(tmp_path / f"{unit}.csv", scaled)))
    assert f"timestamps read as epoch {name}" in notes
    assert [r["timestamp"] for r in out] == [t for t, _ in scaled]
    assert [r | {"timestamp": ""} for r in out] == [r | {"timestamp": ""} for r in expected]
    assert out[3000]["alert"] == "1"


def local_day_rows(naive_local: bool) -> list[tuple[str, str]]:
    """Hourly signups of a business in Berlin, five weeks before clocks go forward and nine days after:
    written in UTC, or as naive local wall-clock times."""
    times, values = local_day("Europe/Berlin", BERLIN_SPRING, 3600, "count", seed=3)
    berlin = ZoneInfo("Europe/Berlin")
    rows = []
    for t, v in zip(times, values, strict=True):
        moment = datetime.fromtimestamp(float(t), berlin if naive_local else UTC).replace(tzinfo=None)
        rows.append((moment.isoformat(sep=" ") if naive_local else moment.isoformat() + "Z", f"{v:.0f}"))
    return rows


def test_timezone_scores_a_local_day_without_alerts_after_clocks_change(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "in.csv", local_day_rows(naive_local=False))
    after = datetime(2026, 3, 29, 1, tzinfo=UTC)
    as_utc = backtest("--csv", str(path), "--kind", "events")
    in_berlin = backtest("--csv", str(path), "--kind", "events", "--timezone", "Europe/Berlin")
    alerts = [[r for r in out if r["alert"] == "1" and datetime.fromisoformat(r["timestamp"]) >= after]
              for out in (as_utc, in_berlin)]  # fmt: skip
    assert len(alerts[0]) > 0 and alerts[1] == []


def test_timezone_reads_naive_timestamps_as_local_wall_clock_times(tmp_path: Path) -> None:
    absolute = write_csv(tmp_path / "utc.csv", local_day_rows(naive_local=False))
    naive = write_csv(tmp_path / "local.csv", local_day_rows(naive_local=True))
    zone = ("--timezone", "Europe/Berlin", "--kind", "events")
    from_utc = backtest("--csv", str(absolute), *zone)
    from_local, notes = backtest_with_notes("--csv", str(naive), *zone)
    assert [r["score"] for r in from_local] == [r["score"] for r in from_utc]
    assert "read as local time in Europe/Berlin" in notes


def test_an_hour_written_twice_when_clocks_go_back_is_read_as_two_hours(tmp_path: Path) -> None:
    cells = ["2026-10-25 01:00", "2026-10-25 02:00", "2026-10-25 02:30", "2026-10-25 02:00", "2026-10-25 02:30",
             "2026-10-25 03:00"]  # fmt: skip
    seconds, _ = read_times(cells, list(range(2, 8)), timezone="Europe/Berlin")
    assert np.diff(seconds).tolist() == [3600, 1800, 1800, 1800, 1800]


def test_a_time_the_clocks_skipped_is_noted() -> None:
    """Berlin has no 02:00-02:59 on the spring day: such a row is read an hour later, and said so."""
    cells = ["2026-03-29 01:30", "2026-03-29 02:15", "2026-03-29 02:45", "2026-03-29 03:15"]
    seconds, notes = read_times(cells, list(range(2, 6)), timezone="Europe/Berlin")
    # 02:15 reads as 03:15 CEST and 02:45 as 03:45, so the real 03:15 after them comes half an hour earlier
    assert np.diff(seconds).tolist() == [2700, 1800, -1800]
    assert any("2 timestamps fall in a time the clocks skipped in Europe/Berlin (the first on line 3, "
               "'2026-03-29 02:15')" in note for note in notes)  # fmt: skip
    _, autumn = read_times(["2026-10-25 01:30", "2026-10-25 02:15"], [2, 3], timezone="Europe/Berlin")
    assert not any("skipped" in note for note in autumn)


def test_an_unknown_timezone_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="IANA time zone"):
        backtest("--csv", str(write_csv(tmp_path / "in.csv", gauge_rows())), "--timezone", "Mars/Olympus")


def test_timezone_keeps_dates_without_a_time_of_day_as_days(tmp_path: Path) -> None:
    # London's midnight is 00:00 UTC in winter and 23:00 the day before in summer: read as instants, the
    # Sunday clocks go forward and the Monday after would share one day's bucket (a doubled day).
    rng = np.random.default_rng(5)
    first = datetime(2026, 1, 5)
    rows = [((first + timedelta(days=k)).date().isoformat(), str(rng.poisson(200))) for k in range(140)]
    path = write_csv(tmp_path / "in.csv", rows)
    as_utc = backtest("--csv", str(path), "--kind", "events")
    in_london = backtest("--csv", str(path), "--kind", "events", "--timezone", "Europe/London")
    assert in_london == as_utc


def test_an_hour_written_twice_is_read_as_two_hours_in_a_file_newest_first() -> None:
    cells = ["2026-10-25 01:00", "2026-10-25 02:00", "2026-10-25 02:30", "2026-10-25 02:00", "2026-10-25 02:30",
             "2026-10-25 03:00"]  # fmt: skip
    oldest_first, _ = read_times(cells, list(range(2, 8)), timezone="Europe/Berlin")
    newest_first, _ = read_times(cells[::-1], list(range(2, 8)), timezone="Europe/Berlin")
    assert newest_first.tolist() == oldest_first[::-1].tolist()


def test_events_at_the_same_second_in_the_hour_written_twice_stay_in_their_pass() -> None:
    cells = ["2026-10-25 02:10:00", "2026-10-25 02:10:00", "2026-10-25 02:20:00", "2026-10-25 02:05:00",
             "2026-10-25 02:05:00", "2026-10-25 02:20:00"]  # fmt: skip
    seconds, _ = read_times(cells, list(range(2, 8)), timezone="Europe/Berlin")
    assert np.diff(seconds).tolist() == [0, 600, 2700, 0, 900]  # summer time twice, then winter time


def test_half_an_hour_written_twice_in_a_half_hourly_file_is_read_as_two_half_hours() -> None:
    # Lord Howe Island sets its clocks back half an hour (02:00 to 01:30): a half-hourly file writes 01:30
    # on two rows in a row, the second in standard time. Read as one instant, it scored two rows in a
    # bucket and an empty one after.
    cells = ["2024-04-07 01:00", "2024-04-07 01:30", "2024-04-07 01:30", "2024-04-07 02:00", "2024-04-07 02:30"]
    seconds, _ = read_times(cells, list(range(2, 7)), timezone="Australia/Lord_Howe")
    assert np.diff(seconds).tolist() == [1800, 1800, 1800, 1800]
    newest_first, _ = read_times(cells[::-1], list(range(2, 7)), timezone="Australia/Lord_Howe")
    assert newest_first.tolist() == seconds[::-1].tolist()
