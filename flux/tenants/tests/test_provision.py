import pytest

from flux.tenants.models import ApiKey, Environment, Project
from flux.tenants.queries import get_key_by_raw

MASTER = "m4ster-key-for-tests"


@pytest.fixture
def master_key(settings: object, db: None) -> str:
    settings.FLUX_MASTER_KEY = MASTER
    return MASTER


def provision(post_json: object, body: object, master: str | None = MASTER) -> object:
    headers = {"HTTP_X_MASTER_KEY": master} if master is not None else {}
    return post_json("/api/v1/projects/provision", body, **headers)


def test_provisioning_creates_a_project_with_an_ingest_and_an_admin_key(post_json: object, master_key: str) -> None:
    response = provision(post_json, {"name": "shop-api", "environment": "production"})
    assert response.status_code == 201
    body = response.json()
    project = Project.objects.get(pk=body["id"])
    assert (body["name"], body["slug"], body["environment"]) == ("shop-api", "shop-api", "production")
    assert (get_key_by_raw(body["ingest_key"]).kind, get_key_by_raw(body["api_key"]).kind) == ("ingest", "admin")
    assert get_key_by_raw(body["ingest_key"]).project == project


def test_provisioning_again_finds_the_project_and_issues_new_keys(post_json: object, master_key: str) -> None:
    first = provision(post_json, {"name": "shop-api", "environment": "production"}).json()
    second = provision(post_json, {"name": "shop-api", "environment": "production"})
    assert second.status_code == 200
    assert second.json()["id"] == first["id"]
    assert second.json()["ingest_key"] != first["ingest_key"]
    assert get_key_by_raw(first["ingest_key"]).revoked_at is None  # earlier keys stay valid
    assert ApiKey.objects.filter(project_id=first["id"]).count() == 4


def test_each_environment_gets_its_own_project(post_json: object, master_key: str) -> None:
    test_env = provision(post_json, {"name": "flux-compat-ruby", "environment": "test"}).json()
    production = provision(post_json, {"name": "flux-compat-ruby", "environment": "production"}).json()
    assert test_env["id"] != production["id"]
    assert (test_env["slug"], test_env["environment"]) == ("flux-compat-ruby-test", Environment.DEVELOPMENT)
    assert test_env["name"] == "flux-compat-ruby (test)"


@pytest.mark.parametrize(
    ("master", "status", "code"), [(None, 401, "invalid_master_key"), ("wrong", 401, "invalid_master_key")]
)
def test_a_missing_or_wrong_master_key_is_refused(
    post_json: object, master_key: str, master: str | None, status: int, code: str
) -> None:
    response = provision(post_json, {"name": "x"}, master=master)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert not Project.objects.exists()


def test_provisioning_is_disabled_without_a_master_key(post_json: object, db: None, settings: object) -> None:
    settings.FLUX_MASTER_KEY = ""
    response = provision(post_json, {"name": "x"}, master="")
    assert response.status_code == 404
    assert "FLUX_MASTER_KEY" in response.json()["error"]["message"]


@pytest.mark.parametrize(("body", "field"), [({}, "name"), ({"name": ""}, "name"), ({"name": "x" * 151}, "name")])
def test_provisioning_validates_the_body(post_json: object, master_key: str, body: dict, field: str) -> None:
    response = provision(post_json, body)
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


def test_provisioning_refuses_malformed_json(post_json: object, master_key: str) -> None:
    response = provision(post_json, b'{"name": ')
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_provisioning_an_archived_project_is_refused(post_json: object, master_key: str) -> None:
    first = provision(post_json, {"name": "old-app"}).json()
    Project.objects.filter(pk=first["id"]).update(archived=True)
    response = provision(post_json, {"name": "old-app"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "project_archived"
