"""Annotations over the API: record a deploy or a campaign (ingest or admin key), list them (read key), delete
one (admin key). Pages draw them on every graph of the project."""

from datetime import datetime

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from annotations import queries, services
from annotations.models import TEXT_MAX_LENGTH
from annotations.serializers import annotation_json
from flux.payloads.fields import FieldError, clean_tags
from flux.query import query_params
from flux.query.timerange import EARLIEST, LATEST
from flux.web.api import NotFound, ProjectAPIView, validated_body
from flux.web.auth import HasAdminKey, HasIngestKey, HasReadKey, actor_of
from flux.web.openapi.errors import errors
from flux.web.openapi.keys import needs_key
from flux.web.openapi.parameters import TIME_RANGE, limit_parameter, tags_parameter
from flux.web.ratelimit import check_annotation_rate

LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX = 200, 1000


def tags_validator(value: object) -> None:
    try:
        clean_tags(value)
    except FieldError as error:
        raise serializers.ValidationError(str(error)) from None


class NewAnnotation(serializers.Serializer):
    time = serializers.DateTimeField(required=False, help_text="When (ISO 8601); default now.")
    time_end = serializers.DateTimeField(
        required=False, allow_null=True, help_text="The end, for a range (a campaign, an outage); after `time`."
    )
    text = serializers.CharField(max_length=TEXT_MAX_LENGTH, help_text="What happened, e.g. `Deploy v2.3.1`.")
    tags = serializers.DictField(
        child=serializers.CharField(allow_blank=True), required=False, validators=[tags_validator],
        help_text="A flat object, e.g. `{\"service\": \"api\", \"kind\": \"deploy\"}`.",
    )  # fmt: skip

    def validate(self, data: dict) -> dict:
        data.setdefault("time", timezone.now())
        for field in ("time", "time_end"):
            moment: datetime | None = data.get(field)
            if moment is not None and not EARLIEST <= moment <= LATEST:
                raise serializers.ValidationError({field: "out of range"})
        if data.get("time_end") is not None and data["time_end"] < data["time"]:
            raise serializers.ValidationError({"time_end": "time_end must not be before time"})
        return data


class AnnotationShape(serializers.Serializer):
    id = serializers.IntegerField()
    time = serializers.DateTimeField()
    time_end = serializers.DateTimeField(allow_null=True)
    text = serializers.CharField()
    tags = serializers.DictField(child=serializers.CharField(allow_blank=True))
    created_by = serializers.CharField(allow_blank=True, help_text="A username, or the API key's prefix.")
    created_at = serializers.DateTimeField()


class AnnotationList(serializers.Serializer):
    annotations = AnnotationShape(many=True)


ANNOTATION_ID = OpenApiParameter("annotation_id", int, OpenApiParameter.PATH, description="The annotation's `id`.")


class AnnotationAPIView(ProjectAPIView):
    def get_permissions(self) -> list:
        if self.request.method in ("GET", "HEAD", "OPTIONS"):
            return [HasReadKey()]
        return [HasIngestKey()] if self.request.method == "POST" else [HasAdminKey()]


class AnnotationListView(AnnotationAPIView):
    """GET/POST /api/v1/annotations."""

    @extend_schema(
        operation_id="annotations_list",
        summary="List annotations",
        description=needs_key("read", "Annotations touching the range, oldest first, with all the given tags."),
        parameters=[
            *TIME_RANGE,
            tags_parameter("only annotations with all these tags."),
            limit_parameter(LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX, "How many annotations,"),
        ],
        responses={200: AnnotationList, **errors(400, 401, 403)},
        tags=["Annotations"],
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        time_range = query_params.time_range(params, self.project)
        limit = query_params.bounded_int(params, "limit", LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX)
        found = queries.list_annotations(self.project, time_range, query_params.bracketed(params, "tags"), limit)
        return Response({"annotations": [annotation_json(annotation) for annotation in found]})

    @extend_schema(
        operation_id="annotations_create",
        summary="Create an annotation",
        description=needs_key(
            "ingest",
            "Mark a deploy, a campaign or an incident at `time` (default now), or from `time` to `time_end`; "
            "it is drawn on every graph of the project's dashboards and metric pages, live.",
        ),
        request=NewAnnotation,
        responses={201: AnnotationShape, **errors(400, 401, 403)},
        tags=["Annotations"],
    )
    def post(self, request: Request) -> Response:
        data = validated_body(NewAnnotation, request).validated_data  # a misspelled `tim` became now, unsaid
        check_annotation_rate(self.project.pk)
        annotation = services.create_annotation(
            self.project, starts_at=data["time"], ends_at=data.get("time_end"), text=data["text"].strip(),
            tags=clean_tags(data.get("tags")), actor=actor_of(request),
        )  # fmt: skip
        return Response(annotation_json(annotation), status=201)


class AnnotationDetailView(AnnotationAPIView):
    """DELETE /api/v1/annotations/{annotation_id}."""

    @extend_schema(
        operation_id="annotations_delete",
        summary="Delete an annotation",
        description=needs_key("admin", "Its markers disappear from open pages."),
        parameters=[ANNOTATION_ID],
        responses={204: None, **errors(401, 403, 404)},
        tags=["Annotations"],
    )
    def delete(self, request: Request, annotation_id: int) -> Response:
        annotation = queries.get_annotation(self.project, annotation_id)
        if annotation is None:
            raise NotFound(f"No annotation {annotation_id} in this project.")
        services.delete_annotation(annotation)
        return Response(status=204)
