"""An ASGI guard that refuses oversized request bodies before Django buffers them.

Django's ASGI handler reads the whole body (to memory, then disk) before any view runs, so a view
alone cannot stop a client from uploading gigabytes. This middleware answers 413 as soon as the
declared length, or the bytes actually received, pass FLUX_MAX_BODY_BYTES.
"""

import json
from collections.abc import Awaitable, Callable

from django.conf import settings

Message = dict
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


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
                    await send_too_large(send, limit)
                    # Django treats a disconnect while reading as an aborted request and sends nothing.
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, limited_receive, guarded_send)
