"""parse_number: what people type into a number cell, accepted when unambiguous, refused with a reason otherwise."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xf_excel.issues import IssueCode
from xf_excel.checks.normalize import Parsed, clean_text, fmt_number, parse_number
from xf_excel.intake.records import CellError


@pytest.mark.parametrize("value, kind, unit, number", [
    ("１２", "count", "个", 12.0),
    ("1,200", "count", "个", 1200.0),
    ("1，200", "count", "个", 1200.0),
    ("1,234,567.5", "money", "万元", 1234567.5),
    ("\u3000 12\u00a0", "count", "个", 12.0),
    (" 12 ", "count", "个", 12.0),
    ("12", "count", "个", 12.0),
    ("12个", "count", "个", 12.0),
    ("12 个", "count", "个", 12.0),
    ("１２个", "count", "个", 12.0),
    ("35.5万元", "money", "万元", 35.5),
    ("35.5万", "money", "万元", 35.5),
    ("０．５", "money", "万元", 0.5),
    ("45%", "ratio", "%", 0.45),
    ("45％", "ratio", "%", 0.45),
    ("0.45", "ratio", "%", 0.45),
    ("+7", "count", "家", 7.0),
    ("12万条", "number", "万条", 12.0),
])
def test_unambiguous_text_is_normalised(value, kind, unit, number):
    assert parse_number(value, kind, unit) == Parsed(number, normalised=True)


@pytest.mark.parametrize("value, kind, number", [
    (12.0, "count", 12.0),
    (12, "count", 12.0),
    (11.999999999999998, "count", 12.0),   # a sum of floats that is a whole number
    (35.5, "money", 35.5),
    (0.0, "count", 0.0),
    (-0.0, "money", 0.0),
])
def test_numbers_pass_as_they_are(value, kind, number):
    parsed = parse_number(value, kind, "个")
    assert (parsed.number, parsed.normalised, parsed.code) == (number, False, None)


@pytest.mark.parametrize("value", [None, "", "   ", "\u3000"])
def test_blank_is_neither_number_nor_refusal(value):
    parsed = parse_number(value, "count", "个")
    assert parsed == Parsed(None) and parsed.blank and parsed.ok


@pytest.mark.parametrize("value, kind, unit, code, reason_part", [
    ("1.2万", "count", "个", IssueCode.WRONG_UNIT, "1.2万 应填 12000"),
    ("3千", "count", "个", IssueCode.WRONG_UNIT, "3千 应填 3000"),
    ("35.5元", "money", "万元", IssueCode.WRONG_UNIT, "35.5元 = 0.00355万元"),
    ("1.2亿元", "money", "万元", IssueCode.WRONG_UNIT, "1.2亿元 = 12000万元"),
    ("12家", "count", "个", IssueCode.WRONG_UNIT, "本项单位是个"),
    ("45%", "count", "个", IssueCode.WRONG_UNIT, "不是百分比"),
    ("45", "ratio", "%", IssueCode.WRONG_UNIT, "45%"),
    ("约20", "count", "个", IssueCode.APPROXIMATE, "确切"),
    ("20左右", "count", "个", IssueCode.APPROXIMATE, "确切"),
    ("20多", "count", "个", IssueCode.APPROXIMATE, "确切"),
    ("20+", "count", "个", IssueCode.APPROXIMATE, "确切"),
    ("见附件", "count", "个", IssueCode.NOT_A_NUMBER, "附件"),
    ("-", "count", "个", IssueCode.NOT_A_NUMBER, "请填 0"),
    ("/", "count", "个", IssueCode.NOT_A_NUMBER, "请填 0"),
    ("无", "money", "万元", IssueCode.NOT_A_NUMBER, "请填 0"),
    ("—", "money", "万元", IssueCode.NOT_A_NUMBER, "请填 0"),
    ("1,20", "count", "个", IssueCode.NOT_A_NUMBER, "只填写数字"),
    ("1 200", "count", "个", IssueCode.NOT_A_NUMBER, "只填写数字"),
    ("12。5", "money", "万元", IssueCode.NOT_A_NUMBER, "只填写数字"),
    ("1e5", "count", "个", IssueCode.NOT_A_NUMBER, "只填写数字"),
    ("12.5", "count", "个", IssueCode.NOT_AN_INTEGER, "整数"),
    (12.5, "count", "个", IssueCode.NOT_AN_INTEGER, "整数"),
    (-3.0, "money", "万元", IssueCode.NEGATIVE, "负数"),
    ("-3", "count", "个", IssueCode.NEGATIVE, "负数"),
    ("－３", "count", "个", IssueCode.NEGATIVE, "负数"),
    (True, "count", "个", IssueCode.NOT_A_NUMBER, "TRUE/FALSE"),
    (dt.datetime(2020, 9, 1), "count", "个", IssueCode.NOT_A_NUMBER, "日期"),
    (dt.date(2020, 9, 1), "money", "万元", IssueCode.NOT_A_NUMBER, "日期"),
    (CellError("#DIV/0!"), "count", "个", IssueCode.ERROR_VALUE, "#DIV/0!"),
    (float("nan"), "money", "万元", IssueCode.NOT_A_NUMBER, "有效"),
    (float("inf"), "money", "万元", IssueCode.NOT_A_NUMBER, "有效"),
    ("9" * 400, "money", "万元", IssueCode.NOT_A_NUMBER, "有效"),
])
def test_ambiguous_values_are_refused_with_a_reason(value, kind, unit, code, reason_part):
    parsed = parse_number(value, kind, unit)
    assert (parsed.number, parsed.code, parsed.ok) == (None, code, False)
    assert reason_part in parsed.reason


def test_helpers():
    assert clean_text("\u00a0 ＡＢ１２ \u3000 x ") == "ＡＢ12 x"
    assert [fmt_number(v) for v in (15.0, 35.5, 0.0035, 1 / 3)] == ["15", "35.5", "0.0035", "0.3333"]
    assert fmt_number(333.3333, 2) == "333.33"


# ---- properties ---------------------------------------------------------------------------

_WIDE_DIGITS = str.maketrans("0123456789,.", "０１２３４５６７８９，．")
_SPACES = st.sampled_from(["", " ", "\u3000", "\u00a0", "  "])


@settings(max_examples=300, deadline=None)
@given(number=st.integers(min_value=0, max_value=10**15), style=st.sampled_from(["plain", "thousands", "cn-comma", "wide"]),
       suffix=st.sampled_from(["", "个", " 个"]), before=_SPACES, after=_SPACES)
def test_any_count_formatted_by_people_parses_back_exactly(number, style, suffix, before, after):
    text = {"plain": str(number), "thousands": f"{number:,}", "cn-comma": f"{number:,}".replace(",", "，"),
            "wide": f"{number:,}".translate(_WIDE_DIGITS)}[style]
    parsed = parse_number(f"{before}{text}{suffix}{after}", "count", "个")
    assert parsed.code is None and parsed.number == float(number)


@settings(max_examples=200, deadline=None)
@given(cents=st.integers(min_value=0, max_value=10**11), suffix=st.sampled_from(["", "万元", "万"]))
def test_any_money_with_its_unit_parses_back_exactly(cents, suffix):
    text = f"{cents // 100:,}.{cents % 100:02d}"
    parsed = parse_number(text + suffix, "money", "万元")
    assert parsed.code is None and parsed.number == float(f"{cents // 100}.{cents % 100:02d}")


@settings(max_examples=200, deadline=None)
@given(percent=st.integers(min_value=0, max_value=100), sign=st.sampled_from(["%", "％"]))
def test_any_percentage_parses_to_its_fraction(percent, sign):
    assert parse_number(f"{percent}{sign}", "ratio", "%").number == percent / 100


@settings(max_examples=500, deadline=None)
@given(text=st.text(max_size=40), kind=st.sampled_from(["count", "money", "number", "ratio"]),
       unit=st.sampled_from(["个", "万元", "%", "家", "万条", ""]))
def test_the_parser_never_raises_and_always_explains(text, kind, unit):
    parsed = parse_number(text, kind, unit)
    assert parsed.ok or (parsed.number is None and parsed.reason)
    assert parsed.number is None or parsed.number >= 0


@settings(max_examples=200, deadline=None)
@given(value=st.one_of(st.floats(allow_nan=True), st.integers(min_value=-10**30, max_value=10**30), st.booleans(),
                       st.dates(), st.text(alphabet="0123456789,.，．-+%万元个约 ", max_size=20)))
def test_the_parser_never_raises_on_any_cell_value(value):
    parsed = parse_number(value, "count", "个")
    assert parsed.ok or parsed.reason
