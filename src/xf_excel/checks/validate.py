"""A return read by label -> normalised values + every issue, in one pass.

`validate_return(read, config, period, previous, peers)` runs every check, each a small
generator of `Issue`s, and returns all findings of one pass with the normalised values::

    >>> read = read_return(raw, config)          # xf_excel.read
    >>> checked = validate_return(read, config, period=2)
    >>> [(i.cell, i.code.value, i.severity.value) for i in checked.issues]
    [('填报!E12', 'rule-failed', '错误')]

Severity policy: 错误 for what makes a figure unusable or its owner uncertain (blank required
cells, values that are not one number beyond doubt, broken rules, cumulative figures that
went down, another unit's or period's form, unusable required detail cells); 警告 for what
is merely doubtful (jumps, peer outliers, detail totals, phone numbers, optional detail
cells). Harmless normalisation (`１２`, `1,200`, `12个`) is accepted silently: the figure is
certain, and a warning for it would only teach clerks to ignore warnings.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import statistics
import unicodedata
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence

from ..config import expr
from ..config import Config, DetailColumn, DetailList, Indicator, Rule, Unit
from ..issues import Issue, IssueCode, Severity
from .normalize import Parsed, fmt_number, parse_number
from .read import ERROR, WARNING, CellValue, DetailSheet, ReadReturn, cell_text, label_of, read_return, shown_value

__all__ = ["CheckedReturn", "validate_return", "evaluate_rule", "read_return", "ReadReturn", "CellValue"]

@dataclass
class CheckedReturn:
    """The outcome of checking one return: what gets archived, and what the unit is told."""

    unit: Unit
    period: int
    accepted: bool                          # no 错误
    values: dict[str, float | str | None]   # indicator id -> normalised value (None: blank or refused)
    cells: dict[str, str]                   # indicator id -> "填报!E12"
    details: dict[str, list[dict[str, Any]]]  # list id -> rows of column id -> JSON-safe value
    issues: list[Issue]
    template_version: str
    header: dict[str, str]                  # header label -> text (填报人, 联系电话, …)
    file: str = ""

    @property
    def unit_code(self) -> str:
        return self.unit.code

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity is ERROR]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity is WARNING]



# ---- checking -------------------------------------------------------------------------------

@dataclass
class _Context:
    read: ReadReturn
    config: Config
    period: int

    def issue(self, code: IssueCode, severity: Severity, message: str, cell: Optional[CellValue] = None,
              indicator: Optional[str] = None, value: Any = None) -> Issue:
        return Issue(code, severity, message, file=self.read.file,
                     sheet=cell.sheet if cell else None, row=cell.row if cell else None,
                     column=cell.column if cell else None, indicator=indicator,
                     value=shown_value(cell.value) if cell is not None and value is None else value,
                     unit=self.read.unit.code)


def validate_return(read: ReadReturn, config: Config, period: int,
                    previous: Mapping[str, float | str | None] | None = None,
                    peers: Mapping[str, Sequence[float]] | None = None) -> CheckedReturn:
    """Every check of a return in one pass.

    `period` is the period being taken in; `previous` the unit's last accepted values
    (indicator id -> value) for the history checks; `peers` the same indicator's values of
    counties (indicator id -> values) for the outlier check, applied to county returns only."""
    ctx = _Context(read, config, period)
    indicators = [i for i in config.indicators_for(read.unit) if i.id in read.values]
    parsed = {i.id: _parse_cell(i, read.values[i.id]) for i in indicators}
    values: dict[str, float | str | None] = {i.id: None for i in config.indicators_for(read.unit)}
    values.update({i.id: parsed[i.id][0] for i in indicators})
    details, detail_issues = _check_details(ctx)
    checks: list[Iterable[Issue]] = [
        read.issues,
        _check_file(ctx),
        _check_period(ctx),
        _check_header(ctx),
        _check_cells(ctx, indicators, parsed),
        _check_ranges(ctx, indicators, values),
        _check_rules(ctx, values),
        _check_history(ctx, indicators, values, previous or {}),
        _check_peers(ctx, indicators, values, peers or {}),
        detail_issues,
        _check_detail_totals(ctx, values),
    ]
    issues = [issue for check in checks for issue in check]
    return CheckedReturn(
        unit=read.unit, period=period, accepted=not any(i.blocking for i in issues),
        values=values, cells={k: v.cell for k, v in read.values.items()}, details=details, issues=issues,
        template_version=read.template_version, header={k: cell_text(v.value) for k, v in read.header.items()},
        file=read.file)


def _parse_cell(indicator: Indicator, cell: CellValue) -> tuple[float | str | None, Optional[Parsed]]:
    """(normalised value, the parse result for numeric indicators)."""
    if indicator.kind == "text":
        return (cell_text(cell.value) or None), None
    if indicator.kind == "date":
        day = _parse_date(cell.value, 2000)
        return (day.isoformat() if day else None), None
    result = parse_number(cell.value, indicator.kind, indicator.unit)
    return result.number, result


def _check_file(ctx: _Context) -> Iterator[Issue]:
    read = ctx.read
    if read.has_macros:
        yield ctx.issue(IssueCode.MACROS_IGNORED, WARNING, f"文件 {read.file} 含有宏；宏没有运行，也不会被保存或转发，"
                        "请今后使用下发的 .xlsx 填报表")
    # Only cells we read as data matter: the form's own hint formulas (校验提示) carry no
    # figures, and a file filled by a program other than Excel has none of their results.
    for cell in _data_cells(read):
        if (cell.sheet, cell.row, cell.column) in read.uncached:
            yield ctx.issue(IssueCode.NO_CACHED_VALUES, WARNING,
                            f"{cell.cell} 是公式，但文件中没有它的计算结果（文件不是由 Excel/WPS 保存的），按空白读取；"
                            "请在 Excel 中打开并保存后重新发送，或直接填写数值", cell=cell)


def _data_cells(read: ReadReturn) -> Iterator[CellValue]:
    """Every cell read as data: header values, indicator inputs, detail rows."""
    yield from read.header.values()
    yield from read.values.values()
    for detail in read.details.values():
        for row in detail.rows:
            yield from row.values()


def _check_period(ctx: _Context) -> Iterator[Issue]:
    stated = ctx.read.period
    if stated is not None and stated != ctx.period:
        cell = ctx.read.header.get("报送期次")
        yield ctx.issue(IssueCode.WRONG_PERIOD, ERROR,
                        f"表中报送期次为第{stated}期，本次收取的是第{ctx.period}期报表；请使用第{ctx.period}期下发的表格填报"
                        f"（或将{cell.cell if cell else '报送期次'}改为{ctx.period}）", cell=cell)


def _check_header(ctx: _Context) -> Iterator[Issue]:
    for label in ("填报人", "联系电话"):
        cell = ctx.read.header.get(label)
        if cell is None or cell.blank:
            where = f"（{cell.cell}）" if cell else ""
            yield ctx.issue(IssueCode.MISSING_HEADER, WARNING, f"未填写{label}{where}；请填写，以便核实数据时联系", cell=cell)
    phone = ctx.read.header.get("联系电话")
    if phone is not None and not phone.blank and not _phone_ok(phone.value):
        yield ctx.issue(IssueCode.BAD_PHONE, WARNING,
                        f"联系电话（{phone.cell}）“{cell_text(phone.value)}”格式不对：手机为1开头的11位数字，座机请带区号"
                        "（如 0771-1234567）；单元格为数字格式时区号的 0 会丢失，请设为文本", cell=phone)


_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_LANDLINE = re.compile(r"0[1-9][0-9]{1,2}-?[1-9][0-9]{6,7}(?:-[0-9]{1,6})?")


def _phone_ok(value: Any) -> bool:
    """Every number in the cell is a mobile (11 digits from 1) or a landline with area code."""
    text = unicodedata.normalize("NFKC", cell_text(value))
    text = re.sub(r"\((0[0-9]{2,3})\)", r"\1-", text).replace(" ", "").replace("—", "-")
    parts = [p for p in re.split(r"[/、,;]+", text) if p]
    parts = [re.sub(r"^(\+?86-?)", "", p) for p in parts]
    return bool(parts) and all(_MOBILE.fullmatch(p) or _LANDLINE.fullmatch(p) for p in parts)


def _check_cells(ctx: _Context, indicators: list[Indicator], parsed: dict) -> Iterator[Issue]:
    for indicator in indicators:
        cell = ctx.read.values[indicator.id]
        value, result = parsed[indicator.id]
        if result is not None and not result.ok:
            yield ctx.issue(result.code, ERROR, f"「{indicator.name}」（{cell.cell}）填写的“{cell_text(cell.value)}”：{result.reason}",
                            cell=cell, indicator=indicator.id)
        elif value is None and indicator.required:
            yield ctx.issue(IssueCode.REQUIRED, ERROR, f"「{indicator.name}」（{cell.cell}）为必填项，未填写；如果没有，请填 0",
                            cell=cell, indicator=indicator.id)


def _check_ranges(ctx: _Context, indicators: list[Indicator], values: dict) -> Iterator[Issue]:
    for indicator in indicators:
        value = values[indicator.id]
        if not isinstance(value, float):
            continue
        cell = ctx.read.values[indicator.id]
        if indicator.min is not None and value < indicator.min:
            yield ctx.issue(IssueCode.OUT_OF_RANGE, ERROR, f"「{indicator.name}」（{cell.cell}）为 {fmt_number(value)}，"
                            f"不应小于 {fmt_number(indicator.min)}，请核对", cell=cell, indicator=indicator.id)
        if indicator.max is not None and value > indicator.max:
            yield ctx.issue(IssueCode.OUT_OF_RANGE, ERROR, f"「{indicator.name}」（{cell.cell}）为 {fmt_number(value)}，"
                            f"不应大于 {fmt_number(indicator.max)}，请核对", cell=cell, indicator=indicator.id)


_VIOLATED = {"<=": "大于", "<": "大于或等于", ">=": "小于", ">": "小于或等于", "=": "不等于", "<>": "等于"}


def _check_rules(ctx: _Context, values: dict) -> Iterator[Issue]:
    numbers = {k: v for k, v in values.items() if isinstance(v, float)}
    for rule in ctx.config.rules_for(ctx.read.unit):
        if evaluate_rule(rule, numbers) is not False:
            continue  # holds, or cannot be judged while a figure is blank
        first = expr.names(rule.expr)[0]
        cell = ctx.read.values.get(first)
        yield ctx.issue(IssueCode.RULE_FAILED, rule.severity, _rule_message(ctx, rule, numbers), cell=cell,
                        indicator=first, value=numbers.get(first))


def evaluate_rule(rule: Rule, numbers: Mapping[str, float]) -> Optional[bool]:
    """True/False, or None when a figure the rule needs is blank."""
    result = expr.evaluate(rule.expr, numbers)
    return None if result is None else bool(result)


def _rule_message(ctx: _Context, rule: Rule, numbers: Mapping[str, float]) -> str:
    node = rule.expr
    if rule.message:
        left = expr.evaluate(node.left, numbers) if isinstance(node, expr.Binary) else None
        return rule.message.replace("{value}", fmt_number(left, 2) if isinstance(left, (int, float)) else "")
    if isinstance(node, expr.Binary) and node.op in _VIOLATED and isinstance(node.left, expr.Name) \
            and isinstance(node.right, expr.Name):
        left, right = node.left.id, node.right.id
        return f"{_figure(ctx, left, numbers)} {_VIOLATED[node.op]}{_figure(ctx, right, numbers)}，请核对"
    figures = "，".join(_figure(ctx, name, numbers) for name in expr.names(node))
    return f"不符合校验规则“{_chinese(ctx.config, node)}”（{figures}），请核对"


def _figure(ctx: _Context, indicator_id: str, numbers: Mapping[str, float]) -> str:
    """「运营专柜数」（填报!E12）15."""
    cell = ctx.read.values.get(indicator_id)
    where = f"（{cell.cell}）" if cell else ""
    return f"「{ctx.config.indicator(indicator_id).name}」{where}{fmt_number(numbers[indicator_id])}"


def _chinese(config: Config, node: expr.Expr) -> str:
    """The rule with indicator names in place of ids, for messages."""
    return expr.to_excel(node, lambda ident: config.indicator(ident).name)


def _check_history(ctx: _Context, indicators: list[Indicator], values: dict,
                   previous: Mapping[str, Any]) -> Iterator[Issue]:
    plaus = ctx.config.plausibility
    since = f"{ctx.config.campaign.start.month}月{ctx.config.campaign.start.day}日"
    for indicator in indicators:
        value, before = values[indicator.id], previous.get(indicator.id)
        if not isinstance(value, float) or not isinstance(before, (int, float)) or isinstance(before, bool):
            continue
        cell = ctx.read.values[indicator.id]
        if value < before - 1e-9:
            yield ctx.issue(IssueCode.BELOW_PREVIOUS, ERROR,
                            f"「{indicator.name}」（{cell.cell}）为 {fmt_number(value)}，累计数不应小于上期的 {fmt_number(before)}；"
                            f"本栏填{since}以来的累计数，请核对", cell=cell, indicator=indicator.id)
        elif before > 0 and value > plaus.max_period_growth * before and value - before >= plaus.min_jump:
            yield ctx.issue(IssueCode.IMPLAUSIBLE_JUMP, WARNING,
                            f"「{indicator.name}」（{cell.cell}）由上期的 {fmt_number(before)} 增至 {fmt_number(value)}，"
                            f"增长超过 {fmt_number(plaus.max_period_growth)} 倍；请核对是否多填了位数或单位有误",
                            cell=cell, indicator=indicator.id)


_MIN_PEERS = 3


def _check_peers(ctx: _Context, indicators: list[Indicator], values: dict,
                 peers: Mapping[str, Sequence[float]]) -> Iterator[Issue]:
    plaus = ctx.config.plausibility
    if ctx.read.unit.kind != "county":
        return  # peers are counties; a member unit's region-wide figure is not one of them
    for indicator in indicators:
        value = values[indicator.id]
        others = [float(v) for v in peers.get(indicator.id, ()) if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if not isinstance(value, float) or len(others) < _MIN_PEERS:
            continue
        median = statistics.median(others)
        if median > 0 and value > plaus.peer_factor * median and value - median >= plaus.min_jump:
            cell = ctx.read.values[indicator.id]
            yield ctx.issue(IssueCode.PEER_OUTLIER, WARNING,
                            f"「{indicator.name}」（{cell.cell}）为 {fmt_number(value)}，是同类单位中位数 {fmt_number(median)} 的 "
                            f"{fmt_number(value / median, 1)} 倍；请核对单位（{indicator.unit}）和位数是否正确",
                            cell=cell, indicator=indicator.id)


# ---- detail rows ----------------------------------------------------------------------------

def _check_details(ctx: _Context) -> tuple[dict[str, list[dict[str, Any]]], list[Issue]]:
    """Normalised detail rows (JSON-safe) and the issues found in their cells."""
    details: dict[str, list[dict[str, Any]]] = {}
    issues: list[Issue] = []
    for detail in ctx.config.details_for(ctx.read.unit):
        found = ctx.read.details.get(detail.id)
        if found is None:
            continue
        rows = []
        for cells in found.rows:
            row: dict[str, Any] = {}
            for column in detail.columns:
                cell = cells.get(column.id)
                value, problem = _detail_value(ctx, detail, column, cell)
                row[column.id] = value
                if problem:
                    issues.append(problem)
            rows.append(row)
        details[detail.id] = rows
    return details, issues


def _detail_value(ctx: _Context, detail: DetailList, column: DetailColumn,
                  cell: Optional[CellValue]) -> tuple[Any, Optional[Issue]]:
    """(JSON-safe value, issue or None) for one detail cell. A required cell that is blank or
    unusable is an error; an unusable optional cell a warning."""
    if cell is None:
        return None, None
    where = f"“{detail.name}”第{cell.row}行“{column.name}”（{cell.cell}）"
    severity = ERROR if column.required else WARNING
    indicator = f"{detail.id}.{column.id}"
    if cell.blank:
        if column.required:
            return None, ctx.issue(IssueCode.DETAIL_REQUIRED, ERROR, f"{where}为必填项，未填写", cell=cell, indicator=indicator)
        return None, None
    if column.kind == "choice":
        return _choice_value(ctx, column, cell, where, severity, indicator)
    if column.kind == "date":
        return _date_value(ctx, cell, where, severity, indicator)
    if column.kind in ("money", "count", "number"):
        unit = _unit_in_name(column.name) or ("万元" if column.kind == "money" else "")
        result = parse_number(cell.value, column.kind, unit)
        if not result.ok:
            return None, ctx.issue(result.code, severity, f"{where}填写的“{cell_text(cell.value)}”：{result.reason}",
                                   cell=cell, indicator=indicator)
        return result.number, None
    return cell_text(cell.value), None


def _unit_in_name(name: str) -> str:
    match = re.search(r"[（(]([^（）()]+)[）)]\s*$", name)
    return match.group(1) if match else ""


def _choice_value(ctx: _Context, column: DetailColumn, cell: CellValue, where: str, severity: Severity,
                  indicator: str) -> tuple[Any, Optional[Issue]]:
    text = cell_text(cell.value)
    by_label = {label_of(c): c for c in column.choices}
    if label_of(text) in by_label:
        return by_label[label_of(text)], None
    suggestion = _closest(text, column.choices)
    hint = f"是否应为“{suggestion}”？" if suggestion else ""
    return text, ctx.issue(IssueCode.DETAIL_BAD_CHOICE, severity,
                           f"{where}“{text}”不是可选项；{hint}可选：{'、'.join(column.choices)}", cell=cell, indicator=indicator)


def _closest(text: str, choices: Sequence[str]) -> Optional[str]:
    """The allowed value the clerk most likely meant: one contained in the text (or containing
    it), else the closest by spelling."""
    label = label_of(text)
    contained = [c for c in choices if label_of(c) and (label_of(c) in label or label in label_of(c))]
    if contained:
        return max(contained, key=lambda c: len(c))
    close = difflib.get_close_matches(label, [label_of(c) for c in choices], n=1, cutoff=0.4)
    return next((c for c in choices if label_of(c) == close[0]), None) if close else None


def _date_value(ctx: _Context, cell: CellValue, where: str, severity: Severity,
                indicator: str) -> tuple[Any, Optional[Issue]]:
    campaign = ctx.config.campaign
    day = _parse_date(cell.value, campaign.start.year)
    if day is None:
        return cell_text(cell.value), ctx.issue(IssueCode.DETAIL_BAD_DATE, severity,
                                            f"{where}“{cell_text(cell.value)}”不是日期；请按“2020-09-15”的格式填写",
                                            cell=cell, indicator=indicator)
    if not campaign.start <= day <= campaign.end:
        return day.isoformat(), ctx.issue(IssueCode.DATE_OUTSIDE_CAMPAIGN, WARNING,
                                          f"{where}为 {day.isoformat()}，不在活动期间（{campaign.start.isoformat()}至"
                                          f"{campaign.end.isoformat()}）内，请核对", cell=cell, indicator=indicator)
    return day.isoformat(), None


_DATE_FULL = re.compile(r"([0-9]{4})\s*[.\-/年]\s*([0-9]{1,2})\s*[.\-/月]\s*([0-9]{1,2})\s*日?")
_DATE_COMPACT = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
_DATE_MONTH_DAY = re.compile(r"([0-9]{1,2})\s*月\s*([0-9]{1,2})\s*日?")
_SERIAL_RANGE = (36526, 54789)   # Excel serials of 2000-01-01 .. 2049-12-31


def _parse_date(value: Any, default_year: int) -> Optional[dt.date]:
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


def _check_detail_totals(ctx: _Context, values: dict) -> Iterator[Issue]:
    for detail in ctx.config.details_for(ctx.read.unit):
        found = ctx.read.details.get(detail.id)
        if found is None:
            continue  # reported once as a missing sheet
        for total in detail.totals:
            figure = values.get(total.equals)
            if not isinstance(figure, float):
                continue
            counted, what = _count_rows(found, detail, total)
            if counted != round(figure):
                cell = ctx.read.values[total.equals]
                name = ctx.config.indicator(total.equals).name
                yield ctx.issue(IssueCode.DETAIL_TOTAL_MISMATCH, total.severity,
                                f"“{detail.name}”{what} {counted} 行，与「{name}」（{cell.cell}）{fmt_number(figure)} 不一致；"
                                "请核对明细或该项数字", cell=cell, indicator=total.equals)


def _count_rows(found: DetailSheet, detail: DetailList, total) -> tuple[int, str]:
    if total.count_all or not total.count_where:
        return len(found.rows), "共填写了"
    names = {c.id: c.name for c in detail.columns}
    wanted = {col: label_of(v) for col, v in total.count_where.items()}
    counted = sum(1 for row in found.rows
                  if all(col in row and label_of(cell_text(row[col].value)) == v for col, v in wanted.items()))
    what = "中" + "、".join(f"{names.get(col, col)}为“{v}”" for col, v in total.count_where.items()) + "的有"
    return counted, what
