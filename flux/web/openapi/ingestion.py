"""The ingestion shapes: item fields, the 202 result with its rejections and warnings, headers, responses."""

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer
from rest_framework import serializers

from flux.payloads.fields import (
    NAME_MAX_LENGTH,
    NAME_RULES,
    TAG_KEY_MAX_LENGTH,
    TAG_VALUE_MAX_LENGTH,
    TAGS_MAX_COUNT,
    TEXT_MAX_LENGTH,
    FieldError,
    clean_name,
)
from flux.web.openapi.errors import error, errors, example
from flux.web.openapi.parameters import choice

TEXT_HELP = f"At most {TEXT_MAX_LENGTH} characters; numbers and booleans are accepted and stored as text."
TIMESTAMP_HELP = (
    "When it happened; default now. From the project's retention horizon to `FLUX_MAX_FUTURE_SECONDS` ahead."
)
TAGS_HELP = (
    f"A flat object, at most {TAGS_MAX_COUNT} tags; keys up to {TAG_KEY_MAX_LENGTH} and values up to "
    f"{TAG_VALUE_MAX_LENGTH} characters. Numbers and booleans are stored as strings; `null` drops the tag."
)
ID_HELP = "Your idempotency key: an item whose `id` was already stored for the project is counted in `duplicates`."


def name_validator(value: str) -> None:
    try:
        clean_name(value)
    except FieldError as error:
        raise serializers.ValidationError(str(error)) from None


def name_field() -> serializers.CharField:
    return serializers.CharField(
        max_length=NAME_MAX_LENGTH,
        validators=[name_validator],
        help_text=NAME_RULES,
    )


def optional_text(help_text: str = TEXT_HELP) -> serializers.CharField:
    return serializers.CharField(required=False, allow_null=True, max_length=TEXT_MAX_LENGTH, help_text=help_text)


def batch_of(
    name: str, wrapper: type[serializers.Serializer], item: type[serializers.Serializer]
) -> PolymorphicProxySerializer:
    return PolymorphicProxySerializer(
        component_name=name, serializers=[wrapper, item(many=True)], resource_type_field_name=None, many=False
    )


class Rejection(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the item in its array (`events` or `metrics`).")
    kind = serializers.ChoiceField(choices=["event", "metric"])
    errors = serializers.ListField(child=serializers.CharField(), help_text="Everything wrong with the item.")


class IngestWarning(serializers.Serializer):
    index = serializers.IntegerField(help_text="The metric point's index in its array.")
    kind = serializers.ChoiceField(["metric"])
    tag_keys = serializers.ListField(
        child=serializers.CharField(), help_text='The tag keys past their limit; `""` means the series limit.'
    )
    message = serializers.CharField()


class IngestResult(serializers.Serializer):
    """What happened to a batch. Sent only after the accepted items are committed."""

    accepted = serializers.IntegerField(help_text="Items stored.")
    duplicates = serializers.IntegerField(
        help_text="Items with an `id` already stored: acknowledged, not stored again."
    )
    rejected = Rejection(many=True, help_text="Invalid items, by kind then index; the others were stored.")
    warnings = IngestWarning(
        many=True,
        required=False,
        help_text="Present when some points were stored with tag values folded into `__other__` because their "
        'metric passed a cardinality limit (README, "Cardinality limits").',
    )


INGEST_RESULT_EXAMPLE = {
    "accepted": 2,
    "duplicates": 0,
    "rejected": [{"index": 1, "kind": "event", "errors": ["name is required"]}],
}
INGEST_HEADERS = [
    OpenApiParameter(
        "Content-Encoding",
        choice(["gzip", "x-gzip", "deflate", "identity"]),
        OpenApiParameter.HEADER,
        description="Send the body compressed; the size limit applies before and after decompression.",
    ),
    OpenApiParameter(
        "Retry-After", int, OpenApiParameter.HEADER, response=[429], description="Seconds to wait before retrying."
    ),
    OpenApiParameter(
        "key",
        str,
        OpenApiParameter.QUERY,
        description="An ingest key, for browsers (`navigator.sendBeacon` cannot send headers). Only ingest keys "
        "are accepted here; read and admin keys must go in the `Authorization` header.",
    ),
]
INGEST_DESCRIPTION = f"""
Send JSON (`Content-Type: application/json`, or `text/plain` as `navigator.sendBeacon` does), optionally
gzip- or deflate-compressed, at most {settings.FLUX_MAX_BODY_BYTES:,} bytes and {settings.FLUX_MAX_BATCH_ITEMS:,}
items. The answer is `202` with what happened: valid items are stored and invalid ones listed in `rejected` by
index with every error, also when no item was valid (a batch endpoint answers `202` with `accepted: 0`; the
single-item endpoints answer `400` `invalid_items` with the report in `details`). `400` otherwise means the
request itself is malformed (not JSON, not the expected shape). Rate limited per project in items (`429` with
`Retry-After`: wait that long, then send the same items with the same ids).
"""


def ingest_responses(single: bool) -> dict[int, OpenApiResponse]:
    invalid = (
        " or `invalid_items`: the item is invalid (the message lists its errors; `details` is the result)."
        if single
        else "."
    )
    return {
        202: OpenApiResponse(
            IngestResult,
            "Accepted: the valid items are stored.",
            [example("partly accepted", INGEST_RESULT_EXAMPLE)],
        ),
        400: error(
            400,
            f"`malformed_json` (not JSON, not UTF-8, empty), `invalid_batch` (wrong body shape, no items){invalid}",
        ),
        **errors(401, 403, 413, 415, 429),
    }
