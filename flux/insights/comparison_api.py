"""GET /api/v1/compare: a measure of events or of a metric against an earlier range. It composes both apps'
reads, so it is the insights feature's (its numbers are the facts insights cite)."""

from collections.abc import Callable, Mapping

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from events.api import checked_field, event_filter_from
from events.openapi import PROPERTIES_FILTER, event_filters, field_parameter
from events.queries import STAT_MEASURES, measure_events
from flux.insights.openapi import COMPARE_TO, MEASURE, Comparison
from flux.query import query_params
from flux.query.compare import SHIFTS, compare
from flux.query.query_params import InvalidParameter
from flux.query.timerange import TimeRange
from flux.web.api import ProjectAPIView
from flux.web.auth import HasReadKey
from flux.web.openapi.errors import errors
from flux.web.openapi.keys import needs_key
from flux.web.openapi.parameters import TIME_RANGE
from flux.web.serializers import iso, range_json
from metrics import queries as metric_queries
from metrics.openapi import AGGREGATION


class CompareView(ProjectAPIView):
    """GET /api/v1/compare — a measure of the range against the previous range (or a day/week/year back).

    Events by default (`measure` count, unique or a statistic of value, with the event filters); with
    `metric=<name>`, that metric's `aggregation` over the series matching `tags[k]=v`.
    """

    permission_classes = [HasReadKey]

    @extend_schema(
        operation_id="compare",
        summary="Compare a measure with an earlier range",
        description=needs_key(
            "read",
            "An events measure (with the event filters) by default; with `metric`, that metric's `aggregation` over "
            "the series matching `tags[…]` (the event filters, `measure` and `field` are then ignored). "
            f"{PROPERTIES_FILTER}",
        ),
        parameters=[
            *TIME_RANGE,
            COMPARE_TO,
            MEASURE,
            field_parameter("field", "With `measure=unique`: the field whose values are counted", default="user_id"),
            *event_filters("events whose tags include every pair; with `metric`, the series whose tags do."),
            OpenApiParameter("metric", str, description="Compare this metric instead of events (404 if unknown)."),
            AGGREGATION,
        ],
        responses={200: Comparison, **errors(400, 401, 403, 404)},
        tags=["Events", "Metrics"],
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        time_range = query_params.time_range(params, self.project)
        against = params.get("compare_to", "previous")
        if against not in SHIFTS:
            raise InvalidParameter("compare_to", "compare_to must be " + ", ".join(SHIFTS))
        if params.get("metric"):
            measure, described = self.metric_measure(params)
        else:
            measure, described = self.event_measure(params)
        result = compare(measure, time_range, against)
        return Response(
            {
                **described, "current": result.current, "previous": result.previous, "change": result.change,
                "change_percent": result.change_percent, **range_json(time_range),
                "previous_from": iso(result.earlier_range.start), "previous_to": iso(result.earlier_range.end),
            }
        )  # fmt: skip

    def event_measure(self, params: Mapping[str, str]) -> tuple[Callable[[TimeRange], float | None], dict]:
        what = params.get("measure", "count")
        if what not in ("count", "unique", *STAT_MEASURES):
            raise InvalidParameter("measure", "measure must be count, unique or " + ", ".join(STAT_MEASURES))
        field_name = checked_field(params, "field", default="user_id")
        event_filter = event_filter_from(params)

        def value(time_range: TimeRange) -> float | None:
            return measure_events(self.project, time_range, event_filter, what, field_name)

        return value, {"measure": what}

    def metric_measure(self, params: Mapping[str, str]) -> tuple[Callable[[TimeRange], float | None], dict]:
        metric = metric_queries.require_metric(self.project.pk, params["metric"])
        aggregation = metric_queries.checked_aggregation(metric, params.get("aggregation"))
        tags = query_params.bracketed(params, "tags")

        def value(time_range: TimeRange) -> float | None:
            return metric_queries.metric_value(self.project.pk, metric, time_range, aggregation, tags)

        return value, {"metric": metric.name, "type": metric.type, "aggregation": aggregation}
