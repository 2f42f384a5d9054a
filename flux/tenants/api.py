import hmac

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from flux.tenants.services import provision_project
from flux.web.api import FluxError, NotFound
from flux.web.openapi.errors import error
from flux.web.openapi.projects import ProvisionedProject


class ProvisionRequest(serializers.Serializer):
    name = serializers.CharField(max_length=150, help_text="The app's name.")
    environment = serializers.CharField(
        max_length=40,
        required=False,
        default="production",
        allow_blank=True,
        help_text="`production`/`prod` (the default), `staging`/`stage`, `development`/`dev`/`local`/`test`, or any "
        "other name (a production project with its own slug).",
    )


class MasterKeyRefused(FluxError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "invalid_master_key"


class ProvisionView(APIView):
    """POST /api/v1/projects/provision — find or create a project by name, with its keys (X-Master-Key)."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="projects_provision",
        summary="Find or create a project, with its provisioned keys",
        description="What the BrainzLab SDK calls to provision its project (`FLUX_MASTER_KEY` must be set). The "
        "project is found by slug: the name for production, `name-environment` otherwise; every call answers the "
        "project's same two keys (derived from the server's SECRET_KEY, stored as hashes; a revoked one is replaced "
        "by a new one), so app boots do not mint keys. Provisioned keys never used within "
        "FLUX_PROVISIONED_KEY_UNUSED_DAYS (default 7) are revoked by a daily task. Concurrent first calls for one "
        "new app all succeed and find the same project.",
        parameters=[
            OpenApiParameter(
                "X-Master-Key", str, OpenApiParameter.HEADER, required=True, description="The server's FLUX_MASTER_KEY."
            )
        ],
        request=ProvisionRequest,
        responses={
            201: OpenApiResponse(ProvisionedProject, "The project was created."),
            200: OpenApiResponse(ProvisionedProject, "The project already existed."),
            400: error(400, "`invalid` (the body; `details` maps fields to messages) or `project_archived`."),
            401: error(401, "`invalid_master_key`: the X-Master-Key header is missing or wrong."),
            404: error(404, "`not_found`: provisioning is disabled (FLUX_MASTER_KEY is not set)."),
        },
        tags=["Projects"],
    )
    def post(self, request: Request) -> Response:
        master_key = settings.FLUX_MASTER_KEY
        if not master_key:
            raise NotFound("Provisioning is disabled on this server (FLUX_MASTER_KEY is not set).")
        offered = request.headers.get("X-Master-Key", "")
        if not offered:
            raise MasterKeyRefused("The X-Master-Key header is required.")
        if not hmac.compare_digest(offered.encode(), master_key.encode()):
            raise MasterKeyRefused("The master key is not valid.")
        body = ProvisionRequest(data=request.data)
        body.is_valid(raise_exception=True)
        provisioned = provision_project(body.validated_data["name"], body.validated_data["environment"])
        project = provisioned.project
        if project.archived:
            raise FluxError(f"Project {project.slug!r} is archived.", code="project_archived")
        payload = {
            "id": project.pk, "name": project.name, "slug": project.slug, "environment": project.environment,
            "ingest_key": provisioned.ingest_key, "api_key": provisioned.admin_key,
        }  # fmt: skip
        return Response(payload, status=status.HTTP_201_CREATED if provisioned.created else status.HTTP_200_OK)
