"""Django: request timing and status codes, by route (the URL pattern, so ids in paths add no series).

    # settings.py
    MIDDLEWARE = ["flux_sdk.django.FluxMiddleware", *MIDDLEWARE]
    FLUX_KEY = "flx_ingest_..."             # or the FLUX_KEY environment variable
    FLUX_URL = "https://flux.example.com"

Records `http.server.duration_ms` (distribution) and `http.server.requests` (counter), tagged with
method, route (the URL pattern) and status code.
"""

import time
from collections.abc import Callable
from typing import Any

import flux_sdk


def client_from_settings() -> flux_sdk.Client:
    from django.conf import settings

    if flux_sdk._client is None and getattr(settings, "FLUX_KEY", None):
        return flux_sdk.init(settings.FLUX_KEY, getattr(settings, "FLUX_URL", None))
    return flux_sdk.get_client()


def route_of(request: Any) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return "/" + (match.route or match.view_name or "").lstrip("^")


class FluxMiddleware:
    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response
        self.client = client_from_settings()

    def __call__(self, request: Any) -> Any:
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed_ms = (time.perf_counter() - started) * 1000
        tags = {"method": request.method, "route": route_of(request), "status": str(response.status_code)}
        self.client.distribution("http.server.duration_ms", round(elapsed_ms, 3), tags)
        self.client.counter("http.server.requests", 1, tags)
        return response
