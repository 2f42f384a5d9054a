"""Work that must not hold up an ingestion response: collected in this process, done in batches by a thread.

Ingestion-health counters and live-update pushes are best-effort (losing them loses a view, never data),
so they leave the request's critical path: a request adds an entry and returns; a daemon thread wakes
when there is something to do, waits `interval` seconds so that concurrent requests share the trip,
and hands everything collected to `flush` at once. Readers that need their own process's latest
entries (the ingestion-health view) call `flush_now` first: it returns once every entry added before
it was written, including a batch the thread had already taken and was still writing.
"""

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)
Entry = TypeVar("Entry")


class DeferredBatches(Generic[Entry]):
    def __init__(self, name: str, flush: Callable[[list[Entry]], None], interval: float) -> None:
        self.name, self.flush, self.interval = name, flush, interval
        self._reset()
        atexit.register(self.flush_now)

    def _reset(self) -> None:
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.flushing = threading.Lock()  # held from taking a batch until it is written
        self.pending: list[Entry] = []
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None

    def add(self, entry: Entry) -> None:
        if self.pid != os.getpid():  # a forked child (Celery prefork) gets neither the parent's thread nor lock
            self._reset()
        with self.lock:
            self.pending.append(entry)
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name=f"flux-{self.name}", daemon=True)
                self.thread.start()
        self.wake.set()

    def flush_now(self) -> None:
        # Without `flushing`, a reader could find nothing pending while the thread's batch, taken a moment
        # before, is not written yet, and read what it just caused as missing.
        with self.flushing:
            with self.lock:
                entries, self.pending = self.pending, []
            if entries:
                try:
                    self.flush(entries)
                except Exception:  # the thread must survive whatever one batch does
                    logger.exception("deferred %s: a batch of %d entries failed", self.name, len(entries))

    def _run(self) -> None:
        while True:
            self.wake.wait()
            self.wake.clear()
            time.sleep(self.interval)  # let concurrent requests add theirs
            self.flush_now()
