"""GET/POST /api/v1/events/views and DELETE /api/v1/events/views/{id}: the explorer's saved views."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from events import saved_views
from flux.web.api import ProjectAPIView
from flux.web.auth import HasAdminKey, HasReadKey
from flux.web.openapi.errors import error, errors
from flux.web.openapi.keys import needs_key

PARAMS_HELP = f"The explorer's query as its address holds it: {', '.join(saved_views.VIEW_FIELDS)} (text)."


class SavedViewInput(serializers.Serializer):
    name = serializers.CharField(max_length=saved_views.MAX_NAME, help_text="Unique in the project.")
    params = serializers.DictField(child=serializers.CharField(max_length=saved_views.MAX_VALUE), help_text=PARAMS_HELP)


class SavedView(SavedViewInput):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class SavedViewList(serializers.Serializer):
    views = SavedView(many=True)


class SavedViewsAPIView(ProjectAPIView):
    def get_permissions(self) -> list:
        return [HasReadKey()] if self.request.method in ("GET", "HEAD", "OPTIONS") else [HasAdminKey()]


class SavedViewListView(SavedViewsAPIView):
    @extend_schema(
        operation_id="events_views_list", summary="Saved explorer views",
        description=needs_key("read", "The project's saved events-explorer views, by name."),
        responses={200: SavedViewList, **errors(401, 403)}, tags=["Events"],
    )  # fmt: skip
    def get(self, request: Request) -> Response:
        return Response({"views": [saved_views.view_json(view) for view in saved_views.list_views(self.project)]})

    @extend_schema(
        operation_id="events_views_create", summary="Save an explorer view",
        description=needs_key("admin", "Save the explorer's filters and range under a name (409 if taken)."),
        request=SavedViewInput, tags=["Events"],
        responses={201: SavedView, 400: error(400), **errors(401, 403),
                   409: error(400, "A saved view of this project has this name (`name_taken`).", [])},
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        view = saved_views.save_view(self.project, request.data)
        return Response(saved_views.view_json(view), status=status.HTTP_201_CREATED)


class SavedViewDetailView(SavedViewsAPIView):
    @extend_schema(
        operation_id="events_views_delete", summary="Delete a saved view",
        description=needs_key("admin", "Forget a saved explorer view."),
        parameters=[OpenApiParameter("view_id", int, OpenApiParameter.PATH)],
        responses={204: None, **errors(401, 403, 404)}, tags=["Events"],
    )  # fmt: skip
    def delete(self, request: Request, view_id: int) -> Response:
        saved_views.delete_view(self.project, view_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
