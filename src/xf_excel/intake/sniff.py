"""What a received file is, told from its content: a workbook kind, a mail or zip to open,
or something else with the reason it is not a return and what the sender should do.

The same file-level issue frame serves every refusal (`file_issue`): `文件「name」reason。advice`.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Optional

import olefile

from ..issues import Issue, IssueCode, Severity
from .safeguard import Limits, Refusal, open_zip

__all__ = ["Identity", "identify", "sniff", "file_issue", "refusal_issue", "WORKBOOK_KINDS", "EXCEL_SUFFIXES",
           "ARCHIVE_LIMITS", "ADVICE_RESAVE", "ADVICE_RESEND", "ADVICE_XLSX", "WPS_REFUSAL"]

ARCHIVE_LIMITS = Limits(max_members=500, max_unpacked_bytes=200 << 20)
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".xltx", ".xltm", ".xlt")
WORKBOOK_KINDS = ("xlsx", "xlsm", "xls", "xlsb", "ods")

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
ADVICE_RESAVE = "请对方用 Excel 打开报表，另存为 .xlsx 格式后重新发送。"
ADVICE_RESEND = "文件可能没有下载或保存完整，请对方重新导出后发送。"
ADVICE_XLSX = "请对方把数据填入下发的 Excel 报表，以 .xlsx 格式发送。"


def file_issue(code: IssueCode, display: str, reason: str, advice: str, *, what: str = "文件", value: Any = None,
               details: str = "", severity: Severity = Severity.ERROR) -> Issue:
    """An issue about a file as a whole: `文件「display」reason。advice` (a mail says 邮件)."""
    return Issue.of(code, severity, file=display, value=value, details=details, what=what, reason=reason,
                    advice=advice)


def refusal_issue(display: str, refusal: Refusal) -> Issue:
    """The issue of a file a structural check or the sniffing refused."""
    return file_issue(refusal.code, display, refusal.reason, refusal.advice or ADVICE_RESAVE, details=refusal.details)



@dataclass(frozen=True)
class Identity:
    """What a file is: a workbook kind, a container to open, or 'other' with why not."""

    kind: str                          # xlsx xlsm xls xlsb ods | encrypted | eml msg zip | other
    refusal: Optional[Refusal] = None


def sniff(name: str, content: bytes) -> str:
    """The kind of a file from its content (its name only breaks ties): 'xlsx', 'xlsm',
    'xls', 'xlsb', 'ods', 'encrypted' (an encrypted OOXML package), 'eml', 'msg', 'zip' or 'other'."""
    return identify(name, content).kind


def identify(name: str, content: bytes) -> Identity:
    """What a file is, from its content (its name only breaks ties)."""
    suffix = PurePosixPath(name.lower()).suffix
    if not content:
        return _other(IssueCode.UNREADABLE_FILE, "是空文件（0 字节）", "可能没有下载或保存完整，请对方重新发送。")
    if content.startswith(_ZIP_MAGICS):
        return _identify_zip(suffix, content)
    if content.startswith(_OLE_MAGIC):
        return _identify_ole(suffix, content)
    return _identify_by_signature(suffix, content)


def _other(code: IssueCode, reason: str, advice: str) -> Identity:
    return Identity("other", Refusal(code, reason, advice))


def _not_a_return(reason: str, advice: str) -> Identity:
    return _other(IssueCode.NOT_A_RETURN, reason, advice)


_WORD = ("是 Word 文档，不是 Excel 报表", ADVICE_XLSX)
WPS_REFUSAL = ("是 WPS 表格格式（.et），无法读取", "请对方在 WPS 中用“另存为”保存为 Excel 工作簿（.xlsx）后重新发送。")


def _identify_zip(suffix: str, content: bytes) -> Identity:
    archive = open_zip(content, ARCHIVE_LIMITS)
    if isinstance(archive, Refusal):
        return Identity("other", archive)
    names = {n.lower(): n for n in archive.namelist()}
    if "xl/workbook.xml" in names:
        return Identity(_ooxml_kind(archive, names))
    if "xl/workbook.bin" in names:
        return Identity("xlsb")
    if "word/document.xml" in names:
        return _not_a_return(*_WORD)
    if "ppt/presentation.xml" in names:
        return _not_a_return("是 PowerPoint 演示文稿，不是 Excel 报表", ADVICE_XLSX)
    if "mimetype" in names:
        return _identify_opendocument(archive, names["mimetype"])
    if _is_iwork(names):
        return _not_a_return(*_IWORK.get(suffix, _IWORK[".numbers"]))
    if any("\\" in n for n in names) and "xl\\workbook.xml" in names:
        return _other(IssueCode.UNREADABLE_FILE, "的内部结构不合规范（压缩包里的部件名用了反斜杠“\\”），无法读取",
                      "这类文件多由某些导出工具生成；请对方用 Excel 打开后另存为 .xlsx 格式，再重新发送。")
    if "[content_types].xml" in names or suffix in EXCEL_SUFFIXES:
        return _other(IssueCode.UNREADABLE_FILE, "已损坏，无法打开（缺少工作簿部分）", ADVICE_RESAVE)
    return Identity("zip")


_IWORK = {
    ".numbers": ("是 Apple Numbers 文件，无法直接读取",
                 "请对方在 Numbers 中选择“文件 › 导出为 › Excel…”，导出为 .xlsx 后重新发送。"),
    ".pages": ("是 Apple Pages 文稿，不是 Excel 报表", ADVICE_XLSX),
    ".key": ("是 Apple Keynote 演示文稿，不是 Excel 报表", ADVICE_XLSX),
}


def _is_iwork(names: dict[str, str]) -> bool:
    """An Apple iWork document (Numbers, Pages, Keynote): IWA parts under Index/ (2013 on),
    a package's Index.zip and Metadata/, or the '09 format's index.xml with its build history."""
    return (any(n.startswith("index/") and n.endswith(".iwa") for n in names) or "index.zip" in names
            or "metadata/properties.plist" in names or "metadata/documentidentifier" in names
            or (("index.xml" in names or "index.xml.gz" in names) and ("buildversionhistory.plist" in names
                                                                     or any(n.startswith("quicklook/") for n in names))))


def _identify_opendocument(archive: zipfile.ZipFile, member: str) -> Identity:
    """An OpenDocument package by its mimetype member: a spreadsheet is read, a text or
    presentation is named."""
    try:
        mimetype = archive.read(member)[:100].decode("ascii", "replace").strip()
    except Exception:                          # a broken member: the reader will say so
        mimetype = ""
    if mimetype.startswith("application/vnd.oasis.opendocument.spreadsheet"):
        return Identity("ods")
    if mimetype.startswith("application/vnd.oasis.opendocument.text"):
        return _not_a_return("是 OpenDocument 文字文档（.odt），不是 Excel 报表", ADVICE_XLSX)
    return _not_a_return("是 OpenDocument 文档，但不是电子表格", ADVICE_XLSX)


def _ooxml_kind(archive: zipfile.ZipFile, names: dict[str, str]) -> str:
    if any(n.endswith("vbaproject.bin") or n.startswith("xl/macrosheets/") for n in names):
        return "xlsm"
    types = archive.getinfo(names["[content_types].xml"]) if "[content_types].xml" in names else None
    if types is not None and types.file_size < 1 << 20:
        try:
            if b"macroEnabled" in archive.read(types):
                return "xlsm"
        except Exception:                      # a broken part: read_workbook will say so
            pass
    return "xlsx"


def _identify_ole(suffix: str, content: bytes) -> Identity:
    try:
        with olefile.OleFileIO(io.BytesIO(content)) as ole:
            entries = {"/".join(path).lower() for path in ole.listdir(streams=True, storages=True)}
    except Exception:                          # olefile on hostile bytes: any failure means unreadable
        return _other(IssueCode.UNREADABLE_FILE, "已损坏，无法打开", ADVICE_RESEND)
    if "encryptioninfo" in entries and "encryptedpackage" in entries:
        return Identity("encrypted")           # perhaps only with Excel's default key: the reader tries it
    if "workbook" in entries or "book" in entries:
        return Identity("xls")
    if "__properties_version1.0" in entries or any(e.startswith("__substg1.0_") for e in entries):
        return Identity("msg")
    if "worddocument" in entries or suffix in (".wps", ".wpt"):
        return _not_a_return(*_WORD)
    if suffix in (".et", ".ett"):
        return _not_a_return(*WPS_REFUSAL)
    if suffix in EXCEL_SUFFIXES:
        return _other(IssueCode.UNREADABLE_FILE, "已损坏或不是真正的 Excel 文件，无法打开", ADVICE_RESAVE)
    return _not_a_return("不是 Excel 报表（无法识别的 Office 文件）", ADVICE_XLSX)


_IMAGE_MAGICS = (b"\x89PNG", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")
_MAIL_HEADER = re.compile(rb"(?im)^(from|to|subject|date|mime-version|received|return-path|message-id):")


_OLD_BIFF = {0x0009: "Excel 2.x", 0x0209: "Excel 3.0", 0x0409: "Excel 4.0"}   # BOF record of BIFF2, 3, 4


def _old_excel(head: bytes) -> Optional[str]:
    """'Excel 3.0' for a file that begins with the BOF record of BIFF2–4 (no compound file:
    the records themselves), else None."""
    if len(head) < 8:
        return None
    kind, length = int.from_bytes(head[0:2], "little"), int.from_bytes(head[2:4], "little")
    return _OLD_BIFF.get(kind) if 4 <= length <= 16 else None


def _identify_by_signature(suffix: str, content: bytes) -> Identity:
    head = content[:4096]
    old_excel = _old_excel(head)
    if old_excel:
        return _other(IssueCode.UNREADABLE_FILE, f"是 {old_excel} 的旧格式工作表（1987–1992 年的 Excel 格式），无法读取",
                      "请对方用 Excel 或 WPS 打开后另存为 .xlsx 格式，再重新发送。")
    if head.startswith(b"%PDF"):
        return _not_a_return("是 PDF 文件，不是 Excel 报表", "请对方发送填好的 Excel 报表文件（.xlsx），不要转换为 PDF。")
    if head.startswith(_IMAGE_MAGICS) or head[8:12] == b"WEBP" or head[4:12] in (b"ftypheic", b"ftypmif1"):
        return _not_a_return("是图片，不是 Excel 报表", "请对方发送填好的 Excel 报表文件（.xlsx）本身，不要截图或拍照。")
    if head.startswith(b"\x1f\x8b") and _gnumeric(content):
        return _not_a_return("是 Gnumeric 电子表格文件，无法读取", "请对方用 Gnumeric 或 LibreOffice 另存为 .xlsx 格式后重新发送。")
    if head.startswith(b"ID;P"):
        return _not_a_return("是 SYLK 格式的文本表格（.slk），不是下发的报表", ADVICE_XLSX)
    if suffix == ".eml" or _looks_like_mail(head):
        return Identity("eml")
    if suffix in (".et", ".ett"):
        return _not_a_return(*WPS_REFUSAL)
    if suffix in (".doc", ".docx", ".wps", ".wpt", ".rtf") or head.startswith(b"{\\rtf"):
        return _not_a_return(*_WORD)
    if suffix in EXCEL_SUFFIXES:
        return _other(IssueCode.UNREADABLE_FILE, "已损坏或不是真正的 Excel 文件，无法打开", ADVICE_RESAVE)
    if suffix == ".csv":
        return _not_a_return("是 CSV 文本文件，不是下发的报表", ADVICE_XLSX)
    return _not_a_return("不是 Excel 报表（无法识别的文件类型）", "请对方发送填好的 .xlsx 报表文件。")


def _gnumeric(content: bytes) -> bool:
    """A gzip stream whose first kilobytes are a Gnumeric workbook (decompressed only that far)."""
    import zlib

    try:
        start = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(content[:65536], 4096)
    except zlib.error:
        return False
    return b"gnm:Workbook" in start or b"gmr:Workbook" in start


def _looks_like_mail(head: bytes) -> bool:
    if not re.match(rb"[!-9;-~]+:", head):
        return False
    return len({m.lower() for m in _MAIL_HEADER.findall(head)}) >= 2
