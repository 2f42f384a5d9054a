"""Reading query-string parameters shared by the read endpoints; every error names its parameter."""

import base64
import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from django.utils import timezone

from flux.query.timerange import RELATIVE, UNIT_SECONDS, RangeError, TimeRange, choose_interval, parse_range
from flux.tenants.models import Project
from flux.web.api import FluxError

GROUP_LIMIT_DEFAULT, GROUP_LIMIT_MAX = 10, 100


class InvalidParameter(FluxError):
    code = "invalid_parameter"

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message, details={"parameter": parameter})


def time_range(params: Mapping[str, str], project: Project, now: datetime | None = None) -> TimeRange:
    try:
        return parse_range(params, now or timezone.now(), project.timezone)
    except RangeError as error:
        raise InvalidParameter(error.parameter, str(error)) from None


def interval(params: Mapping[str, str], time_range: TimeRange, required: bool = False) -> str | None:
    requested = params.get("interval") or None
    if requested is None and not required:
        return None
    try:
        return choose_interval(time_range, None if requested == "auto" else requested)
    except RangeError as error:
        raise InvalidParameter(error.parameter, str(error)) from None


def bounded_int(params: Mapping[str, str], name: str, default: int, maximum: int) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= maximum:  # "²".isdigit(), yet int() refuses it
        raise InvalidParameter(name, f"{name} must be a whole number from 1 to {maximum}")
    return int(raw)


def group_limit(params: Mapping[str, str]) -> int:
    """How many groups a group_by answer lists before `__other__`."""
    return bounded_int(params, "limit", GROUP_LIMIT_DEFAULT, GROUP_LIMIT_MAX)


def optional_number(params: Mapping[str, str], name: str) -> float | None:
    raw = params.get(name)
    if raw in (None, ""):
        return None
    try:
        number = float(raw)
    except ValueError:
        raise InvalidParameter(name, f"{name} must be a number") from None
    if not math.isfinite(number):
        raise InvalidParameter(name, f"{name} must be a finite number")
    return number


def comma_separated(items: Iterable[str]) -> tuple[str, ...]:
    """`["open,acknowledged", " resolved"]` → ("open", "acknowledged", "resolved"): values given as a list,
    as one comma-separated string, or both; blanks dropped."""
    return tuple(part.strip() for item in items for part in item.split(",") if part.strip())


def bracketed(params: Mapping[str, str], prefix: str) -> dict[str, str]:
    """`tags[plan]=pro&tags[region]=eu` → {"plan": "pro", "region": "eu"}."""
    found = {}
    for key, value in params.items():
        if key.startswith(f"{prefix}[") and key.endswith("]") and len(key) > len(prefix) + 2:
            found[key[len(prefix) + 1 : -1]] = value
    return found


def dotted(params: Mapping[str, str], prefix: str) -> dict[str, str]:
    """`properties.plan=pro` → {"plan": "pro"}."""
    return {key[len(prefix) + 1 :]: value for key, value in params.items() if key.startswith(f"{prefix}.")}


def duration(value: str, parameter: str) -> timedelta:
    """A length of time like 30m, 12h, 7d or 2w (at most 90 days)."""
    match = RELATIVE.fullmatch(f"-{value.strip()}")
    if match is None:
        raise InvalidParameter(parameter, f"{parameter} must look like 30m, 12h, 7d or 2w")
    length = timedelta(seconds=int(match[1]) * UNIT_SECONDS[match[2]])
    if not timedelta(0) < length <= timedelta(days=90):
        raise InvalidParameter(parameter, f"{parameter} must be more than 0 and at most 90 days")
    return length


def page_cursor(moment: datetime, row_id: int) -> str:
    """An opaque cursor for lists ordered by (time, id) descending: the last row already seen."""
    return base64.urlsafe_b64encode(f"{moment.isoformat()}|{row_id}".encode()).decode()


def cursor_after(params: Mapping[str, str]) -> tuple[datetime, int] | None:
    """The `cursor` parameter read back as (time, id), None without one; a cursor not given out is a 400."""
    if not params.get("cursor"):
        return None
    refused = InvalidParameter("cursor", "cursor is not one this API gave out")
    try:
        moment, _, row_id = base64.urlsafe_b64decode(params["cursor"].encode()).decode().partition("|")
        after = datetime.fromisoformat(moment), int(row_id)
    except (ValueError, UnicodeDecodeError):
        raise refused from None
    # Those given out have an offset and a row id; a naive time or an id past bigint would be a 500 in the query.
    if after[0].tzinfo is None or not 0 < after[1] < 2**63:
        raise refused
    return after
