"""Filling a return form as a clerk would in Excel: everything found by its contract label.

The demo and the benchmarks fill forms only through this module, so they exercise exactly
what a person's file would (docs/form-contract.md). Two paths, same labels: editing the
sheet XML in place (fast), or openpyxl for the layout quirks that move cells (an inserted
row or column, a renamed sheet).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
import zipfile
from copy import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

from lxml import etree
from openpyxl import load_workbook
from openpyxl.formula.tokenizer import Token, Tokenizer
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import column_index_from_string, range_boundaries
from openpyxl.utils.datetime import to_excel as excel_serial
from openpyxl.worksheet.cell_range import MultiCellRange

from ..contract import FORM_SHEET, INDICATOR_LABEL, NARRATIVE_LABELS, SERIAL_LABEL, UNIT_LABEL, VALUE_LABEL

__all__ = ["fill_form", "FULLWIDTH", "UNIT_SUFFIX", "THOUSANDS", "TEXT_NUMBER", "BLANK_ROW", "BLANK_COLUMN",
           "RENAME_SHEET", "TEXT_QUIRKS", "LAYOUT_QUIRKS"]

# Quirks: `kind:<indicator name>` for the text quirks (that one cell), `kind` or
# `kind:<new sheet name>` for the layout quirks.
FULLWIDTH = "fullwidth"        # 12 -> １２
UNIT_SUFFIX = "unit-suffix"    # 12 -> 12个, 35.5 -> 35.5万元 (the unit printed on the form's row)
THOUSANDS = "thousands"        # 1200 -> 1,200
TEXT_NUMBER = "text-number"    # 12 -> the text "12"
BLANK_ROW = "blank-row"        # a blank row inserted above the table header
BLANK_COLUMN = "blank-column"  # a blank column inserted before 截至本期累计
RENAME_SHEET = "rename-sheet"  # the 填报 sheet renamed
TEXT_QUIRKS = (FULLWIDTH, UNIT_SUFFIX, THOUSANDS, TEXT_NUMBER)
LAYOUT_QUIRKS = (BLANK_ROW, BLANK_COLUMN, RENAME_SHEET)



# ---- filling a form by label ------------------------------------------------------------------------

_FULLWIDTH_DIGITS = str.maketrans("0123456789.", "０１２３４５６７８９．")


def _label(value: object) -> str:
    """A cell's text as the reader compares labels: NFKC (full-width to ASCII), no spaces."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value)) if isinstance(value, str) else ""


@dataclass
class _Layout:
    """Where things are on the 填报 sheet, found by label (1-based rows and columns)."""

    header: dict[str, tuple[int, int]]        # label -> its value cell (header block and narrative fields)
    rows: dict[str, int]                      # indicator name -> row
    value_column: int
    units: dict[str, str]                     # indicator name -> text in the 单位 column


def _locate(cells: Mapping[tuple[int, int], object], unlocked: Callable[[int, int], bool],
            labels: Iterable[str], names: Iterable[str], narrative: Iterable[str] = ()) -> _Layout:
    """Find header labels, the table header row and indicator rows, as docs/form-contract.md
    says a reader does. Raises ValueError naming what is not on the form."""
    text = {pos: _label(v) for pos, v in sorted(cells.items()) if isinstance(v, str)}
    by_row: dict[int, set[str]] = {}
    for (row, _), t in text.items():
        by_row.setdefault(row, set()).add(t)
    header_row = next((r for r in sorted(by_row) if {INDICATOR_LABEL, VALUE_LABEL} <= by_row[r]), None)
    if header_row is None:
        raise ValueError(f"表格中找不到表头“{INDICATOR_LABEL}”“{VALUE_LABEL}”")
    columns = {t: c for (r, c), t in text.items() if r == header_row}
    header = {}
    wanted_labels = [(label, True) for label in labels] + [(label, False) for label in narrative]
    for label, above in wanted_labels:
        found = next(((r, c) for (r, c), t in text.items() if (r < header_row) == above and t == _label(label)), None)
        if found is None:
            raise ValueError(f"表格中找不到标签“{label}”")
        row, column = found
        # the value cell: the first input (unlocked) cell to the right, else the next cell
        target = next((c for c in range(column + 1, column + 4) if unlocked(row, c)), column + 1)
        header[label] = (row, target)
    wanted = {_label(n): n for n in names}
    rows, units = {}, {}
    for (row, column), t in text.items():
        if row > header_row and column == columns[INDICATOR_LABEL] and t in wanted:
            rows[wanted[t]] = row
            if UNIT_LABEL in columns:
                units[wanted[t]] = str(cells.get((row, columns[UNIT_LABEL])) or "")
    missing = [n for n in wanted.values() if n not in rows]
    if missing:
        raise ValueError(f"表格中找不到指标：{'、'.join(missing)}")
    return _Layout(header, rows, columns[VALUE_LABEL], units)


def _locate_details(cells: Mapping[tuple[int, int], object], names: Iterable[str]) -> tuple[int, dict[str, int]]:
    """(header row, column name -> column) of a detail sheet: the first row holding every name."""
    wanted = {_label(n): n for n in names}
    by_row: dict[int, dict[str, int]] = {}
    for (row, column), value in sorted(cells.items()):
        if _label(value) in wanted:
            by_row.setdefault(row, {})[wanted[_label(value)]] = column
    for row in sorted(by_row):
        if len(by_row[row]) == len(wanted):
            return row, by_row[row]
    raise ValueError(f"明细表中找不到表头：{'、'.join(wanted.values())}")




def _split_labels(labels: Iterable[str]) -> tuple[list[str], list[str]]:
    """(header-block labels, narrative labels): the narrative fields sit below the table."""
    labels = list(labels)
    return [l for l in labels if l not in NARRATIVE_LABELS], [l for l in labels if l in NARRATIVE_LABELS]


def _left_over(cells: Mapping[tuple[int, int], object], last_row: int, columns: Mapping[str, int]) -> list[tuple[int, int]]:
    """Cells of the list's columns below the rows written: what the form was pre-filled with
    beyond the clerk's list (a counter closed since), which a clerk deletes."""
    wanted = set(columns.values())
    return [(r, c) for (r, c), value in cells.items() if r > last_row and c in wanted and value not in (None, "")]


def _detail_headers(rows: list[dict]) -> set[str]:
    return {k for row in rows for k in row} | {SERIAL_LABEL}


def _numbered(row: Mapping[str, object], number: int) -> dict[str, object]:
    """Clerks number the rows they fill in the 序号 column."""
    return {SERIAL_LABEL: number, **row}


def _plain(value: float) -> str:
    """12 -> '12', 35.5 -> '35.5', 35.0 (money) -> '35'."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value) if isinstance(value, int) else f"{value:.2f}".rstrip("0").rstrip(".")


def _typed(value: object, quirk: str, unit: str) -> object:
    """What a clerk with this habit types for a number."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return value
    if quirk == FULLWIDTH:
        return _plain(value).translate(_FULLWIDTH_DIGITS)
    if quirk == UNIT_SUFFIX:
        return f"{_plain(value)}{unit}"
    if quirk == THOUSANDS:
        return f"{int(value):,}" if float(value).is_integer() else f"{value:,.2f}"
    if quirk == TEXT_NUMBER:
        return _plain(value)
    return value


def _entries(values: Mapping[str, object], quirks: Sequence[str], units: Mapping[str, str]) -> dict[str, object]:
    entries = dict(values)
    for quirk in quirks:
        kind, _, target = quirk.partition(":")
        if kind in TEXT_QUIRKS:
            if target not in entries:
                raise ValueError(f"怪癖“{quirk}”所指指标不在填报值中")
            entries[target] = _typed(entries[target], kind, units.get(target, ""))
    return entries


def fill_form(form_path: Path, out_path: Path, values: Mapping[str, object],
              details: Mapping[str, list[dict]] = {}, header: Mapping[str, str] = {},
              quirks: Sequence[str] = (), engine: str = "auto", narrative: Mapping[str, str] = {}) -> Path:
    """Fill a return form as a clerk would in Excel, finding everything by label.

    `values`: indicator name -> what to type under 截至本期累计 (numbers, or text as typed);
    `details`: detail sheet name -> rows of column name -> value (from the row under the
    header); `header`: header label (填报人, 联系电话, …) -> value; `quirks`: see TEXT_QUIRKS
    and LAYOUT_QUIRKS. Writes `out_path` and returns it.

    `engine`: "xml" edits the sheet XML in place (fast, ~10 ms a form); "openpyxl" loads and
    saves the workbook (needed for the layout quirks, which move cells); "auto" picks xml
    unless a layout quirk asks for openpyxl. Both find cells through the same contract labels.

        >>> fill_form(Path("第2期_南宁市_武鸣区.xlsx"), Path("inbox/武鸣区.xlsx"),
        ...           {"建成专柜数": 12, "运营专柜数": 10}, header={"填报人": "韦芳"}, quirks=["fullwidth:建成专柜数"])
    """
    data = _fill_bytes(Path(form_path), values, details, {**header, **narrative}, quirks, engine)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_bytes(data)
    return out_path


def _fill_bytes(form_path: Path, values: Mapping[str, object], details: Mapping[str, list[dict]],
                header: Mapping[str, str], quirks: Sequence[str], engine: str = "auto") -> bytes:
    layout_quirks = [q for q in quirks if q.partition(":")[0] in LAYOUT_QUIRKS]
    if engine == "auto":
        engine = "openpyxl" if layout_quirks else "xml"
    if engine == "xml":
        if layout_quirks:
            raise ValueError("版式类怪癖（插入行列、改表名）需要 openpyxl 引擎")
        return _XmlFiller(form_path.read_bytes()).fill(values, details, header, quirks)
    if engine == "openpyxl":
        return _fill_openpyxl(form_path, values, details, header, quirks)
    raise ValueError(f"未知的引擎 {engine}")


# -- the fast path: edit the sheet XML of the package ------------------------------------------------

_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_XML_NS = "http://www.w3.org/XML/1998/namespace"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
_CELL_REF = re.compile(r"([A-Z]{1,3})([0-9]+)")


def _q(tag: str) -> str:
    return f"{{{_NS}}}{tag}"


def _part_path(base: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    parts = [p for p in (base.rsplit("/", 1)[0] + "/" + target).split("/") if p and p != "."]
    out: list[str] = []
    for part in parts:
        if part == "..":
            out.pop()
        else:
            out.append(part)
    return "/".join(out)


class _XmlSheet:
    """One worksheet part as an lxml tree, its cells indexed by (row, column)."""

    def __init__(self, data: bytes, shared: Sequence[str], unlocked_styles: set[int]):
        self.root = etree.fromstring(data, _PARSER)
        self.data = self.root.find(_q("sheetData"))
        self.shared, self.unlocked_styles = shared, unlocked_styles
        self.rows: dict[int, Any] = {}
        self.cells: dict[tuple[int, int], Any] = {}
        self.row_columns: dict[int, list[int]] = {}
        self.column_styles: dict[int, str] = {}
        for col in self.root.iterfind(f"{_q('cols')}/{_q('col')}"):
            if col.get("style"):
                for column in range(int(col.get("min")), int(col.get("max")) + 1):
                    self.column_styles[column] = col.get("style")
        for row_el in self.data.iterfind(_q("row")):
            number = int(row_el.get("r"))
            self.rows[number] = row_el
            for position, cell in enumerate(row_el.iterfind(_q("c")), start=1):
                match = _CELL_REF.fullmatch(cell.get("r", ""))
                column = column_index_from_string(match.group(1)) if match else position
                self.cells[(number, column)] = cell
                self.row_columns.setdefault(number, []).append(column)

    def values(self) -> dict[tuple[int, int], object]:
        found = {}
        for position, cell in self.cells.items():
            value = self._value(cell)
            if value is not None and value != "":
                found[position] = value
        return found

    def _value(self, cell: Any) -> object:
        kind = cell.get("t")
        if kind == "inlineStr":
            node = cell.find(_q("is"))
            return "".join(node.itertext()) if node is not None else None
        v = cell.find(_q("v"))
        if v is None or v.text is None:
            return None
        if kind == "s":
            return self.shared[int(v.text)]
        if kind in ("str", "e", "b"):
            return v.text
        return float(v.text)

    def unlocked(self, row: int, column: int) -> bool:
        cell = self.cells.get((row, column))
        return cell is not None and int(cell.get("s", "0")) in self.unlocked_styles

    def write(self, row: int, column: int, value: object) -> None:
        cell = self._cell(row, column)
        for child in list(cell):
            if child.tag in (_q("f"), _q("v"), _q("is")):
                cell.remove(child)
        cell.attrib.pop("t", None)
        if value is None:
            return
        if isinstance(value, bool):
            cell.set("t", "b")
            etree.SubElement(cell, _q("v")).text = "1" if value else "0"
        elif isinstance(value, (int, float)):
            etree.SubElement(cell, _q("v")).text = repr(value) if isinstance(value, float) else str(value)
        elif isinstance(value, (dt.date, dt.datetime)):
            serial = excel_serial(value)
            etree.SubElement(cell, _q("v")).text = str(int(serial)) if float(serial).is_integer() else repr(serial)
        else:
            text = str(value)
            cell.set("t", "inlineStr")
            node = etree.SubElement(etree.SubElement(cell, _q("is")), _q("t"))
            node.text = text
            if text != text.strip():
                node.set(f"{{{_XML_NS}}}space", "preserve")

    def _cell(self, row: int, column: int) -> Any:
        cell = self.cells.get((row, column))
        if cell is not None:
            return cell
        row_el = self.rows.get(row)
        if row_el is None:
            row_el = etree.Element(_q("row"), r=str(row))
            after = [r for r in self.rows if r > row]
            if after:
                self.rows[min(after)].addprevious(row_el)
            else:
                self.data.append(row_el)
            self.rows[row] = row_el
        row_el.attrib.pop("spans", None)   # a hint Excel recomputes; stale once a cell is added
        cell = etree.Element(_q("c"), r=f"{get_column_letter(column)}{row}")
        # Excel gives a new cell its row's style, else its column's (the form's input styles)
        style = row_el.get("s") if row_el.get("customFormat") in ("1", "true") else self.column_styles.get(column)
        if style and style != "0":
            cell.set("s", style)
        later = [c for c in self.row_columns.get(row, ()) if c > column]
        if later:
            self.cells[(row, min(later))].addprevious(cell)
        else:
            row_el.append(cell)
        self.cells[(row, column)] = cell
        self.row_columns.setdefault(row, []).append(column)
        self._grow_dimension(row, column)
        return cell

    def _grow_dimension(self, row: int, column: int) -> None:
        dimension = self.root.find(_q("dimension"))
        if dimension is None:
            return
        min_col, min_row, max_col, max_row = range_boundaries(dimension.get("ref", "A1"))
        max_col, max_row = max(max_col or 1, column), max(max_row or 1, row)
        dimension.set("ref", f"{get_column_letter(min_col or 1)}{min_row or 1}:{get_column_letter(max_col)}{max_row}")

    def to_bytes(self) -> bytes:
        return etree.tostring(self.root, xml_declaration=True, encoding="UTF-8", standalone=True)


class _XmlFiller:
    """Fills a form by editing only the worksheet parts it writes to; every other part of
    the package is copied unchanged (so the output is as deterministic as the input)."""

    def __init__(self, data: bytes):
        self.package = zipfile.ZipFile(io.BytesIO(data))
        self.names = set(self.package.namelist())
        workbook = self._workbook_part()
        rels = etree.fromstring(self.package.read(_part_path(workbook, "_rels/" + workbook.rsplit("/", 1)[-1] + ".rels")),
                                _PARSER)
        targets = {r.get("Id"): (r.get("Type", ""), _part_path(workbook, r.get("Target"))) for r in rels}
        root = etree.fromstring(self.package.read(workbook), _PARSER)
        self.sheet_parts = {s.get("name"): targets[s.get(f"{{{_REL_NS}}}id")][1] for s in root.iter(_q("sheet"))}
        self.shared = self._shared_strings([p for t, p in targets.values() if t.endswith("/sharedStrings")])
        self.unlocked = self._unlocked_styles([p for t, p in targets.values() if t.endswith("/styles")])
        self.sheets: dict[str, _XmlSheet] = {}

    def _workbook_part(self) -> str:
        rels = etree.fromstring(self.package.read("_rels/.rels"), _PARSER)
        for rel in rels:
            if rel.get("Type", "").endswith("/officeDocument"):
                return rel.get("Target").lstrip("/")
        return "xl/workbook.xml"

    def _shared_strings(self, parts: list[str]) -> list[str]:
        if not parts or parts[0] not in self.names:
            return []
        root = etree.fromstring(self.package.read(parts[0]), _PARSER)
        return ["".join(si.itertext()) for si in root.iterfind(_q("si"))]

    def _unlocked_styles(self, parts: list[str]) -> set[int]:
        if not parts or parts[0] not in self.names:
            return set()
        root = etree.fromstring(self.package.read(parts[0]), _PARSER)
        xfs = root.find(_q("cellXfs"))
        unlocked = set()
        for index, xf in enumerate(xfs if xfs is not None else []):
            protection = xf.find(_q("protection"))
            if protection is not None and protection.get("locked") in ("0", "false"):
                unlocked.add(index)
        return unlocked

    def sheet(self, name: str) -> _XmlSheet:
        if name not in self.sheets:
            self.sheets[name] = _XmlSheet(self.package.read(self.sheet_parts[name]), self.shared, self.unlocked)
        return self.sheets[name]

    def _form_sheet(self) -> _XmlSheet:
        if FORM_SHEET in self.sheet_parts:
            return self.sheet(FORM_SHEET)
        for name in self.sheet_parts:
            texts = {_label(v) for v in self.sheet(name).values().values()}
            if {INDICATOR_LABEL, VALUE_LABEL} <= texts:
                return self.sheet(name)
        raise ValueError(f"找不到“{FORM_SHEET}”工作表")

    def fill(self, values: Mapping[str, object], details: Mapping[str, list[dict]], header: Mapping[str, str],
             quirks: Sequence[str]) -> bytes:
        form = self._form_sheet()
        above, below = _split_labels(header)
        layout = _locate(form.values(), form.unlocked, above, values, below)
        for label, value in header.items():
            form.write(*layout.header[label], value)
        for name, value in _entries(values, quirks, layout.units).items():
            form.write(layout.rows[name], layout.value_column, value)
        for sheet_name, rows in details.items():
            if not rows:
                continue
            if sheet_name not in self.sheet_parts:
                raise ValueError(f"找不到明细表“{sheet_name}”")
            sheet = self.sheet(sheet_name)
            header_row, columns = _locate_details(sheet.values(), _detail_headers(rows))
            for offset, row in enumerate(rows, start=1):
                for column_name, value in _numbered(row, offset).items():
                    sheet.write(header_row + offset, columns[column_name], value)
            for position in _left_over(sheet.values(), header_row + len(rows), columns):
                sheet.write(*position, None)
        return self._save()

    def _save(self) -> bytes:
        changed = {self.sheet_parts[name]: sheet.to_bytes() for name, sheet in self.sheets.items()}
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
            for info in self.package.infolist():
                data = changed.get(info.filename)
                target.writestr(info, data if data is not None else self.package.read(info.filename))
        return out.getvalue()


# -- the general path: openpyxl, for the quirks that move cells -----------------------------------------

def _fill_openpyxl(form_path: Path, values: Mapping[str, object], details: Mapping[str, list[dict]],
                   header: Mapping[str, str], quirks: Sequence[str]) -> bytes:
    workbook = load_workbook(form_path)
    sheet = workbook[FORM_SHEET] if FORM_SHEET in workbook.sheetnames else workbook.worksheets[0]
    _apply_layout_quirks(sheet, quirks)
    cells = {(c.row, c.column): c.value for row in sheet.iter_rows() for c in row if c.value is not None}
    above, below = _split_labels(header)
    layout = _locate(cells, lambda r, c: not sheet.cell(r, c).protection.locked, above, values, below)
    for label, value in header.items():
        _set(sheet.cell(*layout.header[label]), value)
    for name, value in _entries(values, quirks, layout.units).items():
        _set(sheet.cell(layout.rows[name], layout.value_column), value)
    for sheet_name, rows in details.items():
        if not rows:
            continue
        target = workbook[sheet_name]
        found = {(c.row, c.column): c.value for row in target.iter_rows(max_row=10) for c in row if c.value is not None}
        header_row, columns = _locate_details(found, _detail_headers(rows))
        for offset, row in enumerate(rows, start=1):
            for column_name, value in _numbered(row, offset).items():
                _set(_styled_cell(target, header_row + offset, columns[column_name]), value)
        cells = {(c.row, c.column): c.value for row in target.iter_rows() for c in row if c.value is not None}
        for position in _left_over(cells, header_row + len(rows), columns):
            target.cell(*position).value = None
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _styled_cell(sheet: Any, row: int, column: int) -> Any:
    """The cell, given its column's style if it is new (as Excel does when a person types)."""
    cell = sheet.cell(row, column)
    letter = get_column_letter(column)
    if not cell.has_style and letter in sheet.column_dimensions:
        cell._style = copy(sheet.column_dimensions[letter]._style)  # noqa: SLF001 - openpyxl has no public copy
    return cell


def _set(cell: Any, value: object) -> None:
    """Assign as typed; text stays text (a value beginning with = must not become a formula)."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"


def _apply_layout_quirks(sheet: Any, quirks: Sequence[str]) -> None:
    for quirk in quirks:
        kind, _, argument = quirk.partition(":")
        if kind in (BLANK_ROW, BLANK_COLUMN):
            # Excel refuses to insert rows in a protected sheet: the clerk unprotected it first.
            sheet.protection.sheet = False
            cells = {(c.row, c.column): c.value for row in sheet.iter_rows() for c in row if c.value is not None}
            table = next(pos for pos, v in sorted(cells.items()) if _label(v) == VALUE_LABEL)
            if kind == BLANK_ROW:
                _insert(sheet, row=table[0])
            else:
                _insert(sheet, column=table[1])
        elif kind == RENAME_SHEET:
            sheet.title = argument or f"{FORM_SHEET}表"


def _insert(sheet: Any, row: Optional[int] = None, column: Optional[int] = None) -> None:
    """Insert a blank row or column as Excel does: cells, merged ranges, data validations,
    formula references and the frozen pane move with it (openpyxl's insert_* moves cells only)."""
    def shift_ref(ref: str) -> str:
        match = re.fullmatch(r"(\$?)([A-Z]{1,3})(\$?)([0-9]+)", ref)
        if not match:
            return ref
        dollar_col, letters, dollar_row, number = match.groups()
        col_index, row_index = column_index_from_string(letters), int(number)
        if column is not None and col_index >= column:
            col_index += 1
        if row is not None and row_index >= row:
            row_index += 1
        return f"{dollar_col}{get_column_letter(col_index)}{dollar_row}{row_index}"

    def shift_range(coord: str) -> str:
        min_col, min_row, max_col, max_row = range_boundaries(coord)
        if row is not None:
            min_row, max_row = min_row + (min_row >= row), max_row + (max_row >= row)
        if column is not None:
            min_col, max_col = min_col + (min_col >= column), max_col + (max_col >= column)
        start = f"{get_column_letter(min_col)}{min_row}"
        end = f"{get_column_letter(max_col)}{max_row}"
        return start if start == end else f"{start}:{end}"

    def shift_formula(formula: str) -> str:
        parts = []
        for token in Tokenizer(formula).items:
            if token.type == Token.OPERAND and token.subtype == Token.RANGE:
                parts.append(re.sub(r"\$?[A-Z]{1,3}\$?[0-9]+", lambda m: shift_ref(m.group(0)), token.value))
            else:
                parts.append(token.value)
        return "=" + "".join(parts)

    merged = [r.coord for r in sheet.merged_cells.ranges]
    for coord in merged:
        sheet.unmerge_cells(coord)
    formulas = {(c.row, c.column): c.value for line in sheet.iter_rows() for c in line
                if c.data_type == "f" and isinstance(c.value, str)}
    if row is not None:
        sheet.insert_rows(row)
    else:
        sheet.insert_cols(column)
    for (r, c), formula in formulas.items():
        r2, c2 = r + (row is not None and r >= row), c + (column is not None and c >= column)
        sheet.cell(r2, c2).value = shift_formula(formula)
    for coord in merged:
        sheet.merge_cells(shift_range(coord))
    for validation in sheet.data_validations.dataValidation:
        validation.sqref = MultiCellRange(" ".join(shift_range(r.coord) for r in validation.sqref.ranges))
    if sheet.freeze_panes:
        sheet.freeze_panes = shift_ref(sheet.freeze_panes)
    if sheet.print_area:
        sheet.print_area = ",".join(shift_range(area.split("!")[-1].replace("$", ""))
                                    for area in sheet.print_area.split(","))


