"""The anomaly settings API: per-series sensitivity, exclusion and mute; notification channels."""

from datetime import timedelta

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from anomalies import queries, services
from anomalies.models import Channel, Delivery, Sensitivity
from anomalies.openapi import (
    Backtest,
    ChannelList,
    ChannelSerializer,
    DeliveryList,
    DeliveryShape,
    NoFields,
    WatchedShape,
    WatchInput,
    WatchList,
)
from anomalies.replay import MAX_REPLAY_HOURS, episodes_json, points_json, replay
from anomalies.serializers import watch_json, watched_json
from flux.query import query_params
from flux.query.query_params import InvalidParameter
from flux.web.api import NotFound, ProjectAPIView, validated_body
from flux.web.auth import HasAdminKey, HasReadKey, actor_of
from flux.web.openapi.errors import errors
from flux.web.openapi.keys import needs_key
from flux.web.openapi.parameters import TIME_RANGE, choice
from flux.web.serializers import iso

WATCH_ID = OpenApiParameter("watch_id", int, OpenApiParameter.PATH, description="The watched series' `id`.")
CHANNEL_ID = OpenApiParameter("channel_id", int, OpenApiParameter.PATH, description="The channel's `id`.")
DELIVERY_LOG_LIMIT = 100


class WatchListView(ProjectAPIView):
    """GET /api/v1/anomalies/series."""

    permission_classes = [HasReadKey]

    @extend_schema(
        operation_id="anomalies_series_list",
        summary="Watched series",
        description=needs_key("read", "Every series watched for anomalies (or those of `name`), with its settings."),
        parameters=[OpenApiParameter("name", str, description="Only series of this event or metric name.")],
        responses={200: WatchList, **errors(400, 401, 403)},
        tags=["Anomaly settings"],
    )
    def get(self, request: Request) -> Response:
        watches = queries.list_watches(self.project, request.query_params.get("name") or None)
        return Response({"series": [watched_json(watch) for watch in watches]})


class WatchDetailView(ProjectAPIView):
    """PATCH /api/v1/anomalies/series/{id}."""

    permission_classes = [HasAdminKey]

    @extend_schema(
        operation_id="anomalies_series_update",
        summary="Tune one series",
        description=needs_key(
            "admin",
            "Its own `sensitivity` (empty for the project's), `excluded` from scans (which resolves its open "
            "anomaly), or `muted_until`.",
        ),
        parameters=[WATCH_ID],
        request=WatchInput,
        responses={200: WatchedShape, **errors(400, 401, 403, 404)},
        tags=["Anomaly settings"],
    )
    def patch(self, request: Request, watch_id: int) -> Response:
        watch = queries.get_watch(self.project, watch_id)
        if watch is None:
            raise NotFound(f"No watched series {watch_id} in this project.")
        changes = validated_body(WatchInput, request).validated_data
        return Response(watched_json(services.update_watch(watch, changes, actor_of(request))))


class BacktestView(ProjectAPIView):
    """GET /api/v1/anomalies/series/{id}/backtest."""

    permission_classes = [HasReadKey]

    @extend_schema(
        operation_id="anomalies_series_backtest",
        summary="Backtest a series",
        description=needs_key(
            "read",
            "How the detector would have scored this series hour by hour over the range, and which anomalies it "
            f"would have opened (at most {MAX_REPLAY_HOURS // 24} days; `sensitivity` to try another setting).",
        ),
        parameters=[WATCH_ID, *TIME_RANGE[:3], OpenApiParameter("sensitivity", choice(Sensitivity.values))],
        responses={200: Backtest, **errors(400, 401, 403, 404)},
        tags=["Anomaly settings"],
    )
    def get(self, request: Request, watch_id: int) -> Response:
        watch = queries.get_watch(self.project, watch_id)
        if watch is None:
            raise NotFound(f"No watched series {watch_id} in this project.")
        time_range = query_params.time_range(request.query_params, self.project)
        if time_range.duration > timedelta(hours=MAX_REPLAY_HOURS):
            raise InvalidParameter("from", f"a backtest covers at most {MAX_REPLAY_HOURS // 24} days")
        sensitivity = request.query_params.get("sensitivity") or None
        if sensitivity not in (None, *Sensitivity.values):
            raise InvalidParameter("sensitivity", f"sensitivity must be one of {', '.join(Sensitivity.values)}")
        result = replay(watch, time_range.start, time_range.end, sensitivity)
        return Response({
            "series": watch_json(watch), "sensitivity": result.sensitivity,
            "points": points_json(result.scores), "episodes": episodes_json(result.scores),
        })  # fmt: skip


class ChannelAPIView(ProjectAPIView):
    """Channels hold webhook URLs and secrets: admin keys only, for reading too."""

    permission_classes = [HasAdminKey]

    def channel(self, channel_id: int) -> Channel:
        channel = queries.get_channel(self.project, channel_id)
        if channel is None:
            raise NotFound(f"No channel {channel_id} in this project.")
        return channel


class ChannelListView(ChannelAPIView):
    """GET/POST /api/v1/anomalies/channels."""

    @extend_schema(
        operation_id="anomalies_channels_list",
        summary="Notification channels",
        description=needs_key("admin", "The project's webhook, Slack and email channels."),
        responses={200: ChannelList, **errors(400, 401, 403)},
        tags=["Anomaly settings"],
    )
    def get(self, request: Request) -> Response:
        return Response({"channels": ChannelSerializer(queries.list_channels(self.project), many=True).data})

    @extend_schema(
        operation_id="anomalies_channels_create",
        summary="Add a channel",
        description=needs_key(
            "admin",
            "`kind` webhook (`target` a URL; `secret` signs each request), slack (an incoming-webhook URL) or "
            "email (comma-separated addresses); `min_severity`, `notify_resolved`, `renotify_minutes`.",
        ),
        request=ChannelSerializer,
        responses={201: ChannelSerializer, **errors(400, 401, 403)},
        tags=["Anomaly settings"],
    )
    def post(self, request: Request) -> Response:
        body = validated_body(ChannelSerializer, request)
        channel = services.add_channel(self.project, body.validated_data)
        return Response(ChannelSerializer(channel).data, status=status.HTTP_201_CREATED)


class ChannelDetailView(ChannelAPIView):
    """GET/PATCH/DELETE /api/v1/anomalies/channels/{id}."""

    @extend_schema(
        operation_id="anomalies_channels_retrieve",
        summary="One channel",
        description=needs_key("admin", "A channel (its secret is never shown)."),
        parameters=[CHANNEL_ID],
        responses={200: ChannelSerializer, **errors(400, 401, 403, 404)},
        tags=["Anomaly settings"],
    )
    def get(self, request: Request, channel_id: int) -> Response:
        return Response(ChannelSerializer(self.channel(channel_id)).data)

    @extend_schema(
        operation_id="anomalies_channels_update",
        summary="Change a channel",
        description=needs_key("admin", "Any of the fields given; the rest stay."),
        parameters=[CHANNEL_ID],
        request=ChannelSerializer,
        responses={200: ChannelSerializer, **errors(400, 401, 403, 404)},
        tags=["Anomaly settings"],
    )
    def patch(self, request: Request, channel_id: int) -> Response:
        body = validated_body(ChannelSerializer, request, instance=self.channel(channel_id), partial=True)
        return Response(ChannelSerializer(body.save()).data)

    @extend_schema(
        operation_id="anomalies_channels_destroy",
        summary="Delete a channel",
        description=needs_key("admin", "The channel and its delivery log."),
        parameters=[CHANNEL_ID],
        responses={204: None, **errors(401, 403, 404)},
        tags=["Anomaly settings"],
    )
    def delete(self, request: Request, channel_id: int) -> Response:
        self.channel(channel_id).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


def delivery_json(delivery: Delivery) -> dict:
    return {
        "id": delivery.pk, "event": delivery.event, "anomaly_ids": delivery.anomaly_ids, "status": delivery.status,
        "attempts": delivery.attempts, "response_status": delivery.response_status, "last_error": delivery.last_error,
        "created_at": iso(delivery.created_at),
        "delivered_at": iso(delivery.delivered_at) if delivery.delivered_at else None,
        "next_attempt_at": iso(delivery.next_attempt_at) if delivery.status == Delivery.Status.PENDING else None,
    }  # fmt: skip


class ChannelDeliveriesView(ChannelAPIView):
    """GET /api/v1/anomalies/channels/{id}/deliveries."""

    @extend_schema(
        operation_id="anomalies_channels_deliveries",
        summary="A channel's delivery log",
        description=needs_key("admin", f"The last {DELIVERY_LOG_LIMIT} notifications, newest first, with outcomes."),
        parameters=[CHANNEL_ID],
        responses={200: DeliveryList, **errors(400, 401, 403, 404)},
        tags=["Anomaly settings"],
    )
    def get(self, request: Request, channel_id: int) -> Response:
        deliveries = queries.list_deliveries(self.channel(channel_id), DELIVERY_LOG_LIMIT)
        return Response({"deliveries": [delivery_json(delivery) for delivery in deliveries]})


class ChannelTestView(ChannelAPIView):
    """POST /api/v1/anomalies/channels/{id}/test."""

    @extend_schema(
        operation_id="anomalies_channels_test",
        summary="Send a test notification",
        description=needs_key("admin", "Sends a sample notification now and answers with the delivery's outcome."),
        parameters=[CHANNEL_ID],
        request=None,
        responses={200: DeliveryShape, **errors(400, 401, 403, 404)},
        tags=["Anomaly settings"],
    )
    def post(self, request: Request, channel_id: int) -> Response:
        from django.utils import timezone

        from anomalies.delivery import send_test

        validated_body(NoFields, request)  # nothing, or {}: a body meant for another endpoint is a mistake
        return Response(delivery_json(send_test(self.channel(channel_id), timezone.now())))
