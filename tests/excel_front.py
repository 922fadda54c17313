"""Shared set-up of the Excel-front tests (test_xl, test_server, bench_server): the built
master .xlsm, an archive holding a simulated period, and helpers to read the actions that
xlwings' remote engine returns."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from xf_excel.config import Config
from xf_excel.archive.store import Archive, NewSubmission

os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")   # xlwings' remote engine (PolyForm Noncommercial)

PERIOD = 2


def seed_archive(config: Config, path: Path, period: int = PERIOD, *, skip: tuple[str, ...] = ()) -> dict[str, dict]:
    """Record the simulated campaign's accepted figures of periods 1..`period` as submissions
    (as intake would after reading correct returns); returns the last period's figures."""
    from xf_excel.demo import simulate as demo

    sim = demo.simulate(config)
    figures: dict[str, dict] = {}
    with Archive(path) as archive:
        for number in range(1, period + 1):
            figures = demo.expected_accepted(sim, number)
            when = dt.datetime.combine(config.period(number).cutoff, dt.time(17, 0)).isoformat()
            for code, values in figures.items():
                if code in skip:
                    continue
                archive.record_submission(NewSubmission(unit_code=code, period=number, accepted=True,
                                                        values=dict(values), received_at=when,
                                                        file_name=f"第{number}期_{code}.xlsx"))
    return figures


def payload_for(built: Path, period: int = PERIOD) -> dict[str, Any]:
    """The built master .xlsm as xlwings' remote engine sends it, with 报送期次 set."""
    from xlwings_payload import vba_payload

    payload = vba_payload(built)
    set_cell(payload, "首页", 4, 2, period)          # the Period cell (master.py writes it at B4)
    return payload


def actions(book) -> list[dict[str, Any]]:
    return book.json()["actions"]


def alerts(actions_: list[dict[str, Any]]) -> list[str]:
    return [a["args"][0] for a in actions_ if a["func"] == "alert"]


def sheet_position(payload: dict[str, Any], name: str) -> int:
    return [s["name"] for s in payload["sheets"]].index(name)


def written(actions_: list[dict[str, Any]], position: int) -> dict[tuple[int, int], Any]:
    """Every cell value written by setValues on one sheet: (row, column) 1-based -> value."""
    cells: dict[tuple[int, int], Any] = {}
    for a in actions_:
        if a["func"] == "setValues" and a["sheet_position"] == position:
            for r, row in enumerate(a["values"]):
                for c, value in enumerate(row):
                    cells[(a["start_row"] + r + 1, a["start_column"] + c + 1)] = value
    return cells


def colours(actions_: list[dict[str, Any]], position: int) -> dict[tuple[int, int], str]:
    return {(a["start_row"] + 1, a["start_column"] + 1): a["args"][0]
            for a in actions_ if a["func"] == "setRangeColor" and a["sheet_position"] == position}


def apply_actions(payload: dict[str, Any], actions_: list[dict[str, Any]]) -> dict[str, Any]:
    """What the VBA client does with the response, on a copy of the payload: values written,
    contents cleared, sheets added (colours and message boxes do not change values)."""
    import copy

    new = copy.deepcopy(payload)
    for a in actions_:
        if a["func"] == "addSheet":
            new["sheets"].insert(a["args"][0] + 1, {"name": a["args"][1], "pictures": [], "tables": [], "values": [[]]})
            continue
        if a["func"] not in ("setValues", "rangeClearContents"):
            continue
        grid = new["sheets"][a["sheet_position"]]["values"]
        rows = a["values"] if a["func"] == "setValues" else [[None] * a["column_count"]] * a["row_count"]
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                _put(grid, a["start_row"] + r, a["start_column"] + c, None if value == "" else value)
    return new


def _put(grid: list[list[Any]], r: int, c: int, value: Any) -> None:
    if grid == [[]]:
        grid[:] = [[None]]
    width = max(len(grid[0]), c + 1)
    while len(grid) <= r:
        grid.append([None] * width)
    for row in grid:
        row.extend([None] * (width - len(row)))
    grid[r][c] = value


def set_cell(payload: dict[str, Any], sheet: str, row: int, column: int, value: Any) -> None:
    """Type a value into the payload's sheet (1-based row and column)."""
    grid = payload["sheets"][sheet_position(payload, sheet)]["values"]
    _put(grid, row - 1, column - 1, value)


def cell(payload: dict[str, Any], sheet: str, row: int, column: int) -> Any:
    grid = payload["sheets"][sheet_position(payload, sheet)]["values"]
    return grid[row - 1][column - 1] if row <= len(grid) and column <= len(grid[row - 1]) else None


def column_of(payload: dict[str, Any], sheet: str, label: str, header_row: int = 3) -> int:
    grid = payload["sheets"][sheet_position(payload, sheet)]["values"]
    return grid[header_row - 1].index(label) + 1


def home_cell(payload: dict[str, Any], label: str) -> tuple[int, int]:
    """(row, column) of the value beside a 首页 label, e.g. 档案版本 (ArchiveVersion)."""
    return row_of(payload, "首页", label), 2


def row_of(payload: dict[str, Any], sheet: str, code: str) -> int:
    grid = payload["sheets"][sheet_position(payload, sheet)]["values"]
    return next(r for r, row in enumerate(grid, start=1) if row and str(row[0]) == code)
