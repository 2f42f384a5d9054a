from collections.abc import Callable, Mapping

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response

from events import funnels, queries
from events.compare import STAT_MEASURES, measure
from events.filters import EventFilter, field_expression
from events.openapi import (
    COMPARE_TO,
    EVENT_BATCH,
    GROUP_LIMIT,
    MEASURE,
    PROPERTIES_FILTER,
    Comparison,
    Event,
    EventCatalogue,
    EventCount,
    EventInput,
    EventPage,
    EventStats,
    EventUnique,
    Funnel,
    FunnelRequest,
    event_filters,
    field_parameter,
)
from events.serializers import event_json
from flux import query_params
from flux.api import NotFound, ProjectAPIView
from flux.auth import HasReadKey
from flux.compare import SHIFTS, compare
from flux.ingestion.api import IngestView, InvalidBatch, list_under
from flux.openapi import (
    INGEST_DESCRIPTION,
    INGEST_HEADERS,
    TIME_RANGE,
    choice,
    error,
    errors,
    ingest_responses,
    interval_parameter,
    limit_parameter,
    needs_key,
)
from flux.query_params import InvalidParameter
from flux.serializers import iso, points_json, range_json
from flux.timerange import TimeRange
from metrics import queries as metric_queries
from metrics.openapi import AGGREGATION

LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX = 100, 1000
NAMES_LIMIT_DEFAULT, NAMES_LIMIT_MAX = 200, 1000


def event_filter_from(params: Mapping[str, str]) -> EventFilter:
    return EventFilter(
        name=params.get("name") or None,
        tags=query_params.bracketed(params, "tags"),
        properties=query_params.dotted(params, "properties"),
        user_id=params.get("user_id") or None,
        session_id=params.get("session_id") or None,
        value_min=query_params.optional_number(params, "value_min"),
        value_max=query_params.optional_number(params, "value_max"),
    )


def checked_field(params: Mapping[str, str], parameter: str, default: str | None = None) -> str | None:
    value = params.get(parameter) or default
    if value is not None and field_expression(value) is None:
        allowed = "name, user_id, session_id, environment, service, host, tags.<key> or properties.<key>"
        raise InvalidParameter(parameter, f"{parameter} must be {allowed}")
    return value


@extend_schema_view(
    post=extend_schema(
        operation_id="events_create",
        summary="Send one event",
        description=needs_key("ingest", INGEST_DESCRIPTION),
        parameters=INGEST_HEADERS,
        request=EventInput,
        responses=ingest_responses(single=True),
        tags=["Ingestion"],
    )
)
class EventView(IngestView):
    """GET /api/v1/events — list, newest first (read key). POST — one event (ingest key)."""

    single_item = True

    def split(self, payload: object) -> tuple[list, list]:
        if not isinstance(payload, dict):
            raise InvalidBatch("The body must be one event as a JSON object (use /api/v1/events/batch for many).")
        return [payload], []

    @extend_schema(
        operation_id="events_list",
        summary="List events",
        description=needs_key(
            "read",
            f"Events newest first, `limit` at a time; pass `next_cursor` as `cursor` for the next page. "
            f"{PROPERTIES_FILTER}",
        ),
        parameters=[
            *TIME_RANGE,
            *event_filters(),
            limit_parameter(LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX, "How many events,"),
            OpenApiParameter("cursor", str, description="The `next_cursor` of the previous page."),
        ],
        responses={200: EventPage, **errors(400, 401, 403)},
        tags=["Events"],
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        time_range = query_params.time_range(params, self.project)
        limit = query_params.bounded_int(params, "limit", LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX)
        after = query_params.cursor_after(params)
        page = queries.list_events(self.project, time_range, event_filter_from(params), limit, after)
        return Response({"events": [event_json(event) for event in page.events], "next_cursor": page.next_cursor})


@extend_schema_view(
    post=extend_schema(
        operation_id="events_batch",
        summary="Send events",
        description=needs_key("ingest", f'`{{"events": [...]}}` or a bare array. {INGEST_DESCRIPTION}'),
        parameters=INGEST_HEADERS,
        request=EVENT_BATCH,
        responses=ingest_responses(single=False),
        tags=["Ingestion"],
    )
)
class EventBatchView(IngestView):
    """POST /api/v1/events/batch — {"events": [...]} or a bare array."""

    def split(self, payload: object) -> tuple[list, list]:
        return (payload if isinstance(payload, list) else list_under(payload, "events")), []


class EventNamesView(ProjectAPIView):
    """GET /api/v1/events/names — the catalogue of event names."""

    permission_classes = [HasReadKey]

    @extend_schema(
        operation_id="events_names",
        summary="Event names",
        description=needs_key(
            "read", "Event names seen in the range, busiest first, with their count, last seen time and tag keys."
        ),
        parameters=[*TIME_RANGE, limit_parameter(NAMES_LIMIT_DEFAULT, NAMES_LIMIT_MAX, "How many names,")],
        responses={200: EventCatalogue, **errors(400, 401, 403)},
        tags=["Events"],
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        time_range = query_params.time_range(params, self.project)
        limit = query_params.bounded_int(params, "limit", NAMES_LIMIT_DEFAULT, NAMES_LIMIT_MAX)
        names = queries.event_catalogue(self.project, time_range, limit)
        for entry in names:
            entry["last_seen"] = iso(entry["last_seen"]) if entry["last_seen"] else None
        return Response({**range_json(time_range), "names": names})


class EventDetailView(ProjectAPIView):
    """GET /api/v1/events/{id}."""

    permission_classes = [HasReadKey]

    @extend_schema(
        operation_id="events_retrieve",
        summary="One event",
        description=needs_key("read", "An event of this project by id."),
        parameters=[OpenApiParameter("event_id", int, OpenApiParameter.PATH, description="The event's `id`.")],
        responses={200: Event, **errors(401, 403, 404)},
        tags=["Events"],
    )
    def get(self, request: Request, event_id: int) -> Response:
        event = queries.get_event(self.project, event_id)
        if event is None:
            raise NotFound(f"No event {event_id} in this project.")
        return Response(event_json(event))


class EventCountView(ProjectAPIView):
    """GET /api/v1/events/count — total; with interval a series; with group_by the top groups."""

    permission_classes = [HasReadKey]

    @extend_schema(
        operation_id="events_count",
        summary="Count events",
        description=needs_key(
            "read",
            "How many events match. With `interval`, a series of counts; with `group_by`, the largest groups and "
            f"`__other__` for the rest (each with its own series when there is an interval too). {PROPERTIES_FILTER}",
        ),
        parameters=[
            *TIME_RANGE,
            interval_parameter("Without it, no series."),
            *event_filters(),
            field_parameter("group_by", "Split the count by this field"),
            GROUP_LIMIT,
        ],
        responses={200: EventCount, **errors(400, 401, 403)},
        tags=["Events"],
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        time_range = query_params.time_range(params, self.project)
        interval = query_params.interval(params, time_range)
        group_by = checked_field(params, "group_by")
        event_filter = event_filter_from(params)
        body = {"count": queries.count_events(self.project, time_range, event_filter), **range_json(time_range)}
        if interval and not group_by:
            body |= {
                "interval": interval,
                "points": points_json(queries.count_series(self.project, time_range, event_filter, interval)),
            }
        if group_by:
            limit = query_params.group_limit(params)
            groups = queries.count_groups(self.project, time_range, event_filter, group_by, limit, interval)
            body |= {"group_by": group_by, "groups": [group_json(group) for group in groups]}
            if interval:
                body["interval"] = interval
        return Response(body)


def group_json(group: queries.Group) -> dict:
    body = {"key": group.key, "count": group.count}
    if group.points is not None:
        body["points"] = points_json(group.points)
    return body


class EventStatsView(ProjectAPIView):
    """GET /api/v1/events/stats?field=value — count, sum, avg, min, max, p50, p90, p95, p99.

    With `interval`, `points` of [bucket, {stats}]; with `group_by`, `groups` of {key, stats…}.
    """

    permission_classes = [HasReadKey]

    @extend_schema(
        operation_id="events_stats",
        summary="Statistics of event values",
        description=needs_key(
            "read",
            "count, sum, avg, min, max and percentiles of `value` over the range; with `interval`, per bucket; "
            f"with `group_by`, for the groups with the most values. {PROPERTIES_FILTER}",
        ),
        parameters=[
            *TIME_RANGE,
            OpenApiParameter(
                "field", choice(["value"], default="value"), description="The numeric field (`value` is the only one)."
            ),
            interval_parameter("Without it, no series."),
            *event_filters(),
            field_parameter("group_by", "Statistics per value of this field"),
            GROUP_LIMIT,
        ],
        responses={200: EventStats, **errors(400, 401, 403)},
        tags=["Events"],
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        if params.get("field", "value") != "value":
            raise InvalidParameter("field", "field must be value (the only numeric field of an event)")
        time_range = query_params.time_range(params, self.project)
        event_filter = event_filter_from(params)
        interval = query_params.interval(params, time_range)
        group_by = checked_field(params, "group_by")
        body = {
            "field": "value",
            **queries.value_stats(self.project, time_range, event_filter),
            **range_json(time_range),
        }
        if interval:
            series = queries.value_stats_series(self.project, time_range, event_filter, interval)
            body |= {"interval": interval, "points": [[iso(start), stats] for start, stats in series]}
        if group_by:
            limit = query_params.group_limit(params)
            groups = queries.value_stats_groups(self.project, time_range, event_filter, group_by, limit)
            body |= {"group_by": group_by, "groups": [{"key": key, **stats} for key, stats in groups]}
        return Response(body)


class EventUniqueView(ProjectAPIView):
    """GET /api/v1/events/unique?field=user_id — distinct values over the range (and per interval)."""

    permission_classes = [HasReadKey]

    @extend_schema(
        operation_id="events_unique",
        summary="Count distinct values",
        description=needs_key(
            "read",
            f"Distinct values of a field among matching events; with `interval`, per bucket. {PROPERTIES_FILTER}",
        ),
        parameters=[
            *TIME_RANGE,
            field_parameter("field", "The field whose values are counted", default="user_id"),
            interval_parameter("Without it, no series."),
            *event_filters(),
        ],
        responses={200: EventUnique, **errors(400, 401, 403)},
        tags=["Events"],
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        time_range = query_params.time_range(params, self.project)
        field_name = checked_field(params, "field", default="user_id")
        event_filter = event_filter_from(params)
        body = {
            "field": field_name,
            "unique": queries.unique_count(self.project, time_range, event_filter, field_name),
            **range_json(time_range),
        }
        interval = query_params.interval(params, time_range)
        if interval:
            points = queries.unique_series(self.project, time_range, event_filter, field_name, interval)
            body |= {"interval": interval, "points": points_json(points)}
        return Response(body)


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
