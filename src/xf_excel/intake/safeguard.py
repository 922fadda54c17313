"""Cheap structural checks on a received file's bytes, before any reader parses it.

A workbook is a zip of XML parts, and every reader trusts it more than it should: none
bounds the decompressed size, python-calamine aborts the process on a cell far out in the
grid or a huge shared-string count, and XML parsers differ on DTDs. So, on the bytes only
and before any reader sees them:

- the zip: its central directory is sane (member count read from the end record before
  anything is built), no duplicate part names, only stored/deflated members, and every
  member is stream-decompressed against a byte budget (headers are not trusted);
- every XML part: no DTD or entity declaration (`<!DOCTYPE`, `<!ENTITY`), in whatever
  encoding it is written (a UTF-16 part is decoded and checked like the others; UTF-32,
  which no Office program writes, is refused); binary parts (a Data Model, pictures) are
  not XML and pass; what a Mac adds when it zips (`__MACOSX/`, `.DS_Store`) no reader
  opens, and is not judged;
- the workbook: its part is present; sheets are found through the relationships
  (transitional or Strict OOXML);
- every sheet: every cell/row reference lies inside Excel's grid (1,048,576 rows × XFD),
  and the cells that hold something stay within a return's size (rows, cells). A declared
  dimension is a claim, not data: one beyond a return's size is checked against the cells;
- the shared strings: the declared count is sane;
- a legacy .xls: the compound file opens, the workbook stream is of sane size, the cells
  its records place stay within a return's size, a FILEPASS record says it is encrypted;
- an .xlsb: the same zip and XML checks, then its binary records (rows, cells, the
  shared-string count); an .ods: the same zip and XML checks, then its tables' rows and
  cells with their repeat counts.

A problem is a `Refusal` (an IssueCode, a Chinese reason and advice; a library's own words
go into `details`), never an exception. The checks are a first filter, not the guarantee:
parsing still happens in a guarded child process (`workers.py`). For the usual .xlsx/.xlsm
the checks themselves run there too, just before the parse and under the same memory and
time limits (the parent stays free, and each zip is inflated once); this module therefore
imports only the standard library, defusedxml, olefile and the package's issue codes.
"""

from __future__ import annotations

import io
import posixpath
import re
import struct
import zipfile
from dataclasses import dataclass, field
from typing import Iterator, Literal, Optional, Union

from defusedxml import ElementTree as SafeET

from ..issues import IssueCode, column_letter

__all__ = ["Limits", "Refusal", "WorkbookFacts", "XlsFacts", "inspect_ooxml", "inspect_ooxml_parts", "inspect_xls", "inspect_xlsb",
           "inspect_ods", "size_refusal", "open_zip", "unpack_zip", "EXCEL_MAX_ROWS", "EXCEL_MAX_COLUMNS"]

EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLUMNS = 16_384   # XFD


@dataclass(frozen=True)
class Limits:
    """How large a received file may be. A return is a few dozen KB: a 填报 sheet of ~50
    rows and a 专柜明细 sheet of up to a few hundred; the caps leave ample room."""

    max_members: int = 1_000                 # parts in a workbook (or files in a zip archive)
    max_unpacked_bytes: int = 64 << 20       # all parts together, decompressed
    max_rows: int = 20_000                   # per sheet, counting cells that hold something
    max_cells: int = 2_000_000               # rows × columns a sheet spans
    max_shared_strings: int = 1_000_000
    max_text: int = 20_000_000               # characters in all cells together, as a reader hands them on


@dataclass(frozen=True)
class Refusal:
    """Why a file is not read: the issue code, what is wrong (Chinese, completes the
    sentence "文件「x」…"), and optionally what the sender should do instead."""

    code: IssueCode
    reason: str
    advice: str = ""
    details: str = ""               # technical detail (a library's words, a part name), never in the sentence


@dataclass
class WorkbookFacts:
    """What the checks learnt about an OOXML workbook that passed them."""

    kind: Literal["xlsx", "xlsm", "xlsb", "ods"]
    sheet_parts: dict[str, str] = field(default_factory=dict)   # sheet name -> worksheet part
    has_macros: bool = False        # vbaProject.bin or an XLM macro sheet
    strict: bool = False            # Strict OOXML (ISO 29500 namespaces)
    reader_content: Optional[bytes] = None   # the package to parse instead of the original, if rewritten


@dataclass
class XlsFacts:
    """What the checks learnt about a legacy .xls (compound file) workbook."""

    has_macros: bool = False
    encrypted: bool = False         # a FILEPASS record: readable only once decrypted (Excel's default key)


Checked = Union[WorkbookFacts, Refusal]

_ZIP_END = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_TYPICAL_CENTRAL_ENTRY = 160
_SAFE_ENCODINGS = {"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin1", "latin-1",
                   "windows-1252", "cp1252", "gbk", "gb2312", "gb18030", "cp936"}
_DECLARATION = re.compile(rb"<!(?!--|\[CDATA\[)")          # DOCTYPE, ENTITY, ELEMENT …
_ENCODING = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._\-]+)")

_ADVICE_RESAVE = "请对方用 Excel 打开报表，另存为 .xlsx 格式后重新发送。"
_ADVICE_TRIM = "请对方删除表格下方或右侧多余的行列（选中后右键“删除”），保存后重新发送。"


# --------------------------------------------------------------------------- zip layer


def open_zip(content: bytes, limits: Limits = Limits()) -> Union[zipfile.ZipFile, Refusal]:
    """Open a zip after checking, from its end record, that the member count is bounded
    (so a crafted directory of millions of entries is refused before it is built)."""
    declared = _declared_members(content)
    if declared is not None and declared > limits.max_members:
        return Refusal(IssueCode.UNSAFE_FILE, f"包含 {declared} 个压缩成员，超过上限 {limits.max_members}")
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except Exception as error:                 # zipfile on hostile bytes: any failure means unreadable
        return Refusal(IssueCode.UNREADABLE_FILE, "已损坏，无法打开（压缩结构不完整）",
                       "文件可能没有下载或保存完整，请对方重新导出后发送。", _detail(error))
    if len(archive.infolist()) > limits.max_members:
        return Refusal(IssueCode.UNSAFE_FILE, f"包含 {len(archive.infolist())} 个压缩成员，超过上限 {limits.max_members}")
    return archive


def unpack_zip(archive: zipfile.ZipFile, limits: Limits = Limits()) -> Union[dict[str, bytes], Refusal]:
    """Every member's bytes (directories left out), decompressed as a stream against
    `limits.max_unpacked_bytes`: declared sizes are checked first, actual ones as they come."""
    infos = [info for info in archive.infolist() if not info.is_dir()]
    refusal = _check_members(infos, limits)
    if refusal:
        return refusal
    budget, members = limits.max_unpacked_bytes, {}
    for info in infos:
        # zipfile stops at the declared size (and then checks the CRC), so a member that
        # lies about its size is cut short and refused; the budget counts actual bytes.
        data = _read_member(archive, info, budget)
        if isinstance(data, Refusal):
            return data
        budget -= len(data)
        members[info.filename] = data
    return members


def _declared_members(content: bytes) -> Optional[int]:
    """The member count the zip's end record declares (zip64 aware), or None if absent."""
    end = content.rfind(_ZIP_END, max(0, len(content) - 65_557))
    if end < 0 or end + 22 > len(content):
        return None
    entries, directory_size = struct.unpack_from("<HI", content, end + 10)
    if entries == 0xFFFF and end >= 20 and content[end - 20:end - 16] == _ZIP64_LOCATOR:
        (offset,) = struct.unpack_from("<Q", content, end - 12)
        if offset + 56 <= len(content):
            (entries,) = struct.unpack_from("<Q", content, offset + 32)
    # zipfile reads entries until the directory's size is used up, whatever the count says:
    # bound the count by the size too (an entry is 46 bytes plus a name of ~100 bytes).
    return max(entries, directory_size // _TYPICAL_CENTRAL_ENTRY)


def _check_members(infos: list[zipfile.ZipInfo], limits: Limits) -> Optional[Refusal]:
    folded = [info.filename.lower() for info in infos]
    if len(set(folded)) != len(folded):
        return Refusal(IssueCode.UNSAFE_FILE, "内部有重名的部件（同一部件出现两次）")
    for info in infos:
        if info.flag_bits & 0x1:
            return Refusal(IssueCode.ENCRYPTED_FILE, "设有压缩密码", "请对方取消密码后重新发送。")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            return Refusal(IssueCode.UNREADABLE_FILE, "使用了 Excel 不使用的压缩方式", _ADVICE_RESAVE)
    declared = sum(info.file_size for info in infos)
    if declared > limits.max_unpacked_bytes:
        return _bomb(declared, limits)
    return None


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> Union[bytes, Refusal]:
    if info.file_size > budget:
        return _bomb(info.file_size, None)
    try:
        data = archive.read(info)
        if len(data) > budget:
            return _bomb(len(data), None)
        return data
    except Exception as error:                 # CRC mismatch, truncated data, bad deflate stream …
        return Refusal(IssueCode.UNREADABLE_FILE, "已损坏，无法打开（压缩数据出错）",
                       "文件可能没有下载或保存完整，请对方重新导出后发送。", _detail(error))


def _bomb(size: int, limits: Optional[Limits]) -> Refusal:
    cap = f"，上限 {limits.max_unpacked_bytes >> 20} MB" if limits else ""
    return Refusal(IssueCode.UNSAFE_FILE, f"解压后超过 {size >> 20} MB{cap}（远大于正常报表，疑似“压缩炸弹”）",
                   _ADVICE_RESAVE)


def _detail(error: BaseException) -> str:
    return f"{type(error).__name__}: {str(error)[:200]}"


# --------------------------------------------------------------------------- xml layer


_UNSAFE_DTD = "含有文档类型或实体声明（DTD/ENTITY，可被用于攻击），为安全起见未读取"
_UNSAFE_ENCODING = "使用了 Office 软件不使用的文字编码，为安全起见未读取"


def _xml_refusal(name: str, data: bytes) -> Optional[Refusal]:
    """A DTD/entity declaration, or an encoding that hides one from this check, in a part
    that looks like XML — whatever its name: a worksheet can be stored as `media/x.bin`.

    A part in UTF-16 (Excel for Mac writes customXml that way) is decoded and checked like
    the others; UTF-32, which no Office program writes, is refused; bytes that are XML in no
    encoding (a Data Model, a picture) are not XML and pass."""
    if _never_read(name):
        return None
    head = data[:256]
    if head.startswith((b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00")) or head.startswith((b"<\x00\x00\x00", b"\x00\x00\x00<")):
        return Refusal(IssueCode.UNSAFE_FILE, _UNSAFE_ENCODING, _ADVICE_RESAVE, f"{name}: UTF-32")
    utf16 = _utf16(data)
    if utf16 is not None:
        if re.search(r"<!(?!--|\[CDATA\[)", utf16):
            return Refusal(IssueCode.UNSAFE_FILE, _UNSAFE_DTD, _ADVICE_RESAVE, f"{name}: <!DOCTYPE/<!ENTITY (UTF-16)")
        return None
    if not head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return None
    if _DECLARATION.search(data):
        return Refusal(IssueCode.UNSAFE_FILE, _UNSAFE_DTD, _ADVICE_RESAVE, f"{name}: <!DOCTYPE/<!ENTITY")
    encoding = _ENCODING.match(head)
    if encoding and encoding.group(1).decode("ascii").lower() not in _SAFE_ENCODINGS | {"utf-16", "utf16"}:
        return Refusal(IssueCode.UNSAFE_FILE, _UNSAFE_ENCODING, _ADVICE_RESAVE,
                       f"{name}: encoding {encoding.group(1).decode()}")
    return None


def _never_read(name: str) -> bool:
    """What macOS adds to a zip it makes (resource forks, Finder's folder settings): no reader
    opens these, whatever they hold."""
    base = name.rsplit("/", 1)[-1]
    return name.startswith("__MACOSX/") or "/__MACOSX/" in name or base == ".DS_Store" or base.startswith("._")


def _utf16(data: bytes) -> Optional[str]:
    """The text of a part written in UTF-16 (with a byte-order mark, or starting `<` and NUL),
    None when it is not UTF-16 text."""
    head = data[:4]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif head[:2] == b"<\x00" or head[:2] == b"\x00<":
        encoding = "utf-16-le" if head[:1] == b"<" else "utf-16-be"
    else:
        return None
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _parse(data: bytes):
    """Parse a small, already-checked XML part (defusedxml refuses DTDs once more)."""
    return SafeET.fromstring(data)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


# --------------------------------------------------------------------------- workbook


_STRICT_MAIN = "http://purl.oclc.org/ooxml/spreadsheetml/main"
_SHEET_TYPES = ("worksheet", "xlMacrosheet", "xlIntlMacrosheet", "dialogsheet", "chartsheet")
_MACRO_TYPES = ("xlMacrosheet", "xlIntlMacrosheet")


def inspect_ooxml(content: bytes, limits: Limits = Limits()) -> Checked:
    """Check an .xlsx/.xlsm byte string before parsing; return its facts or a Refusal."""
    return inspect_ooxml_parts(content, limits)[0]


def inspect_ooxml_parts(content: bytes, limits: Limits = Limits()) -> tuple[Checked, dict[str, bytes]]:
    """`inspect_ooxml`, and the parts it inflated (empty when refused early): the reader
    worker scans the sheets' XML for error cells from these, rather than inflating again."""
    members = _checked_members(content, limits)
    if isinstance(members, Refusal):
        return members, {}
    try:
        return _inspect_parts(members, limits), members
    except (SafeET.ParseError, ValueError, KeyError, UnicodeDecodeError) as error:
        return Refusal(IssueCode.UNREADABLE_FILE, "已损坏，无法打开（工作簿结构出错）",
                       "请对方用 Excel 打开确认无误后，另存为 .xlsx 重新发送。", _detail(error)), members


def _inspect_parts(members: dict[str, bytes], limits: Limits) -> Checked:
    workbook_part = "xl/workbook.xml"
    if workbook_part not in members:
        return Refusal(IssueCode.UNREADABLE_FILE, "已损坏，无法打开（缺少工作簿部分）",
                       "请对方用 Excel 打开确认无误后，另存为 .xlsx 重新发送。")
    workbook = _parse(members[workbook_part])
    if _local(workbook.tag) != "workbook":
        return Refusal(IssueCode.UNREADABLE_FILE, "已损坏，无法打开（工作簿部分内容不对）", _ADVICE_RESAVE)
    relations = _relations(members.get("xl/_rels/workbook.xml.rels"), "xl")
    sheet_parts, macro_parts, macro_ids = {}, [], set()
    for sheet in workbook.iter():
        if _local(sheet.tag) != "sheet":
            continue
        rel_id = next((v for k, v in sheet.attrib.items() if _local(k) == "id" and k.startswith("{")), None)
        kind, target = relations.get(rel_id, ("", ""))
        if kind == "worksheet":
            sheet_parts[sheet.get("name", "")] = target
        elif kind in _MACRO_TYPES:
            macro_parts.append(target)
            macro_ids.add(rel_id)
    names = list(members)
    has_macros = bool(macro_parts) or any(n.lower().endswith("vbaproject.bin") or n.startswith("xl/macrosheets/")
                                          for n in names)
    for part in _sheet_like_parts(names, relations):
        refusal = check_sheet(_sheet_label(part, sheet_parts), members.get(part, b""), limits)
        if refusal:
            return refusal
    shared = next((t for k, t in relations.values() if k == "sharedStrings"), "xl/sharedStrings.xml")
    refusal = _check_shared_strings(members.get(shared, b""), limits)
    if refusal:
        return refusal
    kind = "xlsm" if has_macros or _macro_enabled(members.get("[Content_Types].xml", b"")) else "xlsx"
    return WorkbookFacts(kind=kind, sheet_parts=sheet_parts, has_macros=has_macros,
                         strict=workbook.tag.startswith("{" + _STRICT_MAIN),
                         reader_content=_without_macro_sheets(members, macro_ids) if macro_ids else None)


_SHEET_ENTRY = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?sheet\b[^>]*>")
_ENTRY_ID = re.compile(rb"\s[A-Za-z_][\w.\-]*:id\s*=\s*[\"']([^\"']*)[\"']")


def _without_macro_sheets(members: dict[str, bytes], macro_ids: set[str]) -> bytes:
    """The package again, minus the XLM macro sheets' entries in workbook.xml.

    calamine refuses a whole workbook that lists a sheet of the xlMacrosheet relationship
    type ("Cannot detect file format"); a macro sheet is never data for us, so the reader
    gets the workbook without it (the file is still flagged as having macros)."""
    def keep(entry: re.Match) -> bytes:
        found = _ENTRY_ID.search(entry.group(0))
        return b"" if found and found.group(1).decode("utf-8", "replace") in macro_ids else entry.group(0)

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, _SHEET_ENTRY.sub(keep, data) if name == "xl/workbook.xml" else data)
    return out.getvalue()


def _relations(data: Optional[bytes], base: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type's last segment, target part name), for either OOXML flavour."""
    if not data:
        return {}
    found = {}
    for rel in _parse(data).iter():
        if _local(rel.tag) == "Relationship" and rel.get("TargetMode") != "External":
            target = rel.get("Target", "")
            part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
            found[rel.get("Id")] = (rel.get("Type", "").rsplit("/", 1)[-1], part)
    return found


def _sheet_like_parts(names: list[str], relations: dict[str, tuple[str, str]]) -> list[str]:
    by_relation = {t for k, t in relations.values() if k in _SHEET_TYPES}
    by_place = {n for n in names if n.startswith(("xl/worksheets/", "xl/macrosheets/", "xl/dialogsheets/"))
                and n.endswith(".xml") and "/_rels/" not in n}
    return sorted(by_relation | by_place)


def _sheet_label(part: str, sheet_parts: dict[str, str]) -> str:
    return next((name for name, p in sheet_parts.items() if p == part), part)


def _macro_enabled(content_types: bytes) -> bool:
    return b"macroEnabled" in content_types


_SST = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?sst\b([^>]*)>")
_COUNT = re.compile(rb"\b(?:count|uniqueCount)\s*=\s*[\"']\s*([0-9]+)")


def _check_shared_strings(data: bytes, limits: Limits) -> Optional[Refusal]:
    root = _SST.search(data[:4096])
    if not root:
        return None
    for number in _COUNT.findall(root.group(1)):
        if int(number) > limits.max_shared_strings:
            return Refusal(IssueCode.UNSAFE_FILE, f"声明了 {int(number)} 个共享字符串，远超正常报表", _ADVICE_RESAVE)
    return None


# --------------------------------------------------------------------------- sheets

_P = rb"(?:[A-Za-z_][\w.\-]*:)?"
_DIMENSION = re.compile(rb"<" + _P + rb"dimension\b[^>]*?\bref\s*=\s*[\"']([^\"']*)[\"']")
_FAR_REFERENCE = re.compile(rb' r="(?:[A-Za-z]{2}|[A-Za-z]*[0-9]{5}|[^A-Za-z0-9])')   # literal start: fast
_TAG = re.compile(rb"<" + _P + rb"(row|c)(?=[\s/>])([^>]*)>")
_ROW_NUMBER = re.compile(rb"\sr\s*=\s*[\"']\s*([0-9]+)")
_CELL_REFERENCE = re.compile(rb"\sr\s*=\s*[\"']\s*([A-Za-z]+)([0-9]+)")
_RANGE_END = re.compile(r"^\$?([A-Za-z]+)\$?([0-9]+)$")


def check_sheet(sheet: str, xml: bytes, limits: Limits = Limits()) -> Optional[Refusal]:
    """Refuse a sheet whose cells leave Excel's grid or a return's size (or whose declared
    dimension is no range of Excel's grid at all).

    Normal returns take the fast path: one regex pass shows that no reference has two
    column letters or five row digits, so the sheet spans at most Z9999. Anything else
    gets the exact scan (rows and cells without `r` are counted by position, as readers do):
    a dimension declared over the whole grid (Excel keeps one once a whole column was
    formatted) above a few cells is judged by the cells."""
    refusal = _check_dimension(sheet, xml)
    if refusal or _all_references_near(xml):
        return refusal
    return _scan_cells(sheet, xml, limits)


def _all_references_near(xml: bytes) -> bool:
    """True when every row and cell tag has an `r` and none reaches column AA or row 10000.
    Byte counts, not a parse: when in doubt it says False. Only <row> and <c> carry an
    attribute named r, so the counts match exactly when every tag has one; prefixed tags
    (<x:c r=…>), odd spacing or quotes, and tags without attributes all break the match."""
    if b"<c>" in xml or b"<row>" in xml or _FAR_REFERENCE.search(xml):
        return False
    return xml.count(b' r="') == xml.count(b"<c ") + xml.count(b"<row ")


def _check_dimension(sheet: str, xml: bytes) -> Optional[Refusal]:
    """The declared dimension must be a range of Excel's grid; its size is only a claim."""
    found = _DIMENSION.search(xml, 0, 4096) or _DIMENSION.search(xml)
    if not found:
        return None
    text = found.group(1).decode("ascii", "replace")
    corners = [_RANGE_END.match(part) for part in text.split(":")]
    if not all(corners) or len(corners) > 2:
        return Refusal(IssueCode.UNREADABLE_FILE, f"已损坏，无法打开（工作表「{sheet}」的使用范围声明无效）", _ADVICE_RESAVE,
                       f"dimension ref={text[:40]}")
    rows = max(int(c.group(2)) for c in corners)
    columns = max(_column_number(c.group(1)) for c in corners)
    if rows > EXCEL_MAX_ROWS or columns > EXCEL_MAX_COLUMNS:
        return _outside(sheet, "使用范围声明", f"dimension ref={text[:40]}")
    return None


def _scan_cells(sheet: str, xml: bytes, limits: Limits) -> Optional[Refusal]:
    row = column = last_row = last_column = 0
    for tag, attributes in _TAG.findall(xml):
        if tag == b"row":
            number = _ROW_NUMBER.search(attributes)
            row, column = (int(number.group(1)) if number else row + 1), 0
            if row > EXCEL_MAX_ROWS:
                return _outside(sheet, f"第 {row} 行")
            continue
        reference = _CELL_REFERENCE.search(attributes)
        if reference:
            column, cell_row = _column_number(reference.group(1)), int(reference.group(2))
        else:
            column, cell_row = column + 1, row
        if column > EXCEL_MAX_COLUMNS or cell_row > EXCEL_MAX_ROWS:
            return _outside(sheet, f"单元格 {column_letter(column)}{cell_row}")
        if not attributes.rstrip().endswith(b"/"):      # a cell with content, not only a style
            last_row, last_column = max(last_row, cell_row), max(last_column, column)
    return size_refusal(sheet, last_row, last_column, limits)


def size_refusal(sheet: str, rows: int, columns: int, limits: Limits = Limits()) -> Optional[Refusal]:
    """The refusal of a sheet whose cells with content span `rows` × `columns`, if too many."""
    what = "有内容的单元格"
    if rows > EXCEL_MAX_ROWS or columns > EXCEL_MAX_COLUMNS:
        return _outside(sheet, what)
    if rows > limits.max_rows:
        return Refusal(IssueCode.UNSAFE_FILE,
                       f"工作表「{sheet}」{what}达 {rows} 行，超过报表上限 {limits.max_rows} 行，未读取", _ADVICE_TRIM)
    if rows * columns > limits.max_cells:
        return Refusal(IssueCode.UNSAFE_FILE,
                       f"工作表「{sheet}」{what}达 {rows} 行 × {columns} 列，超过报表上限，未读取", _ADVICE_TRIM)
    return None


def _outside(sheet: str, what: str, details: str = "") -> Refusal:
    return Refusal(IssueCode.UNSAFE_FILE,
                   f"工作表「{sheet}」的{what}超出 Excel 表格范围（最多 1048576 行、XFD 列），文件结构异常",
                   _ADVICE_RESAVE, details)


def _column_number(letters: Union[str, bytes]) -> int:
    number = 0
    for letter in (letters.decode("ascii") if isinstance(letters, bytes) else letters).upper():
        number = number * 26 + ord(letter) - 64
    return number


# --------------------------------------------------------------------------- .xlsb


def inspect_xlsb(content: bytes, limits: Limits = Limits()) -> Union[WorkbookFacts, Refusal]:
    """Check an Excel binary workbook (.xlsb): the zip and its XML parts as for .xlsx, then
    the binary records of every worksheet (rows and cells that hold a value) and the
    shared-string count."""
    members = _checked_members(content, limits)
    if isinstance(members, Refusal):
        return members
    if "xl/workbook.bin" not in members:
        return Refusal(IssueCode.UNREADABLE_FILE, "已损坏，无法打开（缺少工作簿部分）", _ADVICE_RESAVE)
    for name, data in members.items():
        if name.startswith("xl/worksheets/") and name.endswith(".bin"):
            rows, columns = _biff12_extent(data)
            refusal = size_refusal(posixpath.basename(name)[:-4], rows, columns, limits)
            if refusal:
                return refusal
    count = _biff12_shared_strings(members.get("xl/sharedStrings.bin", b""))
    if count > limits.max_shared_strings:
        return Refusal(IssueCode.UNSAFE_FILE, f"声明了 {count} 个共享字符串，远超正常报表", _ADVICE_RESAVE)
    has_macros = any(n.lower().endswith("vbaproject.bin") for n in members)
    return WorkbookFacts(kind="xlsb", has_macros=has_macros)


def _checked_members(content: bytes, limits: Limits) -> Union[dict[str, bytes], Refusal]:
    """The zip's members, after the zip checks and the XML checks of every part."""
    archive = open_zip(content, limits)
    if isinstance(archive, Refusal):
        return archive
    members = unpack_zip(archive, limits)
    if isinstance(members, Refusal):
        return members
    for name, data in members.items():
        refusal = _xml_refusal(name, data)
        if refusal:
            return refusal
    return members


_BRT_ROW_HEADER, _BRT_CELL_BLANK, _BRT_LAST_CELL, _BRT_BEGIN_SST = 0x0000, 0x0001, 0x000B, 0x009F


def _biff12_records(data: bytes) -> Iterator[tuple[int, int, int]]:
    """(record type, body offset, body length) of each BIFF12 record: type and size are
    little-endian base-128 numbers of up to 2 and 4 bytes."""
    pos, size = 0, len(data)
    while pos < size:
        kind, pos = _varint(data, pos, 2)
        length, pos = _varint(data, pos, 4)
        if kind < 0 or length < 0 or pos + length > size:
            return
        yield kind, pos, length
        pos += length


def _varint(data: bytes, pos: int, most: int) -> tuple[int, int]:
    value = 0
    for shift in range(most):
        if pos >= len(data):
            return -1, pos
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << (7 * shift)
        if not byte & 0x80:
            return value, pos
    return value, pos


def _biff12_extent(data: bytes) -> tuple[int, int]:
    """(rows, columns) spanned by the cells holding a value in a .xlsb worksheet part."""
    row = rows = columns = 0
    for kind, body, length in _biff12_records(data):
        if kind == _BRT_ROW_HEADER and length >= 4:
            row = int.from_bytes(data[body:body + 4], "little")
        elif _BRT_CELL_BLANK < kind <= _BRT_LAST_CELL and length >= 4:
            column = int.from_bytes(data[body:body + 4], "little")
            rows, columns = max(rows, row + 1), max(columns, column + 1)
    return rows, columns


def _biff12_shared_strings(data: bytes) -> int:
    for kind, body, length in _biff12_records(data[:64]):
        if kind == _BRT_BEGIN_SST and length >= 8:
            return max(int.from_bytes(data[body:body + 4], "little"), int.from_bytes(data[body + 4:body + 8], "little"))
    return 0


# --------------------------------------------------------------------------- .ods

_ODS_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_ODS_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"


def inspect_ods(content: bytes, limits: Limits = Limits()) -> Union[WorkbookFacts, Refusal]:
    """Check an OpenDocument spreadsheet: the zip and its XML parts as for .xlsx, then every
    table's rows and cells with their repeat counts (a reader expands a repeated row that
    holds a value; LibreOffice's trailing empty repeats hold none)."""
    members = _checked_members(content, limits)
    if isinstance(members, Refusal):
        return members
    if b"encryption-data" in members.get("META-INF/manifest.xml", b""):      # ODF's own password encryption
        return Refusal(IssueCode.ENCRYPTED_FILE, "设有打开密码", "请取消密码后重新发送。")
    if "content.xml" not in members:
        return Refusal(IssueCode.UNREADABLE_FILE, "已损坏，无法打开（缺少表格内容部分）", _ADVICE_RESAVE)
    try:
        extents = _ods_extents(members["content.xml"])
    except SafeET.ParseError as error:
        return Refusal(IssueCode.UNREADABLE_FILE, "已损坏，无法打开（表格内容出错）", _ADVICE_RESAVE, _detail(error))
    for sheet, (rows, columns) in extents.items():
        refusal = size_refusal(sheet, rows, columns, limits)
        if refusal:
            return refusal
    has_macros = any(n.startswith("Basic/") or n.startswith("Scripts/") for n in members)
    return WorkbookFacts(kind="ods", has_macros=has_macros)


def _ods_extents(xml: bytes) -> dict[str, tuple[int, int]]:
    """Table name -> (rows, columns) spanned by the cells that hold a value."""
    extents: dict[str, tuple[int, int]] = {}
    table, row = "", 0
    for event, element in SafeET.iterparse(io.BytesIO(xml), events=("start", "end")):
        tag = element.tag
        if event == "start":
            if tag == _ODS_TABLE + "table":
                table, row = element.get(_ODS_TABLE + "name", "?"), 0
            continue
        if tag != _ODS_TABLE + "table-row":
            continue
        repeat = _repeat(element, "number-rows-repeated")
        last = _last_filled_column(element)
        if last:
            rows, columns = extents.get(table, (0, 0))
            extents[table] = (max(rows, row + repeat), max(columns, last))
        row += repeat
        element.clear()
    return extents


def _last_filled_column(row) -> int:
    column = last = 0
    for cell in row:
        if cell.tag not in (_ODS_TABLE + "table-cell", _ODS_TABLE + "covered-table-cell"):
            continue
        repeat = _repeat(cell, "number-columns-repeated")
        if cell.get(_ODS_OFFICE + "value-type") or len(cell) or (cell.text or "").strip():
            last = column + repeat
        column += repeat
    return last


def _repeat(element, attribute: str) -> int:
    try:
        return max(1, int(element.get(_ODS_TABLE + attribute, "1")))
    except ValueError:
        return 1


# --------------------------------------------------------------------------- .xls


_GLOBALS_SCAN_BYTES = 1 << 16   # FILEPASS sits right after BOF, in the first few records
_FILEPASS, _EOF_RECORD = 0x002F, 0x000A


def _has_filepass(stream: bytes) -> bool:
    """True when the workbook globals of a BIFF8 stream carry a FILEPASS record (a password).
    Walks the records (2-byte type, 2-byte length) up to the first EOF record."""
    pos = 0
    while pos + 4 <= len(stream):
        kind, length = int.from_bytes(stream[pos:pos + 2], "little"), int.from_bytes(stream[pos + 2:pos + 4], "little")
        if kind == _FILEPASS:
            return True
        if kind == _EOF_RECORD:
            return False
        pos += 4 + length
    return False


def inspect_xls(content: bytes, limits: Limits = Limits()) -> Union[XlsFacts, Refusal]:
    """Check a legacy .xls compound file: it opens, its workbook stream is of sane size, and
    the cells its records place stay within a return's size (calamine builds the whole
    rectangle a far cell spans). A FILEPASS record marks it encrypted: its records cannot be
    judged until it is decrypted, and checked again."""
    import olefile   # here: only a legacy .xls needs it, and the reader workers import this module

    try:
        with olefile.OleFileIO(io.BytesIO(content)) as ole:
            if ole.exists("EncryptionInfo"):
                return Refusal(IssueCode.ENCRYPTED_FILE, "设有打开密码", "请取消密码后重新发送。")
            stream = next((s for s in ("Workbook", "Book") if ole.exists(s)), None)
            if stream is None:
                return Refusal(IssueCode.UNREADABLE_FILE, "已损坏，无法打开（缺少工作簿数据）", _ADVICE_RESAVE)
            if ole.get_size(stream) > limits.max_unpacked_bytes:
                return _bomb(ole.get_size(stream), limits)
            has_macros = ole.exists("_VBA_PROJECT_CUR") or ole.exists("_VBA_PROJECT")
            if _has_filepass(ole.openstream(stream).read(_GLOBALS_SCAN_BYTES)):
                return XlsFacts(has_macros=has_macros, encrypted=True)
            records = ole.openstream(stream).read()
    except Exception as error:                 # olefile on hostile bytes: any failure means unreadable
        return Refusal(IssueCode.UNREADABLE_FILE, "已损坏，无法打开", "请对方重新导出后发送。", _detail(error))
    for sheet, (rows, columns) in _biff_extents(records).items():
        refusal = size_refusal(sheet, rows, columns, limits)
        if refusal:
            return refusal
    return XlsFacts(has_macros=has_macros)


_BOF, _BOUNDSHEET, _MULRK = 0x0809, 0x0085, 0x00BD
# records that put a value in a cell (row and column first); BLANK/MULBLANK only format one
_BIFF_CELL_RECORDS = {0x0006, 0x00D6, 0x00FD, 0x0203, 0x0204, 0x0205, 0x027E}


def _biff_extents(stream: bytes) -> dict[str, tuple[int, int]]:
    """Sheet name -> (rows, columns) spanned by the cells that hold a value, from the BIFF5/8
    records of a workbook stream (a record walk, nothing parsed beyond row and column)."""
    names: dict[int, str] = {}
    extents: dict[str, tuple[int, int]] = {}
    sheet, pos, size = None, 0, len(stream)
    while pos + 4 <= size:
        kind = stream[pos] | stream[pos + 1] << 8
        length = stream[pos + 2] | stream[pos + 3] << 8
        body = pos + 4
        if body + length > size:              # a record cut short: nothing after it is a record
            break
        if kind == _BOUNDSHEET and length >= 8:
            names[int.from_bytes(stream[body:body + 4], "little")] = _boundsheet_name(stream[body + 6:body + length])
        elif kind == _BOF:
            sheet = names.get(pos)
        elif sheet is not None and length >= 4 and (kind in _BIFF_CELL_RECORDS or kind == _MULRK):
            row = stream[body] | stream[body + 1] << 8
            column = stream[body + 2] | stream[body + 3] << 8
            if kind == _MULRK and length >= 6:
                column = stream[body + length - 2] | stream[body + length - 1] << 8
            rows, columns = extents.get(sheet, (0, 0))
            extents[sheet] = (max(rows, row + 1), max(columns, column + 1))
        pos = body + length
    return extents


def _boundsheet_name(data: bytes) -> str:
    """A BOUNDSHEET's sheet name: BIFF8 (length, flags, UTF-16 or compressed) or BIFF5 (length, bytes)."""
    if len(data) < 2:
        return "?"
    length, wide = data[0], data[1] & 1
    if len(data) >= 2 + length * (2 if wide else 1) and data[1] in (0, 1):
        raw = data[2:2 + length * (2 if wide else 1)]
        return raw.decode("utf-16-le" if wide else "latin-1", "replace")
    return data[1:1 + length].decode("cp1252", "replace")
