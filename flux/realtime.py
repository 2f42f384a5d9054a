"""The only code that touches the channel layer: what happened in a project, told to whoever listens.

Every message has one generic type, `flux.message`, with the payload inside: `{"kind": "data", "events":
[names], "metrics": [names]}` when data arrived (later kinds, such as anomalies, add their own).
Sends never fail the caller: a live view that misses a message catches up on its next load.
"""

import logging
from collections.abc import Iterable

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from flux.redis_store import report_unavailable

logger = logging.getLogger(__name__)
MESSAGE_TYPE = "flux.message"


def project_group(project_id: int) -> str:
    return f"project-{project_id}"


def data_arrived(project_id: int, event_names: Iterable[str], metric_names: Iterable[str]) -> None:
    """Tell the project's live views which event and metric names just got data (call after commit)."""
    events, metrics = sorted(set(event_names)), sorted(set(metric_names))
    if events or metrics:
        publish(project_id, {"kind": "data", "events": events, "metrics": metrics})


def publish(project_id: int, payload: dict) -> None:
    try:
        async_to_sync(get_channel_layer().group_send)(
            project_group(project_id), {"type": MESSAGE_TYPE, "payload": payload}
        )
    except (redis.RedisError, OSError) as error:  # Redis is down: said once a minute, not per request
        report_unavailable(error)
    except Exception:
        logger.warning("could not publish to project %s", project_id, exc_info=True)
