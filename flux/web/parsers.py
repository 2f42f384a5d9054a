"""The JSON parser of the API's writes other than ingestion (which reads its own bodies: flux.payloads.body)."""

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
        if _holds_lone_surrogate(data):
            raise ParseError("JSON parse error - a string holds a lone surrogate (such as \\ud800): not Unicode text.")
        if (path := _path_to_nul(data)) is not None:
            # PostgreSQL's text cannot hold one: every write storing it answered a 500.
            raise FluxError(f"{path} holds a NUL character (\\u0000).", details={path: ["holds a NUL character"]})
        return data


def _path_to_nul(data: Any) -> str | None:
    """Where the first string (a value or a key) holding a NUL is, as `widgets[0].query.name`; None if none."""
    pending: list[tuple[str, Any]] = [("body", data)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return path.removeprefix("body.")
        elif isinstance(item, dict):
            for key, value in item.items():
                if "\x00" in key:
                    return path.removeprefix("body.")
                pending.append((f"{path}.{key}", value))
        elif isinstance(item, list):
            pending.extend((f"{path}[{index}]", value) for index, value in enumerate(item))
    return None


def _holds_lone_surrogate(data: Any) -> bool:
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False
