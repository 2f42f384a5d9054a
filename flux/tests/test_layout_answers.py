"""One data set, the same answers on either storage layout: uncompressed, compressed, and after late data
into compressed chunks (rolled up and recompressed). The expected answers are computed here in Python
from the data set itself, so they depend on neither the layout nor the database."""

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from events import queries as event_queries
from events.models import RollupWatermark
from events.rollups import roll_up_events
from events.tests.factories import insert_event
from flux.query.event_filter import EventFilter
from flux.query.timerange import TimeRange
from flux.storage import maintenance
from flux.storage.detect import TIMESCALEDB, table_layout
from flux.tenants.models import Project
from metrics import queries as metric_queries
from metrics.rollups import roll_up_metrics
from metrics.tests.factories import insert_point, make_series

pytestmark = pytest.mark.storage

T0 = datetime(2026, 11, 10, tzinfo=UTC)
DAYS = 6
RANGE = TimeRange(T0, T0 + timedelta(days=DAYS), ZoneInfo("UTC"))
RECEIVED = T0 + timedelta(days=DAYS + 1)
ROLLUP_AT = RECEIVED + timedelta(minutes=10)
LATE = ROLLUP_AT + timedelta(minutes=1)
ROLLUP_AGAIN_AT = LATE + timedelta(minutes=10)


class DataSet:
    """What was stored, kept in Python: events as (time, name, user, value, plan), points as (time, value)."""

    def __init__(self, project: Project) -> None:
        self.project, self.series = project, make_series(project, "queue.depth", "gauge", queue="a")
        self.events: list[tuple] = []
        self.points: list[tuple] = []

    def add_event(
        self, time: datetime, name: str, user: str, value: float | None, plan: str, received: datetime
    ) -> None:
        insert_event(self.project, time, name, user_id=user, value=value, tags={"plan": plan}, received_at=received)
        self.events.append((time, name, user, value, plan))

    def add_point(self, time: datetime, value: float, received: datetime) -> None:
        insert_point(self.series, time, value, received_at=received)
        self.points.append((time, value))


def load(data: DataSet) -> None:
    for day in range(DAYS):
        for i in range(30):
            time = T0 + timedelta(days=day, minutes=45 * i)
            value = float(i % 10 + day) if i % 4 else None
            data.add_event(time, "order" if i % 3 else "signup", f"u{i * day % 11}", value, ("free", "pro")[i % 2],
                           RECEIVED)  # fmt: skip
        for hour in range(24):
            data.add_point(T0 + timedelta(days=day, hours=hour, minutes=10), float((hour * 7 + day) % 13), RECEIVED)


def add_late_data(data: DataSet) -> None:
    late_day = T0 + timedelta(days=2)
    for i in range(5):
        data.add_event(late_day + timedelta(hours=i, minutes=7), "order", "late-user", 100.0 + i, "pro", LATE)
        data.add_point(late_day + timedelta(hours=i, minutes=20), 50.0 + i, LATE)


def day_of(time: datetime) -> datetime:
    return time.replace(hour=0, minute=0, second=0, microsecond=0)


def expected_answers(data: DataSet) -> dict:
    orders = [event for event in data.events if event[1] == "order"]
    values = [event[3] for event in orders if event[3] is not None]
    per_day: dict[datetime, list[float]] = defaultdict(list)
    for time, value in data.points:
        per_day[day_of(time)].append(value)
    days = [T0 + timedelta(days=day) for day in range(DAYS)]
    order_days = Counter(day_of(event[0]) for event in orders)
    return {
        "orders per day": [(day, order_days[day]) for day in days],
        "pro plan events": sum(1 for event in data.events if event[4] == "pro"),
        "order users": len({event[2] for event in orders}),
        "order values": {"count": len(values), "sum": sum(values), "min": min(values), "max": max(values)},
        "gauge daily max": [(day, max(per_day[day])) for day in days],
        "gauge daily avg": [(day, pytest.approx(sum(per_day[day]) / len(per_day[day]))) for day in days],
        "gauge points": len(data.points),
    }


def flux_answers(data: DataSet) -> dict:
    project, metric = data.project, data.series.metric
    stats = event_queries.value_stats(project, RANGE, EventFilter(name="order"))

    def gauge(aggregation: str) -> list:
        (result,) = metric_queries.metric_series(project.pk, metric, RANGE, "1d", aggregation, {}, None, 10)
        return result.points

    return {
        "orders per day": event_queries.count_series(project, RANGE, EventFilter(name="order"), "1d"),
        "pro plan events": event_queries.count_events(project, RANGE, EventFilter(tags={"plan": "pro"})),
        "order users": event_queries.unique_count(project, RANGE, EventFilter(name="order"), "user_id"),
        "order values": {key: stats[key] for key in ("count", "sum", "min", "max")},
        "gauge daily max": gauge("max"),
        "gauge daily avg": gauge("avg"),
        "gauge points": metric_queries.metric_summary(project.pk, metric, RANGE)["points"],
    }


def compressed_chunks() -> int:
    with connection.cursor() as cursor:
        if table_layout(cursor, "events_rawevent") != TIMESCALEDB:
            return 0
        cursor.execute(
            "SELECT count(*) FROM timescaledb_information.chunks WHERE is_compressed AND range_start >= %s", [T0]
        )
        return cursor.fetchone()[0]


def roll_up(now: datetime, from_scratch: bool = False) -> None:
    if from_scratch:
        RollupWatermark.objects.all().delete()
    roll_up_events(now)
    roll_up_metrics(now)


def test_answers_are_the_same_uncompressed_compressed_and_after_late_data(project: Project, settings: object) -> None:
    project.retention_days = 3650
    project.save()
    data = DataSet(project)
    load(data)
    roll_up(ROLLUP_AT, from_scratch=True)
    on_timescaledb = settings.FLUX_STORAGE == TIMESCALEDB
    settings.FLUX_COMPRESS_AFTER_DAYS = 0

    assert flux_answers(data) == expected_answers(data), "uncompressed"

    maintenance.compress_chunks(RECEIVED)
    assert compressed_chunks() == (2 * DAYS if on_timescaledb else 0)  # both tables, every day
    assert flux_answers(data) == expected_answers(data), "compressed"

    add_late_data(data)
    assert flux_answers(data) == expected_answers(data), "late data, not yet rolled up"
    roll_up(ROLLUP_AGAIN_AT)
    assert flux_answers(data) == expected_answers(data), "late data rolled up"
    maintenance.compress_chunks(RECEIVED)
    assert flux_answers(data) == expected_answers(data), "recompressed"
