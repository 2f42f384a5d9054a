"""Widget shapes: queries, thresholds, display, positions; `...Input` is what may be sent."""

from django.core.validators import RegexValidator
from rest_framework import serializers

from dashboards.openapi.fields import (
    AGGREGATIONS_HELP,
    FILTERS,
    FILTERS_HELP,
    GROUP_BY_HELP,
    NAME_HELP,
    SIZES,
    EnumField,
    aggregation_field,
    interval_field,
    source_field,
    widget_type_field,
)
from dashboards.validation import (
    COLOR,
    FORMATS,
    GRAPH_STYLES,
    GRID_COLUMNS,
    HEATMAP_MODES,
    MAX_ALIAS,
    MAX_COLORS,
    MAX_FORMULA,
    MAX_HEIGHT,
    MAX_MORE_QUERIES,
    MAX_NAME,
    MAX_THRESHOLDS,
    MAX_TITLE,
)
from flux.web.openapi.fields import SchemaField

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
