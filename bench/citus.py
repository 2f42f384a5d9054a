"""Citus benchmark: ingest and per-project query speed on one node against a three-node Citus cluster,
each relative to raw COPY of the same rows in the same run.

    make bench-citus                                  # builds Citus, starts the cluster (flux.devcitus)
    python -m flux.devcitus exec -- python bench/citus.py --events 200000 --projects 8

Both layouts live on the cluster's coordinator server (same binaries, same machine): "one node" is a plain
database on it (FLUX_STORAGE=postgres: local tables, native partitions), "three nodes" a Citus database
whose large tables are distributed over the two workers (FLUX_STORAGE=citus). For each: events go through
Flux's ingestion (flux.ingestion.services.ingest, batches of --batch, --clients threads, one project each
at a time), then the same rows, pre-formatted, are COPYed by as many connections into a table of the
same columns with two indexes (bench/ingest.py's baseline; distributed the same way on Citus); then the
event rollups run, and per-project queries (total count, hourly series, group by a tag from the rollups;
a raw count over the range) are timed, median of --repeat rounds over every project. Nothing here
asserts; on a shared machine compare ratios.
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import BASELINE_TABLE, copy_text, make_events  # noqa: E402

LAYOUTS = {"one node": "postgres", "three nodes (Citus)": "citus"}
BASELINE_COPY = "COPY copy_baseline (project_id, time, name, user_id, value, tags, properties) FROM STDIN"


def fresh_database(url: str, workers: list[str]) -> None:
    """Drop and create the database on the coordinator and (for Citus, whose metadata is per database)
    the workers; migrate then makes it a Citus database or not, by FLUX_STORAGE."""
    base, name = url.rsplit("/", 1)
    servers = [base] + [f"postgres://postgres@{worker}" for worker in workers]
    for server in servers:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def batches_for(projects: list, count: int, batch: int) -> list[tuple[object, list[dict]]]:
    """(project, events) batches: `count` events per project over the last six hours, in time order."""
    from django.utils import timezone

    rng, now = random.Random(7), timezone.now()
    step = timedelta(hours=6) / count
    batches = []
    for first in range(0, count, batch):
        for project in projects:
            events = make_events(rng, min(batch, count - first), "")
            for offset, event in enumerate(events):
                event["timestamp"] = (now - timedelta(hours=6) + step * (first + offset)).isoformat()
            batches.append((project, events))
    return batches


def in_threads(clients: int, work: list, run: object) -> float:
    """Seconds for `clients` threads to run `run(item)` over `work`, each thread taking every clients-th item."""

    def worker(number: int) -> None:
        for item in work[number::clients]:
            run(item)

    threads = [threading.Thread(target=worker, args=(number,)) for number in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def flux_ingest(batches: list, clients: int) -> float:
    from django.db import connection

    from flux.ingestion.services import ingest

    def run(item: tuple) -> None:
        project, events = item
        result = ingest(project, events, [])
        if result.rejected:
            raise SystemExit(f"rejected: {result.rejected[0]}")
        connection.close_if_unusable_or_obsolete()

    return in_threads(clients, batches, run)


def raw_copy(batches: list, clients: int, citus: bool) -> float:
    url = os.environ["DATABASE_URL"]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(BASELINE_TABLE)
        if citus:
            conn.execute("SELECT create_distributed_table('copy_baseline', 'project_id', colocate_with => 'none')")
    texts = [copy_text(project.pk, events) for project, events in batches]
    local = threading.local()

    def run(text: bytes) -> None:
        if not hasattr(local, "conn"):
            local.conn = psycopg.connect(url)
        with local.conn.transaction(), local.conn.cursor() as cursor, cursor.copy(BASELINE_COPY) as copy:
            copy.write(text)

    return in_threads(clients, texts, run)


def time_queries(projects: list, repeat: int) -> dict[str, float]:
    """Median milliseconds per project of each query."""
    from django.utils import timezone

    from events import queries
    from flux.query.event_filter import EventFilter
    from flux.query.timerange import TimeRange

    now = timezone.now()
    time_range, everything = TimeRange(now - timedelta(hours=6), now, ZoneInfo("UTC")), EventFilter()
    questions = {
        "count (rollups)": lambda project: queries.count_events(project, time_range, everything),
        "hourly series": lambda project: queries.count_series(project, time_range, everything, "1h"),
        "group by tag": lambda project: queries.count_groups(project, time_range, everything, "tags.plan", limit=5),
        "count (raw scan)": lambda project: queries.count_events_raw(project, time_range, everything),
    }
    timings: dict[str, list[float]] = {question: [] for question in questions}
    for _ in range(repeat):
        for project in projects:
            for question, ask in questions.items():
                started = time.perf_counter()
                ask(project)
                timings[question].append((time.perf_counter() - started) * 1000)
    return {question: statistics.median(values) for question, values in timings.items()}


def measure_layout(args: argparse.Namespace) -> dict:
    """In a child process (Django is set up once per database): one layout's figures as a dict."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flux.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from events.rollups import roll_up_events
    from flux.tenants.services import create_project

    call_command("migrate", verbosity=0)
    projects = [create_project(f"Bench {number}") for number in range(args.projects)]
    batches = batches_for(projects, args.events // args.projects, args.batch)
    rows = sum(len(events) for _, events in batches)
    ingest_seconds = flux_ingest(batches, args.clients)
    copy_seconds = raw_copy(batches, args.clients, os.environ["FLUX_STORAGE"] == "citus")
    started = time.perf_counter()
    roll_up_events(wait=True)
    rollup_seconds = time.perf_counter() - started
    return {"rows": rows, "ingest": rows / ingest_seconds, "copy": rows / copy_seconds,
            "rollup": rows / rollup_seconds, "queries": time_queries(projects, args.repeat)}  # fmt: skip


def run_layout(args: argparse.Namespace, storage: str) -> dict:
    coordinator = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    workers = [worker for worker in os.environ.get("FLUX_CITUS_WORKERS", "").split(",") if worker]
    url = f"{coordinator}/flux_citusbench_{storage}"
    fresh_database(url, workers)
    env = {**os.environ, "DATABASE_URL": url, "FLUX_STORAGE": storage}
    if storage != "citus":
        env.pop("FLUX_CITUS_WORKERS", None)
    command = [sys.executable, __file__, "--child", *sys.argv[1:]]
    output = subprocess.run(command, env=env, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads(output.strip().splitlines()[-1])


def report(results: dict[str, dict]) -> None:
    single, distributed = results["one node"], results["three nodes (Citus)"]
    print(f"{'':24} {'one node':>12} {'three nodes':>12} {'3 / 1':>7}")
    for label, key in (
        ("Flux ingest, rows/s", "ingest"),
        ("raw COPY, rows/s", "copy"),
        ("rollup run, rows/s", "rollup"),
    ):
        print(f"{label:24} {single[key]:12,.0f} {distributed[key]:12,.0f} {distributed[key] / single[key]:7.2f}")
    print(f"{'ingest / raw COPY':24} {single['ingest'] / single['copy']:12.2f} "
          f"{distributed['ingest'] / distributed['copy']:12.2f}")  # fmt: skip
    for question, milliseconds in single["queries"].items():
        other = distributed["queries"][question]
        print(f"{question + ', ms':24} {milliseconds:12.1f} {other:12.1f} {other / milliseconds:7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000, help="events in all (split over the projects)")
    parser.add_argument("--projects", type=int, default=8)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure_layout(args)))
        return
    if not os.environ.get("FLUX_CITUS_WORKERS"):
        raise SystemExit("run under the Citus cluster: python -m flux.devcitus exec -- python bench/citus.py")
    print(f"{args.events:,} events over {args.projects} projects, batches of {args.batch}, {args.clients} clients")
    report({label: run_layout(args, storage) for label, storage in LAYOUTS.items()})


if __name__ == "__main__":
    main()
