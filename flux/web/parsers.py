"""The JSON parser of the API's writes other than ingestion (which reads its own bodies: flux.payloads.body)."""

from collections.abc import Iterator
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from flux.web.errors import FluxError


class JSONBodyParser(JSONParser):
    """DRF's, except that arrays or objects nested thousands deep (Python's parser then recurses past its
    limit) and strings holding a lone surrogate (`"\\ud800"`: no Unicode text, and an error message quoting
    one back could not be written) are a 400 like any other unreadable JSON, not a 500."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - arrays or objects are nested too deeply.") from None
        nul_at = None
        for path, text in strings_in(data):
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise ParseError(
                    "JSON parse error - a string holds a lone surrogate (such as \\ud800): not Unicode text."
                ) from None
            if nul_at is None and "\x00" in text:
                nul_at = path.removeprefix("body.")
        if nul_at is not None:
            # PostgreSQL's text cannot hold one: every write storing it answered a 500.
            raise FluxError(f"{nul_at} holds a NUL character (\\u0000).", details={nul_at: ["holds a NUL character"]})
        return data


def strings_in(data: Any) -> Iterator[tuple[str, str]]:
    """Every string of a parsed body, keys included, with where it lies (`body.widgets[0].query.name`; a key
    lies in its object)."""
    pending: list[tuple[str, Any]] = [("body", data)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, str):
            yield path, item
        elif isinstance(item, dict):
            for key, value in item.items():
                yield path, key
                pending.append((f"{path}.{key}", value))
        elif isinstance(item, list):
            pending.extend((f"{path}[{index}]", value) for index, value in enumerate(item))
