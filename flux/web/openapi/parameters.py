"""Query parameters shared by the read endpoints (time range, interval, limit and tag filters), and the words
that describe shared choices (the events fields, choices per kind)."""

from collections.abc import Iterable, Mapping
from typing import Any

from drf_spectacular.utils import OpenApiParameter

from flux.query.event_filter import PLAIN_FIELDS
from flux.query.timerange import (
    AUTO_MAX_POINTS,
    CALENDAR_INTERVALS,
    FIXED_INTERVALS,
    INTERVAL_LADDER,
    MAX_POINTS,
    PERIODS,
)

INSTANT_FORMS = (
    "ISO 8601 (a date, or a time without offset, is in the range's time zone), epoch milliseconds, `now`, "
    "or relative to now: `-15m`, `-24h`, `-7d`, `-2w` (units s, m, h, d, w)"
)
PERIOD_PATTERN = r"^(" + "|".join(name for name in PERIODS if not name[-1].isdigit()) + r"|last_\d{1,6}[smhdw])$"
TIME_RANGE = [
    OpenApiParameter("from", str, description=f"Start (inclusive): {INSTANT_FORMS}. Default: 24 hours before `to`."),
    OpenApiParameter("to", str, description="End (exclusive), in the same forms as `from`. Default: now."),
    OpenApiParameter(
        "period",
        str,
        pattern=PERIOD_PATTERN,
        description=(
            "A named range instead of `from`/`to` (giving both is a 400): "
            + ", ".join(f"`{name}`" for name in PERIODS)
            + ", or any `last_<n><unit>`. Calendar periods follow the time zone and those including today end now."
        ),
    ),
    OpenApiParameter(
        "timezone",
        str,
        description="IANA time zone (e.g. `Europe/Berlin`) for periods, local dates and 1d/1w/1mo buckets. "
        "Default: the project's.",
    ),
]

# The fields an events group_by or unique count takes (flux.query.event_filter), as descriptions list them.
EVENT_FIELDS = ", ".join(f"`{name}`" for name in PLAIN_FIELDS) + ", `tags.<key>` or `properties.<key>`"


def choices_by_kind(choices: Mapping[str, Iterable[str]], defaults: Mapping[str, str]) -> str:
    """`kind a, b (default); kind c (default)`: each kind's choices, its default marked, for a description."""
    return "; ".join(
        f"{kind} " + ", ".join(f"`{name}`" + (" (default)" if name == defaults[kind] else "") for name in names)
        for kind, names in choices.items()
    )


def choice(values: list[str], default: str | None = None) -> dict[str, Any]:
    """A string enum schema for a parameter, in the order given (spectacular sorts `enum=` alphabetically)."""
    return {"type": "string", "enum": values, **({"default": default} if default else {})}


def interval_parameter(absent: str) -> OpenApiParameter:
    return OpenApiParameter(
        "interval",
        choice([*INTERVAL_LADDER, "auto"]),
        description=(
            f"Bucket length: {', '.join(FIXED_INTERVALS)} (fixed, aligned to local midnight) or "
            f"{', '.join(CALENDAR_INTERVALS)} (local days, weeks from Monday, months). `auto` picks the finest "
            f"giving at most {AUTO_MAX_POINTS} points; more than {MAX_POINTS:,} points is a 400. {absent}"
        ),
    )


def limit_parameter(default: int, maximum: int, text: str) -> OpenApiParameter:
    return OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": maximum, "default": default},
        description=f"{text} 1 to {maximum} (default {default}).",
    )


def tags_parameter(text: str) -> OpenApiParameter:
    return OpenApiParameter(
        "tags",
        {"type": "object", "additionalProperties": {"type": "string"}},
        style="deepObject",
        explode=True,
        description=f"`tags[<key>]=<value>`, repeatable: {text}",
    )
