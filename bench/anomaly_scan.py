"""Anomaly scan benchmark: the production scan (claim, read rollups, update each watch's cached history,
score with the detector, apply verdicts) over many watched series, end to end on PostgreSQL, and how
many minutes after an anomaly starts it is opened and notified (bench/alert_delay.py).

    make bench-scan                      # or, with the services' environment set:
    python bench/anomaly_scan.py --series 10000 --fast-series 1000 --alert-series 60 --workers 2

Seeds a scratch database (bench/scan_seed.py; FLUX_SCANBENCH_DB, default flux_scanbench, rebuilt each run):
- `--series` hourly series, five weeks of hour rollups (80% metric gauges, 20% event names under
  30 an hour; daily seasonality and noise);
- `--fast-series` busy event names (30 to 150 an hour, Poisson counts per minute), eight days of
  minute rollups, which the scan puts on five-minute buckets.
Then times, with `--workers` processes as the Celery workers would run them, the first scan of each
kind (it reads each series' whole history) and steady ones (one new hour, or one new five-minute
bucket, per series): each kind once without the carry and the stored model fits (every scan fitting
and scoring the two days before its new buckets again, as before them) and once with them, and
prints series per second.

`--alert-series` and `--calibrate`: minutes to alert and the minute checks' false opens
(bench/alert_delay.py). Nothing here asserts: it prints.
"""

import argparse
import multiprocessing
import os
import time
from datetime import UTC, datetime, timedelta

from alert_delay import MODES, calibrate, calibrate_swing, minutes_to_alert
from scan_seed import (
    FAST_DAYS,
    HISTORY_DAYS,
    MINUTE,
    add_hours,
    seed_busy,
    seed_hourly,
    set_watermarks,
    use_bench_database,
)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=10_000, help="hourly series")
    parser.add_argument("--fast-series", type=int, default=1_000, help="busy series, on five-minute buckets")
    parser.add_argument("--alert-series", type=int, default=60, help="busy series of the minutes-to-alert run")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--modes", default="early,minutes", help=f"minutes-to-alert runs, of {','.join(MODES)}")
    parser.add_argument("--alert-hour", type=int, default=23, help="UTC hour the minutes-to-alert run starts at")
    parser.add_argument("--calibrate", action="store_true", help="false opens of the minute checks on clean series")
    args = parser.parse_args()
    use_bench_database(fresh=True)
    from anomalies.history import floor_hour

    end = floor_hour(datetime.now(UTC))
    if args.series or args.fast_series:
        throughput(args, end)
    if args.alert_series:
        # A later stretch, apart from the throughput data.
        minutes_to_alert(args.alert_series, args.modes, end + timedelta(days=1), args.alert_hour)
    if args.calibrate:
        calibrate()
        calibrate_swing()


if __name__ == "__main__":
    main()
