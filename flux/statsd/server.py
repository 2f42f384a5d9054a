"""The StatsD/DogStatsD UDP listener: packets are parsed into an Aggregator on an asyncio loop; every
flush interval the window is written on one worker thread through the same `ingest` as the JSON API.
"""

import asyncio
import logging
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections
from rest_framework.exceptions import Throttled

from flux.ingestion import outcomes
from flux.ingestion.services import ingest
from flux.statsd.aggregate import Aggregator, Counts, Window
from flux.tenants.models import KeyKind, Project
from flux.tenants.queries import get_key_by_raw
from flux.web.ratelimit import check_ingest_rate

logger = logging.getLogger("flux.statsd")
LOG_EVERY_SECONDS = 60
RECEIVE_BUFFER_BYTES = 8 * 1024 * 1024
MAX_PACKET_BYTES = 65535
MAX_PACKETS_PER_TURN = 256


class NoProject(Exception):
    """FLUX_STATSD_KEY is missing or is not a live ingest key."""


def project_for_key(raw_key: str) -> Project:
    """The project a live ingest (or admin) key belongs to; NoProject says what is wrong."""
    if not raw_key:
        raise NoProject("FLUX_STATSD_KEY is not set; put a project's ingest key there")
    api_key = get_key_by_raw(raw_key)
    if api_key is None or api_key.is_revoked:
        raise NoProject("FLUX_STATSD_KEY is not a live Flux API key")
    if api_key.kind not in (KeyKind.INGEST, KeyKind.ADMIN):
        raise NoProject(f"FLUX_STATSD_KEY is a {api_key.kind} key; use an ingest key")
    if api_key.project.archived:
        raise NoProject(f"FLUX_STATSD_KEY's project {api_key.project.slug!r} is archived")
    return api_key.project


@dataclass
class FlushResult:
    items: int = 0
    accepted: int = 0
    throttled: bool = False


def flush_window(project: Project, window: Window) -> FlushResult:
    """Write one window as one batch and report its outcome (and its unreadable lines) to ingestion health."""
    outcomes.record_unreadable_lines(project.pk, "statsd", window.counts.bad_lines, window.bad_line_examples)
    items = window.metric_items()
    result = FlushResult(items=len(items))
    if not items:
        return result
    try:
        check_ingest_rate(project.pk, len(items))
    except Throttled as throttled:
        # UDP has no way to ask the sender to retry, so this window is dropped, loudly.
        message = (
            f"StatsD: the {len(items):,} points of one flush were dropped: the project sent more than "
            f"{settings.FLUX_INGEST_ITEMS_PER_SECOND:,} items per second (FLUX_INGEST_ITEMS_PER_SECOND)."
        )
        outcomes.record(project.pk, 0, 0, [], request_error=message)
        logger.warning("%s (%s)", message, throttled.detail)
        result.throttled = True
        return result
    ingested = ingest(project, [], items)
    # An index into a flush's points means nothing to the sender; the metric's name does.
    rejected = [
        {"kind": "statsd", "index": None, "errors": [f"{items[r['index']]['name'][:100]}: {e}" for e in r["errors"]]}
        for r in ingested.rejected
    ]
    outcomes.record(project.pk, ingested.accepted, ingested.duplicates, rejected, request_error=None)
    result.accepted = ingested.accepted
    return result


class StatsdProtocol(asyncio.DatagramProtocol):
    def __init__(self, aggregator: Aggregator, sock: socket.socket) -> None:
        self.aggregator = aggregator
        self.sock = sock

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        # The event loop wakes once per datagram, which costs more than parsing one; under load, read what
        # else is already queued on the socket in the same turn (bounded, so flushes still get their turn).
        self.aggregator.add_packets([data, *read_queued(self.sock, MAX_PACKETS_PER_TURN)])

    def error_received(self, exc: Exception) -> None:
        logger.warning("StatsD socket error: %s", exc)


def bind_socket(host: str, port: int) -> socket.socket:
    """A non-blocking UDP socket on host:port (port 0: any free port), with a receive buffer for bursts."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    with suppress(OSError):  # the kernel caps it at net.core.rmem_max; the default is still usable
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
    sock.bind((host, port))
    sock.setblocking(False)
    return sock


async def open_listener(
    aggregator: Aggregator, host: str, port: int
) -> tuple[asyncio.DatagramTransport, socket.socket]:
    """Listen on host:port; returns the transport and its socket (`getsockname()` has the bound port)."""
    loop = asyncio.get_running_loop()
    sock = bind_socket(host, port)
    transport, _ = await loop.create_datagram_endpoint(lambda: StatsdProtocol(aggregator, sock), sock=sock)
    return transport, sock


def read_queued(sock: socket.socket, limit: int | None = None) -> list[bytes]:
    """The datagrams already waiting on the non-blocking socket (at most `limit`), without waiting for more."""
    packets: list[bytes] = []
    while limit is None or len(packets) < limit:
        try:
            packets.append(sock.recv(MAX_PACKET_BYTES))
        except OSError:  # BlockingIOError: nothing more queued
            break
    return packets


def drain(sock: socket.socket, aggregator: Aggregator) -> None:
    """Read what is already queued on the socket, so stopping loses no packet a client has sent."""
    aggregator.add_packets(read_queued(sock))


def flush_safely(raw_key: str, window: Window, totals: Counts) -> FlushResult:
    """flush_window on the worker thread, counted in `totals`. The key is checked again on every flush
    (a cached lookup), so revoking it or archiving its project stops the writes within seconds."""
    totals.add(window.counts)
    try:
        result = flush_window(project_for_key(raw_key), window)
        totals.points_stored += result.accepted
        return result
    except NoProject as error:
        if window.counts.lines and time.monotonic() - totals.warned_at >= LOG_EVERY_SECONDS:
            logger.warning("StatsD lines dropped: %s", error)
            totals.warned_at = time.monotonic()
        return FlushResult()
    except Exception:  # a database outage or a bug loses this window, never the listener
        logger.exception("StatsD flush failed; %s lines of this window are lost", window.counts.lines)
        return FlushResult()


def flush_on_worker(raw_key: str, window: Window, totals: Counts) -> FlushResult:
    try:
        return flush_safely(raw_key, window, totals)
    finally:
        close_old_connections()  # a broken connection (database restarted) is replaced at the next flush


async def serve(
    raw_key: str,
    host: str,
    port: int,
    flush_seconds: float,
    stop: asyncio.Event,
    aggregator: Aggregator | None = None,
) -> Counts:
    """Listen until `stop` is set, flushing every `flush_seconds` and once more at the end; returns the totals.

    Raises NoProject, before listening, when `raw_key` is not a live ingest key.
    """
    project = await asyncio.to_thread(project_for_key, raw_key)
    aggregator, totals = aggregator or Aggregator(settings.FLUX_STATSD_SIGNED_GAUGES), Counts()
    transport, sock = await open_listener(aggregator, host, port)
    logger.info("StatsD listening on udp://%s:%s for project %r", host, sock.getsockname()[1], project.slug)
    loop = asyncio.get_running_loop()
    last_log = time.monotonic()
    with ThreadPoolExecutor(1, thread_name_prefix="statsd-flush") as writer:
        try:
            while not stop.is_set():
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), flush_seconds)
                await loop.run_in_executor(writer, flush_on_worker, raw_key, aggregator.take(), totals)
                if time.monotonic() - last_log >= LOG_EVERY_SECONDS:
                    logger.info("StatsD since start: %s", totals)
                    last_log = time.monotonic()
        finally:
            drain(sock, aggregator)
            transport.close()
            await loop.run_in_executor(writer, flush_on_worker, raw_key, aggregator.take(), totals)
    return totals
