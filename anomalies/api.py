"""The anomalies API: list and inspect anomalies, act on them, and tune detection and notifications."""

from datetime import timedelta

from django.http import QueryDict
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from anomalies import notifications, queries, replay, services, thresholds
from anomalies.models import Anomaly, Severity, Watch
from anomalies.openapi import (
    ANOMALY_ID,
    LIST_LIMIT_DEFAULT,
    LIST_LIMIT_MAX,
    LIST_PARAMETERS,
    AcknowledgeAllInput,
    AcknowledgedCount,
    AnomalyDetail,
    AnomalyPage,
    AnomalyShape,
    NoteInput,
    SettingsShape,
)
from anomalies.serializers import anomaly_json
from flux.query import query_params
from flux.query.query_params import InvalidParameter
from flux.query.timerange import RangeError, parse_instant, resolve_zone
from flux.web.api import NotFound, ProjectAPIView, validated_body
from flux.web.auth import HasAdminKey, HasReadKey, actor_of
from flux.web.openapi.errors import errors
from flux.web.openapi.keys import needs_key

CONTEXT_BEFORE, CONTEXT_AFTER, HOUR = timedelta(days=2), timedelta(days=1), timedelta(hours=1)
# Five-minute anomalies are shown on their own buckets: hours around them, not days.
FAST_CONTEXT_BEFORE, FAST_CONTEXT_AFTER = timedelta(hours=3), timedelta(hours=1)
MAX_NAME_LENGTH = Watch._meta.get_field("name").max_length


def comma_values(params: QueryDict, name: str, allowed: list[str]) -> tuple[str, ...]:
    """`severity=critical,warning`: comma-separated values, each among `allowed` (repeats are refused before)."""
    values = query_params.comma_separated([params.get(name, "")])
    unknown = [value for value in values if value not in allowed]
    if unknown:
        raise InvalidParameter(name, f"{name} must be among {', '.join(allowed)}; got {', '.join(unknown)}")
    return values


def anomaly_filter_from(params: QueryDict, project_timezone: str) -> queries.AnomalyFilter:
    now, zone = timezone.now(), resolve_zone(None, project_timezone)
    bounds = {}
    for name in ("from", "to"):
        try:
            bounds[name] = parse_instant(params[name], name, now, zone) if params.get(name) else None
        except RangeError as error:
            raise InvalidParameter(error.parameter, str(error)) from None
    if bounds["from"] and bounds["to"] and bounds["from"] > bounds["to"]:
        raise InvalidParameter("from", "from must be before to")
    if len(params.get("name", "")) > MAX_NAME_LENGTH:
        raise InvalidParameter("name", f"name must be at most {MAX_NAME_LENGTH} characters (the longest a name is)")
    return queries.AnomalyFilter(
        statuses=comma_values(params, "status", Anomaly.Status.values),
        severities=comma_values(params, "severity", Severity.values),
        kinds=comma_values(params, "kind", Anomaly.Kind.values),
        name=params.get("name") or None, start=bounds["from"], end=bounds["to"],
    )  # fmt: skip


def anomaly_context(anomaly: Anomaly) -> replay.Replay:
    """At the resolution the anomaly was found at: by the hour, two days before the episode to a day after
    it; five-minute buckets, three hours before it to an hour after (at most replay.MAX_FAST_POINTS, ending
    after its start). Either ends sooner at the last complete bucket."""
    watch = anomaly.watch
    # An anomaly found by the hour (the series was quieter then) stays hourly; one found on five-minute
    # buckets or by the minute checks is shown on five-minute buckets while its series is scanned on them.
    if max(anomaly.interval_seconds, watch.interval_seconds) >= HOUR.total_seconds():
        # Up to the hour in progress, not into it: its count so far drew as a fall to nearly nothing.
        end = min(anomaly.last_anomalous_at + CONTEXT_AFTER + HOUR, timezone.now())
        return replay.replay(watch, anomaly.started_at - CONTEXT_BEFORE, end)
    step = timedelta(seconds=watch.interval_seconds)
    start = anomaly.started_at - FAST_CONTEXT_BEFORE
    longest = start + step * (replay.MAX_FAST_POINTS - 1)
    end = min(anomaly.last_anomalous_at + FAST_CONTEXT_AFTER + step, timezone.now(), longest + step)
    return replay.replay(watch, start, end, own_interval=True)  # complete buckets only, as above


class AnomalyAPIView(ProjectAPIView):
    """Reading needs a read key; acting on anomalies needs an admin key (or a member's session)."""

    def get_permissions(self) -> list:
        return [HasReadKey()] if self.request.method in ("GET", "HEAD", "OPTIONS") else [HasAdminKey()]

    def anomaly(self, anomaly_id: int) -> Anomaly:
        anomaly = queries.get_anomaly(self.project, anomaly_id)
        if anomaly is None:
            raise NotFound(f"No anomaly {anomaly_id} in this project.")
        return anomaly


class AnomalyListView(AnomalyAPIView):
    """GET /api/v1/anomalies."""

    @extend_schema(
        operation_id="anomalies_list",
        summary="List anomalies",
        description=needs_key("read", "Newest episode first, filtered, `limit` at a time."),
        parameters=LIST_PARAMETERS,
        responses={200: AnomalyPage, **errors(400, 401, 403)},
        tags=["Anomalies"],
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        limit = query_params.bounded_int(params, "limit", LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX)
        after = query_params.cursor_after(params)
        anomaly_filter = anomaly_filter_from(params, self.project.timezone)
        anomalies, next_cursor = queries.list_anomalies(self.project, anomaly_filter, limit, after)
        return Response({"anomalies": [anomaly_json(anomaly) for anomaly in anomalies], "next_cursor": next_cursor})


class AnomalyDetailView(AnomalyAPIView):
    """GET /api/v1/anomalies/{id}."""

    @extend_schema(
        operation_id="anomalies_retrieve",
        summary="One anomaly",
        description=needs_key(
            "read", "An anomaly with its explanation, and its series hour by hour around it with the expected band."
        ),
        parameters=[ANOMALY_ID],
        responses={200: AnomalyDetail, **errors(400, 401, 403, 404)},
        tags=["Anomalies"],
    )
    def get(self, request: Request, anomaly_id: int) -> Response:
        anomaly = self.anomaly(anomaly_id)
        if anomaly.kind == Anomaly.Kind.THRESHOLD:  # a rule's alert: its aggregate against the threshold
            return Response({**anomaly_json(anomaly), "context": thresholds.context_json(anomaly, timezone.now())})
        return Response({**anomaly_json(anomaly), "context": replay.points_json(anomaly_context(anomaly).scores)})


def action_view(action: str, summary: str, text: str) -> type[AnomalyAPIView]:
    """POST /api/v1/anomalies/{id}/<action> with an optional `{"note": …}`."""

    class ActionView(AnomalyAPIView):
        @extend_schema(
            operation_id=f"anomalies_{action}",
            summary=summary,
            description=needs_key("admin", text),
            parameters=[ANOMALY_ID],
            request=NoteInput,
            responses={200: AnomalyShape, **errors(400, 401, 403, 404)},
            tags=["Anomalies"],
        )
        def post(self, request: Request, anomaly_id: int) -> Response:
            body = validated_body(NoteInput, request)
            anomaly, actor = self.anomaly(anomaly_id), actor_of(request)
            changed = getattr(services, action)(anomaly, actor, body.validated_data.get("note", ""))
            if action == "resolve":  # channels told of the opening hear of the end, as when it ends by itself
                notifications.notify_changes(self.project.pk, [(services.RESOLVED, changed)], timezone.now())
            return Response(anomaly_json(queries.get_anomaly(self.project, changed.pk)))

    ActionView.__name__ = ActionView.__qualname__ = f"{action.title()}View"
    return ActionView


AcknowledgeView = action_view("acknowledge", "Acknowledge", "Someone is on it: no more reminders; `note` optional.")
ResolveView = action_view(
    "resolve", "Resolve", "Close the episode by hand; nothing reopens until the series is normal."
)
ReopenView = action_view("reopen", "Reopen", "Open a resolved anomaly again (not if its series has a newer one).")


class AcknowledgeAllView(AnomalyAPIView):
    """POST /api/v1/anomalies/acknowledge_all."""

    @extend_schema(
        operation_id="anomalies_acknowledge_all",
        summary="Acknowledge all open anomalies",
        description=needs_key("admin", "Every open anomaly, or those of the given severities, kinds or name."),
        request=AcknowledgeAllInput,
        responses={200: AcknowledgedCount, **errors(400, 401, 403)},
        tags=["Anomalies"],
    )
    def post(self, request: Request) -> Response:
        data = validated_body(AcknowledgeAllInput, request).validated_data
        anomaly_filter = queries.AnomalyFilter(
            severities=tuple(data.get("severity", ())), kinds=tuple(data.get("kind", ())), name=data.get("name")
        )
        anomalies = queries.filtered_anomalies(self.project, anomaly_filter)
        count = services.acknowledge_all(anomalies, actor_of(request), data.get("note", ""))
        return Response({"acknowledged": count})


class DetectionSettingsView(AnomalyAPIView):
    """GET/PATCH /api/v1/anomalies/settings."""

    @extend_schema(
        operation_id="anomalies_settings_retrieve",
        summary="Detection settings",
        description=needs_key("read", "Whether detection runs for the project, and its default sensitivity."),
        responses={200: SettingsShape, **errors(400, 401, 403)},
        tags=["Anomaly settings"],
    )
    def get(self, request: Request) -> Response:
        current = queries.detection_settings(self.project)
        return Response({"enabled": current.enabled, "sensitivity": current.sensitivity})

    @extend_schema(
        operation_id="anomalies_settings_update",
        summary="Change detection settings",
        description=needs_key(
            "admin",
            "`enabled` and/or `sensitivity` (low, medium, high). Turning detection off resolves the detector's "
            "open anomalies (threshold rules go on).",
        ),
        request=SettingsShape,
        responses={200: SettingsShape, **errors(400, 401, 403)},
        tags=["Anomaly settings"],
    )
    def patch(self, request: Request) -> Response:
        changes = validated_body(SettingsShape, request).validated_data
        current = services.update_detection_settings(self.project, changes, actor_of(request))
        return Response({"enabled": current.enabled, "sensitivity": current.sensitivity})
