"""The Flux client: a bounded buffer, one daemon thread that sends batches, retries that keep item ids."""

import atexit
import logging
import os
import random
import threading
import time
import uuid
import weakref
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

from flux_sdk.transport import post_batch

logger = logging.getLogger("flux_sdk")
Number = int | float
Tags = dict[str, Any] | None


@dataclass
class Stats:
    """Counters of what became of every item handed to the client (read them as `client.stats`)."""

    queued: int = 0  # items accepted into the buffer
    sent: int = 0  # items in batches Flux answered 2xx
    accepted: int = 0  # stored by Flux
    duplicates: int = 0  # already stored (a retry of a batch whose first answer was lost)
    rejected: int = 0  # invalid items Flux reported by index (logged)
    dropped_buffer_full: int = 0  # the oldest items, pushed out when the buffer was full
    dropped_failed: int = 0  # items of batches that still failed after every retry, or were refused (4xx)
    dropped_closed: int = 0  # items added after close()
    requests: int = 0
    retries: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class Client:
    """Send events and metric points to Flux in the background.

    Items are queued in memory and sent by a daemon thread in batches of `batch_size`, or every
    `flush_interval` seconds, whichever comes first. Every item gets an id when it is created; a batch that
    fails with a network error, 408/425/429 or 5xx is sent again with the same ids after Retry-After (or an
    exponential backoff), so Flux stores each item once however often it is retried; past `max_retries` it
    waits at the head of the buffer while Flux is away, and a 413 is sent in halves. At most `max_buffer`
    items wait; when full, adding one drops the OLDEST waiting item (recent data matters most for
    monitoring) and counts it in `stats.dropped_buffer_full`. Pending items are sent at exit (up to
    `shutdown_timeout` seconds). After a fork, the child starts with an empty buffer and its own thread.
    """

    def __init__(
        self,
        key: str,
        url: str = "http://127.0.0.1:8000",
        *,
        batch_size: int = 100,
        flush_interval: float = 5.0,
        max_buffer: int = 10_000,
        max_retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 60.0,
        timeout: float = 10.0,
        shutdown_timeout: float = 5.0,
        compress: bool = True,
        tags: Tags = None,
    ) -> None:
        if not key:
            raise ValueError("a Flux ingest key is required")
        self.key = key
        self.endpoint = url.rstrip("/") + "/api/v1/flux/batch"
        self.batch_size = max(1, min(batch_size, 1000))  # Flux takes up to 1,000 items per batch by default
        self.flush_interval = flush_interval
        self.max_buffer = max(1, max_buffer)
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.timeout = timeout
        self.shutdown_timeout = shutdown_timeout
        self.compress = compress
        self.default_tags = {str(k): str(v) for k, v in (tags or {}).items()}
        self.stats = Stats()
        self._closed = False
        self._start_fresh()
        _live_clients.add(self)

    def _start_fresh(self) -> None:
        """New lock, buffer and (lazily) thread: at creation, and in a forked child, where the parent's
        thread does not exist and its lock may have been held at the moment of the fork."""
        self._wake = threading.Condition(threading.Lock())
        self._buffer: deque[tuple[str, dict]] = deque()
        self._thread: threading.Thread | None = None
        self._in_flight = 0
        self._flushers = 0
        self._closing = False
        self._pid = os.getpid()

    # --- what applications call ---

    def track(
        self,
        name: str,
        properties: dict[str, Any] | None = None,
        tags: Tags = None,
        user_id: str | None = None,
        value: Number | None = None,
        *,
        timestamp: float | None = None,
        **fields: str | None,
    ) -> None:
        """Record an event. `fields` may be session_id, environment, service, host or request_id."""
        item: dict[str, Any] = {"name": name, "tags": self._tags(tags)}
        if properties:
            item["properties"] = properties
        if user_id is not None:
            item["user_id"] = str(user_id)
        if value is not None:
            item["value"] = value
        item.update({field: text for field, text in fields.items() if text is not None})
        self._add("events", item, timestamp)

    def gauge(self, name: str, value: Number, tags: Tags = None, *, timestamp: float | None = None) -> None:
        """Record the current level of something (queue depth, memory in use)."""
        self._add("metrics", {"type": "gauge", "name": name, "value": value, "tags": self._tags(tags)}, timestamp)

    def counter(self, name: str, value: Number = 1, tags: Tags = None, *, timestamp: float | None = None) -> None:
        """Count something that happened `value` times (an increment, not a total)."""
        self._add("metrics", {"type": "counter", "name": name, "value": value, "tags": self._tags(tags)}, timestamp)

    def distribution(self, name: str, value: Number, tags: Tags = None, *, timestamp: float | None = None) -> None:
        """Record one measurement whose percentiles matter (a duration, a size)."""
        item = {"type": "distribution", "name": name, "value": value, "tags": self._tags(tags)}
        self._add("metrics", item, timestamp)

    def set(self, name: str, member: str | int, tags: Tags = None, *, timestamp: float | None = None) -> None:
        """Record that `member` was seen; Flux counts distinct members (e.g. active users)."""
        self._add("metrics", {"type": "set", "name": name, "value": member, "tags": self._tags(tags)}, timestamp)

    def flush(self, timeout: float | None = None) -> bool:
        """Send everything queued now and wait for it; False when `timeout` seconds passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._wake:
            if not self._buffer and not self._in_flight:
                return True
            self._ensure_thread()
            self._flushers += 1
            self._wake.notify_all()
            try:
                while self._buffer or self._in_flight:
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return False
                    self._wake.wait(remaining)
                return True
            finally:
                self._flushers -= 1

    def close(self, timeout: float | None = None) -> None:
        """Send what is queued (waiting up to `timeout`, default `shutdown_timeout`) and stop the thread."""
        with self._wake:
            self._closed = self._closing = True
            self._wake.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(self.shutdown_timeout if timeout is None else timeout)

    # --- the buffer ---

    def _tags(self, tags: Tags) -> dict[str, str]:
        if not tags:
            return dict(self.default_tags)
        return {**self.default_tags, **{str(k): str(v) for k, v in tags.items()}}

    def _add(self, kind: str, item: dict, timestamp: float | None) -> None:
        item["id"] = uuid.uuid4().hex  # the same id on every retry: Flux stores the item once
        item["timestamp"] = int((time.time() if timestamp is None else timestamp) * 1000)
        if os.getpid() != self._pid:  # forked without os.register_at_fork (e.g. a C extension's fork)
            self._start_fresh()
        with self._wake:
            if self._closed:
                self.stats.dropped_closed += 1
                return
            if len(self._buffer) >= self.max_buffer:
                self._buffer.popleft()
                self.stats.dropped_buffer_full += 1
            self._buffer.append((kind, item))
            self.stats.queued += 1
            self._ensure_thread()
            if len(self._buffer) >= self.batch_size:
                self._wake.notify_all()

    def _ensure_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="flux-sdk-sender", daemon=True)
            self._thread.start()

    # --- the sender thread ---

    def _run(self) -> None:
        while True:
            with self._wake:
                batch = self._next_batch()
                if batch is None:
                    return
                self._in_flight = len(batch)
            try:
                self._send(batch)
            except Exception:  # never let the sender thread die: the app would silently stop reporting
                logger.exception("flux_sdk: sending a batch failed unexpectedly; %d items dropped", len(batch))
                self.stats.dropped_failed += len(batch)
            with self._wake:
                self._in_flight = 0
                self._wake.notify_all()

    def _next_batch(self) -> list[tuple[str, dict]] | None:
        """Wait (lock held) until a batch is due; None when closing with nothing left."""
        deadline = time.monotonic() + self.flush_interval
        while len(self._buffer) < self.batch_size and not self._flushers and not self._closing:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._wake.wait(remaining)
        if not self._buffer:
            return None if self._closing else []
        return [self._buffer.popleft() for _ in range(min(self.batch_size, len(self._buffer)))]

    def _send(self, batch: list[tuple[str, dict]]) -> None:
        if not batch:
            return
        payload: dict[str, list] = {"events": [], "metrics": []}
        for kind, item in batch:
            payload[kind].append(item)
        payload = {kind: items for kind, items in payload.items() if items}
        give_up_at = time.monotonic() + self.shutdown_timeout if self._closing else None
        for attempt in range(self.max_retries + 1):
            self.stats.requests += 1
            answer = post_batch(self.endpoint, self.key, payload, self.timeout, self.compress)
            if answer.body is not None:
                self._count_answer(len(batch), answer.body)
                return
            if answer.status == 413 and len(batch) > 1:  # too large as a whole: each half may pass
                middle = len(batch) // 2
                self._send(batch[:middle])
                self._send(batch[middle:])
                return
            delay = self._retry_delay(attempt, answer.retry_after)
            out_of_time = give_up_at is not None and time.monotonic() + delay > give_up_at
            if answer.retry and attempt == self.max_retries and give_up_at is None:
                self._requeue(batch, answer.error)
                return
            if not answer.retry or attempt == self.max_retries or out_of_time:
                logger.warning(
                    "flux_sdk: %d items dropped after %d attempt(s): %s", len(batch), attempt + 1, answer.error
                )
                self.stats.dropped_failed += len(batch)
                return
            self.stats.retries += 1
            self._sleep(delay)

    def _requeue(self, batch: list[tuple[str, dict]], error: str) -> None:
        """Flux is unreachable for longer than the retries: the batch goes back to the head of the buffer (its
        ids kept), to be sent again behind the backoff, and only what the buffer has no room for is dropped,
        as the oldest items are when it is full."""
        with self._wake:
            room = max(0, self.max_buffer - len(self._buffer))
            kept = batch[len(batch) - room :] if room < len(batch) else batch
            self._buffer.extendleft(reversed(kept))
            self.stats.dropped_buffer_full += len(batch) - len(kept)
        logger.warning("flux_sdk: Flux unreachable (%s); %d items kept to send again", error, len(kept))
        self.stats.retries += 1
        self._pause(self.max_backoff)

    def _pause(self, seconds: float) -> None:
        """Wait before sending a requeued batch again; close() ends the wait (and sends what it can)."""
        with self._wake:
            self._wake.wait_for(lambda: self._closing, timeout=seconds)

    def _retry_delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_backoff)
        # Exponential backoff with jitter, so many processes do not retry in step.
        return min(self.max_backoff, self.backoff * 2**attempt) * random.uniform(0.5, 1.0)  # noqa: S311

    def _sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def _count_answer(self, items: int, body: dict) -> None:
        self.stats.sent += items
        self.stats.accepted += int(body.get("accepted", 0))
        self.stats.duplicates += int(body.get("duplicates", 0))
        rejected = body.get("rejected") or []
        self.stats.rejected += len(rejected)
        if rejected:
            first = rejected[0]
            logger.warning("flux_sdk: Flux rejected %d items, e.g. %s %s: %s", len(rejected), first.get("kind"),
                           first.get("index"), "; ".join(first.get("errors", [])))  # fmt: skip


_live_clients: "weakref.WeakSet[Client]" = weakref.WeakSet()


def _reset_clients_in_child() -> None:
    for client in list(_live_clients):
        client._start_fresh()  # the parent sends what was queued before the fork


def _close_clients_at_exit() -> None:
    for client in list(_live_clients):
        client.close()


os.register_at_fork(after_in_child=_reset_clients_in_child)
atexit.register(_close_clients_at_exit)
