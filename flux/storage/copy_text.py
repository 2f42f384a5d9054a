"""PostgreSQL COPY text format, written by hand for the ingest hot paths (events and metric points)."""

COPY_NULL = "\\N"
COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(value: str | None) -> str:
    """A value for COPY's text format: backslash, tab and line breaks escaped; None is NULL."""
    if value is None:
        return COPY_NULL
    if "\\" in value or not value.isprintable():
        return value.translate(COPY_ESCAPES)
    return value
