"""Sustained-load soak: ingest at a share of the measured maximum for N minutes with every process of the
Procfile running (web on 2 uvicorn workers, the Celery workers, beat) and live websockets open.

    make bench-soak                               # or, with the services' environment set:
    python bench/soak.py --minutes 10 --share 0.7 [--root ../other-checkout]

Creates a scratch database (flux_soak), starts the Procfile's processes of `--root` (default: this
checkout; point it at another checkout to measure that code the same way), opens the project's live feed
and a dashboard websocket, measures the maximum ingest rate for `--probe-seconds` (4 keep-alive clients,
batches of 100 events with 3 tags, a float value, a user id and empty properties), then ingests at
`--share` of it for `--minutes`. Every minute it prints the ingest rate, p99 latency, the rollup lag
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
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import psutil
import psycopg
import websockets

ROOT = Path(__file__).resolve().parent.parent
SOAK_DB = "flux_soak"
SERVER_ENV = {"DEBUG": "0", "SECRET_KEY": "soak-bench", "LOG_LEVEL": "WARNING", "ALLOWED_HOSTS": "127.0.0.1",
              "FLUX_INGEST_ITEMS_PER_SECOND": "0"}  # fmt: skip
SCHEDULED = ("events.tasks.roll_up", "metrics.tasks.roll_up", "anomalies.tasks.dispatch_scans",
             "anomalies.tasks.evaluate_thresholds", "anomalies.tasks.deliver_notifications")  # fmt: skip
TASK_LINE = re.compile(r"Task (\S+)\[[^\]]+\] succeeded in ([\d.]+)s")
DISCARDED_LINE = re.compile(r"Discarding revoked task: (\S+)\[")


# Run by the checkout under test (its migrations, its services), so that another checkout can be soaked too.
SETUP = """
import json, django
django.setup()
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from dashboards.services import create_dashboard
from flux.tenants.services import create_project, issue_key
call_command("migrate", verbosity=0)
user = User.objects.create_user("soak")
project = create_project("Soak", owner=user)
widgets = [{"title": "Orders", "type": "number", "query": {"name": "order.completed"}}]
dashboard = create_dashboard(project, "Live", widgets=widgets)
client = Client()
client.force_login(user)
print(json.dumps({"session": client.cookies["sessionid"].value, "project": project.slug, "project_id": project.pk,
                  "dashboard": dashboard.pk, "key": issue_key(project, "ingest").raw_key}))
"""


def prepare(root: Path, url_base: str) -> dict:
    """A fresh database with a user, project, ingest key and dashboard; returns what the clients need."""
    with psycopg.connect(f"{url_base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{SOAK_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{SOAK_DB}"')
    env = {**os.environ, **SERVER_ENV, "DATABASE_URL": f"{url_base}/{SOAK_DB}", "PYTHONPATH": str(root),
           "DJANGO_SETTINGS_MODULE": "flux.settings"}  # fmt: skip
    done = subprocess.run([sys.executable, "-c", SETUP], env=env, cwd=root, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def procfile_commands(root: Path) -> dict[str, str]:
    lines = (root / "Procfile").read_text().splitlines()
    commands = dict(line.split(": ", 1) for line in lines if ": " in line and not line.startswith("#"))
    commands.pop("statsd", None)  # no UDP load here
    return commands


def start(root: Path, url_base: str, port: int, data_dir: str, redis_url: str) -> dict[str, subprocess.Popen]:
    processes = {}
    for role, command in procfile_commands(root).items():
        # Each role's PostgreSQL backends carry its name, so their CPU can be told apart.
        env = {**os.environ, **SERVER_ENV, "DATABASE_URL": f"{url_base}/{SOAK_DB}?application_name=soak-{role}",
               "REDIS_URL": redis_url, "FLUX_PORT": str(port), "WEB_CONCURRENCY": "2", "FLUX_DATA_DIR": data_dir,
               "PYTHONPATH": str(root), "LOG_LEVEL": "INFO" if role != "web" else "WARNING",
               "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}  # fmt: skip
        log = open(Path(data_dir) / f"{role}.log", "w")  # noqa: SIM115 (closed with the process)
        processes[role] = subprocess.Popen(["/bin/sh", "-c", f"exec {command}"], env=env, cwd=root, stdout=log,
                                           stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    return processes


def wait_ready(port: int, seconds: float = 90) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("the web server did not become ready")


def make_body(rng: random.Random) -> bytes:
    now = datetime.now(UTC).isoformat()
    events = [
        {"name": rng.choice(["order.completed", "page.viewed", "user.signup", "feature.used"]), "timestamp": now,
         "tags": {"channel": rng.choice(["web", "ios", "android"]), "region": rng.choice(["eu", "us", "apac"]),
                  "plan": rng.choice(["free", "pro"])},
         "value": round(rng.uniform(1, 500), 3), "user_id": f"u_{rng.randint(1, 50_000)}", "properties": {}}
        for _ in range(100)
    ]  # fmt: skip
    return json.dumps({"events": events, "metrics": []}).encode()


class Load:
    """Keep-alive clients posting batches of 100; `rate` items/s in total (None: as fast as they can)."""

    def __init__(self, port: int, key: str) -> None:
        self.port, self.key = port, key
        self.rng = random.Random(15)
        self.bodies = [make_body(self.rng) for _ in range(16)]
        self.done: list[tuple[float, float]] = []  # (finished at, latency) of acknowledged batches
        self.failures: list[str] = []

    def request(self) -> bytes:
        body = self.rng.choice(self.bodies)
        head = (f"POST /api/v1/flux/batch HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nAuthorization: Bearer {self.key}"
                f"\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")  # fmt: skip
        return head.encode() + body

    async def refresh_bodies(self, deadline: float) -> None:
        while time.monotonic() < deadline:  # event times follow the clock, as a live app's do
            await asyncio.sleep(5)
            self.bodies = [make_body(self.rng) for _ in range(16)]

    async def client(self, deadline: float, interval: float | None) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        next_send = time.monotonic() + (random.random() * interval if interval else 0)
        while time.monotonic() < deadline:
            if interval:
                await asyncio.sleep(max(0.0, next_send - time.monotonic()))
                next_send = max(next_send + interval, time.monotonic() - 1)  # catch up, but not in a burst
            started = time.monotonic()
            writer.write(self.request())
            status = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            if b" 202 " in status:
                self.done.append((time.monotonic(), time.monotonic() - started))
            else:
                self.failures.append(status.decode().strip())
        writer.close()

    async def run(self, clients: int, seconds: float, rate: float | None) -> None:
        deadline = time.monotonic() + seconds
        interval = clients * 100 / rate if rate else None
        await asyncio.gather(self.refresh_bodies(deadline), *(self.client(deadline, interval) for _ in range(clients)))


async def listen(url: str, headers: dict, first: dict | None, received: Counter, name: str) -> None:
    async with websockets.connect(url, additional_headers=headers, max_size=None) as socket_:
        if first:
            await socket_.send(json.dumps(first))
        async for _ in socket_:
            received[name] += 1


class Monitor:
    """Per-minute figures: lag and task counts from the database, logs and Redis; RSS and CPU per role."""

    def __init__(self, url: str, processes: dict[str, subprocess.Popen], data_dir: str, redis_url: str) -> None:
        self.url, self.processes, self.data_dir, self.redis_url = url, processes, data_dir, redis_url
        self.log_offsets: dict[str, int] = defaultdict(int)
        self.cpu_seen: dict[tuple[str, int], float] = {}
        self.cpu_total: Counter = Counter()
        self.worst_lag: dict[str, float] = {}

    def trees(self) -> dict[str, list[psutil.Process]]:
        trees = {}
        for role, process in self.processes.items():
            try:
                parent = psutil.Process(process.pid)
                trees[role] = [parent, *parent.children(recursive=True)]
            except psutil.Error:
                trees[role] = []
        return trees

    def rss(self) -> dict[str, list[int]]:
        sizes = {}
        for role, tree in self.trees().items():
            sizes[role] = []
            for process in tree:
                try:
                    if process.name() not in ("sh",):
                        sizes[role].append(process.memory_info().rss // 2**20)
                except psutil.Error:
                    pass
        return sizes

    def sample_cpu(self) -> Counter:
        """CPU seconds used per role since the last sample: its processes and its database backends."""
        current: dict[tuple[str, int], tuple[str, float]] = {}
        for role, tree in self.trees().items():
            for process in tree:
                current[("proc", process.pid)] = (role, _cpu(process))
        with psycopg.connect(self.url, autocommit=True) as conn:
            backends = conn.execute(
                "SELECT pid, application_name FROM pg_stat_activity WHERE application_name LIKE 'soak-%'"
            ).fetchall()
        for pid, application in backends:
            with contextlib.suppress(psutil.Error):
                current[("backend", pid)] = (application.removeprefix("soak-"), _cpu(psutil.Process(pid)))
        used: Counter = Counter()
        for key, (role, seconds) in current.items():
            used[role] += seconds - self.cpu_seen.get(key, 0.0)
            self.cpu_seen[key] = seconds
        self.cpu_total.update(used)
        return used

    def sample_lags(self, stop: threading.Event) -> None:
        """Every 5 s, so that the minute's report has the worst lag, not the lag at one moment."""
        while not stop.wait(5):
            for stream, lag in self.lags().items():
                if lag is not None:
                    self.worst_lag[stream] = max(self.worst_lag.get(stream, 0.0), lag)

    def take_worst_lags(self) -> dict[str, float | None]:
        worst, self.worst_lag = self.worst_lag, {}
        return {**{stream: None for stream in ("events", "metrics")}, **worst}

    def lags(self) -> dict[str, float | None]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT stream, extract(epoch FROM clock_timestamp() - watermark) FROM events_rollupwatermark"
            ).fetchall()
        return {stream: None if lag is None else float(lag) for stream, lag in rows}

    def new_log_lines(self) -> tuple[Counter, Counter, dict[str, float]]:
        ran, expired, longest = Counter(), Counter(), {}
        for role in self.processes:
            path = Path(self.data_dir) / f"{role}.log"
            with open(path, errors="replace") as log:
                log.seek(self.log_offsets[role])
                text = log.read()
                self.log_offsets[role] = log.tell()
            for task, seconds in TASK_LINE.findall(text):
                ran[task] += 1
                longest[task] = max(longest.get(task, 0.0), float(seconds))
            expired.update(DISCARDED_LINE.findall(text))
        return ran, expired, longest

    def skipped(self) -> Counter:
        import redis

        client = redis.Redis.from_url(self.redis_url)
        return Counter({task: int(client.hget(f"flux:task-stats:{task}", "skipped") or 0) for task in SCHEDULED})


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def report_minute(minute: int, load: Load, since: float, monitor: Monitor, skipped_before: Counter,
                  sockets: Counter, lag_history: list) -> Counter:  # fmt: skip
    finished = [latency for at, latency in load.done if at >= since]
    rate = len(finished) * 100 / max(time.monotonic() - since, 1e-9)
    p99 = statistics.quantiles(finished, n=100)[98] * 1000 if len(finished) > 1 else float("nan")
    lags = monitor.take_worst_lags()
    lag_history.append(lags.get("events"))
    ran, expired, longest = monitor.new_log_lines()
    skipped = monitor.skipped()
    cpu = monitor.sample_cpu()
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
    target = maximum * args.share
    print(f"maximum {maximum:,.0f} items/s over {args.probe_seconds:g} s; soaking at {target:,.0f} "
          f"({args.share:.0%}) for {args.minutes} min", flush=True)  # fmt: skip
    monitor.new_log_lines()
    monitor.sample_cpu()
    load = Load(port, setup["key"])
    running = asyncio.create_task(load.run(args.clients, args.minutes * 60, target))
    lag_history: list = []
    skipped = monitor.skipped()
    stop_sampling = threading.Event()
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
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--probe-seconds", type=float, default=20)
    parser.add_argument("--port", type=int, default=8301)
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose Procfile and code to run")
    args = parser.parse_args()

    url_base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flux").rsplit("/", 1)[0]
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    setup = prepare(args.root.resolve(), url_base)
    data_dir = tempfile.mkdtemp(prefix="flux-soak-")
    import redis

    redis.Redis.from_url(redis_url).flushdb()  # the broker's queue and the task counters start empty
    processes = start(args.root.resolve(), url_base, args.port, data_dir, redis_url)
    monitor = Monitor(f"{url_base}/{SOAK_DB}", processes, data_dir, redis_url)
    print(f"code: {args.root.resolve()}  processes: {', '.join(processes)}  logs: {data_dir}  "
          f"machine: {psutil.cpu_count()} cores (shared)", flush=True)  # fmt: skip
    try:
        wait_ready(args.port)
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
        print(
            f"rollup CPU / ingest CPU = {total[rollup_role] / max(total['web'], 1e-9):.3f} "
            f"({rollup_role} + its backends against web + its backends; target < 0.2)"
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
