"""GET /api/v1/overview: the project at a glance (what the Overview page shows), and its schema."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from anomalies.openapi import AnomalyShape
from flux.ingestion.outcomes import REJECTIONS_KEPT
from flux.overview.queries import TOP, project_overview
from flux.query import query_params
from flux.web.api import ProjectAPIView
from flux.web.auth import HasReadKey
from flux.web.openapi.errors import errors
from flux.web.openapi.fields import PointsField, RangeFields, interval_field
from flux.web.openapi.keys import needs_key
from flux.web.openapi.parameters import TIME_RANGE, interval_parameter
from flux.web.serializers import range_json
from metrics.openapi import CardinalityWarning

CHANGE = {"allow_null": True, "help_text": "Percent change against the range before; null without a baseline."}


class Volume(serializers.Serializer):
    total = serializers.IntegerField(help_text="Received in the range (by the items' own time).")
    previous = serializers.IntegerField(help_text="In the range of the same length just before.")
    change_percent = serializers.FloatField(**CHANGE)
    series = PointsField({"type": "integer"}, [["2026-11-17T00:00:00Z", 180]], help_text="Per bucket.")


class TopEvent(serializers.Serializer):
    name = serializers.CharField()
    count = serializers.IntegerField()
    previous = serializers.IntegerField()
    change_percent = serializers.FloatField(**CHANGE)


class ActiveMetric(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    points = serializers.IntegerField()
    previous = serializers.IntegerField()
    change_percent = serializers.FloatField(**CHANGE)


class RecentRejection(serializers.Serializer):
    at = serializers.DateTimeField()
    kind = serializers.ChoiceField(["event", "metric", "request"], help_text="`request`: the whole request.")
    index = serializers.IntegerField(allow_null=True, help_text="The item's index in its array.")
    errors = serializers.ListField(child=serializers.CharField())


class LastHour(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    rejected_items = serializers.IntegerField(help_text="Items refused inside otherwise readable requests.")
    rejected_requests = serializers.IntegerField(help_text="Requests refused whole (bad JSON, too many items, …).")


class IngestionHealth(serializers.Serializer):
    available = serializers.BooleanField(help_text="False when the counters (kept in Redis) could not be read.")
    last_received_at = serializers.DateTimeField(allow_null=True, help_text="When data was last accepted.")
    last_hour = LastHour()
    recent_rejections = RecentRejection(many=True, help_text=f"The last {REJECTIONS_KEPT}, newest first.")


class OpenCounts(serializers.Serializer):
    info = serializers.IntegerField()
    warning = serializers.IntegerField()
    critical = serializers.IntegerField()


class UnresolvedAnomalies(serializers.Serializer):
    open = OpenCounts(help_text="Unresolved (open or acknowledged) anomalies per severity, whenever they started.")
    newest = AnomalyShape(many=True, help_text=f"The {TOP} newest unresolved anomalies.")


class Overview(RangeFields):
    interval = interval_field()
    events = Volume()
    metric_points = Volume()
    top_events = TopEvent(many=True, help_text=f"The {TOP} busiest event names.")
    active_metrics = ActiveMetric(many=True, help_text=f"The {TOP} metrics with the most points.")
    anomalies = UnresolvedAnomalies()
    ingestion = IngestionHealth()
    cardinality_warnings = CardinalityWarning(
        many=True, help_text="Metrics whose new tag values are folded into `__other__`, with the tag key."
    )


class OverviewView(ProjectAPIView):
    """GET /api/v1/overview."""

    permission_classes = [HasReadKey]

    @extend_schema(
        operation_id="overview_retrieve",
        summary="The project at a glance",
        description=needs_key(
            "read",
            "Events and metric points received in the range with their trend and the change against the range "
            "just before, the busiest events and metrics, unresolved anomalies, and ingestion health: when data "
            "last arrived, items accepted and rejected in the last hour, and the last rejections with their reasons.",
        ),
        parameters=[*TIME_RANGE, interval_parameter("Without it, `auto`.")],
        responses={200: Overview, **errors(400, 401, 403)},
        tags=["Projects"],
    )
    def get(self, request: Request) -> Response:
        time_range = query_params.time_range(request.query_params, self.project)
        interval = query_params.interval(request.query_params, time_range, required=True)
        overview = project_overview(self.project, time_range, interval)
        return Response({**range_json(time_range), "interval": interval, **overview})
