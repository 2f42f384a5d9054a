"""OpenAPI building blocks shared by the API views: key authentication, the error envelope, time-range
parameters, field helpers, and the ingestion shapes (bodies and the 202 result).

The serializers here only describe JSON for the schema at /api/schema; the views build their answers
directly. Event and metric read shapes live in events/openapi.py and metrics/openapi.py.
"""

import copy
from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer
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
from flux.query.timerange import (
    AUTO_MAX_POINTS,
    CALENDAR_INTERVALS,
    FIXED_INTERVALS,
    INTERVAL_LADDER,
    MAX_POINTS,
    PERIODS,
)
from flux.tenants.models import Environment, KeyKind
from flux.web.auth import KINDS_ALLOWED

BEARER_SCHEME, HEADER_SCHEME = "bearerKey", "headerKey"


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """flux.web.auth.ApiKeyAuthentication: a project key as a Bearer token, or in X-API-Key (either will do)."""

    target_class = "flux.web.auth.ApiKeyAuthentication"
    name = [BEARER_SCHEME, HEADER_SCHEME]

    def get_security_requirement(self, auto_schema: AutoSchema) -> list[dict[str, list]]:
        return [{BEARER_SCHEME: []}, {HEADER_SCHEME: []}]

    def get_security_definition(self, auto_schema: AutoSchema) -> list[dict[str, str]]:
        kinds = "Keys are ingest (send data), read (query) or admin (both); each operation says which it needs."
        return [
            {
                "type": "http",
                "scheme": "bearer",
                "description": f"`Authorization: Bearer <key>` with a project API key. {kinds}",
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-API-Key",
                "description": f"The same project API key in the `X-API-Key` header instead. {kinds}",
            },
        ]


def needs_key(capability: str, text: str) -> str:
    """An operation description that starts with the key kinds allowed ("any", or a flux.web.auth capability)."""
    kinds = [kind for kind in KeyKind.values if capability == "any" or kind in KINDS_ALLOWED[capability]]
    listed = f"{', '.join(kinds[:-1])} or {kinds[-1]}" if len(kinds) > 1 else kinds[0]
    return f"**Key:** {listed}.\n\n{text.strip()}"


class SchemaField(serializers.JSONField):
    """A field documented by a raw OpenAPI schema, for shapes serializer fields cannot express."""

    def __init__(self, schema: dict[str, Any], **kwargs: Any) -> None:
        self.schema = schema
        super().__init__(**kwargs)


class SchemaFieldExtension(OpenApiSerializerFieldExtension):
    target_class = SchemaField

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        return copy.deepcopy(self.target.schema)


class PointsField(serializers.JSONField):
    """`[[bucket start, value], …]`: one pair per bucket of the range, oldest first."""

    def __init__(self, value: dict[str, Any] | type[serializers.Serializer], example: list, **kwargs: Any) -> None:
        self.value, self.example = value, example
        super().__init__(**kwargs)


class PointsFieldExtension(OpenApiSerializerFieldExtension):
    target_class = PointsField

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        value = self.target.value
        if isinstance(value, type):
            value = auto_schema.resolve_serializer(value, direction).ref
        # OpenAPI 3.0 has no tuples: a pair is an array of two items, a date-time then the value.
        pair = {"type": "array", "minItems": 2, "maxItems": 2, "items": {"oneOf": [BUCKET_START, value]}}
        return {"type": "array", "items": pair, "example": self.target.example}


BUCKET_START = {"type": "string", "format": "date-time", "description": "Bucket start, UTC"}
TIMESTAMP = {
    "oneOf": [
        {"type": "string", "format": "date-time", "description": "ISO 8601 with a UTC offset, e.g. `Z`"},
        {"type": "number", "description": "Epoch milliseconds"},
    ]
}
SCALAR_TEXT = [
    {"type": "string", "maxLength": TAG_VALUE_MAX_LENGTH, "nullable": True},
    {"type": "number"},
    {"type": "boolean"},
]
TAGS_IN = {"type": "object", "maxProperties": TAGS_MAX_COUNT, "additionalProperties": {"oneOf": SCALAR_TEXT}}
TAGS_OUT = {"type": "object", "additionalProperties": {"type": "string"}, "example": {"plan": "pro"}}

# `from` is a Python keyword, so the range fields are declared by name.
RangeFields = type(
    "RangeFields",
    (serializers.Serializer,),
    {
        "from": serializers.DateTimeField(help_text="Start of the range (inclusive), UTC."),
        "to": serializers.DateTimeField(help_text="End of the range (exclusive), UTC."),
    },
)


def interval_field(
    help_text: str = "With `interval`: the bucket length of `points` (the one chosen for `auto`).", **kwargs: Any
) -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=INTERVAL_LADDER, help_text=help_text, **kwargs)


# Parameters -----------------------------------------------------------------------------------------

INSTANT_FORMS = (
    "ISO 8601 (a date, or a time without offset, is in the range's time zone), epoch milliseconds, `now`, "
    "or relative to now: `-15m`, `-24h`, `-7d`, `-2w` (units s, m, h, d, w)"
)
PERIOD_PATTERN = r"^(" + "|".join(name for name in PERIODS if not name[-1].isdigit()) + r"|last_\d{1,6}[smhdw])$"
TIME_RANGE = [
    OpenApiParameter("from", str, description=f"Start (inclusive): {INSTANT_FORMS}. Default: 24 hours before `to`."),
    OpenApiParameter("to", str, description="End (exclusive), in the same forms as `from`. Default: now."),
    OpenApiParameter(
        "period",
        str,
        pattern=PERIOD_PATTERN,
        description=(
            "A named range instead of `from`/`to` (giving both is a 400): "
            + ", ".join(f"`{name}`" for name in PERIODS)
            + ", or any `last_<n><unit>`. Calendar periods follow the time zone and those including today end now."
        ),
    ),
    OpenApiParameter(
        "timezone",
        str,
        description="IANA time zone (e.g. `Europe/Berlin`) for periods, local dates and 1d/1w/1mo buckets. "
        "Default: the project's.",
    ),
]


def choice(values: list[str], default: str | None = None) -> dict[str, Any]:
    """A string enum schema for a parameter, in the order given (spectacular sorts `enum=` alphabetically)."""
    return {"type": "string", "enum": values, **({"default": default} if default else {})}


def interval_parameter(absent: str) -> OpenApiParameter:
    return OpenApiParameter(
        "interval",
        choice([*INTERVAL_LADDER, "auto"]),
        description=(
            f"Bucket length: {', '.join(FIXED_INTERVALS)} (fixed, aligned to local midnight) or "
            f"{', '.join(CALENDAR_INTERVALS)} (local days, weeks from Monday, months). `auto` picks the finest "
            f"giving at most {AUTO_MAX_POINTS} points; more than {MAX_POINTS:,} points is a 400. {absent}"
        ),
    )


def limit_parameter(default: int, maximum: int, text: str) -> OpenApiParameter:
    return OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": maximum, "default": default},
        description=f"{text} 1 to {maximum} (default {default}).",
    )


def tags_parameter(text: str) -> OpenApiParameter:
    return OpenApiParameter(
        "tags",
        {"type": "object", "additionalProperties": {"type": "string"}},
        style="deepObject",
        explode=True,
        description=f"`tags[<key>]=<value>`, repeatable: {text}",
    )


# Errors ---------------------------------------------------------------------------------------------


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


# Ingestion ------------------------------------------------------------------------------------------

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


# Projects -------------------------------------------------------------------------------------------


class CurrentProject(serializers.Serializer):
    """The project a key belongs to, and the key's kind."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.SlugField()
    environment = serializers.ChoiceField(choices=Environment.values)
    timezone = serializers.CharField(help_text="IANA time zone of calendar periods and day buckets.")
    retention_days = serializers.IntegerField(help_text="How long raw events and metric points are kept.")
    key_kind = serializers.ChoiceField(choices=KeyKind.values)


class ProvisionedProject(serializers.Serializer):
    """The project found or created, with a new ingest key and a new admin key (earlier keys stay valid)."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.SlugField(help_text="The name for production; `name-environment` for other environments.")
    environment = serializers.ChoiceField(choices=Environment.values)
    ingest_key = serializers.CharField(help_text="A new ingest key; shown only now.")
    api_key = serializers.CharField(help_text="A new admin key; shown only now.")
