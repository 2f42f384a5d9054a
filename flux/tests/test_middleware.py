"""API requests skip the page-only middleware; pages keep it."""

import asyncio
import json

import pytest
from asgiref.testing import ApplicationCommunicator

from flux.asgi import application
from flux.tenants.models import Project


def test_api_responses_get_length_and_nosniff_but_no_page_headers(api: type, keys: dict) -> None:
    response = api(keys["read"]).get("/api/v1/project")
    assert response["Content-Length"] == str(len(response.content))
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "X-Frame-Options" not in response  # clickjacking middleware skipped
    assert "Cookie" not in response.get("Vary", "")  # sessions skipped
    assert not response.cookies


def test_pages_keep_the_full_middleware_stack(client: object, db: None) -> None:
    response = client.get("/admin/login/")
    assert response["X-Frame-Options"] == "DENY"
    assert "csrftoken" in response.cookies


@pytest.mark.django_db(transaction=True)
def test_ingestion_through_the_real_asgi_application(project: Project, keys: dict) -> None:
    body = json.dumps({"events": [{"name": "via.asgi"}], "metrics": []}).encode()
    headers = [
        (b"host", b"127.0.0.1"),
        (b"authorization", f"Bearer {keys['ingest']}".encode()),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    scope = {"type": "http", "method": "POST", "path": "/api/v1/flux/batch", "query_string": b"", "headers": headers}

    async def exchange() -> tuple[dict, dict]:
        communicator = ApplicationCommunicator(application, scope)
        await communicator.send_input({"type": "http.request", "body": body})
        return await communicator.receive_output(10), await communicator.receive_output(10)

    start, body_message = asyncio.run(exchange())
    assert start["status"] == 202
    assert json.loads(body_message["body"]) == {"accepted": 1, "duplicates": 0, "rejected": []}
    headers_sent = {name.lower(): value for name, value in start["headers"]}
    assert headers_sent[b"content-length"] == str(len(body_message["body"])).encode()


def test_static_files_and_pages_are_served_through_the_async_chain(db: None) -> None:
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    client = AsyncClient()  # the ASGI handler, as under uvicorn: WhiteNoise is sync-only there
    css = async_to_sync(client.get)("/static/css/flux.css")
    assert css.status_code == 200 and b"--accent" in b"".join(css.streaming_content)
    assert async_to_sync(client.get)("/login/").status_code == 200
