from collections.abc import Mapping

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from events import queries
from events.openapi import (
    GROUP_LIMIT,
    PROPERTIES_FILTER,
    Event,
    EventCatalogue,
    EventCount,
    EventPage,
    EventStats,
    EventUnique,
    event_filters,
    field_parameter,
)
from events.serializers import event_json
from flux.query import query_params
from flux.query.event_filter import EventFilter, field_expression
from flux.query.query_params import InvalidParameter
from flux.web.api import NotFound, ProjectAPIView
from flux.web.auth import HasReadKey
from flux.web.openapi.errors import errors
from flux.web.openapi.keys import needs_key
from flux.web.openapi.parameters import TIME_RANGE, choice, interval_parameter, limit_parameter
from flux.web.serializers import iso, points_json, range_json

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


class EventListing:
    """GET /api/v1/events — events newest first (read key); the ingestion feature adds POST on the same path."""

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
            f"with `group_by`, for the groups highest in `rank_by` (the most values by default). {PROPERTIES_FILTER}",
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
            OpenApiParameter(
                "rank_by",
                choice(list(queries.RANK_COLUMNS), default="count"),
                description="With `group_by`: the statistic whose highest groups are listed (e.g. `sum` for top "
                "countries by revenue).",
            ),
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
            rank_by = params.get("rank_by", "count")
            if rank_by not in queries.RANK_COLUMNS:
                raise InvalidParameter("rank_by", f"rank_by must be one of {', '.join(queries.RANK_COLUMNS)}")
            groups = queries.value_stats_groups(self.project, time_range, event_filter, group_by, limit, rank_by)
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
