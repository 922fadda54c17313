"""Numbers as people type them into a return: normalise what is unambiguous, refuse the rest.

Clerks type `１２`, `1,200`, `12个`, `35.5万元`, `45%` — all of which mean one number beyond
doubt — and also `约20`, `1.2万` in a count, `35.5元` in a 万元 field, `见附件` or `/`, which
do not. `parse_number` never raises: it returns a `Parsed` record holding either the number
or a reason code with a Chinese reason the clerk can act on::

    >>> parse_number("1，200个", "count", "个")
    Parsed(number=1200.0, normalised=True, code=None, reason='')
    >>> parse_number("1.2万", "count", "个").code
    <IssueCode.WRONG_UNIT: 'wrong-unit'>
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Optional

from ..issues import IssueCode
from ..intake.records import CellError

__all__ = ["Parsed", "parse_number", "parse_date", "clean_text", "fmt_number"]


@dataclass(frozen=True)
class Parsed:
    """The outcome of reading one cell as a number.

    `number` is None for a blank cell and for a refused one; `code`/`reason` say why a value
    was refused (None/'' when it was accepted or blank); `normalised` is True when the text
    had to be cleaned up (full-width digits, separators, a unit word) to get the number."""

    number: Optional[float]
    normalised: bool = False
    code: Optional[IssueCode] = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        """Accepted (a number) or blank."""
        return self.code is None

    @property
    def blank(self) -> bool:
        return self.code is None and self.number is None


# Full-width digits and punctuation, and the many spaces Excel and WPS users paste.
_WIDE = {0xFF10 + i: str(i) for i in range(10)}
_WIDE.update({0xFF0E: ".", 0xFF0D: "-", 0x2212: "-", 0xFF0B: "+", 0xFF0C: ",", 0xFF05: "%", 0xFE6A: "%"})
_SPACES = "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u200b\u202f\u205f\u3000\ufeff"
_WIDE.update({ord(ch): " " for ch in _SPACES})
_TEXT_SPACE = re.compile(r"\s+")


def clean_text(text: str) -> str:
    """Full-width digits/punctuation to ASCII, every kind of space removed at the ends and
    collapsed inside. Used for labels and choices as well as numbers."""
    return _TEXT_SPACE.sub(" ", text.translate(_WIDE)).strip()


_NUMBER = re.compile(
    r"(?P<sign>[-+]?)(?P<digits>[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?P<rest>.*)", re.S)
_APPROXIMATE = ("约", "大约", "大概", "近", "超", "超过", "多", "余", "左右", "以上", "以下", "上下", "+", "~", "～", "≈")
_NOTHING = {"-", "--", "—", "——", "/", "\\", "无", "暂无", "没有", "空", "na", "n/a", "null", "none", "x", "×"}
_MAGNITUDES = {"十": 10, "百": 100, "千": 1000, "万": 10_000, "十万": 100_000, "百万": 1_000_000,
               "千万": 10_000_000, "亿": 100_000_000}
_COUNT_KINDS = ("count",)


def parse_number(value: Any, indicator_kind: str, unit: str) -> Parsed:
    """Read a cell value as a number of the given kind (count, money, number, ratio) and unit.

    Accepts numbers, and text that is one number beyond doubt. Refuses with a reason code and
    a Chinese reason: error values, booleans, dates, estimates, other units, placeholders such
    as `无` or `/`, fractions in a count, negative numbers. Never raises."""
    if value is None:
        return Parsed(None)
    if isinstance(value, CellError):
        return _refuse(IssueCode.ERROR_VALUE, f"单元格显示错误值 {value.text}，请改为填写数字（公式请改为数值）")
    if isinstance(value, bool):
        return _refuse(IssueCode.NOT_A_NUMBER, "填的是 TRUE/FALSE，请填写数字")
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return _refuse(IssueCode.NOT_A_NUMBER, "填的是日期，本项应填写数字（请将单元格格式改为“常规”后重新输入）")
    if isinstance(value, (int, float)):
        return _checked(float(value), indicator_kind, unit, normalised=False)
    if isinstance(value, str):
        return _parse_text(value, indicator_kind, unit)
    return _refuse(IssueCode.NOT_A_NUMBER, "无法识别的内容，请填写数字")


def _refuse(code: IssueCode, reason: str) -> Parsed:
    return Parsed(None, False, code, reason)


def _parse_text(text: str, kind: str, unit: str) -> Parsed:
    cleaned = clean_text(text)
    if not cleaned:
        return Parsed(None)
    if cleaned.lower() in _NOTHING:
        return _refuse(IssueCode.NOT_A_NUMBER, "不是数字；如果没有，请填 0")
    if any(word in cleaned for word in _APPROXIMATE if not word.isascii()) or cleaned.endswith(("+", "~")):
        return _refuse(IssueCode.APPROXIMATE, "请填写确切的数字，不要写“约”“左右”“多”等估计的说法")
    if any(word in cleaned for word in ("附件", "见", "详")):
        return _refuse(IssueCode.NOT_A_NUMBER, "请直接填写数字，附件或其他表中的数据无法汇总")
    match = _NUMBER.fullmatch(cleaned)
    if not match:
        return _refuse(IssueCode.NOT_A_NUMBER, "不是数字，请只填写数字（说明文字请写在“填报说明”栏）")
    try:
        number = Decimal(match["digits"].replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimal digits
        return _refuse(IssueCode.NOT_A_NUMBER, "不是数字，请只填写数字")
    if match["sign"] == "-":
        number = -number
    rest = match["rest"].strip()
    scaled = _apply_unit(number, rest, kind, unit)
    if isinstance(scaled, Parsed):
        return scaled
    # a number stored as text is itself a normalisation (the cell should have held a number)
    return _checked(float(scaled), kind, unit, normalised=True)


def _apply_unit(number: Decimal, rest: str, kind: str, unit: str) -> Decimal | Parsed:
    """The number once a trailing unit word is taken into account, or the refusal."""
    if rest == "":
        if unit == "%" and number > 1:
            return _refuse(IssueCode.WRONG_UNIT, f"本项为百分比，请填写如 {_plain(number)}% 的形式（或填小数 {_plain(number / 100)}）")
        return number
    if rest == unit or (unit == "万元" and rest == "万"):
        return number / 100 if unit == "%" else number
    if rest == "元" and unit == "万元":
        return _refuse(IssueCode.WRONG_UNIT, f"本项单位是万元，请换算成万元后只填数字（{_plain(number)}元 = {_plain(number / 10000)}万元）")
    magnitude = _magnitude(rest, unit)
    if magnitude is not None:
        if kind in _COUNT_KINDS or unit not in ("万元",):
            return _refuse(IssueCode.WRONG_UNIT, f"请填写具体数字，不要用“{rest}”等单位（{_plain(number)}{rest} 应填 {_plain(number * magnitude)}）")
        in_wan = number * magnitude / 10000
        return _refuse(IssueCode.WRONG_UNIT, f"本项单位是万元，请换算成万元后只填数字（{_plain(number)}{rest} = {_plain(in_wan)}万元）")
    if rest in ("%",):
        return _refuse(IssueCode.WRONG_UNIT, f"本项单位是{unit or '数值'}，不是百分比，请只填写数字")
    if unit and rest.strip("个家人场次篇条元") == "" and len(rest) <= 2:
        return _refuse(IssueCode.WRONG_UNIT, f"本项单位是{unit}，不是“{rest}”，请只填写数字")
    return _refuse(IssueCode.NOT_A_NUMBER, "不是数字，请只填写数字（说明文字请写在“填报说明”栏）")


def _magnitude(rest: str, unit: str) -> Optional[int]:
    """10000 for `万`/`万元`/`万个`…, 10**8 for `亿`/`亿元`… (a magnitude word, possibly with a unit)."""
    for word in sorted(_MAGNITUDES, key=len, reverse=True):
        if rest.startswith(word) and (rest[len(word):] in ("", "元", unit) or len(rest) - len(word) <= 1):
            return _MAGNITUDES[word]
    return None


def _checked(number: float, kind: str, unit: str, normalised: bool) -> Parsed:
    """Range checks common to typed numbers and text: finite, not negative, whole for counts."""
    if not math.isfinite(number):
        return _refuse(IssueCode.NOT_A_NUMBER, "不是有效的数字，请填写数字")
    if number < 0:
        return _refuse(IssueCode.NEGATIVE, "不能为负数；本项是累计数，请填写 0 或正数")
    if kind in _COUNT_KINDS:
        nearest = round(number)
        if abs(number - nearest) > 1e-9 * max(1.0, abs(number)):
            return _refuse(IssueCode.NOT_AN_INTEGER, f"数量应为整数（单位：{unit or '个'}），请核对")
        number = float(nearest)
    return Parsed(number + 0.0, normalised)


def _plain(number: Decimal | float) -> str:
    """A number without exponent or trailing zeros: 0.00355, 12000."""
    text = format(Decimal(str(number)) if isinstance(number, float) else number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def fmt_number(value: float, places: int = 4) -> str:
    """A figure as messages show it: `15`, `35.5`, `0.0035` (no exponent, no trailing zeros)."""
    if abs(value - round(value)) < 1e-9:
        return str(int(round(value)))
    return f"{value:.{places}f}".rstrip("0").rstrip(".")


# ---- dates ----------------------------------------------------------------------------------

_DATE_FULL = re.compile(r"([0-9]{4})\s*[.\-/年]\s*([0-9]{1,2})\s*[.\-/月]\s*([0-9]{1,2})\s*日?")
_DATE_COMPACT = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
_DATE_MONTH_DAY = re.compile(r"([0-9]{1,2})\s*月\s*([0-9]{1,2})\s*日?")
_SERIAL_RANGE = (36526, 54789)   # Excel serials of 2000-01-01 .. 2049-12-31


def parse_date(value: Any, default_year: int) -> Optional[dt.date]:
    """A real date, an Excel serial number shown unformatted, or text such as `2020.9.15`,
    `2020-9-15`, `2020年9月15日`, `20200915`, `9月15日` (the campaign's year)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if float(value).is_integer() and _SERIAL_RANGE[0] <= value <= _SERIAL_RANGE[1]:
            return dt.date(1899, 12, 30) + dt.timedelta(days=int(value))
        return None
    if not isinstance(value, str):
        return None
    text = unicodedata.normalize("NFKC", value).strip()
    for pattern, parts in ((_DATE_FULL, (1, 2, 3)), (_DATE_COMPACT, (1, 2, 3)), (_DATE_MONTH_DAY, (None, 1, 2))):
        match = pattern.fullmatch(text)
        if match:
            year = int(match.group(parts[0])) if parts[0] else default_year
            try:
                return dt.date(year, int(match.group(parts[1])), int(match.group(parts[2])))
            except ValueError:
                return None
    return None
