import pytest
from django.contrib.auth.models import User

from flux.tenants.models import Project, Role
from flux.tenants.queries import get_key_by_raw, list_projects_for_user, user_can
from flux.tenants.services import add_member, issue_key, set_archived


@pytest.mark.parametrize(
    ("role", "view", "edit", "manage"),
    [
        (Role.OWNER, True, True, True),
        (Role.MEMBER, True, True, False),
        (Role.VIEWER, True, False, False),
        (None, False, False, False),
    ],
)
def test_each_role_allows_exactly_its_actions(
    project: Project, charlie: User, role: str | None, view: bool, edit: bool, manage: bool
) -> None:
    if role is not None:
        add_member(project, charlie, role)
    assert [user_can(project, charlie, action) for action in ("view", "edit", "manage")] == [view, edit, manage]


def test_superuser_can_do_everything_without_membership(project: Project) -> None:
    root = User.objects.create_superuser("root", "root@example.com", "pw")
    assert all(user_can(project, root, action) for action in ("view", "edit", "manage"))


def test_users_see_only_their_unarchived_projects(project: Project, other_project: Project, bob: User) -> None:
    assert list(list_projects_for_user(bob)) == [project]
    set_archived(project, True)
    assert list(list_projects_for_user(bob)) == []


def test_key_lookup_finds_the_key_with_its_project(project: Project) -> None:
    issued = issue_key(project, "read")
    found = get_key_by_raw(issued.raw_key)
    assert found == issued.api_key
    assert found.project == project


def test_key_lookup_ignores_unknown_and_malformed_keys(project: Project) -> None:
    assert get_key_by_raw("flx_read_" + "x" * 40) is None
    assert get_key_by_raw("not a key") is None
