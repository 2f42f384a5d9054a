"""Keys and members through the API: who may list and change them, tenant isolation, and the last owner."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from flux.tenants.models import ApiKey, Membership, Project, Role
from flux.tenants.services import add_member, issue_key

KEYS, MEMBERS = "/api/v1/project/keys", "/api/v1/project/members"


def as_user(user: User, project: Project) -> Client:
    client = Client(HTTP_X_FLUX_PROJECT=project.slug)
    client.force_login(user)
    return client


@pytest.fixture
def viewer(project: Project) -> User:
    user = User.objects.create_user("vera", "vera@example.com", "password")
    add_member(project, user, Role.VIEWER)
    return user


def test_an_owner_issues_a_key_shown_once_that_then_works(alice: User, project: Project, api: type) -> None:
    created = as_user(alice, project).post(
        KEYS, {"name": "checkout", "kind": "ingest"}, content_type="application/json"
    )
    assert created.status_code == 201
    body = created.json()
    assert (body["name"], body["kind"], body["key"].startswith(body["prefix"])) == ("checkout", "ingest", True)
    assert api(body["key"]).get("/api/v1/project").json()["key_kind"] == "ingest"
    listed = as_user(alice, project).get(KEYS).json()["keys"]
    assert [item["name"] for item in listed if item["id"] == body["id"]] == ["checkout"]
    assert all("key" not in item and "hashed_key" not in item for item in listed)


def test_revoking_a_key_refuses_it_at_once(alice: User, project: Project, api: type) -> None:
    issued = issue_key(project, "read", name="old")
    response = as_user(alice, project).delete(f"{KEYS}/{issued.api_key.pk}")
    assert response.status_code == 200 and response.json()["revoked_at"] is not None
    assert api(issued.raw_key).get("/api/v1/project").status_code == 401


def test_an_admin_key_manages_keys_and_other_kinds_cannot(api: type, keys: dict) -> None:
    assert api(keys["admin"]).post(KEYS, {"name": "ci", "kind": "read"}, format="json").status_code == 201
    assert api(keys["read"]).post(KEYS, {"name": "ci", "kind": "read"}, format="json").status_code == 403
    assert api(keys["ingest"]).post(KEYS, {"name": "ci", "kind": "read"}, format="json").status_code == 403
    assert api(keys["read"]).get(KEYS).status_code == 200
    assert api(keys["ingest"]).get(KEYS).status_code == 403


def test_an_unknown_kind_or_missing_name_is_a_clear_400(api: type, keys: dict) -> None:
    response = api(keys["admin"]).post(KEYS, {"name": "", "kind": "root"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"name", "kind"}


def test_keys_and_members_of_another_project_are_out_of_reach(
    api: type, keys: dict, other_project: Project, charlie: User
) -> None:
    foreign_key = issue_key(other_project, "read")
    foreign_member = Membership.objects.get(project=other_project, user=charlie)
    admin = api(keys["admin"])
    assert foreign_key.api_key.pk not in [item["id"] for item in admin.get(KEYS).json()["keys"]]
    assert admin.delete(f"{KEYS}/{foreign_key.api_key.pk}").status_code == 404
    assert admin.patch(f"{MEMBERS}/{foreign_member.pk}", {"role": "viewer"}, format="json").status_code == 404
    assert admin.delete(f"{MEMBERS}/{foreign_member.pk}").status_code == 404
    assert ApiKey.objects.get(pk=foreign_key.api_key.pk).revoked_at is None
    assert Membership.objects.get(pk=foreign_member.pk).role == Role.OWNER


def test_an_owner_adds_a_user_by_email_or_username(alice: User, charlie: User, project: Project) -> None:
    owner = as_user(alice, project)
    added = owner.post(MEMBERS, {"user": "CHARLIE@example.com", "role": "viewer"}, content_type="application/json")
    assert added.status_code == 201
    assert (added.json()["username"], added.json()["role"]) == ("charlie", "viewer")
    again = owner.post(MEMBERS, {"user": "charlie"}, content_type="application/json")
    assert (again.status_code, again.json()["error"]["code"]) == (400, "membership_refused")


def test_a_read_key_lists_members_without_their_emails(api: type, keys: dict, alice: User, project: Project) -> None:
    """A read key sits in scripts and BI tools: it listed every member's email address."""
    by_read_key = api(keys["read"]).get(MEMBERS).json()["members"]
    assert [item["email"] for item in by_read_key if item["username"] == "alice"] == [None]
    by_admin_key = api(keys["admin"]).get(MEMBERS).json()["members"]
    by_owner = as_user(alice, project).get(MEMBERS).json()["members"]
    assert [item["email"] for item in by_admin_key + by_owner if item["username"] == "alice"] == [alice.email] * 2


def test_adding_an_unknown_user_says_so(alice: User, project: Project) -> None:
    response = as_user(alice, project).post(MEMBERS, {"user": "nobody@example.com"}, content_type="application/json")
    assert response.status_code == 400
    assert "No user with the username or email 'nobody@example.com'" in response.json()["error"]["message"]


def test_an_owner_changes_a_role_and_removes_a_member(alice: User, bob: User, project: Project) -> None:
    owner, membership = as_user(alice, project), Membership.objects.get(project=project, user=bob)
    changed = owner.patch(f"{MEMBERS}/{membership.pk}", {"role": "viewer"}, content_type="application/json")
    assert changed.json()["role"] == "viewer"
    assert owner.delete(f"{MEMBERS}/{membership.pk}").status_code == 204
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_the_last_owner_can_be_neither_demoted_nor_removed(alice: User, project: Project) -> None:
    owner, membership = as_user(alice, project), Membership.objects.get(project=project, user=alice)
    demoted = owner.patch(f"{MEMBERS}/{membership.pk}", {"role": "member"}, content_type="application/json")
    assert (demoted.status_code, demoted.json()["error"]["code"]) == (400, "membership_refused")
    assert owner.delete(f"{MEMBERS}/{membership.pk}").status_code == 400
    assert Membership.objects.get(pk=membership.pk).role == Role.OWNER


def test_with_a_second_owner_the_first_can_step_down(alice: User, bob: User, project: Project) -> None:
    add_member(project, bob, Role.OWNER)
    membership = Membership.objects.get(project=project, user=alice)
    response = as_user(alice, project).patch(
        f"{MEMBERS}/{membership.pk}", {"role": "member"}, content_type="application/json"
    )
    assert response.json()["role"] == "member"


def endpoints(project: Project) -> list[tuple[str, str, dict | None]]:
    key = issue_key(project, "read", name="probe").api_key
    bob_membership = Membership.objects.get(project=project, user__username="bob")
    return [
        ("get", KEYS, None), ("get", MEMBERS, None),
        ("post", KEYS, {"name": "probe", "kind": "read"}), ("delete", f"{KEYS}/{key.pk}", None),
        ("post", MEMBERS, {"user": "zed@example.com"}),
        ("patch", f"{MEMBERS}/{bob_membership.pk}", {"role": "member"}),
        ("delete", f"{MEMBERS}/{bob_membership.pk}", None),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("persona", "reads", "writes"),
    [("alice", 200, "allowed"), ("bob", 200, 403), ("vera", 200, 403), ("charlie", 404, 404)],
)
def test_every_endpoint_walked_as_each_persona(
    persona: str, reads: int, writes: object, project: Project, viewer: User, charlie: User
) -> None:
    User.objects.create_user("zed", "zed@example.com", "password")
    client = as_user(User.objects.get(username=persona), project)
    for method, path, body in endpoints(project):
        response = (
            getattr(client, method)(path, body, content_type="application/json")
            if body
            else getattr(client, method)(path)
        )
        if method == "get":
            assert response.status_code == reads, (persona, method, path)
        elif writes == "allowed":
            assert response.status_code in (200, 201, 204), (persona, method, path, response.content)
        else:
            assert response.status_code == writes, (persona, method, path)


def test_a_viewer_refused_a_write_is_told_their_role_not_a_keys_kind(viewer: User, project: Project) -> None:
    response = as_user(viewer, project).patch(
        "/api/v1/anomalies/settings", {"enabled": False}, content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "Your role in this project (viewer) cannot do this."


@pytest.mark.parametrize(
    ("path", "body"),
    [(MEMBERS, {"user": "bob", "rol": "viewer"}), (KEYS, {"name": 12345, "kind": "read"}), (KEYS, ["x"])],
)
def test_a_misspelled_or_mistyped_field_is_refused_not_dropped(
    alice: User, project: Project, path: str, body: object
) -> None:
    """{"rol": "viewer"} made the user a member, the default, with more rights than asked for."""
    before = as_user(alice, project).get(path).json()
    response = as_user(alice, project).post(path, body, content_type="application/json")
    assert response.status_code == 400 and as_user(alice, project).get(path).json() == before
