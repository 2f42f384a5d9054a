"""Seasons in the project's local time: across a change of clocks the same time yesterday is 23 or 25
hours back, so a business's day that follows its own clock raises no false alert; UTC is unchanged;
scoring stays causal and incremental scoring with the carry still equals scoring the whole series."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from anomalies.detection import DetectorConfig, history_needed, score_latest, score_series
from anomalies.detection.localtime import Clock
from anomalies.detection.minute_rate import minute_rate
from anomalies.tests.test_detection_contract import assert_same
from anomalies.tests.test_detection_incremental import between, walk

DAY, WEEK = 86400, 7 * 86400
BERLIN_SPRING = datetime(2026, 3, 29, 1, 0, tzinfo=UTC).timestamp()  # 02:00 CET -> 03:00 CEST
BERLIN_AUTUMN = datetime(2026, 10, 25, 1, 0, tzinfo=UTC).timestamp()  # 03:00 CEST -> 02:00 CET
SYDNEY_AUTUMN = datetime(2026, 4, 4, 16, 0, tzinfo=UTC).timestamp()  # 03:00 AEDT -> 02:00 AEST
LORD_HOWE_AUTUMN = datetime(2026, 4, 4, 15, 0, tzinfo=UTC).timestamp()  # 02:00 +11:00 -> 01:30 +10:30


def local_day(
    zone: str, change: float, interval: int, kind: str, seed: int = 1, weeks_before: int = 5, days_after: int = 9
) -> tuple[np.ndarray, np.ndarray]:
    """A business's day on its own clock (quiet night, busy afternoon, quieter weekend), no anomaly, from
    `weeks_before` weeks before a change of clocks to `days_after` days after it."""
    start = (change - weeks_before * WEEK) // interval * interval
    times = start + interval * np.arange((weeks_before * WEEK + days_after * DAY) // interval, dtype=np.float64)
    tz = ZoneInfo(zone)
    moments = [datetime.fromtimestamp(float(t), tz) for t in times]
    hours = np.array([m.hour + m.minute / 60 for m in moments])
    weekend = np.array([m.weekday() >= 5 for m in moments])
    shape = (0.08 + np.exp(-0.5 * ((hours - 14.0) / 3.5) ** 2)) * np.where(weekend, 0.6, 1.0)
    rng = np.random.default_rng(seed)
    if kind == "count":
        return times, rng.poisson(shape * 400.0 * interval / 3600).astype(np.float64)
    return times, 100.0 + 60.0 * shape + rng.normal(0.0, 2.0, len(times))


def utc_offset(zone: ZoneInfo, seconds: float) -> float:
    return datetime.fromtimestamp(seconds, zone).utcoffset().total_seconds()  # type: ignore[union-attr]


def alerts_after(times: np.ndarray, values: np.ndarray, config: DetectorConfig, change: float) -> int:
    scores = score_series(times, values, config)
    return int(scores.alert[times >= change].sum())


@pytest.mark.parametrize(
    ("zone", "change", "interval", "kind", "seed"),
    [
        ("Europe/Berlin", BERLIN_SPRING, 300, "continuous", 3),
        ("Europe/Berlin", BERLIN_AUTUMN, 300, "count", 3),
        ("Europe/Berlin", BERLIN_SPRING, 3600, "count", 3),
        ("Australia/Sydney", SYDNEY_AUTUMN, 3600, "continuous", 3),
        # A half-hour change. (Seed 3 has one info-level spike in the zone, three days after the change
        # and away from the ramps: clean noise's own rate, which the days before the change show on
        # seeds 4, 6 and 7; with UTC lags it has five alerts.)
        ("Australia/Lord_Howe", LORD_HOWE_AUTUMN, 300, "continuous", 1),
    ],
)
def test_a_local_day_raises_no_alert_across_a_change_of_clocks_in_its_zone(
    zone: str, change: float, interval: int, kind: str, seed: int
) -> None:
    times, values = local_day(zone, change, interval, kind, seed=seed)
    as_utc = alerts_after(times, values, DetectorConfig(interval, kind), change)  # type: ignore[arg-type]
    in_zone = alerts_after(times, values, DetectorConfig(interval, kind, timezone=zone), change)  # type: ignore[arg-type]
    assert as_utc > 0  # read in UTC, the day moved an hour: what Flux did before zones
    assert in_zone == 0


def test_the_same_time_yesterday_is_23_hours_back_after_spring_and_25_after_autumn() -> None:
    for change, hours in ((BERLIN_SPRING, 23), (BERLIN_AUTUMN, 25)):
        origin = change - 2 * DAY
        clock = Clock.of("Europe/Berlin", origin, 300, 4 * 288)
        noon_after = np.array([int((change + 11 * 3600 - origin) // 300)])  # 12:00 or 13:00 local
        assert (noon_after - clock.back(noon_after, 288))[0] * 300 == hours * 3600
        assert (noon_after - clock.back(noon_after, 3 * 288))[0] * 300 == (hours + 48) * 3600
        a_day_later = noon_after + 288
        assert (a_day_later - clock.back(a_day_later, 288))[0] == 288  # both days after the change


@pytest.mark.parametrize(("change", "origin_late"), [(BERLIN_SPRING, 0), (BERLIN_AUTUMN, 0), (BERLIN_AUTUMN, 7)])
def test_every_bucket_around_a_change_lags_by_the_change_of_offset_since(change: float, origin_late: int) -> None:
    # Bucket by bucket, through the hour that does not exist or exists twice, on grids starting at
    # different times (every clock of a zone and width shares its steps) and off the epoch's buckets.
    berlin = ZoneInfo("Europe/Berlin")
    for days_before in (3, 9):
        origin = (change - days_before * DAY) // 300 * 300 + origin_late
        clock = Clock.of("Europe/Berlin", origin, 300, (days_before + 9) * 288)
        index = np.arange((days_before - 1) * 288, (days_before + 8) * 288)  # a day before to 8 after
        for points in (288, 2016):
            moved = [(utc_offset(berlin, origin + 300 * i) - utc_offset(berlin, origin + 300 * (i - points))) // 300
                     for i in index.tolist()]  # fmt: skip
            assert (clock.back(index, points) - (index - points)).tolist() == moved


def test_a_half_hour_change_moves_five_minute_lags_and_not_hourly_ones() -> None:
    change = LORD_HOWE_AUTUMN
    for interval, moved in ((300, 6), (3600, 0)):
        origin = change - DAY
        clock = Clock.of("Australia/Lord_Howe", origin, interval, 3 * DAY // interval)
        after = np.array([int((change + 6 * 3600 - origin) // interval)])
        assert (after - clock.back(after, DAY // interval))[0] == DAY // interval + moved


def test_a_zone_crossing_the_date_line_keeps_its_time_of_day() -> None:
    change = datetime(2011, 12, 30, 10, 0, tzinfo=UTC).timestamp()  # Samoa skipped 30 December 2011
    clock = Clock.of("Pacific/Apia", change - 2 * DAY, 3600, 96)
    index = np.arange(24, 96)
    np.testing.assert_array_equal(clock.back(index, 24), index - 24)


@pytest.mark.parametrize(
    ("zone", "interval", "kind"), [("Asia/Kolkata", 300, "count"), ("Europe/Berlin", 3600, "continuous")]
)
def test_a_zone_whose_clocks_do_not_change_over_the_series_scores_exactly_as_utc(
    zone: str, interval: int, kind: str
) -> None:
    # Kolkata never changes (+05:30); Berlin from May to early October does not either.
    change = datetime(2026, 10, 1, tzinfo=UTC).timestamp()
    times, values = local_day(zone, change, interval, kind, weeks_before=17 if interval == 3600 else 5, days_after=0)
    values[-30] *= 3
    zoned = score_series(times, values, DetectorConfig(interval, kind, timezone=zone))  # type: ignore[arg-type]
    assert_same(zoned, score_series(times, values, DetectorConfig(interval, kind)))  # type: ignore[arg-type]
    assert zoned.alert.any()


def test_utc_is_the_default_zone() -> None:
    assert DetectorConfig(300, "count") == DetectorConfig(300, "count", "medium", "UTC")
    assert history_needed(DetectorConfig(300, "count", timezone="UTC")) == history_needed(DetectorConfig(300, "count"))
    with pytest.raises(ValueError, match="time zone"):
        DetectorConfig(300, "count", timezone="Mars/Olympus")


@pytest.mark.parametrize(
    ("change", "interval", "kind"), [(BERLIN_SPRING, 300, "count"), (BERLIN_AUTUMN, 3600, "continuous")]
)
def test_across_a_change_of_clocks_scoring_from_history_needed_equals_the_whole_series(
    change: float, interval: int, kind: str
) -> None:
    times, values = local_day("Europe/Berlin", change, interval, kind, weeks_before=5, days_after=2)
    values[np.searchsorted(times, change + 7 * 3600)] *= 3
    config = DetectorConfig(interval, kind, timezone="Europe/Berlin")  # type: ignore[arg-type]
    full = score_series(times, values, config)
    history = history_needed(config) // interval
    for end in np.searchsorted(times, change + np.array([-3600.0, 0.0, 3600.0, 5 * 3600.0, DAY])):
        low = max(0, end + 1 - history)
        latest = score_latest(times[low : end + 1], values[low : end + 1], config, points=12)
        assert_same(latest, between(full, end + 1 - 12, end + 1))


def test_across_a_change_of_clocks_scoring_with_the_carry_equals_the_whole_series() -> None:
    times, values = local_day("Europe/Berlin", BERLIN_AUTUMN, 300, "count", weeks_before=2, days_after=1)
    values[np.searchsorted(times, BERLIN_AUTUMN + 9 * 3600) :][:12] *= 3  # a surge the morning after
    config = DetectorConfig(300, "count", timezone="Europe/Berlin")
    full = score_series(times, values, config)
    parts = walk(times, values, config, int(np.searchsorted(times, BERLIN_AUTUMN - 3 * 3600)))
    for end, step, scores in parts:
        assert_same(scores, between(full, end - step, end))
        np.testing.assert_array_equal(scores.alert, full.alert[end - step : end])
    assert any(scores.alert.any() for _, _, scores in parts)


def test_the_minute_rate_reads_the_same_local_hour_on_previous_days() -> None:
    # Busy from 09:00 to 18:00 local. At 11:30 CEST on the day clocks went forward, the same hour and the
    # three before it yesterday are 23 hours back; read as UTC, yesterday's level window takes in an
    # hour of the quiet morning, and the rate comes out far too high.
    change = BERLIN_SPRING
    start = change - 8 * DAY
    times = start + 300.0 * np.arange((8 * DAY + 8 * 3600 + 1800) // 300)  # up to 11:30 CEST that day
    hours = np.array([datetime.fromtimestamp(float(t), ZoneInfo("Europe/Berlin")).hour for t in times])
    counts = np.where((hours >= 9) & (hours < 18), 100.0, 5.0)
    clock = Clock.of("Europe/Berlin", float(times[0]), 300, len(times))
    local, _ = minute_rate(counts, 300, clock=clock)  # type: ignore[misc]
    as_utc, _ = minute_rate(counts, 300)  # type: ignore[misc]
    assert local == pytest.approx(20.0, rel=0.05)  # 100 events per five minutes
    assert as_utc > 1.5 * local


@pytest.mark.parametrize("year", [1970, 2100, 2199])
def test_clocks_are_followed_from_1970_to_2200(year: int) -> None:
    origin = datetime(year, 3, 1, tzinfo=UTC).timestamp()
    clock = Clock.of("America/New_York", origin, 3600, 120 * 24)
    index = np.arange(7 * 24, 120 * 24)
    assert set((index - clock.back(index, 24)).tolist()) == {23, 24}  # the day after the change: 23 hours
