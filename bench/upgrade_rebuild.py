"""What an upgrade that bumps the detector version (anomalies/detection/version.py) costs the scan: the first
scan of each watch after it rebuilds the watch's carry and model fits from its cached history (its stored
state is of the old version), then scans continue from the rebuilt state as before. The release that brought
the version in keeps the stored state (it is version 1's): only later bumps pay this, once.

    python bench/upgrade_rebuild.py --series 1000 --fast-series 200 --workers 2

Seeds the scan bench's scratch database (bench/scan_seed.py: hourly series with five weeks of hour rollups,
busy event names with eight days of minute rollups, scored on five-minute buckets), scans every watch once,
then times steady scans of one new bucket each, in turn: with the state of the version the workers run
(steady), and with the workers one version further (the scan after an upgrade: rebuild), twice each. Prints
series per second and worker milliseconds per series, the rebuild's ratio to the steady scan, and what the
first scan cycle after an upgrade would take for 10,000 watches of each kind on these workers. Nothing here
asserts: it prints.
"""

import argparse
import multiprocessing
import os
import time
from datetime import UTC, datetime, timedelta

from anomaly_scan import scan_chunk
from scan_seed import FAST_DAYS, MINUTE, add_hours, seed_busy, seed_hourly, set_watermarks, use_bench_database

WATCHES = 10_000


def scan_chunk_as(arguments: tuple[list[int], datetime, int]) -> tuple[int, int]:
    """scan_chunk in a worker running detector version `version` (as an upgraded worker would)."""
    use_bench_database(fresh=False)
    from anomalies import carry

    ids, now, version = arguments
    carry.DETECTOR_VERSION = version
    return scan_chunk((ids, now))


def timed_scan(project_id: int, now: datetime, workers: int, version: int) -> tuple[float, int]:
    """Seconds to scan the project's due watches on `workers` processes of detector `version`, and how many."""
    from django.db import connection

    from anomalies.models import Watch

    due = Watch.objects.filter(project_id=project_id, next_scan_at__lte=now).order_by("next_scan_at")
    ids = list(due.values_list("pk", flat=True))
    connection.close()
    chunks = [(ids[index::workers], now, version) for index in range(workers)]
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        pool.map(use_bench_database, [False] * workers)  # start the workers before the clock does
        started = time.perf_counter()
        results = pool.map(scan_chunk_as, chunks)
    return time.perf_counter() - started, sum(scanned for scanned, _ in results)


ROUNDS = (("steady", 0), ("rebuild", 1), ("steady", 0), ("rebuild", 1))  # (what, version step before it)


def measure(label: str, project_id: int, scan_times: list[datetime], advance, workers: int) -> list[tuple]:
    """The ROUNDS, one new bucket each (`advance(round)` rolls it up), from detector version 1 on."""
    rows, version = [], 1
    for index, ((what, step), now) in enumerate(zip(ROUNDS, scan_times, strict=True)):
        version += step
        advance(index)
        seconds, scanned = timed_scan(project_id, now, workers, version)
        rows.append((f"{label}, {what} (version {version})", seconds, scanned))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=1_000, help="hourly series")
    parser.add_argument("--fast-series", type=int, default=200, help="busy series, on five-minute buckets")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    use_bench_database(fresh=True)
    from anomalies.history import floor_hour
    from anomalies.watches import sync_watches

    end = floor_hour(datetime.now(UTC))
    hourly = seed_hourly(args.series, end)
    fast, _ = seed_busy("Upgrade bench, five-minute", args.fast_series, end - timedelta(days=FAST_DAYS + 1),
                        end + 30 * MINUTE)  # fmt: skip
    set_watermarks(end + MINUTE)
    sync_watches(end + 2 * MINUTE)
    for project in (hourly, fast):  # first scans: every watch stores a carry and fits of version 1
        timed_scan(project, end + 2 * MINUTE, args.workers, 1)

    def next_five_minutes(index: int) -> None:
        set_watermarks(end + (5 * index + 6) * MINUTE)

    def next_hour(index: int) -> None:
        hour = end + timedelta(hours=index)
        add_hours(hourly, args.series - args.series * 4 // 5, hour, hour + timedelta(hours=1))
        set_watermarks(hour + timedelta(hours=1, minutes=1))

    rows = measure("5-minute", fast, [end + (5 * index + 7) * MINUTE for index in range(4)], next_five_minutes,
                   args.workers)  # fmt: skip
    rows += measure("hourly", hourly, [end + timedelta(hours=index + 1, minutes=3) for index in range(4)], next_hour,
                    args.workers)  # fmt: skip
    print(f"\n{'scan':<34}{'series':>8}{'seconds':>9}{'series/s':>10}{'ms/series':>10}")
    per_series = {}
    for label, seconds, scanned in rows:
        per_series[label] = 1000 * seconds * args.workers / max(scanned, 1)
        print(f"{label:<34}{scanned:>8,}{seconds:>9.1f}{scanned / seconds:>10,.0f}{per_series[label]:>10.1f}")
    print(f"\nfirst cycle after an upgrade, {WATCHES:,} watches of a kind on {args.workers} workers:")
    for kind in ("5-minute", "hourly"):
        steady = [value for label, value in per_series.items() if label.startswith(f"{kind}, steady")]
        rebuild = [value for label, value in per_series.items() if label.startswith(f"{kind}, rebuild")]
        steady_ms, rebuild_ms = sum(steady) / len(steady), sum(rebuild) / len(rebuild)
        print(f"  {kind}: {WATCHES * rebuild_ms / 1000 / args.workers:,.0f} s against "
              f"{WATCHES * steady_ms / 1000 / args.workers:,.0f} s steady ({rebuild_ms / steady_ms:.1f}x)")  # fmt: skip
    print(f"\n{args.workers} worker processes on {os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f}); "
          "ms/series is worker time")  # fmt: skip


if __name__ == "__main__":
    main()
