"""Every key kind against every API capability, plus the ways a key is refused."""

import pytest
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory

from flux.tenants.models import ApiKey, Project
from flux.tenants.services import issue_key, revoke_key, set_archived
from flux.web.api import ProjectAPIView
from flux.web.auth import HasAdminKey, HasIngestKey, HasReadKey


def probe_view(permission: type) -> object:
    class Probe(ProjectAPIView):
        permission_classes = [permission]

        def get(self, request: Request) -> Response:
            return Response({"project": self.project.slug})

    return Probe.as_view()


@pytest.mark.parametrize(
    ("kind", "ingest", "read", "admin"),
    [("ingest", 200, 403, 403), ("read", 403, 200, 403), ("admin", 200, 200, 200)],
)
def test_each_key_kind_has_exactly_its_capabilities(
    project: Project, kind: str, ingest: int, read: int, admin: int
) -> None:
    raw_key = issue_key(project, kind).raw_key
    statuses = []
    for permission in (HasIngestKey, HasReadKey, HasAdminKey):
        request = APIRequestFactory().get("/probe", HTTP_AUTHORIZATION=f"Bearer {raw_key}")
        statuses.append(probe_view(permission)(request).status_code)
    assert statuses == [ingest, read, admin]


def test_wrong_kind_is_refused_with_a_message_naming_the_kinds(project: Project) -> None:
    raw_key = issue_key(project, "ingest").raw_key
    request = APIRequestFactory().get("/probe", HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    response = probe_view(HasReadKey)(request)
    assert response.status_code == 403
    assert response.data["error"]["message"] == "An ingest key cannot do this; it needs one of: admin, read"


def test_missing_key_is_401_with_bearer_challenge(api: type) -> None:
    response = api(None).get("/api/v1/project")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="flux"'
    assert response.json()["error"]["code"] == "not_authenticated"


def test_unknown_key_is_401(api: type, db: None) -> None:
    response = api("flx_read_" + "a" * 40).get("/api/v1/project")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Invalid API key."


def test_key_is_accepted_in_x_api_key_header(client: object, keys: dict[str, str], project: Project) -> None:
    response = client.get("/api/v1/project", HTTP_X_API_KEY=keys["read"])
    assert response.status_code == 200
    assert response.json()["slug"] == project.slug


def test_revoked_key_is_401(api: type, project: Project) -> None:
    issued = issue_key(project, "admin")
    revoke_key(issued.api_key)
    response = api(issued.raw_key).get("/api/v1/project")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "This API key has been revoked."


def test_archived_project_key_is_403(api: type, project: Project, keys: dict[str, str]) -> None:
    set_archived(project, True)
    response = api(keys["admin"]).get("/api/v1/project")
    assert response.status_code == 403
    assert "archived" in response.json()["error"]["message"]


def test_a_key_only_reaches_its_own_project(api: type, project: Project, other_project: Project) -> None:
    other_key = issue_key(other_project, "admin").raw_key
    body = api(other_key).get("/api/v1/project").json()
    assert (body["id"], body["slug"], body["key_kind"]) == (other_project.pk, other_project.slug, "admin")


def test_using_a_key_records_last_used(api: type, project: Project) -> None:
    issued = issue_key(project, "read")
    api(issued.raw_key).get("/api/v1/project")
    assert ApiKey.objects.get(pk=issued.api_key.pk).last_used_at is not None


def test_a_repeated_key_is_served_from_the_cache_without_queries(
    api: type, project: Project, django_assert_num_queries: object
) -> None:
    client = api(issue_key(project, "read").raw_key)
    client.get("/api/v1/project")
    with django_assert_num_queries(0):
        assert client.get("/api/v1/project").status_code == 200


def test_without_the_cache_authentication_is_one_query(
    api: type, project: Project, settings: object, django_assert_num_queries: object
) -> None:
    settings.FLUX_KEY_CACHE_SECONDS = 0
    client = api(issue_key(project, "read").raw_key)
    client.get("/api/v1/project")
    with django_assert_num_queries(1):
        assert client.get("/api/v1/project").status_code == 200


def test_revoking_a_cached_key_takes_effect_at_once(api: type, project: Project) -> None:
    issued = issue_key(project, "read")
    client = api(issued.raw_key)
    assert client.get("/api/v1/project").status_code == 200
    revoke_key(issued.api_key)
    assert client.get("/api/v1/project").status_code == 401


def test_archiving_a_project_refuses_its_cached_keys_at_once(api: type, project: Project) -> None:
    client = api(issue_key(project, "read").raw_key)
    assert client.get("/api/v1/project").status_code == 200
    set_archived(project, True)
    assert client.get("/api/v1/project").status_code == 403
