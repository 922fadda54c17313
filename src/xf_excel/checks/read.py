"""Raw workbook -> a return read by label, never by address.

`read_return(raw, config)` finds the form's structure in a `RawWorkbook` — the data sheet
(by name, or by its table header if renamed), the header block, the indicator rows by
name, the detail sheets, the hidden `xf_meta` sheet — and works out which unit sent it.
Inserted rows and columns, moved blocks, renamed sheets still read. A file that is not a
return of this campaign, or an old form, gives a list of `Issue`s instead. Values stay as
received; `validate` judges them.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Optional

from ..config import Config, DetailList, Unit
from ..contract import (
    FORM_SHEET, HEADER_LABELS, INDICATOR_LABEL, META_SHEET, NARRATIVE_FIELDS, NARRATIVE_LABELS, TOTAL_WORDS,
    VALUE_LABEL, Header, Meta, NarrativeKind,
)
from ..issues import HasIssues, Issue, IssueCode, Severity, cell_address
from .normalize import clean_text
from ..intake.records import CellError, RawSheet, RawWorkbook

__all__ = [
    "CellValue", "DetailSheet", "NarrativeCell", "ReadReturn", "FormReading", "read_return", "unit_named_in",
    "label_of", "cell_text", "shown_value",
]

_HEADER_ROWS = 20          # header labels are looked for in this many top rows (or above the table)
_DETAIL_HEADER_ROWS = 10   # a detail sheet's header row is looked for in this many top rows
_TABLE_HEADER_ROWS = 60    # the 填报 table header is looked for in this many top rows (row 6 on our form)
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


@dataclass(frozen=True)
class NarrativeCell:
    """One free-text field of the narrative section (本期工作动态, 典型做法) as found by its label."""

    label: str
    kind: NarrativeKind
    cell: CellValue


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
    narrative: list[NarrativeCell] = field(default_factory=list)   # in the form's order; blank ones too

    @property
    def unit_code(self) -> str:
        return self.unit.code


@dataclass
class FormReading(HasIssues):
    """A received workbook read as a return form: `form` when its structure was understood
    (its own non-blocking findings are in `form.issues` too), else None; `issues` always
    holds every finding, those that make it unreadable as a return included."""

    form: Optional[ReadReturn]
    issues: list[Issue]


# ---- small helpers ------------------------------------------------------------------------

_QUOTES = str.maketrans({"“": '"', "”": '"', "「": '"', "」": '"', "『": '"', "』": '"', "'": '"', "‘": '"', "’": '"'})


def label_of(value: Any) -> str:
    """A label as compared: NFKC (full-width to half-width), no spaces, one kind of quote,
    without a trailing colon or a leading required-marker."""
    return _label_text(value) if isinstance(value, str) else ""


@functools.lru_cache(maxsize=1 << 16)
def _label_text(text: str) -> str:
    # cached: the same labels and names recur in every return of a batch
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    text = re.sub(r"\s+", "", text)
    return text.strip("*★").rstrip(":：")


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and clean_text(value) == "")


def cell_text(value: Any) -> str:
    """A cell value as text for header fields and messages (1234.0 -> '1234')."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dt.datetime, dt.date)):
        return value.date().isoformat() if isinstance(value, dt.datetime) else value.isoformat()
    return clean_text(str(value))


def shown_value(value: Any) -> Any:
    """The received value as an Issue carries it: JSON-safe, as the person typed it."""
    if isinstance(value, (CellError, bool)):
        return str(value)
    if value is None or isinstance(value, (str, int, float)):
        return value
    return cell_text(value)


def _merge_map(sheet: RawSheet) -> dict[tuple[int, int], tuple[int, int, int, int]]:
    """Each cell of a merged range -> the range. Ranges are clipped to the grid actually read:
    a file may declare `A2:XFD1048576` merged (17 billion cells) without holding any of them."""
    rows, columns = len(sheet.cells), _width(sheet)
    return {(r, c): rng for rng in sheet.merged
            for r in range(rng[0], min(rng[2], rows) + 1) for c in range(rng[1], min(rng[3], columns) + 1)}


def _label_at(sheet: RawSheet, merges: Mapping, row: int, column: int) -> str:
    """The label shown at a cell, merged ranges respected (every cell of a merge shows its top-left)."""
    rng = merges.get((row, column))
    if rng:
        row, column = rng[0], rng[1]
    return label_of(sheet.value(row, column))


def _labels_of_row(sheet: RawSheet, merges: Mapping, row: int, width: int) -> Iterator[tuple[int, str]]:
    """(column, label shown) for columns 1..width of a row: `_label_at` for each, read from the
    row's values directly (this runs over the top rows of every sheet of every return)."""
    values = sheet.cells[row - 1] if row <= len(sheet.cells) else []
    for column in range(1, width + 1):
        if merges and (row, column) in merges:
            yield column, _label_at(sheet, merges, row, column)
        else:
            value = values[column - 1] if column <= len(values) else None
            yield column, (_label_text(value) if value.__class__ is str else label_of(value))


def _width(sheet: RawSheet) -> int:
    return max((len(r) for r in sheet.cells), default=0)


def _find_table_header(sheet: RawSheet) -> Optional[tuple[int, dict[str, int]]]:
    """(row, label -> column) of the first row holding both 指标名称 and 截至本期累计, looked
    for in the top rows only (a detail sheet of hundreds of rows need not be read through)."""
    merges = _merge_map(sheet)
    width = _width(sheet)
    for row in range(1, min(len(sheet.cells), _TABLE_HEADER_ROWS) + 1):
        labels: dict[str, int] = {}
        for column, label in _labels_of_row(sheet, merges, row, width):
            labels.setdefault(label, column)
        if INDICATOR_LABEL in labels and VALUE_LABEL in labels:
            return row, labels
    return None


# ---- reading ------------------------------------------------------------------------------

def read_return(raw: RawWorkbook, config: Config) -> FormReading:
    """Understand a received workbook as a return form of this campaign.

    The reading holds the `ReadReturn`, or none and the issues that make it unreadable as a
    return (NOT_A_RETURN, WRONG_TEMPLATE, OLD_TEMPLATE, UNKNOWN_UNIT); those carry the unit
    code in `Issue.unit` whenever the unit could still be told."""
    file = raw.file.display or raw.file.name
    meta_sheet = next((s for s in raw.sheets if label_of(s.name) == META_SHEET), None)
    meta = _read_meta(meta_sheet)
    found = _find_data_sheet(raw, config, meta, file)
    if isinstance(found, list):
        return FormReading(None, found)
    sheet, table_row, table_labels = found
    header = _read_header(sheet, table_row)
    unit, unit_issues = _identify_unit(raw, config, header, meta, file)
    unit_code = unit.code if unit else None
    refusal = _template_refusal(config, meta, meta_sheet, header, file, unit_code)
    if refusal:
        return FormReading(None, [refusal])
    if unit is None:
        return FormReading(None, unit_issues)
    values, value_issues = _read_indicators(sheet, table_row, table_labels, config, unit, file)
    if not values and not any(i.code is IssueCode.DUPLICATE_INDICATOR for i in value_issues):
        return FormReading(None, [Issue.of(
            IssueCode.WRONG_TEMPLATE, ERROR, file=file, sheet=sheet.name, unit=unit.code, what="文件",
            reason=f"的“{sheet.name}”表中没有本次活动的任何指标，可能是其他活动或其他单位的表格",
            advice="请使用本次下发的填报表填写。")])
    details, detail_issues = _read_details(raw, config, unit, sheet.name, file)
    issues = unit_issues + _meta_issues(meta_sheet, file, unit.code) + value_issues + detail_issues
    return FormReading(ReadReturn(
        file=file, unit=unit, data_sheet=sheet.name, period=_stated_period(header, meta),
        template_version=cell_text(meta.get(Meta.TEMPLATE_VERSION)), header=header, values=values, details=details,
        meta=meta, has_macros=raw.has_macros, uncached=_uncached_cells(raw), issues=issues,
        narrative=_read_narrative(sheet, table_row)), list(issues))


def _uncached_cells(raw: RawWorkbook) -> set[tuple[str, int, int]]:
    return {(sheet, row, column) for sheet, cells in raw.uncached_formulas.items() for row, column in cells}


def _read_meta(sheet: Optional[RawSheet]) -> dict[str, Any]:
    if sheet is None:
        return {}
    return {label_of(row[0]): (row[1] if len(row) > 1 else None) for row in sheet.cells if row and label_of(row[0])}


def _find_data_sheet(raw: RawWorkbook, config: Config, meta: dict, file: str):
    """(sheet, table header row, labels) or the issues saying why there is none."""
    candidates = []
    for sheet in raw.sheets:
        found = _find_table_header(sheet)
        if found:
            candidates.append((sheet, *found))
    named = [c for c in candidates if label_of(c[0].name) == FORM_SHEET]
    if named:
        return named[0]
    if len(candidates) == 1:
        return candidates[0]
    if len(candidates) > 1:
        names = "、".join(f"“{c[0].name}”" for c in candidates)
        return [Issue.of(IssueCode.WRONG_TEMPLATE, ERROR, file=file, what="文件",
                         reason=f"中有 {len(candidates)} 个工作表（{names}）都像填报页，无法确定以哪一个为准",
                         advice=f"请只保留一个填报页（名为“{FORM_SHEET}”）后重新报送。")]
    looks_like_form = bool(meta) or any(label_of(s.name) in {FORM_SHEET} | {d.name for d in config.details}
                                        for s in raw.sheets)
    if looks_like_form:
        return [Issue.of(IssueCode.WRONG_TEMPLATE, ERROR, file=file, what="文件",
                         reason=f"中找不到填报页的表头（“{INDICATOR_LABEL}”和“{VALUE_LABEL}”）",
                         advice="请勿删除或改动表头行，请使用下发的填报表重新填写。")]
    return [Issue.of(IssueCode.NOT_A_RETURN, ERROR, file=file, what="文件", reason="不是本次活动的填报表",
                     advice="请使用下发的填报表填写。")]


def _read_header(sheet: RawSheet, table_row: int) -> dict[str, CellValue]:
    """Header label -> the first non-empty cell to its right (past the label's own merge).
    A label whose value is blank maps to the cell just right of it, so issues can point there."""
    merges = _merge_map(sheet)
    header: dict[str, CellValue] = {}
    for row in range(1, min(max(table_row - 1, _HEADER_ROWS), len(sheet.cells)) + 1):
        for column, value in enumerate(sheet.cells[row - 1], start=1):
            label = label_of(value)
            if label in HEADER_LABELS and label not in header:
                header[label] = _value_right_of(sheet, merges, row, column)
    return header


def _read_narrative(sheet: RawSheet, table_row: int) -> list[NarrativeCell]:
    """The narrative fields below the table header, by label (anywhere in the row: clerks move
    columns), each with the first non-empty cell to its right; the first of a label counts."""
    merges = _merge_map(sheet)
    kinds = {label_of(label): (label, kind) for label, kind in NARRATIVE_FIELDS}
    found: dict[str, NarrativeCell] = {}
    for row in range(table_row + 1, len(sheet.cells) + 1):
        for column, value in enumerate(sheet.cells[row - 1], start=1):
            if value.__class__ is not str:
                continue                       # a label is text: numbers and blanks are most of the rows
            label = _label_text(value)
            if label in kinds and kinds[label][0] not in found:
                name, kind = kinds[label]
                found[name] = NarrativeCell(name, kind, _value_right_of(sheet, merges, row, column, _NARRATIVE_STOPS))
    return [found[label] for label in NARRATIVE_LABELS if label in found]


_NARRATIVE_STOPS = frozenset(label_of(label) for label in NARRATIVE_LABELS)


def _value_right_of(sheet: RawSheet, merges: Mapping, row: int, column: int,
                    stops: frozenset[str] | tuple[str, ...] = HEADER_LABELS) -> CellValue:
    start = merges[(row, column)][3] + 1 if (row, column) in merges else column + 1
    for c in range(start, len(sheet.cells[row - 1]) + 1):
        value = sheet.value(row, c)
        if label_of(value) in stops:
            break  # the next label: this one was left blank
        if not _blank(value):
            return CellValue(value, sheet.name, row, c)
    return CellValue(None, sheet.name, row, start)


def _stated_period(header: dict[str, CellValue], meta: dict[str, Any]) -> Optional[int]:
    stated = header.get(Header.PERIOD)
    return _period_number(stated.value if stated else None) or _period_number(meta.get(Meta.PERIOD))


_CHINESE_NUMERALS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


def _period_number(value: Any) -> Optional[int]:
    """2, 2.0, '2', '第2期', '第二期' -> 2."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return int(value) if float(value).is_integer() and value > 0 else None
    text = label_of(value).removeprefix("第").removesuffix("期")
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
    return cell_text(value).replace(" ", "").upper()


def unit_named_in(text: str, config: Config) -> Optional[Unit]:
    """The one unit a text (a file name, a 填报单位 value) names: a county by its name (its city
    breaking ties), else a member unit by its full name; None if none or several. Short names
    are not used: a county clerk's `扶贫办` must not read as 自治区扶贫办."""
    text = label_of(text)
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
    for source, value, cell in (("隐藏页 xf_meta 中的单位代码", meta.get(Meta.UNIT_CODE), None),
                                ("表头“单位代码”", header[Header.UNIT_CODE].value if Header.UNIT_CODE in header else None,
                                 header.get(Header.UNIT_CODE))):
        code = _code_text(value)
        if not code:
            continue
        unit = config.units.get(code)
        if unit is None:
            issues.append(_at(Issue.of(IssueCode.UNKNOWN_UNIT, ERROR, file=file, value=code, where="",
                                       reason=f"{source}“{code}”不是本次活动的填报单位代码",
                                       advice="请使用下发给本单位的填报表，不要改动单位代码"), cell))
        claims.append(_Claim(source, unit, cell))
    name_cell = header.get(Header.UNIT_NAME)
    if name_cell is not None and not name_cell.blank:
        claims.append(_Claim("表头“填报单位”", unit_named_in(cell_text(name_cell.value), config), name_cell))
    claims.append(_Claim(f"文件名“{raw.file.name}”", unit_named_in(raw.file.name.rsplit(".", 1)[0], config)))
    known = [c for c in claims if c.unit is not None]
    if not known:
        if not issues:
            issues.append(Issue.of(IssueCode.UNKNOWN_UNIT, ERROR, file=file, where=f"文件「{file}」",
                                   reason="无法确定是哪个单位报送的（单位代码为空）",
                                   advice="请使用下发给本单位的填报表填写，不要改动单位代码"))
        return None, issues
    chosen = known[0]
    unit = chosen.unit
    for claim in known[1:]:
        if claim.unit.code != unit.code:
            issues.append(_at(Issue.of(IssueCode.UNIT_MISMATCH, ERROR, file=file, value=claim.unit.code, unit=unit.code,
                                       source=claim.source, claimed=claim.unit.full_name, chosen_source=chosen.source,
                                       chosen=unit.full_name), claim.cell))
    issues.extend(_sender_issue(raw, config, unit, file))
    return unit, [_with_unit(i, unit.code) for i in issues]


def _sender_issue(raw: RawWorkbook, config: Config, unit: Unit, file: str) -> Iterator[Issue]:
    addresses = [a.lower() for a in config.addresses(unit.code)]
    sender = _mailbox(raw.file.sender)
    if addresses and sender and sender not in addresses:
        yield Issue.of(IssueCode.SENDER_MISMATCH, WARNING, file=file, value=raw.file.sender, unit=unit.code,
                       sender=raw.file.sender, unit_name=unit.full_name, addresses="、".join(addresses))


def _mailbox(sender: str) -> str:
    """The address a From header names: the last <…> if any ("武鸣区扶贫办 <wm@…>", and a
    display name that itself looks like an address), else the whole text."""
    angled = re.findall(r"<([^<>]*)>", sender)
    return (angled[-1] if angled else sender).strip().lower()


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
    campaign = cell_text(meta.get(Meta.CAMPAIGN))
    if campaign and campaign != config.campaign.name:
        return Issue.of(IssueCode.WRONG_TEMPLATE, ERROR, file=file, sheet=meta_sheet.name, value=campaign,
                        unit=unit_code, what="文件", reason=f"是“{campaign}”的填报表，不是“{config.campaign.name}”的",
                        advice="请使用本次活动下发的填报表填写。")
    version = cell_text(meta.get(Meta.TEMPLATE_VERSION))
    if version != config.campaign.template_version:
        period = _stated_period(header, meta)
        which = f"第{period}期下发的新表" if period else "最新下发的填报表"
        return Issue.of(IssueCode.OLD_TEMPLATE, ERROR, file=file, sheet=meta_sheet.name, value=version,
                        unit=unit_code, version=version or "未知", current=config.campaign.template_version, which=which)
    return None


def _meta_issues(meta_sheet: Optional[RawSheet], file: str, unit_code: str) -> list[Issue]:
    if meta_sheet is not None:
        return []
    return [Issue.of(IssueCode.MISSING_META, WARNING, file=file, unit=unit_code, meta_sheet=META_SHEET)]


# ---- indicator rows -------------------------------------------------------------------------

def _read_indicators(sheet: RawSheet, table_row: int, labels: dict[str, int], config: Config, unit: Unit,
                     file: str) -> tuple[dict[str, CellValue], list[Issue]]:
    """Indicator id -> input cell (row found by name, column by the 截至本期累计 header)."""
    name_col, value_col = labels[INDICATOR_LABEL], labels[VALUE_LABEL]
    by_label = {label_of(i.name): i for i in config.indicators_for(unit)}
    values: dict[str, CellValue] = {}
    issues: list[Issue] = []
    for row in range(table_row + 1, len(sheet.cells) + 1):
        indicator = by_label.get(label_of(sheet.value(row, name_col)))
        if indicator is None:
            continue
        cell = CellValue(sheet.value(row, value_col), sheet.name, row, value_col)
        if indicator.id in values:
            first = values[indicator.id]
            issues.append(Issue.of(IssueCode.DUPLICATE_INDICATOR, ERROR, file=file, sheet=sheet.name, row=row,
                                   column=value_col, indicator=indicator.id, value=shown_value(cell.value),
                                   unit=unit.code, name=indicator.name, first=first.cell))
            continue
        values[indicator.id] = cell
    for indicator in config.indicators_for(unit):
        if indicator.id not in values:
            severity = ERROR if indicator.required else WARNING
            issues.append(Issue.of(IssueCode.MISSING_INDICATOR, severity, file=file, sheet=sheet.name,
                                   indicator=indicator.id, unit=unit.code, sheet_name=sheet.name, name=indicator.name))
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
            issues.append(Issue.of(IssueCode.MISSING_DETAIL_SHEET, WARNING, file=file, unit=unit.code,
                                   sheet_name=detail.name))
            continue
        sheet, header_row, columns = found
        taken.add(sheet.name)
        details[detail.id] = _detail_rows(sheet, header_row, columns, detail)
        issues.extend(_detail_structure_issues(details[detail.id], detail, sheet, file, unit.code,
                                              config.campaign.office_short))
    return details, issues


def _find_detail_sheet(raw: RawWorkbook, detail: DetailList, taken: set[str]):
    """(sheet, header row, column id -> column) by sheet name, else by the most column labels matched."""
    best = None
    for sheet in raw.sheets:
        if sheet.name in taken or label_of(sheet.name) == META_SHEET:
            continue
        header_row, columns = _detail_header(sheet, detail)
        by_name = label_of(sheet.name) == label_of(detail.name)
        if by_name and columns:
            return sheet, header_row, columns
        if len(columns) * 2 > len(detail.columns) and (best is None or len(columns) > len(best[2])):
            best = (sheet, header_row, columns)
    return best


def _detail_header(sheet: RawSheet, detail: DetailList) -> tuple[int, dict[str, int]]:
    wanted = {label_of(c.name): c.id for c in detail.columns}
    merges = _merge_map(sheet)
    best_row, best = 0, {}
    for row in range(1, min(_DETAIL_HEADER_ROWS, len(sheet.cells)) + 1):
        columns: dict[str, int] = {}
        for column, label in _labels_of_row(sheet, merges, row, len(sheet.cells[row - 1])):
            column_id = wanted.get(label)
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
        if any(label_of(c.value) in TOTAL_WORDS for c in cells.values()) or label_of(sheet.value(row, 1)) in TOTAL_WORDS:
            continue  # a 合计 row the clerk added
        rows.append(cells)
    return DetailSheet(detail.id, sheet.name, header_row, columns, rows)


def _detail_structure_issues(found: DetailSheet, detail: DetailList, sheet: RawSheet, file: str,
                             unit_code: str, office: str) -> Iterator[Issue]:
    for column in detail.columns:
        if column.id not in found.columns:
            yield Issue.of(IssueCode.MISSING_DETAIL_COLUMN, ERROR if column.required else WARNING, file=file,
                           sheet=sheet.name, row=found.header_row, indicator=f"{detail.id}.{column.id}", unit=unit_code,
                           sheet_name=sheet.name, column_name=column.name, header_row=found.header_row)
    if len(found.rows) > detail.max_rows:
        extra = found.rows[detail.max_rows:]
        del found.rows[detail.max_rows:]
        first = next(iter(extra[0].values()))
        yield Issue.of(IssueCode.TOO_MANY_ROWS, WARNING, file=file, sheet=sheet.name, row=first.row, unit=unit_code,
                       sheet_name=sheet.name, max_rows=detail.max_rows, first_row=first.row, extra=len(extra),
                       office=office)
