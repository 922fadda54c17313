"""The feedback workbook sent back to a unit: its own return, problem cells marked and explained.

For a rejected return (`退回_第2期_南宁市_武鸣区.xlsx`) or one accepted with warnings
(`提示_第2期_…`): the received workbook with every problem cell filled red (错误) or orange
(警告) and the message attached as a comment, and a first sheet `问题清单` listing every
issue with an instruction line and the deadline to resend.

Nothing from the received file may act when the unit opens our workbook: it is loaded
without its VBA project, formulas are replaced by their cached values, external links,
defined names, hyperlinks and conditional formats are dropped, and every received string
is written as text (a `=HYPERLINK(...)` or `#DIV/0!` string stays a string). Pictures are
left out (they mark no cell, and a writer cannot be trusted with every picture format a
received file may hold: openpyxl fails on a WebP), and control characters, which XML
cannot hold (a cached `=CHAR(7)`), are dropped from every text. When the original cannot be
opened (a legacy .xls, an .ods, a damaged file) the workbook holds the list alone.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Optional

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell, MergedCell
from openpyxl.comments import Comment
from openpyxl.formatting.formatting import ConditionalFormattingList
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from ..config import Config, Unit
from ..contract import FEEDBACK_REJECTED_PREFIX, FEEDBACK_WARNED_PREFIX, FORM_SHEET
from ..errors import NotConfigured
from ..wording import fmt_deadline_full
from ..filenames import safe_filename, unique_name
from ..issues import Issue, Severity, column_letter
from ..archive.locking import atomic_write
from ..intake.records import CellError, RawWorkbook

__all__ = ["write_feedback", "feedback_name", "LIST_SHEET", "ERROR_COLOR", "WARNING_COLOR", "AUTHOR"]

LIST_SHEET = "问题清单"
ERROR_COLOR = "FFFF7C80"     # red: must be corrected
WARNING_COLOR = "FFFFC000"   # orange: please check
AUTHOR = "xf-excel 校验"      # author of our comments (so a resent feedback workbook can be cleaned)
LIST_COLUMNS = ("序号", "严重程度", "工作表", "单元格", "指标", "填报值", "问题说明")
_WIDTHS = (6, 9, 12, 10, 24, 16, 64)
_LINE_HEIGHT = 15          # points per line of 11 pt text
_FIRST_LIST_ROW = 6


def write_feedback(raw_content: bytes, file_name: str, issues: list[Issue], config: Config, unit: Optional[Unit],
                   period: int, out_dir: Path, *, received: Optional[RawWorkbook] = None,
                   taken: Optional[set[str]] = None, now: Optional[dt.datetime] = None) -> Path:
    """Write the feedback workbook for one received return and return its path.

    `raw_content` is the file as received, `file_name` its name (shown in the list and used
    for the output name when the unit is unknown). `received`, the same file as intake read
    it, supplies the cached results of formulas (else the file is parsed a second time for
    them). `taken`: names already written in this batch; a clash gets ` (2)` rather than
    replacing another unit's feedback (a name from an earlier run is replaced). `now`: when it is
    sent (default: now); past the period's deadline the unit is asked to resend 尽快. Example::

        >>> write_feedback(received.content, received.name, checked.issues, config, checked.unit, 2, Path("out"))
        PosixPath('out/退回_第2期_南宁市_武鸣区.xlsx')
    """
    rejected = any(issue.blocking for issue in issues)
    ordered = sorted(issues, key=lambda i: i.severity is not Severity.ERROR)   # errors first, order kept
    opened = _open_received(raw_content, need_cached=received is None)
    if opened is None:
        workbook = Workbook()
        workbook.remove(workbook.active)
    else:
        workbook, cached = opened
        _neutralise(workbook, _cached_lookup(cached, received))
        _mark_cells(workbook, ordered)
    _write_list(workbook, ordered, config, unit, period, file_name, rejected, now or dt.datetime.now())
    out_dir = Path(out_dir)
    name = feedback_name(unit, period, file_name, rejected)
    path = out_dir / (unique_name(name, taken) if taken is not None else name)
    return atomic_write(path, workbook.save)


def feedback_name(unit: Optional[Unit], period: int, file_name: str, rejected: bool) -> str:
    """`退回_第2期_南宁市_武鸣区.xlsx` / `提示_第2期_自治区总工会.xlsx`; from the received name
    (without any folder part) when the unit is unknown. Safe as a file name on Windows and Linux."""
    prefix = FEEDBACK_REJECTED_PREFIX if rejected else FEEDBACK_WARNED_PREFIX
    if unit is not None:
        who = f"{unit.city_name}_{unit.name}" if unit.kind == "county" else unit.name
        stem = f"第{period}期_{who}"
    else:
        stem = re.split(r"[\\/]", file_name)[-1].rsplit(".", 1)[0] or "未知文件"
    return safe_filename(f"{prefix}{stem}.xlsx", default="反馈.xlsx", path=False)


# ---- the received workbook, made inert -------------------------------------------------------------

def _open_received(content: bytes, need_cached: bool) -> Optional[tuple[Workbook, Optional[Workbook]]]:
    """The received workbook with its formulas (to replace), and, if asked, the same with
    cached values; None when openpyxl cannot open it (.xls, damaged, encrypted)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # unsupported extensions (slicers, …) are dropped, as intended
            workbook = load_workbook(io.BytesIO(content), keep_vba=False, keep_links=False, rich_text=False)
            cached = (load_workbook(io.BytesIO(content), data_only=True, keep_vba=False, keep_links=False)
                      if need_cached else None)
    except Exception:  # noqa: BLE001 - any failure to parse means "write the list alone"
        return None
    return workbook, cached


CachedLookup = Callable[[str, int, int], Any]


def _cached_lookup(cached: Optional[Workbook], received: Optional[RawWorkbook]) -> CachedLookup:
    """(sheet title, row, column) -> the formula's cached result, from intake's reading of the
    file when there is one (calamine returns cached results), else from openpyxl's data_only."""
    if received is not None:
        def from_grid(title: str, row: int, column: int) -> Any:
            sheet = received.sheet(title)
            value = sheet.value(row, column) if sheet is not None else None
            return str(value) if isinstance(value, CellError) else value
        return from_grid

    def from_openpyxl(title: str, row: int, column: int) -> Any:
        if cached is None or title not in cached.sheetnames:
            return None
        return cached[title].cell(row=row, column=column).value
    return from_openpyxl


def _neutralise(workbook: Workbook, cached: CachedLookup) -> None:
    """Make everything in the received workbook passive data (see the module docstring)."""
    for name in list(workbook.defined_names):
        del workbook.defined_names[name]
    if LIST_SHEET in workbook.sheetnames:        # a feedback workbook sent back to us
        workbook.remove(workbook[LIST_SHEET])
    for sheet in workbook.chartsheets:
        sheet._images = []
    for sheet in workbook.worksheets:
        sheet._images = []
        sheet.defined_names.clear()
        sheet.conditional_formatting = ConditionalFormattingList()
        sheet.data_validations.dataValidation = [dv for dv in sheet.data_validations.dataValidation if _plain_list(dv)]
        for row in sheet.iter_rows():
            for cell in row:
                _neutralise_cell(cell, sheet.title, cached)


def _neutralise_cell(cell: Cell, title: str, cached: CachedLookup) -> None:
    if isinstance(cell, MergedCell):
        return
    if cell.hyperlink is not None:
        cell.hyperlink = None
    if cell.comment is not None and cell.comment.author == AUTHOR:
        cell.comment = None                       # our own note from an earlier feedback round
        if cell.fill.fgColor.rgb in (ERROR_COLOR, WARNING_COLOR):
            cell.fill = PatternFill(fill_type=None)
    if cell.data_type == "f":
        _put(cell, cached(title, cell.row, cell.column))
    elif isinstance(cell.value, str) and (cell.data_type != "s" or ILLEGAL_CHARACTERS_RE.search(cell.value)):
        _put(cell, cell.value)                    # a received error value kept as text; control characters out


_LIST_LITERAL = re.compile(r'"[^"]*"')
_RANGE = re.compile(r"(?:'[^']+'|[^\s!'()]+)!\$?[A-Z]{1,3}\$?[0-9]+(?::\$?[A-Z]{1,3}\$?[0-9]+)?")


def _plain_list(validation) -> bool:
    """Keep drop-down lists of literal choices or of a plain range (as our forms make); drop
    validations whose formulas could compute anything."""
    formulas = [f for f in (validation.formula1, validation.formula2) if f]
    return validation.type == "list" and all(_LIST_LITERAL.fullmatch(f) or _RANGE.fullmatch(f) for f in formulas)


def _put(cell: Cell, value: Any) -> None:
    """Assign a value; text stays text (openpyxl would turn `=…` into a formula and `#DIV/0!` into an
    error) and loses the control characters XML cannot hold."""
    if isinstance(value, str):
        value = _printable(value)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"


def _printable(text: str) -> str:
    """`text` without the control characters XML 1.0 cannot hold (tab and line breaks stay)."""
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def _mark_cells(workbook: Workbook, issues: list[Issue]) -> None:
    """Fill each problem cell (red for 错误, orange for 警告) and attach its messages as one comment."""
    notes: dict[tuple[str, int, int], list[Issue]] = defaultdict(list)
    for issue in issues:
        if issue.sheet in workbook.sheetnames and issue.row and issue.column:
            notes[(issue.sheet, issue.row, issue.column)].append(issue)
    for (sheet_name, row, column), found in notes.items():
        cell = _top_left(workbook[sheet_name], row, column)
        error = any(i.blocking for i in found)
        color = ERROR_COLOR if error else WARNING_COLOR
        cell.fill = PatternFill(fill_type="solid", fgColor=color, bgColor=color)
        text = _printable("\n".join(f"【{i.severity.value}】{i.message}" for i in found))
        comment = Comment(text, AUTHOR)
        comment.width, comment.height = 320, min(60 + 18 * (len(text) // 18), 400)
        cell.comment = comment


def _top_left(sheet: Worksheet, row: int, column: int) -> Cell:
    for merged in sheet.merged_cells.ranges:
        if merged.min_row <= row <= merged.max_row and merged.min_col <= column <= merged.max_col:
            return sheet.cell(merged.min_row, merged.min_col)
    return sheet.cell(row, column)


# ---- the 问题清单 sheet ------------------------------------------------------------------------------

def _write_list(workbook: Workbook, issues: list[Issue], config: Config, unit: Optional[Unit], period: int,
                file_name: str, rejected: bool, now: dt.datetime) -> None:
    sheet = workbook.create_sheet(LIST_SHEET, 0)
    for other in workbook.worksheets[1:]:
        other.sheet_view.tabSelected = False
    workbook.active = 0
    errors = sum(1 for i in issues if i.blocking)
    instruction = _instruction(config, period, rejected, now)
    who = unit.full_name if unit else "（未能确定）"
    lines = [
        (instruction, Font(bold=True, size=14, color="FFC00000" if rejected else "FF000000")),
        (f"填报单位：{who}　报送期次：第{period}期　收到的文件：{file_name}　共 {errors} 个错误、{len(issues) - errors} 个警告",
         Font(size=11)),
        (_how_to_resend(workbook, issues), Font(size=11, bold=True)),
        ("红色单元格为错误（必须修改），橙色为警告（请核对）；单元格的批注中有说明。"
         + (f"如有疑问，请联系{config.campaign.contact}。" if config.campaign.contact else ""), Font(size=10, color="FF595959")),
    ]
    last = column_letter(len(LIST_COLUMNS))
    for row, (text, font) in enumerate(lines, start=1):
        cell = sheet.cell(row, 1)
        _put(cell, text)
        cell.font = font
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        sheet.merge_cells(f"A{row}:{last}{row}")
    sheet.row_dimensions[1].height = 28
    sheet.row_dimensions[2].height = 32
    sheet.row_dimensions[3].height = 32
    _write_list_table(workbook, sheet, issues, config)
    for index, width in enumerate(_WIDTHS, start=1):
        sheet.column_dimensions[column_letter(index)].width = width
    sheet.freeze_panes = f"A{_FIRST_LIST_ROW}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True


def _how_to_resend(workbook: Workbook, issues: list[Issue]) -> str:
    """Which sheet to correct and what to send back. With the received workbook copied here
    (the list sheet is added first), the unit may correct this very file and mail it back
    under its own name; without it (.xls, .ods, a damaged file) only the original will do."""
    copied = [name for name in workbook.sheetnames if name != LIST_SHEET]
    if not copied:
        return "请在原报表中逐项修改后，把原报表重新发送；本文件只列出问题，不能代替报表。"
    named = list(dict.fromkeys(i.sheet for i in issues if i.sheet in copied)) or [
        next((n for n in copied if n == FORM_SHEET), copied[0])]
    sheets = "".join(f"“{name}”" for name in named)
    return (f"可直接在本文件的{sheets}工作表中修改标色的单元格，保存后把本文件作为附件发回（不必改名，也不必删除本页）；"
            "也可以修改原报表后重新发送。")


def _write_list_table(workbook: Workbook, sheet: Worksheet, issues: list[Issue], config: Config) -> None:
    header_row = _FIRST_LIST_ROW - 1
    for column, title in enumerate(LIST_COLUMNS, start=1):
        cell = sheet.cell(header_row, column)
        _put(cell, title)
        cell.font = Font(bold=True)
        cell.fill = PatternFill(fill_type="solid", fgColor="FFD9E1F2")
        cell.alignment = Alignment(horizontal="center", vertical="center")
    for number, issue in enumerate(issues, start=1):
        row = header_row + number
        where = f"{column_letter(issue.column)}{issue.row}" if issue.row and issue.column else (
            f"第{issue.row}行" if issue.row else "")
        values = (number, issue.severity.value, issue.sheet or "", where, _indicator_name(config, issue.indicator),
                  _shown(issue.value), issue.message)
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row, column)
            _put(cell, value)
            cell.alignment = Alignment(wrap_text=column >= 5, vertical="top")
        sheet.row_dimensions[row].height = _LINE_HEIGHT * max(_lines(issue.message, _WIDTHS[6]),
                                                               _lines(_indicator_name(config, issue.indicator), _WIDTHS[4]),
                                                               _lines(str(_shown(issue.value)), _WIDTHS[5]))
        severity = sheet.cell(row, 2)
        severity.fill = PatternFill(fill_type="solid", fgColor=ERROR_COLOR if issue.blocking else WARNING_COLOR)
        if where and issue.row and issue.column and issue.sheet in workbook.sheetnames:
            # an in-workbook link to the cell (nothing outside the file is referenced)
            link = sheet.cell(row, 4)
            link.hyperlink = Hyperlink(ref=link.coordinate, location=f"'{issue.sheet}'!{where}")
            link.font = Font(color="FF0563C1", underline="single")


def _lines(text: str, width: float) -> int:
    """Lines a wrapped text needs in a column `width` characters wide (a Chinese character is
    two), because neither Excel nor LibreOffice grows rows written by openpyxl on their own."""
    units = sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)
    return max(1, -(-units // max(int(width) - 2, 1)))


def _indicator_name(config: Config, indicator: Optional[str]) -> str:
    """An indicator's Chinese name; `counters.site_type` (a detail column) as 专柜明细·场所类型."""
    if not indicator:
        return ""
    if "." in indicator:
        list_id, column_id = indicator.split(".", 1)
        detail = next((d for d in config.details if d.id == list_id), None)
        column = next((c for c in detail.columns if c.id == column_id), None) if detail else None
        return f"{detail.name}·{column.name}" if detail and column else indicator
    try:
        return config.indicator(indicator).name
    except KeyError:
        return indicator


def _shown(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return "" if value is None else str(value)
    if isinstance(value, (int, float)):
        return value
    return str(value)


def _instruction(config: Config, period: int, rejected: bool, now: dt.datetime) -> str:
    """When to resend: by the deadline, or 尽快 once it has passed (as the reminders say)."""
    try:
        deadline: Optional[dt.datetime] = config.period(period).deadline
    except NotConfigured:
        deadline = None
    if deadline is not None and now > deadline:
        passed = f"（报送截止时间{fmt_deadline_full(deadline)}已过）"
        return (f"请按下列问题修改后，尽快重新报送{passed}。" if rejected else
                "本次报送已受理。请核对下列问题；如数据有误，请尽快修改后重新报送。")
    by = f"于{fmt_deadline_full(deadline)}前" if deadline is not None else "于规定时间内"
    return (f"请按下列问题修改后，{by}重新报送。" if rejected else
            f"本次报送已受理。请核对下列问题；如数据有误，请{by}修改后重新报送。")
