from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from flux.query.timerange import RangeError, TimeRange, bucket_starts, choose_interval, parse_range

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)


def test_default_range_is_the_last_24_hours() -> None:
    assert parse_range({}, NOW, "UTC") == TimeRange(NOW - timedelta(days=1), NOW, ZoneInfo("UTC"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("-15m", NOW - timedelta(minutes=15)),
        ("-24h", NOW - timedelta(hours=24)),
        ("-7d", NOW - timedelta(days=7)),
        ("2026-11-20T08:00:00Z", datetime(2026, 11, 20, 8, tzinfo=UTC)),
        ("2026-11-20", datetime(2026, 11, 19, 23, tzinfo=UTC)),  # local midnight in Berlin
        ("2026-11-20T12:00", datetime(2026, 11, 20, 11, tzinfo=UTC)),
        ("1795400000000", datetime.fromtimestamp(1795400000, tz=UTC)),
    ],
)
def test_from_accepts_iso_dates_epoch_and_relative(value: str, expected: datetime) -> None:
    assert parse_range({"from": value}, NOW, "Europe/Berlin").start == expected


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"from": "last tuesday"}, "from"),
        ({"to": "soon"}, "to"),
        ({"from": "now", "to": "-1h"}, "from"),
        ({"period": "fortnight"}, "period"),
        ({"period": "today", "from": "-1h"}, "period"),
        ({"timezone": "Mars/Base"}, "timezone"),
        ({"from": "99999999999999999999"}, "from"),
    ],
)
def test_bad_parameters_name_themselves(params: dict, parameter: str) -> None:
    with pytest.raises(RangeError) as error:
        parse_range(params, NOW, "UTC")
    assert error.value.parameter == parameter


def test_yesterday_on_the_autumn_dst_change_has_25_hours() -> None:
    now = datetime(2026, 10, 26, 12, tzinfo=UTC)
    yesterday = parse_range({"period": "yesterday"}, now, "Europe/Berlin")
    assert yesterday.start == datetime(2026, 10, 24, 22, tzinfo=UTC)  # 00:00 CEST
    assert yesterday.duration == timedelta(hours=25)


def test_calendar_periods_follow_the_project_timezone() -> None:
    week = parse_range({"period": "week"}, NOW, "Europe/Berlin")  # NOW is a Monday
    assert week.start == datetime(2026, 11, 22, 23, tzinfo=UTC)
    last_month = parse_range({"period": "last_month"}, NOW, "America/New_York")
    assert (last_month.start, last_month.end) == (
        datetime(2026, 10, 1, 4, tzinfo=UTC),
        datetime(2026, 11, 1, 4, tzinfo=UTC),
    )
    assert parse_range({"period": "last_7d"}, NOW, "UTC").start == NOW - timedelta(days=7)


def test_daily_buckets_across_spring_dst_are_local_midnights() -> None:
    march = TimeRange(datetime(2026, 3, 28, 0, tzinfo=UTC), datetime(2026, 3, 31, 0, tzinfo=UTC), BERLIN)
    starts = bucket_starts(march, "1d")
    assert starts == [
        datetime(2026, 3, 27, 23, tzinfo=UTC),
        datetime(2026, 3, 28, 23, tzinfo=UTC),  # 29 March, the 23-hour day
        datetime(2026, 3, 29, 22, tzinfo=UTC),
        datetime(2026, 3, 30, 22, tzinfo=UTC),
    ]


def test_hourly_buckets_cover_the_range_aligned_to_the_hour() -> None:
    rng = TimeRange(datetime(2026, 11, 23, 8, 20, tzinfo=UTC), datetime(2026, 11, 23, 10, 5, tzinfo=UTC), BERLIN)
    assert bucket_starts(rng, "1h") == [datetime(2026, 11, 23, hour, tzinfo=UTC) for hour in (8, 9, 10)]


def test_weekly_and_monthly_buckets_start_on_monday_and_the_first() -> None:
    rng = TimeRange(datetime(2026, 11, 4, tzinfo=UTC), datetime(2026, 12, 2, tzinfo=UTC), ZoneInfo("UTC"))
    assert bucket_starts(rng, "1w")[0] == datetime(2026, 11, 2, tzinfo=UTC)
    assert bucket_starts(rng, "1mo") == [datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)]


def test_automatic_interval_aims_at_a_few_hundred_points() -> None:
    def rng(days: float) -> TimeRange:
        return TimeRange(NOW - timedelta(days=days), NOW, ZoneInfo("UTC"))

    assert choose_interval(rng(1 / 24), None) == "1m"
    assert choose_interval(rng(1), None) == "5m"
    assert choose_interval(rng(7), None) == "1h"
    assert choose_interval(rng(90), None) == "12h"
    assert choose_interval(rng(365), None) == "1w"
    assert choose_interval(rng(7), "1d") == "1d"
    with pytest.raises(RangeError, match="more than 2000 points"):
        choose_interval(rng(30), "1m")
    with pytest.raises(RangeError, match="interval must be one of"):
        choose_interval(rng(1), "2h")
