"""Helpers of the OpenAPI tests: real answers and request bodies checked against the document (OpenAPI 3.0
schemas read as JSON Schema, undocumented keys refused), and when the test data happened."""

from datetime import UTC, datetime
from typing import Any

from jsonschema import Draft202012Validator

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # the shop fixture's first event


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
