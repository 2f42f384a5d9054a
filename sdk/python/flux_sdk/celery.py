"""Celery: every task's outcome and duration, from Celery's own signals.

    # where the Celery app is created
    import flux_sdk.celery
    flux_sdk.celery.track_tasks(flux_sdk.init("flx_ingest_...", "https://flux.example.com"))

Records `celery.task.duration_ms` (distribution) and `celery.tasks` (counter), tagged with task (its
name) and state (SUCCESS, FAILURE, RETRY, ...).
"""

import threading
import time
from typing import Any

from celery import signals

import flux_sdk

_started: dict[str, float] = {}
_lock = threading.Lock()
_connected: list = []


def track_tasks(client: flux_sdk.Client | None = None) -> None:
    """Connect to Celery's task signals; the module-level client is used when `client` is None."""

    def task_started(task_id: str | None = None, **_: Any) -> None:
        with _lock:
            _started[task_id] = time.perf_counter()

    def task_finished(task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any) -> None:
        with _lock:
            started = _started.pop(task_id, None)
        sink = client or flux_sdk.get_client()
        tags = {"task": getattr(task, "name", "unknown"), "state": state or "UNKNOWN"}
        sink.counter("celery.tasks", 1, tags)
        if started is not None:
            sink.distribution("celery.task.duration_ms", round((time.perf_counter() - started) * 1000, 3), tags)

    # weak=False: these closures are referenced nowhere else; _connected keeps them for untrack_tasks().
    signals.task_prerun.connect(task_started, weak=False)
    signals.task_postrun.connect(task_finished, weak=False)
    _connected.append((task_started, task_finished))


def untrack_tasks() -> None:
    """Disconnect what track_tasks() connected."""
    while _connected:
        started, finished = _connected.pop()
        signals.task_prerun.disconnect(started)
        signals.task_postrun.disconnect(finished)
