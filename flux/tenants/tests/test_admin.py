import re

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.test import Client

from flux.tenants.keys import hash_key
from flux.tenants.models import ApiKey, Project
from flux.tenants.services import issue_key


@pytest.fixture
def admin_client_logged_in(db: None) -> Client:
    client = Client()
    # force_login: the login lockout's backend (django-axes) needs the request that Client.login() omits.
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def test_adding_a_key_shows_it_once_and_stores_its_hash(admin_client_logged_in: Client, project: Project) -> None:
    response = admin_client_logged_in.post(
        "/admin/tenants/apikey/add/", {"project": project.pk, "kind": "ingest", "name": "web servers"}, follow=True
    )
    messages = [str(message) for message in get_messages(response.wsgi_request)]
    shown = re.search(r"flx_ingest_[A-Za-z0-9]{40}", " ".join(messages) + response.content.decode())
    assert shown is not None
    stored = ApiKey.objects.get(project=project, name="web servers")
    assert stored.hashed_key == hash_key(shown.group(0))

    change_page = admin_client_logged_in.get(f"/admin/tenants/apikey/{stored.pk}/change/").content.decode()
    assert shown.group(0) not in change_page
    assert stored.prefix in change_page


def test_revoke_action_revokes_selected_keys(admin_client_logged_in: Client, project: Project) -> None:
    keep, revoke = issue_key(project, "read").api_key, issue_key(project, "read").api_key
    admin_client_logged_in.post(
        "/admin/tenants/apikey/", {"action": "revoke", "_selected_action": [revoke.pk]}, follow=True
    )
    keep.refresh_from_db()
    revoke.refresh_from_db()
    assert revoke.revoked_at is not None and keep.revoked_at is None


def test_archive_action_archives_projects(admin_client_logged_in: Client, project: Project) -> None:
    admin_client_logged_in.post("/admin/tenants/project/", {"action": "archive", "_selected_action": [project.pk]})
    project.refresh_from_db()
    assert project.archived


def test_project_pages_render_with_members_and_keys(admin_client_logged_in: Client, project: Project) -> None:
    issued = issue_key(project, "admin")
    page = admin_client_logged_in.get(f"/admin/tenants/project/{project.pk}/change/")
    assert page.status_code == 200
    body = page.content.decode()
    assert issued.api_key.prefix in body and "alice" in body
    assert f"/admin/tenants/apikey/add/?project={project.pk}" in body
    assert admin_client_logged_in.get("/admin/tenants/project/").status_code == 200


def test_admin_creates_a_project_with_an_owner(admin_client_logged_in: Client, alice: User) -> None:
    form = {
        "name": "New shop", "slug": "new-shop", "environment": "staging", "timezone": "Europe/Berlin",
        "retention_days": 14,
        "memberships-TOTAL_FORMS": 1, "memberships-INITIAL_FORMS": 0,
        "memberships-0-user": alice.pk, "memberships-0-role": "owner",
        "api_keys-TOTAL_FORMS": 0, "api_keys-INITIAL_FORMS": 0,
    }  # fmt: skip
    response = admin_client_logged_in.post("/admin/tenants/project/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    project = Project.objects.get(slug="new-shop")
    assert (project.timezone, project.retention_days) == ("Europe/Berlin", 14)
    assert project.memberships.get().user == alice


def test_deleting_a_project_in_the_admin_goes_through_the_service(
    admin_client_logged_in: Client, project: Project, django_capture_on_commit_callbacks: object
) -> None:
    from flux.tenants.services import issue_key

    issue_key(project, "ingest")  # a project with keys could not be deleted (keys are never deleted alone)
    confirm = admin_client_logged_in.get(f"/admin/tenants/project/{project.pk}/delete/").content.decode()
    assert "permission to delete" not in confirm
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client_logged_in.post(f"/admin/tenants/project/{project.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Project.objects.filter(pk=project.pk).exists()
    assert len(callbacks) == 1  # the raw-data purge is queued
