"""Consolidation -> the master workbook (XlsxWriter).

Sheets, in order: 首页, the region's 汇总 and the cities' 进展 (named after the campaign's levels:
全区汇总/各市进展, 全市汇总/各片区进展, see `contract.region_sheet`), one sheet per city (named as the city), one sheet per
member unit that reports (named by its short name), 报送情况, 校验问题, 目标 (protected).
Every number is written as a value taken from the `Consolidation` (the archive); nothing is a
formula, so any reader sees the totals. Every received text goes through `write_string`, so
nothing a unit typed can become a formula.

Entry sheets (the city and member-unit sheets) have a fixed layout, which is how staff type
corrections and how `checks.entries` reads them back (by label, not by address)::

    row 1   title
    row 2   a note (what the sheet is, how to correct it)
    row 3   header: 单位代码 | 单位名称 | 填报状态 | <indicator name exactly as in config.yaml> … | 备注
    row 4   计量单位 of each indicator column (no 单位代码: never read as data)
    row 5…  one row per unit; carried-forward rows (沿用上期) are grey and italic
    last    合计 (city sheets only; no 单位代码: never read as data)

The 首页 value cells carry the defined names of `contract.BookName` (`Period`, `InboxFolder`,
`OutputFolder`, `LastRun`, `ArchiveVersion`), which the Excel front and the check of typed
figures read; its top right (columns F–I) is left free for buttons.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from pathlib import Path
from typing import Any, Optional

import xlsxwriter

from ..config import expr
from ..config import Config, Indicator
from ..contract import (
    ENTRY_CODE_LABEL, ENTRY_FIRST_ROW, ENTRY_HEADER_ROW, ENTRY_NAME_LABEL, ENTRY_NOTE_LABEL, ENTRY_STATE_LABEL,
    ENTRY_UNIT_ROW_LABEL, ISSUE_COLUMNS, ISSUE_HISTORY_HEADING, NEWS_SHEET, BookName, Header, MasterSheet, NewsColumn,
    cities_sheet, region_sheet,
)
from ..consolidate import (
    DEFAULT_NEWS_CITIES, Consolidation, PeriodFigures, ReportingStatus, UnitRow,
)
from ..issues import Issue, Severity
from ..archive.locking import atomic_write
from .status import counted_text, reminded_text
from ..wording import fmt_date_cn, fmt_date_full, fmt_deadline

__all__ = ["write_master", "add_master_sheets", "issue_sheet_rows", "issue_history_rows"]


UNIT_STATE = {"reported": "已报", "carried": "沿用上期", "missing": "未报"}
RETURNED_STATE = "退回待重报"     # a unit whose return was sent back, whatever stands in for its figures
REPORT_STATE = {"accepted": "已报送", "warned": "已报送（有警告）", "rejected": "被退回", "missing": "未报送"}
PROGRESS_STATUS = {"met": "已完成", "ahead": "快于时间进度", "behind": "慢于时间进度",
                   "within-cap": "未超上限", "over-cap": "超过上限", "no-data": "暂无数据"}
NUMBER_FORMAT = {"count": "#,##0", "money": "#,##0.00", "number": "#,##0.00", "ratio": "0.0%"}

_HEADER_FILL, _BEHIND_FILL, _GREY_FILL, _TOTAL_FILL = "#DDEBF7", "#FCE4D6", "#EDEDED", "#F2F2F2"
_A4, _DATE, _DATETIME = 9, 'yyyy"年"m"月"d"日"', "yyyy-mm-dd hh:mm"


# ---- writing ----------------------------------------------------------------------------------

def write_master(consolidation: Consolidation, path: Path, *, inbox_folder: str | Path = "",
                 output_folder: str | Path | None = None) -> Path:
    """Write the master workbook for one consolidation and return where it went.

    Written to a temporary file beside `path`, then moved into place, so a crash never leaves a
    half-written workbook. When `path` is locked (open in Excel on Windows), the workbook is
    written beside it as `name(1).xlsx` (or (2), …) and that path is returned.

        >>> write_master(consolidate(archive, config, 2), Path("out/汇总_第2期.xlsx"))
        PosixPath('out/汇总_第2期.xlsx')
    """
    folders = (str(inbox_folder), str(output_folder if output_folder is not None else Path(path).parent.resolve()))
    return atomic_write(path, lambda temp: _build(consolidation, str(temp), folders))


def _build(c: Consolidation, filename: str, folders: tuple[str, str]) -> None:
    # in_memory: the parts are assembled in memory, not as ~40 temporary files (a third of the
    # write's time); the file itself is still written aside and moved into place (atomic_write).
    book = xlsxwriter.Workbook(filename, {"strings_to_numbers": False, "strings_to_formulas": False,
                                          "strings_to_urls": False, "in_memory": True})
    add_master_sheets(book, c, folders)
    book.close()


def add_master_sheets(book: xlsxwriter.Workbook, c: Consolidation, folders: tuple[str, str]) -> None:
    """Write every sheet of the master workbook into an open XlsxWriter book (the .xlsm
    builder adds its buttons and VBA project to the same book). `folders`: (inbox, output)."""
    styles = _Styles(book)
    _write_home(book, styles, c, folders)
    _write_region(book, styles, c)
    _write_cities(book, styles, c)
    _write_history(book, styles, c)
    for city in c.config.cities:
        _write_city_sheet(book, styles, c, city.code, city.name)
    for row in c.members:
        _write_member_sheet(book, styles, c, row)
    _write_news(book, styles, c)
    _write_reporting(book, styles, c)
    _write_chase(book, styles, c)
    _write_issues(book, styles, c)
    _write_targets(book, styles, c)


class _Styles:
    """XlsxWriter formats made once per combination (a workbook has a limit on formats)."""

    def __init__(self, book: xlsxwriter.Workbook):
        self.book = book
        self._cache: dict[tuple, Any] = {}
        self.title = book.add_format({"bold": True, "font_size": 16, "font_name": "微软雅黑"})
        self.note = book.add_format({"italic": True, "font_color": "#595959", "text_wrap": False})
        self.label = book.add_format({"bold": True, "bg_color": _HEADER_FILL, "border": 1})
        self.heading = book.add_format({"bold": True, "font_size": 12})

    def get(self, num_format: str | None = None, *, bold: bool = False, fill: str | None = None,
            grey: bool = False, wrap: bool = False, header: bool = False, align: str | None = None) -> Any:
        key = (num_format, bold, fill, grey, wrap, header, align)
        if key not in self._cache:
            spec: dict[str, Any] = {"border": 1, "valign": "vcenter"}
            if num_format:
                spec["num_format"] = num_format
            if header:
                spec.update(bold=True, bg_color=_HEADER_FILL, text_wrap=True, align="center")
            if bold:
                spec["bold"] = True
            if fill:
                spec["bg_color"] = fill
            if grey:
                spec.update(font_color="#7F7F7F", italic=True, bg_color=_GREY_FILL)
            if wrap:
                spec["text_wrap"] = True
            if align:
                spec["align"] = align
            self._cache[key] = self.book.add_format(spec)
        return self._cache[key]


def _width(text: str) -> float:
    """Column width for a text: CJK characters count double."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(text)) + 2


def _put(sheet, row: int, col: int, value: Any, fmt: Any) -> None:
    """Write a value by type (0-based row/col); text always as a string, never a formula."""
    if value is None or value == "":
        sheet.write_blank(row, col, None, fmt)
    elif isinstance(value, bool):
        sheet.write_string(row, col, "是" if value else "否", fmt)
    elif isinstance(value, (int, float)):
        sheet.write_number(row, col, value, fmt)
    elif isinstance(value, dt.datetime | dt.date):
        sheet.write_datetime(row, col, value, fmt)
    else:
        sheet.write_string(row, col, str(value), fmt)


def _header(sheet, styles: _Styles, row: int, labels: list[str], widths: Optional[list[float]] = None) -> None:
    for col, label in enumerate(labels):
        sheet.write_string(row, col, label, styles.get(header=True))
        width = widths[col] if widths and col < len(widths) and widths[col] else min(max(_width(label), 8), 40)
        sheet.set_column(col, col, width)


def _print_setup(sheet, header_row: Optional[int], *, landscape: bool, title: str) -> None:
    """A4, fit to the page width, header rows repeated (none: `header_row` None), page numbers in the footer."""
    sheet.set_paper(_A4)
    if landscape:
        sheet.set_landscape()
    sheet.fit_to_pages(1, 0)
    if header_row is not None:
        sheet.repeat_rows(header_row)
    sheet.set_margins(left=0.5, right=0.5, top=0.7, bottom=0.7)
    sheet.set_header(f"&C&\"微软雅黑,Bold\"{_escape_header(title)}")
    sheet.set_footer("&C第 &P 页，共 &N 页")


def _escape_header(text: str) -> str:
    return text.replace("&", "&&")


def _fmt(ind: Indicator) -> str:
    return NUMBER_FORMAT.get(ind.kind, "General")


def _period_title(c: Consolidation) -> str:
    return f"第{c.period.number}期（截至{fmt_date_full(c.period.cutoff)}）"


# ---- 首页 -------------------------------------------------------------------------------------

def _write_home(book, styles: _Styles, c: Consolidation, folders: tuple[str, str]) -> None:
    sheet = book.add_worksheet(MasterSheet.HOME)
    sheet.set_column(0, 0, 16)
    sheet.set_column(1, 1, 72)
    sheet.set_column(2, 4, 4)
    sheet.set_column(5, 8, 14)            # F–I: room for the buttons
    sheet.write_string(0, 0, f"{c.config.campaign.name}进展汇总", styles.title)
    sheet.write_string(1, 0, _period_title(c), styles.note)
    counts = {s: len(c.reporting_in(s)) for s in ("accepted", "warned", "rejected", "missing")}
    errors = sum(1 for i in c.issues if i.severity is Severity.ERROR)
    rows: list[tuple[str, Any, str | None, str | None]] = [
        ("期次", c.period.number, "0", BookName.PERIOD),
        ("截至日期", c.period.cutoff, _DATE, None),
        ("报送截止时间", c.period.deadline, _DATETIME, None),
        ("时间进度", c.time_schedule, "0.0%", None),
        ("应报单位数", len(c.reporting), "#,##0", None),
        ("已报送", counts["accepted"] + counts["warned"], "#,##0", None),
        ("其中有警告", counts["warned"], "#,##0", None),
        ("被退回", counts["rejected"], "#,##0", None),
        ("未报送", counts["missing"], "#,##0", None),
        ("逾期报送", sum(1 for r in c.reporting if r.late), "#,##0", None),
        ("校验问题（错误/全部）", f"{errors} / {len(c.issues)}", None, None),
        ("收件文件夹", folders[0], "@", BookName.INBOX),
        ("输出文件夹", folders[1], "@", BookName.OUTPUT),
        ("最近运行时间", c.generated_at, "yyyy-mm-dd hh:mm:ss", BookName.LAST_RUN),
        ("档案版本", c.archive_version, "0", BookName.ARCHIVE_VERSION),
    ]
    for i, (label, value, num_format, name) in enumerate(rows, start=3):
        sheet.write_string(i, 0, label, styles.label)
        _put(sheet, i, 1, value, styles.get(num_format, align="left"))
        if name:
            book.define_name(name, f"='{MasterSheet.HOME}'!$B${i + 1}")
    guide = 3 + len(rows) + 1
    sheet.write_string(guide, 0, "工作表说明", styles.get(bold=True, header=True))
    camp = c.config.campaign
    region, levels = camp.region.short_name, camp.levels
    notes = [
        (region_sheet(c.config), f"{region}各项指标累计、环比、目标完成率与时间进度"),
        (cities_sheet(c.config), f"各{levels.city}主要指标、排名指标的占比与排名"),
        (f"各{levels.city}工作表", f"各{levels.county}填报数据，可直接修改后点击“校验”；灰色为沿用上期数据"),
        (f"{levels.member}工作表", f"各{levels.member}填报数据，可直接修改后点击“校验”"),
        (MasterSheet.REPORTING, "各单位报送状态、报送时间、是否逾期及催报/退回提示文本"),
        (MasterSheet.ISSUES, "本期报表的校验问题：先列当前问题，其后另列已被更正或替换的报表中的问题"),
        (MasterSheet.TARGETS, "活动方案确定的目标任务（只读）"),
    ]
    for i, (name, text) in enumerate(notes, start=guide + 1):
        sheet.write_string(i, 0, name, styles.get(bold=True))
        sheet.write_string(i, 1, text, styles.get())
    _print_setup(sheet, 0, landscape=False, title=c.config.campaign.name)
    sheet.activate()


# ---- 全区汇总 -----------------------------------------------------------------------------------

_REGION_COLUMNS = ["活动", "指标", "计量单位", "本期累计", "上期累计", "环比增量", "目标", "完成率", "时间进度",
                   "状态", "口径", "数据来源"]


def _region_rows(c: Consolidation) -> list[dict[str, Any]]:
    """One row per indicator (one per target where it has several), in activity order."""
    config, rows = c.config, []
    by_indicator = {}
    for p in c.progress:
        by_indicator.setdefault(p.indicator.id, []).append(p)
    for activity in config.activities:
        for ind in (i for i in config.indicators if i.activity == activity.id and i.numeric):
            base = {"activity": activity.short_name, "indicator": ind, "source": _source_text(config, ind)}
            for p in by_indicator.get(ind.id) or [None]:
                if p is None:
                    value, previous = c.region.values.get(ind.id), c.region.previous.get(ind.id)
                    rows.append({**base, "value": value, "previous": previous,
                                 "increase": None if value is None or previous is None else value - previous,
                                 "scope": config.campaign.region.short_name})
                else:
                    rows.append({**base, "value": p.value, "previous": p.previous, "increase": p.increase,
                                 "target": p.target, "completion": p.completion, "schedule": p.time_schedule,
                                 "status": p.status, "scope": _scope_text(config, p.target.scope)})
    return rows


def _source_text(config: Config, ind: Indicator) -> str:
    if ind.compute:
        # the formula in the indicators' Chinese names, as staff know them
        text = expr.to_excel(ind.compute_expr, lambda name: f"「{config.indicator(name).name}」")
        return "计算：" + text.replace("*", "×").replace("/", "÷")
    if ind.count_meeting:
        return "计算：达标县数"
    if ind.source == "counties":
        return f"各{config.campaign.levels.county}汇总"
    return "、".join(config.unit(code).name for code in ind.source)


def _scope_text(config: Config, scope: str) -> str:
    return config.campaign.region.short_name if scope == "region" else config.county_groups[scope].name


def _write_region(book, styles: _Styles, c: Consolidation) -> None:
    name = region_sheet(c.config)
    sheet = book.add_worksheet(name)
    sheet.write_string(0, 0, f"{c.config.campaign.name}{name}　{_period_title(c)}", styles.title)
    sheet.write_string(1, 0, f"时间进度 {c.time_schedule:.1%}；红底为慢于时间进度或超过上限的指标；完成率以数据条显示。",
                       styles.note)
    _header(sheet, styles, 2, _REGION_COLUMNS, [20, 30, 8, 14, 14, 12, 12, 10, 10, 14, 14, 28])
    rows = _region_rows(c)
    for r, row in enumerate(rows, start=3):
        ind: Indicator = row["indicator"]
        fill = _BEHIND_FILL if row.get("status") in ("behind", "over-cap") else None
        number = styles.get(_fmt(ind), fill=fill)
        text = styles.get(fill=fill)
        target = row.get("target")
        cells = [(row["activity"], text), (ind.name, text), ("" if ind.kind == "ratio" else ind.unit, text),
                 (row["value"], number), (row["previous"], number), (row["increase"], number),
                 (target.value if target else None, number),
                 (row.get("completion"), styles.get("0.0%", fill=fill)),
                 (None if target is None or target.is_cap else row.get("schedule"), styles.get("0.0%", fill=fill)),
                 (PROGRESS_STATUS.get(row.get("status"), "") if target else "", text),
                 (row["scope"], text), (row["source"], text)]
        for col, (value, fmt) in enumerate(cells):
            _put(sheet, r, col, value, fmt)
    last = 3 + len(rows) - 1
    sheet.conditional_format(3, 7, last, 7, {"type": "data_bar", "bar_color": "#5B9BD5", "bar_solid": True,
                                             "min_type": "num", "min_value": 0, "max_type": "num", "max_value": 1})
    sheet.freeze_panes(3, 2)
    sheet.autofilter(2, 0, last, len(_REGION_COLUMNS) - 1)
    _completion_chart(book, sheet, styles, c, last + 3)
    _print_setup(sheet, 2, landscape=True, title=name)


def _completion_chart(book, sheet, styles: _Styles, c: Consolidation, top: int) -> None:
    """A table of completion vs time schedule for the '>=' targets, and a bar chart of it."""
    reach = [p for p in c.progress if not p.target.is_cap]
    if not reach:
        return
    sheet.write_string(top, 0, "目标完成情况（图表数据）", styles.get(bold=True))
    _header_row = top + 1
    for col, label in enumerate(["指标", "完成率", "时间进度"]):
        sheet.write_string(_header_row, 1 + col, label, styles.get(header=True))
    for i, p in enumerate(reach, start=_header_row + 1):
        label = p.indicator.name + ("" if p.target.scope == "region" else f"（{_scope_text(c.config, p.target.scope)}）")
        sheet.write_string(i, 1, label, styles.get())
        _put(sheet, i, 2, p.completion, styles.get("0.0%"))
        _put(sheet, i, 3, p.time_schedule, styles.get("0.0%"))
    first, last = _header_row + 1, _header_row + len(reach)
    chart = book.add_chart({"type": "bar"})
    for col, name, color in ((2, "完成率", "#5B9BD5"), (3, "时间进度", "#ED7D31")):
        chart.add_series({"name": name, "categories": [region_sheet(c.config), first, 1, last, 1],
                          "values": [region_sheet(c.config), first, col, last, col], "fill": {"color": color},
                          "data_labels": {"value": True, "num_format": "0%"} if col == 2 else {}})
    chart.set_title({"name": "目标完成率与时间进度", "name_font": {"size": 12}})
    highest = max([p.completion or 0 for p in reach] + [p.time_schedule for p in reach])
    # a figure far past its target would squash every other bar: cut the axis at 200%, the
    # data labels still tell the true completion
    chart.set_x_axis({"num_format": "0%", "min": 0, "max": min(2.0, math.ceil(max(highest, 1.0) * 4) / 4)})
    chart.set_y_axis({"reverse": True})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 680, "height": 22 * len(reach) + 110})
    sheet.insert_chart(top, 5, chart)


# ---- 各市进展 -----------------------------------------------------------------------------------

def _key_indicators(config: Config) -> list[Indicator]:
    """Indicators shown per city: county-level ones with a target, and county sales (万元)."""
    county_level = {i.id for i in config.indicators if not i.derived and i.reported_by.counties != "none"}

    def at_county_level(ind: Indicator) -> bool:
        if ind.compute_expr is not None:
            return set(expr.names(ind.compute_expr)) <= county_level
        if ind.count_meeting is not None:
            return True
        return ind.id in county_level

    return [i for i in config.indicators if i.numeric and at_county_level(i)
            and (config.targets_for(i.id) or i.kind == "money" or i.id == config.ranking_indicator)]


def _write_cities(book, styles: _Styles, c: Consolidation) -> None:
    config = c.config
    camp = config.campaign
    city_word, region = camp.levels.city, camp.region.short_name
    name = cities_sheet(config)
    sheet = book.add_worksheet(name)
    key = _key_indicators(config)
    ranking = {p.code: p for p in c.city_ranking}
    rank_name = config.indicator(config.ranking_indicator).name if config.ranking_indicator else ""
    by_target = _ranked_by_target(c)
    sheet.write_string(0, 0, f"{name}　{_period_title(c)}", styles.title)
    basis = f"按完成{city_word}级目标的比例排名" if by_target else "按累计值排名"
    sheet.write_string(1, 0, f"排名指标：{rank_name}（{basis}）；时间进度 {c.time_schedule:.1%}", styles.note)
    standing_labels, standing_widths = _standing_columns(c, by_target)
    labels = [city_word, f"{camp.levels.county}数", "本期已报"] + [i.name for i in key] + standing_labels
    _header(sheet, styles, 2, labels, [10, 8, 8] + [min(max(_width(i.name) * 0.5, 10), 14) for i in key]
            + standing_widths)
    sheet.set_row(2, 48)
    for r, city in enumerate(c.cities, start=3):
        standing = ranking.get(city.code)
        fill = _BEHIND_FILL if standing and standing.behind else None
        cells: list[tuple[Any, Any]] = [(city.name, styles.get(fill=fill)), (city.units_total, styles.get("#,##0", fill=fill)),
                                        (city.units_reported, styles.get("#,##0", fill=fill))]
        cells += [(city.values.get(i.id), styles.get(_fmt(i), fill=fill)) for i in key]
        cells += _standing_cells(styles, c, standing, fill, by_target)
        for col, (value, fmt) in enumerate(cells):
            _put(sheet, r, col, value, fmt)
    total_row = 3 + len(c.cities)
    _write_cities_total(sheet, styles, c, key, total_row, len(standing_labels))
    sheet.freeze_panes(3, 1)
    if config.ranking_indicator:
        _city_chart(book, sheet, c, 3 + len(key), total_row + 2, rank_name)
    _print_setup(sheet, 2, landscape=True, title=name)


def _ranked_by_target(c: Consolidation) -> bool:
    """Cities ranked by completion of their own targets (config has city targets for the ranking indicator)."""
    return any(p.target is not None for p in c.city_ranking)


def _standing_columns(c: Consolidation, by_target: bool) -> tuple[list[str], list[float]]:
    """The ranking columns of 各市进展: without city targets no empty 市级目标/完成率/进度 columns."""
    if not c.config.ranking_indicator:
        return [], []
    camp = c.config.campaign
    rank_name = c.config.indicator(c.config.ranking_indicator).name
    share = f"占{camp.region.short_name}比重"
    if by_target:
        return ([f"{rank_name}（排名）", f"{camp.levels.city}级目标", "完成率", share, "排名", "进度"],
                [14, 10, 9, 10, 6, 12])
    return [f"{rank_name}（排名）", share, "排名"], [14, 10, 6]


def _standing_cells(styles: _Styles, c: Consolidation, standing, fill, by_target: bool) -> list[tuple[Any, Any]]:
    width = len(_standing_columns(c, by_target)[0])
    if standing is None:
        return [(None, styles.get(fill=fill))] * width
    ind = c.config.indicator(c.config.ranking_indicator)
    rank = standing.rank if standing.value is not None else None
    value = (standing.value, styles.get(_fmt(ind), fill=fill))
    share = (standing.share, styles.get("0.0%", fill=fill))
    ranked = (rank, styles.get("0", fill=fill, align="center"))
    if not by_target:
        return [value, share, ranked]
    progress = "" if standing.completion is None else ("慢于时间进度" if standing.behind else "快于时间进度")
    return [value, (standing.target, styles.get(_fmt(ind), fill=fill)),
            (standing.completion, styles.get("0.0%", fill=fill)), share,
            (rank if standing.completion is not None else None, ranked[1]), (progress, styles.get(fill=fill))]


def _write_cities_total(sheet, styles: _Styles, c: Consolidation, key: list[Indicator], row: int,
                        standing_columns: int) -> None:
    """The region's row (全区): the regional value of each column counted from the counties (others
    left blank, as a member unit's figure there would not be the sum of the rows above)."""
    bold = styles.get(bold=True, fill=_TOTAL_FILL)
    sheet.write_string(row, 0, c.config.campaign.region.short_name, bold)
    _put(sheet, row, 1, sum(city.units_total for city in c.cities), styles.get("#,##0", bold=True, fill=_TOTAL_FILL))
    _put(sheet, row, 2, sum(city.units_reported for city in c.cities), styles.get("#,##0", bold=True, fill=_TOTAL_FILL))
    for col, ind in enumerate(key, start=3):
        value = c.region.values.get(ind.id) if ind.derived or ind.source == "counties" else None
        _put(sheet, row, col, value, styles.get(_fmt(ind), bold=True, fill=_TOTAL_FILL))
    for col in range(3 + len(key), 3 + len(key) + standing_columns):
        sheet.write_blank(row, col, None, bold)


def _city_chart(book, sheet, c: Consolidation, value_col: int, top: int, rank_name: str) -> None:
    first, last = 3, 3 + len(c.cities) - 1
    chart = book.add_chart({"type": "column"})
    chart.add_series({"name": rank_name, "categories": [cities_sheet(c.config), first, 0, last, 0],
                      "values": [cities_sheet(c.config), first, value_col, last, value_col], "fill": {"color": "#5B9BD5"},
                      "data_labels": {"value": True}})
    chart.set_title({"name": f"各{c.config.campaign.levels.city}{rank_name}", "name_font": {"size": 12}})
    chart.set_legend({"none": True})
    chart.set_size({"width": 900, "height": 340})
    sheet.insert_chart(top, 0, chart)


# ---- entry sheets (cities and member units) --------------------------------------------------------

def _county_indicators(config: Config) -> list[Indicator]:
    return [i for i in config.indicators if not i.derived and i.numeric and i.reported_by.counties != "none"]


def _write_entry_header(sheet, styles: _Styles, title: str, note: str, indicators: list[Indicator]) -> None:
    sheet.write_string(0, 0, title, styles.title)
    sheet.write_string(1, 0, note, styles.note)
    head = ENTRY_HEADER_ROW - 1
    labels = [ENTRY_CODE_LABEL, ENTRY_NAME_LABEL, ENTRY_STATE_LABEL] + [i.name for i in indicators] + [ENTRY_NOTE_LABEL]
    widths = [9, 12, 9] + [min(max(_width(i.name) * 0.4, 9), 12) for i in indicators] + [16]
    _header(sheet, styles, head, labels, widths)
    sheet.set_row(head, 62)
    unit_fmt = styles.get(fill=_HEADER_FILL, align="center")
    sheet.write_blank(head + 1, 0, None, unit_fmt)
    sheet.write_string(head + 1, 1, ENTRY_UNIT_ROW_LABEL, unit_fmt)
    sheet.write_blank(head + 1, 2, None, unit_fmt)
    for col, ind in enumerate(indicators, start=3):
        sheet.write_string(head + 1, col, ind.unit, unit_fmt)
    sheet.write_blank(head + 1, 3 + len(indicators), None, unit_fmt)
    sheet.freeze_panes(ENTRY_FIRST_ROW - 1, 3)


def _write_unit_row(sheet, styles: _Styles, r: int, row: UnitRow, indicators: list[Indicator], reports: set[str],
                    returned: bool) -> None:
    """One unit's row; `returned`: its return was sent back (退回待重报, even where its last
    accepted figures stand in)."""
    grey = row.state == "carried"
    text = styles.get(grey=grey)
    sheet.write_string(r, 0, row.unit.code, text)
    sheet.write_string(r, 1, row.unit.name, text)
    state = RETURNED_STATE if returned else UNIT_STATE[row.state]
    alarm = row.state == "missing" or returned
    sheet.write_string(r, 2, state, styles.get(grey=grey, fill=_BEHIND_FILL if alarm else None))
    for col, ind in enumerate(indicators, start=3):
        # a cell the unit does not fill in is shaded, so staff see it is not theirs to type
        fill = None if ind.id in reports else _TOTAL_FILL
        _put(sheet, r, col, row.values.get(ind.id), styles.get(_fmt(ind), grey=grey, fill=fill))
    note = f"沿用第{row.carried_from}期数据" if row.carried_from else ""
    sheet.write_string(r, 3 + len(indicators), note, text)


def _write_city_sheet(book, styles: _Styles, c: Consolidation, city_code: str, city_name: str) -> None:
    config = c.config
    sheet = book.add_worksheet(city_name)
    indicators = _county_indicators(config)
    _write_entry_header(sheet, styles, f"{city_name}各{config.campaign.levels.county}填报数据　{_period_title(c)}",
                        "可直接修改数值后点击“校验”；灰色斜体为沿用上期数据；请勿修改表头和单位代码列。", indicators)
    rows = [r for r in c.counties if r.unit.city_code == city_code]
    r = ENTRY_FIRST_ROW - 1
    for r, row in enumerate(rows, start=ENTRY_FIRST_ROW - 1):
        _write_unit_row(sheet, styles, r, row, indicators, {i.id for i in config.indicators_for(row.unit)},
                        _returned(c, row))
    total = next(t for t in c.cities if t.code == city_code)
    bold = styles.get(bold=True, fill=_TOTAL_FILL)
    tr = r + 1
    sheet.write_blank(tr, 0, None, bold)
    sheet.write_string(tr, 1, "合计", bold)
    sheet.write_string(tr, 2, f"已报{total.units_reported}/{total.units_total}", bold)
    for col, ind in enumerate(indicators, start=3):
        _put(sheet, tr, col, total.values.get(ind.id), styles.get(_fmt(ind), bold=True, fill=_TOTAL_FILL))
    sheet.write_blank(tr, 3 + len(indicators), None, bold)
    _print_setup(sheet, ENTRY_FIRST_ROW - 2, landscape=True, title=city_name)


def _returned(c: Consolidation, row: UnitRow) -> bool:
    return any(r.unit.code == row.unit.code and r.state == "rejected" for r in c.reporting)


def _write_member_sheet(book, styles: _Styles, c: Consolidation, row: UnitRow) -> None:
    config = c.config
    member = next(m for m in config.member_units if m.code == row.unit.code)
    sheet = book.add_worksheet(member.short_name)
    indicators = [i for i in config.indicators_for(row.unit) if i.numeric]
    counted = [i.name for i in indicators if i.source != "counties" and row.unit.code in i.source]
    shown = [i.name for i in indicators if i.name not in counted]
    region = config.campaign.region.short_name
    note = f"计入{region}合计：" + ("、".join(counted) or "无")
    if shown:
        note += f"；仅作参考（{region}合计以县级数据为准）：" + "、".join(shown)
    _write_entry_header(sheet, styles, f"{member.name}填报数据　{_period_title(c)}", note, indicators)
    _write_unit_row(sheet, styles, ENTRY_FIRST_ROW - 1, row, indicators, {i.id for i in indicators},
                    _returned(c, row))
    _print_setup(sheet, ENTRY_FIRST_ROW - 2, landscape=len(indicators) > 5, title=member.name)


# ---- 工作动态 -------------------------------------------------------------------------------------

_NEWS_TEXT_WIDTH = 60
_EDIT_FILL = "#FFF2CC"       # light yellow: staff type here (as on the forms)
NEWS_HEADER_ROW = 2          # 0-based; read back by label (checks.entries.read_news_sheet)


def news_columns(config: Config) -> list[str]:
    """The 工作动态 sheet's header: the contract's columns, 所属 completed by the city level's name."""
    return [f"{NewsColumn.CITY}{config.campaign.levels.city}" if column is NewsColumn.CITY else column.value
            for column in NewsColumn]


def _write_news(book, styles: _Styles, c: Consolidation) -> None:
    """Every 工作动态 / 典型做法 of the period's counting returns: 选用 marks what goes into the
    briefing's 各地动态, 简报采用文字 is the text printed (the unit's own until edited)."""
    sheet = book.add_worksheet(NEWS_SHEET)
    sheet.write_string(0, 0, f"工作动态　{_period_title(c)}", styles.title)
    sheet.write_string(1, 0, _news_note(c), styles.note)
    columns = news_columns(c.config)
    _header(sheet, styles, NEWS_HEADER_ROW, columns, [9, 10, 18, 9, 9, _NEWS_TEXT_WIDTH, 6, _NEWS_TEXT_WIDTH])
    wrap, edit = styles.get(wrap=True, align="left"), styles.get(wrap=True, align="left", fill=_EDIT_FILL)
    choice, text = styles.get(fill=_EDIT_FILL, align="center"), styles.get()
    for r, news in enumerate(c.news, start=NEWS_HEADER_ROW + 1):
        cells = [(news.item.key, text), (news.unit.code, text), (news.unit.full_name, text),
                 (news.unit.city_name or c.config.campaign.levels.member, text), (news.item.kind, text),
                 (news.item.text, wrap), ("是" if news.chosen else "", choice), (news.text, edit)]
        for col, (value, fmt) in enumerate(cells):
            _put(sheet, r, col, value, fmt)
        lines = max(_wrapped_lines(news.item.text), _wrapped_lines(news.text))
        sheet.set_row(r, 15 * lines)
    last = NEWS_HEADER_ROW + max(len(c.news), 1)
    sheet.data_validation(NEWS_HEADER_ROW + 1, 6, max(last, NEWS_HEADER_ROW + 200), 6,
                          {"validate": "list", "source": ["是", "否"], "ignore_blank": True,
                           "input_title": "选用", "input_message": "填“是”：编入简报“各地动态”；留空或“否”：不编入。"})
    if not c.news:
        sheet.write_string(NEWS_HEADER_ROW + 1, 0, "本期收到的报表中没有填写工作动态或典型做法。", styles.note)
    sheet.freeze_panes(NEWS_HEADER_ROW + 1, 3)
    _print_setup(sheet, NEWS_HEADER_ROW, landscape=True, title=NEWS_SHEET)


def _news_note(c: Consolidation) -> str:
    note = ("“选用”填“是”的条目编入简报“各地动态”（按本表顺序，注明单位）；“简报采用文字”可直接修改，留空即用原文。"
            "改好后点击“校验”或“生成简报”，选用和修改即记入档案库，重新汇总后仍保留。")
    if c.news_by_default:
        note += (f"尚未选用：已默认选用本期“{_ranking_name(c)}”增加最多的{DEFAULT_NEWS_CITIES}个"
                 f"{c.config.campaign.levels.city}各一条（该{c.config.campaign.levels.city}最长的一条）。")
    return note


def _ranking_name(c: Consolidation) -> str:
    indicator = c.config.ranking_indicator
    return c.config.indicator(indicator).name if indicator else "主要指标"


def _wrapped_lines(text: str) -> int:
    return max(1, sum(math.ceil(_width(line) / _NEWS_TEXT_WIDTH) for line in str(text).split("\n")))


# ---- 报送情况, 校验问题, 目标 ------------------------------------------------------------------------

_REMINDER_WIDTH = 90
def _reporting_columns(config: Config) -> list[str]:
    return ["单位代码", "单位名称", "类型", f"所属{config.campaign.levels.city}", "报送状态", "报送时间", "是否逾期",
            Header.FILLED_BY, Header.PHONE, "提交次数", "错误", "警告", "催报/退回提示文本", "已催报", "采用的报表"]


def _write_reporting(book, styles: _Styles, c: Consolidation) -> None:
    sheet = book.add_worksheet(MasterSheet.REPORTING)
    sheet.write_string(0, 0, f"报送情况　{_period_title(c)}", styles.title)
    missing, rejected = len(c.reporting_in("missing")), len(c.reporting_in("rejected"))
    sheet.write_string(1, 0, f"应报{len(c.reporting)}个，未报{missing}个，被退回{rejected}个；报送截止时间"
                             f"{fmt_deadline(c.period.deadline)}。提示文本可直接复制发送。", styles.note)
    columns = _reporting_columns(c.config)
    _header(sheet, styles, 2, columns, [10, 18, 10, 10, 16, 17, 9, 10, 14, 9, 7, 7, _REMINDER_WIDTH, 10, 60])
    for r, status in enumerate(c.reporting, start=3):
        fill = _BEHIND_FILL if status.state in ("missing", "rejected") else None
        text, count = styles.get(fill=fill), styles.get("#,##0", fill=fill)
        unit = status.unit
        received = _local_time(status.received_at)
        kind = "县级" if unit.kind == "county" else c.config.campaign.levels.member
        cells = [(unit.code, text), (unit.full_name, text), (kind, text),
                 (unit.city_name or "", text), (REPORT_STATE[status.state], text),
                 (received if received else (status.received_at or ""), styles.get(_DATETIME, fill=fill)),
                 ("逾期" if status.late else "", text), *_contact_cells(status, text),
                 (status.submissions, count), (status.errors, count),
                 (status.warnings, count), (status.reminder, styles.get(fill=fill, wrap=True)),
                 (reminded_text(status.reminded), text), (counted_text(status), styles.get(fill=fill, wrap=True))]
        for col, (value, fmt) in enumerate(cells):
            _put(sheet, r, col, value, fmt)
        lines = max(math.ceil(_width(status.reminder) / _REMINDER_WIDTH) if status.reminder else 1,
                    math.ceil(_width(counted_text(status)) / 60))
        if lines > 1:  # neither Excel nor LibreOffice grows a written row to fit wrapped text
            sheet.set_row(r, 15 * lines)
    last = max(3, 2 + len(c.reporting))
    sheet.freeze_panes(3, 2)
    sheet.autofilter(2, 0, last, len(columns) - 1)
    _print_setup(sheet, 2, landscape=True, title="报送情况")


def _contact_cells(status: ReportingStatus, fmt: Any) -> list[tuple[Any, Any]]:
    """填报人 and 联系电话 of this period's latest return (blank when none this period named them)."""
    if status.contact_earlier:
        return [("", fmt), ("", fmt)]
    return [(status.filled_by, fmt), (status.phone, fmt)]


def _local_time(iso: Optional[str]) -> Optional[dt.datetime]:
    if not iso:
        return None
    try:
        moment = dt.datetime.fromisoformat(iso)
    except ValueError:
        return None
    return moment.astimezone().replace(tzinfo=None) if moment.tzinfo else moment


def _write_issues(book, styles: _Styles, c: Consolidation) -> None:
    """The period's current issues (the CLI's --json rows with the unit's and the indicator's
    names for people), then, apart, those of returns since replaced or corrected."""
    config = c.config
    sheet = book.add_worksheet(MasterSheet.ISSUES)
    sheet.write_string(0, 0, f"校验问题　{_period_title(c)}", styles.title)
    sheet.write_string(1, 0, f"当前共{len(c.issues)}条；错误{sum(1 for i in c.issues if i.blocking)}条"
                             "（有错误的报表已退回，不计入汇总）。", styles.note)
    _header(sheet, styles, 2, list(ISSUE_COLUMNS), [10, 18, 30, 16, 7, 14, 22, 14, 80])
    _write_issue_rows(sheet, styles, 3, c.issues, issue_sheet_rows(config, c.issues))
    sheet.freeze_panes(3, 0)
    sheet.autofilter(2, 0, max(3, 2 + len(c.issues)), len(ISSUE_COLUMNS) - 1)
    if c.issue_history:
        top = 3 + len(c.issues) + 1
        sheet.write_string(top, 0, ISSUE_HISTORY_HEADING, styles.get(bold=True))
        _write_issue_rows(sheet, styles, top + 1, c.issue_history, issue_sheet_rows(config, c.issue_history),
                          grey=True)
    _print_setup(sheet, 2, landscape=True, title="校验问题")


def _write_issue_rows(sheet, styles: _Styles, first: int, issues: list[Issue], rows: list[list[str]], *,
                      grey: bool = False) -> None:
    for r, (issue, values) in enumerate(zip(issues, rows), start=first):
        fill = _BEHIND_FILL if issue.blocking and not grey else None
        for col, value in enumerate(values):
            sheet.write_string(r, col, value, styles.get(fill=fill, grey=grey, wrap=col == 8))
        sheet.set_row(r, 15 * max(1, math.ceil(_width(issue.message) / 78)))


def issue_sheet_rows(config: Config, issues: list[Issue]) -> list[list[str]]:
    """The 校验问题 rows, in `ISSUE_COLUMNS` order: each issue's --json row (`Issue.to_dict`)
    with the unit's and the indicator's names and the issue's Chinese kind (问题类型) for
    people. The 校验 button writes the same rows."""
    indicators = {i.id: i for i in config.indicators}
    rows = []
    for issue in issues:
        row = issue.to_dict()
        unit = config.units.get(row["unit"] or "")
        indicator = indicators.get(row["indicator"] or "")
        rows.append([row["unit"] or "", unit.full_name if unit else "", row["file"], row["cell"], row["severity"],
                     row["label"], indicator.name if indicator else (row["indicator"] or ""),
                     _issue_value(row["value"], indicator), row["message"]])
    return rows


def issue_history_rows(config: Config, history: list[Issue]) -> list[list[str]]:
    """What follows the current rows on 校验问题: a blank row, the heading, the history rows."""
    return [[""], [ISSUE_HISTORY_HEADING], *issue_sheet_rows(config, history)] if history else []


def _issue_value(value: Any, indicator: Optional[Indicator]) -> str:
    """The value as the clerk would read it: a count archived as 6.0 shows as 6."""
    if value is None:
        return ""
    text = str(value)
    if indicator is not None and indicator.kind == "count":
        try:
            number = float(text)
        except ValueError:
            return text
        if math.isfinite(number) and number.is_integer():
            return str(int(number))
    return text


def _write_targets(book, styles: _Styles, c: Consolidation) -> None:
    config = c.config
    sheet = book.add_worksheet(MasterSheet.TARGETS)
    sheet.write_string(0, 0, "目标任务（活动方案，只读）", styles.title)
    sheet.write_string(1, 0, "目标任务在 config.yaml 中设置；此表仅供查看。", styles.note)
    _header(sheet, styles, 2, ["活动", "指标", "要求", "目标值", "计量单位", "口径"], [22, 30, 8, 14, 10, 16])
    r = 2
    for r, t in enumerate(config.targets, start=3):
        ind = config.indicator(t.indicator)
        cells = [(config.activity(ind.activity).short_name, styles.get()), (ind.name, styles.get()),
                 ("不低于" if t.op == ">=" else "不超过", styles.get()), (t.value, styles.get(_fmt(ind))),
                 ("" if ind.kind == "ratio" else ind.unit, styles.get()), (_scope_text(config, t.scope), styles.get())]
        for col, (value, fmt) in enumerate(cells):
            _put(sheet, r, col, value, fmt)
    r += 2
    for ind_id, by_city in config.city_targets.items():
        ind = config.indicator(ind_id)
        sheet.write_string(r, 0, f"{config.campaign.levels.city}级目标：{ind.name}", styles.get(bold=True))
        for r, (code, value) in enumerate(by_city.items(), start=r + 1):
            sheet.write_string(r, 0, config.city_names.get(code, code), styles.get())
            _put(sheet, r, 3, value, styles.get(_fmt(ind)))
        r += 2
    sheet.freeze_panes(3, 0)
    sheet.protect("", {"autofilter": True, "sort": False})
    _print_setup(sheet, 2, landscape=False, title="目标任务")


# ---- 历史 ---------------------------------------------------------------------------------------
# Columns: 活动 | 指标 | 计量单位 | one per configured period (later ones blank) | 目标值. A column for
# every period of the plan from the start, so the charts' ranges never move when periods come in.

_HISTORY_FIRST_PERIOD_COL = 3
_CHART_COLORS = ("#5B9BD5", "#ED7D31", "#A5A5A5", "#FFC000", "#4472C4", "#70AD47", "#264478", "#9E480E",
                 "#636363", "#997300", "#255E91", "#43682B", "#698ED0", "#F1975A", "#B7B7B7", "#FFCD33")


def _write_history(book, styles: _Styles, c: Consolidation) -> None:
    """Every period's regional figures, target completion and each city's key figure, side by side,
    with native line charts (drawn by Excel and WPS from the cells, so they follow what is typed)."""
    config = c.config
    sheet = book.add_worksheet(MasterSheet.HISTORY)
    periods = sorted(config.periods, key=lambda p: p.number)
    figures = {f.period.number: f for f in c.period_figures}
    region = config.campaign.region.short_name
    sheet.write_string(0, 0, f"{region}各期累计数据　第{periods[0].number}期至第{c.period.number}期", styles.title)
    sheet.write_string(1, 0, "每期均为截至该期截至日期的累计数，按档案库中现有报表重新汇总（含截止后补报和更正的报表）；"
                             "尚未到来的期次为空。", styles.note)
    widths = [14, 34, 9] + [12] * len(periods) + [12]
    for col, width in enumerate(widths):
        sheet.set_column(col, col, width)
    row = _history_header(sheet, styles, 3, ["活动", "指标", "计量单位"], periods, "目标值")
    for activity in config.activities:
        for ind in (i for i in config.indicators if i.activity == activity.id and i.numeric):
            target = next((t for t in config.targets_for(ind.id) if t.scope == "region"), None)
            cells = [(activity.short_name, styles.get()), (ind.name, styles.get()),
                     ("" if ind.kind == "ratio" else ind.unit, styles.get())]
            cells += [(_period_value(figures, p, lambda f: f.region.get(ind.id)), styles.get(_fmt(ind)))
                      for p in periods]
            cells.append((target.value if target else None, styles.get(_fmt(ind))))
            _put_row(sheet, row, cells)
            row += 1
    completion = row + 2
    cities = _history_completion(book, sheet, styles, c, periods, figures, completion) + 2
    _history_cities(book, sheet, styles, c, periods, figures, cities)
    sheet.freeze_panes(4, 2)
    # each block prints on its own page, under its own header (no one header row to repeat)
    _print_setup(sheet, None, landscape=True, title=MasterSheet.HISTORY.value)
    sheet.set_h_pagebreaks([completion, cities])


def _history_header(sheet, styles: _Styles, row: int, labels: list[str], periods, last: Optional[str]) -> int:
    """The period header (第N期) and, under it, each period's cut-off date; returns the next row."""
    heads = labels + [f"第{p.number}期" for p in periods] + ([last] if last else [])
    for col, label in enumerate(heads):
        sheet.write_string(row - 1, col, label, styles.get(header=True))
    dates = [""] * len(labels) + [f"截至{fmt_date_cn(p.cutoff)}" for p in periods] + ([""] if last else [])
    for col, label in enumerate(dates):
        sheet.write_string(row, col, label, styles.get(fill=_HEADER_FILL, align="center"))
    return row + 1


def _period_value(figures: dict[int, PeriodFigures], period, value_of) -> Optional[float]:
    figure = figures.get(period.number)
    return value_of(figure) if figure is not None else None


def _put_row(sheet, row: int, cells: list[tuple[Any, Any]]) -> None:
    for col, (value, fmt) in enumerate(cells):
        _put(sheet, row, col, value, fmt)


def _history_completion(book, sheet, styles: _Styles, c: Consolidation, periods, figures, top: int) -> int:
    """完成率 of each target to reach, per period, and the time schedule, with their line chart;
    returns the row after the chart."""
    config = c.config
    reach = [(n, t) for n, t in enumerate(config.targets) if not t.is_cap]
    if not reach:
        return top
    sheet.write_string(top, 0, "目标完成率与时间进度", styles.heading)
    row = _history_header(sheet, styles, top + 2, ["活动", "指标", "目标值"], periods, None)
    first = row
    for n, target in reach:
        ind = config.indicator(target.indicator)
        scope = "" if target.scope == "region" else f"（{_scope_text(config, target.scope)}）"
        cells = [(config.activity(ind.activity).short_name, styles.get()), (ind.name + scope, styles.get()),
                 (target.value, styles.get(_fmt(ind)))]
        cells += [(_period_value(figures, p, lambda f: f.progress[n].completion), styles.get("0.0%")) for p in periods]
        _put_row(sheet, row, cells)
        row += 1
    schedule = [("", styles.get()), ("时间进度", styles.get(bold=True)), ("", styles.get())]
    schedule += [(config.campaign.time_schedule(p.cutoff), styles.get("0.0%", bold=True)) for p in periods]
    _put_row(sheet, row, schedule)
    chart = _line_chart(book, "目标完成率与时间进度", "0%")
    for i, r in enumerate(range(first, row + 1)):
        dashed = r == row
        _add_line(chart, r, 1, top + 1, len(periods), _CHART_COLORS[i % len(_CHART_COLORS)], dashed=dashed)
    sheet.insert_chart(row + 2, 1, chart)
    return row + 2 + _CHART_ROWS


_CHART_ROWS = 20   # rows a chart of 360 px covers at the default row height


def _history_cities(book, sheet, styles: _Styles, c: Consolidation, periods, figures, top: int) -> None:
    """Each city's key figure (the ranking indicator) per period, and its line chart."""
    config = c.config
    if not config.ranking_indicator:
        return
    ind = config.indicator(config.ranking_indicator)
    city_word = config.campaign.levels.city
    sheet.write_string(top, 0, f"各{city_word}{ind.name}", styles.heading)
    row = _history_header(sheet, styles, top + 2, [city_word, "指标", "计量单位"], periods, None)
    first = row
    for city in config.cities:
        cells = [(city.name, styles.get()), (ind.name, styles.get()), ("" if ind.kind == "ratio" else ind.unit, styles.get())]
        cells += [(_period_value(figures, p, lambda f: f.cities.get(city.code, {}).get(ind.id)), styles.get(_fmt(ind)))
                  for p in periods]
        _put_row(sheet, row, cells)
        row += 1
    chart = _line_chart(book, f"各{city_word}{ind.name}", _fmt(ind))
    for i, r in enumerate(range(first, row)):
        _add_line(chart, r, 0, top + 1, len(periods), _CHART_COLORS[i % len(_CHART_COLORS)])
    sheet.insert_chart(row + 1, 1, chart)


def _line_chart(book, title: str, num_format: str):
    chart = book.add_chart({"type": "line"})
    chart.set_title({"name": title, "name_font": {"size": 12}})
    chart.set_y_axis({"num_format": num_format, "min": 0, "major_gridlines": {"visible": True,
                                                                             "line": {"color": "#D9D9D9"}}})
    chart.set_legend({"position": "right"})
    chart.set_size({"width": 860, "height": 360})
    return chart


def _add_line(chart, row: int, name_col: int, header_row: int, periods: int, color: str, *,
              dashed: bool = False) -> None:
    """One series: the name in `name_col` of `row`, values in the period columns, categories the
    第N期 header (0-based `header_row`)."""
    first, last = _HISTORY_FIRST_PERIOD_COL, _HISTORY_FIRST_PERIOD_COL + periods - 1
    line = {"color": color, "width": 2.0}
    if dashed:
        line["dash_type"] = "dash"
    chart.add_series({"name": [MasterSheet.HISTORY.value, row, name_col],
                      "categories": [MasterSheet.HISTORY.value, header_row, first, header_row, last],
                      "values": [MasterSheet.HISTORY.value, row, first, row, last],
                      "line": line, "marker": {"type": "circle", "size": 5, "fill": {"color": color},
                                               "border": {"color": color}}})


# ---- 催报清单 ------------------------------------------------------------------------------------

_CHASE_COLUMNS = ["序号", "单位名称", "报送状态", Header.FILLED_BY.value, Header.PHONE.value, "电子邮箱", "已催报", "说明"]
_CHASE_WIDTHS = [6, 22, 9, 10, 16, 26, 10, 40]


def chase_groups(c: Consolidation) -> list[tuple[str, list[ReportingStatus]]]:
    """(city name or the member units' word, its units still missing or sent back), in config
    order; groups with nobody to chase are left out."""
    chased = c.reporting_in("missing", "rejected")
    groups = [(city.name, [s for s in chased if s.unit.kind == "county" and s.unit.city_code == city.code])
              for city in c.config.cities]
    groups.append((c.config.campaign.levels.member, [s for s in chased if s.unit.kind == "member"]))
    return [(name, units) for name, units in groups if units]


def _write_chase(book, styles: _Styles, c: Consolidation) -> None:
    """催报清单: per city, on its own printed page, the units still missing or sent back, with
    whom to call (填报人 and 联系电话 of their latest return, else config's contact) and how often
    they were reminded. The column header repeats on every page."""
    config = c.config
    sheet = book.add_worksheet(MasterSheet.CHASE)
    sheet.write_string(0, 0, f"催报清单　{_period_title(c)}", styles.title)
    groups = chase_groups(c)
    done = [city.name for city in config.cities if city.name not in {name for name, _ in groups}]
    note = (f"截至{fmt_deadline(c.generated_at)}，未报送{len(c.reporting_in('missing'))}个、被退回待重报"
            f"{len(c.reporting_in('rejected'))}个；每个{config.campaign.levels.city}单独一页。")
    if done:
        note += f"全部已报送的{config.campaign.levels.city}：" + "、".join(done) + "。"
    sheet.write_string(1, 0, note, styles.note)
    _header(sheet, styles, 2, _CHASE_COLUMNS, _CHASE_WIDTHS)
    row, breaks = 3, []
    if not groups:
        sheet.write_string(row, 0, "本期各单位均已报送，无需催报。", styles.get(bold=True))
    for name, units in groups:
        if row > 3:
            breaks.append(row)
        missing = sum(1 for s in units if s.state == "missing")
        counts = [f"{what}{n}个" for what, n in (("未报送", missing), ("被退回", len(units) - missing)) if n]
        heading = f"{name}：" + "，".join(counts)
        sheet.merge_range(row, 0, row, len(_CHASE_COLUMNS) - 1, heading, styles.get(bold=True, fill=_TOTAL_FILL))
        row += 1
        for number, status in enumerate(units, start=1):
            cells = _chase_cells(c, status, styles)
            _put_row(sheet, row, [(number, styles.get("0", align="center"))] + cells)
            lines = max(math.ceil(_width(value) / width) for (value, _), width in zip(cells, _CHASE_WIDTHS[1:]))
            if lines > 1:   # neither Excel nor LibreOffice grows a written row to fit wrapped text
                sheet.set_row(row, 15 * lines)
            row += 1
    if breaks:
        sheet.set_h_pagebreaks(breaks)
    sheet.freeze_panes(3, 0)
    _print_setup(sheet, 2, landscape=True, title=f"{config.campaign.name}催报清单")
    sheet.repeat_rows(0, 2)


def _chase_cells(c: Consolidation, status: ReportingStatus, styles: _Styles) -> list[tuple[Any, Any]]:
    """Whom to call: 填报人 and 联系电话 of the unit's latest return naming them (this period's,
    else an earlier one's, said in 说明), else config's contact; its mailbox from config."""
    contact = c.config.contacts.get(status.unit.code)
    filled_by, phone = status.filled_by, status.phone
    notes = []
    if status.state == "rejected":
        notes.append(f"报表被退回（{status.errors}处错误），待修改后重报")
    else:
        notes.append("逾期未报送" if c.generated_at > c.period.deadline else "尚未报送")
    if not (filled_by or phone) and contact is not None:
        filled_by, phone = contact.person, contact.phone
    elif status.contact_earlier:
        notes.append(f"填报人、电话取自第{status.contact_period}期报表")
    rejected = status.state == "rejected"
    text = styles.get(fill=_BEHIND_FILL if rejected else None, wrap=True)
    return [(status.unit.full_name, text), ("被退回" if rejected else "未报送", text), (filled_by, text),
            (phone, text), ("、".join(contact.email) if contact else "", text),
            (reminded_text(status.reminded) or "未催报", text), ("；".join(notes), text)]
