"""Dashboard shapes: settings, variables, summaries, export and import."""

from rest_framework import serializers

from dashboards.openapi.fields import FILTERS, FILTERS_HELP, range_field, refresh_field
from dashboards.openapi.widgets import Widget, WidgetConfig, WidgetInput
from dashboards.services import EXPORT_FORMAT
from dashboards.validation import (
    MAX_NAME,
    MAX_SELECTED,
    MAX_VARIABLES,
    MAX_WIDGETS,
)
from flux.web.openapi.fields import SchemaField

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
