"""This period against an earlier one: the numbers behind number widgets and insights. Pure; the
measure (an events count, a metric aggregation, ...) is passed in."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from flux.query.timerange import TimeRange

# Back by whole weeks where it can (a month is 4 weeks, a year 52), so weekdays line up.
SHIFTS = {
    "previous": None, "day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=28),
    "year": timedelta(days=364),
}  # fmt: skip


@dataclass(frozen=True)
class Comparison:
    current: float | None
    previous: float | None
    earlier_range: TimeRange

    @property
    def change(self) -> float | None:
        if self.current is None or self.previous is None:
            return None
        return self.current - self.previous

    @property
    def change_percent(self) -> float | None:
        return percent_change(self.current, self.previous)


def percent_change(current: float | None, previous: float | None) -> float | None:
    """How much `current` differs from `previous`, in percent of it; None without both or without a baseline."""
    if current is None or previous is None or not previous:
        return None  # no baseline: a percentage would be infinite or meaningless
    return (current - previous) / abs(previous) * 100


# Below this share of the current value, the earlier one is too small a base for a percentage to mean
# anything ("▲160,333%" from a near-empty period): pages then say "new" or show the absolute change.
MIN_BASE_SHARE = 0.05


def shown_percent_change(current: float | None, previous: float | None) -> float | None:
    """percent_change for people: None as well when `previous` is under MIN_BASE_SHARE of `current`."""
    if current is not None and previous is not None and abs(previous) < MIN_BASE_SHARE * abs(current):
        return None
    return percent_change(current, previous)


def earlier(time_range: TimeRange, against: str) -> TimeRange:
    """The range to compare with: the one just before, or the same range a day, week, month (4 weeks) or
    year (52 weeks) back."""
    shift = SHIFTS[against] or time_range.duration
    return TimeRange(time_range.start - shift, time_range.end - shift, time_range.zone)


def compare(measure: Callable[[TimeRange], float | None], time_range: TimeRange, against: str) -> Comparison:
    """`measure` over the range and over the earlier range."""
    before = earlier(time_range, against)
    return Comparison(measure(time_range), measure(before), before)
