"""The error envelope and the documented error responses, by status."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import serializers

from flux.query.timerange import (
    INTERVAL_LADDER,
)


class ErrorBody(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable, e.g. `invalid_parameter`, `not_found`, `throttled`.")
    message = serializers.CharField(help_text="What went wrong, for people.")
    details = serializers.JSONField(
        required=False,
        help_text='More about the error when there is more: `{"parameter": …}` for `invalid_parameter`, the '
        'ingestion result for `invalid_items`, `{"limit_bytes"}`/`{"limit_items"}` for `payload_too_large`, '
        "field → messages for an invalid request body.",
    )


class ErrorEnvelope(serializers.Serializer):
    """Every API error has this shape, whatever the status."""

    error = ErrorBody()


def example(name: str, value: object) -> OpenApiExample:
    return OpenApiExample(name, value=value, summary=name, response_only=True)


INVALID_PARAMETER = example(
    "invalid_parameter",
    {
        "error": {
            "code": "invalid_parameter",
            "message": "interval must be one of " + ", ".join(INTERVAL_LADDER),
            "details": {"parameter": "interval"},
        }
    },
)
ERRORS = {
    400: (
        "A query parameter is not valid: `invalid_parameter`, with `details.parameter` naming it.",
        [INVALID_PARAMETER],
    ),
    401: (
        "No API key, or an unknown or revoked one (`not_authenticated`, `authentication_failed`). "
        'The `WWW-Authenticate` header is `Bearer realm="flux"`.',
        [
            example(
                "not_authenticated",
                {"error": {"code": "not_authenticated", "message": "Authentication credentials were not provided."}},
            )
        ],
    ),
    403: (
        "The key's kind cannot do this (`permission_denied`, naming the kinds that can), or its project is archived.",
        [],
    ),
    404: ("Not found in this project (`not_found`).", []),
    413: (
        "`payload_too_large`: the body is over `FLUX_MAX_BODY_BYTES` before or after decompression "
        "(`details.limit_bytes`), or the request holds more than `FLUX_MAX_BATCH_ITEMS` items (`details.limit_items`).",
        [],
    ),
    415: (
        "`unsupported_media_type`: a `Content-Type` other than JSON (`application/json`, `text/plain`, `*+json`), "
        "or a `Content-Encoding` other than gzip, deflate or none.",
        [],
    ),
    429: (
        "`throttled`: ingestion past `FLUX_INGEST_ITEMS_PER_SECOND` items per second for this project (bursts up to "
        "`FLUX_INGEST_BURST_ITEMS`), or reads past `FLUX_READ_REQUESTS_PER_SECOND` requests per second for this key; "
        "wait `Retry-After` seconds, then retry (ingestion: the same items with the same ids).",
        [],
    ),
}


def error(status: int, description: str | None = None, examples: list[OpenApiExample] | None = None) -> OpenApiResponse:
    default_description, default_examples = ERRORS[status]
    return OpenApiResponse(ErrorEnvelope, description or default_description, examples or default_examples)


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    return {status: error(status) for status in statuses}
