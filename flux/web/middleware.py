"""Middleware plumbing that keeps the API path lean.

Under ASGI each classic Django middleware costs thread hand-offs on every request (its sync
process_request/process_response run via sync_to_async). API requests need none of the session,
CSRF, auth, messages or static-file middleware, so those are wrapped to step aside for /api/ paths:
measured, this took a trivial request from about 3.2 ms to 1.4 ms of CPU. Pages and the admin keep
the full stack, as do API calls from Flux's own pages (they carry the session), and tests exercise exactly
the same chain as production.
"""

from collections.abc import Callable

from asgiref.sync import async_to_sync, iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

from flux.web.errors import API_PREFIX, as_envelope, database_unavailable, envelope, is_database_outage

PAGE_CALL_HEADER = "HTTP_X_FLUX_PROJECT"  # Flux's own pages call the API with the session (flux.web.auth)
API_PAGES = {"/api/docs"}  # Swagger UI: a page, with the pages' headers


def lean(request: HttpRequest) -> bool:
    """An API request from a program: it needs none of the page middleware."""
    return (
        request.path.startswith(API_PREFIX) and PAGE_CALL_HEADER not in request.META and request.path not in API_PAGES
    )


def web_only(dotted_path: str) -> Callable:
    """A middleware factory that runs `dotted_path` for every request except lean API requests."""
    middleware_class = import_string(dotted_path)

    def factory(get_response: Callable) -> Callable:
        if iscoroutinefunction(get_response) and not getattr(middleware_class, "async_capable", False):
            # A sync-only middleware (WhiteNoise) in an async chain: adapted the way Django adapts it.
            inner = sync_to_async(middleware_class(async_to_sync(get_response)), thread_sensitive=True)
        else:
            inner = middleware_class(get_response)
        if iscoroutinefunction(get_response):

            async def middleware(request: HttpRequest) -> HttpResponse:
                if lean(request):
                    return await get_response(request)
                return await inner(request)

        else:

            def middleware(request: HttpRequest) -> HttpResponse:
                if lean(request):
                    return get_response(request)
                return inner(request)

        return middleware

    factory.sync_capable = True
    factory.async_capable = True
    return factory


def passing_responses_through(finish: Callable[[HttpRequest, HttpResponse], HttpResponse]) -> Callable:
    """A middleware (sync and async capable) that hands every response to `finish` on its way out."""

    def factory(get_response: Callable) -> Callable:
        if iscoroutinefunction(get_response):

            async def middleware(request: HttpRequest) -> HttpResponse:
                return finish(request, await get_response(request))

        else:

            def middleware(request: HttpRequest) -> HttpResponse:
                return finish(request, get_response(request))

        return middleware

    factory.sync_capable = True
    factory.async_capable = True
    return factory


def add_api_headers(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """For API responses: the Content-Length and nosniff that the skipped middleware would have set."""
    if request.path.startswith(API_PREFIX):
        if not response.streaming and not response.has_header("Content-Length"):
            response.headers["Content-Length"] = str(len(response.content))
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


api_headers = passing_responses_through(add_api_headers)


def refuse_unreadable_query(request: HttpRequest) -> HttpResponse | None:
    """A 400 for what PostgreSQL or Django would otherwise turn into a 500: a NUL character (text columns
    cannot hold one) in the path or a query parameter, or more parameters than Django parses."""
    if "\x00" in request.path:
        return envelope(400, "invalid_path", "The path contains a NUL character (%00).")
    try:
        params = request.GET
    except TooManyFieldsSent:
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return envelope(400, "too_many_parameters", f"The query string has more than {limit:,} parameters.")
    for name, values in params.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            shown = name.replace("\x00", "%00")
            return envelope(400, "invalid_parameter", f"{shown} contains a NUL character (%00).", {"parameter": shown})
    return None


class ApiGuard:
    """For /api/ requests: refuse unreadable query strings, and answer every error in the JSON envelope
    (Django's 404 page for unmatched paths included). For every request: a database outage is a 503."""

    sync_capable = async_capable = True

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if iscoroutinefunction(self):
            return self.__acall__(request)
        if request.path.startswith(API_PREFIX):
            return refuse_unreadable_query(request) or as_envelope(request, self.get_response(request))
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(API_PREFIX):
            return refuse_unreadable_query(request) or as_envelope(request, await self.get_response(request))
        return await self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return database_unavailable(request) if is_database_outage(exception) else None


security = web_only("django.middleware.security.SecurityMiddleware")
static_files = web_only("whitenoise.middleware.WhiteNoiseMiddleware")
sessions = web_only("django.contrib.sessions.middleware.SessionMiddleware")
common = web_only("django.middleware.common.CommonMiddleware")
csrf = web_only("django.middleware.csrf.CsrfViewMiddleware")
authentication = web_only("django.contrib.auth.middleware.AuthenticationMiddleware")
messages = web_only("django.contrib.messages.middleware.MessageMiddleware")
clickjacking = web_only("django.middleware.clickjacking.XFrameOptionsMiddleware")
content_security_policy = web_only("csp.middleware.CSPMiddleware")


def add_permissions_policy(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Pages may not use the camera, microphone, location, payment or USB APIs (Flux uses none)."""
    if not lean(request):
        response.headers.setdefault("Permissions-Policy", settings.FLUX_PERMISSIONS_POLICY)
    return response


permissions_policy = passing_responses_through(add_permissions_policy)
