"""The OpenAPI schema (/api/schema) and Swagger UI (/api/docs): complete, valid, public, and true to what the
API really answers (real responses are validated against the documented schemas)."""

import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from jsonschema import Draft202012Validator

from events.tests.factories import insert_event
from flux.query.timerange import INTERVAL_LADDER
from flux.tenants.models import Project
from metrics.tests.factories import insert_point, make_series

ENDPOINTS = {
    "/api/v1/project": {"get"},
    "/api/v1/project/keys": {"get", "post"},
    "/api/v1/project/keys/{key_id}": {"delete"},
    "/api/v1/project/members": {"get", "post"},
    "/api/v1/project/members/{member_id}": {"patch", "delete"},
    "/api/v1/projects/provision": {"post"},
    "/api/v1/flux/batch": {"post"},
    "/v1/metrics": {"post"},  # OTLP/HTTP
    "/v1/logs": {"post"},
    "/api/v1/events": {"get", "post"},
    "/api/v1/events/batch": {"post"},
    "/api/v1/events/{event_id}": {"get"},
    "/api/v1/events/count": {"get"},
    "/api/v1/events/stats": {"get"},
    "/api/v1/events/unique": {"get"},
    "/api/v1/events/funnel": {"post"},
    "/api/v1/events/names": {"get"},
    "/api/v1/events/export": {"get"},
    "/api/v1/events/views": {"get", "post"},
    "/api/v1/events/views/{view_id}": {"delete"},
    "/api/v1/overview": {"get"},
    "/api/v1/insights/summary": {"get"},
    "/api/v1/insights/compare": {"get"},
    "/api/v1/insights/explain": {"get"},
    "/api/v1/anomalies": {"get"},
    "/api/v1/anomalies/{anomaly_id}": {"get"},
    "/api/v1/anomalies/{anomaly_id}/acknowledge": {"post"},
    "/api/v1/anomalies/{anomaly_id}/resolve": {"post"},
    "/api/v1/anomalies/{anomaly_id}/reopen": {"post"},
    "/api/v1/anomalies/acknowledge_all": {"post"},
    "/api/v1/anomalies/settings": {"get", "patch"},
    "/api/v1/anomalies/series": {"get"},
    "/api/v1/anomalies/thresholds": {"get", "post"},
    "/api/v1/anomalies/thresholds/{rule_id}": {"patch", "delete"},
    "/api/v1/anomalies/series/{watch_id}": {"patch"},
    "/api/v1/anomalies/series/{watch_id}/backtest": {"get"},
    "/api/v1/anomalies/channels": {"get", "post"},
    "/api/v1/anomalies/channels/{channel_id}": {"get", "patch", "delete"},
    "/api/v1/anomalies/channels/{channel_id}/test": {"post"},
    "/api/v1/anomalies/channels/{channel_id}/deliveries": {"get"},
    "/api/v1/compare": {"get"},
    "/api/v1/annotations": {"get", "post"},
    "/api/v1/annotations/{annotation_id}": {"delete"},
    "/api/v1/metrics": {"get", "post"},
    "/api/v1/metrics/batch": {"post"},
    "/api/v1/metrics/{name}": {"get"},
    "/api/v1/metrics/{name}/query": {"get"},
    "/api/v1/dashboards": {"get", "post"},
    "/api/v1/dashboards/import": {"post"},
    "/api/v1/dashboards/{reference}": {"get", "patch", "delete"},
    "/api/v1/dashboards/{reference}/duplicate": {"post"},
    "/api/v1/dashboards/{reference}/export": {"get"},
    "/api/v1/dashboards/{reference}/layout": {"put"},
    "/api/v1/dashboards/{reference}/widgets": {"get", "post"},
    "/api/v1/dashboards/{reference}/widgets/{widget_id}": {"get", "patch", "delete"},
    "/api/v1/dashboards/{reference}/data": {"get"},
    "/api/v1/dashboards/{reference}/preview": {"post"},
    "/api/v1/dashboards/{reference}/widgets/{widget_id}/data": {"get"},
    "/api/v1/dashboards/{reference}/widgets/{widget_id}/export": {"get"},
    "/api/v1/dashboards/{reference}/shares": {"get", "post"},
    "/api/v1/dashboards/{reference}/shares/{link_id}": {"delete"},
}
INGESTION = ["/api/v1/events", "/api/v1/events/batch", "/api/v1/metrics", "/api/v1/metrics/batch", "/api/v1/flux/batch"]
SIDECAR = "/static/drf_spectacular_sidecar/swagger-ui-dist/"
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
RANGE = {"from": "2026-11-20T00:00:00Z", "to": "2026-11-21T00:00:00Z"}
MASTER = "m4ster-key-for-tests"


@pytest.fixture(scope="module")
def document() -> dict:
    response = Client().get("/api/schema", {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


def operations(document: dict) -> list[tuple[str, str, dict]]:
    return [(path, method, operation) for path, item in document["paths"].items() for method, operation in item.items()]


def json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema: `nullable` becomes a null type, and objects allow only their
    documented properties, so an undocumented key in a real response fails validation."""
    if isinstance(node, list):
        return [json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {}
    for key, value in node.items():
        if key in ("properties", "schemas"):
            converted[key] = {name: json_schema(schema) for name, schema in value.items()}
        elif key in ("example", "default", "enum"):
            converted[key] = value
        else:
            converted[key] = json_schema(value)
    if "properties" in converted and "additionalProperties" not in converted:
        converted["additionalProperties"] = False
    if converted.pop("nullable", False):
        if "type" in converted:
            converted["type"] = [converted["type"], "null"]
        else:
            converted = {"anyOf": [converted, {"type": "null"}]}
    return converted


def mismatches(document: dict, schema: dict, instance: object) -> list[str]:
    validator = Draft202012Validator({**json_schema(schema), "components": json_schema(document["components"])})
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(instance)]


def assert_documented(document: dict, path: str, method: str, response: object) -> None:
    """The status is one the operation documents, and the JSON body matches that status's schema."""
    responses = document["paths"][path][method]["responses"]
    assert str(response.status_code) in responses, f"{method} {path} answered an undocumented {response.status_code}"
    schema = responses[str(response.status_code)]["content"]["application/json"]["schema"]
    assert mismatches(document, schema, response.json()) == []


def assert_request_documented(document: dict, path: str, method: str, body: object) -> None:
    schema = document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    assert mismatches(document, schema, body) == []


def test_schema_is_a_public_openapi_3_document(client: Client) -> None:
    response = client.get("/api/schema?format=json", HTTP_AUTHORIZATION="Bearer not-a-key")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.oai.openapi+json"
    assert response.json()["openapi"].startswith("3.")
    assert client.get("/api/schema").content.startswith(b"openapi: 3.")


def test_schema_lists_every_endpoint_with_its_methods(document: dict) -> None:
    assert {path: set(item) for path, item in document["paths"].items()} == ENDPOINTS


def test_schema_generates_without_warnings_and_validates(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert capsys.readouterr().err == ""


def test_operations_are_named_summarised_and_say_which_key_they_need(document: dict) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(ids) == len(set(ids))
    for path, method, operation in operations(document):
        assert operation["summary"] and operation["tags"]
        if path == "/api/v1/projects/provision":
            continue
        ingestion = path in INGESTION or path.startswith("/v1/")  # OTLP/HTTP answers in OTLP's shape, not a 202
        expected = "ingest or admin" if method == "post" and ingestion else "read or admin"
        if path == "/api/v1/project":
            expected = "ingest, read or admin"
        if path.startswith("/api/v1/dashboards") and method != "get" and not path.endswith("/preview"):
            expected = "admin"  # dashboards are changed with an admin key only; a preview only reads
        if path.startswith("/api/v1/annotations") and method != "get":
            # anyone who can write may annotate; deleting needs an admin key
            expected = "ingest or admin" if method == "post" else "admin"
        if path.startswith("/api/v1/project/") and method != "get":
            expected = "admin"  # keys and members: an admin key, or an owner's session
        if path.startswith("/api/v1/events/views") and method != "get":
            expected = "admin"  # saved views are shared by the project: changed like dashboards
        if path.startswith("/api/v1/anomalies") and (method != "get" or "/channels" in path):
            expected = "admin"  # acting on anomalies and settings; channels hold webhook URLs and secrets
        assert operation["description"].startswith(f"**Key:** {expected}."), (method, path)


def test_keys_go_as_a_bearer_token_or_an_x_api_key_header(document: dict) -> None:
    schemes = document["components"]["securitySchemes"]
    assert (schemes["bearerKey"]["type"], schemes["bearerKey"]["scheme"]) == ("http", "bearer")
    assert (schemes["headerKey"]["type"], schemes["headerKey"]["in"], schemes["headerKey"]["name"]) == (
        "apiKey",
        "header",
        "X-API-Key",
    )
    for path, _, operation in operations(document):
        if path != "/api/v1/projects/provision":
            assert operation["security"] == [{"bearerKey": []}, {"headerKey": []}]


def test_provisioning_takes_the_master_key_header_not_an_api_key(document: dict) -> None:
    operation = document["paths"]["/api/v1/projects/provision"]["post"]
    assert operation["security"] == [{}]
    headers = {parameter["name"]: parameter for parameter in operation["parameters"] if parameter["in"] == "header"}
    assert headers["X-Master-Key"]["required"] is True
    assert set(operation["responses"]) == {"200", "201", "400", "401", "404"}


def test_every_error_is_the_one_envelope_and_every_key_endpoint_documents_401_and_403(document: dict) -> None:
    for path, method, operation in operations(document):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorEnvelope"}, (method, path, status)
        if path != "/api/v1/projects/provision":
            assert {"401", "403"} <= set(operation["responses"]), (method, path)
    error = document["components"]["schemas"]["ErrorBody"]
    assert set(error["properties"]) == {"code", "message", "details"}
    assert error["required"] == ["code", "message"]


def test_event_count_documents_its_parameters_and_a_400(document: dict) -> None:
    operation = document["paths"]["/api/v1/events/count"]["get"]
    parameters = {parameter["name"]: parameter for parameter in operation["parameters"]}
    assert set(parameters) == {
        "from", "to", "period", "timezone", "interval", "name", "tags", "user_id", "session_id", "value_min",
        "value_max", "group_by", "limit", "properties.<key>",
    }  # fmt: skip
    assert parameters["interval"]["schema"]["enum"] == [*INTERVAL_LADDER, "auto"]
    assert "1mo" in parameters["interval"]["schema"]["enum"]
    assert (parameters["tags"]["style"], parameters["tags"]["explode"]) == ("deepObject", True)
    assert parameters["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100, "default": 10}
    assert "tags.<key>" in parameters["group_by"]["description"]
    assert "400" in operation["responses"]
    assert "properties.<key>" in operation["description"]


@pytest.mark.parametrize("path", INGESTION)
def test_ingestion_documents_a_202_and_every_refusal(document: dict, path: str) -> None:
    responses = document["paths"][path]["post"]["responses"]
    assert set(responses) == {"202", "400", "401", "403", "413", "415", "429"}
    assert responses["202"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/IngestResult"}
    assert "Retry-After" in responses["429"]["headers"]


def test_batches_take_an_object_or_a_bare_array(document: dict) -> None:
    schemas = document["components"]["schemas"]
    assert schemas["EventBatch"]["oneOf"] == [
        {"$ref": "#/components/schemas/EventBatchObject"},
        {"type": "array", "items": {"$ref": "#/components/schemas/EventInput"}},
    ]
    assert schemas["MetricBatch"]["oneOf"][1]["items"] == {"$ref": "#/components/schemas/MetricPointInput"}


def test_docs_page_loads_swagger_ui_from_local_static_files_with_debug_off(settings: object, db: None) -> None:
    settings.DEBUG = False
    settings.WHITENOISE_AUTOREFRESH = False  # as in production: WhiteNoise indexes the files at startup
    client = Client()
    response = client.get("/api/docs", HTTP_AUTHORIZATION="Bearer not-a-key")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert not re.search(r"https?://", page)
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert {f"{SIDECAR}swagger-ui-bundle.js", f"{SIDECAR}swagger-ui.css"} <= set(assets)
    [settings_script] = [asset for asset in assets if asset.startswith("/api/docs?")]  # no inline script (CSP)
    assert '"/api/schema"' in client.get(settings_script).content.decode()
    for asset in set(assets) - {settings_script}:
        assert asset.startswith("/static/")
        served = client.get(asset)
        assert served.status_code == 200, asset
        assert b"".join(served.streaming_content)
        served.close()  # closing sends request_finished, which checks the database connection


# Real answers against the documented schemas ---------------------------------------------------------


@pytest.fixture
def shop(project: Project) -> Project:
    project.retention_days = 3650
    project.save()
    rows = [
        (0, "page.viewed", "u1", {"plan": "pro"}, None),
        (5, "user.signup", "u1", {"plan": "pro"}, 10.0),
        (20, "page.viewed", "u2", {"plan": "free"}, None),
        (30, "user.signup", "u2", {"plan": "free"}, 30.0),
        (90, "order.completed", "u1", {"plan": "pro"}, 120.0),
        (100, "page.viewed", "u3", {}, None),
    ]
    for minutes, name, user, tags, value in rows:
        insert_event(project, T0 + timedelta(minutes=minutes), name, user_id=user, tags=tags, value=value)
    gauge = make_series(project, "queue.depth", "gauge", queue="default")
    insert_point(gauge, T0, 5.0)
    insert_point(gauge, T0 + timedelta(minutes=30), 9.0)
    insert_point(make_series(project, "orders.count", "counter"), T0, 1.0)
    latency = make_series(project, "api.latency", "distribution", route="/x")
    for seconds in range(20):
        insert_point(latency, T0 + timedelta(seconds=seconds), float(seconds))
    insert_point(make_series(project, "visitors", "set"), T0, member="u1")
    return project


READS = [
    ("/api/v1/project", "/api/v1/project", {}),
    ("/api/v1/events", "/api/v1/events", {"limit": "2"}),
    ("/api/v1/events/names", "/api/v1/events/names", {}),
    ("/api/v1/overview", "/api/v1/overview", {"interval": "6h"}),
    ("/api/v1/anomalies", "/api/v1/anomalies", {"status": "open"}),
    ("/api/v1/anomalies/settings", "/api/v1/anomalies/settings", {}),
    ("/api/v1/anomalies/series", "/api/v1/anomalies/series", {}),
    ("/api/v1/events/count", "/api/v1/events/count", {"name": "page.*"}),
    ("/api/v1/events/count", "/api/v1/events/count", {"interval": "1h"}),
    ("/api/v1/events/count", "/api/v1/events/count", {"group_by": "tags.plan", "limit": "1"}),
    ("/api/v1/events/count", "/api/v1/events/count", {"group_by": "user_id", "interval": "6h"}),
    ("/api/v1/events/stats", "/api/v1/events/stats", {"interval": "6h", "group_by": "name"}),
    ("/api/v1/events/unique", "/api/v1/events/unique", {"interval": "1h", "tags[plan]": "pro"}),
    ("/api/v1/compare", "/api/v1/compare", {"measure": "p95", "compare_to": "week"}),
    ("/api/v1/compare", "/api/v1/compare", {"metric": "queue.depth", "aggregation": "max", "tags[queue]": "default"}),
    ("/api/v1/metrics", "/api/v1/metrics", {}),
    ("/api/v1/metrics/{name}", "/api/v1/metrics/queue.depth", {}),
    ("/api/v1/metrics/{name}", "/api/v1/metrics/orders.count", {}),
    ("/api/v1/metrics/{name}", "/api/v1/metrics/api.latency", {}),
    ("/api/v1/metrics/{name}", "/api/v1/metrics/visitors", {}),
    ("/api/v1/metrics/{name}/query", "/api/v1/metrics/api.latency/query", {"group_by": "tags.route"}),
    ("/api/v1/metrics/{name}/query", "/api/v1/metrics/queue.depth/query", {"interval": "1h", "tags[queue]": "x"}),
    ("/api/v1/metrics/{name}/query", "/api/v1/metrics/orders.count/query", {"aggregation": "rate"}),
]


@pytest.mark.parametrize(("path", "url", "params"), READS, ids=[f"{url}?{params}" for _, url, params in READS])
def test_read_answers_match_the_schema(
    document: dict, api: type, keys: dict, shop: Project, path: str, url: str, params: dict
) -> None:
    declared = {parameter["name"] for parameter in document["paths"][path]["get"].get("parameters", [])}
    time_range = RANGE if "from" in declared else {}  # a parameter a read does not declare is a 400
    response = api(keys["read"]).get(url, {**time_range, **params})
    assert response.status_code == 200, response.json()
    assert_documented(document, path, "get", response)


def test_an_event_matches_the_schema(document: dict, api: type, keys: dict, shop: Project) -> None:
    event_id = insert_event(shop, T0, "user.signup", user_id="u9", properties={"referrer": {"site": "ads"}})
    response = api(keys["read"]).get(f"/api/v1/events/{event_id}")
    assert response.status_code == 200
    assert_documented(document, "/api/v1/events/{event_id}", "get", response)


@pytest.mark.parametrize(
    "body",
    [
        {"steps": ["page.viewed", {"name": "user.signup", "tags": {"plan": "pro"}}, "order.completed"], **RANGE},
        {"steps": ["page.viewed", "user.signup"], "window": "1h", "group_by": "tags.plan", "limit": 1, **RANGE},
    ],
    ids=["ungrouped", "grouped"],
)
def test_funnel_requests_and_answers_match_the_schema(
    document: dict, api: type, keys: dict, shop: Project, body: dict
) -> None:
    assert_request_documented(document, "/api/v1/events/funnel", "post", body)
    response = api(keys["read"]).post("/api/v1/events/funnel", body, format="json")
    assert response.status_code == 200, response.json()
    assert_documented(document, "/api/v1/events/funnel", "post", response)


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


def test_a_bad_parameter_is_a_documented_400_naming_it(document: dict, api: type, keys: dict, project: Project) -> None:
    response = api(keys["read"]).get("/api/v1/events/count", {"interval": "2m"})
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"parameter": "interval"}
    assert_documented(document, "/api/v1/events/count", "get", response)


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


# Dashboards -----------------------------------------------------------------------------------------

DASHBOARDS = "/api/v1/dashboards"
DASHBOARD = "/api/v1/dashboards/{reference}"
WIDGETS = "/api/v1/dashboards/{reference}/widgets"
WIDGET = "/api/v1/dashboards/{reference}/widgets/{widget_id}"
GRAPH_WIDGET = {
    "title": "Signups by plan", "type": "graph",
    "query": {"source": "events", "name": "user.signup", "group_by": "tags.plan", "interval": "1h"},
    "display": {"stacked": True, "style": "area", "colors": ["#336699", "#cc6600"],
                "thresholds": [{"value": 10, "color": "#cc0000"}]},
    "position": {"x": 0, "y": 0, "w": 8, "h": 4},
}  # fmt: skip
METRIC_WIDGET = {
    "title": "Queue depth", "type": "number",
    "query": {"source": "metric", "name": "queue.depth", "aggregation": "max", "filters": {"queue": "default"}},
    "display": {"unit": "jobs", "format": "number", "decimals": 0},
}  # fmt: skip
DASHBOARD_BODY = {
    "name": "Growth", "description": "Signups and queues",
    "settings": {"range": "7d", "timezone": "Europe/Berlin", "filters": {"env": "prod"}, "refresh": "1m"},
    "widgets": [GRAPH_WIDGET, METRIC_WIDGET, {"type": "heatmap", "query": {"name": "page.*"}}],
}  # fmt: skip


def test_dashboard_requests_and_answers_match_the_schema(document: dict, api: type, keys: dict, shop: Project) -> None:
    admin, reader = api(keys["admin"]), api(keys["read"])

    def check(path: str, method: str, url: str, body: object = None, status: int = 200) -> Any:
        if body is not None:
            assert_request_documented(document, path, method, body)
        client = reader if method == "get" else admin
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code == status, response.json()
        assert_documented(document, path, method, response)
        return response.json()

    created = check(DASHBOARDS, "post", DASHBOARDS, DASHBOARD_BODY, 201)
    assert [widget["type"] for widget in created["widgets"]] == ["graph", "number", "heatmap"]
    base = f"{DASHBOARDS}/{created['id']}"
    assert [item["slug"] for item in check(DASHBOARDS, "get", DASHBOARDS)["dashboards"]] == ["key-metrics", "growth"]
    check(DASHBOARD, "get", f"{DASHBOARDS}/growth")
    changes = {"name": "Growth 2026", "description": None, "settings": {"range": "30d"}, "is_default": True}
    assert check(DASHBOARD, "patch", base, changes)["settings"]["timezone"] is None

    exported = check(f"{DASHBOARD}/export", "get", f"{base}/export")
    check(f"{DASHBOARDS}/import", "post", f"{DASHBOARDS}/import", exported, 201)  # an export is an import body
    check(f"{DASHBOARD}/duplicate", "post", f"{base}/duplicate", {"name": "Growth copy"}, 201)

    first = check(WIDGETS, "get", f"{base}/widgets")["widgets"][0]
    added = check(WIDGETS, "post", f"{base}/widgets", {"type": "table", "query": {"group_by": "name"}}, 201)
    check(WIDGET, "get", f"{base}/widgets/{added['id']}")
    changed = {"title": "Top events", "display": {"limit": 5}, "position": {"x": 6, "y": 8}}
    check(WIDGET, "patch", f"{base}/widgets/{added['id']}", changed)
    layout = [{"id": first["id"], "x": 4}, {"id": added["id"], "x": 0, "y": 12, "w": 12, "h": 6}]
    check(f"{DASHBOARD}/layout", "put", f"{base}/layout", layout)

    for path, url in ((WIDGET, f"{base}/widgets/{added['id']}"), (DASHBOARD, base)):
        assert admin.delete(url).status_code == 204
        assert "content" not in document["paths"][path]["delete"]["responses"]["204"]
    assert reader.get(f"{base}/widgets/{added['id']}").status_code == 404


INVALID_CONFIGS = [
    # operation path, method, URL, body, field named
    (DASHBOARDS, "post", DASHBOARDS, {"name": "X", "widgets": [{**GRAPH_WIDGET, "query": {"aggregation": "median"}}]},
     "widgets[0].query.aggregation"),
    (DASHBOARD, "patch", f"{DASHBOARDS}/key-metrics", {"owner": "bob"}, "owner"),
    (WIDGETS, "post", f"{DASHBOARDS}/key-metrics/widgets", {**METRIC_WIDGET, "position": {"x": 10, "w": 4}},
     "position.x"),
    (f"{DASHBOARD}/layout", "put", f"{DASHBOARDS}/key-metrics/layout", [{"id": 0, "x": 0}], "widgets[0].id"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "method", "url", "body", "field"), INVALID_CONFIGS, ids=[row[4] for row in INVALID_CONFIGS]
)
def test_an_invalid_dashboard_config_is_a_documented_400_naming_the_field(
    document: dict, api: type, keys: dict, path: str, method: str, url: str, body: object, field: str
) -> None:
    response = getattr(api(keys["admin"]), method)(url, body, format="json")
    error = response.json()["error"]
    assert (response.status_code, error["code"], error["details"]) == (400, "invalid_config", {"field": field})
    assert_documented(document, path, method, response)


def test_a_dashboard_body_that_is_not_json_is_a_documented_415(document: dict, post_json: object, keys: dict) -> None:
    response = post_json(DASHBOARDS, "name=Growth", key=keys["admin"], content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert_documented(document, DASHBOARDS, "post", response)
