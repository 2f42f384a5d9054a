"""What a project's keys can create is bounded: past a cap, a create is a 400 `limit_reached` naming it.
Revoked keys and revoked or expired share links make room; other projects' rows never count."""

from datetime import UTC, datetime, timedelta

import pytest

from dashboards import services as dashboards
from flux.sharing import services as sharing
from flux.sharing.models import ShareLink
from flux.tenants import services as tenants
from flux.tenants.models import Project

KEYS, DASHBOARDS = "/api/v1/project/keys", "/api/v1/dashboards"
SHARES = "/api/v1/dashboards/key-metrics/shares"


def refusal(response: object) -> tuple[int, str, str]:
    error = response.json()["error"]
    return response.status_code, error["code"], error["message"]


def test_live_api_keys_are_capped_and_a_revoked_key_makes_room(
    api: type, keys: dict, project: Project, other_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tenants, "MAX_LIVE_KEYS_PER_PROJECT", 4)  # the fixture's three keys, and one more
    tenants.issue_key(other_project, "read")
    admin = api(keys["admin"])
    created = admin.post(KEYS, {"name": "ci", "kind": "read"}, format="json")
    assert created.status_code == 201
    assert refusal(admin.post(KEYS, {"name": "ci2", "kind": "read"}, format="json")) == (
        400, "limit_reached", "A project has at most 4 live API keys; revoke unused ones first."
    )  # fmt: skip
    assert admin.delete(f"{KEYS}/{created.json()['id']}").status_code == 200
    assert admin.post(KEYS, {"name": "ci2", "kind": "read"}, format="json").status_code == 201


def test_dashboards_are_capped(api: type, keys: dict, project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dashboards, "MAX_DASHBOARDS_PER_PROJECT", project.dashboards.count() + 1)
    admin = api(keys["admin"])
    assert admin.post(DASHBOARDS, {"name": "Sales"}, format="json").status_code == 201
    status, code, _ = refusal(admin.post(DASHBOARDS, {"name": "Ops"}, format="json"))
    assert (status, code) == (400, "limit_reached") and not project.dashboards.filter(name="Ops").exists()


def test_live_share_links_are_capped_and_revoked_or_expired_ones_make_room(
    api: type, keys: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sharing, "MAX_LIVE_LINKS_PER_PROJECT", 2)
    admin = api(keys["admin"])
    first, second = (admin.post(SHARES, {}, format="json").json() for _ in range(2))
    assert refusal(admin.post(SHARES, {}, format="json"))[:2] == (400, "limit_reached")
    assert admin.delete(f"{SHARES}/{first['id']}").status_code == 200
    assert admin.post(SHARES, {}, format="json").status_code == 201
    ShareLink.objects.filter(pk=second["id"]).update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert admin.post(SHARES, {}, format="json").status_code == 201
    assert refusal(admin.post(SHARES, {}, format="json"))[:2] == (400, "limit_reached")
