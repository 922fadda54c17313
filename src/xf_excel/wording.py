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
    "fmt_change", "fmt_date_cn", "fmt_date_full", "fmt_deadline", "fmt_deadline_full", "cn_numeral", "quantity_name",
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


def fmt_deadline(moment: dt.datetime) -> str:
    """A moment in reminders: ``9月14日12时`` (with 分 when the minutes are not zero)."""
    text = f"{moment.month}月{moment.day}日{moment.hour}时"
    return text + (f"{moment.minute}分" if moment.minute else "")


def fmt_deadline_full(moment: dt.datetime) -> str:
    """A moment on forms and feedback workbooks: ``2020年9月21日12:00``."""
    return f"{fmt_date_full(moment)}{moment:%H:%M}"


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
