"""The records passed between intake (reading files) and validate (understanding them).

Kept apart from both so that each side can be built and tested on its own:
intake turns inbox files into `ReceivedFile`s and then `RawWorkbook`s (plain cell grids,
read in a guarded child process); validate reads labels in those grids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional

__all__ = ["ReceivedFile", "CellError", "RawSheet", "RawWorkbook"]

FileKind = Literal["xlsx", "xlsm", "xls", "xlsb", "ods", "other"]


@dataclass
class ReceivedFile:
    """One candidate return as received: a file in the inbox, or an attachment or member
    taken out of a mail (.eml/.msg) or a .zip. `kind` is sniffed from the content, not the name."""

    name: str                       # the file's own (sanitised) name, e.g. 第2期_南宁市_武鸣区.xlsx
    display: str                    # where it came from, e.g. 邮件.eml › 第2期_南宁市_武鸣区.xlsx
    content: bytes
    sha256: str
    kind: FileKind
    path: Optional[Path] = None     # the inbox file it was found in
    container: str = ""             # the mail or zip it came out of ('' for a plain file)
    sender: str = ""                # From: address of the mail, if any
    subject: str = ""
    received_at: Optional[str] = None  # ISO time: mail Date, else the file's modification time


@dataclass(frozen=True)
class CellError:
    """An Excel error value in a cell (#DIV/0!, #REF!, #N/A …): never a number, never empty."""

    text: str

    def __str__(self) -> str:
        return self.text


@dataclass
class RawSheet:
    """One worksheet as a grid of values. `cells[r][c]` is Excel row r+1, column c+1 (from A1,
    never shifted). Values: str, int, float, bool, datetime/date, CellError, or None (empty)."""

    name: str
    state: Literal["visible", "hidden", "veryHidden"]
    cells: list[list[Any]]
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # (row1, col1, row2, col2), 1-based

    def value(self, row: int, column: int) -> Any:
        """The value at 1-based (row, column), None outside the grid."""
        if 1 <= row <= len(self.cells) and 1 <= column <= len(self.cells[row - 1]):
            return self.cells[row - 1][column - 1]
        return None


@dataclass
class RawWorkbook:
    """A workbook read safely: its sheets, and what was noticed about the file on the way."""

    file: ReceivedFile
    sheets: list[RawSheet]
    has_macros: bool = False          # a VBA project or XLM macro sheet was present (never run, never copied)
    content: Optional[bytes] = None   # the bytes read, when not the file as received (decrypted with Excel's default key)
    # formula cells with no cached value (file saved by a non-Excel writer): sheet -> [(row, column)]
    uncached_formulas: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    @property
    def formulas_without_cache(self) -> int:
        return sum(len(cells) for cells in self.uncached_formulas.values())

    def sheet(self, name: str) -> Optional[RawSheet]:
        return next((s for s in self.sheets if s.name == name), None)
