"""The OpenAPI schema (/api/schema) and Swagger UI (/api/docs): complete, valid, public; every operation
named, keyed and documenting its errors."""

import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from flux.query.timerange import INTERVAL_LADDER
from flux.tests.openapi.schema import operations

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
MASTER = "m4ster-key-for-tests"


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


def test_every_anomalies_read_and_write_documents_a_400(document: dict) -> None:
    """Every read answers an unknown or repeated query parameter with a 400, every write a bad body."""
    for path, method, operation in operations(document):
        if path.startswith("/api/v1/anomalies") and method != "delete" and not path.endswith("/test"):
            assert "400" in operation["responses"], (method, path)


def test_anomalies_request_bodies_say_they_refuse_unknown_fields(document: dict) -> None:
    components = document["components"]["schemas"]
    bodies = [
        (path, operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1])
        for path, method, operation in operations(document)
        if path.startswith("/api/v1/anomalies") and "requestBody" in operation
    ]
    assert len(bodies) >= 9
    for path, component in bodies:
        assert components[component]["additionalProperties"] is False, (path, component)


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
