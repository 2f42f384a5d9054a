"""Anomaly scan benchmark: the production scan (claim, read hour rollups, update each watch's cached
history, score with the detector, apply verdicts) over many watched series, end to end on PostgreSQL.

    make bench-scan                      # or, with the services' environment set:
    python bench/anomaly_scan.py --series 10000 --workers 2

Seeds a scratch database (flux_scanbench, rebuilt each run) with five weeks of hour rollups for
`--series` watched series (80% metric gauges, 20% event names, daily seasonality and noise), then
times two scans of all of them with `--workers` processes, as the Celery workers would run them:
the first, which reads each series' whole history, and a steady-state one an hour later, which reads
one new hour per series. Prints seconds and series per second. Nothing here asserts: it prints.
"""

import argparse
import multiprocessing
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "flux_scanbench"
HISTORY_DAYS = 35


def use_bench_database(fresh: bool) -> None:
    sys.path.insert(0, str(ROOT))
    from django.apps import apps

    if apps.ready:
        return  # this process is set up already
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flux").rsplit("/", 1)[0]
    fresh = fresh and not os.environ.get("FLUX_SCANBENCH_READY")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    os.environ["DATABASE_URL"] = f"{base}/{BENCH_DB}"
    os.environ["FLUX_SCANBENCH_READY"] = "1"  # spawned workers inherit this and reuse the database
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flux.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()
    if fresh:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


SEED_METRIC_HOURS = """
    INSERT INTO metrics_metricrollup (project_id, series_id, level, bucket, count, sum, min, max, last, last_time)
    SELECT %(project)s, s.id, 'hour', h.bucket, 60, 60 * v.value, v.value * 0.8, v.value * 1.2, v.value, h.bucket
    FROM metrics_metricseries s
    CROSS JOIN generate_series(%(start)s::timestamptz, %(end)s::timestamptz - interval '1 hour', interval '1 hour')
         AS h(bucket)
    CROSS JOIN LATERAL (SELECT (100 + s.id %% 50) * (1 + 0.3 * sin(extract(hour FROM h.bucket) / 24 * 2 * pi()))
                               * (1 + 0.05 * (random() - 0.5)) AS value) v
    WHERE s.project_id = %(project)s
"""
SEED_EVENT_HOURS = """
    INSERT INTO events_eventrollup (project_id, level, name, bucket, count, value_count)
    SELECT %(project)s, 'hour', 'event.' || n, h.bucket,
           round((40 + n %% 30) * (1 + 0.5 * sin(extract(hour FROM h.bucket) / 24 * 2 * pi())) + 5 * random()), 0
    FROM generate_series(1, %(events)s) AS n
    CROSS JOIN generate_series(%(start)s::timestamptz, %(end)s::timestamptz - interval '1 hour', interval '1 hour')
         AS h(bucket)
"""


def seed(series: int, end: datetime) -> int:
    """Five weeks of hour rollups ending at `end`; returns the project id."""
    from django.db import connection

    from flux.tenants.services import create_project
    from metrics.models import Metric, MetricSeries

    project = create_project("Scan bench")
    metric = Metric.objects.create(project=project, name="service.latency", type="gauge")
    gauges = series * 4 // 5
    MetricSeries.objects.bulk_create(
        [MetricSeries(project=project, metric=metric, tags={"host": f"h{index}"}, tags_hash=f"{index:032x}")
         for index in range(gauges)],
        batch_size=5000,
    )  # fmt: skip
    add_hours(project.pk, series - gauges, end - timedelta(days=HISTORY_DAYS), end)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE metrics_metricseries SET last_seen_at = %s WHERE project_id = %s", [end, project.pk])
    return project.pk


def add_hours(project_id: int, events: int, start: datetime, end: datetime) -> None:
    from django.db import connection

    params = {"project": project_id, "events": events, "start": start, "end": end}
    with connection.cursor() as cursor:
        cursor.execute(SEED_METRIC_HOURS, params)
        cursor.execute(SEED_EVENT_HOURS, params)
        cursor.execute("ANALYZE metrics_metricrollup; ANALYZE events_eventrollup")
    set_watermarks(end)


def set_watermarks(end: datetime) -> None:
    from events.models import RollupWatermark
    from events.rollups import STREAM as EVENTS
    from metrics.rollups import STREAM as METRICS

    for stream in (EVENTS, METRICS):
        RollupWatermark.objects.update_or_create(stream=stream, defaults={"watermark": end + timedelta(minutes=1)})


def scan_chunk(arguments: tuple[list[int], datetime]) -> tuple[int, int]:
    """One worker process's share (a fresh process, as a Celery worker is: its own Django and connections)."""
    use_bench_database(fresh=False)
    from django.db import connection

    from anomalies.scan import scan

    ids, now = arguments
    scanned = changes = 0
    for start in range(0, len(ids), 200):
        result = scan(ids[start : start + 200], now)
        scanned += result.scanned
        changes += sum(len(items) for items in result.changes.values())
    connection.close()
    return scanned, changes


def timed_scan(now: datetime, workers: int) -> tuple[float, int, int]:
    from django.db import connection

    from anomalies.scan import due_watch_ids

    ids = due_watch_ids(now, 10**7)
    connection.close()
    chunks = [(ids[index::workers], now) for index in range(workers)]
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        pool.map(use_bench_database, [False] * workers)  # start the workers before the clock does
        started = time.perf_counter()
        results = pool.map(scan_chunk, chunks)
    seconds = time.perf_counter() - started
    return seconds, sum(scanned for scanned, _ in results), sum(changes for _, changes in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    use_bench_database(fresh=True)
    from anomalies.history import floor_hour
    from anomalies.watches import sync_watches

    end = floor_hour(datetime.now(UTC))
    started = time.perf_counter()
    project_id = seed(args.series, end)
    watches = sync_watches(datetime.now(UTC))
    print(f"seeded {args.series:,} series x {HISTORY_DAYS * 24} hours in {time.perf_counter() - started:.0f} s; "
          f"{watches:,} watches")  # fmt: skip
    first = timed_scan(datetime.now(UTC), args.workers)
    add_hours(project_id, args.series - args.series * 4 // 5, end, end + timedelta(hours=1))
    steady = timed_scan(end + timedelta(hours=1, minutes=3), args.workers)
    print(f"\n{'scan':<34}{'series':>8}{'seconds':>9}{'series/s':>10}{'changes':>9}")
    for label, (seconds, scanned, changes) in (("first (reads 5 weeks per series)", first),
                                                ("steady (one new hour per series)", steady)):  # fmt: skip
        print(f"{label:<34}{scanned:>8,}{seconds:>9.1f}{scanned / seconds:>10,.0f}{changes:>9}")
    print(f"\n{args.workers} worker processes on {os.cpu_count()} cores; target: 10,000 series within 60 s")


if __name__ == "__main__":
    main()
