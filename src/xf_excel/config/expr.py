"""The rule expression language of config.yaml: safe to evaluate, and writable as an Excel formula.

Grammar (no names but indicator ids, no calls, no attribute access, so config text can never
run code)::

    expr    := or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | compare
    compare := sum (("<" | "<=" | ">" | ">=" | "=" | "<>") sum)?
    sum     := product (("+" | "-") product)*
    product := unary (("*" | "/") unary)*
    unary   := "-" unary | atom
    atom    := NUMBER | NAME | "(" expr ")"

Example::

    >>> rule = parse("counters_operating <= counters_built")
    >>> evaluate(rule, {"counters_operating": 15, "counters_built": 12})
    False
    >>> to_excel(rule, {"counters_operating": "D12", "counters_built": "D11"}.__getitem__)
    'D12<=D11'
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Callable, Mapping, Union

__all__ = ["Expr", "ExprError", "parse", "names", "evaluate", "to_excel"]


class ExprError(ValueError):
    """The expression text is not valid; `position` is the 0-based character offset."""

    def __init__(self, message: str, position: int):
        super().__init__(f"{message}（第{position + 1}个字符处）")
        self.position = position


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Name:
    id: str


@dataclass(frozen=True)
class Unary:
    op: str  # "-" or "not"
    operand: "Expr"


@dataclass(frozen=True)
class Binary:
    op: str
    left: "Expr"
    right: "Expr"


Expr = Union[Num, Name, Unary, Binary]

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op><=|>=|<>|[-+*/()<>=]))"
)
_COMPARE = ("<", "<=", ">", ">=", "=", "<>")
_KEYWORDS = ("and", "or", "not")


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match:
            raise ExprError(f"无法识别的符号“{text[pos:].strip()[:1]}”", pos)
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "name" and value in _KEYWORDS:
            kind = "op"
        tokens.append((kind, value, match.start(kind)))
        pos = match.end()
    tokens.append(("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str):
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.i]

    def take(self, *ops: str) -> str | None:
        kind, value, _ = self.peek()
        if kind == "op" and value in ops:
            self.i += 1
            return value
        return None

    def parse(self) -> Expr:
        expr = self.or_()
        kind, value, pos = self.peek()
        if kind != "end":
            raise ExprError(f"多余的内容“{value}”", pos)
        return expr

    def or_(self) -> Expr:
        expr = self.and_()
        while self.take("or"):
            expr = Binary("or", expr, self.and_())
        return expr

    def and_(self) -> Expr:
        expr = self.not_()
        while self.take("and"):
            expr = Binary("and", expr, self.not_())
        return expr

    def not_(self) -> Expr:
        if self.take("not"):
            return Unary("not", self.not_())
        return self.compare()

    def compare(self) -> Expr:
        expr = self.sum()
        op = self.take(*_COMPARE)
        if op:
            expr = Binary(op, expr, self.sum())
        return expr

    def sum(self) -> Expr:
        expr = self.product()
        while op := self.take("+", "-"):
            expr = Binary(op, expr, self.product())
        return expr

    def product(self) -> Expr:
        expr = self.unary()
        while op := self.take("*", "/"):
            expr = Binary(op, expr, self.unary())
        return expr

    def unary(self) -> Expr:
        if self.take("-"):
            return Unary("-", self.unary())
        return self.atom()

    def atom(self) -> Expr:
        kind, value, pos = self.peek()
        self.i += 1
        if kind == "num":
            return Num(float(value))
        if kind == "name":
            return Name(value)
        if kind == "op" and value == "(":
            expr = self.or_()
            if not self.take(")"):
                raise ExprError("缺少右括号“)”", self.peek()[2])
            return expr
        raise ExprError("此处应为数字、指标编号或“(”" if kind != "end" else "表达式不完整", pos)


def parse(text: str) -> Expr:
    """Parse expression text; raises `ExprError` with the position of the first problem."""
    return _Parser(text).parse()


def names(expr: Expr) -> list[str]:
    """The indicator ids the expression reads, in order of first appearance."""
    found: list[str] = []

    def walk(node: Expr) -> None:
        if isinstance(node, Name) and node.id not in found:
            found.append(node.id)
        elif isinstance(node, Unary):
            walk(node.operand)
        elif isinstance(node, Binary):
            walk(node.left)
            walk(node.right)

    walk(expr)
    return found


_ARITH: dict[str, Callable[[float, float], float]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "=": lambda a, b: abs(a - b) < 1e-9, "<>": lambda a, b: abs(a - b) >= 1e-9,
}


def evaluate(expr: Expr, values: Mapping[str, float | None]):
    """Evaluate on figures by indicator id. Returns None when a figure it needs is missing
    (blank) or a division by zero occurs: a rule that cannot be judged is not a finding."""
    if isinstance(expr, Num):
        return expr.value
    if isinstance(expr, Name):
        value = values.get(expr.id)
        return None if value is None else value
    if isinstance(expr, Unary):
        inner = evaluate(expr.operand, values)
        if inner is None:
            return None
        return (not inner) if expr.op == "not" else -inner
    left = evaluate(expr.left, values)
    right = evaluate(expr.right, values)
    if left is None or right is None:
        return None
    if expr.op == "and":
        return bool(left) and bool(right)
    if expr.op == "or":
        return bool(left) or bool(right)
    if expr.op == "/" and right == 0:
        return None
    return _ARITH[expr.op](left, right)


_PRECEDENCE = {"or": 1, "and": 2, "not": 3, **{op: 4 for op in _COMPARE}, "+": 5, "-": 5, "*": 6, "/": 6}


def to_excel(expr: Expr, cell_of: Callable[[str], str]) -> str:
    """The expression as Excel formula text (without the leading "="), cells from `cell_of(id)`.

    `and`/`or`/`not` become AND()/OR()/NOT(); arithmetic keeps Excel's own precedence,
    parenthesised where the tree needs it. Works the same in Excel, WPS and LibreOffice."""

    def render(node: Expr, parent: int = 0) -> str:
        if isinstance(node, Num):
            return f"{node.value:.15g}"
        if isinstance(node, Name):
            return cell_of(node.id)
        if isinstance(node, Unary):
            inner = render(node.operand, 7)
            return f"NOT({render(node.operand)})" if node.op == "not" else f"-{inner}"
        if node.op in ("and", "or"):
            return f"{node.op.upper()}({render(node.left)},{render(node.right)})"
        prec = _PRECEDENCE[node.op]
        # the right operand of - and / binds tighter to keep a-(b-c) and a/(b*c) intact
        text = f"{render(node.left, prec)}{node.op}{render(node.right, prec + 1)}"
        return f"({text})" if prec < parent else text

    return render(expr)
