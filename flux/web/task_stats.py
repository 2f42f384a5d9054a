"""How the scheduled work kept its cadence: per task, how many runs ran, were skipped (another run held
the work) or expired unstarted (no worker free before `expires`), and the last run's duration.

Counted in Redis by the workers (signal handlers in flux.celery), read by `bench/soak.py` and operators:
a busy ingest silently stopping anomaly scans or alerts shows here as expired counts rising.
"""

import time

import redis

from flux.web.redis_store import redis_client, report_unavailable

KEY = "flux:task-stats:{task}"
OUTCOMES = ("ran", "skipped", "expired")
_started: dict[str, float] = {}  # task id -> monotonic start, in the process running it


def record(task: str, outcome: str, seconds: float | None = None) -> None:
    """Count one `outcome` of `task` (one of OUTCOMES); `seconds` is the run's duration."""
    try:
        pipe = redis_client().pipeline(transaction=False)
        pipe.hincrby(KEY.format(task=task), outcome, 1)
        if seconds is not None:
            pipe.hset(KEY.format(task=task), mapping={"last_seconds": round(seconds, 3), "last_at": time.time()})
        pipe.execute()
    except redis.RedisError as error:
        report_unavailable(error)


def started(task_id: str) -> None:
    _started[task_id] = time.monotonic()


def finished(task_id: str, task: str) -> None:
    start = _started.pop(task_id, None)
    record(task, "ran", None if start is None else time.monotonic() - start)


def read(tasks: list[str]) -> dict[str, dict[str, float]]:
    """{task: {"ran": n, "skipped": n, "expired": n, "last_seconds": s, "last_at": epoch}} for `tasks`."""
    pipe = redis_client().pipeline(transaction=False)
    for task in tasks:
        pipe.hgetall(KEY.format(task=task))
    return {
        task: {key.decode(): float(value) for key, value in stored.items()}
        for task, stored in zip(tasks, pipe.execute(), strict=True)
    }
