"""A shared dashboard's data is computed at most once at a time per project and kept a short while.

The link is public (a TV screen, a status page): whoever holds it can ask as often as they like, with no
key to throttle. Each computation is every widget's queries over the dashboard's range (60 widgets of five
queries, twice with a comparison: 15 s on 200k events), and sixteen at once held every database connection
of a web process for over a minute, so other projects' reads and ingestion answered 503. Now a request is
answered from the cached answer while it is fresh (FLUX_SHARED_DATA_SECONDS); the one that finds none
computes it under the project's lock; any other meanwhile is told to retry in a moment (429), holding no
connection while it waits. Redis down: computed directly (fail open, as every Redis use).
"""

import json
import secrets
from collections.abc import Callable

import redis
from django.conf import settings
from rest_framework.utils.encoders import JSONEncoder

from dashboards.models import Dashboard
from flux.web.errors import FluxError
from flux.web.redis_store import redis_client, redis_key, report_unavailable

LOCK_SECONDS = 300  # longer than any computation; a crashed one frees the project after it
RETRY_SECONDS = 2
RELEASE_LUA = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


class SharedDataBusy(FluxError):
    status_code = 429
    code = "busy"
    retry_after = RETRY_SECONDS


def cached_shared_data(dashboard: Dashboard, compute: Callable[[], dict]) -> dict:
    """The dashboard's shared data: cached, or computed now if no other computation of its project runs."""
    seconds = settings.FLUX_SHARED_DATA_SECONDS
    if seconds <= 0:
        return compute()
    answer_key, lock_key = redis_key("shared-data", dashboard.pk), redis_key("shared-data-lock", dashboard.project_id)
    token = secrets.token_hex(8)
    try:
        client = redis_client()
        if (cached := client.get(answer_key)) is not None:
            return json.loads(cached)
        if not client.set(lock_key, token, nx=True, ex=LOCK_SECONDS):
            raise SharedDataBusy("This project's shared data is being prepared; retry in a moment.")
    except redis.RedisError as error:
        report_unavailable(error)
        return compute()
    try:
        data = json.loads(json.dumps(compute(), cls=JSONEncoder))
        client.set(answer_key, json.dumps(data), ex=seconds)
        return data
    finally:
        try:
            client.eval(RELEASE_LUA, 1, lock_key, token)
        except redis.RedisError as error:
            report_unavailable(error)
