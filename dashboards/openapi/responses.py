"""The dashboards API's documented error responses."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse

from dashboards.services import EXPORT_FORMAT
from dashboards.validation import (
    DASHBOARD_RANGES,
    EVENT_AGGREGATIONS,
    MAX_NAME,
)
from flux.web.openapi.errors import error, example


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
