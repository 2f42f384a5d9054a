"""A shared dashboard's data is computed at most once at a time per project and kept a short while.

The link is public (a TV screen, a status page): whoever holds it can ask as often as they like, with no
key to throttle. Each computation is every widget's queries over the dashboard's range (60 widgets of five
queries, twice with a comparison: 15 s on 200k events), and sixteen at once held every database connection
of a web process for over a minute, so other projects' reads and ingestion answered 503. Now a request is
answered from the cached answer while it is fresh (FLUX_SHARED_DATA_SECONDS); the one that finds none
computes it under the project's lock; any other meanwhile is told to retry in a moment (429), holding no
connection while it waits. Redis down: computed directly (fail open, as every Redis use).
"""

import hashlib
import json
import secrets
from collections.abc import Callable

import redis
from django.conf import settings
from rest_framework.utils.encoders import JSONEncoder

from dashboards.models import Dashboard
from flux.web.errors import FluxError
from flux.web.redis_store import redis_client, redis_key, report_unavailable

LOCK_SECONDS = 120  # longer than any computation (16 s for 60 heavy widgets); a killed one frees it after this
RETRY_SECONDS = 2
RELEASE_LUA = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


def version_of(dashboard: Dashboard) -> str:
    """What the cached answer was computed from: a widget deleted or changed, or the dashboard's settings,
    make another key (a deleted widget's data was still answered for up to 30 s)."""
    widgets = sorted((pk, stamp.timestamp()) for pk, stamp in dashboard.widgets.values_list("pk", "updated_at"))
    seen = repr((dashboard.updated_at.timestamp(), widgets)).encode()
    return hashlib.sha256(seen).hexdigest()[:16]


def as_json(data: dict) -> bytes:
    return json.dumps(data, cls=JSONEncoder, separators=(",", ":")).encode()


class SharedDataBusy(FluxError):
    status_code = 429
    code = "busy"
    retry_after = RETRY_SECONDS


def cached_shared_data(dashboard: Dashboard, compute: Callable[[], dict]) -> bytes:
    """The dashboard's shared data as JSON: cached, or computed now if no other computation of its project runs.
    Kept and answered as the JSON text itself: decoding and encoding a heavy dashboard's 3 MB at every request
    slowed other projects to seconds under a burst of cached answers."""
    seconds = settings.FLUX_SHARED_DATA_SECONDS
    if seconds <= 0:
        return as_json(compute())
    answer_key = redis_key("shared-data", dashboard.pk, version_of(dashboard))
    lock_key = redis_key("shared-data-lock", dashboard.project_id)
    token = secrets.token_hex(8)
    try:
        client = redis_client()
        if (cached := client.get(answer_key)) is not None:
            return cached
        if not client.set(lock_key, token, nx=True, ex=LOCK_SECONDS):
            raise SharedDataBusy("This project's shared data is being prepared; retry in a moment.")
    except redis.RedisError as error:
        report_unavailable(error)
        return as_json(compute())
    try:
        body = as_json(compute())
        client.set(answer_key, body, ex=seconds)
        return body
    finally:
        try:
            client.eval(RELEASE_LUA, 1, lock_key, token)
        except redis.RedisError as error:
            report_unavailable(error)
