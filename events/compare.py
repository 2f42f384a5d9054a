"""Event measures for comparisons (flux.query.compare): a count, a unique count or a statistic of value."""

from events import queries
from flux.query.event_filter import EventFilter
from flux.query.timerange import TimeRange
from flux.tenants.models import Project

STAT_MEASURES = ("sum", "avg", "min", "max", "p50", "p90", "p95", "p99")


def measure(project: Project, time_range: TimeRange, event_filter: EventFilter, what: str, field: str) -> float | None:
    if what == "count":
        return queries.count_events(project, time_range, event_filter)
    if what == "unique":
        return queries.unique_count(project, time_range, event_filter, field)
    return queries.value_stats(project, time_range, event_filter)[what]
