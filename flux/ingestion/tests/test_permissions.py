"""Every ingestion endpoint, walked with each kind of key and with another project's key."""

from datetime import UTC, datetime

import pytest

from events.tests.factories import stored_events
from flux.tenants.models import Project
from flux.tenants.services import issue_key, revoke_key, set_archived

NOW = datetime.now(UTC).isoformat()
EVENT = {"name": "e", "timestamp": NOW}
METRIC = {"type": "gauge", "name": "g", "value": 1, "timestamp": NOW}
ENDPOINTS = [
    ("/api/v1/events", EVENT),
    ("/api/v1/events/batch", {"events": [EVENT]}),
    ("/api/v1/metrics", METRIC),
    ("/api/v1/metrics/batch", {"metrics": [METRIC]}),
    ("/api/v1/flux/batch", {"events": [EVENT], "metrics": [METRIC]}),
]


@pytest.mark.parametrize(("path", "body"), ENDPOINTS)
@pytest.mark.parametrize(("kind", "expected"), [("ingest", 202), ("admin", 202), ("read", 403)])
def test_only_ingest_and_admin_keys_can_write(
    post_json: object, keys: dict, path: str, body: dict, kind: str, expected: int
) -> None:
    assert post_json(path, body, key=keys[kind]).status_code == expected


@pytest.mark.parametrize(("path", "body"), ENDPOINTS)
def test_writing_needs_a_valid_key(post_json: object, project: Project, path: str, body: dict) -> None:
    revoked = issue_key(project, "ingest")
    revoke_key(revoked.api_key)
    assert post_json(path, body).status_code == 401
    assert post_json(path, body, key="flx_ingest_" + "z" * 40).status_code == 401
    assert post_json(path, body, key=revoked.raw_key).status_code == 401
    assert post_json(path, body, HTTP_X_API_KEY=issue_key(project, "ingest").raw_key).status_code == 202


def test_an_archived_projects_key_cannot_write(post_json: object, keys: dict, project: Project) -> None:
    set_archived(project, True)
    assert post_json("/api/v1/events", EVENT, key=keys["ingest"]).status_code == 403
    assert stored_events(project) == []


def test_a_key_writes_only_into_its_own_project(post_json: object, project: Project, other_project: Project) -> None:
    other_key = issue_key(other_project, "ingest").raw_key
    post_json("/api/v1/events", {**EVENT, "project_id": project.pk, "project": project.slug}, key=other_key)
    assert stored_events(project) == []
    assert len(stored_events(other_project)) == 1


def test_batch_ingestion_uses_a_fixed_number_of_queries(
    post_json: object, keys: dict, django_assert_max_num_queries: object
) -> None:
    def batch(size: int) -> dict:
        return {
            "events": [{**EVENT, "id": f"e{size}-{i}", "tags": {"i": i % 7}} for i in range(size)],
            "metrics": [
                {**METRIC, "name": f"g{i % 13}", "tags": {"i": i % 5}, "id": f"m{size}-{i}"} for i in range(size)
            ],
        }  # fmt: skip

    post_json("/api/v1/flux/batch", batch(3), key=keys["ingest"])  # first use writes last_used_at
    with django_assert_max_num_queries(12) as small:
        assert post_json("/api/v1/flux/batch", batch(5), key=keys["ingest"]).status_code == 202
    with django_assert_max_num_queries(12) as large:
        assert post_json("/api/v1/flux/batch", batch(500), key=keys["ingest"]).json()["accepted"] == 1000
    assert len(large.captured_queries) == len(small.captured_queries)


@pytest.mark.parametrize(("path", "body"), ENDPOINTS)
def test_an_ingest_key_may_come_in_the_query_string_as_text_plain(
    post_json: object, keys: dict, path: str, body: dict
) -> None:
    """What navigator.sendBeacon sends: no headers, a text/plain body, the key in the URL."""
    assert post_json(f"{path}?key={keys['ingest']}", body, content_type="text/plain;charset=UTF-8").status_code == 202


@pytest.mark.parametrize("kind", ["admin", "read"])
def test_only_an_ingest_key_is_accepted_in_the_query_string(post_json: object, keys: dict, kind: str) -> None:
    response = post_json(f"/api/v1/events/batch?key={keys[kind]}", {"events": [EVENT]})
    assert response.status_code == 401
    assert "Authorization header" in response.json()["error"]["message"]


def test_a_key_in_the_query_string_does_not_read(api: object, keys: dict) -> None:
    assert api(None).get(f"/api/v1/events?key={keys['ingest']}").status_code == 401
    assert api(None).get(f"/api/v1/events?key={keys['admin']}").status_code == 401


def test_an_unknown_key_in_the_query_string_is_refused(post_json: object, project: Project) -> None:
    assert post_json("/api/v1/events/batch?key=flx_ingest_" + "z" * 40, {"events": [EVENT]}).status_code == 401
