"""Calls to Flux's REST API from inside the process, as a given key: the MCP tools' one way to read and
write, so that an assistant gets exactly what the API gives (validation and error messages included)."""

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from django.db import connection
from django.urls import Resolver404, resolve
from mcp.server.mcpserver.exceptions import ToolError
from rest_framework.test import APIRequestFactory, force_authenticate

from flux.tenants.models import ApiKey, Project
from flux.web.auth import KeyPrincipal
from flux.web.middleware import refuse_unreadable_query

factory = APIRequestFactory()


@dataclass(frozen=True)
class Caller:
    """Who the tools act for: a project, the key kind's rights, and the key (or grant) itself."""

    project: Project
    kind: str
    credential: object  # an ApiKey, or a flux.web.auth.SessionGrant for a local stdio session

    @classmethod
    def for_key(cls, api_key: ApiKey) -> "Caller":
        return cls(api_key.project, api_key.kind, api_key)


def call(caller: Caller, method: str, path: str, params: dict | None = None, body: Any = None) -> Any:
    """The API's JSON answer; an error answer becomes a ToolError with the API's own message."""
    try:
        return answer_of(caller, method, path, params, body)
    finally:
        # Back to the pool: tool calls run in worker threads that outlive any one request, and each kept its
        # connection; seven calls at once took a pool of eight for good (every request of the process 503).
        connection.close()


def answer_of(caller: Caller, method: str, path: str, params: dict | None, body: Any) -> Any:
    params = {key: value for key, value in (params or {}).items() if value is not None and value != ""}
    address = quote(path)  # a name with "#", "?" or "%" (valid in names) stays in the path
    if method == "GET":
        request = factory.get(address, params)
    else:
        request = getattr(factory, method.lower())(
            address, data=json.dumps(body or {}), content_type="application/json"
        )
    force_authenticate(request, user=KeyPrincipal(project=caller.project, kind=caller.kind), token=caller.credential)
    try:
        match = resolve(path)
    except Resolver404:  # an argument such as a negative id or a reference with a slash: the API's own 404
        raise ToolError(f"No API endpoint at {path}.") from None
    # Over HTTP the ApiGuard middleware refuses what PostgreSQL cannot read (a NUL character); this call skips it.
    response = refuse_unreadable_query(request) or match.func(request, *match.args, **match.kwargs)
    if hasattr(response, "render"):
        response.render()
    data = json.loads(response.content) if response.content else None
    if response.status_code >= 400:
        error = (data or {}).get("error", {}) if isinstance(data, dict) else {}
        message = error.get("message") or f"HTTP {response.status_code}"
        details = error.get("details")
        raise ToolError(f"{message} {json.dumps(details)}" if details else message)
    return data
