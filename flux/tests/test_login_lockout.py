"""Logins are throttled (django-axes): ten failures for one username from one address lock that pair out."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

LOGIN_PAGES = ["/login/", "/admin/login/"]


def log_in(client: Client, path: str, username: str, password: str) -> object:
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR="203.0.113.7")


@pytest.fixture
def root(db: None) -> User:
    return User.objects.create_superuser("root", "root@example.com", "right-password")


@pytest.mark.parametrize("path", LOGIN_PAGES)
def test_forty_wrong_passwords_lock_out_the_right_one(client: Client, root: User, path: str) -> None:
    for attempt in range(40):
        log_in(client, path, "root", f"guess-{attempt}")
    response = log_in(client, path, "root", "right-password")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert b"Too many failed logins" in response.content


def test_nine_wrong_passwords_still_let_the_right_one_in(client: Client, root: User) -> None:
    for attempt in range(9):
        log_in(client, "/login/", "root", f"guess-{attempt}")
    assert log_in(client, "/login/", "root", "right-password").status_code == 302
    assert client.session["_auth_user_id"] == str(root.pk)


def test_a_lockout_does_not_reach_another_address(client: Client, root: User) -> None:
    for attempt in range(10):
        log_in(client, "/login/", "root", f"guess-{attempt}")
    elsewhere = client.post("/login/", {"username": "root", "password": "right-password"}, REMOTE_ADDR="198.51.100.1")
    assert elsewhere.status_code == 302


def test_a_forwarded_for_header_cannot_dodge_the_lockout(client: Client, root: User) -> None:
    for attempt in range(10):
        client.post(
            "/login/", {"username": "root", "password": f"guess-{attempt}"},
            REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR=f"10.0.0.{attempt}",
        )  # fmt: skip
    assert log_in(client, "/login/", "root", "right-password").status_code == 429
