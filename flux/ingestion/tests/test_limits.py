"""Whole-request problems: size, compression, content type, JSON, batch size, CORS (rate limits: flux/tests)."""

import gzip
import json
import zlib
from datetime import UTC, datetime

import pytest
from django.test import Client

from events.tests.factories import stored_events
from flux.tenants.models import Project

NOW = datetime.now(UTC).isoformat()


def events_body(count: int, padding: str = "") -> bytes:
    return json.dumps({"events": [{"name": "e", "timestamp": NOW, "properties": {"p": padding}}] * count}).encode()


def post_raw(client: Client, key: str, body: bytes, content_type: str = "application/json", **headers: str) -> object:
    return client.post(
        "/api/v1/events/batch", data=body, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {key}", **headers
    )


def test_a_body_over_the_limit_is_413(client: Client, keys: dict, settings: object) -> None:
    settings.FLUX_MAX_BODY_BYTES = 1000
    response = post_raw(client, keys["ingest"], events_body(1, padding="x" * 2000))
    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "payload_too_large",
        "message": "The request body is larger than 1,000 bytes (after decompression); send smaller batches.",
        "details": {"limit_bytes": 1000},
    }


def test_gzip_bodies_are_accepted(client: Client, keys: dict, project: Project) -> None:
    response = post_raw(client, keys["ingest"], gzip.compress(events_body(3)), HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 202
    assert len(stored_events(project)) == 3


def test_deflate_bodies_are_accepted(client: Client, keys: dict, project: Project) -> None:
    response = post_raw(client, keys["ingest"], zlib.compress(events_body(2)), HTTP_CONTENT_ENCODING="deflate")
    assert response.status_code == 202


def test_the_limit_applies_after_decompression(client: Client, keys: dict, settings: object) -> None:
    settings.FLUX_MAX_BODY_BYTES = 10_000
    compressed = gzip.compress(events_body(1, padding="a" * 100_000))
    assert len(compressed) < 10_000
    response = post_raw(client, keys["ingest"], compressed, HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 413


def test_corrupt_gzip_is_400(client: Client, keys: dict) -> None:
    response = post_raw(client, keys["ingest"], b"not gzip at all", HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "The body is not valid gzip data."


def test_unknown_content_encoding_is_415(client: Client, keys: dict) -> None:
    response = post_raw(client, keys["ingest"], events_body(1), HTTP_CONTENT_ENCODING="br")
    assert response.status_code == 415


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x"])
def test_non_json_content_types_are_415(client: Client, keys: dict, content_type: str) -> None:
    response = post_raw(client, keys["ingest"], events_body(1), content_type=content_type)
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_text_plain_is_read_as_json_for_beacons(client: Client, keys: dict, project: Project) -> None:
    assert post_raw(client, keys["ingest"], events_body(1), content_type="text/plain").status_code == 202


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"events": [', "not valid JSON: Expecting value at line 1 column 13"),
        (b"  \n", "body is empty"),
        (b"\xff\xfe\x00garbage", "not"),
        (b'{"events": [{"name": "e", "value": ' + b"9" * 5000 + b"}]}", "number too long"),
        (b"[" * 100_000 + b"]" * 100_000, "nesting too deep"),
    ],
)
def test_malformed_json_is_400(client: Client, keys: dict, body: bytes, message: str) -> None:
    response = post_raw(client, keys["ingest"], body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"
    assert message in response.json()["error"]["message"]


def test_more_than_the_batch_limit_is_413(client: Client, keys: dict, project: Project) -> None:
    response = post_raw(client, keys["ingest"], events_body(1001))
    assert response.status_code == 413
    assert response.json()["error"]["details"] == {"limit_items": 1000}
    assert stored_events(project) == []
    assert post_raw(client, keys["ingest"], events_body(1000)).status_code == 202


def test_cors_preflight_allows_configured_origins(client: Client, settings: object) -> None:
    settings.CORS_ALLOWED_ORIGINS = ["https://shop.example"]
    response = client.options(
        "/api/v1/events",
        HTTP_ORIGIN="https://shop.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "authorization" in response["Access-Control-Allow-Headers"]


def test_cors_refuses_other_origins_and_other_paths(client: Client, settings: object) -> None:
    settings.CORS_ALLOWED_ORIGINS = ["https://shop.example"]
    other_origin = client.options(
        "/api/v1/events", HTTP_ORIGIN="https://evil.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert "Access-Control-Allow-Origin" not in other_origin
    other_path = client.options(
        "/api/v1/project", HTTP_ORIGIN="https://shop.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET"
    )
    assert "Access-Control-Allow-Origin" not in other_path
