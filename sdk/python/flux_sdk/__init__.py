"""Flux's Python SDK: `flux_sdk.init(key, url)` once, then `flux_sdk.track(...)`, `gauge`, `counter`,
`distribution` and `set` anywhere. Standard library only."""

import os
from typing import Any

from flux_sdk.client import Client, Stats

__all__ = [
    "Client",
    "Stats",
    "close",
    "counter",
    "distribution",
    "flush",
    "gauge",
    "get_client",
    "init",
    "set",
    "track",
]
__version__ = "0.1.0"

_client: Client | None = None


def init(key: str | None = None, url: str | None = None, **options: Any) -> Client:
    """Create the module-level client (key and url default to FLUX_KEY and FLUX_URL) and return it."""
    global _client
    if _client is not None:
        _client.close()
    _client = Client(key or os.environ.get("FLUX_KEY", ""), url or os.environ.get("FLUX_URL", "http://127.0.0.1:8000"),
                     **options)  # fmt: skip
    return _client


def get_client() -> Client:
    """The module-level client; created from FLUX_KEY/FLUX_URL on first use when init() was not called."""
    if _client is None:
        if not os.environ.get("FLUX_KEY"):
            raise RuntimeError("call flux_sdk.init(key, url) first (or set FLUX_KEY and FLUX_URL)")
        return init()
    return _client


def track(name: str, properties: dict | None = None, tags: dict | None = None, user_id: str | None = None,
          value: float | None = None, **fields: Any) -> None:  # fmt: skip
    get_client().track(name, properties, tags, user_id, value, **fields)


def gauge(name: str, value: float, tags: dict | None = None, **options: Any) -> None:
    get_client().gauge(name, value, tags, **options)


def counter(name: str, value: float = 1, tags: dict | None = None, **options: Any) -> None:
    get_client().counter(name, value, tags, **options)


def distribution(name: str, value: float, tags: dict | None = None, **options: Any) -> None:
    get_client().distribution(name, value, tags, **options)


def set(name: str, member: Any, tags: dict | None = None, **options: Any) -> None:
    get_client().set(name, member, tags, **options)


def flush(timeout: float | None = None) -> bool:
    return get_client().flush(timeout)


def close(timeout: float | None = None) -> None:
    if _client is not None:
        _client.close(timeout)
