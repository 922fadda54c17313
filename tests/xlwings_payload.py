"""Build the JSON that xlwings' VBA client (`RunServerPython`, addin/Remote.bas) posts, from a
workbook file — so button tests run on payloads shaped exactly like Excel's.

What Remote.bas sends: `client`/`version`; `book` (name, 0-based active sheet index, the
selection address); `names` (every name that refers to a range: 0-based sheet index,
address without `$`, book scope); `sheets` in order, each with `values` from A1 to the last
cell of the used range (`[[]]` for an empty or excluded sheet), dates as
`yyyy-mm-ddTHH:MM:SS.000Z` (no time-zone conversion), empty cells as null.
"""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path
from typing import Any, Iterable

from openpyxl import load_workbook

XLWINGS_VERSION = "0.37.8"


def vba_payload(path: str | Path, *, exclude: Iterable[str] = (), active: int = 0, selection: str = "A1",
                edits: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The payload for the workbook at `path`; `edits` ({sheet: {"E5": value}}) stands for what
    a person typed into the open book before clicking."""
    edits = edits or {}
    excluded = set(exclude)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        book = load_workbook(path, data_only=True)
    sheets = []
    for sheet in book.worksheets:
        values = _values(sheet, edits.get(sheet.title, {})) if sheet.title not in excluded else [[]]
        sheets.append({"name": sheet.title, "pictures": [], "tables": [], "values": values})
    return {
        "client": "VBA",
        "version": XLWINGS_VERSION,
        "book": {"name": Path(path).name, "active_sheet_index": active, "selection": selection},
        "names": _names(book),
        "sheets": sheets,
    }


def _values(sheet, edits: dict[str, Any]) -> list[list[Any]]:
    for address, value in edits.items():
        sheet[address].value = value
    if sheet.max_row == 1 and sheet.max_column == 1 and sheet["A1"].value is None:
        return [[]]
    return [[_json_value(cell.value) for cell in row]
            for row in sheet.iter_rows(min_row=1, min_col=1, max_row=sheet.max_row, max_col=sheet.max_column)]


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if isinstance(value, dt.date):
        return f"{value:%Y-%m-%d}T00:00:00.000Z"
    return value


def _names(book) -> list[dict[str, Any]]:
    titles = [s.title for s in book.worksheets]
    names = []
    for name, defined in book.defined_names.items():
        for title, ref in defined.destinations:
            names.append({"name": name, "sheet_index": titles.index(title), "address": ref.replace("$", ""),
                          "book_scope": True, "scope_sheet_name": None, "scope_sheet_index": None})
    return names
