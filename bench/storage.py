"""Storage benchmark: bytes per raw event, heap and every index, for events as the SDKs send them.

    make bench-storage                          # plain PostgreSQL, then TimescaleDB (flux.devtimescale)
    python bench/storage.py --events 500000     # with DATABASE_URL set: whatever that server is

Creates a scratch database (--database, dropped at the end), and sends `--events` events through Flux's
own ingestion (flux.ingestion.services.ingest, batches of `--batch`, in time order as live traffic
arrives, so indexes grow as they do in production): three tags, a float value, a user_id, empty
properties (bench/ingest.py's shape). Then VACUUM ANALYZE, and it prints the bytes per event of the
raw table's heap (with TOAST) and of each index, summed over every partition or chunk, and of its name and
tag-set dictionaries (with their indexes). On TimescaleDB it then compresses every chunk (Flux's own beat
task) and prints the total again. Nothing here asserts.
"""

import argparse
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import make_events  # noqa: E402

PARTS_SQL = """
    WITH parts AS (
        SELECT inhrelid AS part FROM pg_inherits WHERE inhparent = %(table)s::regclass
        UNION ALL SELECT %(table)s::regclass
    )
    SELECT 'heap (with TOAST)', sum(pg_table_size(part)) FROM parts
    UNION ALL
    SELECT regexp_replace(regexp_replace(i.relname, '^_hyper_\\d+_\\d+_chunk_', ''),
                          '^' || %(table)s || '(_p\\d+|_default)?_', ''),
           sum(pg_relation_size(i.oid))
    FROM parts JOIN pg_index x ON x.indrelid = parts.part JOIN pg_class i ON i.oid = x.indexrelid
    GROUP BY 1
"""


def use_fresh_database(database: str) -> None:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flux").rsplit("/", 1)[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')
    os.environ["DATABASE_URL"] = f"{base}/{database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flux.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def drop_database(database: str) -> None:
    from django.db import connection

    connection.close()
    base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def ingest_events(project: object, count: int, batch: int) -> None:
    """`count` events through Flux's ingestion, stamped over the last hours in arrival order."""
    from django.utils import timezone

    from flux.ingestion.services import ingest

    rng, now = random.Random(11), timezone.now()
    start = now - timedelta(hours=6)
    step = timedelta(hours=6) / count
    for first in range(0, count, batch):
        events = make_events(rng, min(batch, count - first), "")
        for offset, event in enumerate(events):
            event["timestamp"] = (start + step * (first + offset)).isoformat()
        result = ingest(project, events, [])
        if result.rejected:
            raise SystemExit(f"rejected: {result.rejected[0]}")


def sizes(table: object) -> list[tuple[str, int]]:
    """(part, bytes) of the raw table's heap, each of its indexes, and each dictionary with its indexes."""
    from django.db import connection

    with connection.cursor() as cursor:
        for name in (table.name, *table.dictionaries):
            cursor.execute(f"VACUUM ANALYZE {name}")
        cursor.execute(PARTS_SQL, {"table": table.name})
        parts = [(name, int(size or 0)) for name, size in cursor.fetchall()]
        for dictionary in table.dictionaries:
            cursor.execute("SELECT pg_total_relation_size(%s::regclass)", [dictionary])
            parts.append((f"{dictionary} (dictionary)", cursor.fetchone()[0]))
        return parts


def dictionaries_size(table: object) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(sum(pg_total_relation_size(t::regclass)), 0) FROM unnest(%s::text[]) t",
                       [list(table.dictionaries)])  # fmt: skip
        return int(cursor.fetchone()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--database", default="flux_storagebench")
    args = parser.parse_args()
    use_fresh_database(args.database)

    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from events.sql import EVENTS_TABLE
    from flux.storage import maintenance
    from flux.storage.detect import table_layout
    from flux.tenants.services import create_project

    with connection.cursor() as cursor:
        layout = table_layout(cursor, EVENTS_TABLE.name)
    project = create_project("Storage bench")
    started = time.perf_counter()
    ingest_events(project, args.events, args.batch)
    print(f"layout {layout}: ingested {args.events:,} events in {time.perf_counter() - started:.0f} s")
    parts = sizes(EVENTS_TABLE)
    total = sum(size for _, size in parts)
    for name, size in sorted(parts, key=lambda part: -part[1]):
        if size == 0:  # the parent of native partitions holds nothing itself
            continue
        print(f"  {name:<24} {size / args.events:7.1f} bytes/event")
    print(f"{EVENTS_TABLE.name} total: {total / args.events:.1f} bytes/event ({total / 2**20:,.1f} MiB)")
    if layout == "timescaledb":
        settings.FLUX_COMPRESS_AFTER_DAYS = 0
        maintenance.compress_chunks(timezone.now() + timedelta(days=2))  # every chunk, today's included
        with connection.cursor() as cursor:
            cursor.execute("SELECT hypertable_size(%s)", [EVENTS_TABLE.name])
            compressed = cursor.fetchone()[0] + dictionaries_size(EVENTS_TABLE)
        print(
            f"{EVENTS_TABLE.name} compressed (with dictionaries): {compressed / args.events:.1f} bytes/event"
            f" ({total / compressed:.1f}x smaller)"
        )
    drop_database(args.database)


if __name__ == "__main__":
    main()
