"""OTLP/HTTP encodings: the request body to the official protobuf message, the answer back in kind."""

from django.conf import settings
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from rest_framework.request import Request

from flux.api import FluxError
from flux.ingestion.body import UnsupportedMediaType, decompress, read_raw_body

PROTOBUF = "application/x-protobuf"
JSON = "application/json"


class MalformedExport(FluxError):
    code = "malformed_otlp"


def request_encoding(request: Request) -> str:
    content_type = request.content_type.split(";")[0].strip().lower()
    if content_type in (PROTOBUF, "application/protobuf"):
        return PROTOBUF
    if content_type == JSON:
        return JSON
    raise UnsupportedMediaType(f"OTLP/HTTP takes Content-Type {PROTOBUF} or {JSON} (got {content_type or 'none'!r}).")


def read_export(request: Request, encoding: str, message_class: type[Message]) -> Message:
    """The body as an OTLP export request, gunzipped within FLUX_MAX_BODY_BYTES; 400 if malformed."""
    limit = settings.FLUX_MAX_BODY_BYTES
    content_encoding = request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    data = decompress(read_raw_body(request, limit), content_encoding, limit)
    message = message_class()
    try:
        if encoding == PROTOBUF:
            message.ParseFromString(data)
        else:
            json_format.Parse(data.decode("utf-8"), message, ignore_unknown_fields=True)
    except (DecodeError, json_format.ParseError, UnicodeDecodeError, RecursionError) as error:
        kind = "protobuf" if encoding == PROTOBUF else "OTLP JSON"
        name = message_class.DESCRIPTOR.name
        raise MalformedExport(f"The body is not a valid {kind} {name}: {error}"[:500]) from None
    return message


def encode_response(encoding: str, response: Message, rejected_field: str, rejected: int, error_message: str) -> bytes:
    """The Export*ServiceResponse, with partial_success only when something was refused or needs saying."""
    if rejected or error_message:
        setattr(response.partial_success, rejected_field, rejected)
        response.partial_success.error_message = error_message
    if encoding == PROTOBUF:
        return response.SerializeToString()
    return json_format.MessageToJson(response, indent=None).encode()
