"""Answers across ranges and steps: a measure against an earlier range (/api/v1/compare, of events or a
metric) and funnels (/api/v1/events/funnel)."""

from collections.abc import Callable, Mapping

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from events import funnels
from events.api import checked_field, event_filter_from
from events.compare import STAT_MEASURES, measure
from events.openapi import (
    COMPARE_TO,
    MEASURE,
    PROPERTIES_FILTER,
    Comparison,
    Funnel,
    FunnelRequest,
    event_filters,
    field_parameter,
)
from flux.query import query_params
from flux.query.compare import SHIFTS, compare
from flux.query.event_filter import field_expression
from flux.query.query_params import InvalidParameter
from flux.query.timerange import TimeRange
from flux.web.api import ProjectAPIView
from flux.web.auth import HasReadKey
from flux.web.openapi.errors import error, errors
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
        return (lambda time_range: measure(self.project, time_range, event_filter, what, field_name)), {"measure": what}

    def metric_measure(self, params: Mapping[str, str]) -> tuple[Callable[[TimeRange], float | None], dict]:
        metric = metric_queries.require_metric(self.project.pk, params["metric"])
        aggregation = metric_queries.checked_aggregation(metric, params.get("aggregation"))
        tags = query_params.bracketed(params, "tags")

        def value(time_range: TimeRange) -> float | None:
            return metric_queries.metric_value(self.project.pk, metric, time_range, aggregation, tags)

        return value, {"metric": metric.name, "type": metric.type, "aggregation": aggregation}


def parse_steps(body: object) -> list[funnels.Step]:
    steps = body.get("steps") if isinstance(body, dict) else None
    if not isinstance(steps, list) or not 2 <= len(steps) <= funnels.MAX_STEPS:
        raise InvalidParameter("steps", f"steps must be a list of 2 to {funnels.MAX_STEPS} steps")
    parsed = []
    for index, step in enumerate(steps):
        if isinstance(step, str):
            step = {"name": step}
        tags = step.get("tags", {}) if isinstance(step, dict) else None
        name = step.get("name") if isinstance(step, dict) else None
        valid_tags = isinstance(tags, dict) and all(isinstance(value, str) for value in tags.values())
        if not isinstance(name, str) or not name or not valid_tags:
            raise InvalidParameter(f"steps[{index}]", "a step is an event name, or {name, tags: {key: value}}")
        parsed.append(funnels.Step(name, tags))
    return parsed


def funnel_steps_json(results: list[funnels.StepResult]) -> list[dict]:
    first = results[0].users if results else 0
    payload, previous = [], None
    for result in results:
        payload.append(
            {
                "name": result.step.name, "tags": result.step.tags, "users": result.users,
                "conversion_from_previous": result.users / previous if previous else None,
                "conversion_from_first": result.users / first if first else None,
                "median_seconds_to_convert": result.median_seconds,
            }
        )  # fmt: skip
        previous = result.users
    return payload


class FunnelView(ProjectAPIView):
    """POST /api/v1/events/funnel — {"steps": [...], "window": "7d", "from"/"to"/"period", "group_by"?}."""

    permission_classes = [HasReadKey]

    @extend_schema(
        operation_id="events_funnel",
        summary="Funnel",
        description=needs_key(
            "read",
            "Users (by `user_id`) who did the first step in the range, then each later step in order within "
            "`window` of entering; later steps may fall after the range's end. A step is an event name, or a name "
            "with tags. With `group_by`, users are split by a field of their entering event.",
        ),
        request=FunnelRequest,
        responses={
            200: Funnel,
            400: error(400, "`invalid_parameter` naming the body field (`steps`, `steps[<i>]`, `window`, …)."),
            **errors(401, 403),
        },
        tags=["Events"],
    )
    def post(self, request: Request) -> Response:
        body = request.data if isinstance(request.data, dict) else {}
        steps = parse_steps(request.data)
        scalars = {key: str(value) for key, value in body.items() if isinstance(value, (str, int, float))}
        time_range = query_params.time_range(
            {key: scalars[key] for key in ("from", "to", "period", "timezone") if key in scalars}, self.project
        )
        window = query_params.duration(scalars.get("window", "7d"), "window")
        group_by = checked_field(scalars, "group_by")
        grouping = field_expression(group_by) if group_by else None
        limit = query_params.group_limit(scalars)
        results = funnels.funnel(self.project, time_range, steps, window, grouping, limit)
        payload = {"window_seconds": window.total_seconds(), **range_json(time_range)}
        if group_by is None:
            return Response({"steps": funnel_steps_json(results[0].steps), **payload})
        groups = [{"key": group.key, "steps": funnel_steps_json(group.steps)} for group in results]
        return Response({"group_by": group_by, "groups": groups, **payload})
