"""Ingestion benchmark: the real server under concurrent SDK-like load, against raw COPY of the same rows.

    make bench                                   # or, with the services' environment set:
    python bench/ingest.py --clients 16 --seconds 20 --workers 3

Creates a scratch database (flux_bench), migrates it, starts uvicorn on it, sends batches of 100
mixed items (70 events, 30 metric points, SDK wire shape) from N keep-alive connections for a fixed
time, then COPYs the same number of equivalent rows into the same tables with psycopg, 100 rows per
transaction like the API, and prints both rates and their ratio. Nothing here asserts: it prints.
"""

import argparse
import asyncio
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
import psycopg

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "flux_bench"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_batch(rng: random.Random, now: str) -> dict:
    events = [
        {
            "name": rng.choice(["user.signup", "page.viewed", "order.completed", "feature.used"]),
            "timestamp": now,
            "properties": {"plan": rng.choice(["free", "pro"]), "path": f"/p/{rng.randint(1, 500)}", "n": rng.random()},
            "user_id": f"u_{rng.randint(1, 50_000)}",
            "session_id": f"s_{rng.randint(1, 100_000)}",
            "value": rng.choice([None, round(rng.uniform(1, 200), 2)]),
            "tags": {"channel": rng.choice(["web", "ios", "android"]), "region": rng.choice(["eu", "us"])},
            "environment": "production",
            "service": "bench",
        }
        for _ in range(70)
    ]
    kinds = [("gauge", "queue.depth"), ("counter", "orders.count"), ("distribution", "api.latency"), ("set", "users")]
    metrics = []
    for _ in range(30):
        metric_type, name = rng.choice(kinds)
        value = f"u{rng.randint(1, 5000)}" if metric_type == "set" else round(rng.uniform(0, 500), 3)
        metrics.append(
            {"type": metric_type, "name": name, "value": value, "timestamp": now,
             "tags": {"host": f"web-{rng.randint(1, 8)}", "unit": "ms"}}
        )  # fmt: skip
    return {"events": events, "metrics": metrics}


def http_request(port: int, key: str, body: bytes) -> bytes:
    head = (
        f"POST /api/v1/flux/batch HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nUser-Agent: brainzlab-sdk/0.1.10\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def client_loop(port: int, requests: list[bytes], deadline: float, latencies: list, failures: list) -> None:
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
        await reader.readexactly(length)
        if b" 202 " in status_line:
            latencies.append(time.perf_counter() - started)
        else:
            failures.append(status_line.decode().strip())
    writer.close()


async def load(port: int, requests: list[bytes], clients: int, seconds: float) -> tuple[list, list]:
    latencies: list[float] = []
    failures: list[str] = []
    deadline = time.perf_counter() + seconds
    await asyncio.gather(*(client_loop(port, requests, deadline, latencies, failures) for _ in range(clients)))
    return latencies, failures


def copy_baseline(url: str, project_id: int, batches: list[dict], total_items: int) -> float:
    """Items/s for psycopg COPY of equivalent rows, 100 rows per transaction, one connection."""
    with psycopg.connect(url) as conn:
        series = dict(conn.execute(
            "SELECT m.name, min(s.id) FROM metrics_metricseries s JOIN metrics_metric m ON m.id = s.metric_id "
            "WHERE s.project_id = %s GROUP BY m.name", [project_id]).fetchall())  # fmt: skip
        now = datetime.now(UTC)
        done, started = 0, time.perf_counter()
        while done < total_items:
            batch = batches[(done // 100) % len(batches)]
            with conn.transaction(), conn.cursor() as cursor:
                with cursor.copy(
                    "COPY events_event (project_id, time, name, user_id, session_id, value, tags, properties,"
                    " environment, service) FROM STDIN"
                ) as copy:
                    for event in batch["events"]:
                        copy.write_row((project_id, now, event["name"], event["user_id"], event["session_id"],
                                        event["value"], json.dumps(event["tags"]), json.dumps(event["properties"]),
                                        event["environment"], event["service"]))  # fmt: skip
                with cursor.copy("COPY metrics_point (project_id, series_id, time, value, member) FROM STDIN") as copy:
                    for point in batch["metrics"]:
                        is_set = point["type"] == "set"
                        copy.write_row((project_id, series[point["name"]], now, 1.0 if is_set else point["value"],
                                        point["value"] if is_set else None))  # fmt: skip
            done += len(batch["events"]) + len(batch["metrics"])
        return done / (time.perf_counter() - started)


def cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def postgres_processes() -> list[psutil.Process]:
    return [process for process in psutil.process_iter(["name"]) if process.info["name"] in ("postgres", "postmaster")]


def wait_ready(port: int, process: subprocess.Popen, seconds: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the server exited while starting")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=2)
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the server did not become ready")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()

    server_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flux").rsplit("/", 1)[0]
    bench_url = f"{server_url}/{BENCH_DB}"
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    env = {**os.environ, "DATABASE_URL": bench_url, "DEBUG": "0", "SECRET_KEY": "bench", "LOG_LEVEL": "WARNING",
           "FLUX_INGEST_ITEMS_PER_SECOND": "0", "ALLOWED_HOSTS": "127.0.0.1"}  # fmt: skip
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=ROOT)
    created = subprocess.run([*manage, "create_project", "Bench"], env=env, check=True, cwd=ROOT,
                             capture_output=True, text=True).stdout  # fmt: skip
    key = re.search(r"ingest key: (\S+)", created).group(1)
    with psycopg.connect(bench_url) as conn:
        project_id = conn.execute("SELECT id FROM tenants_project WHERE slug = 'bench'").fetchone()[0]

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "flux.asgi:application", "--port", str(port), "--workers", str(args.workers),
         "--no-access-log", "--log-level", "warning"],
        env=env, cwd=ROOT, start_new_session=True,
    )  # fmt: skip
    try:
        wait_ready(port, server)
        rng = random.Random(7)
        now = datetime.now(UTC).isoformat()
        batches = [make_batch(rng, now) for _ in range(64)]
        requests = [http_request(port, key, json.dumps(batch).encode()) for batch in batches]
        asyncio.run(load(port, requests, args.clients, 3))  # warm-up: connections, series, caches
        server_tree = [psutil.Process(server.pid), *psutil.Process(server.pid).children(recursive=True)]
        databases, me = postgres_processes(), psutil.Process()
        cpu_before = (cpu_seconds(server_tree), cpu_seconds(databases), cpu_seconds([me]))
        latencies, failures = asyncio.run(load(port, requests, args.clients, args.seconds))
        cpu_after = (cpu_seconds(server_tree), cpu_seconds(databases), cpu_seconds([me]))
        cpu_used = [after - before for after, before in zip(cpu_after, cpu_before, strict=True)]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    items = len(latencies) * 100
    api_rate = items / args.seconds
    copy_rate = copy_baseline(bench_url, project_id, batches, max(items, 20_000))
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0] * 99
    print(f"clients={args.clients} workers={args.workers} seconds={args.seconds:g} batch=100 (70 events + 30 metrics)")
    print(f"API ingest:   {api_rate:,.0f} items/s  ({len(latencies):,} requests, {len(failures)} failed)")
    print(f"latency:      p50 {quantiles[49] * 1000:.1f} ms   p99 {quantiles[98] * 1000:.1f} ms")
    print(f"raw COPY:     {copy_rate:,.0f} items/s  (same rows, 100 per transaction, one connection)")
    print(f"ratio API/COPY: {api_rate / copy_rate:.2f}")
    per_thousand = [seconds * 1000 / max(items / 1000, 1) for seconds in cpu_used]
    print(
        f"CPU per 1,000 items: Flux {per_thousand[0]:.0f} ms, "
        f"PostgreSQL {per_thousand[1]:.0f} ms, "
        f"load generator {per_thousand[2]:.0f} ms (machine: {psutil.cpu_count()} cores)"
    )
    if failures:
        print(f"first failure: {failures[0]}")
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


if __name__ == "__main__":
    main()
