"""Anomaly scan benchmark: the production scan (claim, read rollups, update each watch's cached history,
score with the detector, apply verdicts) over many watched series, end to end on PostgreSQL, and how
many minutes after an anomaly starts it is opened and notified.

    make bench-scan                      # or, with the services' environment set:
    python bench/anomaly_scan.py --series 10000 --fast-series 1000 --alert-series 60 --workers 2

Seeds a scratch database (FLUX_SCANBENCH_DB, default flux_scanbench, rebuilt each run):
- `--series` hourly series, five weeks of hour rollups (80% metric gauges, 20% event names under
  30 an hour; daily seasonality and noise);
- `--fast-series` busy event names (30 to 150 an hour, Poisson counts per minute), eight days of
  minute rollups, which the scan puts on five-minute buckets.
Then times, with `--workers` processes as the Celery workers would run them, the first scan of each
kind (it reads each series' whole history) and steady ones (one new hour, or one new five-minute
bucket, per series): each kind once without the carry and the stored model fits (every scan fitting
and scoring the two days before its new buckets again, as before them) and once with them, and
prints series per second.

Minutes to alert: `--alert-series` busy series, two thirds of them given an anomaly (a 4x spike for
20 minutes, a drop to a fifth for 40 minutes, or a stop for 40 minutes) starting at a known minute.
A controlled clock then moves minute by minute as production does: the rollup watermark five
seconds behind, every due watch scanned, notifications queued to a webhook channel (warning and up,
the default); twice, first scoring complete buckets only (as before early opens), then also peeking
at each minute at the buckets in progress (anomalies.early). Prints p50/p95 minutes from the first
anomalous minute to the open anomaly and to its notification, per kind and per volume (30-60 and
60-150 events an hour), and anomalies opened on the clean series. Nothing here asserts: it prints.
"""

import argparse
import io
import multiprocessing
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = os.environ.get("FLUX_SCANBENCH_DB", "flux_scanbench")
HISTORY_DAYS = 35
FAST_DAYS = 8
MINUTE = timedelta(minutes=1)
WINDOW_MINUTES = 120  # the simulated stretch of the minutes-to-alert run
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


def minute_counts(rng: np.random.Generator, per_hour: float, start: datetime, minutes: int) -> np.ndarray:
    """Poisson counts per minute around `per_hour`, with a daily swing of a half."""
    epoch = start.timestamp() / 60 + np.arange(minutes)
    rate = per_hour / 60 * (1 + 0.5 * np.sin((epoch % 1440) / 1440 * 2 * np.pi))
    return rng.poisson(rate)


def seed_busy(
    name: str, count: int, start: datetime, end: datetime, anomalies: dict[int, tuple] | None = None
) -> tuple[int, list[float]]:
    """`count` busy event names with minute rollups over [start, end) (plus their hours); series i gets
    the anomaly anomalies[i] = (kind, first minute) if any. Returns the project id and each series'
    events an hour."""
    from django.db import connection

    from flux.tenants.services import create_project

    project = create_project(name)
    rng = np.random.default_rng(7)
    minutes = int((end - start) / MINUTE)
    buffer = io.StringIO()
    volumes = []
    for index in range(count):
        volumes.append(float(np.exp(rng.uniform(np.log(30), np.log(150)))))
        counts = minute_counts(rng, volumes[-1], start, minutes)
        if anomalies and index in anomalies:
            kind, first = anomalies[index]
            factor, length = ANOMALIES[kind]
            at = int((first - start) / MINUTE)
            counts[at : at + length] = rng.poisson(counts[at : at + length] * factor) if factor else 0
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


def timed_scan(project_id: int, now: datetime, workers: int) -> tuple[float, int, int]:
    from django.db import connection

    from anomalies.models import Watch

    due = Watch.objects.filter(project_id=project_id, next_scan_at__lte=now).order_by("next_scan_at")
    ids = list(due.values_list("pk", flat=True))
    connection.close()
    chunks = [(ids[index::workers], now) for index in range(workers)]
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        pool.map(use_bench_database, [False] * workers)  # start the workers before the clock does
        started = time.perf_counter()
        results = pool.map(scan_chunk, chunks)
    seconds = time.perf_counter() - started
    return seconds, sum(scanned for scanned, _ in results), sum(changes for _, changes in results)


def timed_minute_checks(now: datetime) -> tuple[float, int] | None:
    """One round of the minute checks (anomalies.minutes) over every busy series: (seconds, series)."""
    try:
        from anomalies import minutes
    except ImportError:  # a checkout from before them
        return None
    from anomalies.models import Watch

    started = time.perf_counter()
    minutes.check_minutes(now)
    return time.perf_counter() - started, Watch.objects.filter(minute_rate__isnull=False).count()


def forget_carries(project_id: int) -> None:
    """Scan as before the carry and the stored fits: every scan fits the models of the two days before its
    new buckets and scores those buckets again."""
    from anomalies.models import Watch

    Watch.objects.filter(project_id=project_id).update(carry=b"", fitted=b"")


def throughput(args: argparse.Namespace, end: datetime) -> None:
    from anomalies.models import Watch
    from anomalies.watches import sync_watches

    started = time.perf_counter()
    hourly = seed_hourly(args.series, end)
    fast, _ = seed_busy("Scan bench, five-minute", args.fast_series, end - timedelta(days=FAST_DAYS + 1),
                        end + 10 * MINUTE)  # fmt: skip
    set_watermarks(end + MINUTE)
    watches = sync_watches(end + 2 * MINUTE)
    seconds = time.perf_counter() - started
    print(f"seeded {args.series:,} hourly series x {HISTORY_DAYS * 24} hours and {args.fast_series:,} busy series x "
          f"{(FAST_DAYS + 1) * 1440:,} minutes in {seconds:.0f} s; {watches:,} watches")  # fmt: skip
    rows = [("hourly, first (5 weeks per series)", timed_scan(hourly, end + 2 * MINUTE, args.workers))]
    rows.append(("5-minute, first (8 days of minutes)", timed_scan(fast, end + 2 * MINUTE, args.workers)))
    fast_watches = Watch.objects.filter(project_id=fast, interval_seconds=300).count()
    # Steady scans, each kind twice: one new bucket scored without the carry (as before it), then the
    # next one with it.
    forget_carries(fast)
    set_watermarks(end + 6 * MINUTE)
    rows.append(("5-minute, steady, no carry (before)", timed_scan(fast, end + 7 * MINUTE, args.workers)))
    set_watermarks(end + 11 * MINUTE)
    rows.append(("5-minute, steady, carry", timed_scan(fast, end + 12 * MINUTE, args.workers)))
    minute_checks = timed_minute_checks(end + 12 * MINUTE)
    for hour, label in ((1, "hourly, steady, no carry (before)"), (2, "hourly, steady, carry")):
        add_hours(
            hourly, args.series - args.series * 4 // 5, end + timedelta(hours=hour - 1), end + timedelta(hours=hour)
        )
        if hour == 1:
            forget_carries(hourly)
        set_watermarks(end + timedelta(hours=hour, minutes=1))
        rows.append((label, timed_scan(hourly, end + timedelta(hours=hour, minutes=3), args.workers)))
    print(f"{fast_watches:,} of the {args.fast_series:,} busy series were put on five-minute buckets")
    print(f"\n{'scan':<38}{'series':>8}{'seconds':>9}{'series/s':>10}{'ms/series':>10}{'changes':>9}")
    for label, (seconds, scanned, changes) in rows:
        per_series = 1000 * seconds * args.workers / max(scanned, 1)
        print(f"{label:<38}{scanned:>8,}{seconds:>9.1f}{scanned / seconds:>10,.0f}{per_series:>10.1f}{changes:>9}")
    if minute_checks is not None:
        seconds, checked = minute_checks
        print(f"minute checks (one process, every minute): {checked:,} busy series in {seconds:.2f} s, "
              f"{checked / seconds:,.0f} series/s")  # fmt: skip
    print(f"\n{args.workers} worker processes on {os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f}); "
          "a cycle is an hour for hourly series, five minutes for busy ones; ms/series is worker time")  # fmt: skip


def percentiles(minutes: list[float]) -> str:
    if not minutes:
        return f"{'-':>7}{'-':>7}"
    return f"{np.percentile(minutes, 50):>7.1f}{np.percentile(minutes, 95):>7.1f}"


MODES = {
    "buckets": "complete buckets only",
    "early": "with early opens (bucket in progress; before)",
    "minutes": "with early opens and minute checks (after)",
}


def simulate(project_id: int, t0: datetime, mode: str) -> tuple[dict[str, datetime], dict[str, datetime]]:
    """Move the clock minute by minute from t0 as production does; returns when each series' first
    anomaly was opened and notified. `mode` is one of MODES: what runs besides the scans of complete
    buckets."""
    from anomalies import early, minutes, notifications
    from anomalies.models import Anomaly, Delivery, Watch
    from anomalies.scan import scan
    from anomalies.watches import sync_watches

    Delivery.objects.filter(channel__project_id=project_id).delete()
    Anomaly.objects.filter(project_id=project_id).delete()
    Watch.objects.filter(project_id=project_id).delete()
    set_watermarks(t0 - MINUTE)
    sync_watches(t0)
    due_watches = Watch.objects.filter(project_id=project_id).order_by("next_scan_at")
    scan(list(due_watches.values_list("pk", flat=True)), t0)  # the first scan: each busy series reads 8 days
    opened: dict[str, datetime] = {}
    notified: dict[str, datetime] = {}
    for tick in range(1, WINDOW_MINUTES + 1):
        now = t0 + MINUTE * tick
        set_watermarks(now - timedelta(seconds=5))  # the rollups run every minute, five seconds behind
        due = list(due_watches.filter(next_scan_at__lte=now).values_list("pk", flat=True))
        results = [scan(due[start : start + 200], now) for start in range(0, len(due), 200)]
        if mode in ("early", "minutes"):
            results.append(early.open_early(early.peek_candidates(now), now))
        if mode == "minutes":
            results.append(minutes.check_minutes(now))
        for result in results:
            for project, changes in result.changes.items():
                for change, anomaly in changes:
                    if change == "opened":
                        opened.setdefault(anomaly.watch.name, now)
                for delivery in notifications.notify_changes(project, changes, now):
                    for _, anomaly in changes:
                        if anomaly.pk in delivery.anomaly_ids:
                            notified.setdefault(anomaly.watch.name, now)
    return opened, notified


def minutes_to_alert(args: argparse.Namespace, end: datetime) -> None:
    """Simulate the pipeline minute by minute (see the module docstring), without and with early opens,
    and print the delays per kind and per volume."""
    from anomalies.models import Channel

    # The series swing by half around their volume over the day (minute_counts): start at 23:02 UTC, so
    # that the anomalies (15 to 70 minutes in) fall where each series runs at 0.9 to 1.0 of its volume
    # and the bands below mean what they say, whenever the bench is run.
    t0 = end.replace(hour=23) + 2 * MINUTE
    rng = np.random.default_rng(11)
    kinds = list(ANOMALIES)
    injected = {  # every third series stays clean; the others take the kinds in turn
        index: (kinds[(index // 3) % len(kinds)], t0 + MINUTE * int(rng.integers(15, 70)))
        for index in range(args.alert_series)
        if index % 3
    }
    project_id, volumes = seed_busy("Alert delay bench", args.alert_series, end - timedelta(days=FAST_DAYS + 1),
                                    t0 + MINUTE * WINDOW_MINUTES, injected)  # fmt: skip
    Channel.objects.create(project_id=project_id, name="ops", kind=Channel.Kind.WEBHOOK, target="http://127.0.0.1:9/")
    clean = [f"busy.{index}" for index in range(args.alert_series) if index not in injected]
    bands = (("30-60/h", 30, 60), ("60-150/h", 60, 151), ("all", 0, 1e9))
    for mode in args.modes.split(","):
        started = time.perf_counter()
        opened, notified = simulate(project_id, t0, mode)
        label = MODES[mode]
        print(f"\nminutes to alert, {label}: {args.alert_series} busy series (30-150 events an hour), "
              f"{len(injected)} with an anomaly; {WINDOW_MINUTES} simulated minutes in "
              f"{time.perf_counter() - started:.0f} s")  # fmt: skip
        print(f"{'kind':<8}{'volume':>9}{'series':>7}{'opened':>7}{'open p50':>9}{'p95':>7}{'notified':>9}"
              f"{'note p50':>9}{'p95':>7}")  # fmt: skip
        for kind in ANOMALIES:
            for band, low, high in bands:
                names = {
                    f"busy.{index}": first
                    for index, (k, first) in injected.items()
                    if k == kind and low <= volumes[index] < high
                }
                to_open = [(opened[name] - first) / MINUTE for name, first in names.items() if name in opened]
                to_note = [(notified[name] - first) / MINUTE for name, first in names.items() if name in notified]
                counts = f"{kind:<8}{band:>9}{len(names):>7}{len(to_open):>7}"
                print(f"{counts}  {percentiles(to_open)}{len(to_note):>9}  {percentiles(to_note)}")
        false = sum(name in opened for name in clean)
        print(f"clean series: {len(clean)}, anomalies opened on them in {WINDOW_MINUTES} minutes: {false}")


def calibrate() -> None:
    """False opens of the minute checks (anomalies.detection.silence) on clean Poisson series, per five
    minutes, at thresholds low enough to be counted, against the share of the detector's p they are
    given (MINOR_WEIGHT): the ratio must stay at or under it."""
    from numpy.lib.stride_tricks import sliding_window_view

    from anomalies.detection.silence import MINOR_WEIGHT, minute_evidence

    rng = np.random.default_rng(3)
    series, minutes = 300, 3000
    print(f"\nminute checks on clean Poisson series ({series} x {minutes} minutes per volume): false opens per "
          f"5 minutes / the threshold's p (designed: at most {MINOR_WEIGHT})")  # fmt: skip
    print(f"{'events/h':>9}{'check':>10}" + "".join(f"{f'p=1e-{t}':>10}" for t in (1, 2, 3)))
    for per_hour in (15, 30, 60, 150):
        rate = per_hour / 60
        windows = sliding_window_view(rng.poisson(rate, size=(series, minutes)), 60, axis=1)
        rows, steps, _ = windows.shape
        cells = rows * steps
        evidence = minute_evidence(windows.reshape(cells, 60), np.full(cells, rate), np.ones(cells))
        nlp, kind = evidence.nlp.reshape(rows, steps), evidence.kind.reshape(rows, steps)
        for check in ("flatline", "drop"):
            ratios = []
            for threshold in (1, 2, 3):
                above = (nlp >= threshold) & (kind == check)
                opens = np.count_nonzero(above[:, 1:] & ~above[:, :-1])
                ratios.append(opens / (rows * (steps - 1) / 5) / 10.0**-threshold)
            print(f"{per_hour:>9}{check:>10}" + "".join(f"{ratio:>10.3f}" for ratio in ratios))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=10_000, help="hourly series")
    parser.add_argument("--fast-series", type=int, default=1_000, help="busy series, on five-minute buckets")
    parser.add_argument("--alert-series", type=int, default=60, help="busy series of the minutes-to-alert run")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--modes", default="early,minutes", help=f"minutes-to-alert runs, of {','.join(MODES)}")
    parser.add_argument("--calibrate", action="store_true", help="false opens of the minute checks on Poisson series")
    args = parser.parse_args()
    use_bench_database(fresh=True)
    from anomalies.history import floor_hour

    end = floor_hour(datetime.now(UTC))
    if args.series or args.fast_series:
        throughput(args, end)
    if args.alert_series:
        minutes_to_alert(args, end + timedelta(days=1))  # a later stretch, apart from the throughput data
    if args.calibrate:
        calibrate()


if __name__ == "__main__":
    main()
