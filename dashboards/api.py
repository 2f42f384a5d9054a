from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from dashboards import queries, services
from dashboards.models import Dashboard, Widget
from dashboards.openapi.dashboards import Dashboard as DashboardShape
from dashboards.openapi.dashboards import (
    DashboardChanges,
    DashboardExport,
    DashboardImport,
    DashboardInput,
    DashboardList,
    DuplicateRequest,
)
from dashboards.openapi.fields import DASHBOARD_REFERENCE
from dashboards.openapi.responses import (
    CHANGES_INVALID,
    DASHBOARD_INVALID,
    DASHBOARD_NOT_FOUND,
    DELETED,
    IMPORT_INVALID,
    LAYOUT_INVALID,
    NAME_INVALID,
    NOT_JSON,
)
from dashboards.openapi.widgets import LayoutEntry
from dashboards.serializers import dashboard_json
from flux.web.api import NotFound, ProjectAPIView
from flux.web.auth import HasAdminKey, HasReadKey
from flux.web.openapi.errors import errors
from flux.web.openapi.keys import needs_key


class DashboardAPIView(ProjectAPIView):
    """Reading needs a read key; changing a dashboard needs an admin key (dashboards as code)."""

    def get_permissions(self) -> list:
        return [HasReadKey()] if self.request.method in ("GET", "HEAD", "OPTIONS") else [HasAdminKey()]

    def dashboard(self, reference: str) -> Dashboard:
        dashboard = queries.get_dashboard(self.project, reference)
        if dashboard is None:
            raise NotFound(f"No dashboard {reference!r} in this project.")
        return dashboard

    def widget(self, reference: str, widget_id: int) -> Widget:
        widget = queries.get_widget(self.dashboard(reference), widget_id)
        if widget is None:
            raise NotFound(f"No widget {widget_id} on dashboard {reference!r}.")
        return widget


def body_of(request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise services.DashboardConfigError("the body must be a JSON object", details={"field": "body"})
    return request.data


class DashboardListView(DashboardAPIView):
    """GET /api/v1/dashboards — the project's dashboards; POST — create one (with widgets)."""

    @extend_schema(
        operation_id="dashboards_list",
        summary="List dashboards",
        description=needs_key("read", "The project's dashboards without their widgets, the default first."),
        responses={200: DashboardList, **errors(401, 403)},
        tags=["Dashboards"],
    )
    def get(self, request: Request) -> Response:
        dashboards = queries.list_dashboards(self.project)
        return Response({"dashboards": [dashboard_json(dashboard, with_widgets=False) for dashboard in dashboards]})

    @extend_schema(
        operation_id="dashboards_create",
        summary="Create a dashboard",
        description=needs_key(
            "admin",
            "A dashboard with its widgets, all validated first: nothing is created when any part is invalid. The "
            "slug comes from the name (`-2`, `-3`… when taken).",
        ),
        request=DashboardInput,
        responses={
            201: OpenApiResponse(DashboardShape, "Created: the dashboard with its widgets."),
            400: DASHBOARD_INVALID,
            **errors(401, 403),
            415: NOT_JSON,
        },
        tags=["Dashboards"],
    )
    def post(self, request: Request) -> Response:
        body = body_of(request)
        services.refuse_unknown(body, ("name", "description", "settings", "widgets", "is_default"))
        dashboard = services.create_dashboard(
            self.project, body.get("name"), description=body.get("description"), settings=body.get("settings"),
            widgets=body.get("widgets", []), is_default=body.get("is_default", False),
        )  # fmt: skip
        return Response(dashboard_json(dashboard), status=status.HTTP_201_CREATED)


class DashboardDetailView(DashboardAPIView):
    """GET/PATCH/DELETE /api/v1/dashboards/{id or slug}."""

    @extend_schema(
        operation_id="dashboards_retrieve",
        summary="One dashboard",
        description=needs_key("read", "A dashboard of this project by id or slug, with its widgets."),
        parameters=[DASHBOARD_REFERENCE],
        responses={200: DashboardShape, **errors(401, 403), 404: DASHBOARD_NOT_FOUND},
        tags=["Dashboards"],
    )
    def get(self, request: Request, reference: str) -> Response:
        return Response(dashboard_json(self.dashboard(reference)))

    @extend_schema(
        operation_id="dashboards_partial_update",
        summary="Change a dashboard",
        description=needs_key(
            "admin",
            "Rename it (the slug follows), describe it, replace its settings or make it the default. Widgets "
            "change through `…/widgets` and `…/layout`.",
        ),
        parameters=[DASHBOARD_REFERENCE],
        request=DashboardChanges,
        responses={
            200: DashboardShape,
            400: CHANGES_INVALID,
            **errors(401, 403),
            404: DASHBOARD_NOT_FOUND,
            415: NOT_JSON,
        },
        tags=["Dashboards"],
    )
    def patch(self, request: Request, reference: str) -> Response:
        dashboard = services.update_dashboard(self.dashboard(reference), body_of(request))
        return Response(dashboard_json(dashboard))

    @extend_schema(
        operation_id="dashboards_destroy",
        summary="Delete a dashboard",
        description=needs_key(
            "admin", "Delete it with its widgets. If it was the default, the oldest remaining one becomes the default."
        ),
        parameters=[DASHBOARD_REFERENCE],
        responses={204: DELETED, **errors(401, 403), 404: DASHBOARD_NOT_FOUND},
        tags=["Dashboards"],
    )
    def delete(self, request: Request, reference: str) -> Response:
        services.delete_dashboard(self.dashboard(reference))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DashboardDuplicateView(DashboardAPIView):
    """POST /api/v1/dashboards/{id or slug}/duplicate — a copy with its widgets ({"name"} optional)."""

    @extend_schema(
        operation_id="dashboards_duplicate",
        summary="Duplicate a dashboard",
        description=needs_key("admin", "A copy with its settings and widgets, not the default. The body is optional."),
        parameters=[DASHBOARD_REFERENCE],
        request=DuplicateRequest,
        responses={
            201: OpenApiResponse(DashboardShape, "Created: the copy with its widgets."),
            400: NAME_INVALID,
            **errors(401, 403),
            404: DASHBOARD_NOT_FOUND,
            415: NOT_JSON,
        },
        tags=["Dashboards"],
    )
    def post(self, request: Request, reference: str) -> Response:
        body = body_of(request) if request.data != {} else {}  # no body, or {}; [] or null is refused
        services.refuse_unknown(body, ("name",))
        copy = services.duplicate_dashboard(self.dashboard(reference), body.get("name"))
        return Response(dashboard_json(copy), status=status.HTTP_201_CREATED)


class DashboardExportView(DashboardAPIView):
    """GET /api/v1/dashboards/{id or slug}/export — the dashboard as importable JSON."""

    @extend_schema(
        operation_id="dashboards_export",
        summary="Export a dashboard",
        description=needs_key(
            "read",
            "The dashboard as JSON without ids, to keep in version control and `POST` to `/api/v1/dashboards/import` "
            "in this project or another.",
        ),
        parameters=[DASHBOARD_REFERENCE],
        responses={200: DashboardExport, **errors(401, 403), 404: DASHBOARD_NOT_FOUND},
        tags=["Dashboards"],
    )
    def get(self, request: Request, reference: str) -> Response:
        return Response(services.export_dashboard(self.dashboard(reference)))


class DashboardImportView(DashboardAPIView):
    """POST /api/v1/dashboards/import — create a dashboard from an export."""

    @extend_schema(
        operation_id="dashboards_import",
        summary="Import a dashboard",
        description=needs_key(
            "admin",
            "A new dashboard (never the default) from an export, validated as a new dashboard is; metric widgets are "
            "checked against this project's metrics.",
        ),
        request=DashboardImport,
        responses={
            201: OpenApiResponse(DashboardShape, "Created: the dashboard with its widgets."),
            400: IMPORT_INVALID,
            **errors(401, 403),
            415: NOT_JSON,
        },
        tags=["Dashboards"],
    )
    def post(self, request: Request) -> Response:
        dashboard = services.import_dashboard(self.project, request.data)
        return Response(dashboard_json(dashboard), status=status.HTTP_201_CREATED)


class DashboardLayoutView(DashboardAPIView):
    """PUT /api/v1/dashboards/{id or slug}/layout — [{id, x, y, w, h}, ...] (what dragging saves)."""

    @extend_schema(
        operation_id="dashboards_layout",
        summary="Move and resize widgets",
        description=needs_key(
            "admin",
            "New places and sizes for some widgets at once, as dragging on the grid saves them; all or none are "
            "saved. Widgets not listed stay where they are.",
        ),
        parameters=[DASHBOARD_REFERENCE],
        request=LayoutEntry(many=True),
        responses={
            200: OpenApiResponse(DashboardShape, "The dashboard with its widgets in their new places."),
            400: LAYOUT_INVALID,
            **errors(401, 403),
            404: DASHBOARD_NOT_FOUND,
            415: NOT_JSON,
        },
        tags=["Dashboards"],
    )
    def put(self, request: Request, reference: str) -> Response:
        dashboard = self.dashboard(reference)
        services.save_layout(dashboard, request.data)
        return Response(dashboard_json(queries.get_dashboard(self.project, str(dashboard.pk))))
