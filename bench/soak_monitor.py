"""What the soak (bench/soak.py) samples: the rollup watermarks' lag, the tasks that ran, were skipped or
expired, and the RSS and CPU of every role (its processes and its PostgreSQL backends)."""

import contextlib
import re
import subprocess
import threading
from collections import Counter, defaultdict
from pathlib import Path

import psutil
import psycopg

SCHEDULED = ("events.tasks.roll_up", "metrics.tasks.roll_up", "anomalies.tasks.dispatch_scans",
             "anomalies.tasks.evaluate_thresholds", "anomalies.tasks.deliver_notifications")  # fmt: skip
TASK_LINE = re.compile(r"Task (\S+)\[[^\]]+\] succeeded in ([\d.]+)s")
DISCARDED_LINE = re.compile(r"Discarding revoked task: (\S+)\[")


class Monitor:
    """Per-minute figures: lag and task counts from the database, logs and Redis; RSS and CPU per role."""

    def __init__(self, url: str, processes: dict[str, subprocess.Popen], data_dir: str, redis_url: str) -> None:
        self.url, self.processes, self.data_dir, self.redis_url = url, processes, data_dir, redis_url
        self.log_offsets: dict[str, int] = defaultdict(int)
        self.cpu_seen: dict[tuple[str, int], float] = {}
        self.cpu_total: Counter = Counter()
        self.cpu_minute: Counter = Counter()
        self.run_seconds: Counter = Counter()
        self.cpu_lock = threading.Lock()
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

    def sample_cpu(self, conn: psycopg.Connection) -> None:
        """Add the CPU seconds used per role since the last sample: its processes and its database backends.

        Workers close their database connection after each task (CONN_MAX_AGE = 0), and a closed backend's
        CPU can no longer be read: sampled every second (`sample_cpu_often`), at most the last second of
        each connection is missed."""
        current: dict[tuple[str, int], tuple[str, float]] = {}
        for role, tree in self.trees().items():
            for process in tree:
                with contextlib.suppress(psutil.Error):
                    current[("proc", process.pid)] = (role, _cpu(process))
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
        with self.cpu_lock:
            self.cpu_total.update(used)
            self.cpu_minute.update(used)

    def sample_cpu_often(self, stop: threading.Event) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            self.sample_cpu(conn)
            while not stop.wait(1):
                self.sample_cpu(conn)

    def take_cpu(self) -> Counter:
        """CPU seconds per role since the last call."""
        with self.cpu_lock:
            used, self.cpu_minute = self.cpu_minute, Counter()
        return used

    def start_counting(self) -> None:
        """From now on: CPU and run seconds before this moment (setup, the probe) are not counted."""
        self.new_log_lines()
        with self.cpu_lock:
            self.cpu_minute.clear()
            self.cpu_total.clear()
        self.run_seconds.clear()

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
        """Per task since the last call: runs finished, runs expired unstarted, the longest run's seconds;
        the seconds all runs took add up in `run_seconds`."""
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
                self.run_seconds[task] += float(seconds)
            expired.update(DISCARDED_LINE.findall(text))
        return ran, expired, longest

    def skipped(self) -> Counter:
        import redis

        client = redis.Redis.from_url(self.redis_url)
        return Counter({task: int(client.hget(f"flux:task-stats:{task}", "skipped") or 0) for task in SCHEDULED})


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system
