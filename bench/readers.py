"""Reference readers the product's read + validate is compared with, on the same files.

- `calamine_raw`: python-calamine reading every sheet (`to_python()`), nothing else — the
  fastest correct read of these files, and the floor read + validate is judged against.
- `unzip`: every part of every file decompressed, nothing parsed — the bytes any reader
  must at least inflate.
- `unzip_expat`: unzip every XML part and run expat over it with no handlers (decompress and
  tokenize); nothing is kept. (Slower than calamine, whose Rust parser beats expat's
  Python-driven setup per part: so not a floor.)
- `openpyxl_full`: plain openpyxl, `load_workbook` and every cell of every sheet (what
  issue 3 compares with).

Each takes a list of paths and returns a small number (cells or bytes seen), so the work
cannot be optimised away and a broken run is visible.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Iterable
from xml.parsers import expat


def unzip(paths: Iterable[Path]) -> int:
    """Every part of every file decompressed, nothing parsed. Returns the bytes inflated."""
    total = 0
    for path in paths:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                total += len(archive.read(info))
    return total


def unzip_expat(paths: Iterable[Path]) -> int:
    """Unzip + expat tokenizer of every XML part, no handlers. Returns the bytes parsed."""
    total = 0
    for path in paths:
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if name.endswith((".xml", ".rels")):
                    data = archive.read(name)
                    expat.ParserCreate().Parse(data, True)
                    total += len(data)
    return total


def calamine_raw(paths: Iterable[Path]) -> int:
    """python-calamine: every sheet of every file to Python lists. Returns the cells read."""
    from python_calamine import CalamineWorkbook

    cells = 0
    for path in paths:
        book = CalamineWorkbook.from_path(str(path))
        for name in book.sheet_names:
            rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
            cells += sum(len(row) for row in rows)
    return cells


def openpyxl_full(paths: Iterable[Path]) -> int:
    """Plain openpyxl: load each workbook and touch every cell value. Returns the cells read."""
    from openpyxl import load_workbook

    cells = 0
    for path in paths:
        book = load_workbook(path)
        for sheet in book.worksheets:
            for row in sheet.iter_rows(values_only=True):
                cells += len(row)
        book.close()
    return cells
