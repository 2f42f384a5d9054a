"""Field helpers of the schema: free-form and point-list fields, timestamps, tags and range fields."""

import copy
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

from flux.payloads.fields import (
    TAG_VALUE_MAX_LENGTH,
    TAGS_MAX_COUNT,
)
from flux.query.timerange import (
    INTERVAL_LADDER,
)


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
