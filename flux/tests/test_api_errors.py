"""Bad input and outages get a clear answer in the JSON envelope, never a 500 or Django's HTML pages."""

import os
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message

import pytest

from conftest import uvicorn_flux
from flux.tenants.keys import generate_key

NUL_REQUESTS = [
    ("/api/v1/events?user_id=a%00", "user_id"),
    ("/api/v1/events?name=a%00", "name"),
    ("/api/v1/events?session_id=a%00", "session_id"),
    ("/api/v1/events?properties.k=a%00", "properties.k"),
    ("/api/v1/events/count?tags[k]=a%00", "tags[k]"),
    ("/api/v1/events/stats?name=a%00&measure=count", "name"),
    ("/api/v1/events/unique?name=a%00", "name"),
    ("/api/v1/events/names?search=a%00", "search"),
    ("/api/v1/metrics?search=a%00", "search"),
    ("/api/v1/anomalies?name=a%00", "name"),
    ("/api/v1/insights/summary?name=a%00", "name"),
    ("/api/v1/compare?name=a%00", "name"),
    ("/api/v1/events?user_id%00=a", "user_id%00"),
]
NUL_PATHS = [
    "/api/v1/metrics/cpu%00load",
    "/api/v1/metrics/cpu%00load/query",
    "/api/v1/dashboards/ops%00",
    "/api/v1/dashboards/ops%00/data",
]


@pytest.mark.parametrize(("path", "parameter"), NUL_REQUESTS)
def test_a_nul_character_in_a_query_parameter_is_a_400_naming_it(
    api: type, keys: dict, path: str, parameter: str
) -> None:
    response = api(keys["read"]).get(path)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_parameter"
    assert response.json()["error"]["details"] == {"parameter": parameter}


@pytest.mark.parametrize("path", NUL_PATHS)
def test_a_nul_character_in_a_path_is_a_400(api: type, keys: dict, path: str) -> None:
    response = api(keys["read"]).get(path)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_path"


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("period=last_999999d", "period"),
        ("from=0001-01-01T00:00:00%2B01:00", "from"),
        ("to=9999-12-31T23:59:59-01:00", "to"),
        ("from=-999999w", "from"),
    ],
)
def test_a_date_out_of_bounds_is_a_400_saying_the_bounds(api: type, keys: dict, query: str, parameter: str) -> None:
    response = api(keys["read"]).get(f"/api/v1/events/count?{query}")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["details"] == {"parameter": parameter}
    assert "between 1970-01-01 and 2200-01-01" in error["message"]


def test_anomaly_list_bounds_are_checked_too(api: type, keys: dict) -> None:
    response = api(keys["read"]).get("/api/v1/anomalies?from=0001-01-01T00:00:00%2B01:00")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"parameter": "from"}


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/api/v1/anomalies/acknowledge_all"), ("patch", "/api/v1/anomalies/settings"),
     ("post", "/api/v1/dashboards"), ("post", "/api/v1/annotations")],
)  # fmt: skip
def test_json_nested_thousands_deep_is_a_400(api: type, keys: dict, method: str, path: str) -> None:
    body = "[" * 100_000 + "]" * 100_000
    response = getattr(api(keys["admin"]), method)(path, data=body, content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "parse_error"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("patch", "/api/v1/anomalies/settings", '{"sensitivity": "\\ud800"}'),
     ("post", "/api/v1/anomalies/acknowledge_all", '{"severity": "\\ud800"}'),
     ("post", "/api/v1/anomalies/acknowledge_all", '{"kind": ["\\udfff"]}'),
     ("post", "/api/v1/anomalies/acknowledge_all", '{"\\ud800": 1}')],
)  # fmt: skip
def test_a_lone_surrogate_in_json_is_a_400(api: type, keys: dict, method: str, path: str, body: str) -> None:
    """A choice field quoted the value back in its message, which could not be written: a 500."""
    response = getattr(api(keys["admin"]), method)(path, data=body, content_type="application/json")
    assert response.status_code == 400 and "lone surrogate" in response.json()["error"]["message"]
    paired = '{"note": "\\ud83d\\ude00"}'  # a pair is one character (an emoji): no error of this kind
    assert (
        "surrogate"
        not in api(keys["admin"])
        .post("/api/v1/anomalies/acknowledge_all", data=paired, content_type="application/json")
        .content.decode()
    )


def test_more_than_a_thousand_query_parameters_is_a_400(api: type, keys: dict) -> None:
    query = "&".join(f"p{index}=1" for index in range(1001))
    response = api(keys["read"]).get(f"/api/v1/events/count?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_many_parameters"


def test_an_unmatched_api_path_is_a_json_404(api: type, keys: dict) -> None:
    response = api(keys["read"]).get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == {"code": "not_found", "message": "No API endpoint at /api/v1/no-such-thing."}


def test_an_unmatched_api_path_without_a_key_is_a_json_404(client: object, db: None) -> None:
    response = client.get("/api/nothing/here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_wrong_method_is_a_json_405(api: type, keys: dict) -> None:
    response = api(keys["read"]).delete("/api/v1/events/count")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_the_schema_endpoint_rejects_a_wrong_method_in_json(client: object, db: None) -> None:
    response = client.post("/api/schema")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


# --- PostgreSQL down: a real server whose database is a closed port. ---


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again with the socket: nothing listens there


@pytest.fixture(scope="module")
def flux_without_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server whose database is a closed port (the machine's PostgreSQL is shared: never stop it)."""
    log_dir = tmp_path_factory.mktemp("no-database")
    env = {
        **os.environ, "DATABASE_URL": f"postgres://postgres@127.0.0.1:{closed_port()}/flux", "DEBUG": "0",
        "SECRET_KEY": "test-only", "FLUX_DATA_DIR": str(log_dir),
    }  # fmt: skip
    with uvicorn_flux(env, log_dir) as base_url:
        yield base_url


def fetch(url: str, headers: dict | None = None) -> tuple[int, Message, bytes]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - our own server
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_with_the_database_down_the_api_answers_503_with_retry_after(flux_without_database: str) -> None:
    key = generate_key("read")  # well formed, so authentication has to look it up in the database
    status, headers, body = fetch(f"{flux_without_database}/api/v1/project", {"Authorization": f"Bearer {key}"})
    assert status == 503
    assert headers["Retry-After"] == "5"
    assert b'"database_unavailable"' in body


def test_with_the_database_down_a_page_answers_503_with_retry_after(flux_without_database: str) -> None:
    status, headers, _ = fetch(f"{flux_without_database}/")
    assert (status, headers["Retry-After"]) == (503, "5")


# --- Unknown query parameters: the OpenAPI schema's declarations are what each read accepts. ---


@pytest.mark.parametrize(
    ("path", "parameter", "message"),
    [
        ("/api/v1/events/count?tags.plan=pro", "tags.plan", "Unknown parameter tags.plan; did you mean tags[plan]?"),
        ("/api/v1/events?properties[plan]=pro", "properties[plan]", "did you mean properties.plan?"),
        ("/api/v1/events/stats?perod=last_7d", "perod", "did you mean period?"),
        ("/api/v1/metrics/cpu/query?tag[host]=a", "tag[host]", "did you mean tags[host]?"),
        ("/api/v1/anomalies?severities=critical", "severities", "did you mean severity?"),
        ("/api/v1/project?verbose=1", "verbose", "accepted: none"),
    ],
)
def test_an_unknown_query_parameter_is_a_400_saying_what_was_meant(
    api: type, keys: dict, path: str, parameter: str, message: str
) -> None:
    response = api(keys["read"]).get(path)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["details"]) == ("invalid_parameter", {"parameter": parameter})
    assert error["message"].endswith(message)


def test_declared_parameters_in_every_form_are_accepted(api: type, keys: dict) -> None:
    query = "period=last_7d&timezone=UTC&interval=1d&name=user.*&tags[plan]=pro&properties.referrer=x&user_id=u1"
    assert api(keys["read"]).get(f"/api/v1/events/count?{query}").status_code == 200


@pytest.mark.parametrize(
    ("key", "method", "path", "body", "field"),
    [("admin", "post", "/api/v1/dashboards", {"name": "a\x00b"}, "name"),
     ("admin", "post", "/api/v1/dashboards", {"name": "x", "settings": {"filters": {"k": "a\x00b"}}},
      "settings.filters.k"),
     ("admin", "post", "/api/v1/dashboards/key-metrics/widgets",
      {"title": "t", "type": "number", "query": {"source": "events", "filters": {"a\x00": "b"}}}, "query.filters"),
     ("admin", "post", "/api/v1/events/views", {"name": "v", "params": {"name": "a\x00b"}}, "params.name"),
     ("read", "post", "/api/v1/events/funnel", {"steps": ["a\x00b", "b"]}, "steps[0]"),
     ("read", "post", "/api/v1/events/funnel", {"steps": [{"name": "a", "tags": {"k": "\x00"}}, "b"]},
      "steps[0].tags.k")],
)  # fmt: skip
def test_a_nul_character_anywhere_in_a_json_body_is_a_400_naming_it(
    api: type, keys: dict, key: str, method: str, path: str, body: dict, field: str
) -> None:
    """PostgreSQL's text holds no NUL: dashboards, widgets, saved views and funnels (a read key's) answered 500."""
    response = getattr(api(keys[key]), method)(path, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {field: ["holds a NUL character"]}
