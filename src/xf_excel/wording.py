"""Numbers, dates and section numbers worded as an official Chinese document words them.

Rules (GB/T 9704 practice for statistics in a 简报, and what a careful clerk checks):

- Arabic numerals with thousands separators (``1,036个``); counts whole.
- Money always with two decimals (one precision throughout a document, as official
  statistics print it): ``4,344.80万元``, ``6.09亿元``; in 亿元 from 10,000 万元 on.
- One unit within a clause or a series: a figure's change is worded in the figure's unit
  (``5.78亿元，较上期增加0.98亿元``), a series in the unit of its largest member
  (``0.85亿元、2.93亿元、4.80亿元``): pass `money_unit` (see `money_unit`).
- Percentages with one decimal; a gap or a change is the difference of the figures as
  printed (13.3% and 6.7% are 6.6个百分点 apart, whatever the unrounded figures say).
- Dates as ``9月18日`` / ``2020年9月18日``; section numbers in Chinese numerals.

Rounding is half-up on the decimal text of the figure (``Decimal(repr(x))``), as a person
rounding by hand would, never Python's half-to-even on binary floats::

    >>> fmt_count(1036, "个")
    '1,036个'
    >>> fmt_money_wan(61234.5)
    '6.12亿元'
    >>> fmt_money_wan(4344.8)
    '4,344.80万元'
    >>> fmt_percent(0.6)
    '60.0%'
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Optional

__all__ = [
    "fmt_number", "fmt_count", "fmt_money_wan", "money_unit", "fmt_percent", "fmt_points", "fmt_points_between",
    "fmt_value", "fmt_plan_value", "printed_figure", "fmt_change", "fmt_date_cn", "fmt_date_full", "fmt_deadline", "fmt_deadline_full",
    "cn_numeral", "quantity_name",
]

_WAN_PER_YI = 10_000


def _round(value: float, decimals: int) -> Decimal:
    quantum = Decimal(1).scaleb(-decimals)
    return Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP)


def fmt_number(value: float, unit: str = "", *, decimals: int = 2, fixed: bool = False) -> str:
    """Thousands separators and `decimals` decimals; trailing zeros dropped unless `fixed`:
    ``fmt_number(1234.50, "元") -> '1,234.5元'``, ``fmt_number(268.0) -> '268'``,
    ``fmt_number(268.0, fixed=True) -> '268.00'``."""
    text = f"{_round(value, decimals):,.{decimals}f}"
    if "." in text and not fixed:
        text = text.rstrip("0").rstrip(".")
    if text.lstrip("-").strip("0.,") == "":
        text = text.lstrip("-")          # no '-0' or '-0.00'
    return (text or "0") + unit


def fmt_count(value: float, unit: str = "") -> str:
    """A whole count with separators: ``fmt_count(1036, "个") -> '1,036个'``."""
    return fmt_number(value, unit, decimals=0)


def money_unit(*values: Optional[float]) -> str:
    """The unit a clause or series of amounts in 万元 is worded in: 亿元 when its largest
    member reaches 10,000 万元 as printed, else 万元."""
    known = [abs(v) for v in values if v is not None]
    return "亿元" if known and _round(max(known), 2) >= _WAN_PER_YI else "万元"


def fmt_money_wan(value: float, unit: Optional[str] = None) -> str:
    """Money given in 万元, two decimals: ``'1,234.50万元'``; from 10,000 万元 on in 亿元
    (``'6.12亿元'``). `unit` ('万元' or '亿元') forces the unit of the clause or series."""
    unit = unit or money_unit(value)
    if unit == "亿元":
        return fmt_number(value / _WAN_PER_YI, "亿元", fixed=True)
    return fmt_number(value, "万元", fixed=True)


def fmt_percent(ratio: float) -> str:
    """A fraction as a percentage with one decimal: ``fmt_percent(0.6) -> '60.0%'``."""
    return f"{_round(ratio * 100, 1):,.1f}%"


def fmt_points(ratio_difference: float) -> str:
    """A difference of two fractions in percentage points: ``0.15 -> '15.0个百分点'``."""
    return f"{_round(abs(ratio_difference) * 100, 1):,.1f}个百分点"


def fmt_points_between(a: float, b: float) -> str:
    """How far apart two fractions are as printed: 0.1333… and 0.0667… print as 13.3% and
    6.7%, so ``'6.6个百分点'`` (not the 6.7 of the unrounded difference)."""
    gap = abs(_round(a * 100, 1) - _round(b * 100, 1))
    return f"{gap:,.1f}个百分点"


def fmt_value(value: float, kind: str, unit: str, *, money: Optional[str] = None) -> str:
    """A figure in its indicator's kind and unit: a count whole, money in 万元/亿元 with two
    decimals (`money` forces one of them, see `money_unit`), a ratio as a percentage, other
    numbers with two decimals."""
    if kind == "ratio":
        return fmt_percent(value)
    if kind == "money" and unit == "万元":
        return fmt_money_wan(value, money)
    if kind == "count":
        return fmt_count(value, unit)
    return fmt_number(value, unit, fixed=True)


def fmt_plan_value(value: float, kind: str, unit: str) -> str:
    """A target or limit as the plan states it (300元, 5,000万元, 70.0%): not a measured figure,
    so without the measured figures' fixed decimals."""
    if kind == "ratio":
        return fmt_percent(value)
    if kind == "money" and unit == "万元" and money_unit(value) == "亿元":
        return fmt_number(value / _WAN_PER_YI, "亿元")
    return fmt_number(value, unit)


def printed_figure(value: float, kind: str, unit: str, money: Optional[str] = None) -> Decimal:
    """The figure as `fmt_value` prints it, as a number (in 亿元 when worded in 亿元)."""
    if kind == "ratio":
        return _round(value * 100, 1)
    if kind == "count":
        return _round(value, 0)
    if kind == "money" and unit == "万元" and money == "亿元":
        return _round(value / _WAN_PER_YI, 2)
    return _round(value, 2)


def fmt_change(value: Optional[float], previous: Optional[float], kind: str, unit: str, *,
               money: Optional[str] = None) -> str:
    """The 环比 clause, the difference of the two figures as printed, in the figure's unit:
    ``较上期增加120个`` / ``较上期减少3个`` / ``与上期持平``; money in the unit the figure is
    worded in (``较上期增加0.98亿元`` beside 5.78亿元); ratios in percentage points
    (``较上期提高1.2个百分点``); '' when either figure is missing."""
    if value is None or previous is None:
        return ""
    money = money or money_unit(value)
    change = printed_figure(value, kind, unit, money) - printed_figure(previous, kind, unit, money)
    if change == 0:
        return "与上期持平"
    if kind == "ratio":
        return f"较上期{'提高' if change > 0 else '降低'}{abs(change):,.1f}个百分点"
    verb = "增加" if change > 0 else "减少"
    if kind == "money" and unit == "万元":
        return f"较上期{verb}{fmt_number(float(abs(change)), money, fixed=True)}"
    if kind == "count":
        return f"较上期{verb}{fmt_count(float(abs(change)), unit)}"
    return f"较上期{verb}{fmt_number(float(abs(change)), unit, fixed=True)}"


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


_PLACES = ((1000, "千"), (100, "百"), (10, "十"))


def cn_numeral(number: int) -> str:
    """Chinese numeral for section numbers and ranks 1–9999: 1 → 一, 10 → 十, 12 → 十二,
    21 → 二十一, 110 → 一百一十, 134 → 一百三十四, 1005 → 一千零五 (one 零 for each gap).
    Ranks run past 99 where a campaign has more than 99 cities."""
    if not 1 <= number <= 9999:
        raise ValueError(f"numeral out of range: {number}")
    if number < 10:
        return _DIGITS[number]
    if number < 20:                            # 十, 十二: no 一 before a leading 十
        return "十" + (_DIGITS[number - 10] if number > 10 else "")
    text, rest, gap = "", number, False
    for value, name in _PLACES:
        digit, rest = divmod(rest, value)
        if digit:
            text += ("零" if gap else "") + _DIGITS[digit] + name
            gap = False
        elif text:
            gap = True
    return text + (("零" if gap else "") + _DIGITS[rest] if rest else "")


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
