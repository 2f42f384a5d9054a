"""Error answers outside DRF's handler: what the API's middleware refuses, Django's own error pages under
/api/ (unmatched paths, 405s, 500s) in the JSON envelope, and the database-down 503 for every request."""

import sys
from http import HTTPStatus
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import status

API_PREFIX = "/api/"
# Seconds a client should wait before retrying when the database cannot be reached.
DATABASE_RETRY_AFTER = 5
DATABASE_UNAVAILABLE = "The database is unavailable; retry later (retrying with the same item ids is safe)."
CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    429: "throttled",
    500: "server_error",
    503: "unavailable",
}


def envelope(status: int, code: str, message: str, details: object = None) -> JsonResponse:
    body: dict = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return JsonResponse({"error": body}, status=status)


def is_database_outage(error: BaseException | None) -> bool:
    """PostgreSQL could not be reached or went away: connecting failed, or the pool timed out waiting."""
    return isinstance(error, (OperationalError, InterfaceError))


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After: JSON under /api/, a short text page elsewhere."""
    if request.path.startswith(API_PREFIX):
        response: HttpResponse = envelope(503, "database_unavailable", DATABASE_UNAVAILABLE)
    else:
        response = HttpResponse(DATABASE_UNAVAILABLE, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(DATABASE_RETRY_AFTER)
    return response


def as_envelope(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """An error response that is not JSON (Django's 404 page, a 405, a 500) re-shaped as the API's envelope."""
    if response.status_code < 400 or response.get("Content-Type", "").startswith("application/json"):
        return response
    status = response.status_code
    message = f"No API endpoint at {request.path}." if status == 404 else HTTPStatus(status).phrase + "."
    if status == 405:
        message = f"Method {request.method} is not allowed here."
    replaced = envelope(status, CODES.get(status, "error"), message)
    for header in ("Allow", "Retry-After"):
        if response.has_header(header):
            replaced[header] = response[header]
    return replaced


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a database outage becomes a 503 with Retry-After; the rest Django's 500 (JSON under /api/)."""
    if is_database_outage(sys.exc_info()[1]):
        return database_unavailable(request)
    if request.path.startswith(API_PREFIX):
        return envelope(500, "server_error", "Internal error; it has been logged.")
    return defaults.server_error(request)


class FluxError(Exception):
    """A domain error raised by services and queries, turned into HTTP once, in
    `flux.web.api.exception_handler` (defined here, with no DRF views to import, so services of any app can
    raise it)."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid"
    retry_after: int | None = None  # seconds, sent as Retry-After

    def __init__(self, message: str, *, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code:
            self.code = code
