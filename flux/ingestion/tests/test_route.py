"""The ingestion route: POSTs to the ingest paths run Django's whole sync stack on a shared thread pool.

Driven with raw ASGI messages through the real ASGI application; the route's threads use their own
database connections, hence `transactional_db`.
"""

import asyncio
import json

import pytest

from events.tests.factories import stored_events
from flux.tenants.models import Project


def asgi_request(method: str, path: str, body: bytes, key: str | None) -> tuple[int, dict, bytes]:
    from flux.asgi import application

    headers = [(b"host", b"testserver"), (b"content-type", b"application/json")]
    if key:
        headers.append((b"authorization", f"Bearer {key}".encode()))
    scope = {
        "type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": b"",
        "headers": headers, "http_version": "1.1", "scheme": "http", "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000), "root_path": "",
    }  # fmt: skip
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict] = []

    async def receive() -> dict:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)  # the client waits for its answer
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(application(scope, receive, send))
    start, *bodies = sent
    headers_sent = {name.decode().lower(): value.decode() for name, value in start["headers"]}
    return start["status"], headers_sent, b"".join(message.get("body", b"") for message in bodies)


def batch(*names: str) -> bytes:
    return json.dumps({"events": [{"name": name, "tags": {"plan": "pro"}} for name in names]}).encode()


@pytest.mark.usefixtures("transactional_db")
def test_a_batch_through_the_route_is_acknowledged_after_it_is_stored(project: Project, keys: dict) -> None:
    status, headers, body = asgi_request("POST", "/api/v1/flux/batch", batch("signup", "login"), keys["ingest"])
    assert (status, json.loads(body)) == (202, {"accepted": 2, "duplicates": 0, "rejected": []})
    assert headers["content-type"] == "application/json"
    assert [(event["name"], event["tags"]) for event in stored_events(project)] == [
        ("signup", {"plan": "pro"}), ("login", {"plan": "pro"})
    ]  # fmt: skip


@pytest.mark.usefixtures("transactional_db")
def test_the_route_answers_a_bad_key_with_the_api_error_envelope(project: Project) -> None:
    status, headers, body = asgi_request("POST", "/api/v1/events/batch", batch("signup"), "flx_ingest_" + "a" * 40)
    assert (status, json.loads(body)["error"]["message"]) == (401, "Invalid API key.")
    assert headers["www-authenticate"] == 'Bearer realm="flux"'
    assert stored_events(project) == []


@pytest.mark.usefixtures("transactional_db")
def test_reads_on_an_ingest_path_still_go_through_django(project: Project, keys: dict) -> None:
    status, _, body = asgi_request("GET", "/api/v1/events", b"", keys["read"])
    assert (status, json.loads(body)["events"]) == (200, [])
