"""Ingestion and provisioning as documented: request bodies and answers match the schema, every refusal is a
documented error."""

import time

import pytest

from flux.tests.openapi.schema import assert_documented, assert_request_documented

MASTER = "m4ster-key-for-tests"

EVENT = {
    "name": "user.signup", "timestamp": int(time.time() * 1000), "user_id": "u_42", "value": 49.99,
    "tags": {"plan": "pro", "beta": True}, "properties": {"referrer": "google"}, "id": "e1",
}  # fmt: skip
POINT = {"type": "gauge", "name": "queue.depth", "value": 17, "tags": {"queue": "default"}}
INGEST_BODIES = [
    # path, body, items rejected
    ("/api/v1/events", EVENT, 0),
    ("/api/v1/events/batch", [EVENT, {"name": "user.signup", "timestamp": 0}], 1),  # older than the retention
    ("/api/v1/events/batch", {"events": [EVENT]}, 0),
    ("/api/v1/metrics", POINT, 0),
    ("/api/v1/metrics/batch", {"metrics": [POINT, {"type": "set", "name": "visitors", "value": "u1"}]}, 0),
    ("/api/v1/flux/batch", {"events": [EVENT], "metrics": [{"type": "counter", "name": "orders.count"}]}, 0),
]


@pytest.mark.parametrize(
    ("path", "body", "rejected"), INGEST_BODIES, ids=[f"{row[0]}:{type(row[1]).__name__}" for row in INGEST_BODIES]
)
def test_ingestion_requests_and_answers_match_the_schema(
    document: dict, post_json: object, keys: dict, path: str, body: object, rejected: int
) -> None:
    assert_request_documented(document, path, "post", body)
    response = post_json(path, body, key=keys["ingest"])
    assert response.status_code == 202, response.json()
    assert len(response.json()["rejected"]) == rejected
    assert_documented(document, path, "post", response)


REFUSALS = [
    # operation path, method, URL, key kind, body, status, error code
    ("/api/v1/events/count", "get", "/api/v1/events/count", None, None, 401, "not_authenticated"),
    ("/api/v1/metrics", "get", "/api/v1/metrics", "ingest", None, 403, "permission_denied"),
    ("/api/v1/events", "post", "/api/v1/events", "read", EVENT, 403, "permission_denied"),
    ("/api/v1/events/{event_id}", "get", "/api/v1/events/0", "read", None, 404, "not_found"),
    ("/api/v1/metrics/{name}/query", "get", "/api/v1/metrics/nope/query", "read", None, 404, "not_found"),
    ("/api/v1/compare", "get", "/api/v1/compare?metric=nope", "read", None, 404, "not_found"),
    ("/api/v1/events", "post", "/api/v1/events", "ingest", {"name": ""}, 400, "invalid_items"),
    ("/api/v1/flux/batch", "post", "/api/v1/flux/batch", "ingest", "{", 400, "malformed_json"),
    ("/api/v1/events/funnel", "post", "/api/v1/events/funnel", "read", {"steps": ["a"]}, 400, "invalid_parameter"),
    ("/api/v1/dashboards/{reference}", "get", "/api/v1/dashboards/nope", "read", None, 404, "not_found"),
    ("/api/v1/dashboards", "post", "/api/v1/dashboards", "read", {"name": "X"}, 403, "permission_denied"),
    ("/api/v1/dashboards", "post", "/api/v1/dashboards", "admin", "{", 400, "parse_error"),
    ("/api/v1/dashboards/import", "post", "/api/v1/dashboards/import", "admin", {"name": "X"}, 400, "invalid_config"),
]


@pytest.mark.parametrize(
    ("path", "method", "url", "kind", "body", "status", "code"),
    REFUSALS,
    ids=[f"{row[5]}-{row[2]}" for row in REFUSALS],
)
def test_refusals_are_documented_errors(
    document: dict, api: type, post_json: object, keys: dict, path: str, method: str, url: str, kind: str | None,
    body: object, status: int, code: str,
) -> None:  # fmt: skip
    key = keys[kind] if kind else None
    response = api(key).get(url) if method == "get" else post_json(url, body, key=key)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert_documented(document, path, method, response)


def test_a_body_that_is_not_json_is_a_documented_415(document: dict, post_json: object, keys: dict) -> None:
    response = post_json("/api/v1/events", "<event/>", key=keys["ingest"], content_type="application/xml")
    assert response.status_code == 415
    assert_documented(document, "/api/v1/events", "post", response)


def test_too_many_items_is_a_documented_413(document: dict, post_json: object, keys: dict, settings: object) -> None:
    settings.FLUX_MAX_BATCH_ITEMS = 1
    response = post_json("/api/v1/events/batch", [EVENT, EVENT], key=keys["ingest"])
    assert response.status_code == 413
    assert_documented(document, "/api/v1/events/batch", "post", response)


def test_provisioning_answers_match_the_schema(document: dict, post_json: object, settings: object, db: None) -> None:
    settings.FLUX_MASTER_KEY = MASTER
    body = {"name": "shop-api", "environment": "staging"}
    assert_request_documented(document, "/api/v1/projects/provision", "post", body)
    created = post_json("/api/v1/projects/provision", body, HTTP_X_MASTER_KEY=MASTER)
    assert created.status_code == 201
    assert_documented(document, "/api/v1/projects/provision", "post", created)
    refused = post_json("/api/v1/projects/provision", body, HTTP_X_MASTER_KEY="wrong")
    assert refused.status_code == 401
    assert_documented(document, "/api/v1/projects/provision", "post", refused)
