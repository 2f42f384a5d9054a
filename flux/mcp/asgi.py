"""/mcp inside Flux's ASGI application: the Streamable HTTP transport of the MCP servers. The key in the
`Authorization: Bearer` (or `X-API-Key`) header picks the server of its kind; each request stands alone
(stateless), so every request is authenticated and scoped to its key's project."""

import json
from contextlib import AsyncExitStack
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers

from flux.mcp.server import build_server, caller_from_headers

PATH = "/mcp"
KINDS = ("ingest", "read", "admin")


def transport_security() -> TransportSecuritySettings:
    """Host checks as Django's own: the hosts of ALLOWED_HOSTS, any port; none with "*"."""
    hosts = list(settings.ALLOWED_HOSTS)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection="*" not in hosts,
        allowed_hosts=[pattern for host in hosts for pattern in (host, f"{host}:*")],
        allowed_origins=[],
    )


class McpEndpoint:
    """The ASGI app serving PATH, plus the lifespan that runs the servers' session managers."""

    def __init__(self) -> None:
        self.servers: dict[str, MCPServer] = {}
        self.apps: dict[str, Any] = {}
        for kind in KINDS:
            server = build_server(kind, lambda ctx: caller_from_headers(ctx.headers))
            self.apps[kind] = server.streamable_http_app(
                streamable_http_path=PATH, stateless_http=True, json_response=True,
                transport_security=transport_security(),
            )  # fmt: skip
            self.servers[kind] = server

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        caller = await sync_to_async(caller_from_headers)(Headers(scope=scope))
        if caller is None:
            await refuse(send, 401, "not_authenticated", "Send a Flux API key: Authorization: Bearer <key>.")
            return
        await self.apps[caller.kind](scope, receive, send)

    async def lifespan(self, scope: dict, receive: Any, send: Any) -> None:
        """ASGI lifespan: the session managers run while the server does (uvicorn runs lifespans)."""
        await receive()  # lifespan.startup
        async with AsyncExitStack() as stack:
            for server in self.servers.values():
                await stack.enter_async_context(server.session_manager.run())
            await send({"type": "lifespan.startup.complete"})
            await receive()  # lifespan.shutdown
        await send({"type": "lifespan.shutdown.complete"})


async def refuse(send: Any, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="flux"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def is_mcp_path(scope: dict) -> bool:
    return scope.get("path", "").rstrip("/") == PATH
