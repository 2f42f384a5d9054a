"""Widget formulas: parsed by a small grammar (never eval), evaluated with gaps and zero divisors as None."""

import pytest

from flux.query.formula import FormulaError, evaluate, names_in, parse


@pytest.mark.parametrize(
    ("text", "expected"),
    [("a / b", 0.25), ("a / b * 100", 25.0), ("(a - b) / a", -3.0), ("-a + 2 * b", 7.0), ("a - b - 1", -4.0),
     ("a / b / 2", 0.125), ("((a))", 1.0), ("2.5 * a", 2.5)],
)  # fmt: skip
def test_formulas_follow_the_usual_precedence(text: str, expected: float) -> None:
    assert evaluate(parse(text), {"a": 1, "b": 4}) == expected


def test_a_missing_value_or_a_zero_divisor_gives_no_value() -> None:
    assert evaluate(parse("a / b"), {"a": 1, "b": 0}) is None
    assert evaluate(parse("a + b"), {"a": 1, "b": None}) is None


def test_the_names_a_formula_reads() -> None:
    assert names_in(parse("(a - c) / a * 100")) == {"a", "c"}


@pytest.mark.parametrize(
    "text",
    ["", "a +", "a b", "(a", "a)", "__import__('os')", "f", "a ** b", "1e3", "a; b", "a / ( b", "x" * 201,
     "(" * 30 + "a" + ")" * 30],
)  # fmt: skip
def test_anything_else_is_refused_with_a_reason(text: str) -> None:
    with pytest.raises(FormulaError):
        parse(text)
