"""The project settings page in a real browser: an owner issues, copies once and revokes a key, adds a
member and changes a role; a member sees the lists without the controls."""

import re

import pytest
from django.contrib.auth.models import User

from flux.tenants.models import ApiKey, Membership, Project, Role
from flux.tenants.services import add_member, create_project
from flux.tests.browser import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.live_login]


@pytest.fixture
def shop(transactional_db: None) -> Project:
    owner = User.objects.create_user("olivia", password="correct horse")
    member = User.objects.create_user("mike", "mike@example.com", password="correct horse")
    User.objects.create_user("nina", "nina@example.com", password="correct horse")
    project = create_project("Shop", owner=owner)
    add_member(project, member, Role.MEMBER)
    return project


def test_an_owner_creates_copies_once_and_revokes_a_key_and_adds_a_member(
    page: object, live_flux: str, shop: Project
) -> None:
    log_in(page, live_flux, "olivia", "correct horse", to_dashboard=False)
    page.click("nav >> text=Settings")
    page.wait_for_url(re.compile(r".*/settings/$"))
    page.fill("#new-key input[name=name]", "checkout service")
    page.select_option("#new-key select[name=kind]", "ingest")
    page.click("#new-key button[type=submit]")
    page.wait_for_selector("#issued-key:not([hidden])")
    raw_key = page.text_content("#issued-key-value")
    issued = ApiKey.objects.get(project=shop, name="checkout service")
    assert raw_key.startswith(issued.prefix) and issued.kind == "ingest"
    row = page.locator(f"#keys tbody tr[data-id='{issued.pk}']")
    assert "checkout service" in row.text_content() and raw_key not in row.text_content()

    page.reload()  # shown once: gone after a reload
    page.wait_for_selector(f"#keys tbody tr[data-id='{issued.pk}']")
    assert raw_key not in page.content()
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f"#keys tbody tr[data-id='{issued.pk}'] button[data-action=revoke]")
    page.wait_for_selector(f"#keys tbody tr[data-id='{issued.pk}'] >> text=revoked")
    assert ApiKey.objects.get(pk=issued.pk).revoked_at is not None

    page.fill("#new-member input[name=user]", "nina@example.com")
    page.select_option("#new-member select[name=role]", "viewer")
    page.click("#new-member button[type=submit]")
    page.wait_for_selector("#members tbody >> text=nina")
    nina = Membership.objects.get(project=shop, user__username="nina")
    assert nina.role == Role.VIEWER
    page.select_option(f"#members select[data-id='{nina.pk}']", "member")
    page.wait_for_selector("#members-status >> text=nina is now member.")
    assert Membership.objects.get(pk=nina.pk).role == Role.MEMBER


def test_a_member_sees_keys_and_members_but_no_controls(page: object, live_flux: str, shop: Project) -> None:
    log_in(page, live_flux, "mike", "correct horse", to_dashboard=False)
    page.goto(f"{live_flux}/p/{shop.slug}/settings/")
    page.wait_for_selector("#members tbody >> text=olivia")
    assert page.locator("#new-key").count() == 0 and page.locator("#new-member").count() == 0
    assert page.locator("#keys button, #members button, #members select").count() == 0
    assert page.is_visible("#read-only-note")
