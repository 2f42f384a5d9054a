"""Typed readers of environment variables, and the database settings from DATABASE_URL."""

import os
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int, minimum: int = 0) -> int:
    """Every number Flux reads is a count, a size or a duration: a negative one is a mistake, refused at start
    (FLUX_ROLLUP_DAY_DAYS=-1 deleted every day rollup)."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be {minimum} or more, got {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def pool_options() -> dict:
    # A short wait for a connection: with PostgreSQL down a request answers 503 (Retry-After) within
    # seconds instead of holding the client; connect_timeout bounds a connection attempt that hangs.
    connect = {"connect_timeout": env_int("DATABASE_CONNECT_TIMEOUT", 3)}
    max_size = env_int("DATABASE_POOL_MAX_SIZE", 8, minimum=1)
    if max_size <= 0:
        return connect
    return {"pool": {"min_size": 1, "max_size": max_size, "timeout": env_int("DATABASE_POOL_TIMEOUT", 3)}, **connect}


def database_from_url(url: str) -> dict:
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise ImproperlyConfigured(f"DATABASE_URL must be a postgres:// URL, got scheme {parts.scheme!r}")
    options = dict(parse_qsl(parts.query))
    host = parts.hostname or options.pop("host", "")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")) or "flux",
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": host,
        "PORT": str(parts.port or ""),
        "OPTIONS": {**pool_options(), **options},
        # Under ASGI each request may run on a new thread, so Django's per-thread persistent connections
        # would pile up; a psycopg pool per process is the supported way to reuse connections.
        "CONN_MAX_AGE": 0,
        "TEST": {"NAME": env_str("DATABASE_TEST_NAME", "") or None},
    }
