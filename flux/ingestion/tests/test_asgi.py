"""The ASGI body guard, driven with raw ASGI messages, and behind a real uvicorn with ordinary clients."""

import asyncio
import json
import urllib.error
import urllib.request

import pytest
import requests

from flux.ingestion.asgi import BodySizeLimitMiddleware
from flux.tenants.models import Project
from flux.tenants.services import issue_key


async def echo_length_app(scope: dict, receive: object, send: object) -> None:
    """Reads the whole body like Django does, then answers with its length."""
    length = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        length += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(length).encode()})


def call(app: object, chunks: list[bytes], headers: list | None = None) -> list[dict]:
    scope = {"type": "http", "method": "POST", "path": "/api/v1/events", "headers": headers or []}
    messages = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1} for i, chunk in enumerate(chunks)
    ]
    sent: list[dict] = []

    async def receive() -> dict:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def test_a_declared_length_over_the_limit_is_refused_before_reading(settings: object) -> None:
    settings.FLUX_MAX_BODY_BYTES = 100
    sent = call(BodySizeLimitMiddleware(echo_length_app), [b"x" * 10], headers=[(b"content-length", b"101")])
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["error"]["code"] == "payload_too_large"


def test_a_streamed_body_is_cut_off_once_it_passes_the_limit(settings: object) -> None:
    settings.FLUX_MAX_BODY_BYTES = 100
    sent = call(BodySizeLimitMiddleware(echo_length_app), [b"x" * 60, b"x" * 60, b"x" * 60])
    assert [message.get("status") for message in sent if message["type"] == "http.response.start"] == [413]
    assert len(sent) == 2  # the app's own response never goes out


def test_bodies_within_the_limit_pass_through(settings: object) -> None:
    settings.FLUX_MAX_BODY_BYTES = 100
    sent = call(BodySizeLimitMiddleware(echo_length_app), [b"x" * 50, b"x" * 50], headers=[(b"content-length", b"100")])
    assert (sent[0]["status"], sent[1]["body"]) == (200, b"100")


def test_the_real_asgi_application_has_the_guard(settings: object) -> None:
    from flux.asgi import application

    settings.FLUX_MAX_BODY_BYTES = 10
    sent = call(application, [b"{}"], headers=[(b"content-length", b"5000000"), (b"host", b"localhost")])
    assert sent[0]["status"] == 413


def test_the_rest_of_an_oversized_body_is_read_before_the_413(settings: object) -> None:
    settings.FLUX_MAX_BODY_BYTES = 100
    chunks = [b"x" * 60] * 5
    consumed: list[int] = []

    scope = {"type": "http", "method": "POST", "path": "/api/v1/events", "headers": []}
    messages = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1} for i, chunk in enumerate(chunks)
    ]
    sent: list[tuple[str, int]] = []

    async def receive() -> dict:
        consumed.append(1)
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append((message["type"], len(consumed)))

    asyncio.run(BodySizeLimitMiddleware(echo_length_app)(scope, receive, send))
    assert sent[0] == ("http.response.start", 5)  # all five chunks read before the answer started


def test_a_declared_oversized_body_is_read_before_the_413(settings: object) -> None:
    settings.FLUX_MAX_BODY_BYTES = 100
    scope = {"type": "http", "method": "POST", "path": "/api/v1/events", "headers": [(b"content-length", b"300")]}
    messages = [{"type": "http.request", "body": b"x" * 100, "more_body": i < 2} for i in range(3)]
    order: list[str] = []

    async def receive() -> dict:
        order.append("read")
        return messages.pop(0)

    async def send(message: dict) -> None:
        order.append(message["type"])

    asyncio.run(BodySizeLimitMiddleware(echo_length_app)(scope, receive, send))
    assert order == ["read", "read", "read", "http.response.start", "http.response.body"]


@pytest.mark.e2e
def test_requests_and_urllib_clients_read_the_413_from_a_real_server(live_flux: str, project: Project) -> None:
    key = issue_key(project, "ingest").raw_key
    body = b'{"events": [' + b'{"name": "x"},' * 600_000 + b'{"name": "x"}]}'  # ~8 MB, past the 5 MB limit
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    answer = requests.post(f"{live_flux}/api/v1/flux/batch", data=body, headers=headers, timeout=60)
    assert (answer.status_code, answer.json()["error"]["code"]) == (413, "payload_too_large")

    request = urllib.request.Request(f"{live_flux}/api/v1/flux/batch", data=body, headers=headers)  # noqa: S310
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=60)  # noqa: S310 - our own server
    assert refused.value.code == 413
