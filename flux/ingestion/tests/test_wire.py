"""Requests recorded from the real BrainzLab Ruby SDK (0.1.10) are accepted and stored exactly.

The recording (fixtures/, copied from shared/wire) has the SDK's own keys; each replay swaps in a key
of a test project and keeps every other header and the body byte for byte.
"""

import json
from datetime import datetime
from pathlib import Path

import pytest
from django.test import Client

from events.tests.factories import stored_events
from flux.payloads.fields import scalar_to_text
from flux.tenants.models import Project
from flux.tenants.services import create_project, issue_key
from metrics.tests.factories import stored_points

RECORDING = Path(__file__).parent / "fixtures" / "brainzlab-ruby-0.1.10-requests.jsonl"
REQUESTS = [json.loads(line) for line in RECORDING.read_text().splitlines()]
BATCHES = [
    request for request in REQUESTS if request["path"] == "/api/v1/flux/batch" and request["label"] != "secret-only"
]


def replay(client: Client, request: dict, authorization: str | None = None, master_key: str | None = None) -> object:
    headers = {}
    for name, value in request["headers"]:
        if name.lower() in ("content-type", "content-length", "host"):
            continue
        if name.lower() == "authorization" and authorization is not None:
            value = authorization
        if name.lower() == "x-master-key" and master_key is not None:
            value = master_key
        headers["HTTP_" + name.upper().replace("-", "_")] = value
    if request["method"] == "GET":
        return client.get(request["path"], **headers)
    return client.post(request["path"], data=json.dumps(request["body"]), content_type="application/json", **headers)


@pytest.fixture
def sdk_project(db: None) -> Project:
    # The recording's timestamps are fixed; a long retention keeps them acceptable whenever tests run.
    return create_project("SDK app", retention_days=3650)


def expected_event(item: dict) -> dict:
    text = {field: None if item[field] is None else scalar_to_text(item[field]) for field in ("user_id", "session_id")}
    return {
        "name": item["name"], "time": datetime.fromisoformat(item["timestamp"]), **text,
        "value": None if item["value"] is None else float(item["value"]),
        "tags": {key: scalar_to_text(value) for key, value in item["tags"].items() if value is not None},
        "properties": item["properties"], "environment": item["environment"], "service": item["service"],
        "host": None, "request_id": None, "client_id": None,
    }  # fmt: skip


def expected_point(item: dict) -> tuple:
    is_set = item["type"] == "set"
    return (
        item["name"], item["type"], {key: scalar_to_text(value) for key, value in item["tags"].items()},
        datetime.fromisoformat(item["timestamp"]), 1.0 if is_set else float(item["value"]),
        scalar_to_text(item["value"]) if is_set else None,
    )  # fmt: skip


def test_every_recorded_batch_is_accepted_and_stored_exactly(client: Client, sdk_project: Project) -> None:
    key = issue_key(sdk_project, "ingest").raw_key
    for request in BATCHES:
        response = replay(client, request, authorization=f"Bearer {key}")
        items = len(request["body"]["events"]) + len(request["body"]["metrics"])
        assert response.status_code == 202, response.content
        assert response.json() == {"accepted": items, "duplicates": 0, "rejected": []}

    sent_events = [item for request in BATCHES for item in request["body"]["events"]]
    sent_points = [item for request in BATCHES for item in request["body"]["metrics"]]
    # Equal timestamps have no inherent order, so compare both sides sorted the same way.
    assert sorted(stored_events(sdk_project), key=repr) == sorted(map(expected_event, sent_events), key=repr)
    stored = [
        (row["name"], row["type"], row["tags"], row["time"], row["value"], row["member"])
        for row in stored_points(sdk_project)
    ]
    assert sorted(stored, key=repr) == sorted(map(expected_point, sent_points), key=repr)
    assert len(stored) == len(sent_points) > 0


def test_the_sdk_can_ingest_with_the_admin_api_key(client: Client, sdk_project: Project) -> None:
    admin_key = issue_key(sdk_project, "admin").raw_key
    assert replay(client, BATCHES[0], authorization=f"Bearer {admin_key}").status_code == 202


def test_recorded_provisioning_creates_a_project_with_keys(client: Client, db: None, settings: object) -> None:
    settings.FLUX_MASTER_KEY = "capture-master-key"
    provision = next(request for request in REQUESTS if request["path"] == "/api/v1/projects/provision")
    response = replay(client, provision)
    assert response.status_code == 201
    body = response.json()
    assert body["ingest_key"].startswith("flx_ingest_") and body["api_key"].startswith("flx_admin_")
    follow_up = next(request for request in BATCHES if request["body"]["metrics"] and "provision" in str(request))
    assert replay(client, follow_up, authorization=f"Bearer {body['ingest_key']}").status_code == 202


def test_recorded_failure_probes_get_the_answers_the_sdk_expects(client: Client, db: None, settings: object) -> None:
    settings.FLUX_MASTER_KEY = "capture-master-key"
    by_label = {request["label"]: request for request in REQUESTS if request["label"]}
    assert replay(client, by_label["provision-fail"]).status_code == 401  # wrong master key
    assert replay(client, by_label["secret-only"]).status_code == 401  # "Bearer " with no key
    assert replay(client, by_label["sync-error"]).status_code == 401  # a key Flux never issued


def test_the_sdk_health_probe_path_answers(client: Client) -> None:
    up = next(request for request in REQUESTS if request["path"] == "/up")
    assert replay(client, up).status_code == 200
