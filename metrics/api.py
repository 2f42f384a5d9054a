from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from flux.query import query_params
from flux.query.query_params import InvalidParameter
from flux.web.api import ProjectAPIView
from flux.web.auth import HasReadKey
from flux.web.openapi.errors import errors
from flux.web.openapi.keys import needs_key
from flux.web.openapi.parameters import TIME_RANGE, interval_parameter, tags_parameter
from flux.web.serializers import iso, points_json
from metrics import queries
from metrics.openapi import (
    AGGREGATION,
    METRIC_NAME,
    SERIES_LIMIT,
    TAG_GROUP_BY,
    MetricCatalogue,
    MetricQuery,
    MetricSummary,
)


class MetricCatalogueListing:
    """GET /api/v1/metrics — the catalogue (read key); the ingestion feature adds POST on the same path."""

    @extend_schema(
        operation_id="metrics_list",
        summary="The metrics catalogue",
        description=needs_key(
            "read", "Every metric with its type, number of series, tag keys with their commonest values, last seen."
        ),
        responses={200: MetricCatalogue, **errors(401, 403)},
        tags=["Metrics"],
    )
    def get(self, request: Request) -> Response:
        metrics = queries.list_metrics(self.project.pk)
        for metric in metrics:
            metric["last_seen"] = iso(metric["last_seen"]) if metric["last_seen"] else None
        return Response({"metrics": metrics})


class MetricSummaryView(ProjectAPIView):
    """GET /api/v1/metrics/{name} — the metric's type, series and natural statistics over the range."""

    permission_classes = [HasReadKey]

    @extend_schema(
        operation_id="metrics_retrieve",
        summary="Summarise a metric",
        description=needs_key(
            "read", "The metric's type, points and series over the range, and its natural statistics."
        ),
        parameters=[METRIC_NAME, *TIME_RANGE],
        responses={200: MetricSummary, **errors(400, 401, 403, 404)},
        tags=["Metrics"],
    )
    def get(self, request: Request, name: str) -> Response:
        metric = queries.require_metric(self.project.pk, name)
        time_range = query_params.time_range(request.query_params, self.project)
        summary = queries.metric_summary(self.project.pk, metric, time_range)
        return Response(
            {
                "name": metric.name,
                "type": metric.type,
                "from": iso(time_range.start),
                "to": iso(time_range.end),
                **summary,
                "cardinality_warnings": queries.cardinality_warnings_json(self.project.pk, metric.pk),
            }
        )


class MetricQueryView(ProjectAPIView):
    """GET /api/v1/metrics/{name}/query — aggregated points per interval, optionally grouped by a tag."""

    permission_classes = [HasReadKey]

    @extend_schema(
        operation_id="metrics_query",
        summary="Query a metric",
        description=needs_key(
            "read",
            "The metric's points aggregated per bucket, across the series matching `tags[…]`, or one series per "
            "value of the `group_by` tag.",
        ),
        parameters=[
            METRIC_NAME,
            *TIME_RANGE,
            interval_parameter("Default `auto`."),
            AGGREGATION,
            tags_parameter("only series whose tags include every pair."),
            TAG_GROUP_BY,
            SERIES_LIMIT,
        ],
        responses={200: MetricQuery, **errors(400, 401, 403, 404)},
        tags=["Metrics"],
    )
    def get(self, request: Request, name: str) -> Response:
        metric = queries.require_metric(self.project.pk, name)
        params = request.query_params
        time_range = query_params.time_range(params, self.project)
        interval = query_params.interval(params, time_range, required=True)
        aggregation = queries.checked_aggregation(metric, params.get("aggregation"))
        group_by = params.get("group_by") or None
        if group_by is not None and (not group_by.startswith("tags.") or len(group_by) < 6):
            raise InvalidParameter("group_by", "group_by must be tags.<key>")
        limit = query_params.group_limit(params)
        series = queries.metric_series(
            self.project.pk, metric, time_range, interval, aggregation,
            query_params.bracketed(params, "tags"), group_by[5:] if group_by else None, limit,
        )  # fmt: skip
        return Response(
            {
                "name": metric.name, "type": metric.type, "aggregation": aggregation, "interval": interval,
                "from": iso(time_range.start), "to": iso(time_range.end),
                "series": [{"tags": result.tags, "points": points_json(result.points)} for result in series],
            }
        )  # fmt: skip
