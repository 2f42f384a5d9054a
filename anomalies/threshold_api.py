"""Threshold alert rules over the API: GET/POST /api/v1/anomalies/thresholds, PATCH/DELETE …/{rule_id}."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from anomalies import thresholds
from anomalies.models import Severity, ThresholdRule, Watch
from flux.payloads.fields import TAG_KEY_MAX_LENGTH, TAGS_MAX_COUNT, FieldError, clean_tags
from flux.web.api import FluxError, NotFound, ProjectAPIView, validated_body
from flux.web.auth import HasAdminKey, HasReadKey, actor_of
from flux.web.openapi.closed import closed
from flux.web.openapi.errors import errors
from flux.web.openapi.ingestion import name_field
from flux.web.openapi.keys import needs_key

RULE_ID = OpenApiParameter("rule_id", int, OpenApiParameter.PATH, description="The rule's `id`.")
MAX_DURATION_MINUTES = 7 * 24 * 60


@closed
class RuleChange(serializers.Serializer):
    """Unknown fields are refused (a rule's `source`, `name` and `tags` do not change)."""

    aggregation = serializers.CharField(max_length=12, help_text="`count` for events; for a metric e.g. avg, p95.")
    comparator = serializers.ChoiceField(ThresholdRule.Comparator.values)
    threshold = serializers.FloatField()
    duration_minutes = serializers.IntegerField(
        min_value=1, max_value=MAX_DURATION_MINUTES, help_text="The trailing window the aggregate is taken over."
    )
    severity = serializers.ChoiceField(Severity.values, default=Severity.WARNING)
    enabled = serializers.BooleanField(default=True)


@closed
class NewRule(RuleChange):
    source = serializers.ChoiceField(Watch.Source.values)
    name = name_field()
    tags = serializers.DictField(
        child=serializers.CharField(max_length=200, trim_whitespace=False), required=False, default=dict,
        help_text=f"At most {TAGS_MAX_COUNT}, keys up to {TAG_KEY_MAX_LENGTH} characters (as ingestion takes them).",
    )  # fmt: skip

    def validate_tags(self, tags: dict[str, str]) -> dict[str, str]:
        try:  # the keys too: a tag no ingested point can carry (a NUL, 10,000 characters) is refused as ingestion does
            return clean_tags(tags)
        except FieldError as error:
            raise serializers.ValidationError(str(error)) from None


class RuleShape(NewRule):
    id = serializers.IntegerField()
    watch_id = serializers.IntegerField(help_text="The rule's alerts are anomalies of this series (`kind` threshold).")
    problem = serializers.CharField(
        allow_null=True,
        help_text="Why the rule is not evaluated now (no metric of that name yet, or the metric's type has no such "
        "aggregation), or null.",
    )


class RuleList(serializers.Serializer):
    rules = RuleShape(many=True)


class ThresholdAPIView(ProjectAPIView):
    def get_permissions(self) -> list:
        return [HasReadKey()] if self.request.method in ("GET", "HEAD", "OPTIONS") else [HasAdminKey()]

    def rule(self, rule_id: int) -> ThresholdRule:
        rule = ThresholdRule.objects.filter(project=self.project, pk=rule_id).select_related("project").first()
        if rule is None:
            raise NotFound(f"No threshold rule {rule_id} in this project.")
        return rule


def validated(shape: type[serializers.Serializer], request: Request, partial: bool = False) -> dict:
    return dict(validated_body(shape, request, partial=partial).validated_data)


class ThresholdListView(ThresholdAPIView):
    """GET/POST /api/v1/anomalies/thresholds."""

    @extend_schema(
        operation_id="anomalies_thresholds_list",
        summary="List threshold alert rules",
        description=needs_key("read", "Rules checked every minute beside automatic detection."),
        responses={200: RuleList, **errors(400, 401, 403)},
        tags=["Anomaly settings"],
    )
    def get(self, request: Request) -> Response:
        rules = ThresholdRule.objects.filter(project=self.project).select_related("project")
        return Response({"rules": [thresholds.rule_json(rule) for rule in rules]})

    @extend_schema(
        operation_id="anomalies_thresholds_create",
        summary="Add a threshold alert rule",
        description=needs_key(
            "admin",
            "E.g. `checkout.error_rate` `avg` `>` `0.02` over `10` minutes: every minute the aggregate of the "
            "trailing window is compared; an alert (an anomaly of kind `threshold`) opens while it holds and "
            "resolves when it stops, through the project's channels.",
        ),
        request=NewRule,
        responses={201: RuleShape, **errors(400, 401, 403)},
        tags=["Anomaly settings"],
    )
    def post(self, request: Request) -> Response:
        try:
            rule = thresholds.create_rule(self.project, validated(NewRule, request))
        except thresholds.RuleError as error:
            raise FluxError(str(error), details={"aggregation": [str(error)]}) from None
        return Response(thresholds.rule_json(rule), status=201)


class ThresholdDetailView(ThresholdAPIView):
    """PATCH/DELETE /api/v1/anomalies/thresholds/{rule_id}."""

    @extend_schema(
        operation_id="anomalies_thresholds_update",
        summary="Change a threshold alert rule",
        description=needs_key("admin", "Any of its condition fields, `severity` or `enabled`."),
        parameters=[RULE_ID],
        request=RuleChange,
        responses={200: RuleShape, **errors(400, 401, 403, 404)},
        tags=["Anomaly settings"],
    )
    def patch(self, request: Request, rule_id: int) -> Response:
        rule = self.rule(rule_id)
        try:
            rule = thresholds.update_rule(rule, validated(RuleChange, request, partial=True), actor_of(request))
        except thresholds.RuleError as error:
            raise FluxError(str(error), details={"aggregation": [str(error)]}) from None
        return Response(thresholds.rule_json(rule))

    @extend_schema(
        operation_id="anomalies_thresholds_delete",
        summary="Delete a threshold alert rule",
        description=needs_key("admin", "The rule and its alerts."),
        parameters=[RULE_ID],
        responses={204: None, **errors(401, 403, 404)},
        tags=["Anomaly settings"],
    )
    def delete(self, request: Request, rule_id: int) -> Response:
        thresholds.delete_rule(self.rule(rule_id), actor_of(request))
        return Response(status=204)
