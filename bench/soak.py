"""Sustained-load soak: ingest at a share of the measured maximum for N minutes with every process of the
Procfile running (web on 2 uvicorn workers, the Celery workers, beat) and live websockets open.

    make bench-soak                               # or, with the services' environment set:
    python bench/soak.py --minutes 10 --share 0.7 [--root ../other-checkout]

Creates a scratch database (`<DATABASE_URL's name>_soak`), starts the Procfile's processes of `--root` (default: this
checkout; point it at another checkout to measure that code the same way), opens the project's live feed
and a dashboard websocket, measures the maximum ingest rate for `--probe-seconds` (4 keep-alive clients,
batches of 100 events with 3 tags, a float value, a user id and empty properties), then ingests at
`--share` of it (or at `--rate` items/s) for `--minutes`. Every minute it prints the ingest rate, p99
latency, the rollup lag
(now - watermark) of events and metrics, how many scheduled tasks ran / were skipped / expired unstarted
(from the workers' logs and flux.web.task_stats), the longest anomaly scan, websocket messages received,
the RSS of every process and the CPU used per role (its processes plus its PostgreSQL backends, told
apart by application_name). At the end: the time the rollups took to catch up, rollup CPU against ingest
CPU, and whether every acknowledged event is stored and counted once in the rollups. Prints; asserts
nothing. The machine may be shared: compare runs made back to back.
"""

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import psutil
import psycopg
from ingest import wait_ready
from soak_load import Load, listen
from soak_monitor import SCHEDULED, Monitor
from soak_processes import prepare, start

ROOT = Path(__file__).resolve().parent.parent


def report_minute(minute: int, load: Load, since: float, monitor: Monitor, skipped_before: Counter,
                  sockets: Counter, lag_history: list) -> Counter:  # fmt: skip
    finished = [latency for at, latency in load.done if at >= since]
    rate = len(finished) * 100 / max(time.monotonic() - since, 1e-9)
    p99 = statistics.quantiles(finished, n=100)[98] * 1000 if len(finished) > 1 else float("nan")
    lags = monitor.take_worst_lags()
    lag_history.append(lags.get("events"))
    ran, expired, longest = monitor.new_log_lines()
    skipped = monitor.skipped()
    cpu = monitor.take_cpu()
    tasks = " ".join(
        f"{task.split('.')[0][:4]}.{task.rsplit('.', 1)[1]}={ran[task]}/{skipped[task] - skipped_before[task]}"
        f"/{expired[task]}" for task in SCHEDULED
    )  # fmt: skip
    scan = max(longest.get("anomalies.tasks.dispatch_scans", 0.0), longest.get("anomalies.tasks.scan_watches", 0.0))
    rss = " ".join(f"{role}={'+'.join(map(str, sizes))}" for role, sizes in monitor.rss().items())
    lag_text = " ".join(f"{stream}={'-' if lag is None else f'{lag:.0f}s'}" for stream, lag in sorted(lags.items()))
    rollup = longest.get("events.tasks.roll_up", 0.0)
    print(f"[{minute:2d}] {rate:8,.0f} items/s p99 {p99:6.1f} ms | max lag {lag_text} | ran/skipped/expired {tasks} | "
          f"scan {scan:.1f}s rollup {rollup:.1f}s | ws total {sum(sockets.values())} | "
          f"cpu s {' '.join(f'{role}={seconds:.0f}' for role, seconds in sorted(cpu.items()))} | RSS MiB {rss}",
          flush=True)  # fmt: skip
    return skipped


async def soak(args: argparse.Namespace, setup: dict, monitor: Monitor, port: int) -> tuple[Load, list]:
    url = f"ws://127.0.0.1:{port}/ws/p/{setup['project']}"
    headers = {"Cookie": f"sessionid={setup['session']}", "Origin": f"http://127.0.0.1:{port}"}
    sockets: Counter = Counter()
    listeners = [
        asyncio.create_task(listen(f"{url}/live/", headers, None, sockets, "live")),
        asyncio.create_task(listen(f"{url}/dashboards/{setup['dashboard']}/", headers,
                                   {"type": "view", "params": {"from": "-1h"}}, sockets, "dashboard")),
    ]  # fmt: skip
    probe = Load(port, setup["key"])
    await probe.run(args.clients, 3, None)  # warm-up
    warm_up = len(probe.done)
    await probe.run(args.clients, args.probe_seconds, None)
    maximum = (len(probe.done) - warm_up) * 100 / args.probe_seconds
    target = args.rate or maximum * args.share
    print(f"maximum {maximum:,.0f} items/s over {args.probe_seconds:g} s; soaking at {target:,.0f} "
          f"({target / maximum:.0%}) for {args.minutes} min", flush=True)  # fmt: skip
    stop_sampling = threading.Event()
    threading.Thread(target=monitor.sample_cpu_often, args=(stop_sampling,), daemon=True).start()
    await asyncio.sleep(1.5)
    monitor.start_counting()
    load = Load(port, setup["key"])
    running = asyncio.create_task(load.run(args.clients, args.minutes * 60, target))
    lag_history: list = []
    skipped = monitor.skipped()
    threading.Thread(target=monitor.sample_lags, args=(stop_sampling,), daemon=True).start()
    for minute in range(1, args.minutes + 1):
        since = time.monotonic()
        await asyncio.sleep(60)
        skipped = await asyncio.to_thread(report_minute, minute, load, since, monitor, skipped, sockets, lag_history)
    await running
    stop_sampling.set()
    for task in listeners:
        task.cancel()
    await asyncio.gather(*listeners, return_exceptions=True)
    load.done[:0] = probe.done  # every acknowledged batch, for the final check
    return load, lag_history


def catch_up(monitor: Monitor, stop_at: datetime, limit: float = 600) -> float | None:
    """Seconds until the events watermark passes the moment the load stopped."""
    started = time.monotonic()
    with psycopg.connect(monitor.url, autocommit=True) as conn:
        while time.monotonic() - started < limit:
            watermark = conn.execute("SELECT watermark FROM events_rollupwatermark WHERE stream = 'events'").fetchone()
            if watermark and watermark[0] and watermark[0] >= stop_at:
                return time.monotonic() - started
            time.sleep(1)
    return None


def verify(url: str, project_id: int, acknowledged: int) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        stored = conn.execute("SELECT count(*) FROM events_event WHERE project_id = %s", [project_id]).fetchone()[0]
        rolled = conn.execute(
            "SELECT coalesce(sum(count), 0) FROM events_eventrollup WHERE project_id = %s AND level = 'day'",
            [project_id],
        ).fetchone()[0]
        watermark_ok = conn.execute(
            "SELECT count(*) FROM events_event WHERE project_id = %s AND received_at > "
            "(SELECT watermark FROM events_rollupwatermark WHERE stream = 'events')",
            [project_id],
        ).fetchone()[0]
    return (f"acknowledged {acknowledged:,} events, stored {stored:,}, in the day rollups {rolled:,} "
            f"(+ {watermark_ok:,} received after the watermark)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--share", type=float, default=0.7, help="of the measured maximum")
    parser.add_argument("--rate", type=float, help="items/s to soak at, instead of a share of the maximum")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--probe-seconds", type=float, default=20)
    parser.add_argument("--port", type=int, default=8301)
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose Procfile and code to run")
    args = parser.parse_args()

    url_base, name = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flux").rsplit("/", 1)
    database = f"{name.split('?')[0]}_soak"  # beside DATABASE_URL's database: flux -> flux_soak
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    setup = prepare(args.root.resolve(), url_base, database)
    data_dir = tempfile.mkdtemp(prefix="flux-soak-")
    import redis

    redis.Redis.from_url(redis_url).flushdb()  # the broker's queue and the task counters start empty
    processes = start(args.root.resolve(), url_base, database, args.port, data_dir, redis_url)
    monitor = Monitor(f"{url_base}/{database}", processes, data_dir, redis_url)
    print(f"code: {args.root.resolve()}  processes: {', '.join(processes)}  logs: {data_dir}  "
          f"machine: {psutil.cpu_count()} cores (shared)", flush=True)  # fmt: skip
    try:
        wait_ready(args.port, seconds=90)
        load, lags = asyncio.run(soak(args, setup, monitor, args.port))
        measured = [lag for lag in lags if lag is not None]
        if measured:
            print(
                f"events rollup lag: max {max(measured):.0f} s, first minute {measured[0]:.0f} s, "
                f"last minute {measured[-1]:.0f} s (target < 90 s and not growing)"
            )
        stop_at = datetime.now(UTC)
        caught_up = catch_up(monitor, stop_at)
        total = monitor.cpu_total
        print(
            f"failures {len(load.failures)}{f' (first: {load.failures[0]})' if load.failures else ''}; "
            f"rollups caught up {'never' if caught_up is None else f'{caught_up:.0f} s'} after the load stopped"
        )
        print(f"CPU over the soak: {', '.join(f'{role} {seconds:.0f} s' for role, seconds in sorted(total.items()))}")
        # A checkout without a rollups worker runs its rollups in `worker` (with the other tasks: an upper bound).
        rollup_role = "rollups" if "rollups" in processes else "worker"
        rollup_runs = monitor.run_seconds["events.tasks.roll_up"] + monitor.run_seconds["metrics.tasks.roll_up"]
        print(
            f"rollup CPU / ingest CPU = {total[rollup_role] / max(total['web'], 1e-9):.3f} "
            f"({rollup_role} + its backends against web + its backends; target < 0.2); the rollup runs took "
            f"{rollup_runs:.0f} s in all, {rollup_runs / max(total['web'], 1e-9):.3f} of ingest CPU (an upper bound: "
            f"a run uses at most one core)"
        )
        print(verify(monitor.url, setup["project_id"], len(load.done) * 100))
    finally:
        for process in processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


if __name__ == "__main__":
    threading.excepthook = lambda hook: print(f"thread failed: {hook.exc_value}", file=sys.stderr)
    main()
