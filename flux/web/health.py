"""Liveness and readiness probes for load balancers, compose healthchecks and `make run`."""

import redis
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse


def check_database() -> str | None:
    try:
        connection = connections[DEFAULT_DB_ALIAS]
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as error:  # noqa: BLE001 - any failure means "not ready", reported in the body
        return f"unreachable: {error}".strip()
    return f"{len(pending)} migrations not applied" if pending else None


def check_redis() -> str | None:
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
    except redis.RedisError as error:
        return f"unreachable: {error}"
    return None


def live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def ready(request: HttpRequest) -> JsonResponse:
    """503 only without the database. Without Redis, ingestion and queries go on (rate limits open, live
    updates and background work wait): a 503 then made load balancers take every web node out, turning a
    Redis outage into a full one. It is `degraded`, with 200."""
    database, redis_problem = check_database(), check_redis()
    checks = {"database": database or "ok", "redis": redis_problem or "ok"}
    if database:
        return JsonResponse({"status": "unavailable", "checks": checks}, status=503)
    return JsonResponse({"status": "degraded" if redis_problem else "ok", "checks": checks})
