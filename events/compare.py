"""This period against an earlier one: the numbers behind number widgets and insights."""

from dataclasses import dataclass
from datetime import timedelta

from events import queries
from events.filters import EventFilter
from flux.tenants.models import Project
from flux.timerange import TimeRange

STAT_MEASURES = ("sum", "avg", "min", "max", "p50", "p90", "p95", "p99")
SHIFTS = {"previous": None, "day": timedelta(days=1), "week": timedelta(days=7), "year": timedelta(days=364)}


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
        if self.change is None or not self.previous:
            return None  # no baseline: a percentage would be infinite or meaningless
        return self.change / abs(self.previous) * 100


def earlier(time_range: TimeRange, against: str) -> TimeRange:
    """The range to compare with: the one just before, or the same range a day/week/year (52 weeks) back."""
    shift = SHIFTS[against] or time_range.duration
    return TimeRange(time_range.start - shift, time_range.end - shift, time_range.zone)


def measure(project: Project, time_range: TimeRange, event_filter: EventFilter, what: str, field: str) -> float | None:
    if what == "count":
        return queries.count_events(project, time_range, event_filter)
    if what == "unique":
        return queries.unique_count(project, time_range, event_filter, field)
    return queries.value_stats(project, time_range, event_filter)[what]


def compare(
    project: Project, time_range: TimeRange, event_filter: EventFilter, what: str, field: str, against: str
) -> Comparison:
    """`what` (count, unique of `field`, or a statistic of value) now and over the earlier range."""
    before = earlier(time_range, against)
    return Comparison(
        measure(project, time_range, event_filter, what, field),
        measure(project, before, event_filter, what, field),
        before,
    )
