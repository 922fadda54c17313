"""Figures typed into the master workbook → entries, read by label and checked as returns are.

Staff correct figures (a number reported by phone) on the city and member-unit sheets. An
entry sheet is any sheet whose header row (within the top 10 rows) holds `单位代码` and at
least one indicator name from config; each row with a unit code below it is one unit's
`ManualEntry`. The figures go through the same checker as a return's (`figures`), with the
same policy and words; what only the master has is checked here: an unknown unit code, and a
figure typed for an indicator the unit does not report.

    >>> entries, issues = read_master_entries(Path("汇总_第2期.xlsx"), config)   # doctest: +SKIP
    >>> issues += check_entries(config, entries, file="汇总_第2期.xlsx", previous={}, peers={})
"""

from __future__ import annotations

import unicodedata
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

from ..config import Config, Indicator
import re

from ..contract import ENTRY_CODE_LABEL, NEWS_CHOSEN_WORDS, BookName, NewsColumn
from ..issues import Issue, IssueCode, Severity, cell_address
from .figures import check_figures
from .read import CellValue, label_of, shown_value
from .validate import narrative_text

__all__ = ["ManualEntry", "NarrativeChoice", "read_master_entries", "read_book_grids", "read_entry_sheet", "read_news_sheet",
           "read_book_version", "check_entries", "entries_without_errors"]

_ENTRY_HEADER_ROWS = 10     # an entry sheet's header row is looked for in this many top rows


@dataclass
class ManualEntry:
    """One unit's row as typed into the master workbook (a city or member-unit sheet).

    `typed` holds every indicator column the unit reports, as typed (with its cell);
    `values` the checked figures (None = blank or refused), filled by `check_entries`."""

    unit_code: str
    typed: dict[str, CellValue]
    sheet: str = ""
    row: Optional[int] = None
    period: Optional[int] = None          # the period the workbook was written for (its 首页)
    values: dict[str, Optional[float]] = field(default_factory=dict)

    @property
    def cells(self) -> dict[str, str]:
        """Indicator id → the address a person sees (`南宁市!E5`)."""
        return {indicator: cell.cell for indicator, cell in self.typed.items()}

    @property
    def blank(self) -> bool:
        """Nothing typed in the row (a unit that has not reported): not an entry to check."""
        return all(cell.blank for cell in self.typed.values())


@dataclass(frozen=True)
class NarrativeChoice:
    """What the office decided about a narrative item on the master's 工作动态 sheet: 选用, and
    the text to print ('' = the unit's own). `key` is the item's (`archive.store.NarrativeItem.key`)."""

    key: str
    chosen: bool
    text: str


def read_master_entries(path: Path, config: Config) -> tuple[list[ManualEntry], list[Issue]]:
    """The rows typed into the entry sheets of a master workbook file (by label), and the
    issues only the master has (unknown unit codes, figures for indicators a unit does not report)."""
    period, grids = read_book_grids(path)
    entries: list[ManualEntry] = []
    issues: list[Issue] = []
    for title, grid in grids.items():
        found, problems = read_entry_sheet(config, Path(path).name, title, grid, period)
        entries += found
        issues += problems
    return entries, issues


def read_book_grids(path: Path) -> tuple[Optional[int], dict[str, list[list[Any]]]]:
    """A master workbook file's period (its 首页 `Period`) and every sheet's cells (rows from A1)."""
    from openpyxl import load_workbook

    with warnings.catch_warnings():  # openpyxl warns that it drops the data bars it cannot read
        warnings.simplefilter("ignore", UserWarning)
        book = load_workbook(Path(path), read_only=True, data_only=True)
        try:
            return _named_number(book, BookName.PERIOD), {
                sheet.title: [list(row) for row in sheet.iter_rows(values_only=True)] for sheet in book.worksheets}
        finally:
            book.close()


_ITEM_KEY = re.compile(r"N[0-9]+-[0-9]+")   # not "44-1": Excel would take that for a date


def read_news_sheet(grid: list[list[Any]]) -> list[NarrativeChoice]:
    """The office's choice of each item on a 工作动态 sheet (any sheet whose header row, within
    the top 10 rows, holds 编号, 选用 and 简报采用文字), read by label: 选用 is a yes (`是`, `√` …)
    or not; the text as typed (blank: the unit's own text stands). Nothing else is read."""
    for h, row in enumerate(grid[:_ENTRY_HEADER_ROWS]):
        labels = [label_of(v) for v in row]
        if all(label_of(c.value) in labels for c in (NewsColumn.KEY, NewsColumn.CHOSEN, NewsColumn.TEXT)):
            break
    else:
        return []
    key_col, chosen_col, text_col = (labels.index(label_of(c.value)) for c in
                                     (NewsColumn.KEY, NewsColumn.CHOSEN, NewsColumn.TEXT))
    choices = []
    for cells in grid[h + 1:]:
        def at(col: int) -> Any:
            return cells[col] if col < len(cells) else None
        key = _code_text(at(key_col))
        if _ITEM_KEY.fullmatch(key):
            chosen = label_of(at(chosen_col)).lower() in NEWS_CHOSEN_WORDS
            choices.append(NarrativeChoice(key=key, chosen=chosen, text=narrative_text(at(text_col))))
    return choices


def read_book_version(path: Path) -> Optional[int]:
    """The archive version a master workbook's figures reflect (its `ArchiveVersion`), or None
    for a workbook that does not say: to tell whether the archive moved on since it was made."""
    from openpyxl import load_workbook

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        book = load_workbook(Path(path), read_only=True, data_only=True)
        try:
            return _named_number(book, BookName.ARCHIVE_VERSION)
        finally:
            book.close()


def _named_number(book, name: str) -> Optional[int]:
    defined = book.defined_names.get(name)
    if defined is None:
        return None
    for title, ref in defined.destinations:
        value = book[title][ref.replace("$", "")].value
        return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    return None


def read_entry_sheet(config: Config, file: str, title: str, grid: list[list[Any]],
                     period: Optional[int]) -> tuple[list[ManualEntry], list[Issue]]:
    """One entry sheet's typed rows from its cell grid (rows from A1), by label. A sheet that
    is not an entry sheet (no 单位代码 header beside indicator names) gives nothing."""
    names = {_clean(i.name): i for i in config.indicators if not i.derived and i.numeric}
    header = _header_row(grid, names)
    if header is None:
        return [], []
    h, labels = header
    code_col = labels.index(ENTRY_CODE_LABEL)
    columns = {col: names[label] for col, label in enumerate(labels) if label in names}
    entries: list[ManualEntry] = []
    issues: list[Issue] = []
    for r, cells in enumerate(grid[h + 1:], start=h + 2):
        code = _code_text(cells[code_col] if code_col < len(cells) else None)
        if not code:
            continue
        unit = config.units.get(code)
        if unit is None:
            issues.append(Issue.of(IssueCode.UNKNOWN_UNIT, Severity.ERROR, file=file, sheet=title, row=r,
                                   column=code_col + 1, value=code, where=f"{cell_address(title, r, code_col + 1)} ",
                                   reason=f"单位代码“{code}”不在配置的单位中", advice="请勿修改单位代码列"))
            continue
        entry, problems = _entry_row(config, file, title, r, unit.code, cells, columns, period)
        entries.append(entry)
        issues += problems
    return entries, issues


def _header_row(grid: list[list[Any]], names: Mapping[str, Indicator]) -> Optional[tuple[int, list[str]]]:
    for h, row in enumerate(grid[:_ENTRY_HEADER_ROWS]):
        labels = [_clean(v) for v in row]
        if ENTRY_CODE_LABEL in labels and any(label in names for label in labels):
            return h, labels
    return None


def _entry_row(config: Config, file: str, title: str, r: int, unit_code: str, cells: list[Any],
               columns: dict[int, Indicator], period: Optional[int]) -> tuple[ManualEntry, list[Issue]]:
    unit = config.units[unit_code]
    reports = {i.id for i in config.indicators_for(unit)}
    entry = ManualEntry(unit_code=unit_code, typed={}, sheet=title, row=r, period=period)
    issues: list[Issue] = []
    for col, ind in columns.items():
        cell = CellValue(cells[col] if col < len(cells) else None, title, r, col + 1)
        if ind.id in reports:
            entry.typed[ind.id] = cell
        elif not cell.blank:
            issues.append(Issue.of(IssueCode.NOT_REPORTED_BY_UNIT, Severity.WARNING, file=file, sheet=title, row=r,
                                   column=col + 1, indicator=ind.id, value=shown_value(cell.value), unit=unit_code,
                                   name=ind.name, unit_name=unit.full_name))
    return entry, issues


def check_entries(config: Config, entries: Iterable[ManualEntry], *, file: str,
                  previous: Mapping[str, Mapping[str, Any]], peers: Mapping[str, Sequence[float]]) -> list[Issue]:
    """Check every entry's typed figures with the checker of returns (`previous`: unit code →
    its last accepted values before the period; `peers`: indicator → county figures) and fill
    each entry's `values`. Rows with nothing typed are left alone."""
    issues: list[Issue] = []
    for entry in entries:
        if entry.blank:
            continue
        figures = check_figures(config, config.units[entry.unit_code], entry.typed, file=file,
                                previous=previous.get(entry.unit_code), peers=peers)
        entry.values = {k: v for k, v in figures.values.items() if k in entry.typed}
        issues += figures.issues
    return issues


def entries_without_errors(entries: Iterable[ManualEntry], issues: Iterable[Issue]) -> list[ManualEntry]:
    """The checked entries of units that have no 错误 among `issues` (those may be recorded)."""
    blocked = {(i.unit, i.sheet) for i in issues if i.blocking}
    return [e for e in entries if not e.blank and (e.unit_code, e.sheet) not in blocked]


def _clean(text: Any) -> str:
    return unicodedata.normalize("NFKC", str(text)).strip() if text is not None else ""


def _code_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _clean(value)
