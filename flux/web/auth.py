"""Authentication for the REST API.

Programs send an API key (`Authorization: Bearer <key>` or `X-API-Key: <key>`). Flux's own pages send
the signed-in user's session with an `X-Flux-Project: <slug>` header (and the CSRF token for writes);
the user then has the rights of their role in that project: viewers those of a read key, members and
owners those of an admin key.
"""

from dataclasses import dataclass

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from flux.tenants.models import ApiKey, KeyKind, Project, Role
from flux.tenants.queries import get_key_by_raw, get_role, list_projects_for_user
from flux.tenants.services import touch_last_used

# Which key kinds each API capability accepts. Admin keys can do everything.
KINDS_ALLOWED = {
    "ingest": {KeyKind.INGEST, KeyKind.ADMIN},
    "read": {KeyKind.READ, KeyKind.ADMIN},
    "admin": {KeyKind.ADMIN},
}


@dataclass(frozen=True)
class KeyPrincipal:
    """`request.user` for API requests: the project the key belongs to, never a person."""

    project: Project
    kind: str
    is_authenticated: bool = True
    is_anonymous: bool = False


def raw_key_from_headers(request: Request) -> str | None:
    authorization = request.headers.get("Authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.headers.get("X-API-Key", "").strip() or None


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[KeyPrincipal, ApiKey] | None:
        raw_key = raw_key_from_headers(request)
        if raw_key is None:
            return None
        return self.authenticate_key(raw_key)

    def authenticate_key(self, raw_key: str) -> tuple[KeyPrincipal, ApiKey]:
        api_key = get_key_by_raw(raw_key)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid API key.")
        if api_key.is_revoked:
            raise exceptions.AuthenticationFailed("This API key has been revoked.")
        if api_key.project.archived:
            raise exceptions.PermissionDenied(f"Project {api_key.project.slug!r} is archived.")
        touch_last_used(api_key)
        return KeyPrincipal(project=api_key.project, kind=api_key.kind), api_key

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) when the key is missing or invalid.
        return 'Bearer realm="flux"'


class IngestKeyInQueryAuthentication(ApiKeyAuthentication):
    """`?key=<ingest key>` on the ingestion endpoints' POSTs, for browsers: `navigator.sendBeacon` cannot set
    headers. Only ingest keys: they can only add data and are public in a page anyway, whereas a read or
    admin key in a URL would leak into access logs and browser history.
    """

    def authenticate(self, request: Request) -> tuple[KeyPrincipal, ApiKey] | None:
        raw_key = request.query_params.get("key", "").strip()
        if request.method != "POST" or not raw_key:
            return None
        principal, api_key = self.authenticate_key(raw_key)
        if api_key.kind != KeyKind.INGEST:
            raise exceptions.AuthenticationFailed(
                f"Only an ingest key may be sent as ?key=; send this {api_key.kind} key in the Authorization header."
            )
        return principal, api_key


PROJECT_HEADER = "X-Flux-Project"


@dataclass(frozen=True)
class SessionGrant:
    """`request.auth` for a signed-in user on a page: the key kind their role amounts to."""

    kind: str
    user_id: int | None
    label: str = ""  # who acts, when not a signed-in user (a local MCP session)
    role: str = ""  # the user's membership role; only owners manage keys and members


class SessionProjectAuthentication(SessionAuthentication):
    """A signed-in user acting on the project named by the X-Flux-Project header (CSRF enforced)."""

    def authenticate(self, request: Request) -> tuple[KeyPrincipal, SessionGrant] | None:
        slug = request.headers.get(PROJECT_HEADER)
        if not slug:
            return None
        signed_in = super().authenticate(request)
        if signed_in is None:
            return None
        user = signed_in[0]
        project = list_projects_for_user(user).filter(slug=slug).first()
        if project is None:
            raise exceptions.NotFound(f"No project {slug!r} for you.")
        role = Role.OWNER if user.is_superuser else get_role(project, user)
        kind = KeyKind.READ if role == Role.VIEWER else KeyKind.ADMIN
        return KeyPrincipal(project=project, kind=kind), SessionGrant(kind=kind, user_id=user.pk, role=role or "")


class _KeyKindPermission(BasePermission):
    capability = ""

    def has_permission(self, request: Request, view: object) -> bool:
        if not isinstance(request.auth, (ApiKey, SessionGrant)):
            return False
        if request.auth.kind not in KINDS_ALLOWED[self.capability]:
            if isinstance(request.auth, SessionGrant):  # a person signed in: their role, not a key, decides
                self.message = f"Your role in this project ({request.auth.role or 'none'}) cannot do this."
                return False
            article = "An" if request.auth.kind[0] in "aeiou" else "A"
            self.message = f"{article} {request.auth.kind} key cannot do this; it needs one of: " + ", ".join(
                sorted(KINDS_ALLOWED[self.capability])
            )
            return False
        return True


class HasIngestKey(_KeyKindPermission):
    capability = "ingest"


class HasReadKey(_KeyKindPermission):
    capability = "read"


class HasAdminKey(_KeyKindPermission):
    capability = "admin"


class CanManageProject(BasePermission):
    """Keys and members: an admin key, or the session of one of the project's owners (not a member)."""

    message = "Only an admin key or a project owner can manage keys and members."

    def has_permission(self, request: Request, view: object) -> bool:
        if isinstance(request.auth, ApiKey):
            return request.auth.kind == KeyKind.ADMIN
        return isinstance(request.auth, SessionGrant) and request.auth.role == Role.OWNER


class HasAnyKey(BasePermission):
    def has_permission(self, request: Request, view: object) -> bool:
        return isinstance(request.auth, (ApiKey, SessionGrant))


def actor_of(request: Request) -> str:
    """Who did something, for records kept as text: a username, or the API key's recognisable prefix."""
    if isinstance(request.auth, SessionGrant) and request.auth.label:
        return request.auth.label
    if isinstance(request.auth, SessionGrant):
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.filter(pk=request.auth.user_id).first()
        return user.get_username() if user else f"user {request.auth.user_id}"
    if isinstance(request.auth, ApiKey):
        return f"API key {request.auth.prefix}…"
    return ""
