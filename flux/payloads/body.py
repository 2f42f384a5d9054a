"""Reading an ingestion request body: content type, size limit (before and after gzip), JSON."""

import json
import zlib

from django.conf import settings
from rest_framework import status
from rest_framework.request import Request

from flux.web.api import FluxError

JSON_CONTENT_TYPES = {"application/json", "text/plain"}  # text/plain: navigator.sendBeacon, no preflight
DECOMPRESSORS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


class PayloadTooLarge(FluxError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = "payload_too_large"


class UnsupportedMediaType(FluxError):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    code = "unsupported_media_type"


class MalformedJSON(FluxError):
    code = "malformed_json"


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The request body is larger than {limit:,} bytes (after decompression); send smaller batches.",
        details={"limit_bytes": limit},
    )


def read_raw_body(request: Request, limit: int) -> bytes:
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    body = request._request.read(limit + 1)
    if len(body) > limit:
        raise too_large(limit)
    return body


def decompress(body: bytes, encoding: str, limit: int) -> bytes:
    if encoding in ("", "identity"):
        return body
    if encoding not in DECOMPRESSORS:
        raise UnsupportedMediaType(f"Content-Encoding {encoding!r} is not supported; use gzip, deflate or none.")
    decompressor = zlib.decompressobj(DECOMPRESSORS[encoding])
    try:
        # max_length caps the output, so a small "zip bomb" cannot expand past the limit in memory.
        data = decompressor.decompress(body, limit + 1)
    except zlib.error:
        raise MalformedJSON(f"The body is not valid {encoding} data.") from None
    if len(data) > limit or decompressor.unconsumed_tail:
        raise too_large(limit)
    return data


def read_body(request: Request) -> bytes:
    """The request body, decompressed, or a FluxError (413/415) saying what is wrong with the request."""
    content_type = request.content_type.split(";")[0].strip().lower()
    if content_type not in JSON_CONTENT_TYPES and not content_type.endswith("+json"):
        raise UnsupportedMediaType(f"Send JSON with Content-Type: application/json (got {content_type or 'none'!r}).")
    limit = settings.FLUX_MAX_BODY_BYTES
    encoding = request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    return decompress(read_raw_body(request, limit), encoding, limit)


def parse_json(data: bytes) -> object:
    """The body parsed as JSON, or a MalformedJSON saying where it is not."""
    if not data.strip():
        raise MalformedJSON("The request body is empty; send a JSON object.")
    try:
        return json.loads(data)
    except UnicodeDecodeError:
        raise MalformedJSON("The request body is not UTF-8.") from None
    except json.JSONDecodeError as error:
        raise MalformedJSON(
            f"The request body is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}."
        ) from None
    except (ValueError, RecursionError):
        # e.g. an integer with thousands of digits, or arrays nested thousands deep
        raise MalformedJSON(
            "The request body is JSON that Flux cannot accept (a number too long or nesting too deep)."
        ) from None


def read_json_body(request: Request) -> object:
    """The parsed JSON body, or a FluxError (400/413/415) saying what is wrong with the request."""
    return parse_json(read_body(request))
