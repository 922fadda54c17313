"""Build in code the `RawWorkbook` a return form would give for a unit (docs/form-contract.md),
then mutate it the way people do: insert rows and columns, rename sheets, retype cells.

Numbers are floats, as python-calamine returns them; empty cells are None.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Optional

from xf_excel.config import Config
from xf_excel.intake.records import RawSheet, RawWorkbook, ReceivedFile

TABLE = ("序号", "指标名称", "单位", "上期累计", "截至本期累计", "填报说明", "校验提示")
_CHINESE = "一二三四五六七八九十"


def form_file_name(config: Config, code: str, period: int) -> str:
    unit = config.unit(code)
    if unit.kind == "county":
        return f"第{period}期_{unit.city_name}_{unit.name}.xlsx"
    return f"第{period}期_{unit.name}.xlsx"


def build_return(config: Config, code: str = "450110", period: int = 2, *,
                 values: Optional[dict[str, Any]] = None, previous: Optional[dict[str, Any]] = None,
                 details: Optional[dict[str, list[dict[str, Any]]]] = None, reporter: Any = "张三",
                 phone: Any = 13800138000.0, name: Optional[str] = None, sender: str = "",
                 version: Optional[str] = None) -> RawWorkbook:
    """The grid of a filled-in form. `values`: indicator id -> cell value (default: 0.0 for
    every indicator); `details`: list id -> rows of column id -> value."""
    unit = config.unit(code)
    values = values if values is not None else {i.id: 0.0 for i in config.indicators_for(unit)}
    previous = previous or {}
    data = [
        [config.campaign.form_title, None, None, None, None, None, None],
        ["填报单位", unit.full_name, None, "单位代码", unit.code, None, None],
        ["报送期次", float(period), None, "截至日期", dt.datetime.combine(config.period(period).cutoff, dt.time()), None, None],
        ["填报人", reporter, None, "联系电话", phone, None, None],
        ["填报说明：本表各项为9月1日以来的累计数。", None, None, None, None, None, None],
        list(TABLE),
    ]
    number = 0
    indicators = config.indicators_for(unit)
    for group, activity in enumerate(a for a in config.activities if any(i.activity == a.id for i in indicators)):
        data.append([None, f"{_CHINESE[group]}、{activity.name}", None, None, None, None, None])
        for indicator in (i for i in indicators if i.activity == activity.id):
            number += 1
            data.append([float(number), indicator.name, indicator.unit, previous.get(indicator.id),
                         values.get(indicator.id), indicator.help or None, ""])
    sheets = [RawSheet("填报", "visible", data, merged=[(1, 1, 1, 7), (5, 1, 5, 7)])]
    for detail in config.details_for(unit):
        rows = [["序号", *[c.name for c in detail.columns]]]
        for n, row in enumerate((details or {}).get(detail.id, []), start=1):
            rows.append([float(n), *[row.get(c.id) for c in detail.columns]])
        sheets.append(RawSheet(detail.name, "visible", rows))
    meta = [["template_version", version or config.campaign.template_version], ["unit_code", unit.code],
            ["unit_name", unit.full_name], ["period", float(period)], ["campaign", config.campaign.name]]
    sheets.append(RawSheet("xf_meta", "hidden", meta))
    file_name = name or form_file_name(config, code, period)
    received = ReceivedFile(name=file_name, display=file_name, content=b"", sha256=hashlib.sha256(file_name.encode()).hexdigest(),
                            kind="xlsx", sender=sender)
    return RawWorkbook(received, sheets)


def counter_row(name: str = "武鸣区政务中心专柜", site: str = "机关", status: str = "运营中", **more: Any) -> dict[str, Any]:
    row = {"name": name, "site_type": site, "address": "武鸣区城厢镇1号", "operator": "数字广西集团有限公司",
           "opened": dt.datetime(2020, 9, 5), "status": status, "sales": 1.5}
    row.update(more)
    return row


# ---- finding and mutating -------------------------------------------------------------------

def find(sheet: RawSheet, text: str) -> tuple[int, int]:
    """1-based (row, column) of the first cell holding exactly `text`."""
    for r, row in enumerate(sheet.cells, start=1):
        for c, value in enumerate(row, start=1):
            if value == text:
                return r, c
    raise KeyError(text)


def value_cell(raw: RawWorkbook, indicator_name: str, sheet: str = "填报") -> tuple[int, int]:
    """(row, column) of the 截至本期累计 cell of an indicator's row."""
    grid = raw.sheet(sheet)
    row, _ = find(grid, indicator_name)
    _, column = find(grid, "截至本期累计")
    return row, column


def set_cell(sheet: RawSheet, row: int, column: int, value: Any) -> None:
    while len(sheet.cells) < row:
        sheet.cells.append([])
    line = sheet.cells[row - 1]
    while len(line) < column:
        line.append(None)
    line[column - 1] = value


def set_value(raw: RawWorkbook, indicator_name: str, value: Any, sheet: str = "填报") -> str:
    """Type a value into an indicator's input cell; returns its address (`填报!E12`)."""
    row, column = value_cell(raw, indicator_name, sheet)
    set_cell(raw.sheet(sheet), row, column, value)
    return address(sheet, row, column)


def address(sheet: str, row: int, column: int) -> str:
    from xf_excel.issues import cell_address

    return cell_address(sheet, row, column)


def insert_rows(sheet: RawSheet, before: int, count: int = 1) -> None:
    """Insert blank rows above 1-based row `before`, shifting merged ranges like Excel does."""
    for _ in range(count):
        sheet.cells.insert(before - 1, [])
    sheet.merged = [(r1 + count if r1 >= before else r1, c1, r2 + count if r2 >= before else r2, c2)
                    for r1, c1, r2, c2 in sheet.merged]


def insert_columns(sheet: RawSheet, before: int, count: int = 1) -> None:
    """Insert blank columns left of 1-based column `before`."""
    for line in sheet.cells:
        if len(line) >= before - 1:
            line[before - 1:before - 1] = [None] * count
    sheet.merged = [(r1, c1 + count if c1 >= before else c1, r2, c2 + count if c2 >= before else c2)
                    for r1, c1, r2, c2 in sheet.merged]


def rename_sheet(raw: RawWorkbook, old: str, new: str) -> None:
    raw.sheet(old).name = new


def drop_sheet(raw: RawWorkbook, name: str) -> None:
    raw.sheets = [s for s in raw.sheets if s.name != name]
