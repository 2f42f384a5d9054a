"""Numbers and moments written for people."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from flux.insights import wording

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 19, 10, 0, tzinfo=UTC)  # Thursday, 11:00 in Berlin


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"), (7, "7"), (1234, "1,234"), (999_949, "999,949"), (999_999.6, "1M"), (1_234_567, "1.2M"),
        (12_345_678, "12.3M"), (123_456_789, "123M"), (2_500_000_000, "2.5B"), (1234.5, "1,235"),
        (13.0, "13"), (12.345, "12.3"), (1.5, "1.5"), (0.04567, "0.0457"), (-5.5, "-5.5"), (-1234, "-1,234"),
    ],
)  # fmt: skip
def test_numbers_are_grouped_compacted_or_cut_to_three_significant_digits(value: float, text: str) -> None:
    assert wording.number(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(23.4, "23%"), (-23.4, "23%"), (4.25, "4.3%"), (4.0, "4%"), (9.96, "10%"), (0.04, "0%"), (1250, "1,250%")],
)
def test_percentages_are_whole_from_ten_and_with_one_decimal_below(value: float, text: str) -> None:
    assert wording.percent(value) == text


def test_a_change_is_up_down_or_steady_and_steady_when_not_significant() -> None:
    assert [wording.trend(5, True), wording.trend(-5, True), wording.trend(5, False), wording.trend(0, True)] == [
        "up", "down", "steady", "steady",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("at", "text"),
    [
        (datetime(2026, 11, 19, 8, 0, tzinfo=UTC), "today around 09:00"),
        (datetime(2026, 11, 18, 23, 0, tzinfo=UTC), "today around 00:00"),  # still yesterday in UTC
        (datetime(2026, 11, 18, 22, 0, tzinfo=UTC), "yesterday around 23:00"),
        (datetime(2026, 11, 17, 13, 0, tzinfo=UTC), "Tuesday around 14:00"),
        (datetime(2026, 11, 13, 13, 0, tzinfo=UTC), "Friday around 14:00"),
        (datetime(2026, 11, 12, 13, 0, tzinfo=UTC), "Thursday 12 November around 14:00"),  # a week ago
    ],
)
def test_moments_are_named_by_day_and_local_hour(at: datetime, text: str) -> None:
    assert wording.moment(at, NOW, BERLIN) == text


def test_moments_follow_summer_time() -> None:
    summer_now = datetime(2026, 7, 9, 10, 0, tzinfo=UTC)
    assert wording.moment(datetime(2026, 7, 7, 12, 0, tzinfo=UTC), summer_now, BERLIN) == "Tuesday around 14:00"


def test_fact_labels_name_the_local_day_and_time() -> None:
    assert wording.local_time(datetime(2026, 11, 17, 13, 0, tzinfo=UTC), BERLIN) == "Tuesday 17 November 14:00"


def test_plurals_and_lists_read_naturally() -> None:
    assert [wording.plural(1, "anomaly", "anomalies"), wording.plural(1234, "event")] == ["1 anomaly", "1,234 events"]
    assert [wording.joined(["a"]), wording.joined(["a", "b"]), wording.joined(["a", "b", "c"])] == [
        "a", "a and b", "a, b and c",
    ]  # fmt: skip
