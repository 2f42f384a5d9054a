"""An ASGI guard that refuses oversized request bodies before Django buffers them.

Django's ASGI handler reads the whole body (to memory, then disk) before any view runs, so a view
alone cannot stop a client from uploading gigabytes. This middleware answers 413 as soon as the
declared length, or the bytes actually received, pass FLUX_MAX_BODY_BYTES.

Before answering it reads and discards the rest of the body (up to DRAIN_FACTOR times the limit): a
server that answers and closes while the client is still sending makes the client's kernel see a reset,
and clients such as requests and urllib then report ConnectionResetError instead of the 413.
"""

import json
from collections.abc import Awaitable, Callable

from django.conf import settings

Message = dict
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
# How much of an oversized body is read (and thrown away) so that the client gets to read the 413; past
# that the connection is closed, and a client still sending may see a reset instead.
DRAIN_FACTOR = 8


async def send_too_large(send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "error": {
                "code": "payload_too_large",
                "message": f"The request body is larger than {limit:,} bytes; send smaller batches.",
                "details": {"limit_bytes": limit},
            }
        }
    ).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def drain(receive: Receive, received: int, most: int) -> None:
    """Read and discard body messages until the body ends, the client leaves or `most` bytes came in all."""
    while received <= most:
        message = await receive()
        if message["type"] != "http.request":
            return
        received += len(message.get("body", b""))
        if not message.get("more_body"):
            return


class BodySizeLimitMiddleware:
    def __init__(self, app: Callable) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = settings.FLUX_MAX_BODY_BYTES
        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            if int(declared) <= limit * DRAIN_FACTOR:
                await drain(receive, 0, limit * DRAIN_FACTOR)
            await send_too_large(send, limit)
            return
        received, refused = 0, False

        async def limited_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request" and not refused:
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    if message.get("more_body"):
                        await drain(receive, received, limit * DRAIN_FACTOR)
                    await send_too_large(send, limit)
                    # Django treats a disconnect while reading as an aborted request and sends nothing.
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, limited_receive, guarded_send)
