"""Reads of projects, memberships and API keys."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from flux.tenants.keys import hash_key, looks_like_key
from flux.tenants.models import ApiKey, Membership, Project, Role

# What each membership role may do in the project's UI; each role includes the ones below it.
ROLE_RANK = {Role.VIEWER: 1, Role.MEMBER: 2, Role.OWNER: 3}
ACTION_MIN_ROLE = {"view": Role.VIEWER, "edit": Role.MEMBER, "manage": Role.OWNER}


def get_key_by_raw(raw_key: str) -> ApiKey | None:
    """The key (with its project) whose hash matches, revoked or not; None when unknown."""
    if not looks_like_key(raw_key):
        return None
    return ApiKey.objects.select_related("project").filter(hashed_key=hash_key(raw_key)).first()


def get_role(project: Project, user: AbstractBaseUser) -> str | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(project=project, user=user).values_list("role", flat=True).first()


def user_can(project: Project, user: AbstractBaseUser, action: str) -> bool:
    """Whether `user` may `view`, `edit` (dashboards, anomalies) or `manage` (keys, members) `project`."""
    if user.is_authenticated and user.is_superuser:
        return True
    role = get_role(project, user)
    return role is not None and ROLE_RANK[Role(role)] >= ROLE_RANK[ACTION_MIN_ROLE[action]]


def list_projects_for_user(user: AbstractBaseUser) -> QuerySet[Project]:
    """Projects the user is a member of (all of them for a superuser), archived ones excluded."""
    projects = Project.objects.filter(archived=False)
    if user.is_superuser:
        return projects
    return projects.filter(memberships__user=user)
