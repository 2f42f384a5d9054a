import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from flux.tenants.models import ApiKey, Environment, Project
from flux.tenants.queries import get_key_by_raw
from flux.tenants.services import revoke_key, revoke_unused_provisioned_keys

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


def test_provisioning_again_finds_the_project_and_answers_the_same_keys(post_json: object, master_key: str) -> None:
    # An app without a reply cache provisions on every boot; that used to mint two keys each time.
    first = provision(post_json, {"name": "shop-api", "environment": "production"}).json()
    second = provision(post_json, {"name": "shop-api", "environment": "production"})
    assert second.status_code == 200
    assert second.json() == first
    assert ApiKey.objects.filter(project_id=first["id"]).count() == 2


def test_a_revoked_provisioned_key_is_replaced_by_a_new_one(post_json: object, master_key: str) -> None:
    first = provision(post_json, {"name": "shop-api"}).json()
    revoke_key(get_key_by_raw(first["ingest_key"]))
    second = provision(post_json, {"name": "shop-api"}).json()
    assert second["ingest_key"] != first["ingest_key"] and second["api_key"] == first["api_key"]
    assert get_key_by_raw(second["ingest_key"]).revoked_at is None
    assert provision(post_json, {"name": "shop-api"}).json() == second


def test_provisioned_keys_depend_on_the_servers_secret(post_json: object, master_key: str, settings: object) -> None:
    first = provision(post_json, {"name": "shop-api"}).json()
    settings.SECRET_KEY = "another-server-secret"
    other = provision(post_json, {"name": "shop-api"}).json()
    assert {other["ingest_key"], other["api_key"]}.isdisjoint({first["ingest_key"], first["api_key"]})


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


def provision_at_once(name: str, callers: int) -> list[int]:
    """`callers` threads (each with its own database connection) provision `name` at the same instant."""
    start = threading.Barrier(callers)

    def call(_: int) -> int:
        try:
            start.wait()
            response = Client().post(
                "/api/v1/projects/provision", json.dumps({"name": name, "environment": "production"}),
                content_type="application/json", HTTP_X_MASTER_KEY=MASTER,
            )  # fmt: skip
            return response.status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(callers) as pool:
        return list(pool.map(call, range(callers)))


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_provisioning_of_one_app_succeeds_for_every_process(settings: object) -> None:
    # The SDK never retries provisioning: a process that gets a 500 drops its data for its lifetime.
    settings.FLUX_MASTER_KEY = MASTER
    for round_number in range(6):
        statuses = provision_at_once(f"booting-app-{round_number}", callers=8)
        assert sorted(statuses) == [200] * 7 + [201], statuses
        assert Project.objects.filter(slug=f"booting-app-{round_number}").count() == 1
    assert ApiKey.objects.filter(provisioned=True).count() == 6 * 2  # every process got the same two keys


def test_provisioned_keys_are_marked_and_unused_ones_are_revoked_after_the_grace_period(
    post_json: object, master_key: str, settings: object, client: Client
) -> None:
    settings.FLUX_PROVISIONED_KEY_UNUSED_DAYS = 7
    keys = provision(post_json, {"name": "shop-api"}).json()
    assert client.get("/api/v1/events", HTTP_AUTHORIZATION=f"Bearer {keys['api_key']}").status_code == 200
    assert ApiKey.objects.filter(provisioned=True).count() == 2
    later = timezone.now() + timedelta(days=8)
    assert revoke_unused_provisioned_keys(later) == 1  # the ingest key was never used
    assert get_key_by_raw(keys["api_key"]).revoked_at is None
    assert (
        client.post("/api/v1/events", {"name": "x"}, HTTP_AUTHORIZATION=f"Bearer {keys['ingest_key']}").status_code
        == 401
    )
    assert revoke_unused_provisioned_keys(later) == 0
    assert provision(post_json, {"name": "shop-api"}).json()["ingest_key"] != keys["ingest_key"]


def test_unused_provisioned_keys_are_kept_within_the_grace_period_or_when_disabled(
    post_json: object, master_key: str, settings: object
) -> None:
    provision(post_json, {"name": "shop-api"})
    assert revoke_unused_provisioned_keys(timezone.now() + timedelta(days=6)) == 0
    settings.FLUX_PROVISIONED_KEY_UNUSED_DAYS = 0
    assert revoke_unused_provisioned_keys(timezone.now() + timedelta(days=60)) == 0


def test_the_key_admin_lists_and_filters_provisioned_keys(
    post_json: object, master_key: str, admin_client: Client
) -> None:
    provision(post_json, {"name": "shop-api"})
    page = admin_client.get("/admin/tenants/apikey/?provisioned__exact=1")
    assert page.status_code == 200
    assert "provisioned api key" in page.content.decode()
    assert "Provisioned" in page.content.decode()
