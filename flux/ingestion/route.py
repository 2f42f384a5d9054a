"""POSTs to the ingestion endpoints: Django's own sync stack run as one call on a long-lived thread.

Django's ASGI handler gives every request a thread-sensitive context, which means a new thread per
request, and hops between the event loop and that thread around the middleware; at SDK batch rates that
is a large share of a small batch's cost (bench/ingest.py). Ingestion is sync code anyway (one
transaction, one COPY), so this route reads the body on the event loop and then runs the very same
handler Django's WSGI server would (every middleware, DRF's authentication, limits, validation and
error envelope, the same views that the OpenAPI schema describes) in a shared pool of threads. Every
other request, and every non-POST to these paths, goes to Django's ASGI handler unchanged.
"""

import asyncio
import io
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core import signals
from django.core.handlers.asgi import ASGIRequest
from django.core.handlers.base import BaseHandler
from django.http import HttpResponse

Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]
INGEST_PATHS = frozenset(
    {"/api/v1/flux/batch", "/api/v1/events", "/api/v1/events/batch", "/api/v1/metrics", "/api/v1/metrics/batch"}
)


class IngestRoute:
    def __init__(self, django_app: Callable) -> None:
        self.django_app = django_app
        self.handler: BaseHandler | None = None
        self.executor: ThreadPoolExecutor | None = None

    async def __call__(self, scope: dict, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in INGEST_PATHS:
            await self.django_app(scope, receive, send)
            return
        body = await read_body(receive)
        if body is None:  # the client left, or the body guard already answered 413
            return
        if self.executor is None:
            self.handler = BaseHandler()
            self.handler.load_middleware(is_async=False)
            # One thread per pooled database connection: more would only wait for a connection.
            threads = settings.DATABASES["default"]["OPTIONS"].get("pool", {}).get("max_size", 8)
            self.executor = ThreadPoolExecutor(threads, thread_name_prefix="flux-ingest")
        loop = asyncio.get_running_loop()
        status, headers, content = await loop.run_in_executor(self.executor, self.respond, scope, body)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    def respond(self, scope: dict, body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """What Django's handlers do around a request: the signals (they hand back the database
        connection), the middleware and view, and the rendered response."""
        signals.request_started.send(sender=self.__class__, scope=scope)
        response: HttpResponse | None = None
        try:
            request = ASGIRequest(scope, io.BytesIO(body))
            response = self.handler.get_response(request)
            if hasattr(response, "render") and callable(response.render):
                response.render()
            return response.status_code, response_headers(response), response.content
        finally:
            if response is not None:
                response.close()  # sends request_finished
            else:
                signals.request_finished.send(sender=self.__class__)


def response_headers(response: HttpResponse) -> list[tuple[bytes, bytes]]:
    headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in response.items()]
    for cookie in response.cookies.values():
        headers.append((b"set-cookie", cookie.output(header="").encode("latin-1").strip()))
    return headers


async def read_body(receive: Receive) -> bytes | None:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)
