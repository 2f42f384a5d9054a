"""OpenAPI shapes and parameters of the metrics API (see flux/web/openapi/ for the shared ones)."""

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from flux.query.query_params import GROUP_LIMIT_DEFAULT, GROUP_LIMIT_MAX
from flux.web.openapi.fields import TAGS_IN, TIMESTAMP, PointsField, RangeFields, SchemaField, interval_field
from flux.web.openapi.ingestion import (
    ID_HELP,
    TAGS_HELP,
    TEXT_HELP,
    TIMESTAMP_HELP,
    batch_of,
    name_field,
    optional_text,
)
from flux.web.openapi.parameters import choice, choices_by_kind, limit_parameter
from metrics.ingest import SET_MEMBER_MAX_LENGTH
from metrics.models import MetricType
from metrics.queries import AGGREGATIONS, DEFAULT_AGGREGATION

AGGREGATION_NAMES = list(dict.fromkeys(name for by_type in AGGREGATIONS.values() for name in by_type))
AGGREGATIONS_BY_TYPE = choices_by_kind(AGGREGATIONS, DEFAULT_AGGREGATION)
AGGREGATION = OpenApiParameter(
    "aggregation",
    choice(AGGREGATION_NAMES),
    description=f"How points are aggregated, by the metric's type: {AGGREGATIONS_BY_TYPE}. `rate` is per second; "
    "an aggregation the type does not have is a 400.",
)
METRIC_NAME = OpenApiParameter(
    "name", str, OpenApiParameter.PATH, description="The metric's name (it may contain `/`)."
)


class MetricPointInput(serializers.Serializer):
    """One metric point. A name keeps the type it was first sent with; a series is a name plus a tag set."""

    type = serializers.ChoiceField(choices=MetricType.values)
    name = name_field()
    value = SchemaField(
        {"oneOf": [{"type": "number"}, {"type": "string", "maxLength": SET_MEMBER_MAX_LENGTH}]},
        required=False,
        allow_null=True,
        help_text='A finite number from -1e100 to 1e100, or a decimal string such as `"49.99"` (negative counter '
        "values are decrements); a `counter` without a value counts 1. For a `set`, the member as a string or number.",
    )
    tags = SchemaField(TAGS_IN, required=False, allow_null=True, help_text=TAGS_HELP)
    timestamp = SchemaField(TIMESTAMP, required=False, allow_null=True, help_text=TIMESTAMP_HELP)
    id = optional_text(f"{ID_HELP} {TEXT_HELP}")


class MetricBatchObject(serializers.Serializer):
    metrics = MetricPointInput(many=True)


METRIC_BATCH = batch_of("MetricBatch", MetricBatchObject, MetricPointInput)


class MetricInfo(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=MetricType.values)
    series = serializers.IntegerField(help_text="How many series (tag sets) it has.")
    tags = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Tag keys with their commonest values (at most 5 each).",
    )
    last_seen = serializers.DateTimeField(allow_null=True, help_text="When a series last received a point (hourly).")


class MetricCatalogue(serializers.Serializer):
    """Every metric of the project, by name."""

    metrics = MetricInfo(many=True)


def statistic(help_text: str = "") -> serializers.FloatField:
    return serializers.FloatField(required=False, allow_null=True, help_text=help_text)


class CardinalityWarning(serializers.Serializer):
    metric = serializers.CharField()
    tag_key = serializers.CharField(
        allow_null=True, help_text="The tag key past FLUX_MAX_TAG_VALUES_PER_KEY; null: the series limit."
    )
    folded_points = serializers.IntegerField(help_text="Points stored with a value folded into `__other__`.")
    last_folded_at = serializers.DateTimeField()


class MetricSummary(RangeFields):
    """Points and series over the range, plus the type's natural statistics: gauge `last`, `avg`, `min`, `max`;
    counter `sum`, `rate`; distribution `avg`, `min`, `max`, `p50`, `p95`, `p99`; set `unique`."""

    name = serializers.CharField()
    type = serializers.ChoiceField(choices=MetricType.values)
    points = serializers.IntegerField(help_text="Points in the range.")
    series = serializers.IntegerField(help_text="Series with points in the range.")
    last = statistic("Gauge: the latest value.")
    avg = statistic("Gauge, distribution.")
    min = statistic("Gauge, distribution.")
    max = statistic("Gauge, distribution.")
    sum = statistic("Counter.")
    rate = statistic("Counter: sum per second of the range.")
    p50 = statistic("Distribution.")
    p95 = statistic("Distribution.")
    p99 = statistic("Distribution.")
    unique = serializers.IntegerField(required=False, allow_null=True, help_text="Set: distinct members.")
    cardinality_warnings = CardinalityWarning(
        many=True, help_text="Tag keys of this metric whose new values are folded into `__other__` (any time)."
    )


class MetricSeriesPoints(serializers.Serializer):
    tags = serializers.DictField(
        child=serializers.CharField(allow_null=True),
        help_text="The `tags[…]` filter, or with `group_by` the grouped tag and its value (`null` for series "
        "without that tag).",
    )
    points = PointsField(
        {"type": "number", "nullable": True},
        [["2026-11-23T10:00:00Z", 87.0], ["2026-11-23T10:05:00Z", None]],
        help_text="Empty buckets are `null` (a gap) for averages, extremes and percentiles, 0 for sums and counts.",
    )


class MetricQuery(RangeFields):
    """The metric aggregated per bucket: one series, or one per value of the `group_by` tag."""

    name = serializers.CharField()
    type = serializers.ChoiceField(choices=MetricType.values)
    aggregation = serializers.ChoiceField(choices=AGGREGATION_NAMES)
    interval = interval_field("The bucket length (the one chosen when `interval` was `auto` or absent).")
    series = MetricSeriesPoints(many=True, help_text="With `group_by`, the `limit` busiest; else exactly one.")


TAG_GROUP_BY = OpenApiParameter(
    "group_by", str, pattern=r"^tags\..+$", description="`tags.<key>`: one series per value of that tag."
)
SERIES_LIMIT = limit_parameter(GROUP_LIMIT_DEFAULT, GROUP_LIMIT_MAX, "With `group_by`: how many series (the busiest),")
