"""Raw return -> values + issues. Reading is by label, never by address.

Two steps, so that each can be tested and reused on its own:

- `read_return(raw, config)` finds the form's structure in a `RawWorkbook` — the data sheet
  (by name, or by its table header if renamed), the header block, the indicator rows by
  name, the detail sheets, the hidden `xf_meta` sheet — and works out which unit sent it.
  Inserted rows and columns, moved blocks, renamed sheets still read. A file that is not a
  return of this campaign, or an old form, gives a list of `Issue`s instead.
- `validate_return(read, config, period, previous, peers)` runs every check, each a small
  generator of `Issue`s, and returns all findings of one pass with the normalised values::

      >>> read = read_return(raw, config)
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
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence

from . import expr
from .config import Config, DetailColumn, DetailList, Indicator, Rule, Unit
from .issues import Issue, IssueCode, Severity, cell_address
from .normalize import Parsed, clean_text, fmt_number, parse_number
from .records import CellError, RawSheet, RawWorkbook

__all__ = [
    "CellValue", "DetailSheet", "ReadReturn", "CheckedReturn", "read_return", "validate_return",
    "HEADER_LABELS", "DATA_SHEET", "META_SHEET",
]

DATA_SHEET = "填报"
META_SHEET = "xf_meta"
NAME_LABEL = "指标名称"
VALUE_LABEL = "截至本期累计"
HEADER_LABELS = ("填报单位", "单位代码", "报送期次", "截至日期", "填报人", "联系电话")
_HEADER_ROWS = 20          # header labels are looked for in this many top rows (or above the table)
_DETAIL_HEADER_ROWS = 10   # a detail sheet's header row is looked for in this many top rows
_TOTAL_WORDS = {"合计", "总计", "小计"}
ERROR, WARNING = Severity.ERROR, Severity.WARNING


# ---- records ------------------------------------------------------------------------------

@dataclass(frozen=True)
class CellValue:
    """A value as received, with where it sits (1-based, as Excel shows it)."""

    value: Any
    sheet: str
    row: int
    column: int

    @property
    def cell(self) -> str:
        """`填报!E12`."""
        return cell_address(self.sheet, self.row, self.column)

    @property
    def blank(self) -> bool:
        return _blank(self.value)


@dataclass
class DetailSheet:
    """One detail list as found: its sheet, header row, columns and non-empty data rows."""

    list_id: str
    sheet: str
    header_row: int
    columns: dict[str, int]                 # column id -> 1-based column
    rows: list[dict[str, CellValue]]        # one per data row: column id -> cell


@dataclass
class ReadReturn:
    """A return whose structure was understood; values are still as received."""

    file: str                               # display name of the received file
    unit: Unit
    data_sheet: str
    period: Optional[int]                   # as stated on the form (header 报送期次, else xf_meta)
    template_version: str
    header: dict[str, CellValue]            # header label -> its value cell
    values: dict[str, CellValue]            # indicator id -> its input cell
    details: dict[str, DetailSheet]         # list id -> rows
    meta: dict[str, Any] = field(default_factory=dict)
    has_macros: bool = False
    uncached: set[tuple[str, int, int]] = field(default_factory=set)  # (sheet, row, column) of formulas without a result
    issues: list[Issue] = field(default_factory=list)   # found while reading (unit, structure)

    @property
    def unit_code(self) -> str:
        return self.unit.code


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


# ---- small helpers ------------------------------------------------------------------------

_QUOTES = str.maketrans({"“": '"', "”": '"', "「": '"', "」": '"', "『": '"', "』": '"', "'": '"', "‘": '"', "’": '"'})


def _label(value: Any) -> str:
    """A label as compared: NFKC (full-width to half-width), no spaces, one kind of quote,
    without a trailing colon or a leading required-marker."""
    if not isinstance(value, str):
        return ""
    text = unicodedata.normalize("NFKC", value).translate(_QUOTES)
    text = re.sub(r"\s+", "", text)
    return text.strip("*★").rstrip(":：")


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and clean_text(value) == "")


def _text(value: Any) -> str:
    """A cell value as text for header fields and messages (1234.0 -> '1234')."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dt.datetime, dt.date)):
        return value.date().isoformat() if isinstance(value, dt.datetime) else value.isoformat()
    return clean_text(str(value))


def _shown(value: Any) -> Any:
    """The received value as an Issue carries it: JSON-safe, as the person typed it."""
    if isinstance(value, (CellError, bool)):
        return str(value)
    if value is None or isinstance(value, (str, int, float)):
        return value
    return _text(value)


def _merge_map(sheet: RawSheet) -> dict[tuple[int, int], tuple[int, int, int, int]]:
    return {(r, c): rng for rng in sheet.merged
            for r in range(rng[0], rng[2] + 1) for c in range(rng[1], rng[3] + 1)}


def _label_at(sheet: RawSheet, merges: Mapping, row: int, column: int) -> str:
    """The label shown at a cell, merged ranges respected (every cell of a merge shows its top-left)."""
    rng = merges.get((row, column))
    if rng:
        row, column = rng[0], rng[1]
    return _label(sheet.value(row, column))


def _width(sheet: RawSheet) -> int:
    return max((len(r) for r in sheet.cells), default=0)


def _find_table_header(sheet: RawSheet) -> Optional[tuple[int, dict[str, int]]]:
    """(row, label -> column) of the first row holding both 指标名称 and 截至本期累计."""
    merges = _merge_map(sheet)
    width = _width(sheet)
    for row in range(1, len(sheet.cells) + 1):
        labels: dict[str, int] = {}
        for column in range(1, width + 1):
            labels.setdefault(_label_at(sheet, merges, row, column), column)
        if NAME_LABEL in labels and VALUE_LABEL in labels:
            return row, labels
    return None


# ---- reading ------------------------------------------------------------------------------

def read_return(raw: RawWorkbook, config: Config) -> ReadReturn | list[Issue]:
    """Understand a received workbook as a return form of this campaign.

    Returns the `ReadReturn`, or the issues that make it unreadable as a return
    (NOT_A_RETURN, WRONG_TEMPLATE, OLD_TEMPLATE, UNKNOWN_UNIT); those carry the unit code
    in `Issue.unit` whenever the unit could still be told."""
    file = raw.file.display or raw.file.name
    meta_sheet = next((s for s in raw.sheets if _label(s.name) == META_SHEET), None)
    meta = _read_meta(meta_sheet)
    found = _find_data_sheet(raw, config, meta, file)
    if isinstance(found, list):
        return found
    sheet, table_row, table_labels = found
    header = _read_header(sheet, table_row)
    unit, unit_issues = _identify_unit(raw, config, header, meta, file)
    unit_code = unit.code if unit else None
    refusal = _template_refusal(config, meta, meta_sheet, header, file, unit_code)
    if refusal:
        return [refusal]
    if unit is None:
        return unit_issues
    values, value_issues = _read_indicators(sheet, table_row, table_labels, config, unit, file)
    if not values and not any(i.code is IssueCode.DUPLICATE_INDICATOR for i in value_issues):
        return [Issue(IssueCode.WRONG_TEMPLATE, ERROR, f"文件 {file} 的“{sheet.name}”表中没有本次活动的任何指标，"
                      "可能是其他活动或其他单位的表格；请使用本次下发的填报表填写", file=file, sheet=sheet.name,
                      unit=unit.code)]
    details, detail_issues = _read_details(raw, config, unit, sheet.name, file)
    issues = unit_issues + _meta_issues(meta_sheet, file, unit.code) + value_issues + detail_issues
    return ReadReturn(
        file=file, unit=unit, data_sheet=sheet.name, period=_stated_period(header, meta),
        template_version=_text(meta.get("template_version")), header=header, values=values, details=details,
        meta=meta, has_macros=raw.has_macros, uncached={(sheet, row, column) for sheet, cells in raw.uncached_formulas.items() for row, column in cells},
        issues=issues)


def _read_meta(sheet: Optional[RawSheet]) -> dict[str, Any]:
    if sheet is None:
        return {}
    return {_label(row[0]): (row[1] if len(row) > 1 else None) for row in sheet.cells if row and _label(row[0])}


def _find_data_sheet(raw: RawWorkbook, config: Config, meta: dict, file: str):
    """(sheet, table header row, labels) or the issues saying why there is none."""
    candidates = []
    for sheet in raw.sheets:
        found = _find_table_header(sheet)
        if found:
            candidates.append((sheet, *found))
    named = [c for c in candidates if _label(c[0].name) == DATA_SHEET]
    if named:
        return named[0]
    if len(candidates) == 1:
        return candidates[0]
    if len(candidates) > 1:
        names = "、".join(f"“{c[0].name}”" for c in candidates)
        return [Issue(IssueCode.WRONG_TEMPLATE, ERROR, f"文件 {file} 中有 {len(candidates)} 个工作表（{names}）都像填报页，"
                      f"无法确定以哪一个为准；请只保留一个填报页（名为“{DATA_SHEET}”）后重新报送", file=file)]
    looks_like_form = bool(meta) or any(_label(s.name) in {DATA_SHEET} | {d.name for d in config.details}
                                        for s in raw.sheets)
    if looks_like_form:
        return [Issue(IssueCode.WRONG_TEMPLATE, ERROR, f"文件 {file} 中找不到填报页的表头（“{NAME_LABEL}”和“{VALUE_LABEL}”）；"
                      "请勿删除或改动表头行，请使用下发的填报表重新填写", file=file)]
    return [Issue(IssueCode.NOT_A_RETURN, ERROR, f"文件 {file} 不是本次活动的填报表，请使用下发的填报表填写", file=file)]


def _read_header(sheet: RawSheet, table_row: int) -> dict[str, CellValue]:
    """Header label -> the first non-empty cell to its right (past the label's own merge).
    A label whose value is blank maps to the cell just right of it, so issues can point there."""
    merges = _merge_map(sheet)
    header: dict[str, CellValue] = {}
    for row in range(1, min(max(table_row - 1, _HEADER_ROWS), len(sheet.cells)) + 1):
        for column in range(1, len(sheet.cells[row - 1]) + 1):
            label = _label(sheet.value(row, column))
            if label in HEADER_LABELS and label not in header:
                header[label] = _value_right_of(sheet, merges, row, column)
    return header


def _value_right_of(sheet: RawSheet, merges: Mapping, row: int, column: int) -> CellValue:
    start = merges[(row, column)][3] + 1 if (row, column) in merges else column + 1
    for c in range(start, len(sheet.cells[row - 1]) + 1):
        value = sheet.value(row, c)
        if _label(value) in HEADER_LABELS:
            break  # the next label: this one was left blank
        if not _blank(value):
            return CellValue(value, sheet.name, row, c)
    return CellValue(None, sheet.name, row, start)


def _stated_period(header: dict[str, CellValue], meta: dict[str, Any]) -> Optional[int]:
    stated = header.get("报送期次")
    return _period_number(stated.value if stated else None) or _period_number(meta.get("period"))


_CHINESE_NUMERALS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


def _period_number(value: Any) -> Optional[int]:
    """2, 2.0, '2', '第2期', '第二期' -> 2."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return int(value) if float(value).is_integer() and value > 0 else None
    text = _label(value).removeprefix("第").removesuffix("期")
    if text.isdigit():
        return int(text)
    return _CHINESE_NUMERALS.get(text)


# ---- which unit sent it ---------------------------------------------------------------------

@dataclass(frozen=True)
class _Claim:
    source: str                 # where the claim comes from, in Chinese
    unit: Optional[Unit]
    cell: Optional[CellValue] = None


def _code_text(value: Any) -> str:
    return _text(value).replace(" ", "").upper()


def unit_named_in(text: str, config: Config) -> Optional[Unit]:
    """The one unit a text (a file name, a 填报单位 value) names: a county by its name (its city
    breaking ties), else a member unit by its full name; None if none or several. Short names
    are not used: a county clerk's `扶贫办` must not read as 自治区扶贫办."""
    text = _label(text)
    if not text:
        return None
    units = list(config.units.values())
    counties = [u for u in units if u.kind == "county" and u.name in text]
    if len(counties) > 1:
        counties = [u for u in counties if u.city_name and u.city_name in text] or counties
    if len({u.code for u in counties}) == 1:
        return counties[0]
    if counties:
        return None
    members = [u for u in units if u.kind == "member" and u.name in text]
    return members[0] if len(members) == 1 else None


def _identify_unit(raw: RawWorkbook, config: Config, header: dict[str, CellValue], meta: dict[str, Any],
                   file: str) -> tuple[Optional[Unit], list[Issue]]:
    """The unit the return belongs to, and UNKNOWN_UNIT / UNIT_MISMATCH / SENDER_MISMATCH issues.

    The hidden xf_meta code wins (clerks cannot edit it by accident), then the header's
    单位代码, then the 填报单位 name, then the file name. Any disagreement is an error:
    figures filed under the wrong unit would be worse than a resend."""
    issues: list[Issue] = []
    claims: list[_Claim] = []
    for source, value, cell in (("隐藏页 xf_meta 中的单位代码", meta.get("unit_code"), None),
                                ("表头“单位代码”", header["单位代码"].value if "单位代码" in header else None,
                                 header.get("单位代码"))):
        code = _code_text(value)
        if not code:
            continue
        unit = config.units.get(code)
        if unit is None:
            issues.append(_at(Issue(IssueCode.UNKNOWN_UNIT, ERROR, f"{source}“{code}”不是本次活动的填报单位代码；"
                                    "请使用下发给本单位的填报表，不要改动单位代码", file=file, value=code), cell))
        claims.append(_Claim(source, unit, cell))
    name_cell = header.get("填报单位")
    if name_cell is not None and not name_cell.blank:
        claims.append(_Claim("表头“填报单位”", unit_named_in(_text(name_cell.value), config), name_cell))
    claims.append(_Claim(f"文件名“{raw.file.name}”", unit_named_in(raw.file.name.rsplit(".", 1)[0], config)))
    known = [c for c in claims if c.unit is not None]
    if not known:
        if not issues:
            issues.append(Issue(IssueCode.UNKNOWN_UNIT, ERROR, f"文件 {file} 无法确定是哪个单位报送的（单位代码为空）；"
                                "请使用下发给本单位的填报表填写，不要改动单位代码", file=file))
        return None, issues
    chosen = known[0]
    unit = chosen.unit
    for claim in known[1:]:
        if claim.unit.code != unit.code:
            issues.append(_at(Issue(IssueCode.UNIT_MISMATCH, ERROR,
                                    f"{claim.source}为“{claim.unit.full_name}”，与{chosen.source}（“{unit.full_name}”）不一致；"
                                    "请使用本单位的填报表填写并核对单位，以免数据记到其他单位名下", file=file,
                                    value=claim.unit.code, unit=unit.code), claim.cell))
    issues.extend(_sender_issue(raw, config, unit, file))
    return unit, [_with_unit(i, unit.code) for i in issues]


def _sender_issue(raw: RawWorkbook, config: Config, unit: Unit, file: str) -> Iterator[Issue]:
    addresses = [a.lower() for a in config.unit_emails.get(unit.code, [])]
    sender = raw.file.sender.strip().lower()
    if addresses and sender and sender not in addresses:
        yield Issue(IssueCode.SENDER_MISMATCH, WARNING,
                    f"文件 {file} 由 {raw.file.sender} 发送，不是{unit.full_name}登记的报送邮箱（{'、'.join(addresses)}）；"
                    "请核实是否为本单位报送", file=file, value=raw.file.sender, unit=unit.code)


def _at(issue: Issue, cell: Optional[CellValue]) -> Issue:
    if cell is None:
        return issue
    return Issue(**{**issue.__dict__, "sheet": cell.sheet, "row": cell.row, "column": cell.column})


def _with_unit(issue: Issue, code: str) -> Issue:
    return issue if issue.unit else Issue(**{**issue.__dict__, "unit": code})


def _template_refusal(config: Config, meta: dict, meta_sheet: Optional[RawSheet], header: dict[str, CellValue],
                      file: str, unit_code: Optional[str]) -> Optional[Issue]:
    """WRONG_TEMPLATE for another campaign's form, OLD_TEMPLATE for an earlier version of ours."""
    if meta_sheet is None:
        return None
    campaign = _text(meta.get("campaign"))
    if campaign and campaign != config.campaign.name:
        return Issue(IssueCode.WRONG_TEMPLATE, ERROR, f"文件 {file} 是“{campaign}”的填报表，不是“{config.campaign.name}”的；"
                     "请使用本次活动下发的填报表填写", file=file, sheet=meta_sheet.name, value=campaign, unit=unit_code)
    version = _text(meta.get("template_version"))
    if version != config.campaign.template_version:
        period = _stated_period(header, meta)
        which = f"第{period}期下发的新表" if period else "最新下发的填报表"
        return Issue(IssueCode.OLD_TEMPLATE, ERROR, f"文件 {file} 使用的是旧版填报表（版本 {version or '未知'}，"
                     f"现行版本 {config.campaign.template_version}）；请使用{which}重新填报", file=file,
                     sheet=meta_sheet.name, value=version, unit=unit_code)
    return None


def _meta_issues(meta_sheet: Optional[RawSheet], file: str, unit_code: str) -> list[Issue]:
    if meta_sheet is not None:
        return []
    return [Issue(IssueCode.MISSING_META, WARNING, f"文件 {file} 缺少下发表格中的隐藏页（{META_SHEET}），可能不是在下发的原表上填写的；"
                  "本次已按表头和指标名称读取，今后请在下发的原表上填写", file=file, unit=unit_code)]


# ---- indicator rows -------------------------------------------------------------------------

def _read_indicators(sheet: RawSheet, table_row: int, labels: dict[str, int], config: Config, unit: Unit,
                     file: str) -> tuple[dict[str, CellValue], list[Issue]]:
    """Indicator id -> input cell (row found by name, column by the 截至本期累计 header)."""
    name_col, value_col = labels[NAME_LABEL], labels[VALUE_LABEL]
    by_label = {_label(i.name): i for i in config.indicators_for(unit)}
    values: dict[str, CellValue] = {}
    issues: list[Issue] = []
    for row in range(table_row + 1, len(sheet.cells) + 1):
        indicator = by_label.get(_label(sheet.value(row, name_col)))
        if indicator is None:
            continue
        cell = CellValue(sheet.value(row, value_col), sheet.name, row, value_col)
        if indicator.id in values:
            first = values[indicator.id]
            issues.append(Issue(IssueCode.DUPLICATE_INDICATOR, ERROR,
                                f"指标「{indicator.name}」出现了两行（{first.cell}、{cell.cell}），无法确定以哪行为准；"
                                "请删除多余的一行", file=file, sheet=sheet.name, row=row, column=value_col,
                                indicator=indicator.id, value=_shown(cell.value), unit=unit.code))
            continue
        values[indicator.id] = cell
    for indicator in config.indicators_for(unit):
        if indicator.id not in values:
            severity = ERROR if indicator.required else WARNING
            issues.append(Issue(IssueCode.MISSING_INDICATOR, severity,
                                f"“{sheet.name}”表中找不到指标「{indicator.name}」所在的行；请勿删除指标行或改动指标名称",
                                file=file, sheet=sheet.name, indicator=indicator.id, unit=unit.code))
    return values, issues


# ---- detail sheets --------------------------------------------------------------------------

def _read_details(raw: RawWorkbook, config: Config, unit: Unit, data_sheet: str,
                  file: str) -> tuple[dict[str, DetailSheet], list[Issue]]:
    details: dict[str, DetailSheet] = {}
    issues: list[Issue] = []
    taken = {data_sheet}
    for detail in config.details_for(unit):
        found = _find_detail_sheet(raw, detail, taken)
        if found is None:
            issues.append(Issue(IssueCode.MISSING_DETAIL_SHEET, WARNING,
                                f"文件 {file} 中找不到“{detail.name}”工作表；请在下发表格的“{detail.name}”页逐行填写",
                                file=file, unit=unit.code))
            continue
        sheet, header_row, columns = found
        taken.add(sheet.name)
        details[detail.id] = _detail_rows(sheet, header_row, columns, detail)
        issues.extend(_detail_structure_issues(details[detail.id], detail, sheet, file, unit.code))
    return details, issues


def _find_detail_sheet(raw: RawWorkbook, detail: DetailList, taken: set[str]):
    """(sheet, header row, column id -> column) by sheet name, else by the most column labels matched."""
    best = None
    for sheet in raw.sheets:
        if sheet.name in taken or _label(sheet.name) == META_SHEET:
            continue
        header_row, columns = _detail_header(sheet, detail)
        by_name = _label(sheet.name) == _label(detail.name)
        if by_name and columns:
            return sheet, header_row, columns
        if len(columns) * 2 > len(detail.columns) and (best is None or len(columns) > len(best[2])):
            best = (sheet, header_row, columns)
    return best


def _detail_header(sheet: RawSheet, detail: DetailList) -> tuple[int, dict[str, int]]:
    wanted = {_label(c.name): c.id for c in detail.columns}
    merges = _merge_map(sheet)
    best_row, best = 0, {}
    for row in range(1, min(_DETAIL_HEADER_ROWS, len(sheet.cells)) + 1):
        columns: dict[str, int] = {}
        for column in range(1, len(sheet.cells[row - 1]) + 1):
            column_id = wanted.get(_label_at(sheet, merges, row, column))
            if column_id and column_id not in columns:
                columns[column_id] = column
        if len(columns) > len(best):
            best_row, best = row, columns
    return best_row, best


def _detail_rows(sheet: RawSheet, header_row: int, columns: dict[str, int], detail: DetailList) -> DetailSheet:
    rows: list[dict[str, CellValue]] = []
    for row in range(header_row + 1, len(sheet.cells) + 1):
        cells = {cid: CellValue(sheet.value(row, col), sheet.name, row, col) for cid, col in columns.items()}
        if all(c.blank for c in cells.values()):
            continue  # an empty template row (序号 may be pre-filled)
        if any(_label(c.value) in _TOTAL_WORDS for c in cells.values()) or _label(sheet.value(row, 1)) in _TOTAL_WORDS:
            continue  # a 合计 row the clerk added
        rows.append(cells)
    return DetailSheet(detail.id, sheet.name, header_row, columns, rows)


def _detail_structure_issues(found: DetailSheet, detail: DetailList, sheet: RawSheet, file: str,
                             unit_code: str) -> Iterator[Issue]:
    for column in detail.columns:
        if column.id not in found.columns:
            yield Issue(IssueCode.MISSING_DETAIL_COLUMN, ERROR if column.required else WARNING,
                        f"“{sheet.name}”表中找不到“{column.name}”列（表头第{found.header_row}行）；请勿删除或改动列名",
                        file=file, sheet=sheet.name, row=found.header_row, indicator=f"{detail.id}.{column.id}",
                        unit=unit_code)
    if len(found.rows) > detail.max_rows:
        extra = found.rows[detail.max_rows:]
        del found.rows[detail.max_rows:]
        first = next(iter(extra[0].values()))
        yield Issue(IssueCode.TOO_MANY_ROWS, WARNING,
                    f"“{sheet.name}”最多读取 {detail.max_rows} 行，第{first.row}行起的 {len(extra)} 行未读取；"
                    "如确有更多，请与组委会办公室联系", file=file, sheet=sheet.name, row=first.row, unit=unit_code)


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
                     value=_shown(cell.value) if cell is not None and value is None else value,
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
        template_version=read.template_version, header={k: _text(v.value) for k, v in read.header.items()},
        file=read.file)


def _parse_cell(indicator: Indicator, cell: CellValue) -> tuple[float | str | None, Optional[Parsed]]:
    """(normalised value, the parse result for numeric indicators)."""
    if indicator.kind == "text":
        return (_text(cell.value) or None), None
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
                        f"联系电话（{phone.cell}）“{_text(phone.value)}”格式不对：手机为1开头的11位数字，座机请带区号"
                        "（如 0771-1234567）；单元格为数字格式时区号的 0 会丢失，请设为文本", cell=phone)


_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_LANDLINE = re.compile(r"0[1-9][0-9]{1,2}-?[1-9][0-9]{6,7}(?:-[0-9]{1,6})?")


def _phone_ok(value: Any) -> bool:
    """Every number in the cell is a mobile (11 digits from 1) or a landline with area code."""
    text = unicodedata.normalize("NFKC", _text(value))
    text = re.sub(r"\((0[0-9]{2,3})\)", r"\1-", text).replace(" ", "").replace("—", "-")
    parts = [p for p in re.split(r"[/、,;]+", text) if p]
    parts = [re.sub(r"^(\+?86-?)", "", p) for p in parts]
    return bool(parts) and all(_MOBILE.fullmatch(p) or _LANDLINE.fullmatch(p) for p in parts)


def _check_cells(ctx: _Context, indicators: list[Indicator], parsed: dict) -> Iterator[Issue]:
    for indicator in indicators:
        cell = ctx.read.values[indicator.id]
        value, result = parsed[indicator.id]
        if result is not None and not result.ok:
            yield ctx.issue(result.code, ERROR, f"「{indicator.name}」（{cell.cell}）填写的“{_text(cell.value)}”：{result.reason}",
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
            return None, ctx.issue(result.code, severity, f"{where}填写的“{_text(cell.value)}”：{result.reason}",
                                   cell=cell, indicator=indicator)
        return result.number, None
    return _text(cell.value), None


def _unit_in_name(name: str) -> str:
    match = re.search(r"[（(]([^（）()]+)[）)]\s*$", name)
    return match.group(1) if match else ""


def _choice_value(ctx: _Context, column: DetailColumn, cell: CellValue, where: str, severity: Severity,
                  indicator: str) -> tuple[Any, Optional[Issue]]:
    text = _text(cell.value)
    by_label = {_label(c): c for c in column.choices}
    if _label(text) in by_label:
        return by_label[_label(text)], None
    suggestion = _closest(text, column.choices)
    hint = f"是否应为“{suggestion}”？" if suggestion else ""
    return text, ctx.issue(IssueCode.DETAIL_BAD_CHOICE, severity,
                           f"{where}“{text}”不是可选项；{hint}可选：{'、'.join(column.choices)}", cell=cell, indicator=indicator)


def _closest(text: str, choices: Sequence[str]) -> Optional[str]:
    """The allowed value the clerk most likely meant: one contained in the text (or containing
    it), else the closest by spelling."""
    label = _label(text)
    contained = [c for c in choices if _label(c) and (_label(c) in label or label in _label(c))]
    if contained:
        return max(contained, key=lambda c: len(c))
    close = difflib.get_close_matches(label, [_label(c) for c in choices], n=1, cutoff=0.4)
    return next((c for c in choices if _label(c) == close[0]), None) if close else None


def _date_value(ctx: _Context, cell: CellValue, where: str, severity: Severity,
                indicator: str) -> tuple[Any, Optional[Issue]]:
    campaign = ctx.config.campaign
    day = _parse_date(cell.value, campaign.start.year)
    if day is None:
        return _text(cell.value), ctx.issue(IssueCode.DETAIL_BAD_DATE, severity,
                                            f"{where}“{_text(cell.value)}”不是日期；请按“2020-09-15”的格式填写",
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
    wanted = {col: _label(v) for col, v in total.count_where.items()}
    counted = sum(1 for row in found.rows
                  if all(col in row and _label(_text(row[col].value)) == v for col, v in wanted.items()))
    what = "中" + "、".join(f"{names.get(col, col)}为“{v}”" for col, v in total.count_where.items()) + "的有"
    return counted, what
