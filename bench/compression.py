"""Compression benchmark: bytes per event and per metric point before and after TimescaleDB compression.

    make bench-compression                    # builds and starts the local TimescaleDB (flux.devtimescale)
    python bench/compression.py --events 1000000 --points 1000000 --days 14   # with DATABASE_URL set

Seeds a fresh scratch database (flux_compressionbench, dropped again at the end) with realistic
events and metric points (events.seeding) spread over `--days` days, measures the raw tables' total size
(heap, indexes, TOAST; every chunk or partition), compresses every chunk through Flux's own beat task
(flux.storage.maintenance.compress_chunks) and measures again. On native partitions it prints the
uncompressed figures only. Nothing here asserts: it prints.
"""

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "flux_compressionbench"


def use_fresh_bench_database() -> None:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flux").rsplit("/", 1)[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    os.environ["DATABASE_URL"] = f"{base}/{BENCH_DB}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flux.settings")
    os.environ.setdefault("DEBUG", "1")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def total_bytes(cursor: object, table: str, layout: str) -> int:
    """Everything a raw table occupies: each chunk or partition with its indexes and TOAST (and, on
    TimescaleDB, the compressed chunks)."""
    if layout == "timescaledb":
        cursor.execute("SELECT hypertable_size(%s::regclass)", [table])
    else:
        cursor.execute(
            "SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = %s::regclass", [table]
        )
    return int(cursor.fetchone()[0] or 0)


def sizes(layout: str) -> dict[str, int]:
    """Bytes of each raw table; the raw events' name and tag-set dictionaries are counted with them."""
    from django.db import connection

    from events.sql import EVENTS_TABLE

    with connection.cursor() as cursor:
        for table in (EVENTS_TABLE.name, "metrics_point"):
            cursor.execute(f"VACUUM ANALYZE {table}")
        found = {table: total_bytes(cursor, table, layout) for table in (EVENTS_TABLE.name, "metrics_point")}
        for dictionary in EVENTS_TABLE.dictionaries:
            cursor.execute("SELECT pg_total_relation_size(%s::regclass)", [dictionary])
            found[EVENTS_TABLE.name] += cursor.fetchone()[0]
        return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=14)
    args = parser.parse_args()
    use_fresh_bench_database()

    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from events.seeding import seed
    from events.sql import EVENTS_TABLE
    from flux.storage import maintenance
    from flux.storage.detect import table_layout
    from flux.tenants.services import create_project

    with connection.cursor() as cursor:
        layout = table_layout(cursor, EVENTS_TABLE.name)
    project = create_project("Compression bench", retention_days=args.days + 30)
    now = timezone.now()
    maintenance.ensure_all_partitions(now, days_back=args.days + 1)
    started = time.perf_counter()
    report = seed(project, args.events, args.points, args.days, now)
    print(f"layout {layout}: seeded {report.events:,} events and {report.points:,} points "
          f"over {args.days} days in {time.perf_counter() - started:.0f} s")  # fmt: skip
    counts = {EVENTS_TABLE.name: report.events, "metrics_point": report.points}
    before = sizes(layout)
    if layout == "timescaledb":
        settings.FLUX_COMPRESS_AFTER_DAYS = 0
        started = time.perf_counter()
        compressed = maintenance.compress_chunks(now + timedelta(days=2))  # every chunk, today's included
        print(f"compressed {compressed} chunks in {time.perf_counter() - started:.0f} s")
        after = sizes(layout)
    for table, rows in counts.items():
        line = f"{table}: {rows:,} rows, {before[table] / 2**20:,.1f} MiB, {before[table] / rows:.0f} bytes/row"
        if layout == "timescaledb":
            line += (f" -> compressed {after[table] / 2**20:,.1f} MiB, {after[table] / rows:.1f} bytes/row"
                     f" ({before[table] / after[table]:.1f}x smaller)")  # fmt: skip
        print(line)
    connection.close()
    drop_bench_database()


def drop_bench_database() -> None:
    """The scratch data is gone afterwards: the figures are what this script is for."""
    base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


if __name__ == "__main__":
    main()
