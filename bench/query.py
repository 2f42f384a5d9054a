"""Query benchmark: rollup-served answers against raw scans of the same data, in the same run.

    make bench-query                         # or, with the services' environment set:
    python bench/query.py --events 10000000 --points 10000000 --days 90

Seeds a scratch database (`--database`, default $FLUX_QUERYBENCH_DATABASE or flux_querybench; kept between
runs, `--reseed` starts over) with realistic events and metric points (events.seeding), rolls them up
(timed: raw rows rolled per second), then runs each query `--runs` times through Flux's query functions
and the same question as a raw SQL scan `--raw-runs` times, and prints p50/p95 latencies, their ratio and
both answers. Then the questions only raw rows answer (a funnel, a user's timeline, property and tag
filters, a name's newest events), `--raw-runs` times each. Also prints the storage per million rows.
Nothing here asserts: it prints.
"""

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PROJECT_SLUG = "querybench"


def use_bench_database(database: str) -> None:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flux").rsplit("/", 1)[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone():
            conn.execute(f'CREATE DATABASE "{database}"')
    os.environ["DATABASE_URL"] = f"{base}/{database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flux.settings")
    os.environ.setdefault("DEBUG", "1")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def timed(function: Callable[[], object], runs: int) -> tuple[list[float], object]:
    latencies, answer = [], None
    for _ in range(runs):
        started = time.perf_counter()
        answer = function()
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies, answer


def p95(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=20, method="inclusive")[-1] if len(latencies) > 1 else latencies[0]


def prepare(args: argparse.Namespace) -> object:
    from django.db import connection
    from django.utils import timezone

    from events.seeding import seed
    from events.sql import EVENTS_TABLE
    from flux.storage import maintenance
    from flux.tenants.models import Project
    from flux.tenants.services import create_project, delete_project

    project = Project.objects.filter(slug=PROJECT_SLUG).first()
    if project and args.reseed:
        delete_project(project)
        maintenance.purge_project(project.pk)
        project = None
    if project is not None:
        print(f"reusing project {PROJECT_SLUG} (pass --reseed to start over)")
        return project
    project = create_project("Query bench", slug=PROJECT_SLUG, retention_days=args.days + 30)
    now = timezone.now()
    maintenance.ensure_all_partitions(now, days_back=args.days + 1)
    started = time.perf_counter()
    report = seed(project, args.events, args.points, args.days, now)
    took = time.perf_counter() - started
    print(f"seeded {report.events:,} events and {report.points:,} points in {took:.0f} s")
    with connection.cursor() as cursor:
        for table in (EVENTS_TABLE.name, *EVENTS_TABLE.dictionaries):
            cursor.execute(f"VACUUM ANALYZE {table}")
        cursor.execute("VACUUM ANALYZE metrics_point")
    roll_up(project)
    return project


def roll_up(project: object) -> None:
    from django.db import connection
    from django.utils import timezone

    from events.rollups import roll_up_events
    from flux.query.rollup_job import SAFETY_LAG
    from metrics.rollups import roll_up_metrics

    for label, table, function in (
        ("events", "events_event", roll_up_events),  # the raw rows, decoded or not
        ("metric points", "metrics_point", roll_up_metrics),
    ):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table} WHERE project_id = %s", [project.pk])
            rows = cursor.fetchone()[0]
        started = time.perf_counter()
        run = function(timezone.now() + SAFETY_LAG, wait=True)  # the load committed: take all of it
        took = time.perf_counter() - started
        print(f"rolled up {rows:,} {label} ({run.minutes:,} minute buckets) in {took:.1f} s: {rows / took:,.0f} rows/s")
    with connection.cursor() as cursor:
        # A rebuild rewrites every rollup row: compact the tables, so that the storage printed is live data.
        cursor.execute("VACUUM FULL ANALYZE events_eventrollup, events_eventtagrollup, metrics_metricrollup")


def storage(project: object) -> None:
    from django.db import connection

    from events.sql import EVENTS_TABLE

    def size(table: str) -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                """SELECT pg_total_relation_size(%s::regclass)
                          + coalesce(sum(pg_total_relation_size(inhrelid)), 0)
                   FROM pg_inherits WHERE inhparent = %s::regclass""",
                [table, table],
            )
            return cursor.fetchone()[0]

    def rows(table: str) -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table}")
            return cursor.fetchone()[0]

    events, points = rows("events_event"), rows("metrics_point")
    print("\nstorage (whole database; all projects)")
    for label, table, per in (
        ("raw events", EVENTS_TABLE.name, events),
        *((f"  {dictionary.removeprefix('events_')}", dictionary, events) for dictionary in EVENTS_TABLE.dictionaries),
        ("event rollups", "events_eventrollup", events),
        ("event tag rollups", "events_eventtagrollup", events),
        ("raw metric points", "metrics_point", points),
        ("metric rollups", "metrics_metricrollup", points),
    ):
        mib = float(size(table)) / 2**20
        print(f"  {label:<18} {rows(table):>12,} rows {mib:>9,.0f} MiB  {mib / (per / 1e6):>6.1f} MiB per million")


def queries(project: object, args: argparse.Namespace) -> None:
    from django.utils import timezone

    from events import queries as events
    from events.funnels import Step, funnel
    from flux.query.db import fetch_all
    from flux.query.event_filter import EventFilter
    from flux.query.timerange import TimeRange
    from metrics.models import Metric
    from metrics.queries import metric_value

    now = timezone.now()
    utc = ZoneInfo("UTC")

    def last(days: int) -> TimeRange:
        return TimeRange(now - timedelta(days=days), now, utc)

    everything = EventFilter()
    latency = Metric.objects.get(project=project, name="api.latency")

    def p99_rolled() -> float | None:
        return metric_value(project.pk, latency, last(90), "p99", {})

    def p99_raw() -> float:
        return fetch_all(
            """SELECT percentile_cont(0.99) WITHIN GROUP (ORDER BY p.value) FROM metrics_point p
               JOIN metrics_metricseries s ON s.id = p.series_id
               WHERE s.metric_id = %s AND p.project_id = %s AND p.time >= %s AND p.time < %s""",
            [latency.pk, project.pk, last(90).start, now],
        )[0][0]

    def grouped(function: Callable) -> Callable[[], object]:
        return lambda: sorted((group.key or "", group.count) for group in function(
            project, last(7), everything, "tags.plan", 10, "1h"))  # fmt: skip

    cases = [
        ("30-day daily count", lambda: sum(n for _, n in events.count_series(project, last(30), everything, "1d")),
         lambda: sum(events.count_by_bucket_raw(project, last(30), everything, "1d").values())),
        ("7-day hourly count by tags.plan", grouped(events.count_groups), grouped(events.count_groups_raw)),
        ("90-day p99 of a distribution", p99_rolled, p99_raw),
        ("30-day unique users", lambda: events.unique_count(project, last(30), everything, "user_id"),
         lambda: events.unique_count_raw(project, last(30), everything, "user_id")),
    ]  # fmt: skip
    print(f"\n{'query':<34} {'p50 ms':>8} {'p95 ms':>8} {'raw p50':>9} {'raw p95':>9} {'ratio':>7}  answer (raw)")
    for label, rolled, raw in cases:
        rolled()  # warm caches once, as a dashboard's second load would
        rolled_times, answer = timed(rolled, args.runs)
        raw_times, raw_answer = timed(raw, args.raw_runs)
        ratio = statistics.median(raw_times) / statistics.median(rolled_times)
        print(
            f"{label:<34} {statistics.median(rolled_times):>8.1f} {p95(rolled_times):>8.1f} "
            f"{statistics.median(raw_times):>9.0f} {p95(raw_times):>9.0f} {ratio:>6.0f}x  "
            f"{short(answer)} ({short(raw_answer)})"
        )
    steps = [Step("page.viewed"), Step("user.login"), Step("feature.used"), Step("order.completed")]

    def funnel_users() -> str:
        return f"users per step {[step.users for step in funnel(project, last(7), steps, timedelta(days=1))[0].steps]}"

    def newest(days: int, event_filter: EventFilter) -> str:
        page = events.list_events(project, last(days), event_filter, 100, None).events
        return f"{len(page)} events, oldest of them at {page[-1].time:%Y-%m-%d %H:%M:%S.%f}" if page else "none"

    def stats_by_country() -> str:
        groups = events.value_stats_groups(project, last(7), EventFilter(name="order.completed"), "tags.country", 3)
        return ", ".join(f"{key}: {stats['count']} values, p50 {stats['p50']:.2f}" for key, stats in groups)

    raw_only = [
        ("4-step funnel over 7 days", funnel_users),
        ("user timeline, 30 days, newest 100", lambda: newest(30, EventFilter(user_id="u_1"))),
        ("30-day count, property filter", lambda: events.count_events(
            project, last(30), EventFilter(properties={"path": "/p/7"}))),
        ("7-day count, tag filter", lambda: events.count_events(project, last(7), EventFilter(tags={"plan": "team"}))),
        ("7-day value stats by tags.country", stats_by_country),
        ("newest 100 of one name", lambda: newest(7, EventFilter(name="user.signup"))),
    ]  # fmt: skip
    for label, question in raw_only:
        question()
        times, answer = timed(question, args.raw_runs)
        print(
            f"{label:<34} {statistics.median(times):>8.1f} {p95(times):>8.1f} {'':>9} {'':>9} {'':>7}  {short(answer)}"
        )


def short(answer: object) -> str:
    if isinstance(answer, float):
        return f"{answer:,.2f}"
    if isinstance(answer, int):
        return f"{answer:,}"
    if isinstance(answer, list):
        return ", ".join(f"{key}={count:,}" for key, count in answer[:3]) + (", …" if len(answer) > 3 else "")
    return str(answer)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default=os.environ.get("FLUX_QUERYBENCH_DATABASE", "flux_querybench"))
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--points", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--runs", type=int, default=30, help="runs of each rollup-served query")
    parser.add_argument("--raw-runs", type=int, default=5, help="runs of each raw scan (and of the funnel)")
    parser.add_argument("--reseed", action="store_true", help="drop the bench project's data and seed again")
    parser.add_argument("--reroll", action="store_true", help="rebuild the rollups of the reused data (timed)")
    parser.add_argument("--prepare-only", action="store_true", help="seed and roll up, then stop")
    args = parser.parse_args()
    use_bench_database(args.database)
    from flux.tenants.models import Project

    reused = Project.objects.filter(slug=PROJECT_SLUG).exists() and not args.reseed
    project = prepare(args)
    if reused and args.reroll:
        roll_up(project)
    if args.prepare_only:
        return
    storage(project)
    queries(project, args)


if __name__ == "__main__":
    main()
