"""Ingestion benchmark: the real server under SDK-shaped load, against raw COPY of the same rows.

    make bench                                   # or, with the services' environment set:
    python bench/ingest.py --clients 4 --workers 2 --seconds 15 --batch-sizes 100,1000 --port 8101
    python bench/ingest.py --kind points         # metric points instead of events

Creates a scratch database (--database, dropped at the end), migrates it, starts uvicorn with
`--workers` processes and the ingest rate limit off, then for each batch size sends batches to
`/api/v1/flux/batch` from `--clients` keep-alive connections for `--seconds`. Every event has three tags,
a float value, a user_id and empty properties (the SDK's wire shape); with `--kind points`, every item is a
metric point (gauges and distributions, three tags, 27 series per name). Afterwards it checks that every
acknowledged item is stored (rows in events_event or metrics_point = the sum of `accepted` in the answers).

The baseline is the same rows, pre-formatted as COPY text, COPYed by `--clients` connections (one
transaction per batch, like the API) into a plain table with a (project_id, name, time) btree and a BRIN
on time (for points: the rows with their series ids resolved, into a table with a (project_id, series_id,
time) btree and a BRIN on time), for half of `--seconds` just before and just after each API run (the
server idle meanwhile). It prints both rates and their ratio per batch size, and CPU per 1,000 items
(PostgreSQL: the backends of the benchmark's database only). With `--schema-cap`, it also COPYs the same
rows into Flux's own raw table for as long: how fast the raw table's schema alone lets rows in. Nothing
here asserts: it prints. On a shared machine the figures move from run to run; compare the ratios.
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil
import psycopg

ROOT = Path(__file__).resolve().parent.parent
EVENT_NAMES = ["user.signup", "page.viewed", "order.completed", "feature.used"]
BASELINE_TABLE = """
    CREATE TABLE copy_baseline (
        project_id bigint NOT NULL, time timestamptz NOT NULL, received_at timestamptz NOT NULL DEFAULT now(),
        name text NOT NULL, user_id text, value double precision,
        tags jsonb NOT NULL DEFAULT '{}', properties jsonb NOT NULL DEFAULT '{}'
    );
    CREATE INDEX copy_baseline_project_name_time ON copy_baseline (project_id, name, time DESC);
    CREATE INDEX copy_baseline_time_brin ON copy_baseline USING brin (time);
"""
BASELINE_COPY = "COPY copy_baseline (project_id, time, name, user_id, value, tags, properties) FROM STDIN"
SCHEMA_CAP_COPY = "COPY events_event (project_id, time, name, user_id, value, tags, properties) FROM STDIN"
METRIC_NAMES = {"http.request.duration": "distribution", "queue.depth": "gauge", "db.query.duration": "distribution"}
TAG_VALUES = {"channel": ["web", "ios", "android"], "region": ["eu", "us", "ap"], "plan": ["free", "pro", "team"]}
POINTS_BASELINE_TABLE = """
    CREATE TABLE copy_baseline_points (
        project_id bigint NOT NULL, series_id bigint NOT NULL, time timestamptz NOT NULL,
        value double precision NOT NULL, received_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX copy_baseline_points_series_time ON copy_baseline_points (project_id, series_id, time);
    CREATE INDEX copy_baseline_points_time_brin ON copy_baseline_points USING brin (time);
"""
POINTS_BASELINE_COPY = "COPY copy_baseline_points (project_id, series_id, time, value) FROM STDIN"
POINTS_SCHEMA_CAP_COPY = "COPY metrics_point (project_id, series_id, time, value) FROM STDIN"


@dataclass(frozen=True)
class Kind:
    """What the API is sent, and how the baseline stores the same rows."""

    body_key: str
    raw_table: str
    baseline_copy: str
    schema_cap_copy: str


def make_events(rng: random.Random, count: int, now: str) -> list[dict]:
    return [
        {
            "name": rng.choice(EVENT_NAMES),
            "timestamp": now,
            "value": round(rng.uniform(1, 200), 2),
            "user_id": f"u_{rng.randint(1, 50_000)}",
            "tags": {
                "channel": rng.choice(["web", "ios", "android"]),
                "region": rng.choice(["eu", "us", "ap"]),
                "plan": rng.choice(["free", "pro", "team"]),
            },
            "properties": {},
        }
        for _ in range(count)
    ]


def make_points(rng: random.Random, count: int, now: str) -> list[dict]:
    points = []
    for _ in range(count):
        name = rng.choice(list(METRIC_NAMES))
        tags = {key: rng.choice(values) for key, values in TAG_VALUES.items()}
        value = round(rng.uniform(1, 200), 2)
        points.append({"type": METRIC_NAMES[name], "name": name, "value": value, "tags": tags, "timestamp": now})
    return points


def series_number(point: dict) -> int:
    """A stand-in series id for the baseline: one per name and tag set, as Flux resolves them."""
    combination = [list(METRIC_NAMES).index(point["name"])]
    combination += [values.index(point["tags"][key]) for key, values in TAG_VALUES.items()]
    return int("".join(map(str, combination)), 3) + 1


def points_copy_text(project_id: int, points: list[dict]) -> bytes:
    lines = [f"{project_id}\t{series_number(p)}\t{p['timestamp']}\t{p['value']!r}\n" for p in points]
    return "".join(lines).encode()


def copy_text(project_id: int, events: list[dict]) -> bytes:
    """The batch as COPY text for copy_baseline (the JSON needs no escaping: no backslashes or tabs)."""
    lines = [
        f"{project_id}\t{event['timestamp']}\t{event['name']}\t{event['user_id']}\t{event['value']!r}\t"
        f"{json.dumps(event['tags'], separators=(',', ':'))}\t{{}}\n"
        for event in events
    ]
    return "".join(lines).encode()


def http_request(port: int, key: str, body: bytes) -> bytes:
    head = (
        f"POST /api/v1/flux/batch HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nUser-Agent: brainzlab-sdk/0.1.10\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    accepted: int = 0


async def client_loop(port: int, requests: list[bytes], deadline: float, result: LoadResult) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    index = random.randrange(len(requests))
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        writer.write(requests[index % len(requests)])
        index += 1
        status_line = await reader.readline()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        body = await reader.readexactly(length)
        if b" 202 " in status_line:
            result.latencies.append(time.perf_counter() - started)
            result.accepted += json.loads(body)["accepted"]
        else:
            result.failures.append(f"{status_line.decode().strip()} {body[:200]!r}")
    writer.close()


async def load(port: int, requests: list[bytes], clients: int, seconds: float) -> LoadResult:
    result = LoadResult()
    deadline = time.perf_counter() + seconds
    await asyncio.gather(*(client_loop(port, requests, deadline, result) for _ in range(clients)))
    return result


def copy_baseline(url: str, statement: str, texts: list[bytes], clients: int, seconds: float) -> tuple[int, float]:
    """(rows, elapsed seconds) of `clients` connections COPYing pre-formatted batches for `seconds`,
    one transaction per batch."""
    connections = [psycopg.connect(url) for _ in range(clients)]
    rows = [0] * clients
    deadline = time.perf_counter() + seconds

    def run(number: int) -> None:
        offset = number * 7
        while time.perf_counter() < deadline:
            text = texts[offset % len(texts)]
            conn = connections[number]
            with conn.transaction(), conn.cursor() as cursor, cursor.copy(statement) as copy:
                copy.write(text)
            rows[number] += text.count(b"\n")
            offset += 1

    threads = [threading.Thread(target=run, args=(number,)) for number in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    for conn in connections:
        conn.close()
    return sum(rows), elapsed


def cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def backend_cpu(url: str) -> dict[int, float]:
    """CPU seconds so far of every PostgreSQL backend connected to the benchmark's database, by pid: other
    databases' backends on a shared machine are not this benchmark's cost."""
    with psycopg.connect(url) as conn:
        pids = [pid for (pid,) in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )]  # fmt: skip
    used = {}
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            used[pid] = cpu_seconds([psutil.Process(pid)])
    return used


def backend_cpu_since(url: str, before: dict[int, float]) -> float:
    """CPU seconds used since `before` by the database's backends (a backend opened since counts from zero)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in backend_cpu(url).items())


def wait_ready(port: int, process: subprocess.Popen | None = None, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit("the server exited while starting")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=2)
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the server did not become ready")


def stored_rows(url: str, table: str, project_id: int) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(f"SELECT count(*) FROM {table} WHERE project_id = %s", [project_id]).fetchone()[0]


def prepare_database(server_url: str, database: str, env: dict) -> tuple[str, int]:
    """A fresh migrated database with one project; returns its ingest key and the project's id."""
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {database}")
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=ROOT)
    created = subprocess.run([*manage, "create_project", "Bench"], env=env, check=True, cwd=ROOT,
                             capture_output=True, text=True).stdout  # fmt: skip
    key = re.search(r"ingest key: (\S+)", created).group(1)
    with psycopg.connect(env["DATABASE_URL"]) as conn:
        project_id = conn.execute("SELECT id FROM tenants_project WHERE slug = 'bench'").fetchone()[0]
        conn.execute(BASELINE_TABLE)
        conn.execute(POINTS_BASELINE_TABLE)
    return key, project_id


KINDS = {
    "events": Kind("events", "events_event", BASELINE_COPY, SCHEMA_CAP_COPY),
    "points": Kind("metrics", "metrics_point", POINTS_BASELINE_COPY, POINTS_SCHEMA_CAP_COPY),
}


def measure(args: argparse.Namespace, bench_url: str, key: str, project_id: int, batch_size: int) -> dict:
    """The API's rate for one batch size, between two COPY runs of the same rows (their mean is the
    baseline, so a machine whose load drifts during the run biases neither side)."""
    kind = KINDS[args.kind]
    rng = random.Random(batch_size)
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    make_items, to_copy_text = (make_events, copy_text) if args.kind == "events" else (make_points, points_copy_text)
    batches = [make_items(rng, batch_size, now) for _ in range(max(8, 6400 // batch_size))]
    texts = [to_copy_text(project_id, batch) for batch in batches]
    requests = [http_request(args.port, key, json.dumps({kind.body_key: batch}).encode()) for batch in batches]
    asyncio.run(load(args.port, requests, args.clients, 2))  # warm-up: connections, caches, series
    copy_before = copy_baseline(bench_url, kind.baseline_copy, texts, args.clients, args.seconds / 2)
    server_tree = [psutil.Process(args.server_pid), *psutil.Process(args.server_pid).children(recursive=True)]
    me = psutil.Process()
    before_rows = stored_rows(bench_url, kind.raw_table, project_id)
    cpu_before = (cpu_seconds(server_tree), backend_cpu(bench_url), cpu_seconds([me]))
    started = time.perf_counter()
    result = asyncio.run(load(args.port, requests, args.clients, args.seconds))
    elapsed = time.perf_counter() - started
    cpu_used = [cpu_seconds(server_tree) - cpu_before[0], backend_cpu_since(bench_url, cpu_before[1]),
                cpu_seconds([me]) - cpu_before[2]]  # fmt: skip
    stored = stored_rows(bench_url, kind.raw_table, project_id) - before_rows
    copy_after = copy_baseline(bench_url, kind.baseline_copy, texts, args.clients, args.seconds / 2)
    copy_rate = (copy_before[0] + copy_after[0]) / (copy_before[1] + copy_after[1])
    measured = {"result": result, "rate": result.accepted / elapsed, "stored": stored, "cpu": cpu_used,
                "copy_rate": copy_rate, "kind": args.kind}  # fmt: skip
    if args.schema_cap:
        rows, seconds = copy_baseline(bench_url, kind.schema_cap_copy, texts, args.clients, args.seconds / 2)
        measured["schema_cap_rate"] = rows / seconds
    return measured


def report(batch_size: int, api: dict, clients: int) -> None:
    result: LoadResult = api["result"]
    copy_rate = api["copy_rate"]
    quantiles = statistics.quantiles(result.latencies, n=100) if len(result.latencies) > 1 else [0.0] * 99
    items = max(result.accepted, 1)
    per_thousand = [seconds * 1_000_000 / items for seconds in api["cpu"]]
    verified = "all stored" if api["stored"] == result.accepted else f"MISMATCH: {api['stored']:,} rows stored"
    print(f"-- batches of {batch_size:,} {api['kind']} --")
    print(f"API ingest:     {api['rate']:,.0f} items/s  ({len(result.latencies):,} requests, "
          f"{len(result.failures)} failed; {result.accepted:,} acknowledged, {verified})")  # fmt: skip
    print(f"latency:        p50 {quantiles[49] * 1000:.1f} ms   p99 {quantiles[98] * 1000:.1f} ms")
    print(f"raw COPY:       {copy_rate:,.0f} items/s  (same rows, {clients} connections, one transaction per batch;"
          " before and after the API run)")  # fmt: skip
    print(f"ratio API/COPY: {api['rate'] / copy_rate:.2f}")
    if "schema_cap_rate" in api:
        cap = api["schema_cap_rate"]
        print(f"schema cap:     {cap:,.0f} items/s  (the same COPY into Flux's raw table; {cap / copy_rate:.2f} of the"
              f" baseline; API/cap {api['rate'] / cap:.2f})")  # fmt: skip
    print(f"CPU per 1,000 items: Flux {per_thousand[0]:.1f} ms, PostgreSQL {per_thousand[1]:.1f} ms, "
          f"load generator {per_thousand[2]:.1f} ms")  # fmt: skip
    if result.failures:
        print(f"first failure:  {result.failures[0]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--batch-sizes", default="100,1000")
    parser.add_argument("--port", type=int, default=8101)
    parser.add_argument("--database", default="flux_ingestbench")
    parser.add_argument("--kind", choices=sorted(KINDS), default="events")
    parser.add_argument("--schema-cap", action="store_true", help="also COPY the rows into Flux's raw table")
    args = parser.parse_args()

    server_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flux").rsplit("/", 1)[0]
    bench_url = f"{server_url}/{args.database}"
    env = {**os.environ, "DATABASE_URL": bench_url, "DEBUG": "0", "SECRET_KEY": "bench", "LOG_LEVEL": "WARNING",
           "FLUX_INGEST_ITEMS_PER_SECOND": "0", "ALLOWED_HOSTS": "127.0.0.1"}  # fmt: skip
    key, project_id = prepare_database(server_url, args.database, env)
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "flux.asgi:application", "--port", str(args.port),
         "--workers", str(args.workers), "--no-access-log", "--log-level", "warning"],
        env=env, cwd=ROOT, start_new_session=True,
    )  # fmt: skip
    args.server_pid = server.pid
    measured = {}
    try:
        wait_ready(args.port, server)
        for batch_size in [int(size) for size in args.batch_sizes.split(",")]:
            measured[batch_size] = measure(args, bench_url, key, project_id, batch_size)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    print(f"clients={args.clients} workers={args.workers} seconds={args.seconds:g} "
          f"(machine: {psutil.cpu_count()} cores, shared with whatever else runs)")  # fmt: skip
    for batch_size, api in measured.items():
        report(batch_size, api, args.clients)
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {args.database} WITH (FORCE)")


if __name__ == "__main__":
    main()
