"""Public read-only share links of dashboards: issue (the token is shown once), find by token, revoke."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from dashboards.models import Dashboard
from flux.sharing.models import ShareLink
from flux.tenants.limits import ensure_room

TOKEN_PREFIX = "fxs_"  # noqa: S105 - a recognisable prefix, not a secret
TOKEN_BYTES = 32  # 256 random bits: not guessable, so a link is as strong as an API key
MAX_LIVE_LINKS_PER_PROJECT = 500


@dataclass(frozen=True)
class IssuedLink:
    link: ShareLink
    token: str  # shown once, never stored


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def create_share_link(dashboard: Dashboard, expires_at: datetime | None, actor: str) -> IssuedLink:
    """A new share link of `dashboard`; the returned token is the only copy there will ever be. Refused past
    MAX_LIVE_LINKS_PER_PROJECT live links (revoked and expired ones do not count)."""
    live = ShareLink.objects.filter(dashboard__project_id=dashboard.project_id, revoked_at__isnull=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
    )
    ensure_room(dashboard.project, live, MAX_LIVE_LINKS_PER_PROJECT, "live share links", "revoke unused ones first")
    token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    link = ShareLink.objects.create(
        dashboard=dashboard, hashed_token=hash_token(token), prefix=token[:10], expires_at=expires_at, created_by=actor
    )
    return IssuedLink(link, token)


def revoke_share_link(link: ShareLink) -> None:
    """The link stops working at once, open shared pages included (their socket is refused on reconnect)."""
    ShareLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    link.refresh_from_db(fields=["revoked_at"])


def list_share_links(dashboard: Dashboard) -> QuerySet[ShareLink]:
    return ShareLink.objects.filter(dashboard=dashboard)


def get_share_link(dashboard: Dashboard, link_id: int) -> ShareLink | None:
    return ShareLink.objects.filter(dashboard=dashboard, pk=link_id).first()


def dashboard_for_token(token: str) -> Dashboard | None:
    """The dashboard a live (not revoked, not expired) link opens, with its project; None otherwise."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    link = (
        ShareLink.objects.select_related("dashboard__project")
        .filter(hashed_token=hash_token(token), revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        .first()
    )
    if link is None or link.dashboard.project.archived:
        return None
    return link.dashboard


def share_link_json(link: ShareLink) -> dict:
    return {
        "id": link.pk, "prefix": link.prefix, "created_by": link.created_by, "created_at": link.created_at,
        "expires_at": link.expires_at, "revoked_at": link.revoked_at,
    }  # fmt: skip
