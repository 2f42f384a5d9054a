"""Rollup cost: how fast a backlog is rolled up, and what a steady run costs as the hour fills, each
against COPY of the same rows in the same run.

    make bench-rollups                            # or, with the services' environment set:
    python bench/rollups.py --backlog 1000000 --rounds 4 [--root ../other-checkout]

Creates a scratch database (`<DATABASE_URL's name>_rollupbench`) and, with the code of `--root` (default:
this checkout):
1. backlog: COPYs `--backlog` events (3 tags, a value, one of 50,000 users, times spread over `--days`
   days) in one transaction, then times the first rollup run over all of them: rows/s, and the time
   10 M events would take at that rate;
2. steady state: `--rounds` times, fills the current hour with `--fill` more events (rolled up, not
   timed), then COPYs a minute's worth (`--minute` events) and times the run that follows. A run that
   costs only the new rows keeps the same time however full the hour is.
Without `--analyze` the backlog is rolled up before any statistics exist (autovacuum off or behind).
Prints; asserts nothing. The machine may be shared: the ratios against COPY are the figures to compare.
"""

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
# Beside the database of DATABASE_URL (flux -> flux_rollupbench), so that checkouts sharing a server do not collide.
BENCH_DB = os.environ.get("DATABASE_URL", "/flux").rsplit("/", 1)[1].split("?")[0] + "_rollupbench"
NAMES = ["order.completed", "page.viewed", "user.signup", "feature.used", "search.run"]


def set_up(root: Path) -> int:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flux").rsplit("/", 1)[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    os.environ.update({"DATABASE_URL": f"{base}/{BENCH_DB}", "DJANGO_SETTINGS_MODULE": "flux.settings", "DEBUG": "1"})
    sys.path.insert(0, str(root))
    import django

    django.setup()
    from django.core.management import call_command

    from flux.storage import maintenance
    from flux.tenants.services import create_project

    call_command("migrate", verbosity=0)
    project = create_project("Rollup bench", retention_days=400)
    maintenance.ensure_all_partitions(datetime.now(UTC), days_back=40)
    return project.pk


def copy_events(project_id: int, count: int, start: datetime, span: timedelta, rng: random.Random) -> float:
    """COPY `count` events with times in [start, start + span); returns the seconds it took."""
    from django.db import connection

    from events.sql import EVENTS_TABLE

    seconds = span.total_seconds()
    started = time.perf_counter()
    rows = []
    for _ in range(count):
        channel, region = rng.choice(["web", "ios", "android"]), rng.choice(["eu", "us", "apac"])
        tags = f'{{"channel": "{channel}", "region": "{region}", "plan": "{rng.choice(["free", "pro"])}"}}'
        moment = start + timedelta(seconds=rng.random() * seconds)
        user, value = f"u_{rng.randint(1, 50_000)}", round(rng.uniform(1, 500), 3)
        rows.append((project_id, moment, rng.choice(NAMES), user, None, value, tags, "{}", None, None))
    if EVENTS_TABLE.name == "events_event":  # a checkout from before names and tag sets were dictionary-encoded
        columns = "project_id, time, name, user_id, session_id, value, tags, properties, environment, service"
        with connection.cursor() as cursor, cursor.copy(f"COPY events_event ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        from events.seeding import copy_event_rows

        copy_event_rows(project_id, rows)  # as ingestion writes them
    return time.perf_counter() - started


def roll_up() -> float:
    """One regular run of the events rollup up to now; returns its seconds."""
    from django.utils import timezone

    from events.rollups import roll_up_events
    from flux.query.rollup_job import SAFETY_LAG

    started = time.perf_counter()
    roll_up_events(timezone.now() + SAFETY_LAG)  # the rows have committed: take all of them
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backlog", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--fill", type=int, default=300_000, help="events added to the current hour per round")
    parser.add_argument("--minute", type=int, default=20_000, help="events received in the timed minute")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose code to measure")
    parser.add_argument("--analyze", action="store_true", help="ANALYZE after the backlog's COPY (autovacuum's job)")
    args = parser.parse_args()

    project_id = set_up(args.root.resolve())
    rng = random.Random(15)
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    print(f"code: {args.root.resolve()}  (machine shared; compare ratios)")
    copied = copy_events(project_id, args.backlog, now - timedelta(days=args.days), timedelta(days=args.days), rng)
    if args.analyze:
        from django.db import connection

        from events.sql import EVENTS_TABLE

        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {EVENTS_TABLE.name}")
    rolled = roll_up()
    rate = args.backlog / rolled
    ten_million = 10_000_000 / rate / 60
    print(f"backlog: {args.backlog:,} events COPYed in {copied:.1f} s, rolled up in {rolled:.1f} s: "
          f"{rate:,.0f} rows/s (rollup/COPY {rolled / copied:.2f}); 10 M events: {ten_million:.1f} min")  # fmt: skip
    in_hour = 0
    for round_ in range(args.rounds):
        if round_:
            copy_events(project_id, args.fill, hour, now - hour + timedelta(seconds=1), rng)
            roll_up()
            in_hour += args.fill
        copied = copy_events(project_id, args.minute, now - timedelta(seconds=30), timedelta(seconds=30), rng)
        in_hour += args.minute
        rolled = roll_up()
        print(f"steady run, {in_hour:,} events in the current hour: {args.minute:,} new events COPYed in "
              f"{copied:.2f} s, rolled up in {rolled:.2f} s (rollup/COPY {rolled / copied:.2f})")  # fmt: skip
    base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    from django.db import connections

    connections.close_all()
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


if __name__ == "__main__":
    main()
