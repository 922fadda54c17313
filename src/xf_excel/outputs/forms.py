"""Return forms to send out: one pre-filled workbook per reporting unit and period.

The layout is the contract in docs/form-contract.md: a `填报` sheet with a header block and
one row per indicator the unit reports, one sheet per detail list, and a hidden `xf_meta`
sheet. Everything on the form comes from `Config`; nothing here knows a particular campaign.
The form checks itself while the clerk types: Excel data validation on every input cell,
and a `校验提示` formula per row built from the config rules (`expr.to_excel`)::

    >>> config = load_config("config.yaml")
    >>> write_form(config, "450110", 2, Path("out") / form_filename(config, "450110", 2))
    PosixPath('out/第2期_南宁市_武鸣区.xlsx')
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Optional

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.utils.datetime import to_excel as excel_serial
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.merge import MergedCellRange
from openpyxl.worksheet.worksheet import Worksheet

from ..config import expr
from ..config import Config, DetailColumn, DetailList, Indicator, Rule, Unit
from ..contract import (
    DETAIL_HEADER_ROW, DETAIL_TITLE_ROW, DETAIL_UNIT_ROW, FORM_DATE_FORMAT, FORM_FIRST_BODY_ROW, FORM_HEADER_ROWS,
    FORM_NOTE_ROW, FORM_SHEET, FORM_TABLE_HEADER_ROW, FORM_TITLE_ROW, HEADER_LABELS, HELP_LABEL, HINT_LABEL,
    INDICATOR_LABEL, LISTS_SHEET, META_SHEET, NARRATIVE_HEADING, NARRATIVE_LABELS, NARRATIVE_MAX_CHARS, PREVIOUS_LABEL,
    SERIAL_LABEL, TABLE_HEADERS, VALUE_LABEL, Header, Meta,
)
from ..checks.rules import FAILED_PHRASE, rule_wording
from ..filenames import safe_filename
from ..wording import cn_numeral, fmt_date_full, fmt_deadline_full
from ..archive.locking import atomic_write

__all__ = ["form_filename", "write_form", "write_forms"]

Values = Mapping[str, "float | str | None"]
DetailRows = Mapping[str, list[Mapping[str, object]]]   # list id -> rows of column id -> archived value
Progress = Callable[[int, int], None]

# ---- layout of the 填报 sheet -----------------------------------------------------------------
_COL = {name: i + 1 for i, name in enumerate(TABLE_HEADERS)}   # 序号 -> 1 (A), …
_WIDTHS = dict(zip(TABLE_HEADERS, (10, 36, 7, 14, 15, 40, 42)))  # characters, in TABLE_HEADERS order
_CUMULATIVE_KINDS = ("count", "money", "number")
_LINE_HEIGHT = 15   # points per line of 10–11 pt text
_ROW_HEIGHT = 18

# Excel's limits on data-validation texts (longer ones make Excel report the file as damaged).
_PROMPT_TITLE_MAX, _PROMPT_MAX, _ERROR_TITLE_MAX, _ERROR_MAX = 32, 255, 32, 225
_INLINE_LIST_MAX = 255
_EXCEL_LITERAL_MAX = 255

# ---- shared style objects (immutable in openpyxl, so safe to share between workbooks) -------
_FONT_NAME = "宋体"   # SimSun: present on every Chinese Windows; WPS maps it too
_CHARSET_GB2312 = 134
_FONT = Font(name=_FONT_NAME, size=11, charset=_CHARSET_GB2312)
_FONT_BOLD = Font(name=_FONT_NAME, size=11, bold=True, charset=_CHARSET_GB2312)
_FONT_TITLE = Font(name=_FONT_NAME, size=16, bold=True, charset=_CHARSET_GB2312)
_FONT_NOTE = Font(name=_FONT_NAME, size=10, charset=_CHARSET_GB2312)
_FONT_HINT = Font(name=_FONT_NAME, size=9, color="C00000", charset=_CHARSET_GB2312)
_FILL_INPUT = PatternFill("solid", fgColor="FFF2CC")      # light yellow: type here
_FILL_LOCKED = PatternFill("solid", fgColor="E7E6E6")     # grey: filled by the office
_FILL_HEADER = PatternFill("solid", fgColor="D9E1F2")
_FILL_GROUP = PatternFill("solid", fgColor="F2F2F2")
_THIN = Side(style="thin", color="808080")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_NO_BORDER = Border()
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
_LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)
_RIGHT = Alignment(horizontal="right", vertical="center")
_LEFT_NOWRAP = Alignment(horizontal="left", vertical="center")
_LEFT_TOP = Alignment(horizontal="left", vertical="top", wrap_text=True)
_UNLOCKED = Protection(locked=False)
_LOCKED = Protection(locked=True)


@dataclass(frozen=True)
class _Style:
    font: Font = _FONT
    fill: Optional[PatternFill] = None
    border: Border = _BORDER
    alignment: Alignment = _LEFT
    protection: Protection = _LOCKED
    number_format: str = "General"


_STYLES = {
    "title": _Style(font=_FONT_TITLE, border=_NO_BORDER, alignment=_CENTER),
    "label": _Style(font=_FONT_BOLD, border=_NO_BORDER, alignment=_RIGHT),
    "value": _Style(border=_NO_BORDER),
    "value_date": _Style(border=_NO_BORDER, number_format=FORM_DATE_FORMAT),
    "value_input": _Style(fill=_FILL_INPUT, protection=_UNLOCKED, number_format="@"),
    "note": _Style(font=_FONT_NOTE, border=_NO_BORDER, alignment=_LEFT_TOP),
    "th": _Style(font=_FONT_BOLD, fill=_FILL_HEADER, alignment=_CENTER),
    "group": _Style(font=_FONT_BOLD, fill=_FILL_GROUP),
    "group_first": _Style(font=_FONT_BOLD, fill=_FILL_GROUP, alignment=_LEFT_NOWRAP,
                          border=Border(left=_THIN, top=_THIN, bottom=_THIN)),
    "group_mid": _Style(font=_FONT_BOLD, fill=_FILL_GROUP, border=Border(top=_THIN, bottom=_THIN)),
    "group_last": _Style(font=_FONT_BOLD, fill=_FILL_GROUP, border=Border(right=_THIN, top=_THIN, bottom=_THIN)),
    "cell": _Style(),
    "cell_center": _Style(alignment=_CENTER),
    "help": _Style(font=_FONT_NOTE),
    "previous": _Style(fill=_FILL_LOCKED, alignment=_RIGHT),
    "input": _Style(fill=_FILL_INPUT, protection=_UNLOCKED, alignment=_RIGHT),
    "input_text": _Style(fill=_FILL_INPUT, protection=_UNLOCKED, number_format="@"),
    "input_date": _Style(fill=_FILL_INPUT, protection=_UNLOCKED, alignment=_RIGHT, number_format=FORM_DATE_FORMAT),
    "detail_title": _Style(font=_FONT_TITLE, border=_NO_BORDER, alignment=_CENTER),
    "detail_unit": _Style(font=_FONT_BOLD, border=_NO_BORDER, alignment=_LEFT),
    "detail_text": _Style(protection=_UNLOCKED, number_format="@"),
    "detail_number": _Style(protection=_UNLOCKED, alignment=_RIGHT),
    "detail_money": _Style(protection=_UNLOCKED, alignment=_RIGHT, number_format="#,##0.00"),
    "detail_date": _Style(protection=_UNLOCKED, alignment=_RIGHT, number_format=FORM_DATE_FORMAT),
    "hint": _Style(font=_FONT_HINT),
    "narrative_label": _Style(font=_FONT_BOLD, alignment=_CENTER),
    "narrative_input": _Style(fill=_FILL_INPUT, protection=_UNLOCKED, alignment=_LEFT_TOP, number_format="@"),
    "narrative_cover": _Style(fill=_FILL_INPUT),
}
_NARRATIVE_HINT = (f"请用一两段话写本期开展的主要工作和成效（工作动态），以及可供各地借鉴的典型做法，每项不超过"
                   f"{NARRATIVE_MAX_CHARS}字，写明时间、地点、做法和成效（数字请与上表一致）；没有可不填。"
                   f"{{office}}将选用部分内容编入工作简报“各地动态”。")
_NARRATIVE_PROMPT = f"选填，每项不超过{NARRATIVE_MAX_CHARS}字；可按 Alt+Enter 换行。"


class _Styler:
    """Applies the named styles above to cells of one workbook.

    Assigning five style attributes per cell is openpyxl's slow path (each one a look-up in
    the workbook's style tables); the first cell of each style pays it, later cells copy the
    resulting style-index array, which is what openpyxl itself does when copying cells."""

    def __init__(self) -> None:
        self._arrays: dict[str, object] = {}

    def __call__(self, cell: Cell, name: str) -> Cell:
        cached = self._arrays.get(name)
        if cached is not None:
            cell._style = cached.__copy__()  # noqa: SLF001 - see class docstring
            return cell
        style = _STYLES[name]
        cell.font, cell.border, cell.alignment = style.font, style.border, style.alignment
        cell.protection, cell.number_format = style.protection, style.number_format
        if style.fill is not None:
            cell.fill = style.fill
        self._arrays[name] = cell._style.__copy__()  # noqa: SLF001
        return cell


# ---- public API ---------------------------------------------------------------------------------

def form_filename(config: Config, unit: Unit | str, period: int) -> str:
    """The form's file name: `第2期_南宁市_武鸣区.xlsx` for a county, `第2期_自治区总工会.xlsx`
    for a member unit; safe as a Windows file name (no separators or reserved characters)."""
    unit = _resolve_unit(config, unit)
    parts = [f"第{period}期"] + ([unit.city_name or "", unit.name] if unit.kind == "county" else [unit.name])
    return safe_filename("_".join(p for p in parts if p) + ".xlsx", path=False)


def write_form(config: Config, unit: Unit | str, period: int, path: Path,
               previous: Optional[Values] = None, previous_details: Optional[DetailRows] = None) -> Path:
    """Write one return form (docs/form-contract.md) for `unit` and `period` to `path`.

    `previous` maps indicator id -> the unit's last accepted figure (shown as 上期累计);
    `previous_details` maps detail list id -> the rows of that accepted return (the detail
    sheets start with them, for the clerk to update rather than retype).
    The file is written to a temporary file beside `path` and moved into place, so a crash
    never leaves a half-written form. Returns `path`."""
    unit = _resolve_unit(config, unit)
    config.period(period)  # fail early (KeyError with a Chinese message) on an unknown period
    workbook = _build_workbook(config, unit, period, previous or {}, previous_details or {})
    return atomic_write(Path(path), workbook.save)


def write_forms(config: Config, period: int, out_dir: Path,
                previous_values: Optional[Mapping[str, Values]] = None,
                progress: Optional[Progress] = None,
                previous_details: Optional[Mapping[str, DetailRows]] = None) -> list[Path]:
    """Write the forms of every reporting unit (`config.reporting_units()`) into `out_dir`.

    `previous_values` maps unit code -> that unit's last accepted values by indicator id
    (e.g. `Archive.latest_accepted_before(code, period).values`), `previous_details` unit
    code -> the same return's detail rows. `progress(done, total)` is called after each form.
    Returns the paths in the order of `reporting_units()`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    previous_values = previous_values or {}
    previous_details = previous_details or {}
    units = config.reporting_units()
    names = [form_filename(config, unit, period) for unit in units]
    paths: list[Path] = []
    for done, (unit, name) in enumerate(zip(units, names), start=1):
        if names.count(name) > 1:   # two units of the same name: never let one form overwrite another
            name = name.removesuffix(".xlsx") + f"_{safe_filename(unit.code, path=False)}.xlsx"
        paths.append(write_form(config, unit, period, out_dir / name, previous_values.get(unit.code),
                                previous_details.get(unit.code)))
        if progress is not None:
            progress(done, len(units))
    return paths


# ---- the workbook ---------------------------------------------------------------------------------

def _build_workbook(config: Config, unit: Unit, period: int, previous: Values, details: DetailRows) -> Workbook:
    workbook = Workbook()
    style = _Styler()
    sheet = workbook.active
    sheet.title = FORM_SHEET
    _FormSheet(config, unit, period, previous, sheet, style, details).build()
    lists = _ListSheet(workbook)
    for detail in config.details_for(unit):
        _DetailSheet(config, unit, period, detail, workbook.create_sheet(detail.name), style, lists,
                     list(details.get(detail.id) or [])[:detail.max_rows]).build()
    _write_meta_sheet(config, unit, period, workbook.create_sheet(META_SHEET))
    workbook.active = 0
    return workbook


@dataclass
class _FormSheet:
    """Writes the 填报 sheet: title, header block, note, table and its checks."""

    config: Config
    unit: Unit
    period: int
    previous: Values
    sheet: Worksheet
    style: _Styler
    details: DetailRows = field(default_factory=dict)     # the detail rows the detail sheets start with
    rows: dict[str, int] = field(default_factory=dict)   # indicator id -> row

    def build(self) -> None:
        indicators = self.config.indicators_for(self.unit)
        self._title()
        self._header_block()
        self._note()
        self._table_header()
        last_row = self._narrative(self._body(indicators) + 2)
        self._hints(indicators)
        self._page(last_row)
        self.sheet.protection.sheet = True
        self.sheet.protection.formatColumns = False   # let staff widen columns …
        self.sheet.protection.formatRows = False      # … and rows on the protected sheet

    def _put(self, row: int, column: int, value, style: str) -> Cell:
        cell = self.sheet.cell(row=row, column=column)
        if value is not None:
            _set_value(cell, value)
        return self.style(cell, style)

    def _merge(self, ref: str) -> None:
        # Register the range only: `Worksheet.merge_cells` also re-styles every covered cell
        # (borders, protection), which costs ~2 ms a range and is pointless for borderless,
        # locked title and note rows whose covered cells are empty.
        self.sheet.merged_cells.add(MergedCellRange(self.sheet, ref))

    def _title(self) -> None:
        last = get_column_letter(len(TABLE_HEADERS))
        self._put(FORM_TITLE_ROW, 1, self.config.campaign.form_title, "title")
        self._merge(f"A{FORM_TITLE_ROW}:{last}{FORM_TITLE_ROW}")
        self.sheet.row_dimensions[FORM_TITLE_ROW].height = 30

    def _header_block(self) -> None:
        cutoff = self.config.period(self.period).cutoff
        values = [self.unit.full_name, self.unit.code, self.period, cutoff, None, None]
        styles = ["value", "value", "value", "value_date", "value_input", "value_input"]
        for i, (label, value, style) in enumerate(zip(HEADER_LABELS, values, styles)):
            row, column = FORM_HEADER_ROWS[i // 2], 1 + 3 * (i % 2)
            self._put(row, column, label, "label")
            cell = self._put(row, column + 1, value, style)
            if style == "value" and isinstance(value, int):
                cell.alignment = Alignment(horizontal="left")   # 报送期次 sits flush with the name above
        self._prompt(f"B{FORM_HEADER_ROWS[2]}", Header.FILLED_BY, "请填写填报人姓名。")
        self._prompt(f"E{FORM_HEADER_ROWS[2]}", Header.PHONE, "请填写联系电话（手机或座机），便于核实数据。")

    def _note(self) -> None:
        last = get_column_letter(len(TABLE_HEADERS))
        self._put(FORM_NOTE_ROW, 1, _note_text(self.config, self.unit, self.period, self.details), "note")
        self._merge(f"A{FORM_NOTE_ROW}:{last}{FORM_NOTE_ROW}")
        lines = self.sheet.cell(row=FORM_NOTE_ROW, column=1).value.count("\n") + 1
        self.sheet.row_dimensions[FORM_NOTE_ROW].height = lines * _LINE_HEIGHT + 4

    def _table_header(self) -> None:
        for column, name in enumerate(TABLE_HEADERS, start=1):
            self._put(FORM_TABLE_HEADER_ROW, column, name, "th")
            self.sheet.column_dimensions[get_column_letter(column)].width = _WIDTHS[name]
        self.sheet.row_dimensions[FORM_TABLE_HEADER_ROW].height = 22

    def _body(self, indicators: list[Indicator]) -> int:
        row, number = FORM_FIRST_BODY_ROW, 0
        for group_index, (activity_id, members) in enumerate(_group_by_activity(self.config, indicators)):
            activity = self.config.activity(activity_id)
            # Not merged: the name overflows into the empty cells to its right (merging costs
            # openpyxl ~3 ms a row and makes the sheet harder to edit).
            self._put(row, 1, None, "group")
            self._put(row, 2, f"{cn_numeral(group_index + 1)}、{activity.name}", "group_first")
            for column in range(3, len(TABLE_HEADERS)):
                self._put(row, column, None, "group_mid")
            self._put(row, len(TABLE_HEADERS), None, "group_last")
            row += 1
            for indicator in members:
                number += 1
                self._indicator_row(row, number, indicator)
                row += 1
        return row - 1

    def _narrative(self, row: int) -> int:
        """The narrative section below the table: a heading, the length hint, one labelled
        free-text cell per field (label in the 指标名称 column, text across the rest). Returns
        the last row written."""
        last = get_column_letter(len(TABLE_HEADERS))
        self._put(row, 1, None, "group")
        self._put(row, 2, NARRATIVE_HEADING, "group_first")
        for column in range(3, len(TABLE_HEADERS)):
            self._put(row, column, None, "group_mid")
        self._put(row, len(TABLE_HEADERS), None, "group_last")
        hint = _NARRATIVE_HINT.format(office=self.config.campaign.office_short)
        self._put(row + 1, 1, hint, "note")
        self._merge(f"A{row + 1}:{last}{row + 1}")
        self.sheet.row_dimensions[row + 1].height = _lines(hint, sum(_WIDTHS.values()), 10) * _LINE_HEIGHT + 4
        first_text = _COL[INDICATOR_LABEL] + 1
        width = sum(_WIDTHS[h] for h in TABLE_HEADERS[first_text - 1:])
        start = row + 2
        for offset, label in enumerate(NARRATIVE_LABELS):
            r = start + offset
            self._put(r, 1, None, "cell")
            self._put(r, _COL[INDICATOR_LABEL], label, "narrative_label")
            self._put(r, first_text, None, "narrative_input")
            for column in range(first_text + 1, len(TABLE_HEADERS) + 1):   # covered by the merge: border only
                self._put(r, column, None, "narrative_cover")
            self._merge(f"{get_column_letter(first_text)}{r}:{last}{r}")
            self.sheet.row_dimensions[r].height = _lines("字" * NARRATIVE_MAX_CHARS, width) * _LINE_HEIGHT + 4
            validation = DataValidation(type="textLength", operator="lessThanOrEqual", formula1=str(NARRATIVE_MAX_CHARS),
                                        allow_blank=True)
            _messages(validation, label, _NARRATIVE_PROMPT, "文字较长",
                      f"建议不超过{NARRATIVE_MAX_CHARS}字；仍可保存，简报编发时可能删节。", error_style="warning")
            validation.add(f"{get_column_letter(first_text)}{r}")
            self.sheet.add_data_validation(validation)
        return start + len(NARRATIVE_LABELS) - 1

    def _indicator_row(self, row: int, number: int, indicator: Indicator) -> None:
        self.rows[indicator.id] = row
        self._put(row, _COL[SERIAL_LABEL], number, "cell_center")
        self._put(row, _COL[INDICATOR_LABEL], indicator.name, "cell")
        self._put(row, _COL["单位"], indicator.unit or None, "cell_center")
        self._put(row, _COL[PREVIOUS_LABEL], self.previous.get(indicator.id), "previous")
        style = {"text": "input_text", "date": "input_date"}.get(indicator.kind, "input")
        self._put(row, _COL[VALUE_LABEL], None, style)
        self._put(row, _COL[HELP_LABEL], indicator.help or None, "help")
        self._put(row, _COL[HINT_LABEL], None, "hint")
        # Neither LibreOffice nor Excel re-fits row heights of a file they did not save.
        lines = max(_lines(indicator.help, _WIDTHS[HELP_LABEL], _FONT_NOTE.size),
                    _lines(indicator.name, _WIDTHS[INDICATOR_LABEL]))
        self.sheet.row_dimensions[row].height = max(_ROW_HEIGHT, lines * _LINE_HEIGHT + 4)
        validation = _indicator_validation(self.config, indicator)
        if validation is not None:
            validation.add(f"{_letter('截至本期累计')}{row}")
            self.sheet.add_data_validation(validation)

    def _hints(self, indicators: list[Indicator]) -> None:
        """Fill 校验提示: per row, the rules that end on it, then the below-last-period check."""
        parts: dict[int, list[tuple[str, str]]] = {row: [] for row in self.rows.values()}   # (formula, text)
        value_col, previous_col = _letter(VALUE_LABEL), _letter(PREVIOUS_LABEL)
        cell_of = lambda indicator_id: f"{value_col}{self.rows[indicator_id]}"  # noqa: E731
        for rule in self.config.rules_for(self.unit):
            ids = expr.names(rule.expr)
            if ids:
                # The hint sits on the rule's lowest row: the one the clerk fills last.
                row = max(self.rows[i] for i in ids)
                parts[row].append((_rule_hint(self.config, rule, cell_of), rule_wording(self.config, rule)))
        for indicator in indicators:
            if indicator.kind in _CUMULATIVE_KINDS:
                row = self.rows[indicator.id]
                parts[row].append((_below_previous_hint(f"{value_col}{row}", f"{previous_col}{row}"), _BELOW_PREVIOUS))
        hint_col = _COL[HINT_LABEL]
        for row, row_parts in parts.items():
            if not row_parts:
                continue
            self.sheet.cell(row=row, column=hint_col).value = "=" + "&".join(f for f, _ in row_parts)
            if len(row_parts) > 1:   # room for every message at once
                lines = _lines("".join(_sentence(t) for _, t in row_parts), _WIDTHS[HINT_LABEL], _FONT_HINT.size)
                dimension = self.sheet.row_dimensions[row]
                dimension.height = max(dimension.height or 0, lines * _LINE_HEIGHT + 2)

    def _prompt(self, ref: str, title: str, text: str) -> None:
        validation = DataValidation(allow_blank=True, showInputMessage=True, promptTitle=title, prompt=text)
        validation.add(ref)
        self.sheet.add_data_validation(validation)

    def _page(self, last_row: int) -> None:
        _print_setup(self.sheet, landscape=True, title_rows=f"{FORM_TABLE_HEADER_ROW}:{FORM_TABLE_HEADER_ROW}")
        self.sheet.print_area = f"A1:{get_column_letter(len(TABLE_HEADERS))}{max(last_row, FORM_TABLE_HEADER_ROW)}"
        self.sheet.freeze_panes = f"A{FORM_FIRST_BODY_ROW}"
        first_input = min(self.rows.values(), default=FORM_FIRST_BODY_ROW)
        self.sheet.sheet_view.selection[0].activeCell = f"{_letter('截至本期累计')}{first_input}"
        self.sheet.sheet_view.selection[0].sqref = f"{_letter('截至本期累计')}{first_input}"


def _note_text(config: Config, unit: Unit, period: int, filled: DetailRows) -> str:
    camp, when = config.campaign, config.period(period)
    lines = [
        f"说明：1. 本表数据为{fmt_date_full(camp.start)}以来的累计数；请在黄色单元格内填写，数值不要带单位或文字。",
        f"2. 请于{fmt_deadline_full(when.deadline)}前报送{camp.office_short}；"
        "“校验提示”栏出现红字时，请核对后再报送。",
    ]
    details = config.details_for(unit)
    blank = [d.name for d in details if not filled.get(d.id)]
    carried = [d.name for d in details if filled.get(d.id)]
    if blank:
        names = "、".join(f"“{name}”" for name in blank)
        lines.append(f"{len(lines) + 1}. {names}请在同名工作表中逐行填写。")
    if carried:
        names = "、".join(f"“{name}”" for name in carried)
        lines.append(f"{len(lines) + 1}. {names}已预填上期已接收的明细，请在同名工作表中逐行核对、更新；"
                     "新增的续填在下方，已撤销的整行删除。")
    if camp.contact:
        lines.append(f"{len(lines) + 1}. 联系方式：{camp.contact}")
    return "\n".join(lines)


def _group_by_activity(config: Config, indicators: list[Indicator]) -> list[tuple[str, list[Indicator]]]:
    """Indicators grouped by activity, activities in config order."""
    groups = {a.id: [] for a in config.activities}
    for indicator in indicators:
        groups.setdefault(indicator.activity, []).append(indicator)
    return [(activity_id, members) for activity_id, members in groups.items() if members]


# ---- data validation ---------------------------------------------------------------------------

def _number_rule(kind: str, minimum: Optional[float], maximum: Optional[float]) -> tuple[str, str, str, Optional[str], str]:
    """(validation type, operator, formula1, formula2, Chinese description) for a numeric kind."""
    vtype = "whole" if kind == "count" else "decimal"
    what = "整数" if kind == "count" else "数字"
    low = 0 if minimum is None else minimum
    if maximum is not None:
        return vtype, "between", _num(low), _num(maximum), f"{_num(low)}到{_num(maximum)}之间的{what}"
    return vtype, "greaterThanOrEqual", _num(low), None, f"大于或等于{_num(low)}的{what}"


def _indicator_validation(config: Config, indicator: Indicator) -> Optional[DataValidation]:
    unit = f"（单位：{indicator.unit}）" if indicator.unit else ""
    help_text = f"{indicator.help}。" if indicator.help and indicator.help[-1] not in "。；！？）" else indicator.help
    if indicator.kind == "text":
        return None
    if indicator.kind == "date":
        start, end = config.campaign.start, config.campaign.end
        what = f"{fmt_date_full(start)}至{fmt_date_full(end)}之间的日期"
        validation = DataValidation(type="date", operator="between",
                                    formula1=str(int(excel_serial(start))), formula2=str(int(excel_serial(end))))
    else:
        vtype, op, low, high, what = _number_rule(indicator.kind, indicator.min, indicator.max)
        validation = DataValidation(type=vtype, operator=op, formula1=low, formula2=high)
    prompt = f"{help_text}请填写截至本期的累计数，应为{what}{unit}。"
    error = f"“{indicator.name}”应为{what}{unit}，不要带单位或文字。"
    _messages(validation, indicator.name, prompt, "输入有误", error)
    return validation


def _messages(validation: DataValidation, title: str, prompt: str, error_title: str, error: str,
              error_style: str = "stop") -> None:
    validation.allow_blank = True
    validation.showInputMessage = validation.showErrorMessage = True
    validation.promptTitle = title[:_PROMPT_TITLE_MAX]
    validation.prompt = prompt[:_PROMPT_MAX]
    validation.errorTitle = error_title[:_ERROR_TITLE_MAX]
    validation.error = error[:_ERROR_MAX]
    validation.errorStyle = error_style


# ---- 校验提示 formulas -------------------------------------------------------------------------

_BELOW_PREVIOUS = "低于上期累计数，累计数不应减少，请核对"


def _rule_hint(config: Config, rule: Rule, cell_of: Callable[[str], str]) -> str:
    """IF(any figure blank, "", IF(rule holds, "", message)); IFERROR around it when it divides."""
    cells = [cell_of(i) for i in expr.names(rule.expr)]
    blank = f'{cells[0]}=""' if len(cells) == 1 else "OR(" + ",".join(f'{c}=""' for c in cells) + ")"
    check = expr.to_excel(rule.expr, cell_of)
    message = _hint_text(rule_wording(config, rule), _left_side(rule.expr, cell_of))
    judged = f'IF({check},"",{message})'
    if "/" in check:
        judged = f'IFERROR({judged},"")'   # a zero denominator is not a finding
    return f'IF({blank},"",{judged})'


def _below_previous_hint(value_cell: str, previous_cell: str) -> str:
    text = _excel_string(_sentence(_BELOW_PREVIOUS))
    return f'IF(OR({value_cell}="",{previous_cell}=""),"",IF({value_cell}<{previous_cell},{text},""))'


def _left_side(node: expr.Expr, cell_of: Callable[[str], str]) -> Optional[str]:
    if isinstance(node, expr.Binary) and node.op in FAILED_PHRASE:
        return expr.to_excel(node.left, cell_of)
    return None


def _hint_text(message: str, value_formula: Optional[str]) -> str:
    """The message as an Excel string expression; `{value}` becomes the rounded left side."""
    pieces = _sentence(message).split("{value}")
    if value_formula is None:
        return _excel_string("".join(pieces))
    terms: list[str] = []
    for i, piece in enumerate(pieces):
        if i:
            terms.append(f"ROUND({value_formula},2)")
        if piece:
            terms.append(_excel_string(piece))
    return "&".join(terms)


def _sentence(text: str) -> str:
    """End with 。 so that two hints in one cell read as two sentences."""
    return text if text.endswith(("。", "！", "？", "；")) else text + "。"


def _excel_string(text: str) -> str:
    """A string literal for a formula; Excel caps one literal at 255 characters, so join pieces."""
    chunks = [text[i:i + _EXCEL_LITERAL_MAX] for i in range(0, len(text), _EXCEL_LITERAL_MAX)] or [""]
    return "&".join('"' + chunk.replace('"', '""') + '"' for chunk in chunks)


# ---- detail sheets -------------------------------------------------------------------------------

class _ListSheet:
    """The hidden sheet for choice lists too long (or too awkward) for an inline list formula."""

    def __init__(self, workbook: Workbook):
        self.workbook = workbook
        self.sheet: Optional[Worksheet] = None

    def range_for(self, choices: list[str]) -> str:
        if self.sheet is None:
            self.sheet = self.workbook.create_sheet(LISTS_SHEET)
            self.sheet.sheet_state = "hidden"
        column = self.sheet.max_column + (1 if self.sheet["A1"].value is not None else 0)
        for row, choice in enumerate(choices, start=1):
            _set_value(self.sheet.cell(row=row, column=column), choice)
        letter = get_column_letter(column)
        return f"{quote_sheetname(LISTS_SHEET)}!${letter}$1:${letter}${len(choices)}"


def _choice_formula(choices: list[str], lists: _ListSheet) -> str:
    inline = ",".join(choices)
    if len(inline) <= _INLINE_LIST_MAX and not any(("," in c or '"' in c) for c in choices):
        return f'"{inline}"'
    return lists.range_for(choices)


_DETAIL_FORMAT = {"text": "@", "choice": "@", "date": FORM_DATE_FORMAT}


def _detail_width(column: DetailColumn) -> float:
    if column.kind == "choice":
        longest = max((len(c) for c in column.choices), default=4)
        return min(max(longest * 2 + 4, len(column.name) * 2 + 2), 36)
    base = {"text": 30, "date": 16}.get(column.kind, 14)
    return max(base, len(column.name) * 2 + 2)


def _detail_validation(config: Config, column: DetailColumn,
                       lists: _ListSheet) -> Optional[DataValidation]:
    camp = config.campaign
    if column.kind == "choice":
        validation = DataValidation(type="list", formula1=_choice_formula(column.choices, lists))
        shown = "、".join(column.choices)
        _messages(validation, column.name, f"请从下拉列表中选择：{shown}", "输入有误",
                  f"“{column.name}”只能从下拉列表中选择。")
    elif column.kind == "date":
        what = f"{fmt_date_full(camp.start)}至{fmt_date_full(camp.end)}之间的日期"
        validation = DataValidation(type="date", operator="between", formula1=str(int(excel_serial(camp.start))),
                                    formula2=str(int(excel_serial(camp.end))))
        # A warning, not a stop: a counter opened before the campaign is real and may be entered
        # after confirming; the reader reports dates outside the campaign for review.
        _messages(validation, column.name, f"请填写{what}，如 {camp.start:%Y/%m/%d}。", "日期有误",
                  f"“{column.name}”应为{what}（如 {camp.start:%Y/%m/%d}）。确需填写活动期间以外的日期请点“是”。",
                  error_style="warning")
    elif column.kind in ("money", "count", "number"):
        vtype, op, low, high, what = _number_rule(column.kind, None, None)
        validation = DataValidation(type=vtype, operator=op, formula1=low, formula2=high)
        _messages(validation, column.name, f"请填写{what}。", "输入有误", f"“{column.name}”应为{what}，不要带单位或文字。")
    else:
        return None
    return validation


_DETAIL_WIDTH_MAX = 48          # a text column wider than this wraps instead
_DETAIL_STYLE = {"text": "detail_text", "choice": "detail_text", "date": "detail_date", "money": "detail_money"}


@dataclass
class _DetailSheet:
    """A detail sheet: its title, the unit and period (so a printed page says whose list it is),
    the header row (序号 + the config's column names), then `max_rows` rows to fill in, the
    first of them pre-filled with the rows of the unit's last accepted return.

    The input cells are formatted per column (`<col style>`: unlocked, number format) instead
    of per cell, which is how Excel itself stores a formatted column: 300 rows × 8 columns of
    styled cells would triple the time to write a form. The yellow fill and borders of the
    offered rows come from one conditional format, so printing still stops at the last row
    actually filled in."""

    config: Config
    unit: Unit
    period: int
    detail: DetailList
    sheet: Worksheet
    style: _Styler
    lists: _ListSheet
    rows: list[Mapping[str, object]]

    def build(self) -> None:
        headers = [SERIAL_LABEL] + [c.name for c in self.detail.columns]
        self._title(len(headers))
        widths = self._columns(headers)
        for number, row in enumerate(self.rows, start=1):
            self._row(DETAIL_HEADER_ROW + number, number, row, widths)
        last_letter = get_column_letter(len(headers))
        first, last = DETAIL_HEADER_ROW + 1, DETAIL_HEADER_ROW + self.detail.max_rows
        self.sheet.conditional_formatting.add(
            f"A{first}:{last_letter}{last}", FormulaRule(formula=["TRUE"], fill=_FILL_INPUT, border=_BORDER))
        self.sheet.row_dimensions[DETAIL_HEADER_ROW].height = 30
        self.sheet.freeze_panes = f"B{first}"
        self.sheet.protection.sheet = True
        self.sheet.protection.formatColumns = False
        self.sheet.protection.formatRows = False
        _print_setup(self.sheet, landscape=sum(widths.values()) > 100, title_rows=f"1:{DETAIL_HEADER_ROW}")
        self.sheet.print_options.gridLines = True   # filled rows print with lines (the fill above is screen-only)

    def _title(self, width: int) -> None:
        last = get_column_letter(width)
        when = self.config.period(self.period).cutoff
        title = self.sheet.cell(row=DETAIL_TITLE_ROW, column=1)
        _set_value(title, f"{self.detail.name}（第{self.period}期）")
        self.style(title, "detail_title")
        self.sheet.merged_cells.add(MergedCellRange(self.sheet, f"A{DETAIL_TITLE_ROW}:{last}{DETAIL_TITLE_ROW}"))
        self.sheet.row_dimensions[DETAIL_TITLE_ROW].height = 28
        line = f"{Header.UNIT_NAME}：{self.unit.full_name}　　{Header.UNIT_CODE}：{self.unit.code}　　截至{fmt_date_full(when)}"
        if self.rows:
            line += f"　　已预填上期已接收的{len(self.rows)}行，请核对更新"
        unit = self.sheet.cell(row=DETAIL_UNIT_ROW, column=1)
        _set_value(unit, line)
        self.style(unit, "detail_unit")
        self.sheet.merged_cells.add(MergedCellRange(self.sheet, f"A{DETAIL_UNIT_ROW}:{last}{DETAIL_UNIT_ROW}"))
        self.sheet.row_dimensions[DETAIL_UNIT_ROW].height = 20

    def _columns(self, headers: list[str]) -> dict[int, float]:
        """Header cells and column formats; each column as wide as its longest pre-filled text
        (up to `_DETAIL_WIDTH_MAX`, beyond which it wraps). Returns column index -> width."""
        widths: dict[int, float] = {}
        columns: list[Optional[DetailColumn]] = [None, *self.detail.columns]
        last_row = DETAIL_HEADER_ROW + self.detail.max_rows
        for index, (name, column) in enumerate(zip(headers, columns), start=1):
            self.style(self.sheet.cell(row=DETAIL_HEADER_ROW, column=index, value=name), "th")
            letter = get_column_letter(index)
            dimension = self.sheet.column_dimensions[letter]
            widths[index] = 6 if column is None else self._width(column)
            dimension.width = widths[index]
            dimension.protection = _UNLOCKED
            dimension.font = _FONT
            dimension.number_format = _DETAIL_FORMAT.get(column.kind if column else "count", "General")
            if column is not None and column.kind == "text":
                dimension.alignment = _LEFT   # what a clerk types wraps rather than running under the next column
            validation = _detail_validation(self.config, column, self.lists) if column else None
            if validation is not None:
                validation.add(f"{letter}{DETAIL_HEADER_ROW + 1}:{letter}{last_row}")
                self.sheet.add_data_validation(validation)
        return widths

    def _width(self, column: DetailColumn) -> float:
        filled = [_text_width(_detail_cell_value(column, row.get(column.id))) for row in self.rows]
        return min(max([_detail_width(column)] + [w + 2 for w in filled]), _DETAIL_WIDTH_MAX)

    def _row(self, row: int, number: int, values: Mapping[str, object], widths: dict[int, float]) -> None:
        serial = self.sheet.cell(row=row, column=1)
        serial.value = number
        self.style(serial, "detail_number")
        lines = 1
        for index, column in enumerate(self.detail.columns, start=2):
            value = _detail_cell_value(column, values.get(column.id))
            cell = self.sheet.cell(row=row, column=index)
            if value is not None:
                _set_value(cell, value)
            self.style(cell, _DETAIL_STYLE.get(column.kind, "detail_number"))
            if isinstance(value, str):
                lines = max(lines, math.ceil(_text_width(value) / max(widths[index] - 1, 1)))
        if lines > 1:   # neither Excel nor LibreOffice re-fits a row of a file they did not save
            self.sheet.row_dimensions[row].height = lines * _LINE_HEIGHT + 3


def _detail_cell_value(column: DetailColumn, value: object) -> object:
    """An archived detail value as the cell takes it: a date (archived as ISO text) as a date, a
    whole count as an integer, text as text (never a formula: `_set_value`)."""
    if value is None or value == "":
        return None
    if column.kind == "date" and isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return value          # as the clerk typed it (archived with a warning)
    if column.kind in ("money", "count", "number") and isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value) if column.kind == "count" and float(value).is_integer() else value
    return str(value)


def _text_width(value: object) -> float:
    """Width of a value in Excel's units (a CJK character is two)."""
    if value is None:
        return 0
    if isinstance(value, dt.date):
        return 12
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in str(value))


# ---- the meta sheet, printing, files -------------------------------------------------------------

def _write_meta_sheet(config: Config, unit: Unit, period: int, sheet: Worksheet) -> None:
    rows = [
        (Meta.TEMPLATE_VERSION, config.campaign.template_version),
        (Meta.UNIT_CODE, unit.code),
        (Meta.UNIT_NAME, unit.full_name),
        (Meta.PERIOD, period),
        (Meta.CAMPAIGN, config.campaign.name),
    ]
    for row, (key, value) in enumerate(rows, start=1):
        sheet.cell(row=row, column=1, value=key)
        _set_value(sheet.cell(row=row, column=2), value)
    sheet.sheet_state = "hidden"
    sheet.protection.sheet = True


def _print_setup(sheet: Worksheet, landscape: bool, title_rows: str) -> None:
    setup = sheet.page_setup
    setup.paperSize = sheet.PAPERSIZE_A4
    setup.orientation = "landscape" if landscape else "portrait"
    setup.fitToWidth, setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.page_margins.top, sheet.page_margins.bottom = 0.6, 0.6
    sheet.print_title_rows = title_rows
    sheet.oddFooter.center.text = "第 &P 页，共 &N 页"


# ---- small helpers ------------------------------------------------------------------------------

def _resolve_unit(config: Config, unit: Unit | str) -> Unit:
    if isinstance(unit, Unit):
        return unit
    try:
        return config.unit(unit)
    except KeyError:
        raise KeyError(f"配置中没有单位代码 {unit}") from None


def _set_value(cell: Cell, value) -> None:
    """Assign a value; text is always text (a name beginning with = must not become a formula)."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"


def _letter(header: str) -> str:
    return get_column_letter(_COL[header])


def _lines(text: str, width: float, size: float = 11) -> int:
    """Lines `text` in a `size`-point font wraps to in a column `width` characters wide
    (Excel's width unit is a digit of the 11 pt default font; a CJK character at 11 pt is two)."""
    units = sum(2 if ord(ch) > 0x2E80 else 1 for ch in text or "") * size / 11
    return max(1, math.ceil(units / max(width - 2, 1)))


def _num(value: float) -> str:
    return f"{value:.15g}"
