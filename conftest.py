"""Shared test fixtures: personas (alice owns, bob is a member, charlie is an outsider) and API clients."""

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from flux.tenants.models import Project, Role
from flux.tenants.services import add_member, create_project, issue_key


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: object) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice(db: None) -> User:
    return User.objects.create_user("alice", "alice@example.com", "password")


@pytest.fixture
def bob(db: None) -> User:
    return User.objects.create_user("bob", "bob@example.com", "password")


@pytest.fixture
def charlie(db: None) -> User:
    return User.objects.create_user("charlie", "charlie@example.com", "password")


@pytest.fixture
def project(alice: User, bob: User) -> Project:
    project = create_project("Alice's shop", owner=alice)
    add_member(project, bob, Role.MEMBER)
    return project


@pytest.fixture
def other_project(charlie: User) -> Project:
    return create_project("Charlie's blog", owner=charlie)


@pytest.fixture
def keys(project: Project) -> dict[str, str]:
    """One raw key of each kind for `project`."""
    return {kind: issue_key(project, kind).raw_key for kind in ("ingest", "read", "admin")}


def client_with_key(raw_key: str | None) -> APIClient:
    client = APIClient()
    if raw_key is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


@pytest.fixture
def api() -> type:
    """`api(key)` gives an APIClient that sends `key` as a Bearer token."""
    return client_with_key


@pytest.fixture
def post_json(client: object) -> object:
    """`post_json(path, body, key=..., **headers)`: a JSON POST the way an SDK sends it."""
    import json

    def post(path: str, body: object, key: str | None = None, **headers: str) -> object:
        if key is not None:
            headers.setdefault("HTTP_AUTHORIZATION", f"Bearer {key}")
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        content_type = headers.pop("content_type", "application/json")
        return client.post(path, data=data, content_type=content_type, **headers)

    return post
