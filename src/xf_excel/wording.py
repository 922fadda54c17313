"""Numbers, dates and section numbers worded as an official Chinese document words them.

Rules (GB/T 9704 practice for statistics in a 简报): Arabic numerals with thousands
separators (``1,036个``); money in 万元, switching to 亿元 from 10,000 万元 on, with up to
two decimals; percentages with one decimal; dates as ``9月18日`` / ``2020年9月18日``;
section numbers in Chinese numerals (一、二、…, （一）（二）…).

Rounding is half-up on the decimal text of the figure (``Decimal(repr(x))``), as a person
rounding by hand would, never Python's half-to-even on binary floats::

    >>> fmt_count(1036, "个")
    '1,036个'
    >>> fmt_money_wan(61234.5)
    '6.12亿元'
    >>> fmt_percent(0.6)
    '60.0%'
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Optional

__all__ = [
    "fmt_number", "fmt_count", "fmt_money_wan", "fmt_percent", "fmt_points", "fmt_value",
    "fmt_change", "fmt_date_cn", "fmt_date_full", "cn_numeral", "quantity_name", "issue_label",
]

_WAN_PER_YI = 10_000


def _round(value: float, decimals: int) -> Decimal:
    quantum = Decimal(1).scaleb(-decimals)
    return Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP)


def fmt_number(value: float, unit: str = "", *, decimals: int = 2) -> str:
    """Thousands separators and up to `decimals` decimals, trailing zeros dropped:
    ``fmt_number(1234.50, "元") -> '1,234.5元'``, ``fmt_number(268.0) -> '268'``."""
    text = f"{_round(value, decimals):,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text + unit


def fmt_count(value: float, unit: str = "") -> str:
    """A whole count with separators: ``fmt_count(1036, "个") -> '1,036个'``."""
    return fmt_number(value, unit, decimals=0)


def fmt_money_wan(value: float) -> str:
    """Money given in 万元: ``'1,234.56万元'``; from 10,000 万元 on in 亿元 (``'6.12亿元'``)."""
    if abs(_round(value, 2)) >= _WAN_PER_YI:  # 9,999.999万元 rounds to 1亿元, not 10,000万元
        return fmt_number(value / _WAN_PER_YI, "亿元")
    return fmt_number(value, "万元")


def fmt_percent(ratio: float) -> str:
    """A fraction as a percentage with one decimal: ``fmt_percent(0.6) -> '60.0%'``."""
    return f"{_round(ratio * 100, 1):,.1f}%"


def fmt_points(ratio_difference: float) -> str:
    """A difference of two fractions in percentage points: ``0.15 -> '15.0个百分点'``."""
    return f"{_round(abs(ratio_difference) * 100, 1):,.1f}个百分点"


def fmt_value(value: float, kind: str, unit: str) -> str:
    """A figure in its indicator's kind and unit (count, money in 万元, ratio, other numbers)."""
    if kind == "ratio":
        return fmt_percent(value)
    if kind == "money" and unit == "万元":
        return fmt_money_wan(value)
    if kind == "count":
        return fmt_count(value, unit)
    return fmt_number(value, unit)


def fmt_change(increase: Optional[float], kind: str, unit: str) -> str:
    """The 环比 clause: ``较上期增加120个`` / ``较上期减少3个`` / ``与上期持平``;
    ratios in percentage points (``较上期提高1.2个百分点``); '' when there is no previous figure."""
    if increase is None:
        return ""
    if kind == "ratio":
        if _round(increase * 100, 1) == 0:
            return "与上期持平"
        return f"较上期{'提高' if increase > 0 else '降低'}{fmt_points(increase)}"
    decimals = 0 if kind == "count" else 2
    if _round(increase, decimals) == 0:
        return "与上期持平"
    return f"较上期{'增加' if increase > 0 else '减少'}{fmt_value(abs(increase), kind, unit)}"


def fmt_date_cn(day: dt.date) -> str:
    """Month and day without leading zeros: ``9月18日``."""
    return f"{day.month}月{day.day}日"


def fmt_date_full(day: dt.date) -> str:
    """Full date as written in official documents: ``2020年9月18日``."""
    return f"{day.year}年{day.month}月{day.day}日"


_DIGITS = "零一二三四五六七八九"


def cn_numeral(number: int) -> str:
    """Chinese numeral for section numbers 1–99: 1 → 一, 10 → 十, 12 → 十二, 21 → 二十一."""
    if not 1 <= number <= 99:
        raise ValueError(f"section number out of range: {number}")
    tens, ones = divmod(number, 10)
    if tens == 0:
        return _DIGITS[ones]
    head = "十" if tens == 1 else _DIGITS[tens] + "十"
    return head + (_DIGITS[ones] if ones else "")


# Suffixes that name "the number of …" in an indicator name; the figure's unit says it instead:
# 运营专柜数 1,036个 -> 运营专柜1,036个; 参与带货主播人数 -> 参与带货主播1,200人.
_COUNT_SUFFIXES = ("总数", "人数", "场次", "次数", "篇数", "数")


def quantity_name(name: str, kind: str) -> str:
    """The indicator name as it reads before its figure: '运营专柜数' -> '运营专柜' for counts."""
    if kind == "count":
        for suffix in _COUNT_SUFFIXES:
            if name.endswith(suffix) and len(name) > len(suffix):
                return name[: -len(suffix)]
    return name


# Short Chinese names of issue kinds, for counts in the briefing ("格式不是数字12处").
# Keyed by the code's text so that codes added later fall back to their slug, never fail.
_ISSUE_LABELS = {
    "not-a-return": "不是报表文件", "unreadable-file": "文件无法读取", "encrypted-file": "文件加密",
    "unsafe-file": "文件不安全", "wrong-template": "模板不符", "old-template": "使用旧版模板",
    "duplicate-file": "重复报送", "macros-ignored": "含宏已忽略", "no-cached-values": "公式无计算结果",
    "unknown-unit": "单位无法识别", "unit-mismatch": "单位信息不一致", "sender-mismatch": "发件人不符",
    "wrong-period": "期次不符", "missing-header": "表头信息缺失", "bad-phone": "联系电话有误",
    "missing-indicator": "缺少指标行", "duplicate-indicator": "指标行重复", "required": "必填项未填",
    "not-a-number": "不是数字", "not-an-integer": "不是整数", "negative": "出现负数",
    "out-of-range": "超出范围", "error-value": "单元格错误值", "normalised": "数字格式已规范",
    "rule-failed": "逻辑校验不通过", "below-previous": "累计数小于上期", "implausible-jump": "增幅异常",
    "peer-outlier": "明显偏离同类单位", "missing-detail-sheet": "缺少明细表", "detail-required": "明细必填项未填",
    "detail-bad-choice": "明细选项不符", "detail-bad-date": "明细日期有误",
    "date-outside-campaign": "日期不在活动期间", "detail-total-mismatch": "明细与合计不符",
    "too-many-rows": "明细行数过多",
}


def issue_label(code) -> str:
    """Short Chinese name of an issue kind (an IssueCode or its text); the slug if unknown."""
    text = getattr(code, "value", code)
    return _ISSUE_LABELS.get(text, text)
