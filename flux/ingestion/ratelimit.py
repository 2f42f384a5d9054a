"""Per-key rate limiting for ingestion: a token bucket kept in Redis, shared by every web process."""

import logging
import time

import redis
from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from flux.tenants.models import ApiKey

logger = logging.getLogger(__name__)

# Refill by elapsed time (Redis's own clock, so web processes need not agree), then take one token.
# Returns {1, "0"} when allowed, {0, "<seconds until a token>"} when not.
TOKEN_BUCKET_LUA = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local allowed, wait = 0, (1 - tokens) / rate
if tokens >= 1 then
  tokens, allowed, wait = tokens - 1, 1, 0
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return {allowed, tostring(wait)}
"""

_client: redis.Redis | None = None
_last_failure_logged = 0.0


def redis_client() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    return _client


def take_token(key_id: int, rate: float, burst: int) -> float:
    """0 when the request may go ahead, else the seconds to wait. Fails open if Redis is unreachable."""
    global _last_failure_logged
    try:
        allowed, wait = redis_client().eval(TOKEN_BUCKET_LUA, 1, f"flux:ratelimit:key:{key_id}", rate, burst)
    except redis.RedisError as error:
        # Losing data because the limiter's store is down would be worse than not limiting for a while.
        if time.monotonic() - _last_failure_logged > 60:
            _last_failure_logged = time.monotonic()
            logger.warning("rate limiting disabled while Redis is unreachable: %s", error)
        return 0.0
    return 0.0 if int(allowed) else float(wait)


class ApiKeyRateThrottle(BaseThrottle):
    """FLUX_RATE_LIMIT_PER_SECOND requests per key, bursts up to FLUX_RATE_LIMIT_BURST; 0 disables."""

    def allow_request(self, request: Request, view: object) -> bool:
        self.wait_seconds = 0.0
        rate = settings.FLUX_RATE_LIMIT_PER_SECOND
        if rate <= 0 or not isinstance(request.auth, ApiKey):
            return True
        self.wait_seconds = take_token(request.auth.pk, rate, max(1, settings.FLUX_RATE_LIMIT_BURST))
        return self.wait_seconds == 0

    def wait(self) -> float:
        return self.wait_seconds
