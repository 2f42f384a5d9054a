"""Reads of projects, memberships and API keys."""

import time

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F, QuerySet

from flux.tenants.keys import hash_key, looks_like_key
from flux.tenants.models import ApiKey, Membership, Project, Role

# What each membership role may do in the project's UI; each role includes the ones below it.
ROLE_RANK = {Role.VIEWER: 1, Role.MEMBER: 2, Role.OWNER: 3}
ACTION_MIN_ROLE = {"view": Role.VIEWER, "edit": Role.MEMBER, "manage": Role.OWNER}


class KeyCache:
    """Recently looked-up keys per process, for FLUX_KEY_CACHE_SECONDS, so ingestion skips the query.

    Revoking a key or archiving a project clears this process's entries at once; other processes see
    the change when their entry expires. Unknown keys are not cached (guessing must not fill memory).
    """

    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self.entries: dict[str, tuple[ApiKey, float]] = {}

    def get(self, hashed: str) -> ApiKey | None:
        entry = self.entries.get(hashed)
        return entry[0] if entry and entry[1] > time.monotonic() else None

    def put(self, api_key: ApiKey) -> None:
        if len(self.entries) >= self.MAX_ENTRIES:
            self.entries.clear()
        self.entries[api_key.hashed_key] = (api_key, time.monotonic() + settings.FLUX_KEY_CACHE_SECONDS)

    def forget(self, *, hashed: str | None = None, project_id: int | None = None) -> None:
        for key, (api_key, _) in list(self.entries.items()):
            if key == hashed or api_key.project_id == project_id:
                self.entries.pop(key, None)


key_cache = KeyCache()


def get_key_by_raw(raw_key: str) -> ApiKey | None:
    """The key (with its project) whose hash matches, revoked or not; None when unknown."""
    if not looks_like_key(raw_key):
        return None
    hashed = hash_key(raw_key)
    api_key = key_cache.get(hashed)
    if api_key is None:
        api_key = ApiKey.objects.select_related("project").filter(hashed_key=hashed).first()
        if api_key is not None and settings.FLUX_KEY_CACHE_SECONDS > 0:
            key_cache.put(api_key)
    return api_key


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


def get_project_for_user(user: AbstractBaseUser, slug: str) -> Project | None:
    """The project `slug` if `user` may see it (a member, or a superuser), else None."""
    if not user.is_authenticated:
        return None
    return list_projects_for_user(user).filter(slug=slug).first()


def list_keys(project: Project) -> QuerySet[ApiKey]:
    """The project's keys, live ones first, newest first within each."""
    return ApiKey.objects.filter(project=project).order_by(F("revoked_at").desc(nulls_first=True), "-created_at")


def get_key(project: Project, key_id: int) -> ApiKey | None:
    return ApiKey.objects.filter(project=project, pk=key_id).first()


def list_members(project: Project) -> QuerySet[Membership]:
    return Membership.objects.filter(project=project).select_related("user").order_by("user__username")


def get_membership(project: Project, membership_id: int) -> Membership | None:
    return Membership.objects.filter(project=project, pk=membership_id).select_related("user").first()
