"""Broken and hostile files: each gets its one clear issue, and the rest of the batch is read.

One inbox holds every kind of bad file below plus two good returns; the whole batch goes
through `collect_inbox` and one `WorkbookReader`. Each bad file must come out as exactly one
issue of the expected code whose message names the file; the good returns must be read
with their values; nothing from an external entity may leak into any output.

The same inbox, plus two real returns (the form filled by label), then goes through the
weekly job (`xf-excel --json run`): both real returns are accepted, every corpus file gets
a Chinese message naming it, and neither the XXE canary nor a macro reaches the archive,
the feedback workbooks, the master, the briefing or the JSON output.
"""

from __future__ import annotations

import io
import random
import re
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from msoffcrypto.format.ooxml import OOXMLFile

import defects
import fuzzing
from test_intake import excel_like_xlsx, form_xlsx, mail, parts_xlsx, write, zip_of
from xf_excel.fronts.excel.cfb import build_compound_file
from xf_excel.intake.collect import collect_inbox
from xf_excel.intake.workbooks import WorkbookReader
from xf_excel.issues import IssueCode
from xf_excel.intake.records import CellError, RawWorkbook

CANARY = "CANARY-机密-7f3a9"
SLOW_TIMEOUT = 0.05     # seconds; the slow file needs far longer than this to parse

UNREADABLE, UNSAFE, ENCRYPTED, NOT_A_RETURN = (IssueCode.UNREADABLE_FILE, IssueCode.UNSAFE_FILE,
                                              IssueCode.ENCRYPTED_FILE, IssueCode.NOT_A_RETURN)
OK = None


@dataclass
class Case:
    display: str          # where it sits in the inbox (and how issues name it)
    data: bytes | None    # None: produced by another case (a second attachment of one mail)
    expected: IssueCode | None
    says: str = ""        # a phrase the message must contain


def _sheet(body: str, prolog: str = "") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<worksheet '
            f'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{body}</sheetData></worksheet>')


def _rewrite_member(data: bytes, name: str, content: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, content if info.filename == name else source.read(info))
    return out.getvalue()


def _with_member(data: bytes, name: str, content: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info))
        target.writestr(name, content)
    return out.getvalue()


def ods_with_content(data: bytes, edit) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        content = source.read("content.xml")
    return _rewrite_member(data, "content.xml", edit(content))


def _biff12(kind: int, body: bytes) -> bytes:
    """One BIFF12 record: type and size as base-128 numbers (both below 128 here, or two bytes)."""
    def number(value: int) -> bytes:
        out = b""
        while True:
            byte, value = value & 0x7F, value >> 7
            out += bytes([byte | (0x80 if value else 0)])
            if not value:
                return out
    return number(kind) + number(len(body)) + body


def xlsb(sheet: bytes, shared: bytes = b"", types_prolog: bytes = b"") -> bytes:
    """An Excel binary workbook's package around one worksheet part (records as given)."""
    types = (b'<?xml version="1.0" encoding="UTF-8"?>' + types_prolog
             + b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>')
    return zip_of({"[Content_Types].xml": types, "xl/workbook.bin": _biff12(0x0083, b""),
                   "xl/worksheets/sheet1.bin": sheet, **({"xl/sharedStrings.bin": shared} if shared else {})})


def zip_bomb() -> bytes:
    """A real bomb: a workbook whose sheet inflates to 256 MB of spaces (~250 KB packed)."""
    out = io.BytesIO()
    base = parts_xlsx()
    with zipfile.ZipFile(io.BytesIO(base)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                target.writestr(info.filename, source.read(info))
        with target.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            block = b" " * (1 << 20)
            for _ in range(256):
                sheet.write(block)
    return out.getvalue()


def lying_size() -> bytes:
    """The sheet's headers declare 10 bytes; the data inflates to far more."""
    data = bytearray(parts_xlsx('<row r="1"><c r="A1"><v>1</v></c></row>' * 50))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    size = info.file_size.to_bytes(4, "little")
    local = info.header_offset
    assert data[local + 22:local + 26] == size
    data[local + 22:local + 26] = (10).to_bytes(4, "little")
    central = data.find(b"xl/worksheets/sheet1.xml", data.find(b"PK\x01\x02")) - 46
    assert data[central:central + 4] == b"PK\x01\x02" and data[central + 24:central + 28] == size
    data[central + 24:central + 28] = (10).to_bytes(4, "little")
    return bytes(data)


def corrupt_central_directory() -> bytes:
    return form_xlsx().replace(b"PK\x01\x02", b"PK\x09\x09")


def many_members() -> bytes:
    pads = {f"xl/media/pad{i}.bin": b"" for i in range(5000)}
    return zip_of({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>", **pads})


def billion_laughs() -> bytes:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10))
    return parts_xlsx(sheet_xml=_sheet('<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>',
                                       f"<!DOCTYPE worksheet [{entities}]>"))


def xxe(canary: Path) -> bytes:
    prolog = f'<!DOCTYPE worksheet [<!ENTITY leak SYSTEM "file://{canary}">]>'
    return parts_xlsx(sheet_xml=_sheet('<row r="1"><c r="A1" t="inlineStr"><is><t>&leak;</t></is></c></row>', prolog))


def utf16_with_dtd() -> bytes:
    text = _sheet('<row r="1"><c r="A1"><v>1</v></c></row>', "<!DOCTYPE worksheet>").replace("UTF-8", "UTF-16")
    return parts_xlsx(sheet_xml=text.encode("utf-16"))


def encrypted_xlsx() -> bytes:
    out = io.BytesIO()
    OOXMLFile(io.BytesIO(form_xlsx())).encrypt("1234", out)
    return out.getvalue()


def docx_named_xlsx() -> bytes:
    return zip_of({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})


def duplicate_parts() -> bytes:
    """A second sheet1.xml: zipfile would read the last, another reader perhaps the first."""
    out = io.BytesIO()
    source = zipfile.ZipFile(io.BytesIO(parts_xlsx()))
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w") as archive:
        warnings.simplefilter("ignore")                  # zipfile warns about the duplicate name
        for info in source.infolist():
            archive.writestr(info.filename, source.read(info))
        archive.writestr("xl/worksheets/sheet1.xml", _sheet('<row r="1"><c r="XFD1048576"><v>1</v></c></row>'))
    return out.getvalue()


def bzip2_member() -> bytes:
    out = io.BytesIO()
    source = zipfile.ZipFile(io.BytesIO(parts_xlsx()))
    with zipfile.ZipFile(out, "w") as archive:
        for info in source.infolist():
            method = zipfile.ZIP_BZIP2 if info.filename.endswith("sheet1.xml") else zipfile.ZIP_DEFLATED
            archive.writestr(info.filename, source.read(info), compress_type=method)
    return out.getvalue()


def password_zip_archive() -> bytes:
    data = bytearray(zip_of({"第2期_南宁市_武鸣区.xlsx": form_xlsx()}))
    data[6] |= 1                                             # local header: encrypted
    central = data.find(b"PK\x01\x02")
    data[central + 8] |= 1                                   # central directory: encrypted
    return bytes(data)


def nested_too_deep() -> bytes:
    data = zip_of({"第2期.xlsx": form_xlsx()})
    for level in (4, 3, 2):
        data = zip_of({f"l{level}.zip": data})
    return data


def xlm_macro_sheet() -> bytes:
    macro = (b'<?xml version="1.0" encoding="UTF-8"?><xm:macrosheet '
             b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
             b'xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main"><sheetData>'
             b'<row r="1"><c r="A1" t="str"><f>EXEC("calc.exe")</f><v></v></c></row></sheetData></xm:macrosheet>')
    return parts_xlsx('<row r="1"><c r="A1" t="inlineStr"><is><t>建成专柜数</t></is></c><c r="B1"><v>7</v></c></row>',
                      macro_sheet=macro)


def slow_sheet() -> bytes:
    """Legitimately sized (10,000 rows × 10 columns) but far slower to parse than SLOW_TIMEOUT."""
    row = "".join(f'<c r="{col}{{r}}"><v>{{r}}.5</v></c>' for col in "ABCDEFGHIJ")
    body = "".join(f'<row r="{r}">' + row.replace("{r}", str(r)) + "</row>" for r in range(1, 10_001))
    return parts_xlsx(body)


# --------------------------------------------------------------------------- added kinds (issue 8)

INJECTIONS = ('=HYPERLINK("http://x","点我")', "=cmd|' /C calc'!A0", "@SUM(1)", "+1+1", "-2+3", "#DIV/0!",
              "南宁市\n| 伪造 | 一行 |", "<img src=x onerror=alert(1)>")


def _with_prolog(xml: bytes, prolog: str) -> bytes:
    """`xml` with a DOCTYPE inserted after its XML declaration (or at its start)."""
    end = xml.find(b"?>") + 2 if xml.startswith(b"<?xml") else 0
    return xml[:end] + prolog.encode() + xml[end:]


def xxe_in_part(part: str, canary: Path, *, parameter: bool = False, external_dtd: bool = False) -> bytes:
    """An external entity aimed at the canary file, in `part` (not the sheet): the entity is
    declared in a DOCTYPE and used where that part holds text."""
    shared = ('<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
              "<si><t>&leak;</t></si></sst>")
    data = parts_xlsx('<row r="1"><c r="A1" t="s"><v>0</v></c></row>', shared_strings=shared)
    root = {"xl/sharedStrings.xml": "sst", "xl/workbook.xml": "workbook", "[Content_Types].xml": "Types"}[part]
    if external_dtd:
        prolog = f'<!DOCTYPE {root} SYSTEM "file://{canary}">'
    elif parameter:
        prolog = f'<!DOCTYPE {root} [<!ENTITY % remote SYSTEM "file://{canary}"> %remote;]>'
    else:
        prolog = f'<!DOCTYPE {root} [<!ENTITY leak SYSTEM "file://{canary}">]>'
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        content = archive.read(part)
    if part == "xl/workbook.xml":
        content = content.replace('name="填报"'.encode(), b'name="&leak;"')
    elif part == "[Content_Types].xml":
        content = content.replace(b'Extension="xml"', b'Extension="&leak;"')
    elif parameter or external_dtd:
        content = content.replace(b"&leak;", b"x")
    return _rewrite_member(data, part, _with_prolog(content, prolog))


def xxe_in_binary_named_sheet(canary: Path) -> bytes:
    """The worksheet stored under a name that looks binary (`xl/media/sheet1.bin`), with a DTD."""
    xml = _sheet('<row r="1"><c r="A1" t="inlineStr"><is><t>&leak;</t></is></c></row>',
                 f'<!DOCTYPE worksheet [<!ENTITY leak SYSTEM "file://{canary}">]>').encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(parts_xlsx())) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            name, content = info.filename, source.read(info)
            if name == "xl/worksheets/sheet1.xml":
                name, content = "xl/media/sheet1.bin", xml
            elif name == "xl/_rels/workbook.xml.rels":
                content = content.replace(b"worksheets/sheet1.xml", b"media/sheet1.bin")
            target.writestr(name, content)
    return out.getvalue()


def macro_workbook() -> bytes:
    project = build_compound_file({"PROJECT": b'ID="{00000000-0000-0000-0000-000000000000}"\r\n',
                                   "VBA": {"dir": b"\x01", "Module1": b"Sub AutoOpen()\r\nShell \"calc\"\r\nEnd Sub"}})
    return excel_like_xlsx(macro_project=project)


def nested_mail(levels: int, attachment: bytes) -> bytes:
    """A mail whose one attachment sits `levels` multiparts deep."""
    import base64

    text = ('Content-Type: application/octet-stream; name="deep.xlsx"\r\n'
            'Content-Disposition: attachment; filename="deep.xlsx"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
            + base64.encodebytes(attachment).decode())
    for level in range(levels):
        text = (f'Content-Type: multipart/mixed; boundary="b{level}"\r\n\r\n--b{level}\r\n{text}\r\n'
                f"--b{level}--\r\n")
    head = "From: a@example.cn\r\nSubject: nested\r\nDate: Mon, 14 Sep 2020 10:30:00 +0800\r\nMIME-Version: 1.0\r\n"
    return (head + text).encode("ascii")


def huge_header_mail(attachment: bytes) -> bytes:
    """A 2 MB header line and a 600 KB subject before an ordinary mail."""
    return (b"X-Junk: " + b"A" * (2 << 20) + b"\r\nSubject: " + ("很长" * 100_000).encode() + b"\r\n"
            + mail([("h.xlsx", attachment)]))


def injection_workbook() -> bytes:
    """A workbook whose text cells start with = + - @, hold #DIV/0! as text, and a name with
    a line break and | (all written as strings, as a clerk typing '= … would)."""
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet("填报")
    for row, text in enumerate(INJECTIONS):
        sheet.write_string(row, 0, text)
    book.close()
    return out.getvalue()


def encrypted_xls() -> bytes:
    """A legacy .xls with a FILEPASS record (RC4, "password to open" in Excel 97–2003)."""
    import struct

    import olefile

    with olefile.OleFileIO(io.BytesIO(fuzzing.legacy_xls([["建成专柜数", 12.0]]))) as ole:
        stream = bytearray(ole.openstream("Workbook").read())
    bof = 4 + 16
    filepass = struct.pack("<HH", 0x002F, 54) + struct.pack("<HHH", 1, 1, 1) + bytes(range(48))
    stream[bof:bof] = filepass
    at = stream.find(struct.pack("<H", 0x0085))              # BOUNDSHEET: the sheet moved down
    struct.pack_into("<I", stream, at + 4, struct.unpack_from("<I", stream, at + 4)[0] + len(filepass))
    return build_compound_file({"Workbook": bytes(stream)})


def hostile_cases(tmp_path: Path) -> list[Case]:
    canary = tmp_path / "canary.txt"
    canary.write_text(CANARY, encoding="utf-8")
    good = form_xlsx()
    return [
        Case("empty.xlsx", b"", UNREADABLE, "空文件"),
        Case("truncated.xlsx", good[: len(good) // 2], UNREADABLE, "损坏"),
        Case("random.xlsx", random.Random(7).randbytes(5000), UNREADABLE, "损坏"),
        Case("bad_directory.xlsx", corrupt_central_directory(), UNREADABLE, "损坏"),
        Case("zip_bomb.xlsx", zip_bomb(), UNSAFE, "压缩炸弹"),
        Case("lying_size.xlsx", lying_size(), UNREADABLE, "损坏"),
        Case("many_members.xlsx", many_members(), UNSAFE, "压缩成员"),
        Case("billion_laughs.xlsx", billion_laughs(), UNSAFE, "DTD"),
        Case("xxe.xlsx", xxe(canary), UNSAFE, "DTD"),
        Case("dtd.xlsx", parts_xlsx(sheet_xml=_sheet("", "<!DOCTYPE worksheet>")), UNSAFE, "DTD"),
        Case("utf16.xlsx", utf16_with_dtd(), UNSAFE, "DTD"),
        Case("utf16_custom_xml_dtd.xlsx", _with_member(parts_xlsx(), "customXml/item1.xml", b"\xff\xfe" + (
            '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>').encode("utf-16-le")),
             UNSAFE, "DTD"),
        Case("shared_string_bomb.xlsx", parts_xlsx("".join(f'<row r="{r}"><c r="A{r}" t="s"><v>0</v></c></row>'
                                                           for r in range(1, 31)), shared_strings=(
            '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="30" uniqueCount="1">'
            f'<si><t>{"炸" * 1_000_000}</t></si></sst>')), UNSAFE, "共享字符串炸弹"),
        Case("dtd.ods", ods_with_content(defects.ods_minimal(), lambda xml: xml.replace(
            b"<office:document-content", b'<!DOCTYPE x [<!ENTITY e "e">]><office:document-content', 1)), UNSAFE, "DTD"),
        Case("bomb.ods", ods_with_content(defects.ods_minimal(), lambda xml: xml + b" " * (70 << 20)), UNSAFE,
             "压缩炸弹"),
        Case("far_row.xlsb", xlsb(_biff12(0x0000, (1_048_570).to_bytes(4, "little") + b"\0" * 8)
                                  + _biff12(0x0005, b"\0" * 8 + b"\0" * 8)), UNSAFE, "1048571 行"),
        Case("huge_sst.xlsb", xlsb(b"", shared=_biff12(0x009F, (2 ** 31).to_bytes(4, "little") * 2)), UNSAFE,
             "共享字符串"),
        Case("dtd.xlsb", xlsb(b"", types_prolog=b'<!DOCTYPE Types [<!ENTITY e "e">]>'), UNSAFE, "DTD"),
        Case("utf32.xlsx", parts_xlsx(sheet_xml=_sheet('<row r="1"><c r="A1"><v>1</v></c></row>').replace(
            "UTF-8", "UTF-32").encode("utf-32")), UNSAFE, "编码"),
        Case("xfd_beside_a1.xlsx", parts_xlsx('<row r="1"><c r="A1"><v>1</v></c></row>'
                                              '<row r="1048576"><c r="XFD1048576"><v>2</v></c></row>'), UNSAFE, "行"),
        Case("row_beyond_grid.xlsx", parts_xlsx('<row r="1"><c r="A1"><v>1</v></c></row>'
                                                '<row r="1048577"><c r="A1048577"><v>2</v></c></row>'), UNSAFE,
             "超出 Excel 表格范围"),
        Case("huge_sst.xlsx", parts_xlsx('<row r="1"><c r="A1" t="s"><v>0</v></c></row>', shared_strings=(
            '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="4294967295" '
            'uniqueCount="4294967295"><si><t>a</t></si></sst>')), UNSAFE, "共享字符串"),
        Case("huge_dimension.xlsx", parts_xlsx(dimension="A1:XFD1048576"), OK),       # a claim: the cells are few
        Case("million_rows.xlsx", parts_xlsx(dimension="A1:H1048576"), OK),
        Case("dimension_beyond_grid.xlsx", parts_xlsx(dimension="A1:XFE1"), UNSAFE, "超出 Excel 表格范围"),
        Case("last_row_used.xlsx", parts_xlsx('<row r="1"><c r="A1"><v>1</v></c></row>'
                                              '<row r="1048576"><c r="A1048576"><v>2</v></c></row>'), UNSAFE,
             "删除"),
        Case("rows_without_r.xlsx", parts_xlsx("<row><c><v>1</v></c></row>" * 20_001), UNSAFE, "20001 行"),
        Case("beyond_xfd.xlsx", parts_xlsx('<row r="1"><c r="XFE1"><v>1</v></c></row>'), UNSAFE, "XFE1"),
        Case("no_workbook.xlsx", parts_xlsx(workbook=False), UNREADABLE, "缺少工作簿"),
        Case("encrypted.xlsx", encrypted_xlsx(), ENCRYPTED, "取消密码"),
        Case("really_a_docx.xlsx", docx_named_xlsx(), NOT_A_RETURN, "Word"),
        Case("pdf_renamed.xlsx", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n", NOT_A_RETURN, "PDF"),
        Case("报表.et", build_compound_file({"WpsContent": b"\0" * 600, "ETExtData": b"\1" * 100}), NOT_A_RETURN,
             "WPS"),
        Case("photo.xlsx", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, NOT_A_RETURN, "截图"),
        Case("notes.txt", "请查收".encode(), NOT_A_RETURN, ".xlsx"),
        Case("duplicate_parts.xlsx", duplicate_parts(), UNSAFE, "重名"),
        Case("bzip2.xlsx", bzip2_member(), UNREADABLE, "压缩方式"),
        Case("getting_data.xlsx", parts_xlsx('<row r="1"><c r="A1" t="e"><v>#GETTING_DATA</v></c></row>'), OK),
        Case("locked.zip", password_zip_archive(), ENCRYPTED, "密码"),
        Case("deep.zip › l2.zip › l3.zip › l4.zip", nested_too_deep(), UNSAFE, "嵌套"),
        Case("slow.xlsx", slow_sheet(), UNSAFE, "秒"),
        Case("strict.xlsx", parts_xlsx('<row r="1"><c r="A1" t="inlineStr"><is><t>严格</t></is></c>'
                                       '<c r="B1"><v>3</v></c></row>', strict=True), OK),
        Case("xlm_macro.xlsx", xlm_macro_sheet(), OK),
        Case("evil.eml › evil.xlsx", mail([("../../evil.xlsx", form_xlsx("甲")),
                                          ("\\\\host\\share\\x.xlsx", form_xlsx("乙"))]), OK),
        Case("evil.eml › x.xlsx", None, OK),
        Case("xxe_shared_strings.xlsx", xxe_in_part("xl/sharedStrings.xml", canary), UNSAFE, "DTD"),
        Case("xxe_workbook.xlsx", xxe_in_part("xl/workbook.xml", canary), UNSAFE, "DTD"),
        Case("xxe_content_types.xlsx", xxe_in_part("[Content_Types].xml", canary), UNSAFE, "DTD"),
        Case("xxe_parameter_entity.xlsx", xxe_in_part("xl/sharedStrings.xml", canary, parameter=True), UNSAFE, "DTD"),
        Case("xxe_external_dtd.xlsx", xxe_in_part("xl/workbook.xml", canary, external_dtd=True), UNSAFE, "DTD"),
        Case("nested3000.eml", nested_mail(3000, form_xlsx("深")), UNREADABLE, "损坏"),
        Case("macro.xlsm", macro_workbook(), OK),
        Case("legacy_named.xlsx", fuzzing.legacy_xls([["填报单位", "旧格式"], ["建成专柜数", 7.0]]), OK),
        Case("modern_named.xls", form_xlsx("新格式"), OK),
        Case("slip.zip › 第2期.xlsx", zip_of({"../../第2期.xlsx": form_xlsx("滑"), "/etc/abs.xlsx": form_xlsx("绝"),
                                            "C:\\win\\x.xlsx": form_xlsx("盘")}), OK),
        Case("slip.zip › abs.xlsx", None, OK),
        Case("slip.zip › x.xlsx", None, OK),
        Case("reserved.eml › _CON.xlsx", mail([("CON.xlsx", form_xlsx("设备名")), ("..\\COM1.xlsx", form_xlsx("端口"))]),
             OK),
        Case("reserved.eml › _COM1.xlsx", None, OK),
        Case("nested100.eml › deep.xlsx", nested_mail(100, form_xlsx("百层")), OK),
        Case("huge_header.eml › h.xlsx", huge_header_mail(form_xlsx("长头")), OK),
        Case("injection.xlsx", injection_workbook(), OK),
        Case("good/第2期_南宁市_武鸣区.xlsx", good, OK),
        Case("good/第2期_南宁市_横州市.xlsx", form_xlsx("横州市", 99.25), OK),
    ]


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Every case in one inbox, read as one batch: {display: RawWorkbook or [Issue]}."""
    tmp_path = tmp_path_factory.mktemp("hostile")
    inbox = tmp_path / "inbox"
    cases = hostile_cases(tmp_path)
    for case in cases:
        if case.data is not None:
            write(inbox, case.display.split(" › ")[0], case.data)
    files, issues = collect_inbox(inbox)
    slow = [f for f in files if f.name == "slow.xlsx"]
    results: dict[str, object] = {}
    with WorkbookReader(timeout=20) as reader:
        for file, result in reader.read_many(f for f in files if f.name != "slow.xlsx"):
            results[file.display] = result.workbook or result.issues
        for file in slow:                        # then the rest of the batch goes on with a fresh worker
            results[file.display] = reader.read(file, timeout=SLOW_TIMEOUT).issues
        after_timeout = reader.read(next(f for f in files if f.display.startswith("good/"))).workbook
    for issue in issues:
        results.setdefault(issue.file, []).append(issue)
    return cases, files, issues, results, after_timeout


def test_there_are_at_least_25_kinds_of_bad_file(batch):
    cases = batch[0]
    assert len([c for c in cases if c.expected is not None]) >= 25


def test_each_bad_file_gets_one_issue_that_names_it(batch):
    cases, _, _, results, _ = batch
    for case in cases:
        if case.expected is None:
            continue
        outcome = results.get(case.display)
        assert isinstance(outcome, list), (case.display, outcome)
        assert [i.code for i in outcome] == [case.expected], (case.display, [i.message for i in outcome])
        (issue,) = outcome
        assert issue.file == case.display
        assert f"「{case.display}」" in issue.message, issue.message
        assert case.says in issue.message, (case.display, issue.message)


def test_the_good_files_in_the_same_batch_are_read(batch):
    _, _, _, results, after_timeout = batch
    first, second = results["good/第2期_南宁市_武鸣区.xlsx"], results["good/第2期_南宁市_横州市.xlsx"]
    assert isinstance(first, RawWorkbook) and first.sheet("填报").value(2, 2) == "武鸣区"
    assert isinstance(second, RawWorkbook) and second.sheet("填报").value(7, 5) == 99.25
    assert isinstance(after_timeout, RawWorkbook) and after_timeout.sheet("填报").value(6, 5) == 12


def test_attachment_names_with_paths_are_sanitised_and_read(batch):
    _, files, _, results, _ = batch
    from_mail = [f for f in files if f.container == "evil.eml"]
    assert [f.name for f in from_mail] == ["evil.xlsx", "x.xlsx"]
    assert results["evil.eml › evil.xlsx"].sheet("填报").value(2, 2) == "甲"
    assert results["evil.eml › x.xlsx"].sheet("填报").value(2, 2) == "乙"
    assert not any("/" in f.name or "\\" in f.name or ".." in f.name for f in files)


def test_a_file_calamine_refuses_is_read_by_the_second_reader(batch):
    """calamine refuses a whole workbook holding #GETTING_DATA; openpyxl reads it, and the cell
    keeps its error value for the checks to name."""
    raw = batch[3]["getting_data.xlsx"]
    assert isinstance(raw, RawWorkbook) and raw.sheet("填报").cells == [[CellError("#GETTING_DATA")]]


def test_strict_ooxml_is_read_not_silently_empty(batch):
    raw = batch[3]["strict.xlsx"]
    assert isinstance(raw, RawWorkbook) and raw.sheet("填报").cells == [["严格", 3]]


def test_xlm_macro_sheet_is_flagged_and_not_exposed_as_data(batch):
    raw = batch[3]["xlm_macro.xlsx"]
    assert isinstance(raw, RawWorkbook) and raw.has_macros is True
    assert [s.name for s in raw.sheets] == ["填报"] and raw.sheet("填报").cells == [["建成专柜数", 7]]


def test_external_entity_never_leaks(batch):
    _, files, issues, results, _ = batch
    everything = repr(results) + repr(issues) + "".join(
        str(v) for r in results.values() if isinstance(r, RawWorkbook) for s in r.sheets for row in s.cells
        for v in row)
    assert CANARY not in everything


def test_error_cell_reaches_validate_as_cell_error_not_empty():
    from test_intake import received

    data = parts_xlsx('<row r="1"><c r="A1"><v>1</v></c><c r="B1" t="e"><f>1/0</f><v>#DIV/0!</v></c>'
                      '<c r="C1" t="e"><v>#N/A</v></c></row>')
    with WorkbookReader() as reader:
        raw = reader.read(received(data)).workbook
    assert raw.sheet("填报").cells == [[1, CellError("#DIV/0!"), CellError("#N/A")]]


# --------------------------------------------------------------------------- the added kinds, one by one


def test_there_are_at_least_30_kinds_of_bad_file(batch):
    cases = batch[0]
    assert len([c for c in cases if c.expected is not None]) >= 30


def test_legacy_xls_and_xlsx_are_read_by_content_not_by_extension(batch):
    _, files, _, results, _ = batch
    kinds = {f.display: f.kind for f in files}
    assert kinds["legacy_named.xlsx"] == "xls" and kinds["modern_named.xls"] == "xlsx"
    assert results["legacy_named.xlsx"].sheet("填报").cells == [["填报单位", "旧格式"], ["建成专柜数", 7]]
    assert results["modern_named.xls"].sheet("填报").value(2, 2) == "新格式"


def test_a_vba_project_is_flagged_and_never_part_of_what_is_read(batch):
    raw = batch[3]["macro.xlsm"]
    assert isinstance(raw, RawWorkbook) and raw.has_macros is True
    assert "AutoOpen" not in repr(raw.sheets)


def test_received_strings_that_look_like_formulas_or_errors_stay_text(batch):
    raw = batch[3]["injection.xlsx"]
    cells = [row[0] for row in raw.sheet("填报").cells]
    assert cells == list(INJECTIONS)
    assert all(type(value) is str for value in cells)         # "#DIV/0!" typed as text is no CellError


def test_zip_slip_and_reserved_names_are_reduced_to_safe_base_names(batch):
    _, files, _, results, _ = batch
    names = {f.display: f.name for f in files if f.container in ("slip.zip", "reserved.eml")}
    assert names == {"slip.zip › 第2期.xlsx": "第2期.xlsx", "slip.zip › abs.xlsx": "abs.xlsx",
                     "slip.zip › x.xlsx": "x.xlsx", "reserved.eml › _CON.xlsx": "_CON.xlsx",
                     "reserved.eml › _COM1.xlsx": "_COM1.xlsx"}
    assert {d: results[d].sheet("填报").value(2, 2) for d in names} == {
        "slip.zip › 第2期.xlsx": "滑", "slip.zip › abs.xlsx": "绝", "slip.zip › x.xlsx": "盘",
        "reserved.eml › _CON.xlsx": "设备名", "reserved.eml › _COM1.xlsx": "端口"}


def test_deeply_nested_and_huge_header_mails_still_give_their_attachment(batch):
    results = batch[3]
    assert results["nested100.eml › deep.xlsx"].sheet("填报").value(2, 2) == "百层"
    assert results["huge_header.eml › h.xlsx"].sheet("填报").value(2, 2) == "长头"


def test_a_dtd_in_a_sheet_stored_under_a_binary_name_never_leaks(tmp_path):
    from test_intake import received

    canary = tmp_path / "canary.txt"
    canary.write_text(CANARY, encoding="utf-8")
    with WorkbookReader() as reader:
        outcome = reader.read(received(xxe_in_binary_named_sheet(canary), name="bin_sheet.xlsx"))
    assert CANARY not in repr(outcome)
    assert outcome.workbook is None and "「bin_sheet.xlsx」" in outcome.issues[0].message


def test_a_dtd_in_a_sheet_stored_under_a_binary_name_is_refused_before_parsing(tmp_path):
    from test_intake import received

    canary = tmp_path / "canary.txt"
    canary.write_text(CANARY, encoding="utf-8")
    with WorkbookReader() as reader:
        (issue,) = reader.read(received(xxe_in_binary_named_sheet(canary), name="bin_sheet.xlsx")).issues
    assert issue.code is UNSAFE and "DTD" in issue.message


def test_a_password_protected_legacy_xls_is_recognised_as_such():
    from test_intake import received

    with WorkbookReader() as reader:
        (issue,) = reader.read(received(encrypted_xls(), name="加密.xls")).issues
    assert issue.code is ENCRYPTED and "取消密码" in issue.message


# --------------------------------------------------------------------------- the whole corpus through the weekly job

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def weekly_run(tmp_path_factory, config):
    """Every corpus file plus two real, clean returns in one inbox, through `xf-excel --json run`
    (intake, consolidation, master workbook, briefing): (folder, cases, real displays, json, exit code)."""
    import json

    from click.testing import CliRunner

    from xf_excel.fronts.cli import main
    from xf_excel.outputs.forms import form_filename

    tmp = tmp_path_factory.mktemp("hostile-run")
    inbox = tmp / "inbox"
    cases = hostile_cases(tmp)
    for case in cases:
        if case.data is not None:
            write(inbox, case.display.split(" › ")[0], case.data)
    real = []
    for code in fuzzing.GOOD_COUNTIES:
        display = f"real/{form_filename(config, code, 2)}"
        write(inbox, display, fuzzing.filled_return(config, code, tmp / "forms"))
        real.append(display)
    result = CliRunner().invoke(main, ["--config", str(ROOT / "config.yaml"), "--archive", str(tmp / "xf.sqlite"),
                                       "--json", "run", str(inbox), "--period", "2", "--out", str(tmp / "out")])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output[-2000:]
    return tmp, cases, real, json.loads(result.stdout), result.exit_code


def test_the_weekly_job_takes_in_the_good_returns_beside_the_whole_corpus(weekly_run):
    _, cases, real, payload, exit_code = weekly_run
    files = {f["file"]: f for f in payload["intake"]["files"]}
    assert exit_code == 1                                         # done, with returns refused
    assert [files[d]["status"] for d in real] == ["accepted", "accepted"]
    for case in cases:
        outcome = files[case.display]
        assert outcome["status"] not in ("accepted", "warned"), case.display
        assert outcome["issues"], case.display
        for issue in outcome["issues"]:
            assert re.search(r"[\u4e00-\u9fff]", issue["message"]), issue
            assert issue["file"] == case.display, (case.display, issue)
        named = case.display.rsplit(" › ", 1)[-1]
        assert any(named in issue["message"] for issue in outcome["issues"]), (case.display, outcome["issues"])


def _output_texts(folder: Path) -> dict[str, bytes]:
    """Every file under `folder`, with the members of every zip (xlsx, docx) unpacked."""
    found = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        found[str(path)] = data
        if data.startswith(b"PK"):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for info in archive.infolist():
                    found[f"{path}::{info.filename}"] = archive.read(info)
    return found


def test_the_canary_of_the_xxe_files_is_in_no_output(weekly_run):
    tmp, _, _, payload, _ = weekly_run
    import json

    outputs = _output_texts(tmp / "out")
    archive = {str(p): p.read_bytes() for p in tmp.glob("xf.sqlite*") if p.is_file()}
    assert any(name.endswith(".md") for name in outputs) and any("退回_" in name for name in outputs)
    canary = CANARY.encode("utf-8")
    leaks = [name for name, data in {**outputs, **archive}.items() if canary in data]
    assert leaks == []
    assert CANARY not in json.dumps(payload, ensure_ascii=False)


def test_no_macro_project_reaches_any_output(weekly_run):
    tmp = weekly_run[0]
    outputs = _output_texts(tmp / "out")
    assert not [name for name in outputs if name.lower().endswith(("vbaproject.bin", ".bin"))]
    assert not [name for name, data in outputs.items() if b"AutoOpen" in data]


def test_checks_in_the_worker_say_what_the_same_checks_say_here(batch):
    """An .xlsx is checked inside the worker that parses it: each refusal it reports is the
    one the same check gives in this process, word for word, with the same code."""
    from xf_excel.intake.safeguard import Refusal, inspect_ooxml
    from xf_excel.intake.sniff import refusal_issue

    cases, files, _, results, _ = batch
    compared = 0
    for file in files:
        if file.kind not in ("xlsx", "xlsm") or file.name == "slow.xlsx":
            continue
        here = inspect_ooxml(file.content)
        if not isinstance(here, Refusal):
            continue
        expected = refusal_issue(file.display, here)
        (issue,) = results[file.display]
        assert (issue.code, issue.message, issue.details) == (expected.code, expected.message, expected.details)
        compared += 1
    assert compared >= 8                       # bombs, DTDs, XXE, cells beyond the grid …


def test_an_xlsx_is_not_inflated_in_this_process(monkeypatch):
    """The reading process hands an .xlsx to a worker unchecked: the worker checks it, so a
    zip bomb is still refused and a good form still read when the parent's check is gone."""
    from xf_excel.intake import workbooks
    from xf_excel.intake.records import ReceivedFile

    def forbidden(*args, **kwargs):
        raise AssertionError("an .xlsx was checked in the reading process")

    monkeypatch.setattr(workbooks, "inspect_ooxml", forbidden)
    with WorkbookReader() as reader:
        bomb, good = (ReceivedFile(name=name, display=name, content=data, sha256="", kind="xlsx")
                      for name, data in (("bomb.xlsx", zip_bomb()), ("good.xlsx", form_xlsx())))
        (_, bombed), (_, read) = reader.read_many([bomb, good])
    assert [i.code for i in bombed.issues] == [UNSAFE] and "压缩炸弹" in bombed.issues[0].message
    assert read.workbook is not None and read.workbook.sheet("填报") is not None
