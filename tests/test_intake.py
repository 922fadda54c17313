"""Taking files in (collect_inbox) and reading them safely (read_workbook, WorkbookReader).

Every file is built in code: good workbooks with openpyxl/XlsxWriter, an .xls through
LibreOffice, mails with the `email` package, an Outlook .msg with our compound-file writer.
The builders here are shared with test_hostile.py.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import struct
import subprocess
import zipfile
from email.message import EmailMessage
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from xf_excel.fronts.excel.cfb import build_compound_file
from xf_excel.intake.collect import collect_inbox, sanitize_filename
from xf_excel.intake.sniff import sniff
from xf_excel.intake.workbooks import WorkbookReader, read_workbook
from xf_excel.issues import IssueCode, Severity
from xf_excel.intake.records import CellError, RawWorkbook, ReceivedFile
from xf_excel.intake.safeguard import Limits

# --------------------------------------------------------------------------- builders

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
STRICT_MAIN = "http://purl.oclc.org/ooxml/spreadsheetml/main"
STRICT_REL = "http://purl.oclc.org/ooxml/officeDocument/relationships"


def form_xlsx(unit: str = "武鸣区", value: float = 12.5) -> bytes:
    """A small return as openpyxl writes it (formulas without cached values)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "填报"
    sheet["A1"] = "2020年消费扶贫月活动进展情况报表"
    sheet.merge_cells("A1:E1")
    sheet["A2"], sheet["B2"] = "填报单位", unit
    sheet["D2"], sheet["E2"] = "截至日期", dt.date(2020, 9, 11)
    sheet["A3"], sheet["B3"] = "联系电话", 13067428176
    sheet["A5"], sheet["B5"], sheet["E5"] = "序号", "指标名称", "截至本期累计"
    sheet["A6"], sheet["B6"], sheet["E6"] = 1, "建成专柜数", 12
    sheet["A7"], sheet["B7"], sheet["E7"] = 2, "专柜累计销售额", value
    sheet["F7"] = "=E7*2"
    sheet["A8"], sheet["E8"] = True, dt.datetime(2020, 9, 11, 8, 30)
    hidden = book.create_sheet("xf_meta")
    hidden["A1"], hidden["B1"] = "unit_code", "450122"
    hidden.sheet_state = "hidden"
    book.create_sheet("秘密").sheet_state = "veryHidden"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def excel_like_xlsx(macro_project: bytes | None = None) -> bytes:
    """A workbook as XlsxWriter writes it: shared strings, cached formula values, an error
    cell with its cached #DIV/0!, optionally a VBA project (an .xlsm)."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet("填报")
    sheet.write_string("A1", "指标名称")
    sheet.write_number("B1", 3)
    sheet.write_formula("C1", "=B1*2", None, 6)
    sheet.write_formula("D1", "=1/0", None, "#DIV/0!")
    sheet.write_formula("E1", '=IF(B1>0,"正常","负数")', None, "正常")
    if macro_project is not None:
        book.set_vba_name()
        book.add_vba_project(io.BytesIO(macro_project), is_stream=True)
    book.close()
    return out.getvalue()


def parts_xlsx(sheet_body: str = '<row r="1"><c r="A1"><v>1</v></c></row>', *, dimension: str | None = None,
               shared_strings: str | None = None, extra: dict[str, bytes | str] | None = None,
               strict: bool = False, sheet_xml: str | bytes | None = None, workbook: bool = True,
               macro_sheet: bytes | None = None) -> bytes:
    """A minimal workbook assembled part by part (for surgery: hostile sheets, Strict OOXML)."""
    main, rel = (STRICT_MAIN, STRICT_REL) if strict else (NS_MAIN, NS_REL)
    sheet_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
    types = ('<?xml version="1.0" encoding="UTF-8"?>'
             '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
             '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
             '<Default Extension="xml" ContentType="application/xml"/>'
             '<Override PartName="/xl/workbook.xml" '
             'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
             f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{sheet_type}"/>'
             + ('<Override PartName="/xl/macrosheets/sheet1.xml" ContentType="application/vnd.ms-excel.macrosheet+xml"/>'
                if macro_sheet is not None else "") + '</Types>')
    package_rels = ('<?xml version="1.0" encoding="UTF-8"?><Relationships '
                    'xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                    f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
    sheets = '<sheet name="填报" sheetId="1" r:id="rId1"/>'
    rels = f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
    if shared_strings is not None:
        rels += f'<Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/>'
    if macro_sheet is not None:
        sheets += '<sheet name="Macro1" sheetId="2" state="hidden" r:id="rId3"/>'
        rels += '<Relationship Id="rId3" Type="http://schemas.microsoft.com/office/2006/relationships/xlMacrosheet" ' \
                'Target="macrosheets/sheet1.xml"/>'
    book = (f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}" xmlns:r="{rel}">'
            f'<sheets>{sheets}</sheets></workbook>')
    book_rels = ('<?xml version="1.0" encoding="UTF-8"?><Relationships '
                 f'xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}</Relationships>')
    if sheet_xml is None:
        dim = f'<dimension ref="{dimension}"/>' if dimension else ""
        sheet_xml = (f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{main}">{dim}'
                     f'<sheetData>{sheet_body}</sheetData></worksheet>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", types)
        archive.writestr("_rels/.rels", package_rels)
        if workbook:
            archive.writestr("xl/workbook.xml", book)
            archive.writestr("xl/_rels/workbook.xml.rels", book_rels)
            archive.writestr("xl/worksheets/sheet1.xml", sheet_xml)
        if shared_strings is not None:
            archive.writestr("xl/sharedStrings.xml", shared_strings)
        if macro_sheet is not None:
            archive.writestr("xl/macrosheets/sheet1.xml", macro_sheet)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return out.getvalue()


def zip_of(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def mail(attachments: list[tuple[str, bytes]], *, sender: str = "武鸣区扶贫办 <wm@example.cn>",
         subject: str = "第2期报表", date: str = "Mon, 14 Sep 2020 10:30:00 +0800") -> bytes:
    """An RFC 822 mail; non-ASCII file names are written the RFC 2231 way (filename*=)."""
    message = EmailMessage()
    message["From"], message["Subject"], message["Date"] = sender, subject, date
    message.set_content("见附件。")
    for name, data in attachments:
        message.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return message.as_bytes()


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-le")


def _properties(entries: list[tuple[int, int]], top: bool) -> bytes:
    header = b"\0" * 8 + (struct.pack("<IIII", 0, 1, 0, 1) + b"\0" * 8 if top else b"")
    return header + b"".join(struct.pack("<IIQ", tag, 6, value) for tag, value in entries)


def outlook_msg(attachments: list[tuple[str, bytes]], subject: str = "第2期报表") -> bytes:
    """A minimal Outlook .msg ([MS-OXMSG]) written with our compound-file writer."""
    sent = dt.datetime(2020, 9, 14, 2, 30, tzinfo=dt.timezone.utc)
    filetime = int((sent - dt.datetime(1601, 1, 1, tzinfo=dt.timezone.utc)).total_seconds() * 10 ** 7)
    root: dict = {
        "__properties_version1.0": _properties([(0x00390040, filetime), (0x0E060040, filetime)], top=True),
        "__substg1.0_001A001F": _utf16("IPM.Note"),
        "__substg1.0_0037001F": _utf16(subject),
        "__substg1.0_0C1F001F": _utf16("wm@example.cn"),
        "__substg1.0_5D01001F": _utf16("wm@example.cn"),
        "__substg1.0_0C1A001F": _utf16("武鸣区扶贫办"),
        "__substg1.0_1000001F": _utf16("见附件"),
        "__nameid_version1.0": {"__substg1.0_00020102": b"", "__substg1.0_00030102": b"",
                                "__substg1.0_00040102": b""},
    }
    for index, (name, data) in enumerate(attachments):
        root[f"__attach_version1.0_#{index:08X}"] = {
            "__properties_version1.0": _properties([(0x37050003, 1), (0x0FFE0003, 7)], top=False),
            "__substg1.0_3707001F": _utf16(name), "__substg1.0_37010102": data}
    return build_compound_file(root)


def received(content: bytes, name: str = "第2期_南宁市_武鸣区.xlsx", kind: str | None = None) -> ReceivedFile:
    import hashlib

    return ReceivedFile(name=name, display=name, content=content, sha256=hashlib.sha256(content).hexdigest(),
                        kind=kind or ("other" if sniff(name, content) not in ("xlsx", "xlsm", "xls") else
                                      sniff(name, content)))


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture(scope="module")
def reader():
    with WorkbookReader(timeout=20) as shared:
        yield shared


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize("raw, safe", [
    ("第2期_南宁市_武鸣区.xlsx", "第2期_南宁市_武鸣区.xlsx"),
    ("../../evil.xlsx", "evil.xlsx"),
    ("\\\\host\\share\\x.xlsx", "x.xlsx"),
    ("C:\\Users\\a\\报表.xlsx", "报表.xlsx"),
    ("..", "未命名文件"),
    ("CON.xlsx", "_CON.xlsx"),
    ("nul", "_nul"),
    ("a\x00b\r\n.xlsx", "ab.xlsx"),
    ("report\u202excod.xlsx", "reportxcod.xlsx"),
    ('a<b>:"c|d?*.xlsx', "a_b_c_d_.xlsx"),
    (" 报表. ", "报表"),
])
def test_sanitize_filename(raw, safe):
    assert sanitize_filename(raw) == safe


def test_sanitize_filename_bounds_length_and_keeps_the_extension():
    name = sanitize_filename("长" * 300 + ".xlsx")
    assert len(name) <= 120 and name.endswith(".xlsx") and name.startswith("长")


# --------------------------------------------------------------------------- collecting


def test_collect_walks_sub_folders_in_order_and_lists_skipped_files(tmp_path):
    good = form_xlsx()
    write(tmp_path, "b.xlsx", good)
    write(tmp_path, "2020-09-14/a.xlsx", good)
    write(tmp_path, "2020-09-14/无扩展名的报表", good)        # kind from content, not name
    write(tmp_path, "~$b.xlsx", b"owner file")
    write(tmp_path, "退回_第2期_武鸣区.xlsx", good)
    write(tmp_path, ".hidden.xlsx", good)
    write(tmp_path, "Thumbs.db", b"x")

    files, issues = collect_inbox(tmp_path)

    # a feedback workbook of ours is judged by its content (corrected, it is a return), not skipped by name
    assert [f.display for f in files] == ["2020-09-14/a.xlsx", "2020-09-14/无扩展名的报表", "b.xlsx",
                                          "退回_第2期_武鸣区.xlsx"]
    assert [f.kind for f in files] == ["xlsx", "xlsx", "xlsx", "xlsx"]
    assert files[0].path == tmp_path / "2020-09-14" / "a.xlsx" and files[0].received_at
    assert files[0].sha256 == __import__("hashlib").sha256(good).hexdigest()
    skipped = {i.file: i for i in issues}
    assert set(skipped) == {"~$b.xlsx", ".hidden.xlsx", "Thumbs.db"}
    assert all(i.code is IssueCode.SKIPPED_FILE and i.severity is Severity.WARNING for i in issues)
    assert "临时文件" in skipped["~$b.xlsx"].message and "~$b.xlsx" in skipped["~$b.xlsx"].message
    assert {d: i.value for d, i in skipped.items()} == {"~$b.xlsx": "临时文件", ".hidden.xlsx": "隐藏文件",
                                                        "Thumbs.db": "系统文件"}


def test_collect_takes_a_file_it_would_skip_when_asked_to(tmp_path):
    write(tmp_path, ".hidden.xlsx", form_xlsx())
    write(tmp_path, "~$b.xlsx", b"owner file")
    files, issues = collect_inbox(tmp_path, take=[".hidden.xlsx"])
    assert [f.display for f in files] == [".hidden.xlsx"] and [i.file for i in issues] == ["~$b.xlsx"]


def test_collect_refuses_a_missing_inbox(tmp_path):
    from xf_excel.errors import IntakeError

    with pytest.raises(IntakeError, match="不存在"):
        collect_inbox(tmp_path / "nope")


def test_eml_attachment_with_rfc2231_chinese_name_and_mail_origin(tmp_path):
    write(tmp_path, "武鸣区.eml", mail([("第2期_南宁市_武鸣区.xlsx", form_xlsx())]))

    files, issues = collect_inbox(tmp_path)

    assert issues == []
    (file,) = files
    assert file.name == "第2期_南宁市_武鸣区.xlsx"
    assert file.display == "武鸣区.eml › 第2期_南宁市_武鸣区.xlsx"
    assert file.container == "武鸣区.eml" and file.kind == "xlsx"
    assert file.sender == "武鸣区扶贫办 <wm@example.cn>"
    assert file.subject == "第2期报表"
    assert file.received_at == "2020-09-14T10:30:00+08:00"


def test_eml_with_encoded_word_name_in_quotes_and_gbk_subject(tmp_path):
    """Foxmail and many Chinese clients put an RFC 2047 encoded word inside the quotes."""
    data = form_xlsx()
    import base64

    encoded = base64.b64encode("第2期_武鸣区.xlsx".encode("gb2312")).decode()
    body = base64.encodebytes(data).decode()
    raw = (f"From: =?GB2312?B?{base64.b64encode('武鸣区'.encode('gb2312')).decode()}?= <wm@example.cn>\r\n"
           f"Subject: =?GB2312?B?{base64.b64encode('报表'.encode('gb2312')).decode()}?=\r\n"
           "Date: Mon, 14 Sep 2020 10:30:00 +0800\r\nMIME-Version: 1.0\r\n"
           'Content-Type: multipart/mixed; boundary="XX"\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nhi\r\n'
           f'--XX\r\nContent-Type: application/octet-stream; name="=?GB2312?B?{encoded}?="\r\n'
           f'Content-Disposition: attachment; filename="=?GB2312?B?{encoded}?="\r\n'
           f"Content-Transfer-Encoding: base64\r\n\r\n{body}\r\n--XX--\r\n").encode("ascii")
    write(tmp_path, "mail", raw)                        # no extension: sniffed as a mail

    files, issues = collect_inbox(tmp_path)

    assert issues == [] and [f.name for f in files] == ["第2期_武鸣区.xlsx"]
    assert files[0].content == data and files[0].sender == "武鸣区 <wm@example.cn>" and files[0].subject == "报表"


def test_same_attachment_name_stays_distinguishable(tmp_path):
    write(tmp_path, "a.eml", mail([("报表.xlsx", form_xlsx("甲"))]))
    write(tmp_path, "b.eml", mail([("报表.xlsx", form_xlsx("乙")), ("报表.xlsx", form_xlsx("丙"))]))

    files, _ = collect_inbox(tmp_path)

    assert [f.display for f in files] == ["a.eml › 报表.xlsx", "b.eml › 报表.xlsx", "b.eml › 报表.xlsx (2)"]
    assert {f.name for f in files} == {"报表.xlsx"}
    assert len({f.sha256 for f in files}) == 3


def test_mail_without_attachment_is_reported(tmp_path):
    write(tmp_path, "空邮件.eml", mail([]))

    files, issues = collect_inbox(tmp_path)

    assert files == []
    (issue,) = issues
    assert issue.code is IssueCode.NOT_A_RETURN and "空邮件.eml" in issue.message and "没有附件" in issue.message
    assert "wm@example.cn" in issue.message


def test_zip_with_sub_folders_nested_zip_and_gbk_member_names(tmp_path):
    inner = zip_of({"深层/第2期_南宁市_横州市.xlsx": form_xlsx("横州市")})
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w") as archive:
        archive.writestr("南宁市/第2期_南宁市_武鸣区.xlsx", form_xlsx())
        archive.writestr("南宁市/", b"")
        archive.writestr("more/inner.zip", inner)
        archive.writestr("__MACOSX/南宁市/._第2期.xlsx", b"junk")
        gbk = zipfile.ZipInfo("placeholder.xlsx")
        archive.writestr(gbk, form_xlsx("宾阳县"))
    data = bytearray(outer.getvalue())
    # rename the last member to a GBK name without the UTF-8 flag, as Chinese Windows does
    gbk_name = "宾阳县.xlsx".encode("gbk").ljust(len(b"placeholder.xlsx"), b" ")[:16]
    assert len(gbk_name) == 16
    data = bytes(data).replace(b"placeholder.xlsx", gbk_name)
    write(tmp_path, "南宁市汇总.zip", data)

    files, issues = collect_inbox(tmp_path)

    assert issues == []
    assert [f.display for f in files] == [
        "南宁市汇总.zip › 第2期_南宁市_武鸣区.xlsx",
        "南宁市汇总.zip › inner.zip › 第2期_南宁市_横州市.xlsx",
        f"南宁市汇总.zip › {gbk_name.decode('gbk').strip()}",
    ]
    assert files[1].container == "南宁市汇总.zip › inner.zip"
    assert all(f.kind == "xlsx" for f in files)


def test_outlook_msg_attachments_and_origin(tmp_path):
    data = form_xlsx()
    write(tmp_path, "武鸣区.msg", outlook_msg([("第2期_南宁市_武鸣区.xlsx", data)]))

    files, issues = collect_inbox(tmp_path)

    assert issues == []
    (file,) = files
    assert file.display == "武鸣区.msg › 第2期_南宁市_武鸣区.xlsx" and file.kind == "xlsx"
    assert file.subject == "第2期报表" and file.sender == "武鸣区扶贫办 <wm@example.cn>"
    assert file.received_at == "2020-09-14T02:30:00+00:00"
    assert file.content == data


def test_kinds_are_sniffed_from_content():
    assert sniff("x.bin", form_xlsx()) == "xlsx"
    assert sniff("x.xlsx", excel_like_xlsx(macro_project=build_compound_file({"VBA": {"dir": b"x"}}))) == "xlsm"
    assert sniff("x.xlsx", outlook_msg([])) == "msg"
    assert sniff("x.zip", zip_of({"a.txt": b"a"})) == "zip"
    assert sniff("x.xlsx", zip_of({"a.txt": b"a"})) == "other"        # named as a workbook: a broken one
    assert sniff("x.dat", mail([])) == "eml"
    assert sniff("x.xlsx", b"%PDF-1.7") == "other"


# --------------------------------------------------------------------------- reading


def test_read_values_types_states_merges_and_missing_formula_cache(reader):
    raw = reader.read(received(form_xlsx())).workbook

    assert isinstance(raw, RawWorkbook)
    assert [(s.name, s.state) for s in raw.sheets] == [("填报", "visible"), ("xf_meta", "hidden"),
                                                        ("秘密", "veryHidden")]
    form = raw.sheet("填报")
    assert form.value(2, 1) == "填报单位" and form.value(2, 2) == "武鸣区"
    assert form.value(2, 5) == dt.date(2020, 9, 11)
    assert form.value(3, 2) == 13067428176 and type(form.value(3, 2)) is int
    assert form.value(6, 1) == 1 and type(form.value(6, 1)) is int
    assert form.value(7, 5) == 12.5 and type(form.value(7, 5)) is float
    assert form.value(8, 1) is True and form.value(8, 5) == dt.datetime(2020, 9, 11, 8, 30)
    assert form.value(1, 2) is None and form.value(7, 6) is None     # merged tail, formula without cache
    assert form.merged == [(1, 1, 1, 5)]
    assert raw.formulas_without_cache == 1 and raw.has_macros is False
    assert raw.sheet("xf_meta").cells == [["unit_code", "450122"]]
    assert raw.sheet("秘密").cells == []


def test_read_error_cells_and_cached_formulas(reader):
    raw = reader.read(received(excel_like_xlsx())).workbook

    assert isinstance(raw, RawWorkbook)
    assert raw.sheet("填报").cells == [["指标名称", 3, 6, CellError("#DIV/0!"), "正常"]]
    assert raw.formulas_without_cache == 0            # cached 6, cached error, cached text


def test_formula_cache_rules(reader):
    """Excel writes t="str" and an empty <v> for a formula whose result is ''; a numeric
    cell with an empty or absent <v> has no cached value (openpyxl, XlsxWriter given '')."""
    data = parts_xlsx('<row r="1"><c r="A1" t="str"><f>""</f><v></v></c><c r="B1"><f>1+1</f><v></v></c>'
                      '<c r="C1"><f>1+1</f></c><c r="D1"><f t="shared" ref="D1:E1" si="0">1+1</f><v>2</v></c>'
                      '<c r="E1"><f t="shared" si="0"/><v>2</v></c><c r="F1"><f t="shared" si="0"/></c></row>')

    raw = reader.read(received(data)).workbook

    assert raw.formulas_without_cache == 3
    assert raw.sheet("填报").cells == [[None, None, None, 2, 2]]


def test_xlsm_with_vba_project_is_flagged_never_run(reader):
    project = build_compound_file({"PROJECT": b'ID="{00000000-0000-0000-0000-000000000000}"\r\n',
                                   "VBA": {"dir": b"\x01"}})
    file = received(excel_like_xlsx(macro_project=project), name="第2期.xlsm")
    assert file.kind == "xlsm"

    raw = reader.read(file).workbook

    assert isinstance(raw, RawWorkbook) and raw.has_macros is True
    assert raw.sheet("填报").value(1, 3) == 6


def test_strict_ooxml_is_read_correctly(reader):
    data = parts_xlsx('<row r="1"><c r="A1" t="inlineStr"><is><t>建成专柜数</t></is></c><c r="B1"><v>12</v></c></row>',
                      strict=True)

    raw = reader.read(received(data)).workbook

    assert isinstance(raw, RawWorkbook)
    assert raw.sheet("填报").cells == [["建成专柜数", 12]]


def test_prefixed_elements_as_the_open_xml_sdk_writes_them(reader):
    """<x:c>, <x:v>: read like any workbook, and checked like any workbook."""
    sheet = (f'<?xml version="1.0" encoding="UTF-8"?><x:worksheet xmlns:x="{NS_MAIN}"><x:sheetData>'
             '<x:row r="1"><x:c r="A1"><x:v>5</x:v></x:c><x:c r="B1" t="e"><x:v>#N/A</x:v></x:c>'
             '<x:c r="C1"><x:f>1+1</x:f></x:c></x:row></x:sheetData></x:worksheet>')

    raw = reader.read(received(parts_xlsx(sheet_xml=sheet))).workbook
    (issue,) = reader.read(received(parts_xlsx(sheet_xml=sheet.replace('r="C1"', 'r="C1048577"')))).issues

    assert raw.sheet("填报").cells == [[5, CellError("#N/A")]] and raw.formulas_without_cache == 1
    assert issue.code is IssueCode.UNSAFE_FILE and "C1048577" in issue.message


def test_xls_through_libreoffice(tmp_path, soffice, reader):
    source = write(tmp_path, "form.xlsx", excel_like_xlsx())
    subprocess.run([soffice, "--headless", "--convert-to", "xls", "--outdir", str(tmp_path), str(source)],
                   check=True, capture_output=True, timeout=120,
                   env={**os.environ, "HOME": str(tmp_path)})
    file = received((tmp_path / "form.xls").read_bytes(), name="form.xls")
    assert file.kind == "xls"

    raw = reader.read(file).workbook

    assert isinstance(raw, RawWorkbook) and raw.formulas_without_cache == 0
    # calamine reads the error as empty; xlrd restores it (E1 is whatever LibreOffice cached)
    assert raw.sheet("填报").cells[0][:4] == ["指标名称", 3, 6, CellError("#DIV/0!")]


def test_read_workbook_one_off_and_non_return_issue():
    assert isinstance(read_workbook(received(form_xlsx())).workbook, RawWorkbook)
    (issue,) = read_workbook(received(b"%PDF-1.7 ...", name="报表.pdf")).issues
    assert issue.code is IssueCode.NOT_A_RETURN and issue.file == "报表.pdf"
    assert "报表.pdf" in issue.message and "PDF" in issue.message and "请对方" in issue.message


def test_workers_are_reused_and_a_dead_one_is_replaced():
    """The calamine abort (XFD1048576 beside A1) with the parent's checks relaxed: the
    worker dies, the file gets an issue, a fresh worker reads the next file."""
    bomb = parts_xlsx('<row r="1"><c r="A1"><v>1</v></c></row>'
                      '<row r="1048576"><c r="XFD1048576"><v>2</v></c></row>')
    files = [received(form_xlsx(), name=f"{i}.xlsx") for i in range(3)]
    files.insert(1, received(bomb, name="abort.xlsx"))
    relaxed = Limits(max_rows=2_000_000, max_cells=10 ** 13)

    with WorkbookReader(workers=1, limits=relaxed, memory_mb=512) as reader:
        results = list(reader.read_many(files))
        started = reader.workers_started

    assert [f.name for f, _ in results] == ["0.xlsx", "abort.xlsx", "1.xlsx", "2.xlsx"]
    assert [isinstance(r.workbook, RawWorkbook) for _, r in results] == [True, False, True, True]
    (issue,) = results[1][1].issues
    assert issue.code is IssueCode.UNSAFE_FILE and "abort.xlsx" in issue.message
    assert started == 2


def test_workers_started_ahead_read_the_batch_and_exit_at_end_of_input():
    """`start` (called while the inbox is collected) starts the workers the batch then uses,
    no more; `close` returns at once and each worker exits by itself at the end of its input."""
    files = [received(form_xlsx(), name=f"{i}.xlsx") for i in range(3)]
    with WorkbookReader(workers=2) as reader:
        reader.start()
        processes = [worker.proc for worker in reader._pool._workers]
        results = list(reader.read_many(files))
        started = reader.workers_started

    assert started == 2 and len(processes) == 2
    assert [isinstance(r.workbook, RawWorkbook) for _, r in results] == [True, True, True]
    assert [process.wait(timeout=30) for process in processes] == [0, 0]


def test_read_many_keeps_order_with_early_refusals_between_parsed_files():
    files = [received(b"", name="empty.xlsx"), received(form_xlsx(), name="a.xlsx"),
             received(b"GIF89a", name="b.gif"), received(form_xlsx(), name="c.xlsx")]
    with WorkbookReader(workers=2) as reader:
        results = list(reader.read_many(files))
    assert [(f.name, isinstance(r.workbook, RawWorkbook)) for f, r in results] == [
        ("empty.xlsx", False), ("a.xlsx", True), ("b.gif", False), ("c.xlsx", True)]
