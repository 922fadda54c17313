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

import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence

from ..config import Config, DetailColumn, DetailList, Unit
from ..contract import NARRATIVE_MAX_CHARS, Header
from ..issues import HasIssues, Issue, IssueCode, Severity
from .figures import check_figures
from .normalize import fmt_number, parse_date, parse_number
from .read import CellValue, DetailSheet, ReadReturn, cell_text, label_of, shown_value

__all__ = ["CheckedReturn", "validate_return", "narrative_text"]

ERROR, WARNING = Severity.ERROR, Severity.WARNING


@dataclass
class CheckedReturn(HasIssues):
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
    narrative: list[tuple[str, str, str]] = field(default_factory=list)   # (kind, text, cell) of each filled field

    @property
    def unit_code(self) -> str:
        return self.unit.code



# ---- checking -------------------------------------------------------------------------------

@dataclass
class _Context:
    read: ReadReturn
    config: Config
    period: int

    def issue(self, code: IssueCode, severity: Severity, cell: Optional[CellValue] = None,
              indicator: Optional[str] = None, value: Any = None, **slots: Any) -> Issue:
        """An issue of this return, at `cell` (its typed value is the issue's value by default)."""
        return Issue.of(code, severity, file=self.read.file,
                        sheet=cell.sheet if cell else None, row=cell.row if cell else None,
                        column=cell.column if cell else None, indicator=indicator,
                        value=shown_value(cell.value) if cell is not None and value is None else value,
                        unit=self.read.unit.code, **slots)


def validate_return(read: ReadReturn, config: Config, period: int,
                    previous: Mapping[str, float | str | None] | None = None,
                    peers: Mapping[str, Sequence[float]] | None = None) -> CheckedReturn:
    """Every check of a return in one pass.

    `period` is the period being taken in; `previous` the unit's last accepted values
    (indicator id -> value) for the history checks; `peers` the same indicator's values of
    counties (indicator id -> values) for the outlier check, applied to county returns only."""
    ctx = _Context(read, config, period)
    figures = check_figures(config, read.unit, read.values, file=read.file, previous=previous, peers=peers)
    values = figures.values
    details, detail_issues = _check_details(ctx)
    checks: list[Iterable[Issue]] = [
        read.issues,
        _check_file(ctx),
        _check_period(ctx),
        _check_header(ctx),
        _check_narrative(ctx),
        figures.issues,
        detail_issues,
        _check_detail_totals(ctx, values),
    ]
    issues = [issue for check in checks for issue in check]
    return CheckedReturn(
        unit=read.unit, period=period, accepted=not any(i.blocking for i in issues),
        values=values, cells={k: v.cell for k, v in read.values.items()}, details=details, issues=issues,
        template_version=read.template_version, header={k: cell_text(v.value) for k, v in read.header.items()},
        file=read.file, narrative=[(n.kind.value, narrative_text(n.cell.value), n.cell.cell) for n in read.narrative
                                   if narrative_text(n.cell.value)])


def _check_file(ctx: _Context) -> Iterator[Issue]:
    read = ctx.read
    if read.has_macros:
        yield ctx.issue(IssueCode.MACROS_IGNORED, WARNING)
    # Only cells we read as data matter: the form's own hint formulas (校验提示) carry no
    # figures, and a file filled by a program other than Excel has none of their results.
    for cell in _data_cells(read):
        if (cell.sheet, cell.row, cell.column) in read.uncached:
            yield ctx.issue(IssueCode.NO_CACHED_VALUES, WARNING, cell=cell)


def _data_cells(read: ReadReturn) -> Iterator[CellValue]:
    """Every cell read as data: header values, indicator inputs, narrative fields, detail rows."""
    yield from read.header.values()
    yield from read.values.values()
    yield from (n.cell for n in read.narrative)
    for detail in read.details.values():
        for row in detail.rows:
            yield from row.values()


def _check_period(ctx: _Context) -> Iterator[Issue]:
    stated = ctx.read.period
    if stated is not None and stated != ctx.period:
        cell = ctx.read.header.get(Header.PERIOD)
        yield ctx.issue(IssueCode.WRONG_PERIOD, ERROR, cell=cell, stated=stated, period=ctx.period)


def _check_header(ctx: _Context) -> Iterator[Issue]:
    for label in (Header.FILLED_BY, Header.PHONE):
        cell = ctx.read.header.get(label)
        if cell is None or cell.blank:
            where = f"（{cell.cell}）" if cell else ""
            yield ctx.issue(IssueCode.MISSING_HEADER, WARNING, cell=cell, label=label, where=where)
    phone = ctx.read.header.get(Header.PHONE)
    if phone is not None and not phone.blank and not _phone_ok(phone.value):
        yield ctx.issue(IssueCode.BAD_PHONE, WARNING, cell=phone, text=cell_text(phone.value))


def narrative_text(value: Any) -> str:
    """A narrative cell as archived: text with its line breaks, outer space and control
    characters gone (a number or a date typed there becomes its text). Never a formula: it is
    only ever written as a string."""
    if value is None or isinstance(value, bool):
        return ""
    text = value if isinstance(value, str) else cell_text(value)
    text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]", "", text.replace("\r\n", "\n").replace("\r", "\n"))
    return "\n".join(line.strip() for line in text.strip().split("\n") if line.strip())


def _check_narrative(ctx: _Context) -> Iterator[Issue]:
    for field_ in ctx.read.narrative:
        length = len(narrative_text(field_.cell.value))
        if length > NARRATIVE_MAX_CHARS:
            yield ctx.issue(IssueCode.LONG_NARRATIVE, WARNING, cell=field_.cell, value=f"{length}字",
                            label=field_.label, length=length, limit=NARRATIVE_MAX_CHARS)


_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_LANDLINE = re.compile(r"0[1-9][0-9]{1,2}-?[1-9][0-9]{6,7}(?:-[0-9]{1,6})?")


def _phone_ok(value: Any) -> bool:
    """Every number in the cell is a mobile (11 digits from 1) or a landline with area code."""
    text = unicodedata.normalize("NFKC", cell_text(value))
    text = re.sub(r"\((0[0-9]{2,3})\)", r"\1-", text).replace(" ", "").replace("—", "-")
    parts = [p for p in re.split(r"[/、,;]+", text) if p]
    parts = [re.sub(r"^(\+?86-?)", "", p) for p in parts]
    return bool(parts) and all(_MOBILE.fullmatch(p) or _LANDLINE.fullmatch(p) for p in parts)


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
            return None, ctx.issue(IssueCode.DETAIL_REQUIRED, ERROR, cell=cell, indicator=indicator, where=where)
        return None, None
    if column.kind == "choice":
        return _choice_value(ctx, column, cell, where, severity, indicator)
    if column.kind == "date":
        return _date_value(ctx, cell, where, severity, indicator)
    if column.kind in ("money", "count", "number"):
        unit = _unit_in_name(column.name) or ("万元" if column.kind == "money" else "")
        result = parse_number(cell.value, column.kind, unit)
        if not result.ok:
            return None, ctx.issue(result.code, severity, cell=cell, indicator=indicator,
                                   name=f"{detail.name}第{cell.row}行{column.name}", text=cell_text(cell.value),
                                   reason=result.reason)
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
    return text, ctx.issue(IssueCode.DETAIL_BAD_CHOICE, severity, cell=cell, indicator=indicator, where=where,
                           text=text, hint=hint, choices="、".join(column.choices))


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
    day = parse_date(cell.value, campaign.start.year)
    if day is None:
        return cell_text(cell.value), ctx.issue(IssueCode.DETAIL_BAD_DATE, severity, cell=cell, indicator=indicator,
                                                where=where, text=cell_text(cell.value))
    if not campaign.start <= day <= campaign.end:
        return day.isoformat(), ctx.issue(IssueCode.DATE_OUTSIDE_CAMPAIGN, WARNING, cell=cell, indicator=indicator,
                                          where=where, day=day.isoformat(), start=campaign.start.isoformat(),
                                          end=campaign.end.isoformat())
    return day.isoformat(), None


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
                yield ctx.issue(IssueCode.DETAIL_TOTAL_MISMATCH, total.severity, cell=ctx.read.values[total.equals],
                                indicator=total.equals, sheet_name=detail.name, what=what, counted=counted,
                                name=ctx.config.indicator(total.equals).name, figure=fmt_number(figure))


def _count_rows(found: DetailSheet, detail: DetailList, total) -> tuple[int, str]:
    if total.count_all or not total.count_where:
        return len(found.rows), "共填写了"
    names = {c.id: c.name for c in detail.columns}
    wanted = {col: label_of(v) for col, v in total.count_where.items()}
    counted = sum(1 for row in found.rows
                  if all(col in row and label_of(cell_text(row[col].value)) == v for col, v in wanted.items()))
    what = "中" + "、".join(f"{names.get(col, col)}为“{v}”" for col, v in total.count_where.items()) + "的有"
    return counted, what
