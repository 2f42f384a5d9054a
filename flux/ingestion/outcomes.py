"""Ingestion health: how many items each project had accepted and rejected per minute, the last
rejections with their reasons, and when data last arrived. Kept in Redis (counters are cheap there and
need no row locks on the hot path); losing them loses only this view, never data, so every call
fails open.
"""

import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

import redis

from flux.web.deferred import DeferredBatches
from flux.web.redis_store import redis_client, redis_key, report_unavailable

COUNTER_TTL_SECONDS = 2 * 86400
REJECTIONS_KEPT = 20
REJECTIONS_TTL_SECONDS = 7 * 86400
# How long outcomes wait to share a Redis round trip with other requests' outcomes.
FLUSH_INTERVAL_SECONDS = 0.5
COUNTERS = ("accepted", "duplicates", "rejected_items", "rejected_requests")


def minute_key(project_id: int, minute: int) -> str:
    return redis_key("ingest", project_id, "m", minute)


def rejections_key(project_id: int) -> str:
    return redis_key("ingest", project_id, "rejections")


def last_received_key(project_id: int) -> str:
    return redis_key("ingest", project_id, "last")


@dataclass
class Outcome:
    project_id: int
    at: float
    counts: dict[str, int]
    samples: list[dict]


def record(project_id: int, accepted: int, duplicates: int, rejected: list[dict], request_error: str | None) -> None:
    """Count one ingestion request's outcome; `rejected` are the per-item rejections of its answer.

    Written to Redis shortly after, together with other requests' outcomes (see flux.web.deferred).
    """
    now = time.time()
    counts = {
        "accepted": accepted, "duplicates": duplicates, "rejected_items": len(rejected),
        "rejected_requests": 1 if request_error else 0,
    }  # fmt: skip
    samples = [
        {"at": now, "kind": item["kind"], "index": item["index"], "errors": item["errors"]}
        for item in rejected[-REJECTIONS_KEPT:]
    ]
    if request_error:
        samples.append({"at": now, "kind": "request", "index": None, "errors": [request_error]})
    pending.add(Outcome(project_id, now, counts, samples))


def write_outcomes(outcomes: list[Outcome]) -> None:
    """Many requests' outcomes in one Redis round trip: counters summed per project and minute."""
    counters: dict[str, Counter] = defaultdict(Counter)
    samples: dict[int, list[str]] = defaultdict(list)
    last_received: dict[int, float] = {}
    for outcome in outcomes:
        counters[minute_key(outcome.project_id, int(outcome.at // 60))].update(outcome.counts)
        samples[outcome.project_id].extend(json.dumps(sample) for sample in outcome.samples)
        if outcome.counts["accepted"]:
            last_received[outcome.project_id] = outcome.at
    try:
        pipe = redis_client().pipeline(transaction=False)
        for key, counts in counters.items():
            for counter, amount in counts.items():
                if amount:
                    pipe.hincrby(key, counter, amount)
            pipe.expire(key, COUNTER_TTL_SECONDS)
        for project_id, texts in samples.items():
            if texts:
                pipe.lpush(rejections_key(project_id), *texts[-REJECTIONS_KEPT:])
                pipe.ltrim(rejections_key(project_id), 0, REJECTIONS_KEPT - 1)
                pipe.expire(rejections_key(project_id), REJECTIONS_TTL_SECONDS)
        for project_id, at in last_received.items():
            pipe.set(last_received_key(project_id), at)
        pipe.execute()
    except redis.RedisError as error:
        report_unavailable(error)


pending: DeferredBatches[Outcome] = DeferredBatches("ingest-outcomes", write_outcomes, FLUSH_INTERVAL_SECONDS)


def mark_received(project_id: int) -> None:
    """Data reached the project outside the ingest endpoints (seed_demo's bulk load): it counts as received."""
    try:
        redis_client().set(last_received_key(project_id), time.time())
    except redis.RedisError as error:
        report_unavailable(error)


@dataclass
class Health:
    last_hour: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    last_received_at: datetime | None = None
    recent_rejections: list[dict] = field(default_factory=list)
    available: bool = True


def health(project_id: int, now: float | None = None) -> Health:
    """Totals of the last 60 minutes (this one included), the last rejections newest first, last arrival."""
    pending.flush_now()  # this process's latest outcomes, so a client reads what it just caused
    now = time.time() if now is None else now
    minute = int(now // 60)
    result = Health()
    try:
        pipe = redis_client().pipeline(transaction=False)
        for offset in range(60):
            pipe.hgetall(minute_key(project_id, minute - offset))
        pipe.lrange(rejections_key(project_id), 0, REJECTIONS_KEPT - 1)
        pipe.get(last_received_key(project_id))
        *minutes, rejections, last = pipe.execute()
    except redis.RedisError as error:
        report_unavailable(error)
        result.available = False
        return result
    for counters in minutes:
        for name, amount in counters.items():
            result.last_hour[name.decode()] += int(amount)
    result.recent_rejections = [rejection_json(json.loads(raw)) for raw in rejections]
    if last is not None:
        result.last_received_at = datetime.fromtimestamp(float(last), tz=UTC)
    return result


def rejection_json(sample: dict) -> dict:
    return {**sample, "at": datetime.fromtimestamp(sample["at"], tz=UTC).isoformat().replace("+00:00", "Z")}


def record_unreadable_lines(project_id: int, source: str, count: int, examples: list[str]) -> None:
    """Count lines of a line protocol (StatsD) that could not be read, keeping a few of their reasons."""
    if count <= 0:
        return
    now = time.time()
    samples = [json.dumps({"at": now, "kind": source, "index": None, "errors": [example]}) for example in examples]
    try:
        pipe = redis_client().pipeline(transaction=False)
        key = minute_key(project_id, int(now // 60))
        pipe.hincrby(key, "rejected_items", count)
        pipe.expire(key, COUNTER_TTL_SECONDS)
        if samples:
            pipe.lpush(rejections_key(project_id), *samples[-REJECTIONS_KEPT:])
            pipe.ltrim(rejections_key(project_id), 0, REJECTIONS_KEPT - 1)
            pipe.expire(rejections_key(project_id), REJECTIONS_TTL_SECONDS)
        pipe.execute()
    except redis.RedisError as error:
        report_unavailable(error)
