"""Writes to projects, memberships and API keys."""

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from flux.storage.citus import sequential_shard_writes
from flux.tenants.keys import derived_key, generate_key, hash_key, visible_prefix
from flux.tenants.limits import ensure_room
from flux.tenants.models import ApiKey, Environment, KeyKind, Membership, Project, Role
from flux.tenants.queries import key_cache


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    raw_key: str  # shown to the user once, never stored


def unique_slug(name: str) -> str:
    base = slugify(name)[:90] or "project"
    slug, suffix = base, 2
    while Project.objects.filter(slug=slug).exists():
        slug, suffix = f"{base}-{suffix}", suffix + 1
    return slug


@transaction.atomic
def create_project(
    name: str,
    *,
    slug: str | None = None,
    environment: str = Environment.PRODUCTION,
    timezone_name: str = "UTC",
    retention_days: int | None = None,
    owner: AbstractBaseUser | None = None,
) -> Project:
    """Create a project (validated like the admin form) and make `owner` its owner."""
    project = Project(
        name=name,
        slug=slug or unique_slug(name),
        environment=environment,
        timezone=timezone_name,
        retention_days=retention_days or settings.FLUX_DEFAULT_RETENTION_DAYS,
    )
    project.full_clean()
    project.save()
    if owner is not None:
        Membership.objects.create(user=owner, project=project, role=Role.OWNER)
    return project


def issue_key(project: Project, kind: str, name: str = "") -> IssuedKey:
    """Create an API key of `kind`; the returned raw key is the only copy there will ever be."""
    if kind not in KeyKind.values:
        raise ValueError(f"unknown key kind {kind!r}")
    raw_key = generate_key(kind)
    api_key = ApiKey.objects.create(
        project=project, kind=kind, name=name, prefix=visible_prefix(raw_key), hashed_key=hash_key(raw_key)
    )
    return IssuedKey(api_key=api_key, raw_key=raw_key)


# Live keys per project: enough for one per service and environment, not a key per request.
MAX_LIVE_KEYS_PER_PROJECT = 100


@transaction.atomic
def issue_another_key(project: Project, kind: str, name: str = "") -> IssuedKey:
    """A key asked for by a project's admin (API or app): refused past MAX_LIVE_KEYS_PER_PROJECT live keys."""
    live = ApiKey.objects.filter(project=project, revoked_at__isnull=True)
    ensure_room(project, live, MAX_LIVE_KEYS_PER_PROJECT, "live API keys", "revoke unused ones first")
    return issue_key(project, kind, name)


def provisioned_key(project: Project, kind: str, name: str) -> str:
    """The project's live provisioned key of `kind`: the same on every call, so app boots do not mint keys.

    Generation n of the key is derived from SECRET_KEY, the project and n (only its hash is stored, as
    for every key); a revoked generation is skipped, so after a revocation the next call mints n + 1.
    """
    for generation in itertools.count():
        raw_key = derived_key(kind, settings.SECRET_KEY, f"flux-provisioned-key:{project.pk}:{kind}:{generation}")
        existing = ApiKey.objects.filter(hashed_key=hash_key(raw_key)).first()
        if existing is None:
            try:
                with transaction.atomic():
                    ApiKey.objects.create(
                        project=project, kind=kind, name=name, prefix=visible_prefix(raw_key),
                        hashed_key=hash_key(raw_key), provisioned=True,
                    )  # fmt: skip
                return raw_key
            except IntegrityError:  # a concurrent call created this generation a moment ago
                existing = ApiKey.objects.get(hashed_key=hash_key(raw_key))
        if existing.revoked_at is None:
            return raw_key
    raise AssertionError("unreachable")


@transaction.atomic
def create_project_with_keys(name: str, **project_fields) -> tuple[Project, dict[str, str]]:
    """Create a project plus one key of each kind; returns the raw keys by kind."""
    project = create_project(name, **project_fields)
    raw_keys = {kind: issue_key(project, kind, name=f"{kind} key").raw_key for kind in KeyKind.values}
    return project, raw_keys


def revoke_key(api_key: ApiKey) -> None:
    """Revoke a key; later requests with it get 401. Revoking twice keeps the first time."""
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    api_key.refresh_from_db(fields=["revoked_at"])
    key_cache.forget(hashed=api_key.hashed_key)


def set_archived(project: Project, archived: bool) -> None:
    """Archive (or restore) a project; an archived project's keys are refused with 403."""
    Project.objects.filter(pk=project.pk).update(archived=archived, updated_at=timezone.now())
    project.refresh_from_db(fields=["archived", "updated_at"])
    key_cache.forget(project_id=project.pk)


def delete_project(project: Project) -> None:
    """Delete a project and everything it owns; its raw data is purged in the background after commit."""
    from flux.storage.tasks import purge_project_data  # tasks import storage, which imports these models

    project_id = project.pk
    key_cache.forget(project_id=project_id)
    with transaction.atomic():
        sequential_shard_writes()
        project.delete()
        transaction.on_commit(lambda: purge_project_data.delay(project_id))


def add_member(project: Project, user: AbstractBaseUser, role: str = Role.MEMBER) -> Membership:
    """Give `user` a role in `project`, replacing any role they had."""
    membership, _ = Membership.objects.update_or_create(user=user, project=project, defaults={"role": role})
    return membership


def touch_last_used(api_key: ApiKey) -> None:
    """Record use at most once per FLUX_KEY_LAST_USED_EVERY_SECONDS, so auth stays one query."""
    now = timezone.now()
    every = timedelta(seconds=settings.FLUX_KEY_LAST_USED_EVERY_SECONDS)
    if api_key.last_used_at is not None and now - api_key.last_used_at < every:
        return
    # Conditional, so concurrent requests with the same key write at most once per period.
    ApiKey.objects.filter(pk=api_key.pk).filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - every)).update(
        last_used_at=now
    )
    api_key.last_used_at = now


# What SDKs send as `environment` (often the framework's env name), mapped to Flux's three.
ENVIRONMENT_ALIASES = {
    "development": Environment.DEVELOPMENT, "dev": Environment.DEVELOPMENT, "local": Environment.DEVELOPMENT,
    "test": Environment.DEVELOPMENT, "testing": Environment.DEVELOPMENT,
    "staging": Environment.STAGING, "stage": Environment.STAGING,
    "production": Environment.PRODUCTION, "prod": Environment.PRODUCTION,
}  # fmt: skip


@dataclass(frozen=True)
class Provisioned:
    project: Project
    created: bool
    ingest_key: str
    admin_key: str


@transaction.atomic
def provision_project(name: str, environment: str) -> Provisioned:
    """Find or create the project an SDK names, with its provisioned ingest key and admin key.

    The project is found by slug: the name for production, `name-environment` otherwise, so an app's
    staging and production data stay apart. Every call answers the same live keys (see provisioned_key);
    those never used are revoked after FLUX_PROVISIONED_KEY_UNUSED_DAYS.
    """
    environment_key = environment.strip().lower() or "production"
    mapped = ENVIRONMENT_ALIASES.get(environment_key, Environment.PRODUCTION)
    suffix = "" if environment_key in ("production", "prod") else f"-{environment_key}"
    slug = slugify(f"{name}{suffix}")[:100] or "project"
    display_name = name if not suffix else f"{name} ({environment_key})"
    project, created = find_or_create_project(slug, display_name, mapped)
    ingest_key = provisioned_key(project, KeyKind.INGEST, name="provisioned ingest key")
    admin_key = provisioned_key(project, KeyKind.ADMIN, name="provisioned api key")
    return Provisioned(project, created, ingest_key, admin_key)


def find_or_create_project(slug: str, name: str, environment: str) -> tuple[Project, bool]:
    """The project with `slug`, created if missing; safe when many app processes boot at the same moment.

    Losers of the race hit the slug's unique index (an IntegrityError once the winner commits, or a
    ValidationError from full_clean if it already has), roll back to the savepoint and read the winner's row.
    """
    project = Project.objects.filter(slug=slug).first()
    if project is not None:
        return project, False
    try:
        with transaction.atomic():
            return create_project(name, slug=slug, environment=environment), True
    except (IntegrityError, ValidationError):
        project = Project.objects.filter(slug=slug).first()
        if project is None:  # not a lost race: a real validation problem
            raise
        return project, False


def revoke_unused_provisioned_keys(now: datetime) -> int:
    """Revoke provisioned keys never used within FLUX_PROVISIONED_KEY_UNUSED_DAYS of their creation."""
    days = settings.FLUX_PROVISIONED_KEY_UNUSED_DAYS
    if days <= 0:
        return 0
    stale = ApiKey.objects.filter(
        provisioned=True, last_used_at__isnull=True, revoked_at__isnull=True, created_at__lt=now - timedelta(days=days)
    )
    hashes = list(stale.values_list("hashed_key", flat=True))
    revoked = stale.update(revoked_at=now)
    for hashed in hashes:
        key_cache.forget(hashed=hashed)
    return revoked


class MembershipRefused(ValueError):
    """A membership change that would break the project (its last owner), or names no user."""


def find_user(identifier: str) -> AbstractBaseUser | None:
    """The existing, active user whose username or email (either, case-insensitively) is `identifier`."""
    from django.contrib.auth import get_user_model

    identifier = identifier.strip()
    if not identifier:
        return None
    users = get_user_model().objects.filter(is_active=True)
    return (
        users.filter(username__iexact=identifier).first()
        or users.filter(email__iexact=identifier).order_by("pk").first()
    )


def invite_member(project: Project, identifier: str, role: str = Role.MEMBER) -> Membership:
    """Give the existing user named by username or email a role in `project` (no email is sent)."""
    user = find_user(identifier)
    if user is None:
        raise MembershipRefused(f"No user with the username or email {identifier!r}; an admin creates users first.")
    if Membership.objects.filter(project=project, user=user).exists():
        raise MembershipRefused(f"{user.get_username()} is already a member of this project.")
    return add_member(project, user, role)


@transaction.atomic
def change_role(membership: Membership, role: str) -> Membership:
    """Change a member's role; the project always keeps at least one owner."""
    if membership.role == Role.OWNER and role != Role.OWNER:
        refuse_if_last_owner(membership)
    Membership.objects.filter(pk=membership.pk).update(role=role)
    membership.role = role
    return membership


@transaction.atomic
def remove_member(membership: Membership) -> None:
    """Take a user out of the project; its last owner cannot be removed."""
    if membership.role == Role.OWNER:
        refuse_if_last_owner(membership)
    membership.delete()


def refuse_if_last_owner(membership: Membership) -> None:
    # Locking the owners' rows makes two owners demoting each other at once wait, so one of them is refused.
    owners = list(
        Membership.objects.select_for_update()
        .filter(project_id=membership.project_id, role=Role.OWNER)
        .values_list("pk", flat=True)
    )
    if owners == [membership.pk]:
        raise MembershipRefused("A project keeps at least one owner: make someone else owner first.")
