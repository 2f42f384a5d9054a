"""OTLP/HTTP encodings: the request body to the official protobuf message, the answer back in kind."""

from django.conf import settings
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from google.rpc import code_pb2, status_pb2
from rest_framework.request import Request

from flux.payloads.body import UnsupportedMediaType, decompress, read_raw_body
from flux.web.api import FluxError

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
# OTLP/HTTP answers failures to protobuf requests with a google.rpc.Status; its code is the gRPC one.
STATUS_CODES = {
    400: code_pb2.INVALID_ARGUMENT, 401: code_pb2.UNAUTHENTICATED, 403: code_pb2.PERMISSION_DENIED,
    404: code_pb2.NOT_FOUND, 413: code_pb2.RESOURCE_EXHAUSTED, 415: code_pb2.INVALID_ARGUMENT,
    429: code_pb2.RESOURCE_EXHAUSTED,
}  # fmt: skip


class MalformedExport(FluxError):
    code = "malformed_otlp"


def is_protobuf(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() in (PROTOBUF, "application/protobuf")


def error_status(http_status: int, message: str) -> bytes:
    """A failure as OTLP's protobuf error body (google.rpc.Status)."""
    return status_pb2.Status(code=STATUS_CODES.get(http_status, code_pb2.UNKNOWN), message=message).SerializeToString()


def request_encoding(request: Request) -> str:
    content_type = request.content_type.split(";")[0].strip().lower()
    if is_protobuf(content_type):
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
