"""SQL matching a JSONB tags column against tag filters: a value must equal, a tuple of values may match
any (a dashboard variable with several values chosen). Keys and values are always parameters."""

from collections.abc import Mapping
from typing import Any

from flux.payloads.fields import COMPACT_JSON

TagFilter = Mapping[str, "str | tuple[str, ...]"]


def tag_conditions(column: str, tags: TagFilter) -> tuple[str, list[Any]]:
    """`column @> {exact pairs}` (served by the GIN index) and `column ->> key = ANY(values)` per tuple."""
    exact = {key: value for key, value in tags.items() if isinstance(value, str)}
    clauses, params = [f"{column} @> %s::jsonb"], [COMPACT_JSON.encode(exact)]
    for key, values in tags.items():
        if not isinstance(values, str):
            clauses.append(f"{column} ->> %s = ANY(%s)")
            params.extend([key, list(values)])
    return " AND ".join(clauses), params
