"""The ASGI application: Django for HTTP, Channels for websockets, the MCP servers at /mcp. Run with
uvicorn (it runs the ASGI lifespan the MCP servers need)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flux.settings")
# Django must be set up before anything imports models (the websocket routes do).
django_http = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from flux.ingestion.asgi import BodySizeLimitMiddleware  # noqa: E402
from flux.ingestion.route import IngestRoute  # noqa: E402
from flux.mcp.asgi import McpEndpoint, is_mcp_path  # noqa: E402
from flux.routing import websocket_urlpatterns  # noqa: E402

mcp = McpEndpoint()
web = BodySizeLimitMiddleware(IngestRoute(django_http))


async def http(scope: dict, receive: object, send: object) -> None:
    """/mcp goes to the MCP servers (Streamable HTTP), everything else to Django."""
    await (mcp if is_mcp_path(scope) else web)(scope, receive, send)


application = ProtocolTypeRouter(
    {
        "http": http,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
        "lifespan": mcp.lifespan,  # uvicorn runs it; the MCP session managers live as long as the server
    }
)
