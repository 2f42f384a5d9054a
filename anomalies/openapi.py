"""OpenAPI shapes and parameters of the anomalies API (shared pieces: flux/web/openapi/)."""

from datetime import datetime

from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import serializers

from anomalies.egress import refusal_for_url
from anomalies.models import Anomaly, Channel, Sensitivity, Severity
from flux.payloads.fields import FieldError, parse_iso_timestamp
from flux.query.query_params import comma_separated
from flux.web.openapi.closed import closed
from flux.web.openapi.parameters import limit_parameter

LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX = 50, 500
MAX_EMAIL_ADDRESSES = 20  # each notice (and each test send) mails them all at once
TARGET_MAX_LENGTH = 2000  # a channel's URL or its email addresses


def comma_list(name: str, values: list[str], what: str) -> OpenApiParameter:
    return OpenApiParameter(
        name,
        str,
        description=f"{what}: one or more of {', '.join(f'`{v}`' for v in values)}, comma-separated "
        "or the parameter repeated.",
    )


ANOMALY_FILTERS = [
    comma_list("status", Anomaly.Status.values, "Only these statuses"),
    comma_list("severity", Severity.values, "Only these severities"),
    comma_list("kind", Anomaly.Kind.values, "Only these kinds"),
    OpenApiParameter(
        "name", str, description="Series name: exact, or a glob with `*` and `?` (at most 200 characters)."
    ),
    OpenApiParameter("from", str, description="Episodes still going at or after this instant (ISO 8601, -7d)."),
    OpenApiParameter("to", str, description="Episodes that started before this instant."),
]
LIST_PARAMETERS = [
    *ANOMALY_FILTERS,
    limit_parameter(LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX, "How many anomalies,"),
    OpenApiParameter("cursor", str, description="The `next_cursor` of the previous page."),
]
ANOMALY_ID = OpenApiParameter("anomaly_id", int, OpenApiParameter.PATH, description="The anomaly's `id`.")


class SeriesShape(serializers.Serializer):
    id = serializers.IntegerField(help_text="The watch: one series watched for anomalies.")
    source = serializers.ChoiceField(["events", "metric"])
    name = serializers.CharField()
    tags = serializers.DictField(child=serializers.CharField(), help_text="The metric series' tags; {} for events.")
    measure = serializers.CharField(help_text="`count` for events; for metrics the aggregation watched.")
    sensitivity = serializers.ChoiceField(Sensitivity.values, allow_null=True, help_text="null: the project's.")
    excluded = serializers.BooleanField()
    muted_until = serializers.DateTimeField(allow_null=True)


class Contributor(serializers.Serializer):
    tag = serializers.CharField()
    value = serializers.CharField()
    actual = serializers.FloatField()
    expected = serializers.FloatField()
    share = serializers.FloatField(help_text="Of the whole deviation, 0 to 1.")


class Explanation(serializers.Serializer):
    text = serializers.CharField(required=False)
    contributors = Contributor(many=True, required=False)


class AnomalyShape(serializers.Serializer):
    id = serializers.IntegerField()
    series = SeriesShape()
    kind = serializers.ChoiceField(Anomaly.Kind.values)
    direction = serializers.ChoiceField(["up", "down"])
    status = serializers.ChoiceField(Anomaly.Status.values)
    severity = serializers.ChoiceField(Severity.values)
    score = serializers.FloatField(help_text="The episode's highest score, 0 to 1.")
    started_at = serializers.DateTimeField()
    last_anomalous_at = serializers.DateTimeField()
    interval_seconds = serializers.IntegerField(help_text="The bucket width the series was scored at.")
    actual = serializers.FloatField(allow_null=True, help_text="The latest anomalous bucket's value.")
    expected = serializers.FloatField(allow_null=True)
    lower = serializers.FloatField(allow_null=True, help_text="The band's lower edge.")
    upper = serializers.FloatField(allow_null=True)
    deviation = serializers.FloatField(allow_null=True, help_text="actual - expected.")
    deviation_percent = serializers.FloatField(allow_null=True)
    explanation = Explanation()
    acknowledged_by = serializers.CharField(allow_null=True)
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    note = serializers.CharField(allow_blank=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    resolved_by = serializers.CharField(allow_null=True, help_text="null when it resolved by itself.")


class AnomalyPage(serializers.Serializer):
    anomalies = AnomalyShape(many=True)
    next_cursor = serializers.CharField(allow_null=True)


@closed
class NoFields(serializers.Serializer):
    """No body, or an empty object."""


@closed
class NoteInput(serializers.Serializer):
    """An optional note. Unknown fields are refused."""

    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


def choices_input(values: list[str], what: str) -> serializers.MultipleChoiceField:
    """A body field of some of `values`, as a list or as one comma-separated string: as the list endpoint's
    query parameters take them."""
    listed = {"type": "array", "items": {"type": "string", "enum": values}}

    @extend_schema_field({"oneOf": [listed, {"type": "string", "example": ",".join(values[:2])}]})
    class ChoicesInput(serializers.MultipleChoiceField):
        def to_internal_value(self, data: object) -> set[str]:
            if not isinstance(data, str | list):  # an object would be read as its keys
                self.fail("not_a_list", input_type=type(data).__name__)
            if isinstance(data, str):
                data = [data]
            if isinstance(data, list) and all(isinstance(item, str) for item in data):
                data = comma_separated(data)
            return super().to_internal_value(data)

    # Empty ([], "", ",") is refused, not read as no filter: acknowledge_all would act on every open anomaly.
    empty = "give at least one value, or leave the field out"
    return ChoicesInput(
        choices=values, required=False, allow_empty=False, error_messages={"empty": empty},
        help_text=f"{what}: a list, or comma-separated; not empty.",
    )  # fmt: skip


@closed
class AcknowledgeAllInput(NoteInput):
    """Filters (without any: every open anomaly). Unknown fields are refused: a typo must not widen it."""

    severity = choices_input(Severity.values, "Only these severities")
    kind = choices_input(Anomaly.Kind.values, "Only these kinds")
    name = serializers.CharField(required=False, max_length=200, help_text="Exact, or a glob.")


class AcknowledgedCount(serializers.Serializer):
    acknowledged = serializers.IntegerField()


@closed
class SettingsShape(serializers.Serializer):
    """Unknown fields are refused."""

    enabled = serializers.BooleanField(required=False)
    sensitivity = serializers.ChoiceField(Sensitivity.values, required=False)


class InstantField(serializers.DateTimeField):
    """ISO 8601 with a UTC offset, as ingestion takes timestamps: "2026-12-08" or a time without its offset
    would be read in some zone the client never said."""

    def to_internal_value(self, value: object) -> datetime:
        if not isinstance(value, str):
            self.fail("invalid", format="ISO 8601 with a UTC offset, e.g. 2026-12-08T09:00:00Z")
        try:
            return parse_iso_timestamp(value)
        except FieldError as error:
            raise serializers.ValidationError(str(error).replace("timestamp", "the time", 1)) from None


@closed
class WatchInput(serializers.Serializer):
    """Unknown fields are refused."""

    sensitivity = serializers.ChoiceField(
        ["", *Sensitivity.values], required=False, allow_null=True, help_text='"" or null: the project\'s.'
    )
    excluded = serializers.BooleanField(required=False)
    muted_until = InstantField(
        required=False, allow_null=True, help_text="ISO 8601 with a UTC offset (`Z`); null unmutes."
    )

    def validate_sensitivity(self, value: str | None) -> str:
        return value or ""  # null, as the series list shows a series without its own, is the project's too


class WatchedShape(SeriesShape):
    interval_seconds = serializers.IntegerField(help_text="The buckets its scans score: 300 when busy, else 3600.")
    last_scanned_at = serializers.DateTimeField(allow_null=True, help_text="null: not scanned yet, or no data yet.")
    next_scan_at = serializers.DateTimeField()


class WatchList(serializers.Serializer):
    series = WatchedShape(many=True)


@closed
class ChannelSerializer(serializers.ModelSerializer):
    """A notification channel; `secret` is write-only (the answer says whether one is set). Unknown fields
    are refused."""

    has_secret = serializers.SerializerMethodField()

    class Meta:
        model = Channel
        fields = ["id", "name", "kind", "target", "secret", "has_secret", "min_severity", "notify_resolved",
                  "renotify_minutes", "enabled", "created_at"]  # fmt: skip
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {
            # Kept exactly: a receiver checks signatures with the secret it was given, spaces and all.
            "secret": {"write_only": True, "required": False, "trim_whitespace": False},
            "target": {"max_length": TARGET_MAX_LENGTH},
        }

    def get_has_secret(self, channel: Channel) -> bool:
        return bool(channel.secret)

    def validate(self, attrs: dict) -> dict:
        if self.instance is not None and attrs.get("kind", self.instance.kind) != self.instance.kind:
            # Its queued deliveries hold the old kind's payload (an email's subject, a webhook's JSON).
            raise serializers.ValidationError({"kind": "a channel's kind cannot change; add a new channel"})
        kind = attrs.get("kind", getattr(self.instance, "kind", None))
        target = attrs.get("target", getattr(self.instance, "target", ""))
        if kind == Channel.Kind.EMAIL:
            addresses = [address.strip() for address in target.split(",") if address.strip()]
            email = serializers.EmailField()
            for address in addresses:
                try:
                    email.run_validation(address)
                except serializers.ValidationError:
                    raise serializers.ValidationError({"target": f"{address} is not an email address"}) from None
            if not addresses:
                raise serializers.ValidationError({"target": "give at least one email address"})
            if len(addresses) > MAX_EMAIL_ADDRESSES:
                raise serializers.ValidationError({"target": f"at most {MAX_EMAIL_ADDRESSES} email addresses"})
        elif not target.startswith(("http://", "https://")):
            raise serializers.ValidationError({"target": "must be an http:// or https:// URL"})
        elif refused := refusal_for_url(target):
            raise serializers.ValidationError({"target": refused})
        return attrs


class ChannelList(serializers.Serializer):
    channels = ChannelSerializer(many=True)


class DeliveryShape(serializers.Serializer):
    id = serializers.IntegerField()
    event = serializers.CharField()
    anomaly_ids = serializers.ListField(child=serializers.IntegerField())
    status = serializers.ChoiceField(["pending", "delivered", "failed"])
    attempts = serializers.IntegerField()
    response_status = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    next_attempt_at = serializers.DateTimeField(allow_null=True)


class DeliveryList(serializers.Serializer):
    deliveries = DeliveryShape(many=True)


class ReplayPoint(serializers.Serializer):
    time = serializers.DateTimeField(
        help_text="The bucket's start (an hour, or five minutes in a busy series' anomaly context)."
    )
    value = serializers.FloatField(allow_null=True, help_text="null: no data in that bucket.")
    expected = serializers.FloatField(allow_null=True)
    lower = serializers.FloatField(allow_null=True)
    upper = serializers.FloatField(allow_null=True)
    score = serializers.FloatField()
    is_anomaly = serializers.BooleanField()


class AnomalyDetail(AnomalyShape):
    context = ReplayPoint(
        many=True,
        help_text="The series with the band, at the interval it is scanned at: hour by hour from two days before "
        "to a day after, or five minutes by five minutes from three hours before to an hour after (at most eight "
        "hours).",
    )


class ReplayEpisode(serializers.Serializer):
    started_at = serializers.DateTimeField()
    last_anomalous_at = serializers.DateTimeField()
    kind = serializers.ChoiceField(Anomaly.Kind.values)
    direction = serializers.ChoiceField(["up", "down"])
    score = serializers.FloatField()
    severity = serializers.ChoiceField(Severity.values)
    ongoing = serializers.BooleanField(help_text="Still anomalous at the end of the range.")


class Backtest(serializers.Serializer):
    series = SeriesShape()
    sensitivity = serializers.ChoiceField(Sensitivity.values)
    points = ReplayPoint(many=True)
    episodes = ReplayEpisode(many=True, help_text="The anomalies this range would have opened.")
