"""OpenAPI shapes and parameters of the insights API (shared pieces: flux/web/openapi/). The serializers
only describe the JSON for the schema; the views answer with what flux.insights builds."""

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from anomalies.openapi import LIST_LIMIT_MAX
from events.openapi import nullable_number
from events.queries import STAT_MEASURES
from flux.insights.compare import KINDS
from flux.insights.periods import DEFAULT_PERIOD, PERIODS
from flux.query.compare import SHIFTS
from flux.web.openapi.fields import RangeFields, SchemaField
from flux.web.openapi.parameters import choice
from metrics.models import MetricType
from metrics.openapi import AGGREGATION_NAMES

VERDICTS = ["up", "down", "steady", "not_enough_data"]
MEASURES = ["count", "unique", *STAT_MEASURES]


def one_of(values: list[str] | tuple[str, ...], text: str = "") -> serializers.CharField:
    """A string documented by its values in words: other components use these field names for other choices,
    and spectacular would name every choice set it meets."""
    return serializers.CharField(help_text=f"{text}One of {', '.join(f'`{value}`' for value in values)}.")


PERIOD = OpenApiParameter(
    "period",
    choice(list(PERIODS), default=DEFAULT_PERIOD),
    description="The last 24 hours (`last_24h`), 7 days (`last_7d`) or 30 days (`last_30d`) ending now, against the "
    "same length just before; these names mean the same rolling stretches as the query endpoints' `period`.",
)
NAME = OpenApiParameter(
    "name", str, required=True, description="An event name (or a glob like `user.*`) or a metric name."
)
KIND = OpenApiParameter(
    "kind",
    choice(list(KINDS)),
    description="What `name` is. Without it, a metric of that name if the project has one, else an event name; "
    "`metric` with an unknown metric is a 404.",
)


class FactQuery(serializers.Serializer):
    path = serializers.CharField(help_text="A read endpoint of this API, e.g. `/api/v1/events/count`.")
    params = SchemaField(
        {"type": "object", "additionalProperties": {"type": "string"}, "example": {"name": "user.signup"}},
        help_text="Its query parameters; `from`/`to` are absolute UTC instants, so the answer does not move.",
    )


class Fact(serializers.Serializer):
    """A number the text states, and the query (run with a read key) that gives it."""

    query = FactQuery()
    field = serializers.CharField(
        help_text="Where the number is in the query's answer: keys separated by dots, list positions as numbers."
    )
    reduce = serializers.ChoiceField(
        ["length", "mean"],
        required=False,
        help_text="When present, what to do with the list at `field`: its `length`, or the `mean` of the non-null "
        "values of its `[bucket, value]` points.",
    )
    value = serializers.FloatField(allow_null=True, help_text="The number (null when the answer holds null).")
    label = serializers.CharField(help_text="What the number is, for people.")


class ChangeStart(serializers.Serializer):
    at = serializers.DateTimeField(help_text="The first hour after the change, UTC.")
    text = serializers.CharField(help_text='In the project\'s timezone, e.g. "Tuesday around 14:00".')
    before = serializers.FloatField(help_text="The mean hourly value before it (events per hour for events).")
    after = serializers.FloatField(help_text="The mean hourly value from it on.")
    change_percent = serializers.FloatField(allow_null=True, help_text="From `before` to `after`; null from 0.")


class Ranges(serializers.Serializer):
    period = serializers.ChoiceField(list(PERIODS))
    previous_from = serializers.DateTimeField(help_text="Start of the period before, UTC.")
    previous_to = serializers.DateTimeField(help_text="End of the period before (the start of this one), UTC.")
    text = serializers.CharField(help_text="Plain English; every number in it is one of `facts`.")
    facts = Fact(many=True)


# `from` is a Python keyword, so the range fields are declared by name.
RangesWithBounds = type(
    "RangesWithBounds",
    (Ranges,),
    {
        "from": serializers.DateTimeField(help_text="Start of the period (inclusive), UTC."),
        "to": serializers.DateTimeField(help_text="End of the period (exclusive): now, UTC."),
    },
)


class CompareInsight(RangesWithBounds):
    """One event name or metric over the period against the period before."""

    name = serializers.CharField()
    kind = one_of(KINDS)
    aggregation = serializers.CharField(allow_null=True, help_text="For a metric: its type's default aggregation.")
    subject = serializers.CharField(help_text='How the text names it: "user.signup events", "the average of …".')
    current = serializers.FloatField(allow_null=True, help_text="The count, or the metric's aggregation.")
    previous = serializers.FloatField(allow_null=True)
    change_percent = serializers.FloatField(allow_null=True, help_text="null without a baseline.")
    significant = serializers.BooleanField(help_text="Whether the change is more than normal variation.")
    verdict = one_of(VERDICTS)
    p_value = serializers.FloatField(allow_null=True, help_text="Of the test behind `significant`; null without one.")
    change_start = ChangeStart(allow_null=True, help_text="When a significant change started, if one hour stands out.")


class EventsVolume(serializers.Serializer):
    current = serializers.IntegerField()
    previous = serializers.IntegerField()
    change_percent = serializers.FloatField(allow_null=True)
    verdict = one_of(VERDICTS)


class Mover(serializers.Serializer):
    name = serializers.CharField()
    kind = one_of(KINDS)
    aggregation = serializers.CharField(allow_null=True)
    subject = serializers.CharField()
    current = serializers.FloatField()
    previous = serializers.FloatField()
    change_percent = serializers.FloatField(allow_null=True)
    verdict = one_of(["up", "down"])
    text = serializers.CharField(help_text="Its own insight, as from /api/v1/insights/compare.")


class SeverityCounts(serializers.Serializer):
    critical = serializers.IntegerField()
    warning = serializers.IntegerField()
    info = serializers.IntegerField()


class TopAnomaly(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    severity = serializers.CharField()
    started_at = serializers.DateTimeField()


class PeriodAnomalies(serializers.Serializer):
    total = serializers.IntegerField(
        help_text=f"Open at some time during the period (at most {LIST_LIMIT_MAX} are counted)."
    )
    by_severity = SeverityCounts()
    top = TopAnomaly(allow_null=True, help_text="The most severe (then highest score, then latest).")


class NewEvent(serializers.Serializer):
    name = serializers.CharField()
    count = serializers.IntegerField()


class NewMetric(serializers.Serializer):
    name = serializers.CharField()
    points = serializers.IntegerField()


class NewNames(serializers.Serializer):
    events = NewEvent(many=True, help_text="Event names with events in the period and none before it, busiest first.")
    metrics = NewMetric(many=True, help_text="Metrics with points in the period and none before it.")


class SummaryInsight(RangesWithBounds):
    """The project over the period, against the period before."""

    events = EventsVolume(help_text="All events.")
    movers = Mover(many=True, help_text="The largest significant changes among event names and metrics.")
    anomalies = PeriodAnomalies()
    new = NewNames(help_text="First seen in the period, as far back as the project keeps data.")


class Driver(serializers.Serializer):
    tag = serializers.CharField()
    value = serializers.CharField()
    actual = serializers.FloatField(required=False, help_text="Events: the value's count after the change.")
    expected = serializers.FloatField(required=False, help_text="Events: its count in as long a stretch before.")
    share = serializers.FloatField(required=False, help_text="Events: its part of the whole change, 0 to 1.")
    before = serializers.FloatField(required=False, help_text="Metrics: the aggregation before the change.")
    after = serializers.FloatField(required=False, help_text="Metrics: the aggregation after it.")
    change_percent = serializers.FloatField(required=False, help_text="Metrics: its own change.")


class ExplainInsight(CompareInsight):
    """The comparison, then the tag values that drive the change."""

    drivers = Driver(many=True, help_text="At most three; empty when there is no significant change.")
    after = serializers.DictField(allow_null=True, help_text="`from`/`to` of the stretch after the change.")
    before = serializers.DictField(allow_null=True, help_text="`from`/`to` of as long a stretch before it.")


class Comparison(RangeFields):
    """The measure over the range (`current`) and over the earlier range (`previous`). An events comparison
    has `measure`; a metric comparison has `metric`, `type` and `aggregation` instead."""

    measure = serializers.ChoiceField(choices=MEASURES, required=False)
    metric = serializers.CharField(required=False)
    type = serializers.ChoiceField(choices=MetricType.values, required=False)
    aggregation = serializers.ChoiceField(choices=AGGREGATION_NAMES, required=False)
    current = nullable_number()
    previous = nullable_number()
    change = nullable_number("`current - previous`; `null` when either is `null`.")
    change_percent = nullable_number("`null` without a baseline (`previous` is `null` or 0).")
    previous_from = serializers.DateTimeField()
    previous_to = serializers.DateTimeField()


MEASURE = OpenApiParameter(
    "measure",
    choice(MEASURES, default="count"),
    description="What to compare for events: `count`, `unique` values of `field`, or a statistic of `value`.",
)
COMPARE_TO = OpenApiParameter(
    "compare_to",
    choice(list(SHIFTS), default="previous"),
    description="The earlier range: the one just before (same length), or the same range a day, week, month "
    "(4 weeks) or year (52 weeks) back.",
)
