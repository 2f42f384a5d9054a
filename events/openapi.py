"""OpenAPI shapes and parameters of the events API (see flux/web/openapi/ for the shared ones)."""

from django.core.validators import RegexValidator
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from events.funnels import MAX_STEPS
from flux.payloads.fields import PROPERTIES_MAX_BYTES
from flux.query.event_filter import PLAIN_FIELDS
from flux.query.query_params import GROUP_LIMIT_DEFAULT, GROUP_LIMIT_MAX
from flux.web.openapi.fields import TAGS_IN, TAGS_OUT, TIMESTAMP, PointsField, RangeFields, SchemaField, interval_field
from flux.web.openapi.ingestion import (
    ID_HELP,
    TAGS_HELP,
    TEXT_HELP,
    TIMESTAMP_HELP,
    batch_of,
    name_field,
    optional_text,
)
from flux.web.openapi.parameters import EVENT_FIELDS, limit_parameter, tags_parameter

FIELD_PATTERN = rf"^({'|'.join(PLAIN_FIELDS)}|(tags|properties)\..+)$"
PROPERTIES_FILTER = "Filter by properties with `properties.<key>=<value>` (repeatable; all must match)."


class EventInput(serializers.Serializer):
    """One event. Unknown fields are ignored; `null` means absent."""

    name = name_field()
    timestamp = SchemaField(TIMESTAMP, required=False, allow_null=True, help_text=TIMESTAMP_HELP)
    value = serializers.FloatField(
        required=False,
        allow_null=True,
        help_text='A finite number from -1e100 to 1e100, or a decimal number as a string (`"49.99"`).',
    )
    tags = SchemaField(TAGS_IN, required=False, allow_null=True, help_text=TAGS_HELP)
    properties = serializers.DictField(
        required=False, allow_null=True, help_text=f"Any JSON object, up to {PROPERTIES_MAX_BYTES // 1024} KB."
    )
    user_id = optional_text()
    session_id = optional_text()
    environment = optional_text()
    service = optional_text()
    host = optional_text()
    request_id = optional_text()
    id = optional_text(f"{ID_HELP} {TEXT_HELP}")


class EventBatchObject(serializers.Serializer):
    events = EventInput(many=True)


EVENT_BATCH = batch_of("EventBatch", EventBatchObject, EventInput)


class Event(serializers.Serializer):
    """A stored event. Absent text fields and value are `null`."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    timestamp = serializers.DateTimeField(help_text="When it happened, UTC.")
    received_at = serializers.DateTimeField(help_text="When Flux stored it, UTC.")
    user_id = serializers.CharField(allow_null=True)
    session_id = serializers.CharField(allow_null=True)
    value = serializers.FloatField(allow_null=True)
    tags = SchemaField(TAGS_OUT)
    properties = serializers.DictField(help_text="The JSON object sent.")
    environment = serializers.CharField(allow_null=True)
    service = serializers.CharField(allow_null=True)
    host = serializers.CharField(allow_null=True)
    request_id = serializers.CharField(allow_null=True)
    client_id = serializers.CharField(
        allow_null=True, help_text="The `id` it was sent with (its idempotency key), or null; `id` is Flux's own."
    )


class EventPage(serializers.Serializer):
    """Events newest first."""

    events = Event(many=True)
    next_cursor = serializers.CharField(
        allow_null=True, help_text="Pass as `cursor` for the next page; `null` on the last page."
    )


COUNT_POINTS = [["2026-11-17T00:00:00Z", 180], ["2026-11-18T00:00:00Z", 0]]


class CountGroup(serializers.Serializer):
    key = serializers.CharField(
        allow_null=True,
        help_text="The field's value; `null` for events without it; `__other__` sums the groups past `limit`.",
    )
    count = serializers.IntegerField()
    points = PointsField({"type": "integer"}, COUNT_POINTS, required=False, help_text="With `interval`.")


class EventCount(RangeFields):
    """`count` always; `interval` and `points` with an interval; `group_by` and `groups` with a group_by (then
    each group has its own `points` when there is an interval, and there are no top-level `points`)."""

    count = serializers.IntegerField(help_text="Events matching in the range.")
    interval = interval_field(required=False)
    points = PointsField(
        {"type": "integer"},
        COUNT_POINTS,
        required=False,
        help_text="With `interval` and without `group_by`: events per bucket, empty buckets 0.",
    )
    group_by = serializers.CharField(required=False, help_text="The field grouped by.")
    groups = CountGroup(many=True, required=False, help_text="The `limit` largest groups, then `__other__`.")


def nullable_number(help_text: str = "") -> serializers.FloatField:
    return serializers.FloatField(allow_null=True, help_text=help_text)


class ValueStats(serializers.Serializer):
    """Statistics of `value` (events without a value are not counted); `null` when there are none."""

    count = serializers.IntegerField(help_text="Events with a value.")
    sum = nullable_number()
    avg = nullable_number()
    min = nullable_number()
    max = nullable_number()
    p50 = nullable_number("Percentiles are within 1% when answered from rollups.")
    p90 = nullable_number()
    p95 = nullable_number()
    p99 = nullable_number()


class StatsGroup(ValueStats):
    """The statistics of one group."""

    key = serializers.CharField(allow_null=True, help_text="The field's value; `null` for events without it.")


STATS_POINTS = [
    ["2026-11-20T10:00:00Z", {"count": 2, "sum": 40.0, "avg": 20.0, "min": 10.0, "max": 30.0, "p50": 20.0,
                              "p90": 28.0, "p95": 29.0, "p99": 29.8}],
]  # fmt: skip


class EventStats(RangeFields, ValueStats):
    """Statistics over the range; with `interval`, per bucket in `points`; with `group_by`, per group."""

    field = serializers.ChoiceField(choices=["value"])
    interval = interval_field(required=False)
    points = PointsField(ValueStats, STATS_POINTS, required=False, help_text="With `interval`: `[bucket, stats]`.")
    group_by = serializers.CharField(required=False, help_text="The field grouped by.")
    groups = StatsGroup(many=True, required=False, help_text="The `limit` groups with the most values.")


class EventUnique(RangeFields):
    """Distinct values of a field over the range, and per bucket with `interval`."""

    field = serializers.CharField()
    unique = serializers.IntegerField(
        help_text="Distinct non-empty values. Users of a name filter come from rollups: exact up to 1,024, "
        "within 2% beyond."
    )
    interval = interval_field(required=False)
    points = PointsField({"type": "integer"}, COUNT_POINTS, required=False, help_text="With `interval`.")


STEP = {
    "oneOf": [
        {"type": "string", "description": "An event name."},
        {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string"},
                "tags": {"type": "object", "additionalProperties": {"type": "string"}},
            },
            "description": "An event name with tags the event must have.",
        },
    ]
}
STEPS = {
    "type": "array",
    "minItems": 2,
    "maxItems": MAX_STEPS,
    "items": STEP,
    "example": ["page.viewed", {"name": "user.signup", "tags": {"plan": "pro"}}, "order.completed"],
}
# `from` is a Python keyword, so the range fields are declared by name.
FunnelRange = type(
    "FunnelRange",
    (serializers.Serializer,),
    {
        "from": serializers.CharField(required=False, help_text="As the `from` query parameter of other reads."),
        "to": serializers.CharField(required=False, help_text="As the `to` query parameter."),
        "period": serializers.CharField(required=False, help_text="As the `period` query parameter."),
        "timezone": serializers.CharField(required=False, help_text="As the `timezone` query parameter."),
    },
)


class FunnelRequest(FunnelRange):
    """Which steps, over which range. Scalars only: numbers are read as their text."""

    steps = SchemaField(STEPS, help_text=f"2 to {MAX_STEPS} steps, in order.")
    window = serializers.CharField(
        required=False,
        default="7d",
        validators=[RegexValidator(r"^\d{1,6}[smhdw]$")],
        help_text="How long after entering (their first step) a user has for the other steps: like `30m`, "
        "`12h`, `7d`, `2w`; at most 90 days.",
    )
    group_by = serializers.CharField(
        required=False,
        validators=[RegexValidator(FIELD_PATTERN)],
        help_text=f"Split users by this field of their entering event: {EVENT_FIELDS}.",
    )
    limit = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=GROUP_LIMIT_MAX,
        default=GROUP_LIMIT_DEFAULT,
        help_text="With `group_by`: how many groups (by entering users) before `__other__`.",
    )


class FunnelStep(serializers.Serializer):
    name = serializers.CharField()
    tags = SchemaField(TAGS_OUT)
    users = serializers.IntegerField(help_text="Users who did this step after the previous one, within the window.")
    conversion_from_previous = nullable_number("users / the previous step's users; `null` for the first step.")
    conversion_from_first = nullable_number("users / the first step's users; `null` when nobody entered.")
    median_seconds_to_convert = nullable_number("Median time from the previous step; `null` for the first step.")


class FunnelGroup(serializers.Serializer):
    key = serializers.CharField(
        allow_null=True, help_text="The users' group; `null` when the entering event lacks the field; `__other__`."
    )
    steps = FunnelStep(many=True)


class Funnel(RangeFields):
    """`steps` without `group_by`; `group_by` and `groups` (largest first, `__other__` last) with it."""

    window_seconds = serializers.FloatField()
    steps = FunnelStep(many=True, required=False)
    group_by = serializers.CharField(required=False)
    groups = FunnelGroup(many=True, required=False)


def event_filters(tags_text: str = "events whose tags include every pair.") -> list[OpenApiParameter]:
    return [
        OpenApiParameter("name", str, description="Event name: exact, or a glob with `*` and `?` (e.g. `user.*`)."),
        tags_parameter(tags_text),
        OpenApiParameter("user_id", str, description="Only this user's events."),
        OpenApiParameter("session_id", str, description="Only this session's events."),
        OpenApiParameter(
            "properties.<key>",
            str,
            description="`properties.<key>=<value>`, repeatable: events whose property `<key>` has this value "
            "(`<key>` stands for any property name).",
        ),
        OpenApiParameter("value_min", float, description="Only events with a value of at least this."),
        OpenApiParameter("value_max", float, description="Only events with a value of at most this."),
    ]


def field_parameter(name: str, text: str, default: str | None = None) -> OpenApiParameter:
    return OpenApiParameter(name, str, pattern=FIELD_PATTERN, default=default, description=f"{text}: {EVENT_FIELDS}.")


GROUP_LIMIT = limit_parameter(GROUP_LIMIT_DEFAULT, GROUP_LIMIT_MAX, "With `group_by`: how many groups to list,")


class EventName(serializers.Serializer):
    name = serializers.CharField()
    count = serializers.IntegerField(help_text="Events of this name in the range.")
    last_seen = serializers.DateTimeField(allow_null=True, help_text="The newest event of this name (any time).")
    tag_keys = serializers.ListField(child=serializers.CharField(), help_text="Tag keys its events carried.")


class EventCatalogue(RangeFields):
    """Event names seen in the range, busiest first."""

    names = EventName(many=True)
