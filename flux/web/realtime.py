"""The only code that touches the channel layer: what happened in a project, told to whoever listens.

Every message has one generic type, `flux.message`, with the payload inside: `{"kind": "data", "events":
[names], "metrics": [names]}` when data arrived (later kinds, such as anomalies, add their own).
Sends never fail the caller: a live view that misses a message catches up on its next load.
"""

import asyncio
import logging
import threading
from collections.abc import Callable, Iterable

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from flux.web.deferred import DeferredBatches
from flux.web.redis_store import report_unavailable

logger = logging.getLogger(__name__)
MESSAGE_TYPE = "flux.message"
# How long ingestion's news waits to be sent together with other requests' (live views tolerate that).
ARRIVALS_INTERVAL_SECONDS = 0.25
thread_loops = threading.local()


def project_group(project_id: int) -> str:
    return f"project-{project_id}"


def data_arrived(project_id: int, event_names: Iterable[str], metric_names: Iterable[str]) -> None:
    """Tell the project's live views which event and metric names just got data (call after commit)."""
    events, metrics = sorted(set(event_names)), sorted(set(metric_names))
    if events or metrics:
        publish(project_id, {"kind": "data", "events": events, "metrics": metrics})


def data_arrived_soon(project_id: int, event_names: Iterable[str], metric_names: Iterable[str]) -> None:
    """`data_arrived`, sent from a background thread a moment later together with other requests' names:
    what ingestion calls after its commit, so that no request waits on the channel layer."""
    arrivals.add((project_id, frozenset(event_names), frozenset(metric_names)))


def publish_arrivals(entries: list[tuple[int, frozenset, frozenset]]) -> None:
    """One `data` message per project for everything that arrived since the last batch."""
    names: dict[int, tuple[set, set]] = {}
    for project_id, events, metrics in entries:
        project_events, project_metrics = names.setdefault(project_id, (set(), set()))
        project_events |= events
        project_metrics |= metrics
    messages = [
        (project_id, {"kind": "data", "events": sorted(events), "metrics": sorted(metrics)})
        for project_id, (events, metrics) in names.items()
        if events or metrics
    ]

    async def send_all() -> None:
        layer = get_channel_layer()
        for project_id, payload in messages:
            await layer.group_send(project_group(project_id), {"type": MESSAGE_TYPE, "payload": payload})

    if messages:
        guarded(lambda: thread_event_loop().run_until_complete(send_all()), "live updates")


def thread_event_loop() -> asyncio.AbstractEventLoop:
    """This thread's own event loop, kept between batches so the channel layer keeps its connections."""
    loop = getattr(thread_loops, "loop", None)
    if loop is None:
        loop = thread_loops.loop = asyncio.new_event_loop()
    return loop


arrivals: DeferredBatches[tuple[int, frozenset, frozenset]] = DeferredBatches(
    "live-updates", publish_arrivals, ARRIVALS_INTERVAL_SECONDS
)


def publish(project_id: int, payload: dict) -> None:
    send = async_to_sync(get_channel_layer().group_send)
    guarded(
        lambda: send(project_group(project_id), {"type": MESSAGE_TYPE, "payload": payload}), f"project {project_id}"
    )


def guarded(send: Callable[[], None], destination: object) -> None:
    try:
        send()
    except (redis.RedisError, OSError) as error:  # Redis is down: said once a minute, not per request
        report_unavailable(error)
    except Exception:
        logger.warning("could not publish to %s", destination, exc_info=True)
