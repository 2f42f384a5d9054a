"""Share links over the API: list, create (the token and URL are answered once) and revoke a dashboard's
links (read key to list, admin key to change); and the one endpoint a share token opens, the shared
dashboard's data. Share tokens are accepted nowhere else."""

from datetime import timedelta

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dashboards.api import DashboardAPIView
from dashboards.openapi.fields import DASHBOARD_REFERENCE
from dashboards.openapi.responses import DASHBOARD_NOT_FOUND
from dashboards.widget_data import data_window, widget_data
from flux.sharing import services
from flux.sharing.cache import cached_shared_data
from flux.web.api import NotFound, validated_body
from flux.web.auth import actor_of
from flux.web.openapi.errors import errors
from flux.web.openapi.keys import needs_key
from flux.web.serializers import range_json

SHARE_HEADER = "X-Flux-Share"
MAX_EXPIRY_DAYS = 365


class NewShareLink(serializers.Serializer):
    expires_in_days = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_EXPIRY_DAYS,
        help_text=f"The link stops working after this many days (1 to {MAX_EXPIRY_DAYS}); absent: never.",
    )  # fmt: skip


class ShareLinkShape(serializers.Serializer):
    id = serializers.IntegerField()
    prefix = serializers.CharField(help_text="The token's first characters, to recognise the link.")
    created_by = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class IssuedShareLink(ShareLinkShape):
    token = serializers.CharField(help_text="Shown this once; only its hash is kept.")
    url = serializers.CharField(help_text="The public page: read-only, live; add `?kiosk=1` for a TV screen.")


class ShareLinkList(serializers.Serializer):
    links = ShareLinkShape(many=True)


LINK_ID = OpenApiParameter("link_id", int, OpenApiParameter.PATH, description="The share link's `id`.")


class ShareLinkListView(DashboardAPIView):
    """GET/POST /api/v1/dashboards/{reference}/shares."""

    @extend_schema(
        operation_id="dashboards_shares_list",
        summary="List a dashboard's share links",
        description=needs_key("read", "Newest first, revoked and expired ones included; never their tokens."),
        parameters=[DASHBOARD_REFERENCE],
        responses={200: ShareLinkList, **errors(401, 403), 404: DASHBOARD_NOT_FOUND},
        tags=["Dashboards"],
    )
    def get(self, request: Request, reference: str) -> Response:
        links = services.list_share_links(self.dashboard(reference))
        return Response({"links": [services.share_link_json(link) for link in links]})

    @extend_schema(
        operation_id="dashboards_shares_create",
        summary="Share a dashboard publicly",
        description=needs_key(
            "admin",
            "A public read-only link to this dashboard (its widgets and their live data, nothing else of the "
            "project). The answer holds the link, the only time it is shown.",
        ),
        parameters=[DASHBOARD_REFERENCE],
        request=NewShareLink,
        responses={201: IssuedShareLink, **errors(400, 401, 403), 404: DASHBOARD_NOT_FOUND},
        tags=["Dashboards"],
    )
    def post(self, request: Request, reference: str) -> Response:
        dashboard = self.dashboard(reference)
        body = validated_body(NewShareLink, request)  # {"expires_in_day": 1} made a link that never expires
        days = body.validated_data.get("expires_in_days")
        expires_at = timezone.now() + timedelta(days=days) if days else None
        issued = services.create_share_link(dashboard, expires_at, actor_of(request))
        url = request.build_absolute_uri(f"/s/{issued.token}/")
        return Response({**services.share_link_json(issued.link), "token": issued.token, "url": url}, status=201)


class ShareLinkDetailView(DashboardAPIView):
    """DELETE /api/v1/dashboards/{reference}/shares/{link_id}."""

    @extend_schema(
        operation_id="dashboards_shares_revoke",
        summary="Revoke a share link",
        description=needs_key("admin", "The link stops working at once; it stays listed as revoked."),
        parameters=[DASHBOARD_REFERENCE, LINK_ID],
        responses={200: ShareLinkShape, **errors(401, 403, 404)},
        tags=["Dashboards"],
    )
    def delete(self, request: Request, reference: str, link_id: int) -> Response:
        link = services.get_share_link(self.dashboard(reference), link_id)
        if link is None:
            raise NotFound(f"No share link {link_id} on dashboard {reference!r}.")
        services.revoke_share_link(link)
        return Response(services.share_link_json(link))


class SharedDataView(APIView):
    """GET /api/v1/shared/data with `X-Flux-Share: <token>`: the shared dashboard's data over its saved range.

    Not in the OpenAPI schema: it serves the public page only. It takes no parameters, so a link cannot be
    used to query other ranges or filters than the dashboard's own."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        dashboard = services.dashboard_for_token(request.headers.get(SHARE_HEADER, ""))
        if dashboard is None:
            raise NotFound("This link does not exist, has expired or was revoked.")

        def compute() -> dict:
            time_range, filters = data_window(dashboard, {}, dashboard.project)
            data = {str(widget.pk): widget_data(dashboard.project, widget, time_range, filters)
                    for widget in dashboard.widgets.all()}  # fmt: skip
            return {"dashboard": dashboard.pk, **range_json(time_range), "widgets": data}

        return HttpResponse(cached_shared_data(dashboard, compute), content_type="application/json")
