"""Formulas over named queries (`a / b * 100`, `(a - b) / a`): parsed into a small tree, never eval'd.

Grammar: expression = term (("+" | "-") term)*; term = factor (("*" | "/") factor)*;
factor = number | name | "(" expression ")" | "-" factor. Names are single letters a to e. Pure.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|([a-e])\b|([-+*/()]))")
MAX_LENGTH = 200
MAX_DEPTH = 20

Node = float | str | tuple


class FormulaError(ValueError):
    pass


@dataclass
class Parser:
    tokens: list[str]
    position: int = 0
    depth: int = 0

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise FormulaError("the formula ends too early")
        self.position += 1
        return token

    def expression(self) -> Node:
        node = self.term()
        while self.peek() in ("+", "-"):
            node = (self.take(), node, self.term())
        return node

    def term(self) -> Node:
        node = self.factor()
        while self.peek() in ("*", "/"):
            node = (self.take(), node, self.factor())
        return node

    def factor(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FormulaError("the formula nests too deeply")
        symbol = self.take()
        if symbol == "-":
            node: Node = ("neg", self.factor())
        elif symbol == "(":
            node = self.expression()
            if self.take() != ")":
                raise FormulaError("a parenthesis is not closed")
        elif symbol[0].isascii() and symbol[0].isdigit():
            node = float(symbol)
        elif symbol.isalpha():
            node = symbol
        else:
            raise FormulaError(f"unexpected {symbol!r}")
        self.depth -= 1
        return node


def tokenize(text: str) -> list[str]:
    tokens, position = [], 0
    while position < len(text.rstrip()):
        match = TOKEN.match(text, position)
        if not match:
            raise FormulaError(f"unexpected {text[position:].strip()[:10]!r}; use a to e, numbers, + - * / and ( )")
        tokens.append(next(group for group in match.groups() if group is not None))
        position = match.end()
    return tokens


def parse(text: str) -> Node:
    """The formula's tree; FormulaError names what is wrong."""
    if not text.strip() or len(text) > MAX_LENGTH:
        raise FormulaError(f"a formula is 1 to {MAX_LENGTH} characters")
    parser = Parser(tokenize(text))
    node = parser.expression()
    if parser.peek() is not None:
        raise FormulaError(f"unexpected {parser.peek()!r}")
    return node


def names_in(node: Node) -> set[str]:
    if isinstance(node, str):
        return {node}
    if isinstance(node, tuple):
        return set().union(*(names_in(child) for child in node[1:]))
    return set()


def evaluate(node: Node, values: Mapping[str, float | None]) -> float | None:
    """The formula's value; None when a value it needs is missing or it divides by zero."""
    if isinstance(node, float):
        return node
    if isinstance(node, str):
        value = values.get(node)
        return None if value is None else float(value)
    operator, *operands = node
    results = [evaluate(operand, values) for operand in operands]
    if any(result is None for result in results):
        return None
    if operator == "neg":
        return -results[0]
    left, right = results
    if operator == "+":
        return left + right
    if operator == "-":
        return left - right
    if operator == "*":
        return left * right
    return None if right == 0 else left / right
