"""OpenAPI shapes and parameters of the dashboards API (see flux/web/openapi.py for the shared ones).

The limits and choices come from dashboards.validation, which refuses unknown keys; `...Input` shapes are
what may be sent, the others what is answered (complete and normalised: defaults filled in).
"""

from collections.abc import Iterable
from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from dashboards.services import EXPORT_FORMAT
from dashboards.validation import (
    COLOR,
    DASHBOARD_RANGES,
    DEFAULT_SIZE,
    EVENT_AGGREGATIONS,
    FORMATS,
    GRAPH_STYLES,
    GRID_COLUMNS,
    HEATMAP_MODES,
    MAX_ALIAS,
    MAX_COLORS,
    MAX_FILTERS,
    MAX_FORMULA,
    MAX_HEIGHT,
    MAX_MORE_QUERIES,
    MAX_NAME,
    MAX_SELECTED,
    MAX_THRESHOLDS,
    MAX_TITLE,
    MAX_VARIABLES,
    MAX_WIDGETS,
    METRIC_AGGREGATIONS,
    REFRESH,
    WIDGET_TYPES,
)
from events.compare import STAT_MEASURES
from events.openapi import FIELDS
from flux.query.timerange import INTERVAL_LADDER
from flux.web.openapi import SchemaField, error, example
from metrics.openapi import AGGREGATIONS_BY_TYPE

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
SIZES = ", ".join(f"{widget_type} {w}x{h}" for widget_type, (w, h) in DEFAULT_SIZE.items())
AGGREGATIONS_HELP = (
    f"For `events`: `count` (default), `unique` users, or {', '.join(f'`{name}`' for name in STAT_MEASURES)} "
    "of `value`. "
    f"For a `metric`, by its type: {AGGREGATIONS_BY_TYPE}; `avg` by default for a metric not seen yet."
)
GROUP_BY_HELP = f"One series or row per value of: for `events` {FIELDS}; for a `metric` `tags.<key>`."
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


# Widgets --------------------------------------------------------------------------------------------


ALIAS_HELP = "The query's name on graphs (default: its event or metric name and aggregation)."
MORE_HELP = (
    f"Up to {MAX_MORE_QUERIES} more queries, named b, c, … after the widget's own (a); number and graph widgets "
    "only, without `group_by`. A graph draws each under its alias unless there is a formula."
)
FORMULA_HELP = (
    "A formula over the queries: a to e, numbers, + - * / and parentheses (`a / b * 100`). A number shows it "
    "over the queries' values, a graph per bucket; a missing value or a zero divisor gives no value."
)


class AddedQuery(serializers.Serializer):
    """One more query of a widget: b, c, … in its formula."""

    source = source_field(default="events", required=False)
    name = serializers.CharField(required=False, allow_null=True, max_length=MAX_NAME, help_text=NAME_HELP)
    aggregation = aggregation_field(required=False, help_text=AGGREGATIONS_HELP)
    filters = SchemaField(FILTERS, required=False, allow_null=True, help_text=FILTERS_HELP)
    alias = serializers.CharField(required=False, max_length=MAX_ALIAS, help_text=ALIAS_HELP)


class WidgetQueryInput(serializers.Serializer):
    """What the widget shows. Unknown fields are refused; `null` means absent."""

    source = source_field(default="events", required=False)
    name = serializers.CharField(required=False, allow_null=True, max_length=MAX_NAME, help_text=NAME_HELP)
    aggregation = aggregation_field(
        required=False, help_text=f"{AGGREGATIONS_HELP} One the source or type does not have is a 400."
    )
    filters = SchemaField(FILTERS, required=False, allow_null=True, help_text=FILTERS_HELP)
    group_by = serializers.CharField(
        required=False, allow_null=True, max_length=MAX_NAME, help_text=f"{GROUP_BY_HELP} Default: no groups."
    )
    interval = interval_field(default="auto", required=False, allow_null=True)
    alias = serializers.CharField(required=False, max_length=MAX_ALIAS, help_text=ALIAS_HELP)
    more = AddedQuery(many=True, required=False, max_length=MAX_MORE_QUERIES, help_text=MORE_HELP)
    formula = serializers.CharField(required=False, max_length=MAX_FORMULA, help_text=FORMULA_HELP)
    formula_alias = serializers.CharField(required=False, max_length=MAX_ALIAS, help_text="The formula's name.")


class WidgetQuery(serializers.Serializer):
    source = source_field()
    name = serializers.CharField(help_text="The event name or glob (`*` for every event), or the metric's name.")
    aggregation = aggregation_field(help_text=AGGREGATIONS_HELP)
    filters = SchemaField(FILTERS, help_text=FILTERS_HELP)
    group_by = serializers.CharField(allow_null=True, help_text=GROUP_BY_HELP)
    interval = interval_field()
    alias = serializers.CharField(required=False, help_text=ALIAS_HELP)
    more = AddedQuery(many=True, required=False, help_text=MORE_HELP)
    formula = serializers.CharField(required=False, help_text=FORMULA_HELP)
    formula_alias = serializers.CharField(required=False, help_text="The formula's name.")


class WidgetThreshold(serializers.Serializer):
    value = serializers.FloatField()
    color = serializers.CharField(validators=[RegexValidator(COLOR.pattern)], help_text="`#rrggbb`.")


class WidgetDisplay(serializers.Serializer):
    """How the widget shows its data; only the options given are stored (a heatmap always has `mode`)."""

    unit = serializers.CharField(required=False, max_length=20, allow_blank=True, help_text="Shown after values.")
    format = EnumField("DisplayFormatEnum", FORMATS, required=False, help_text="How values are written.")
    decimals = serializers.IntegerField(required=False, min_value=0, max_value=6)
    colors = serializers.ListField(
        child=serializers.CharField(validators=[RegexValidator(COLOR.pattern)]),
        required=False,
        max_length=MAX_COLORS,
        help_text="Series colours, `#rrggbb`.",
    )
    stacked = serializers.BooleanField(required=False, help_text="Graphs and bars: stack the series.")
    style = EnumField("GraphStyleEnum", GRAPH_STYLES, required=False, help_text="Graphs: how series are drawn.")
    donut = serializers.BooleanField(required=False, help_text="Pies: draw a ring.")
    thresholds = serializers.ListField(
        child=WidgetThreshold(),
        required=False,
        max_length=MAX_THRESHOLDS,
        help_text="Colours from a value up; answered sorted by value.",
    )
    mode = EnumField(
        "HeatmapModeEnum",
        HEATMAP_MODES,
        required=False,
        help_text="Heatmaps: `hour_of_week` (the default), or for a metric `time_value`, its values over time.",
    )
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, help_text="How many groups or series.")
    compare = EnumField(
        "GraphCompareEnum", ("previous",), required=False,
        help_text="Graphs: overlay the period just before, moved onto this one (data `previous`).",
    )  # fmt: skip


POSITION_HELP = f"On the {GRID_COLUMNS}-column grid; `x + w` is at most {GRID_COLUMNS}."


class WidgetPositionInput(serializers.Serializer):
    """Where the widget sits on the grid. Unknown fields are refused."""

    x = serializers.IntegerField(required=False, min_value=0, max_value=GRID_COLUMNS - 1, help_text="Column.")
    y = serializers.IntegerField(required=False, min_value=0, max_value=10_000, help_text="Row.")
    w = serializers.IntegerField(required=False, min_value=1, max_value=GRID_COLUMNS, help_text="Width in columns.")
    h = serializers.IntegerField(required=False, min_value=1, max_value=MAX_HEIGHT, help_text="Height in rows.")


class WidgetPosition(serializers.Serializer):
    """Where the widget sits on the grid."""

    x = serializers.IntegerField(help_text="Column.")
    y = serializers.IntegerField(help_text="Row.")
    w = serializers.IntegerField(help_text="Width in columns.")
    h = serializers.IntegerField(help_text="Height in rows.")


class WidgetInput(serializers.Serializer):
    """A widget. Unknown fields are refused (a typo must not silently do nothing); `null` means absent."""

    title = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=MAX_TITLE)
    type = widget_type_field(help_text=f"Sets the default size: {SIZES}.")
    query = WidgetQueryInput()
    display = WidgetDisplay(required=False, allow_null=True)
    position = WidgetPositionInput(
        required=False, allow_null=True, help_text=f"{POSITION_HELP} Defaults: `x`, `y` 0 and the type's size (`type`)."
    )


class WidgetConfig(serializers.Serializer):
    """A widget's configuration, normalised: every query field and the whole position are present."""

    title = serializers.CharField(help_text="Empty when it has none.")
    type = widget_type_field()
    query = WidgetQuery()
    display = WidgetDisplay()
    position = WidgetPosition()


class Widget(WidgetConfig):
    """A widget of a dashboard."""

    id = serializers.IntegerField()
    updated_at = serializers.DateTimeField()


class WidgetList(serializers.Serializer):
    """The dashboard's widgets, oldest first."""

    widgets = Widget(many=True)


class LayoutEntry(serializers.Serializer):
    """A widget's new place or size; the position fields left out keep their value."""

    id = serializers.IntegerField(help_text="A widget of this dashboard.")
    x = serializers.IntegerField(required=False, min_value=0, max_value=GRID_COLUMNS - 1)
    y = serializers.IntegerField(required=False, min_value=0, max_value=10_000)
    w = serializers.IntegerField(required=False, min_value=1, max_value=GRID_COLUMNS)
    h = serializers.IntegerField(required=False, min_value=1, max_value=MAX_HEIGHT)


# Dashboards -----------------------------------------------------------------------------------------

TIMEZONE_HELP = "IANA time zone (e.g. `Europe/Berlin`); `null`: the project's."


class Variable(serializers.Serializer):
    """A dashboard variable: a dropdown of a tag's values, applied to the widgets whose series carry the tag."""

    tag = serializers.CharField(max_length=MAX_NAME, help_text="The tag key, e.g. `country`.")
    multi = serializers.BooleanField(default=False, help_text="Several values may be chosen.")
    selected = serializers.ListField(
        child=serializers.CharField(max_length=MAX_NAME), max_length=MAX_SELECTED, default=list,
        help_text="The values chosen by default (empty: all; one at most unless `multi`).",
    )  # fmt: skip


VARIABLES_HELP = f"At most {MAX_VARIABLES}; requests choose others with `var[<tag>]`."


class DashboardSettingsInput(serializers.Serializer):
    """Dashboard-wide settings. Unknown fields are refused; those left out take their default."""

    range = range_field(default="24h", required=False)
    timezone = serializers.CharField(required=False, allow_null=True, max_length=64, help_text=TIMEZONE_HELP)
    filters = SchemaField(
        FILTERS, required=False, allow_null=True, help_text=f"{FILTERS_HELP} Applied to every widget."
    )
    refresh = refresh_field(default="off", required=False)
    variables = Variable(many=True, required=False, allow_null=True, help_text=VARIABLES_HELP)


class DashboardSettings(serializers.Serializer):
    """Dashboard-wide settings: the default range, time zone, tag filters for every widget, and refresh."""

    range = range_field()
    timezone = serializers.CharField(allow_null=True, help_text=TIMEZONE_HELP)
    filters = SchemaField(FILTERS, help_text=FILTERS_HELP)
    refresh = refresh_field()
    variables = Variable(many=True, help_text=VARIABLES_HELP)


def dashboard_name(required: bool = True) -> serializers.CharField:
    return serializers.CharField(
        required=required, max_length=MAX_NAME, help_text="The slug follows it (unique in the project)."
    )


def dashboard_description() -> serializers.CharField:
    return serializers.CharField(required=False, allow_null=True, allow_blank=True)


class DashboardInput(serializers.Serializer):
    """A new dashboard, with its widgets."""

    name = dashboard_name()
    description = dashboard_description()
    settings = DashboardSettingsInput(required=False, allow_null=True)
    widgets = serializers.ListField(
        child=WidgetInput(),
        required=False,
        allow_null=True,
        max_length=MAX_WIDGETS,
        help_text=f"At most {MAX_WIDGETS}; an error names the widget (`widgets[<i>].<field>`).",
    )
    is_default = serializers.BooleanField(
        required=False, allow_null=True, help_text="`true`: it becomes the project's default (instead of another)."
    )


class DashboardChanges(serializers.Serializer):
    """Only these fields; any other is a 400."""

    name = dashboard_name(required=False)
    description = dashboard_description()
    settings = DashboardSettingsInput(
        required=False, allow_null=True, help_text="Replaced as a whole: settings left out return to their default."
    )
    is_default = serializers.BooleanField(
        required=False,
        help_text="`true` makes it the project's default. `false` on the default is a 400: make another the default.",
    )


class DuplicateRequest(serializers.Serializer):
    name = serializers.CharField(
        required=False, allow_null=True, max_length=MAX_NAME, help_text="Default: `<name> (copy)`."
    )


class DashboardSummary(serializers.Serializer):
    """A dashboard without its widgets."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.SlugField(help_text="From the name, unique in the project; `reference` in paths, like `id`.")
    description = serializers.CharField()
    is_default = serializers.BooleanField(help_text="One dashboard per project is the default.")
    settings = DashboardSettings()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class Dashboard(DashboardSummary):
    """A dashboard with its widgets, oldest first."""

    widgets = Widget(many=True)


class DashboardList(serializers.Serializer):
    """The project's dashboards: the default first, then by name."""

    dashboards = DashboardSummary(many=True)


EXPORT_HELP = f"The export format, `{EXPORT_FORMAT}`."


class DashboardExport(serializers.Serializer):
    """A dashboard as JSON to keep in version control and import, here or in another project: no ids."""

    flux_dashboard = SchemaField({"type": "integer", "enum": [EXPORT_FORMAT]}, help_text=EXPORT_HELP)
    name = serializers.CharField()
    description = serializers.CharField()
    settings = DashboardSettings()
    widgets = WidgetConfig(many=True)


class DashboardImport(serializers.Serializer):
    """An export (`GET …/export`); other fields are ignored."""

    flux_dashboard = SchemaField({"type": "integer", "enum": [EXPORT_FORMAT]}, help_text=EXPORT_HELP)
    name = dashboard_name()
    description = dashboard_description()
    settings = DashboardSettingsInput(required=False, allow_null=True)
    widgets = serializers.ListField(child=WidgetInput(), required=False, max_length=MAX_WIDGETS)


# Responses ------------------------------------------------------------------------------------------


def invalid_config(field: str, message: str) -> OpenApiExample:
    return example(
        "invalid_config", {"error": {"code": "invalid_config", "message": message, "details": {"field": field}}}
    )


def config_error(fields: str, field: str, message: str) -> OpenApiResponse:
    """The 400 of a write: `invalid_config` naming the field by its path, or a body that is not JSON."""
    return error(
        400,
        f"`invalid_config`, with `details.field` naming the field by its path: {fields}. `parse_error`: the body "
        "is not JSON.",
        [invalid_config(field, message)],
    )


AGGREGATION_REFUSED = f"query.aggregation must be one of {', '.join(EVENT_AGGREGATIONS)}"
DASHBOARD_INVALID = config_error(
    "`name`, `settings.range`, `widgets` (too many), `widgets[1].query.aggregation`…",
    "widgets[1].query.aggregation",
    f"widgets[1].{AGGREGATION_REFUSED}",
)
CHANGES_INVALID = config_error(
    "`name`, `settings.timezone`, `is_default`, or a field that cannot be changed here",
    "settings.range",
    f"settings.range must be one of {', '.join(DASHBOARD_RANGES)}",
)
NAME_INVALID = config_error("`name`", "name", f"name must be at most {MAX_NAME} characters")
IMPORT_INVALID = config_error(
    "`flux_dashboard` (not an export), `name`, `settings.range`, `widgets[1].query.aggregation`…",
    "flux_dashboard",
    f"not a Flux dashboard export (expected flux_dashboard: {EXPORT_FORMAT})",
)
LAYOUT_INVALID = config_error(
    "`widgets[0].id` (not a widget of this dashboard), `widgets[0].position.x`…",
    "widgets[0].id",
    "no such widget on this dashboard",
)
WIDGET_INVALID = config_error(
    "`type`, `query.aggregation`, `position.w`…, or `widgets` when adding to a full dashboard",
    "query.aggregation",
    AGGREGATION_REFUSED,
)
NOT_JSON = error(415, "`unsupported_media_type`: the body must be `application/json`.")
DASHBOARD_NOT_FOUND = error(404, "`not_found`: no dashboard with this id or slug in the key's project.")
WIDGET_NOT_FOUND = error(
    404, "`not_found`: no dashboard with this id or slug in the key's project, or no such widget on it."
)
DELETED = OpenApiResponse(description="Deleted.")
