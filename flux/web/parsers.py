"""The JSON parser of the API's writes other than ingestion (which reads its own bodies: flux.payloads.body)."""

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class JSONBodyParser(JSONParser):
    """DRF's, except that arrays or objects nested thousands deep (Python's parser then recurses past its
    limit) are a 400 like any other unreadable JSON, not a 500."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - arrays or objects are nested too deeply.") from None
