"""Files as other programs write them, built in code: each reproduces one way a real file once
broke intake (issue 14), on our own form where the defect can sit on a return.

The corpus under `tests/corpus/` holds the real files these were found in; these builders make
each defect on demand, small and deterministic, so a test names exactly what it checks.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import openpyxl

import fuzzing

XLSX_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def repack(data: bytes, edit: Optional[Callable[[str, bytes], Optional[bytes]]] = None,
           add: Optional[dict[str, bytes]] = None, rename: Optional[Callable[[str], str]] = None) -> bytes:
    """A copy of a zip package: `edit(name, body)` may change a member (None drops it), `add` adds
    members, `rename` renames them."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info)
            body = edit(info.filename, body) if edit else body
            if body is not None:
                target.writestr(rename(info.filename) if rename else info.filename, body)
        for name, body in (add or {}).items():
            target.writestr(name, body)
    return out.getvalue()


def sheet_part(data: bytes, title: str) -> str:
    """The package part of the worksheet called `title`."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        workbook = archive.read("xl/workbook.xml").decode()
        rels = archive.read("xl/_rels/workbook.xml.rels").decode()
    rel_id = re.search(rf'<sheet [^>]*name="{re.escape(title)}"[^>]*r:id="([^"]+)"', workbook).group(1)
    target = re.search(rf'<Relationship [^>]*Id="{rel_id}"[^>]*Target="([^"]+)"|'
                       rf'<Relationship [^>]*Target="([^"]+)"[^>]*Id="{rel_id}"', rels)
    path = (target.group(1) or target.group(2)).lstrip("/")
    return path if path.startswith("xl/") else f"xl/{path}"


def _save(book: openpyxl.Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _png(color=(200, 30, 30)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(out, "PNG")
    return out.getvalue()


def _webp(color=(200, 30, 30)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(out, "WEBP")
    return out.getvalue()


# --------------------------------------------------------------------------- 1. a WebP picture


def with_webp_picture(data: bytes, anchor: str = "H2") -> bytes:
    """The workbook with a picture inserted as Excel 365 inserts them since 2023: WebP
    (openpyxl adds a PNG, which is then swapped for the WebP with its rels and content types)."""
    from openpyxl.drawing.image import Image as Picture

    book = openpyxl.load_workbook(io.BytesIO(data))
    book.worksheets[0].add_image(Picture(io.BytesIO(_png())), anchor)
    pictured = _save(book)

    def edit(name: str, body: bytes) -> bytes:
        if name.startswith("xl/media/") and name.endswith(".png"):
            return _webp()
        if name.endswith(".rels"):
            return body.replace(b".png", b".webp")
        if name == "[Content_Types].xml":
            body = body.replace(b'<Default Extension="png" ContentType="image/png"/>', b"")
            return body.replace(b"</Types>", b'<Default Extension="webp" ContentType="image/webp"/></Types>')
        return body

    return repack(pictured, edit, rename=lambda n: n[:-4] + ".webp" if n.startswith("xl/media/") else n)


# --------------------------------------------------------------------------- 2. a control character


def with_cached_formulas(data: bytes, title: str, formulas: dict[str, tuple[str, str]]) -> bytes:
    """Cells of sheet `title` as Excel saves text formulas: `<c t="str"><f>…</f><v>cached</v></c>`;
    `formulas` maps a cell to (formula, cached text as stored in the XML: Excel writes CHAR(7)
    as `_x0007_`)."""
    book = openpyxl.load_workbook(io.BytesIO(data))
    for cell, (formula, _) in formulas.items():
        book[title][cell] = f"={formula}"
    written = _save(book)
    part = sheet_part(written, title)

    def edit(name: str, body: bytes) -> bytes:
        if name != part:
            return body
        for cell, (formula, cached) in formulas.items():
            escaped = formula.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
            pattern = (rb'<c r="' + cell.encode() + rb'"([^>]*?)(?: t="[a-z]+")?([^>]*)><f>[^<]*</f>'
                       rb"(?:<v\s*/>|<v>[^<]*</v>)?</c>")
            body, count = re.subn(pattern, lambda m: (b'<c r="' + cell.encode() + b'"' + m.group(1) + m.group(2)
                                                      + b' t="str"><f>' + escaped.encode() + b"</f><v>"
                                                      + cached.encode() + b"</v></c>"), body)
            assert count == 1, (cell, body[:400])
        return body

    return repack(written, edit)


def control_character_note(data: bytes, title: str = "填报", cell: str = "F8") -> bytes:
    """A note cell holding `=CHAR(7)&"note"`, its result cached by Excel as `_x0007_note`."""
    return with_cached_formulas(data, title, {cell: ('CHAR(7)&"note"', "_x0007_note")})


def control_character_book() -> bytes:
    """SheetJS's formula_stress_test in small: `=CHAR(7)&"7"&CHAR(7)` and `=CHAR(12)` cached."""
    book = openpyxl.Workbook()
    book.active.title = "Sheet1"
    book.active["A1"] = "text"
    return with_cached_formulas(_save(book), "Sheet1", {"B1": ('CHAR(7)&"7"&CHAR(7)', "_x0007_7_x0007_"),
                                                        "B2": ("CHAR(12)", "_x000C_")})


# --------------------------------------------------------------------------- 4. Excel's default key


def default_key(data: bytes) -> bytes:
    """The workbook encrypted as Excel does for "read-only recommended" and protected structure:
    with the built-in password VelvetSweatshop, which Excel uses without asking."""
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(data)).encrypt("VelvetSweatshop", out)
    return out.getvalue()


def password(data: bytes, secret: str = "1234") -> bytes:
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(data)).encrypt(secret, out)
    return out.getvalue()


# --------------------------------------------------------------------------- 6. parts no parser reads


def with_utf16_custom_xml(data: bytes) -> bytes:
    """Excel for Mac's bibliography part: `customXml/item1.xml` in UTF-16 with a BOM, related
    from the workbook as Excel relates it."""
    item = ('<?xml version="1.0" encoding="UTF-16" standalone="no"?><b:Sources '
            'xmlns:b="http://schemas.openxmlformats.org/officeDocument/2006/bibliography" '
            'SelectedStyle="\\APA.XSL" StyleName="APA"/>')
    props = (b'<?xml version="1.0" encoding="UTF-8" standalone="no"?><ds:datastoreItem '
             b'ds:itemID="{6F0B0D6B-8C44-4E5B-A0E5-0C2C0A8D7E11}" '
             b'xmlns:ds="http://schemas.openxmlformats.org/officeDocument/2006/customXml"><ds:schemaRefs/>'
             b"</ds:datastoreItem>")
    rel = (b'<Relationship Id="rIdCustom1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
           b'relationships/customXml" Target="../customXml/item1.xml"/></Relationships>')

    def edit(name: str, body: bytes) -> bytes:
        return body.replace(b"</Relationships>", rel) if name == "xl/_rels/workbook.xml.rels" else body

    return repack(data, edit, add={"customXml/item1.xml": b"\xff\xfe" + item.encode("utf-16-le"),
                                   "customXml/itemProps1.xml": props,
                                   "customXml/_rels/item1.xml.rels": (
                                       b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships '
                                       b'xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                                       b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
                                       b'officeDocument/2006/relationships/customXmlProps" '
                                       b'Target="itemProps1.xml"/></Relationships>')})


def with_data_model(data: bytes) -> bytes:
    """An Excel Data Model (Power Pivot): the binary part `xl/model/item.data`."""
    return repack(data, add={"xl/model/item.data": b"\x00\x00\x00\x00" + bytes(range(256)) * 4})


def mac_rezipped(data: bytes) -> bytes:
    """The workbook as Finder's "Compress" re-zips it: AppleDouble `__MACOSX/…/._x` members and a `.DS_Store`."""
    apple_double = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + b"\x00" * 32
    return repack(data, add={"__MACOSX/xl/._sharedStrings.xml": apple_double,
                             "__MACOSX/._[Content_Types].xml": apple_double,
                             ".DS_Store": b"\x00\x00\x00\x01Bud1" + b"\x00" * 64})


# --------------------------------------------------------------------------- 7. Apple Numbers


NUMBERS_MEMBERS = ("Index/Document.iwa", "Index/Tables/DataList.iwa", "Index/Metadata.iwa",
                   "Index/CalculationEngine.iwa", "Index/ViewState.iwa", "Index/DocumentStylesheet.iwa",
                   "Index/AnnotationAuthorStorage.iwa")


def numbers_file() -> bytes:
    """An Apple Numbers document saved as a single file: a zip of IWA parts, metadata and previews."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in NUMBERS_MEMBERS:
            archive.writestr(name, b"\x00\x1a\x00\x00" + name.encode() + b"\x08\x01" * 8)
        archive.writestr("Metadata/Properties.plist", b"bplist00\xd1\x01\x02")
        archive.writestr("Metadata/DocumentIdentifier", b"6F0B0D6B-8C44-4E5B-A0E5-0C2C0A8D7E11")
        archive.writestr("preview.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 16)
        archive.writestr("preview-web.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 16)
    return out.getvalue()


def numbers_package(folder: Path) -> Path:
    """A Numbers document saved as a package: a folder `*.numbers` holding Index.zip and metadata."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Index.zip").write_bytes(numbers_file())
    (folder / "Metadata").mkdir(exist_ok=True)
    (folder / "Metadata" / "Properties.plist").write_bytes(b"bplist00\xd1\x01\x02")
    (folder / "preview.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 16)
    return folder


# --------------------------------------------------------------------------- 8. a library that prints


def style_index_out_of_range(data: bytes) -> bytes:
    """A named cell style pointing past cellStyleXfs: openpyxl prints `0 is out of range` on stdout."""
    def edit(name: str, body: bytes) -> bytes:
        if name == "xl/styles.xml":
            body = re.sub(rb"<cellStyleXfs[^>]*>.*?</cellStyleXfs>", b'<cellStyleXfs count="0"/>', body, flags=re.S)
            body = re.sub(rb'<cellStyleXfs count="\d+"\s*/>', b'<cellStyleXfs count="0"/>', body)
            body = re.sub(rb'xfId="\d+"', b'xfId="0"', body)
        return body

    return repack(data, edit)


# --------------------------------------------------------------------------- 9. .ods


def ods_minimal(cells: tuple[tuple[str, float], ...] = (("序号", 12.0),)) -> bytes:
    """A minimal OpenDocument spreadsheet as WPS/LibreOffice write one: mimetype, content, manifest."""
    rows = "".join('<table:table-row><table:table-cell office:value-type="string"><text:p>'
                   f'{label}</text:p></table:table-cell><table:table-cell office:value-type="float" '
                   f'office:value="{value:g}"><text:p>{value:g}</text:p></table:table-cell></table:table-row>'
                   for label, value in cells)
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content '
               'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
               f'<office:body><office:spreadsheet><table:table table:name="填报">{rows}'
               '</table:table></office:spreadsheet></office:body></office:document-content>')
    return _ods(content)


def _ods(content: str) -> bytes:
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                '<manifest:file-entry manifest:full-path="/" '
                'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                "</manifest:manifest>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def ods_repeated_rows(repeat: int = 1_000_000) -> bytes:
    """An .ods whose one filled row is declared repeated `repeat` times (a reader expands it)."""
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content '
               'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
               '<office:body><office:spreadsheet><table:table table:name="填报">'
               f'<table:table-row table:number-rows-repeated="{repeat}"><table:table-cell office:value-type="string">'
               "<text:p>x</text:p></table:table-cell></table:table-row>"
               '<table:table-row table:number-rows-repeated="1048000"><table:table-cell '
               'table:number-columns-repeated="16384"/></table:table-row>'
               "</table:table></office:spreadsheet></office:body></office:document-content>")
    return _ods(content)


# --------------------------------------------------------------------------- 10. smaller ones


def huge_declared_dimension(data: bytes, ref: str = "A1:XFD1048576") -> bytes:
    """Every sheet declaring `<dimension ref="A1:XFD1048576"/>` over its few cells (Excel keeps
    such a declaration once a whole row or column was formatted)."""
    def edit(name: str, body: bytes) -> bytes:
        if name.startswith("xl/worksheets/sheet"):
            if b"<dimension" in body:
                return re.sub(rb'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{ref}"/>'.encode(), body)
            return re.sub(rb"(<worksheet[^>]*>)", rb'\1<dimension ref="' + ref.encode() + rb'"/>', body, count=1)
        return body

    return repack(data, edit)


def truncated(data: bytes) -> bytes:
    """The first half of a file (a download cut short)."""
    return data[: len(data) // 2]


def biff2_xls() -> bytes:
    """An Excel 2.1 worksheet (BIFF2): records, not a compound file, as Excel 2–4 saved them."""
    def record(kind: int, body: bytes) -> bytes:
        return struct.pack("<HH", kind, len(body)) + body

    label = b"abc"
    return b"".join([
        record(0x0009, struct.pack("<HH", 0x0002, 0x0010)),                                    # BOF: BIFF2 sheet
        record(0x0004, struct.pack("<HH", 0, 0) + b"\x00\x00\x00" + bytes([len(label)]) + label),  # LABEL A1
        record(0x0003, struct.pack("<HH", 1, 1) + b"\x00\x00\x00" + struct.pack("<d", 12.0)),     # NUMBER B2
        record(0x000A, b""),                                                                   # EOF
    ])


def biff4_xls() -> bytes:
    """An Excel 4.0 worksheet (BIFF4): BOF 0x0409."""
    return struct.pack("<HHHHH", 0x0409, 6, 0x0000, 0x0010, 0) + struct.pack("<HH", 0x000A, 0)


def xls_with_shared_strings(rows: list[list[object]], unique_extra: int = 0) -> bytes:
    """A BIFF8 .xls whose texts are in a shared-string table (LABELSST cells), as Excel writes
    them; `unique_extra` overstates the table's unique count (xlrd fails on it, calamine reads it)."""
    texts = list(dict.fromkeys(v for row in rows for v in row if isinstance(v, str)))
    sst = struct.pack("<II", len(texts), len(texts) + unique_extra) + b"".join(
        struct.pack("<HB", len(t), 1) + t.encode("utf-16-le") for t in texts)
    records = [fuzzing._biff_record(0x00FC, sst)]
    cells = []
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, str):
                cells.append(fuzzing._biff_record(0x00FD, struct.pack("<HHHI", r, c, 15, texts.index(value))))
            elif value is not None:
                cells.append(fuzzing._biff_record(0x0203, struct.pack("<HHHd", r, c, 15, float(value))))
    return _biff8(b"".join(records), b"".join(cells), len(rows), max(map(len, rows)))


def xls_far_corner_cell() -> bytes:
    """A BIFF8 .xls with a few cells and one at IV65536, Excel 97–2003's last cell."""
    cells = (fuzzing._biff_record(0x0204, struct.pack("<HHHHB", 0, 0, 15, 2, 1) + "序号".encode("utf-16-le"))
             + fuzzing._biff_record(0x0203, struct.pack("<HHHd", 1, 0, 15, 1.0))
             + fuzzing._biff_record(0x0203, struct.pack("<HHHd", 65535, 255, 15, 0.0)))
    return _biff8(b"", cells, 65536, 256)


def _biff8(globals_extra: bytes, cells: bytes, rows: int, columns: int) -> bytes:
    """A BIFF8 workbook of one sheet 填报: globals (with `globals_extra`), then the cell records."""
    from xf_excel.fronts.excel.cfb import build_compound_file

    record, bof = fuzzing._biff_record, fuzzing._biff_bof
    sheet = bof(0x0010) + record(0x0200, struct.pack("<IIHHH", 0, rows, 0, columns, 0)) + cells + record(0x000A)
    cell_format = record(0x00E0, struct.pack("<HHHBBBBIIH", 0, 0, 0xFFF5, 0x20, 0, 0, 0, 0, 0, 0x20C0))
    name = "填报".encode("utf-16-le")

    def book_globals(offset: int) -> bytes:
        return (bof(0x0005) + record(0x0042, struct.pack("<H", 1200)) + cell_format * 16
                + record(0x0085, struct.pack("<IBBBB", offset, 0, 0, 2, 1) + name) + globals_extra + record(0x000A))

    stream = book_globals(len(book_globals(0))) + sheet
    stream += b"\0" * max(0, 4096 - len(stream))
    return build_compound_file({"Workbook": stream})


# --------------------------------------------------------------------------- every example, as one inbox


@dataclass(frozen=True)
class Example:
    display: str            # its place in the inbox
    status: str             # the outcome it must get
    says: str = ""          # a phrase its message (or first issue) must hold


def write_examples(config, inbox: Path, scratch: Path) -> list[Example]:
    """Every defect example into `inbox/examples/`, on our own form where it can sit on a return
    (a clean return of one county, a rejected one of another): the outcome each must get."""
    good = fuzzing.filled_return(config, fuzzing.GOOD_COUNTIES[0], scratch)
    bad = fuzzing.filled_return(config, fuzzing.GOOD_COUNTIES[1], scratch, values={"建成专柜数": "许多"})
    built: dict[str, tuple[bytes, str, str]] = {
        "good.xlsx": (good, "accepted", ""),
        "bad.xlsx": (bad, "rejected", "许多"),
        "webp_good.xlsx": (with_webp_picture(good), "accepted", ""),
        "webp_bad.xlsx": (with_webp_picture(bad), "rejected", ""),
        "char7_good.xlsx": (control_character_note(good), "accepted", ""),
        "char7_bad.xlsx": (control_character_note(bad), "rejected", ""),
        "formula_stress.xlsx": (control_character_book(), "not-a-return", "不是本次活动的填报表"),
        "default_key_good.xlsx": (default_key(good), "accepted", ""),
        "password.xlsx": (password(good), "unreadable", "设有打开密码"),
        "mac_customxml_good.xlsx": (with_utf16_custom_xml(good), "accepted", ""),
        "data_model_good.xlsx": (with_data_model(good), "accepted", ""),
        "mac_rezipped_good.xlsx": (mac_rezipped(good), "accepted", ""),
        "numbers.numbers": (numbers_file(), "not-a-return", "Numbers"),
        "styles_bad.xlsx": (style_index_out_of_range(bad), "rejected", ""),
        "minimal.ods": (ods_minimal(), "rejected", "找不到填报页的表头"),        # read: a 填报 sheet, not our form
        "repeated_rows.ods": (ods_repeated_rows(), "unreadable", "1000000 行"),
        "dimension_good.xlsx": (huge_declared_dimension(good), "accepted", ""),
        "truncated.xlsx": (truncated(good), "unreadable", "损坏"),
        "biff2.xls": (biff2_xls(), "unreadable", "Excel 2.x"),
        "biff4.xls": (biff4_xls(), "unreadable", "Excel 4.0"),
        "xlrd_refuses.xls": (xls_with_shared_strings([["序号", "数量"], [1, 12]], unique_extra=5), "rejected",
                             "找不到填报页的表头"),
        "far_corner.xls": (xls_far_corner_cell(), "unreadable", "65536 行"),
    }
    folder = inbox / "examples"
    folder.mkdir(parents=True, exist_ok=True)
    examples = []
    for name, (data, status, says) in built.items():
        (folder / name).write_bytes(data)
        examples.append(Example(f"examples/{name}", status, says))
    numbers_package(folder / "package.numbers")
    examples.append(Example("examples/package.numbers", "not-a-return", "Numbers"))
    return examples
