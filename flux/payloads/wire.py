"""The SDK's batch body decoded and type-checked in one pass (msgspec), for the common, well-formed case.

A body that does not fit these shapes (a tag given as a number, a missing name, a NaN, an array where an
object belongs) is not an error here: the caller then parses it generically and the per-item validation
in events.ingest and metrics.ingest reports each problem by index, exactly as for any other body.
"""

from typing import Annotated

import msgspec

from flux.payloads.fields import TEXT_MAX_LENGTH

Text = Annotated[str, msgspec.Meta(max_length=TEXT_MAX_LENGTH)]

NULL = msgspec.Raw(b"null")
DECODE_ERRORS = (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError, ValueError, RecursionError)


class WireEvent(msgspec.Struct, gc=False):
    """An event as the SDKs send it; fields not listed here are ignored, as by the generic path."""

    name: str
    timestamp: str | int | float | None = None
    value: float | None = None
    tags: msgspec.Raw = NULL  # kept as the client's JSON text, checked by events.ingest
    properties: dict | None = None
    user_id: Text | None = None
    session_id: Text | None = None
    environment: Text | None = None
    service: Text | None = None
    host: Text | None = None
    request_id: Text | None = None
    id: Text | None = None


class WirePoint(msgspec.Struct, gc=False):
    """A metric point as the SDKs send it; type, name and value are checked by metrics.ingest."""

    type: str
    name: str
    value: int | float | str | None = None  # as JSON has it: a set member 42 stays "42", not "42.0"
    tags: msgspec.Raw = NULL  # checked, and made canonical once per distinct text, by metrics.ingest
    timestamp: str | int | float | None = None
    id: Text | None = None


class WireBatch(msgspec.Struct, gc=False):
    events: list[WireEvent] | None = None
    metrics: list[WirePoint] | None = None


BATCH_DECODER = msgspec.json.Decoder(WireBatch)
EVENT_LIST_DECODER = msgspec.json.Decoder(list[WireEvent])
POINT_LIST_DECODER = msgspec.json.Decoder(list[WirePoint])


def decode_batch(data: bytes) -> WireBatch | None:
    """The body as a WireBatch with its events typed, or None when it needs the generic path."""
    try:
        batch = BATCH_DECODER.decode(data)
    except DECODE_ERRORS:
        return None
    # "Neither key present" has its own message on the generic path; null and absent look alike here.
    return None if batch.events is None and batch.metrics is None else batch


def decode_event_list(data: bytes) -> list[WireEvent] | None:
    """A bare JSON array of well-formed events, or None when the body needs the generic path."""
    try:
        return EVENT_LIST_DECODER.decode(data)
    except DECODE_ERRORS:
        return None


def decode_point_list(data: bytes) -> list[WirePoint] | None:
    """A bare JSON array of well-formed metric points, or None when the body needs the generic path."""
    try:
        return POINT_LIST_DECODER.decode(data)
    except DECODE_ERRORS:
        return None
