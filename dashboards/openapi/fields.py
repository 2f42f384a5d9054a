"""Dashboard API parameters and enum fields; the limits and choices come from dashboards.validation."""

from collections.abc import Iterable
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from dashboards.validation import (
    DASHBOARD_RANGES,
    DEFAULT_SIZE,
    EVENT_AGGREGATIONS,
    MAX_FILTERS,
    MAX_NAME,
    METRIC_AGGREGATIONS,
    REFRESH,
    WIDGET_TYPES,
)
from events.queries import STAT_MEASURES
from flux.query.timerange import INTERVAL_LADDER
from flux.web.openapi.parameters import EVENT_FIELDS, choices_by_kind
from metrics import queries as metric_queries

DASHBOARD_REFERENCE = OpenApiParameter(
    "reference", str, OpenApiParameter.PATH, description="The dashboard's `id`, or its `slug`."
)
WIDGET_ID = OpenApiParameter("widget_id", int, OpenApiParameter.PATH, description="The widget's `id`.")

FILTERS = {
    "type": "object",
    "maxProperties": MAX_FILTERS,
    "additionalProperties": {"type": "string", "minLength": 1, "maxLength": MAX_NAME},
    "example": {"env": "prod"},
}
FILTERS_HELP = f"Tag key → value (all must match), at most {MAX_FILTERS}."
BY_METRIC_TYPE = choices_by_kind(metric_queries.AGGREGATIONS, metric_queries.DEFAULT_AGGREGATION)
SIZES = ", ".join(f"{widget_type} {w}x{h}" for widget_type, (w, h) in DEFAULT_SIZE.items())
AGGREGATIONS_HELP = (
    f"For `events`: `count` (default), `unique` users, or {', '.join(f'`{name}`' for name in STAT_MEASURES)} "
    "of `value`. "
    f"For a `metric`, by its type: {BY_METRIC_TYPE}; `avg` by default for a metric not seen yet."
)
GROUP_BY_HELP = f"One series or row per value of: for `events` {EVENT_FIELDS}; for a `metric` `tags.<key>`."
NAME_HELP = (
    "For `events`, an event name or a glob with `*` and `?` (default `*`: every event); for a `metric`, its name."
)


class EnumField(serializers.JSONField):
    """A string enum documented as its own named component, values in the order given. Spectacular names a
    choice set after its field, and `type`, `aggregation` and `interval` already name other sets."""

    def __init__(self, name: str, values: Iterable[str], default: str | None = None, **kwargs: Any) -> None:
        self.component_name, self.values, self.default_value = name, list(values), default
        super().__init__(**kwargs)


class EnumFieldExtension(OpenApiSerializerFieldExtension):
    target_class = EnumField

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        field = self.target
        component = ResolvedComponent(
            name=field.component_name,
            type=ResolvedComponent.SCHEMA,
            object=field.component_name,
            schema={"type": "string", "enum": field.values},
        )
        auto_schema.registry.register_on_missing(component)
        return {**component.ref, **({"default": field.default_value} if field.default_value else {})}


AGGREGATIONS = list(dict.fromkeys([*EVENT_AGGREGATIONS, *METRIC_AGGREGATIONS]))
INTERVALS = ["auto", *INTERVAL_LADDER]


def source_field(**kwargs: Any) -> EnumField:
    return EnumField("WidgetSourceEnum", ["events", "metric"], **kwargs)


def widget_type_field(**kwargs: Any) -> EnumField:
    return EnumField("WidgetTypeEnum", WIDGET_TYPES, **kwargs)


def aggregation_field(**kwargs: Any) -> EnumField:
    return EnumField("WidgetAggregationEnum", AGGREGATIONS, **kwargs)


def interval_field(**kwargs: Any) -> EnumField:
    return EnumField("WidgetIntervalEnum", INTERVALS, help_text="Bucket length; `auto` suits the range.", **kwargs)


def range_field(**kwargs: Any) -> EnumField:
    return EnumField(
        "DashboardRangeEnum", DASHBOARD_RANGES,
        help_text="The range shown on opening: the last 15 minutes to 90 days, or a calendar period.", **kwargs,
    )  # fmt: skip


def refresh_field(**kwargs: Any) -> EnumField:
    return EnumField("DashboardRefreshEnum", REFRESH, help_text="How often the widgets reload.", **kwargs)
