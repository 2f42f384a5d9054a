"""Field validation shared by events and metrics: pure functions, no database."""

import math
from datetime import UTC, datetime, timedelta

import pytest

from flux.payloads.fields import (
    FieldError,
    TimeWindow,
    clean_item_id,
    clean_name,
    clean_number,
    clean_optional_text,
    clean_properties,
    clean_tags,
    clean_timestamp,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
WINDOW = TimeWindow.around(NOW, retention_days=30, max_future_seconds=600)


@pytest.mark.parametrize(
    "name",
    ["user.signup", "api:latency/p95", "a-b_c.D9", "x" * 200, "Signed Up", "café.visit", "order #42", "注文.完了",
     "checkout 🛒", "ü" * 200, "50% off (promo)", "a\u200db"],
)  # fmt: skip
def test_ordinary_names_in_any_script_pass(name: str) -> None:
    assert clean_name(name) == name


def test_spaces_around_a_name_are_dropped() -> None:
    assert clean_name("  Signed Up ") == "Signed Up"
    assert clean_name("\u00a0café\t") == "café"
    # Invisible around a name too: "\ufeffx" and "x" looked the same and were two names.
    assert clean_name("\ufeffx") == clean_name("x\u200f") == clean_name("\u200b x \u200d") == "x"
    assert clean_name("a\u200db") == "a\u200db"  # inside a name (an emoji sequence, a script's joiner) it stays


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (None, "name is required"),
        ("", "name is required"),
        (42, "name must be a string"),
        ("x" * 201, "longer than 200"),
        ("   ", "empty or only spaces"),
        ("x" * 199 + "é" * 2, "longer than 200"),
        ("tab\there", "unprintable character \\(U\\+0009\\)"),
        ("line\nbreak", "unprintable"),
        ("bell\x07", "unprintable"),
        ("para\u2029graph", "unprintable"),
        ("nul\x00", "unprintable"),
        ("\u202e evil", "bidirectional control character \\(U\\+202E\\)"),  # shows reversed
        ("\u200b", "empty or only spaces"),
        ("\u200b\u2060", "empty or only spaces"),
        ("\u2061", "no visible character"),  # an invisible operator, not among those dropped around a name
        ("\u3164", "no visible character"),  # a Hangul filler is a letter that shows as nothing
        ("\u2800", "no visible character"),
        ("\u0300", "no visible character"),  # a lone combining accent
    ],
)
def test_invalid_names_say_why(name: object, message: str) -> None:
    with pytest.raises(FieldError, match=message):
        clean_name(name)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-11-23T11:13:20.745Z", datetime(2026, 11, 23, 11, 13, 20, 745000, tzinfo=UTC)),
        ("2026-11-23T12:13:20+01:00", datetime(2026, 11, 23, 11, 13, 20, tzinfo=UTC)),
        (1795432400000, datetime.fromtimestamp(1795432400, tz=UTC)),
        (None, NOW),
    ],
)
def test_timestamps_in_iso_or_epoch_millis(raw: object, expected: datetime) -> None:
    assert clean_timestamp(raw, WINDOW) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("yesterday", "not ISO 8601"),
        ("2026-11-23T10:00:00", "needs a UTC offset"),
        (True, "ISO 8601 string or epoch"),
        ({"t": 1}, "ISO 8601 string or epoch"),
        (float("nan"), "finite"),
        (1e30, "out of range"),
        ((NOW - timedelta(days=31)).isoformat(), "older than the project's retention"),
        ((NOW + timedelta(minutes=11)).isoformat(), "too far in the future"),
        (1795432400, "older than"),  # epoch seconds by mistake: 1970
    ],
)
def test_bad_timestamps_are_rejected(raw: object, message: str) -> None:
    with pytest.raises(FieldError, match=message):
        clean_timestamp(raw, WINDOW)


@pytest.mark.parametrize(
    ("raw", "expected"), [("49.99", 49.99), ("-3", -3.0), (" 1e3 ", 1000.0), (".5", 0.5), ("+7.", 7.0)]
)
def test_decimal_strings_are_numbers(raw: str, expected: float) -> None:
    # Ruby's BigDecimal is sent as a JSON string.
    assert clean_number(raw, "value") == expected


def test_numbers_must_be_finite_and_not_boolean() -> None:
    assert clean_number(3, "value") == 3.0
    bad_values = (
        (True, "must be a number"), ("lots", "must be a number"), ("NaN", "must be a number"),
        ("inf", "must be a number"), ("Infinity", "must be a number"), ("", "must be a number"),
        ("0x10", "must be a number"), ("1e999", "finite"), ("1" * 65, "must be a number"), (math.inf, "finite"),
    )  # fmt: skip
    for bad, message in bad_values:
        with pytest.raises(FieldError, match=message):
            clean_number(bad, "value")


def test_tags_become_strings_and_null_tags_are_dropped() -> None:
    tags = clean_tags({"plan": "pro", "seats": 3, "ratio": 0.5, "trial": True, "coupon": None})
    assert tags == {"plan": "pro", "seats": "3", "ratio": "0.5", "trial": "true"}


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ([1, 2], "tags must be an object"),
        ({"a": {"b": 1}}, "not an object or array"),
        ({"a": [1]}, "not an object or array"),
        ({f"k{i}": "v" for i in range(51)}, "more than 50 tags"),
        ({"k" * 101: "v"}, "longer than 100"),
        ({"k": "v" * 201}, "longer than 200"),
        ({"k": "a\x00b"}, "NUL"),
        ({"": "v"}, "must not be empty"),
        ({"k\x01": "v"}, "unprintable character \\(U\\+0001\\)"),
        ({"\u202ek": "v"}, "bidirectional control"),
        ({"  ": "v"}, "no visible character"),
    ],
)
def test_bad_tags_are_rejected(tags: object, message: str) -> None:
    with pytest.raises(FieldError, match=message):
        clean_tags(tags)


def test_an_item_id_is_absent_or_not_empty() -> None:
    """`"id": ""` was kept: every later item sent with it was a duplicate of the first, and dropped."""
    assert clean_item_id(None) is None and clean_item_id("a1") == "a1" and clean_item_id(7) == "7"
    with pytest.raises(FieldError, match="id must not be empty"):
        clean_item_id("")


def test_decimal_strings_take_ascii_digits_only() -> None:
    """float() reads full-width digits ("\\uff11\\uff12") as 12."""
    for text in ("\uff11\uff12", "\u0661\u0662", "1\uff12.5"):
        with pytest.raises(FieldError, match="must be a number"):
            clean_number(text, "value")


def test_ids_accept_numbers_and_booleans_as_text() -> None:
    assert clean_optional_text(42, "user_id") == "42"
    assert clean_optional_text(False, "user_id") == "false"
    assert clean_optional_text(None, "user_id") is None
    with pytest.raises(FieldError, match="user_id must be a string"):
        clean_optional_text({"id": 1}, "user_id")


def test_properties_keep_nested_values_as_json() -> None:
    text = clean_properties({"items": [{"sku": "A1", "qty": 2}], "city": "München ✓", "coupon": None})
    assert text == '{"items":[{"sku":"A1","qty":2}],"city":"München ✓","coupon":null}'


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ("text", "must be an object"),
        ({"x": float("nan")}, "NaN or Infinity"),
        ({"blob": "x" * (32 * 1024)}, "larger than 32 KB"),
        ({"a": "nul\x00"}, "NUL"),
        ({"a": "\ud800"}, "invalid Unicode"),
    ],
)
def test_bad_properties_are_rejected(properties: object, message: str) -> None:
    with pytest.raises(FieldError, match=message):
        clean_properties(properties)


def test_a_literal_backslash_u0000_is_not_mistaken_for_nul() -> None:
    assert clean_properties({"a": "\\u0000"}) == '{"a":"\\\\u0000"}'
