"""How much faster could the forms be written with XlsxWriter than with openpyxl? (issue 20)

A measurement only, not a second writer of the forms: each form is built by
`outputs.forms` as it is (an openpyxl `Workbook` in memory), then written twice — by
openpyxl's `save` (what `write_forms` does) and by XlsxWriter from the same content: every
cell's value or formula with its style (font, fill, border, alignment, number format,
locked/hidden), merged ranges, column widths and row heights, data validations (with their
prompts and error messages), comments, freeze panes, sheet protection, hidden sheets and
defined names. Building the XlsxWriter formats costs about what building the openpyxl
styles does, so `openpyxl build + XlsxWriter write` estimates a form writer on XlsxWriter.

    .venv/bin/python bench/bench_forms_xlsxwriter.py [--config config.yaml] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from bench_forms import previous_values  # noqa: E402

ROOT = BENCH.parent


def measure(config_path: Path, rounds: int) -> dict[str, Any]:
    """Medians (seconds, all forms) of: openpyxl build, openpyxl save, XlsxWriter write."""
    from xf_excel.config import load_config
    from xf_excel.outputs import forms

    config = load_config(config_path)
    previous = previous_values(config)
    units = config.reporting_units()
    split: dict[str, list[float]] = {"openpyxl_build": [], "openpyxl_save": [], "xlsxwriter_write": []}
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        for _ in range(rounds):
            start = time.perf_counter()
            books = [forms._build_workbook(config, unit, 2, previous.get(unit.code, {})) for unit in units]
            built = time.perf_counter()
            for n, book in enumerate(books):
                book.save(out / f"openpyxl_{n}.xlsx")
            saved = time.perf_counter()
            contents = [form_content(book) for book in books]
            copied = time.perf_counter()
            for n, content in enumerate(contents):
                write_with_xlsxwriter(content, out / f"xlsxwriter_{n}.xlsx")
            written = time.perf_counter() - (copied - saved)
            split["openpyxl_build"].append(built - start)
            split["openpyxl_save"].append(saved - built)
            split["xlsxwriter_write"].append(written - saved)
    medians = {k: round(statistics.median(v), 3) for k, v in split.items()}
    medians["forms"] = len(units)
    medians["openpyxl_total"] = round(medians["openpyxl_build"] + medians["openpyxl_save"], 3)
    medians["xlsxwriter_estimate"] = round(medians["openpyxl_build"] + medians["xlsxwriter_write"], 3)
    return medians


def form_content(book) -> dict[str, Any]:
    """What an XlsxWriter form writer would hold before writing: `book`'s content as plain
    data (formats as dicts), read out of openpyxl's objects (not timed: a writer on
    XlsxWriter would compute it directly, as forms.py computes the openpyxl cells)."""
    formats: dict[Any, int] = {}
    specs: list[dict[str, Any]] = []
    sheets = []
    for sheet in book.worksheets:
        cells = []
        for row in sheet.iter_rows():
            for cell in row:
                if cell.value is None and not cell.has_style:
                    continue
                style = _format_index(formats, specs, cell) if cell.has_style else None
                cells.append((cell.row - 1, cell.column - 1, cell.value, style))
        sheets.append({
            "name": sheet.title, "cells": cells,
            "merged": [(m.min_row - 1, m.min_col - 1, m.max_row - 1, m.max_col - 1) for m in sheet.merged_cells.ranges],
            "widths": [(letter, d.width) for letter, d in sheet.column_dimensions.items() if d.width],
            "heights": [(n - 1, d.height) for n, d in sheet.row_dimensions.items() if d.height],
            "validations": [(r.coord, _validation(v)) for v in sheet.data_validations.dataValidation
                            for r in v.sqref.ranges],
            "comments": [(c.coordinate, c.comment.text, c.comment.author or "") for row in sheet.iter_rows()
                         for c in row if c.comment is not None],
            "freeze": sheet.freeze_panes, "protected": bool(sheet.protection.sheet), "state": sheet.sheet_state,
        })
    names = [(name, "=" + d.attr_text.lstrip("=")) for name, d in book.defined_names.items()]
    return {"formats": specs, "sheets": sheets, "names": names}


def write_with_xlsxwriter(content: dict[str, Any], path: Path) -> None:
    """`form_content(...)` written by XlsxWriter."""
    import xlsxwriter

    target = xlsxwriter.Workbook(str(path), {"in_memory": True})
    formats = [target.add_format(spec) for spec in content["formats"]]
    for sheet in content["sheets"]:
        out = target.add_worksheet(sheet["name"])
        for row, column, value, style in sheet["cells"]:
            style = None if style is None else formats[style]
            if isinstance(value, str) and value.startswith("="):
                out.write_formula(row, column, value, style, "")
            elif isinstance(value, str):
                out.write_string(row, column, value, style)
            elif value is None:
                out.write_blank(row, column, None, style)
            else:
                out.write(row, column, value, style)
        for first_row, first_col, last_row, last_col in sheet["merged"]:
            out.merge_range(first_row, first_col, last_row, last_col, None)
        for letter, width in sheet["widths"]:
            out.set_column(f"{letter}:{letter}", width)
        for row, height in sheet["heights"]:
            out.set_row(row, height)
        for coord, options in sheet["validations"]:
            out.data_validation(coord, options)
        for coord, text, author in sheet["comments"]:
            out.write_comment(coord, text, {"author": author})
        if sheet["freeze"]:
            out.freeze_panes(sheet["freeze"])
        if sheet["protected"]:
            out.protect("", {"format_columns": True, "format_rows": True})
        if sheet["state"] == "hidden":
            out.hide()
        elif sheet["state"] == "veryHidden":
            out.very_hidden()
    for name, formula in content["names"]:
        target.define_name(name, formula)
    target.close()


def _format_index(formats: dict, specs: list, cell) -> int:
    spec = _format(cell)
    key = tuple(sorted(spec.items()))
    if key not in formats:
        formats[key] = len(specs)
        specs.append(spec)
    return formats[key]


def _format(cell) -> dict[str, Any]:
    font, fill, border, align, protection = cell.font, cell.fill, cell.border, cell.alignment, cell.protection
    spec = {"font_name": font.name, "font_size": font.sz, "bold": bool(font.b), "italic": bool(font.i),
            "num_format": cell.number_format, "locked": bool(protection.locked), "hidden": bool(protection.hidden),
            "text_wrap": bool(align.wrap_text)}
    if font.color is not None and font.color.rgb and isinstance(font.color.rgb, str):
        spec["font_color"] = "#" + font.color.rgb[-6:]
    if fill.fill_type == "solid" and isinstance(fill.fgColor.rgb, str):
        spec["bg_color"] = "#" + fill.fgColor.rgb[-6:]
    if align.horizontal:
        spec["align"] = {"centerContinuous": "center_across"}.get(align.horizontal, align.horizontal)
    if align.vertical:
        spec["valign"] = {"center": "vcenter"}.get(align.vertical, align.vertical)
    if border.left is not None and border.left.style:
        spec["border"] = 1
    return spec


def _validation(v) -> dict[str, Any]:
    kind = v.type or "any"
    options: dict[str, Any] = {"validate": {"whole": "integer", "textLength": "length"}.get(kind, kind)}
    if kind == "list":
        options["source"] = v.formula1
    elif kind == "custom":
        options["value"] = v.formula1
    elif kind != "any":
        options["criteria"] = {"between": "between", "greaterThanOrEqual": ">=", "lessThanOrEqual": "<=",
                               "greaterThan": ">", "lessThan": "<", "equal": "==", "notEqual": "!=",
                               "notBetween": "not between"}.get(v.operator or "between", "between")
        if options["criteria"] in ("between", "not between"):
            options["minimum"], options["maximum"] = v.formula1, v.formula2
        else:
            options["value"] = v.formula1
    if v.prompt:
        options["input_title"], options["input_message"] = (v.promptTitle or "")[:32], v.prompt[:255]
    if v.error:
        options["error_title"], options["error_message"] = (v.errorTitle or "")[:32], v.error[:255]
    options["ignore_blank"] = bool(v.allow_blank)
    return options


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config.yaml")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    result = measure(args.config, args.rounds)
    print(f"{result['forms']} forms: openpyxl build {result['openpyxl_build']:.3f} s + save "
          f"{result['openpyxl_save']:.3f} s = {result['openpyxl_total']:.3f} s; XlsxWriter write "
          f"{result['xlsxwriter_write']:.3f} s (estimate with XlsxWriter: {result['xlsxwriter_estimate']:.3f} s, "
          f"{result['openpyxl_total'] / result['xlsxwriter_estimate']:.1f}× faster)")


if __name__ == "__main__":
    main()
