"""The scan benchmarks' scratch database and data (bench/anomaly_scan.py, bench/alert_delay.py): hourly
series with five weeks of hour rollups, and busy event names with minute rollups of Poisson counts.

The database is FLUX_SCANBENCH_DB (default flux_scanbench), rebuilt each run.
"""

import io
import os
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = os.environ.get("FLUX_SCANBENCH_DB", "flux_scanbench")
HISTORY_DAYS = 35
FAST_DAYS = 8
MINUTE = timedelta(minutes=1)
ANOMALIES = {"spike": (4.0, 20), "drop": (0.2, 40), "stop": (0.0, 40)}  # (rate factor, minutes)


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
# Under 30 an hour, so they stay hourly.
SEED_EVENT_HOURS = """
    INSERT INTO events_eventrollup (project_id, level, name, bucket, count, value_count)
    SELECT %(project)s, 'hour', 'event.' || n, h.bucket,
           round((5 + n %% 15) * (1 + 0.5 * sin(extract(hour FROM h.bucket) / 24 * 2 * pi())) + 2 * random()), 0
    FROM generate_series(1, %(events)s) AS n
    CROSS JOIN generate_series(%(start)s::timestamptz, %(end)s::timestamptz - interval '1 hour', interval '1 hour')
         AS h(bucket)
"""
HOURS_FROM_MINUTES = """
    INSERT INTO events_eventrollup (project_id, level, name, bucket, count, value_count)
    SELECT project_id, 'hour', name, date_trunc('hour', bucket), sum(count), 0 FROM events_eventrollup
    WHERE project_id = %s AND level = 'minute' GROUP BY 1, 2, 3, 4
"""


def seed_hourly(series: int, end: datetime) -> int:
    """Five weeks of hour rollups ending at `end`; returns the project id."""
    from django.db import connection

    from flux.tenants.services import create_project
    from metrics.models import Metric, MetricSeries

    project = create_project("Scan bench, hourly")
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


def minute_rates(per_hour: float, start: datetime, minutes: int) -> np.ndarray:
    """Expected events in each minute from `start` of a series of `per_hour`, with a daily swing of a half."""
    epoch = start.timestamp() / 60 + np.arange(minutes)
    return per_hour / 60 * (1 + 0.5 * np.sin((epoch % 1440) / 1440 * 2 * np.pi))


def minute_counts(rng: np.random.Generator, per_hour: float, start: datetime, minutes: int) -> np.ndarray:
    """Poisson counts per minute around `per_hour`, with a daily swing of a half."""
    return rng.poisson(minute_rates(per_hour, start, minutes))


def busy_series(
    count: int,
    start: datetime,
    end: datetime,
    anomalies: dict[int, tuple] | None = None,
    realized: dict[int, np.ndarray] | None = None,
) -> Iterator[tuple[float, np.ndarray]]:
    """The events an hour and minute counts over [start, end) of seed_busy's series, without a database
    (bench/stop_delay.py reads them so)."""
    rng = np.random.default_rng(7)
    minutes = int((end - start) / MINUTE)
    for index in range(count):
        volume = float(np.exp(rng.uniform(np.log(30), np.log(150))))
        counts = minute_counts(rng, volume, start, minutes)
        if anomalies and index in anomalies:
            kind, first = anomalies[index]
            factor, length = ANOMALIES[kind]
            at = int((first - start) / MINUTE)
            counts[at : at + length] = rng.poisson(counts[at : at + length] * factor) if factor else 0
            if realized is not None:
                realized[index] = counts[at : at + length].copy()
        yield volume, counts


def seed_busy(
    name: str,
    count: int,
    start: datetime,
    end: datetime,
    anomalies: dict[int, tuple] | None = None,
    realized: dict[int, np.ndarray] | None = None,
) -> tuple[int, list[float]]:
    """`count` busy event names with minute rollups over [start, end) (plus their hours); series i gets
    the anomaly anomalies[i] = (kind, first minute) if any, its minute counts put in realized[i]. Returns
    the project id and each series' events an hour."""
    from django.db import connection

    from flux.tenants.services import create_project

    project = create_project(name)
    buffer = io.StringIO()
    volumes = []
    for index, (volume, counts) in enumerate(busy_series(count, start, end, anomalies, realized)):
        volumes.append(volume)
        for offset in np.flatnonzero(counts):
            bucket = start + MINUTE * int(offset)
            buffer.write(f"{project.pk}\tminute\tbusy.{index}\t{bucket.isoformat()}\t{counts[offset]}\t0\n")
    buffer.seek(0)
    with connection.cursor() as cursor:
        with cursor.copy(
            "COPY events_eventrollup (project_id, level, name, bucket, count, value_count) FROM STDIN"
        ) as copy:
            while chunk := buffer.read(1 << 20):
                copy.write(chunk)
        cursor.execute(HOURS_FROM_MINUTES, [project.pk])
        cursor.execute("ANALYZE events_eventrollup")
    return project.pk, volumes


def set_watermarks(at: datetime) -> None:
    from events.models import RollupWatermark
    from events.rollups import STREAM as EVENTS
    from metrics.rollups import STREAM as METRICS

    for stream in (EVENTS, METRICS):
        RollupWatermark.objects.update_or_create(stream=stream, defaults={"watermark": at})
