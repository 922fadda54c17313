"""The rule expression language: parsing, safe evaluation, Excel formulas."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from xf_excel.config.expr import ExprError, evaluate, names, parse, to_excel


@pytest.mark.parametrize("text, values, expected", [
    ("a <= b", {"a": 15, "b": 12}, False),
    ("a <= b", {"a": 12, "b": 12}, True),
    ("a * 10000 / b <= 300", {"a": 3, "b": 100}, True),
    ("a * 10000 / b <= 300", {"a": 4, "b": 100}, False),
    ("a - (b - c)", {"a": 10, "b": 4, "c": 1}, 7),
    ("a / (b * c)", {"a": 12, "b": 2, "c": 3}, 2),
    ("not a > 1 or b = 2", {"a": 5, "b": 2}, True),
    ("a <> b and -a < 0", {"a": 1, "b": 2}, True),
])
def test_evaluate(text, values, expected):
    assert evaluate(parse(text), values) == expected


def test_missing_figure_or_division_by_zero_is_not_judged():
    assert evaluate(parse("a <= b"), {"a": 1}) is None
    assert evaluate(parse("a / b <= 300"), {"a": 1, "b": 0}) is None


def test_names_in_order():
    assert names(parse("voucher_amount * 10000 / voucher_members <= voucher_amount")) == [
        "voucher_amount", "voucher_members"]


@pytest.mark.parametrize("text", ["a <=", "(a + b", "a b", "__import__('os')", "a.b", "a ** 2", "f(a)", ""])
def test_anything_else_is_refused(text):
    with pytest.raises(ExprError):
        parse(text)


def test_excel_formula_keeps_meaning():
    cells = {"a": "E12", "b": "E11", "c": "E10"}.__getitem__
    assert to_excel(parse("a <= b"), cells) == "E12<=E11"
    assert to_excel(parse("a - (b - c)"), cells) == "E12-(E11-E10)"
    assert to_excel(parse("(a - b) * c"), cells) == "(E12-E11)*E10"
    assert to_excel(parse("a * 10000 / b <= 300"), cells) == "E12*10000/E11<=300"
    assert to_excel(parse("a > 1 and not b = 2"), cells) == "AND(E12>1,NOT(E11=2))"


_names = st.sampled_from(["a", "b", "c"])


@st.composite
def _arith(draw, depth=3):
    if depth == 0 or draw(st.booleans()):
        return draw(st.one_of(_names, st.integers(1, 99).map(str)))
    op = draw(st.sampled_from(["+", "-", "*", "/"]))
    return f"({draw(_arith(depth - 1))} {op} {draw(_arith(depth - 1))})"


@given(_arith(), st.integers(1, 50), st.integers(1, 50), st.integers(1, 50))
def test_excel_rendering_evaluates_like_the_original(text, a, b, c):
    """Render to Excel syntax with numbers for cells, read it back as our language: same value."""
    values = {"a": a, "b": b, "c": c}
    original = evaluate(parse(text), values)
    rendered = to_excel(parse(text), lambda name: str(values[name]))
    assert evaluate(parse(rendered), {}) == pytest.approx(original) if original is not None else True
