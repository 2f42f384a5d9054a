"""Rate limits kept in Redis token buckets, shared by every web process.

Ingestion is limited in items per project (an app's processes share one bucket, and a batch of 100
costs 100), so a normal app's burst is absorbed by a large bucket; reads and admin calls are limited
in requests per key. Both fail open when Redis is unreachable: losing data would be worse.
"""

import redis
from django.conf import settings
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from flux.tenants.models import ApiKey
from flux.web.redis_store import redis_client, redis_key, report_unavailable

# Refill by elapsed time (Redis's own clock, so web processes need not agree), then take `cost` tokens.
# Returns {1, "0"} when allowed, {0, "<seconds until enough tokens>"} when not. One round trip.
BUCKET_SCRIPT_LUA = """
local rate, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local allowed, wait = 0, (cost - tokens) / rate
if tokens >= cost then
  tokens, allowed, wait = tokens - cost, 1, 0
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return {allowed, tostring(wait)}
"""


def take_tokens(bucket: str, rate: float, burst: float, cost: int) -> float:
    """0 when `cost` tokens were taken from `bucket`, else the seconds until there are enough."""
    cost = max(1, min(cost, int(burst)))  # a request larger than the bucket waits for a full bucket
    try:
        allowed, wait = redis_client().eval(BUCKET_SCRIPT_LUA, 1, redis_key("ratelimit", bucket), rate, burst, cost)
    except redis.RedisError as error:
        report_unavailable(error)
        return 0.0
    return 0.0 if int(allowed) else float(wait)


def check_ingest_rate(project_id: int, items: int) -> None:
    """Raise Throttled when the project has sent more than FLUX_INGEST_ITEMS_PER_SECOND (bursts allowed)."""
    rate = settings.FLUX_INGEST_ITEMS_PER_SECOND
    if rate <= 0:
        return
    burst = max(1, settings.FLUX_INGEST_BURST_ITEMS)
    wait = take_tokens(f"ingest:{project_id}", rate, burst, items)
    if wait:
        raise Throttled(
            wait,
            f"This project sent more than {rate:,} items per second (bursts up to {burst:,}); wait Retry-After "
            "seconds, then send the same items with the same ids.",
        )


def check_annotation_rate(project_id: int) -> None:
    """Raise Throttled past FLUX_ANNOTATIONS_PER_HOUR new annotations per project (a burst of that many). An
    ingest key may create them, and one used in a web page's snippet is public: every graph of the project
    draws them, so a stranger could flood them. CI marks a deploy now and then, never hundreds an hour."""
    per_hour = settings.FLUX_ANNOTATIONS_PER_HOUR
    if per_hour <= 0:
        return
    wait = take_tokens(f"annotations:{project_id}", per_hour / 3600, per_hour, 1)
    if wait:
        message = f"This project created {per_hour:,} annotations within the last hour; wait Retry-After seconds."
        raise Throttled(wait, message)


class ReadRateThrottle(BaseThrottle):
    """FLUX_READ_REQUESTS_PER_SECOND API calls per key, bursts up to FLUX_READ_BURST_REQUESTS; 0 disables.

    Applies to requests made with an API key (the browser's session requests are not limited).
    """

    def allow_request(self, request: Request, view: object) -> bool:
        self.wait_seconds = 0.0
        rate = settings.FLUX_READ_REQUESTS_PER_SECOND
        if rate <= 0 or not isinstance(request.auth, ApiKey):
            return True
        burst = max(1, settings.FLUX_READ_BURST_REQUESTS)
        self.wait_seconds = take_tokens(f"read:{request.auth.pk}", rate, burst, 1)
        return self.wait_seconds == 0

    def wait(self) -> float:
        return self.wait_seconds
