"""Realtime benchmark: how long an ingested event takes to reach open dashboards over their websockets.

    make bench-realtime                      # or, with the services' environment set:
    python bench/realtime.py --dashboards 50 --events 30

Creates a scratch database (flux_realtimebench), starts Flux under uvicorn, signs a user in, opens
`--dashboards` websockets on a dashboard with a number widget, then `--events` times POSTs one event to
the ingestion API and measures, on every socket, the time until that widget's new value arrives. Posts
are spaced by more than a second, since each widget is pushed at most once a second. Prints p50/p95/max.
Nothing here asserts: it prints.
"""

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg
import websockets

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "flux_realtimebench"
SERVER_ENV = {"DEBUG": "0", "SECRET_KEY": "realtime-bench", "LOG_LEVEL": "WARNING", "ALLOWED_HOSTS": "127.0.0.1"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_database() -> str:
    server_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flux").rsplit("/", 1)[0]
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    return f"{server_url}/{BENCH_DB}"


def set_up_django(database_url: str) -> dict:
    """Migrate, and create a user, a project, an ingest key and a dashboard; returns what the clients need."""
    # The server's settings: the session made here must verify there (it is signed with SECRET_KEY).
    os.environ.update({**SERVER_ENV, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "flux.settings"})
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client

    from dashboards.services import create_dashboard
    from flux.tenants.services import create_project, issue_key

    call_command("migrate", verbosity=0)
    user = User.objects.create_user("bench")
    project = create_project("Realtime bench", owner=user)
    dashboard = create_dashboard(
        project, "Live", widgets=[{"title": "Ticks", "type": "number", "query": {"name": "bench.tick"}}]
    )
    client = Client()
    client.force_login(user)
    return {
        "session": client.cookies["sessionid"].value, "project": project.slug, "dashboard": dashboard.pk,
        "widget": dashboard.widgets.get().pk, "ingest_key": issue_key(project, "ingest").raw_key,
    }  # fmt: skip


def post_event(port: int, key: str) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/events", data=json.dumps({"name": "bench.tick"}).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"}, method="POST",
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202


async def listen(url: str, headers: dict, widget: int, arrivals: list[float], ready: asyncio.Event) -> None:
    async with websockets.connect(url, additional_headers=headers) as socket_:
        await socket_.send(json.dumps({"type": "view", "params": {"from": "-1h"}}))
        ready.set()
        async for raw in socket_:
            message = json.loads(raw)
            if message.get("type") == "widget" and message.get("id") == widget:
                arrivals.append(time.perf_counter())


async def run(port: int, setup: dict, dashboards: int, events: int) -> list[float]:
    url = f"ws://127.0.0.1:{port}/ws/p/{setup['project']}/dashboards/{setup['dashboard']}/"
    headers = {"Cookie": f"sessionid={setup['session']}", "Origin": f"http://127.0.0.1:{port}"}
    arrivals: list[list[float]] = [[] for _ in range(dashboards)]
    ready = [asyncio.Event() for _ in range(dashboards)]
    listeners = [
        asyncio.create_task(listen(url, headers, setup["widget"], arrivals[index], ready[index]))
        for index in range(dashboards)
    ]
    await asyncio.wait_for(asyncio.gather(*(event.wait() for event in ready)), 30)
    await asyncio.sleep(1)
    latencies = []
    for _ in range(events):
        before = [len(found) for found in arrivals]
        sent = time.perf_counter()
        await asyncio.to_thread(post_event, port, setup["ingest_key"])
        deadline = sent + 10
        while any(len(found) == count for found, count in zip(arrivals, before, strict=True)):
            if time.perf_counter() > deadline:
                break
            await asyncio.sleep(0.002)
        latencies += [(found[count] - sent) * 1000 for found, count in zip(arrivals, before, strict=True)
                      if len(found) > count]  # fmt: skip
        await asyncio.sleep(1.1)  # a widget is pushed at most once a second
    for task in listeners:
        task.cancel()
    await asyncio.gather(*listeners, return_exceptions=True)  # sockets close cleanly before the server stops
    await asyncio.sleep(1)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dashboards", type=int, default=50, help="open dashboards (websockets)")
    parser.add_argument("--events", type=int, default=30, help="events posted, one at a time")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    args = parser.parse_args()
    database_url = prepare_database()
    setup = set_up_django(database_url)
    port = free_port()
    env = {**os.environ, **SERVER_ENV, "DATABASE_URL": database_url}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "flux.asgi:application", "--port", str(port), "--workers",
         str(args.workers), "--no-access-log", "--log-level", "warning"],
        env=env, cwd=ROOT, start_new_session=True,
    )  # fmt: skip
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        latencies = asyncio.run(run(port, setup, args.dashboards, args.events))
        report(latencies, args)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


def report(latencies: list[float], args: argparse.Namespace) -> None:
    expected = args.dashboards * args.events
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    print(f"{args.dashboards} open dashboards, {args.events} events posted one at a time, {args.workers} workers")
    print(f"pushes received: {len(latencies)} of {expected}")
    print(f"ingest -> websocket latency: p50 {quantiles[49]:.0f} ms, p95 {quantiles[94]:.0f} ms, "
          f"max {max(latencies):.0f} ms", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
