"""Realistic demo data, written fast with COPY: daily and weekly traffic patterns, skewed users,
tags of realistic cardinality, and all four metric types. Used by `seed_demo` and the benchmarks."""

import json
import math
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice

from django.db import connection, transaction

from events.ingest import EventRow, copy_events, event_line
from flux.tenants.models import Project
from metrics.models import Metric, MetricSeries, tags_fingerprint

EVENT_NAMES = {"page.viewed": 60, "user.login": 20, "user.signup": 8, "order.completed": 7, "feature.used": 5}
PLANS = {"free": 70, "pro": 25, "team": 5}
COUNTRIES = ["US", "DE", "GB", "FR", "IN", "BR", "JP", "CA", "ES", "NL"]
CHANNELS = ["web", "ios", "android"]
# Relative traffic by local hour: quiet nights, a morning peak and an evening peak.
HOURLY = [2, 1, 1, 1, 1, 2, 4, 7, 10, 12, 12, 11, 10, 10, 10, 11, 11, 12, 13, 14, 13, 10, 6, 3]
WEEKDAY = [1.0, 1.0, 1.0, 1.0, 0.95, 0.65, 0.6]
COPY_BATCH = 50_000


@dataclass(frozen=True)
class SeedReport:
    events: int
    points: int
    series: int


def random_moments(rng: random.Random, end: datetime, days: int, count: int) -> Iterator[datetime]:
    """`count` instants in the `days` before `end`, following the hourly and weekday profiles, up to `end`
    itself: traffic that stopped at the top of the hour read as a stop of every series to the detector."""
    start = (end - timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    cells = [start + timedelta(hours=hour) for hour in range(days * 24 + 1) if start + timedelta(hours=hour) < end]
    seconds = [min(3600.0, (end - cell).total_seconds()) for cell in cells]  # the hour in progress, so far
    weights = [hour_weight(cell) * width / 3600 for cell, width in zip(cells, seconds, strict=True)]
    for index in rng.choices(range(len(cells)), weights=weights, k=count):
        yield cells[index] + timedelta(seconds=rng.random() * seconds[index])


def hour_weight(moment: datetime) -> float:
    """Relative traffic in the hour of `moment` (the profiles are in UTC)."""
    return HOURLY[moment.hour] * WEEKDAY[moment.weekday()]


def skewed_user(rng: random.Random, users: int) -> str:
    # A few users are very active, most rarely: the usual long tail.
    return f"u_{int(rng.paretovariate(1.1)) % users}"


def event_rows(project_id: int, rng: random.Random, moments: Iterator[datetime], users: int) -> Iterator[tuple]:
    names, name_weights = list(EVENT_NAMES), list(EVENT_NAMES.values())
    plans, plan_weights = list(PLANS), list(PLANS.values())
    for moment in moments:
        name = rng.choices(names, name_weights)[0]
        value = round(rng.lognormvariate(3.5, 0.8), 2) if name == "order.completed" else None
        tags = {"plan": rng.choices(plans, plan_weights)[0], "country": rng.choice(COUNTRIES),
                "channel": rng.choice(CHANNELS)}  # fmt: skip
        properties = {"path": f"/p/{rng.randint(1, 300)}"} if name == "page.viewed" else {}
        yield (project_id, moment, name, skewed_user(rng, users), f"s_{rng.randint(1, users * 3)}", value,
               json.dumps(tags), json.dumps(properties), "production", "web")  # fmt: skip


def ensure_series(project: Project) -> dict[str, list[MetricSeries]]:
    definitions = {
        ("queue.depth", "gauge"): [{"queue": queue} for queue in ("default", "mailers", "critical")],
        ("orders.count", "counter"): [{"channel": channel} for channel in CHANNELS],
        ("api.latency", "distribution"): [{"route": route, "unit": "ms"} for route in ("/", "/search", "/checkout")],
        ("users.active", "set"): [{}],
    }
    series: dict[str, list[MetricSeries]] = {}
    for (name, metric_type), tag_sets in definitions.items():
        metric, _ = Metric.objects.get_or_create(project=project, name=name, defaults={"type": metric_type})
        series[metric_type] = [
            MetricSeries.objects.get_or_create(
                project=project, metric=metric, tags_hash=tags_fingerprint(tags), defaults={"tags": tags}
            )[0]
            for tags in tag_sets
        ]
    return series


def point_rows(
    project_id: int, rng: random.Random, moments: Iterator[datetime], series: dict, users: int
) -> Iterator[tuple]:
    kinds = ["gauge", "counter", "distribution", "set"]
    for moment in moments:
        kind = rng.choices(kinds, [2, 3, 4, 1])[0]
        chosen = rng.choice(series[kind])
        member = None
        if kind == "gauge":
            value = max(0.0, round(20 + 15 * math.sin(moment.hour / 24 * 2 * math.pi) + rng.gauss(0, 4), 1))
        elif kind == "counter":
            value = float(rng.choice([1, 1, 1, 2, 3]))
        elif kind == "distribution":
            value = round(rng.lognormvariate(4.2, 0.5), 2)
        else:
            value, member = 1.0, skewed_user(rng, users)
        yield (project_id, chosen.pk, moment, value, member)


def copy_rows(sql: str, rows: Iterator[tuple]) -> int:
    written = 0
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
            written += 1
    return written


def copy_event_rows(project_id: int, rows: Iterable[tuple]) -> int:
    """Store rows shaped as `event_rows` yields them the way ingestion does (names and tag sets encoded),
    COPY_BATCH rows per COPY."""
    written, rows = 0, iter(rows)
    with connection.cursor() as cursor:
        while chunk := list(islice(rows, COPY_BATCH)):
            copy_events(cursor, project_id, [as_event_row(*row) for row in chunk])
            written += len(chunk)
    return written


def as_event_row(
    project_id: int, moment: datetime, name: str, user_id: str, session_id: str, value: float | None, tags: str,
    properties: str, environment: str, service: str,
) -> EventRow:  # fmt: skip
    texts = (user_id, session_id, environment, service, None, None)
    return EventRow(name, tags, None, event_line(moment.isoformat(), value, properties, texts, None))


def seed(project: Project, events: int, points: int, days: int, end: datetime, seed_value: int = 1) -> SeedReport:
    """Add `events` events and `points` metric points spread over the `days` before `end`."""
    rng = random.Random(seed_value)
    users = max(100, events // 50)
    with transaction.atomic():
        series = ensure_series(project)
        # received_at stays the server's now(): the rows arrive now, so the next rollup run takes them.
        written_events = copy_event_rows(
            project.pk, event_rows(project.pk, rng, random_moments(rng, end, days, events), users)
        )
        written_points = copy_rows(
            "COPY metrics_point (project_id, series_id, time, value, member) FROM STDIN",
            point_rows(project.pk, rng, random_moments(rng, end, days, points), series, users),
        )
    return SeedReport(written_events, written_points, sum(len(group) for group in series.values()))


MEAN_WEIGHT = sum(HOURLY) / 24 * sum(WEEKDAY) / 7


def live_moments(rng: random.Random, start: datetime, end: datetime, per_day: float) -> list[datetime]:
    """Instants in [start, end) for traffic of `per_day` on an average day, as the profiles shape it at
    `start`: a Poisson count, so short windows (a few seconds) carry the right rate on average."""
    seconds = (end - start).total_seconds()
    expected = per_day / 86_400 * seconds * hour_weight(start) / MEAN_WEIGHT
    return sorted(start + timedelta(seconds=rng.random() * seconds) for _ in range(poisson(rng, expected)))


def poisson(rng: random.Random, mean: float) -> int:
    if mean > 50:  # the normal approximation: Knuth's product below would take as many draws as events
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    count, product, floor = 0, rng.random(), math.exp(-mean)
    while product > floor:
        count, product = count + 1, product * rng.random()
    return count


@dataclass(frozen=True)
class LiveTick:
    events: int
    points: int
    names: list[str]
    metrics: list[str]


RATE_WINDOW = timedelta(days=7)


def recent_rates(project: Project, now: datetime) -> tuple[float, float] | None:
    """(events, metric points) a day over the project's last week of rollups (or the part of it it has data
    for), or None when it has no events in it: the rate a live demo continues at."""
    rates = []
    for table in ("events_eventrollup", "metrics_metricrollup"):
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT sum(count), min(bucket) FROM {table} WHERE project_id = %s AND level = 'hour' "
                "AND bucket >= %s AND bucket < %s",
                [project.pk, now - RATE_WINDOW, now],
            )
            total, first = cursor.fetchone()
        days = (now - first) / timedelta(days=1) if first else 1.0
        rates.append(float(total or 0) / max(days, 1 / 24))
    return None if rates[0] == 0 else (rates[0], rates[1])


@dataclass(frozen=True)
class LiveDemo:
    """What every tick of the live demo reuses: its project's series (and their metrics' names) and users."""

    project: Project
    series: dict[str, list[MetricSeries]]
    metric_names: dict[int, str]
    users: int

    @classmethod
    def of(cls, project: Project, events_per_day: float) -> "LiveDemo":
        series = ensure_series(project)
        ids = [item.pk for group in series.values() for item in group]
        names = dict(MetricSeries.objects.filter(project=project, pk__in=ids).values_list("pk", "metric__name"))
        return cls(project, series, names, max(100, int(events_per_day * 30) // 50))  # as seed() picks them


def send_live(
    demo: LiveDemo, rng: random.Random, start: datetime, end: datetime, events_per_day: float, points_per_day: float
) -> LiveTick:
    """The demo's traffic from `start` to `end`, stored as seed() stores it (the worker's rollups take it)."""
    project_id = demo.project.pk
    with transaction.atomic():
        moments = live_moments(rng, start, end, events_per_day)
        event_list = list(event_rows(project_id, rng, iter(moments), demo.users))
        moments = live_moments(rng, start, end, points_per_day)
        point_list = list(point_rows(project_id, rng, iter(moments), demo.series, demo.users))
        copy_event_rows(project_id, event_list)
        copy_rows("COPY metrics_point (project_id, series_id, time, value, member) FROM STDIN", iter(point_list))
    names, metrics = {row[2] for row in event_list}, {demo.metric_names[row[1]] for row in point_list}
    return LiveTick(len(event_list), len(point_list), sorted(names), sorted(metrics))


def seed_incident(project: Project, end: datetime, seed_value: int = 1) -> int:
    """A signup surge from one campaign in the last complete hour before `end` (about six times the
    usual), for the anomaly detector to find in the demo. Returns the events added."""
    rng = random.Random(seed_value)
    hour = end.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(*) FROM events_event
               WHERE project_id = %s AND name = 'user.signup' AND time >= %s AND time < %s""",
            [project.pk, hour - timedelta(days=7), hour - timedelta(days=7) + timedelta(hours=1)],
        )
        usual = cursor.fetchone()[0]
    surge = max(60, usual * 5)
    rows = (
        (project.pk, hour + timedelta(seconds=rng.random() * 3599), "user.signup", f"u_campaign_{index}",
         f"s_campaign_{index}", None, json.dumps({"plan": "free", "country": "DE", "channel": "web",
         "campaign": "black-friday"}), "{}", "production", "web")
        for index in range(surge)
    )  # fmt: skip
    return copy_event_rows(project.pk, rows)
