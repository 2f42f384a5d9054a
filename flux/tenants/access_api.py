"""Keys and members of the project, from the app: list them (any read access), and, as an admin key or a
project owner, issue and revoke keys, invite and remove members and change their roles."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from flux.tenants import queries, services
from flux.tenants.models import ApiKey, KeyKind, Membership, Role
from flux.web.api import FluxError, NotFound, ProjectAPIView, validated_body
from flux.web.auth import CanManageProject, HasReadKey, SessionGrant
from flux.web.openapi.errors import errors
from flux.web.openapi.keys import needs_key

MANAGE = "Only an admin key, or a project owner signed in to the app, can do this."


class KeyShape(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(allow_blank=True)
    kind = serializers.ChoiceField(KeyKind.values)
    prefix = serializers.CharField(help_text="The key's first characters, to recognise it.")
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    provisioned = serializers.BooleanField()


class IssuedKeyShape(KeyShape):
    key = serializers.CharField(help_text="The whole key: shown this once, never again (only its hash is kept).")


class KeyList(serializers.Serializer):
    keys = KeyShape(many=True)


class NewKey(serializers.Serializer):
    name = serializers.CharField(max_length=200, help_text="What the key is for, e.g. `checkout service`.")
    kind = serializers.ChoiceField(KeyKind.values, help_text="`ingest` writes, `read` queries, `admin` does all.")


class MemberShape(serializers.Serializer):
    id = serializers.IntegerField(help_text="The membership's id.")
    username = serializers.CharField()
    email = serializers.CharField(
        allow_blank=True, allow_null=True,
        help_text="Shown to the project's signed-in people and to admin keys; null for a read key.",
    )  # fmt: skip
    role = serializers.ChoiceField(Role.values)
    created_at = serializers.DateTimeField()


class MemberList(serializers.Serializer):
    members = MemberShape(many=True)


class NewMember(serializers.Serializer):
    user = serializers.CharField(max_length=254, help_text="An existing user's username or email.")
    role = serializers.ChoiceField(Role.values, default=Role.MEMBER)


class RoleChange(serializers.Serializer):
    role = serializers.ChoiceField(Role.values)


KEY_ID = OpenApiParameter("key_id", int, OpenApiParameter.PATH, description="The key's `id`.")
MEMBER_ID = OpenApiParameter("member_id", int, OpenApiParameter.PATH, description="The membership's `id`.")


def key_json(api_key: ApiKey) -> dict:
    return {
        "id": api_key.pk, "name": api_key.name, "kind": api_key.kind, "prefix": api_key.prefix,
        "created_at": api_key.created_at, "last_used_at": api_key.last_used_at, "revoked_at": api_key.revoked_at,
        "provisioned": api_key.provisioned,
    }  # fmt: skip


def member_json(membership: Membership, request: Request) -> dict:
    user = membership.user
    return {
        "id": membership.pk, "username": user.get_username(), "email": user.email if sees_emails(request) else None,
        "role": membership.role, "created_at": membership.created_at,
    }  # fmt: skip


def sees_emails(request: Request) -> bool:
    # A read key sits in scripts and BI tools: the team's addresses are not what it was issued for.
    return isinstance(request.auth, SessionGrant) or request.auth.kind == KeyKind.ADMIN


def body_of(shape: type[serializers.Serializer], request: Request) -> dict:
    # Closed: {"user": "dave", "rol": "viewer"} made dave a member, the default role, not a viewer.
    return validated_body(shape, request).validated_data


class AccessAPIView(ProjectAPIView):
    def get_permissions(self) -> list:
        return [HasReadKey()] if self.request.method in ("GET", "HEAD", "OPTIONS") else [CanManageProject()]


class KeyListView(AccessAPIView):
    """GET/POST /api/v1/project/keys."""

    @extend_schema(
        operation_id="project_keys_list",
        summary="List API keys",
        description=needs_key("read", "The project's keys, live ones first: names, kinds and prefixes, never keys."),
        responses={200: KeyList, **errors(401, 403)},
        tags=["Projects"],
    )
    def get(self, request: Request) -> Response:
        return Response({"keys": [key_json(api_key) for api_key in queries.list_keys(self.project)]})

    @extend_schema(
        operation_id="project_keys_create",
        summary="Issue an API key",
        description=needs_key("admin", f"The answer holds the whole key, the only time it is shown. {MANAGE}"),
        request=NewKey,
        responses={201: IssuedKeyShape, **errors(400, 401, 403)},
        tags=["Projects"],
    )
    def post(self, request: Request) -> Response:
        data = body_of(NewKey, request)
        issued = services.issue_another_key(self.project, data["kind"], name=data["name"])
        return Response({**key_json(issued.api_key), "key": issued.raw_key}, status=201)


class KeyDetailView(AccessAPIView):
    """DELETE /api/v1/project/keys/{key_id}."""

    @extend_schema(
        operation_id="project_keys_revoke",
        summary="Revoke an API key",
        description=needs_key("admin", f"Requests with the key are refused from now on; it stays listed. {MANAGE}"),
        parameters=[KEY_ID],
        responses={200: KeyShape, **errors(401, 403, 404)},
        tags=["Projects"],
    )
    def delete(self, request: Request, key_id: int) -> Response:
        api_key = queries.get_key(self.project, key_id)
        if api_key is None:
            raise NotFound(f"No key {key_id} in this project.")
        services.revoke_key(api_key)
        return Response(key_json(api_key))


class MemberListView(AccessAPIView):
    """GET/POST /api/v1/project/members."""

    @extend_schema(
        operation_id="project_members_list",
        summary="List members",
        description=needs_key("read", "Who has access to the project in the app, and their roles."),
        responses={200: MemberList, **errors(401, 403)},
        tags=["Projects"],
    )
    def get(self, request: Request) -> Response:
        return Response({"members": [member_json(item, request) for item in queries.list_members(self.project)]})

    @extend_schema(
        operation_id="project_members_create",
        summary="Add a member",
        description=needs_key(
            "admin", f"Gives an existing user (by username or email) a role; no invitation email. {MANAGE}"
        ),
        request=NewMember,
        responses={201: MemberShape, **errors(400, 401, 403)},
        tags=["Projects"],
    )
    def post(self, request: Request) -> Response:
        data = body_of(NewMember, request)
        try:
            membership = services.invite_member(self.project, data["user"], data["role"])
        except services.MembershipRefused as refusal:
            raise FluxError(str(refusal), code="membership_refused") from None
        return Response(member_json(membership, request), status=201)


class MemberDetailView(AccessAPIView):
    """PATCH/DELETE /api/v1/project/members/{member_id}."""

    def membership(self, member_id: int) -> Membership:
        membership = queries.get_membership(self.project, member_id)
        if membership is None:
            raise NotFound(f"No member {member_id} in this project.")
        return membership

    @extend_schema(
        operation_id="project_members_update",
        summary="Change a member's role",
        description=needs_key("admin", f"The project always keeps one owner. {MANAGE}"),
        parameters=[MEMBER_ID],
        request=RoleChange,
        responses={200: MemberShape, **errors(400, 401, 403, 404)},
        tags=["Projects"],
    )
    def patch(self, request: Request, member_id: int) -> Response:
        membership, data = self.membership(member_id), body_of(RoleChange, request)
        try:
            services.change_role(membership, data["role"])
        except services.MembershipRefused as refusal:
            raise FluxError(str(refusal), code="membership_refused") from None
        return Response(member_json(membership, request))

    @extend_schema(
        operation_id="project_members_delete",
        summary="Remove a member",
        description=needs_key("admin", f"The user loses access to the project; not its last owner. {MANAGE}"),
        parameters=[MEMBER_ID],
        responses={204: None, **errors(400, 401, 403, 404)},
        tags=["Projects"],
    )
    def delete(self, request: Request, member_id: int) -> Response:
        try:
            services.remove_member(self.membership(member_id))
        except services.MembershipRefused as refusal:
            raise FluxError(str(refusal), code="membership_refused") from None
        return Response(status=204)
