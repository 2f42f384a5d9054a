"""The Redis client each process shares for rate limits and ingestion health, and how Redis outages are logged.

Every use of Redis fails open (here and the channel layer's live updates): Redis being down must never
lose data, so callers catch `redis.RedisError`, call `report_unavailable` and carry on. The pool blocks
(briefly) instead of raising when every connection is busy, so a burst of concurrent requests waits a
moment for a connection instead of silently skipping the rate limit and dropping ingestion-health records.
"""

import logging
import os
import threading
import time

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

OUTAGE_LOG_EVERY_SECONDS = 60
_clients: dict[tuple, redis.Redis] = {}
_clients_lock = threading.Lock()
_outage_lock = threading.Lock()
_outage_logged_at: float | None = None
monotonic = time.monotonic  # a module attribute, so tests can drive the clock


def worker_threads() -> int:
    """Threads that may use Redis at once in this process: asgiref's sync-view pool (ASGI_THREADS)."""
    configured = os.environ.get("ASGI_THREADS", "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return min(32, (os.cpu_count() or 1) + 4)  # the default size of a ThreadPoolExecutor


def pool_size() -> int:
    """FLUX_REDIS_MAX_CONNECTIONS, or (0, the default) one per worker thread plus room for the health views."""
    return settings.FLUX_REDIS_MAX_CONNECTIONS or worker_threads() + 8


def redis_key(*parts: object) -> str:
    """A key of this installation: FLUX_REDIS_KEY_PREFIX, then `parts`, joined by colons."""
    return ":".join([settings.FLUX_REDIS_KEY_PREFIX, *map(str, parts)])


def redis_client() -> redis.Redis:
    """This process's client; one pool per (URL, size), built on first use."""
    config = (settings.REDIS_URL, pool_size(), settings.FLUX_REDIS_POOL_TIMEOUT_SECONDS)
    client = _clients.get(config)
    if client is None:
        with _clients_lock:
            client = _clients.get(config)
            if client is None:
                pool = redis.BlockingConnectionPool.from_url(
                    config[0], max_connections=config[1], timeout=config[2], socket_connect_timeout=1, socket_timeout=1
                )
                client = _clients[config] = redis.Redis(connection_pool=pool)
    return client


def report_unavailable(error: redis.RedisError) -> None:
    """One warning per OUTAGE_LOG_EVERY_SECONDS while Redis fails, without a traceback (it says nothing new)."""
    global _outage_logged_at
    now = monotonic()
    with _outage_lock:
        if _outage_logged_at is not None and now - _outage_logged_at < OUTAGE_LOG_EVERY_SECONDS:
            return
        _outage_logged_at = now
    logger.warning(
        "Redis unavailable (%s: %s), rate limiting, ingestion health and live updates are off; will log again in %d s",
        type(error).__name__, error, OUTAGE_LOG_EVERY_SECONDS,
    )  # fmt: skip
