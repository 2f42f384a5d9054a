"""Funnels (/api/v1/events/funnel): users through steps of events, within a window."""

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from events import funnels
from events.api import checked_field
from events.openapi import Funnel, FunnelRequest
from flux.query import query_params
from flux.query.event_filter import field_expression
from flux.query.query_params import InvalidParameter
from flux.web.api import ProjectAPIView
from flux.web.auth import HasReadKey
from flux.web.openapi.errors import error, errors
from flux.web.openapi.keys import needs_key
from flux.web.serializers import range_json


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
