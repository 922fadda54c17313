"""Inbox files -> received files -> raw workbooks, read safely.

Two steps, kept apart so that the pipeline can archive every file's raw bytes in between:

1. `collect_inbox(inbox)` walks the inbox folder (sorted, sub-folders included), opens mails
   (.eml, .msg) and zip archives (nested to a bounded depth), and returns one
   `ReceivedFile` per candidate file, its kind sniffed from the content. Files that are not
   returns (PDF, images, Word, WPS .et …) are returned too, as kind "other", so that they are
   archived like everything received; `read_workbook` gives them their issue.
   The issues returned by `collect_inbox` are about what is *not* in the file list:
   temp/hidden/own-output files skipped, broken mails and archives, mails without attachments.
2. `read_workbook(file)` or, for a batch, `WorkbookReader.read(file)`: structural checks on
   the bytes in this process (`safeguard`), then parsing in a guarded child process
   (`reader`). The result is a `RawWorkbook` or a list holding one `Issue` that names the
   file and says what the sender should do.

    >>> files, skipped = collect_inbox(Path("inbox/第2期"))            # doctest: +SKIP
    >>> with WorkbookReader() as reader:
    ...     for file, result in reader.read_many(files):
    ...         print(file.display, "ok" if isinstance(result, RawWorkbook) else result[0].message)
"""

from __future__ import annotations

import datetime as dt
import email
import email.header
import email.message
import email.policy
import email.utils
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any, Iterable, Iterator, Optional, Union

import olefile

from ..errors import IntakeError
from ..filenames import safe_filename as sanitize_filename
from ..issues import Issue, IssueCode, Severity
from .workers import Outcome, WorkerPool, WorkerStartError
from .records import CellError, RawSheet, RawWorkbook, ReceivedFile
from .safeguard import Limits, Refusal, inspect_ooxml, inspect_xls, open_zip, unpack_zip

__all__ = ["collect_inbox", "read_workbook", "WorkbookReader", "sanitize_filename", "sniff",
           "OWN_OUTPUT_PREFIXES", "MAX_FILE_BYTES", "MAX_DEPTH"]

OWN_OUTPUT_PREFIXES = ("退回_",)       # feedback workbooks we write; staff may save them into the inbox
MAX_FILE_BYTES = 50 << 20              # a file (or an attachment) larger than this is not read
MAX_DEPTH = 3                          # mail › zip › zip › file, no deeper
ARCHIVE_LIMITS = Limits(max_members=500, max_unpacked_bytes=200 << 20)
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".xltx", ".xltm", ".xlt")
WORKBOOK_KINDS = ("xlsx", "xlsm", "xls")
SEP = " › "

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_ADVICE_RESAVE = "请对方用 Excel 打开报表，另存为 .xlsx 格式后重新发送。"
_ADVICE_RESEND = "文件可能没有下载或保存完整，请对方重新导出后发送。"


def _error(code: IssueCode, display: str, text: str, value: Any = None) -> Issue:
    return Issue(code=code, severity=Severity.ERROR, message=text, file=display, value=value)


def _refusal_issue(display: str, refusal: Refusal) -> Issue:
    return _error(refusal.code, display, f"文件「{display}」{refusal.reason}。{refusal.advice or _ADVICE_RESAVE}")


# =========================================================================== names




def _skip_reason(name: str) -> Optional[str]:
    """Why a file of this name is not a return, or None."""
    if name.startswith("~$"):
        return "这是 Excel 打开文件时留下的临时文件（~$ 开头），不是报表"
    if name.startswith(".~lock.") or (name.startswith("~") and name.lower().endswith(".tmp")):
        return "这是办公软件打开文件时留下的临时文件，不是报表"
    if name.startswith("."):
        return "这是隐藏文件，不是报表"
    if name.lower() in ("thumbs.db", "desktop.ini"):
        return "这是 Windows 系统文件，不是报表"
    if name.startswith(OWN_OUTPUT_PREFIXES):
        return "这是本系统生成的退回反馈表，不是收到的报表"
    return None


# =========================================================================== sniffing


@dataclass(frozen=True)
class _Identity:
    """What a file is: a workbook kind, a container to open, or 'other' with why not."""

    kind: str                          # xlsx xlsm xls | eml msg zip | other
    refusal: Optional[Refusal] = None


def sniff(name: str, content: bytes) -> str:
    """The kind of a file from its content (its name only breaks ties):
    'xlsx', 'xlsm', 'xls', 'eml', 'msg', 'zip' or 'other'."""
    return _identify(name, content).kind


def _identify(name: str, content: bytes) -> _Identity:
    suffix = PurePosixPath(name.lower()).suffix
    if not content:
        return _other(IssueCode.UNREADABLE_FILE, "是空文件（0 字节）", "可能没有下载或保存完整，请对方重新发送。")
    if content.startswith(_ZIP_MAGICS):
        return _identify_zip(suffix, content)
    if content.startswith(_OLE_MAGIC):
        return _identify_ole(suffix, content)
    return _identify_by_signature(suffix, content)


def _other(code: IssueCode, reason: str, advice: str) -> _Identity:
    return _Identity("other", Refusal(code, reason, advice))


def _not_a_return(reason: str, advice: str) -> _Identity:
    return _other(IssueCode.NOT_A_RETURN, reason, advice)


_ADVICE_XLSX = "请对方把数据填入下发的 Excel 报表，以 .xlsx 格式发送。"
_WORD = ("是 Word 文档，不是 Excel 报表", _ADVICE_XLSX)
_WPS = ("是 WPS 表格格式（.et），无法读取", "请对方在 WPS 中用“另存为”保存为 Excel 工作簿（.xlsx）后重新发送。")


def _identify_zip(suffix: str, content: bytes) -> _Identity:
    archive = open_zip(content, ARCHIVE_LIMITS)
    if isinstance(archive, Refusal):
        return _Identity("other", archive)
    names = {n.lower(): n for n in archive.namelist()}
    if "xl/workbook.xml" in names:
        return _Identity(_ooxml_kind(archive, names))
    if "xl/workbook.bin" in names:
        return _not_a_return("是 Excel 二进制工作簿（.xlsb），无法读取", _ADVICE_RESAVE)
    if "word/document.xml" in names:
        return _not_a_return(*_WORD)
    if "ppt/presentation.xml" in names:
        return _not_a_return("是 PowerPoint 演示文稿，不是 Excel 报表", _ADVICE_XLSX)
    if "mimetype" in names:
        return _not_a_return("是 OpenDocument 格式（WPS/LibreOffice 的 .ods/.odt），无法读取", _ADVICE_RESAVE)
    if "[content_types].xml" in names or suffix in EXCEL_SUFFIXES:
        return _other(IssueCode.UNREADABLE_FILE, "已损坏，无法打开（缺少工作簿部分）", _ADVICE_RESAVE)
    return _Identity("zip")


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


def _identify_ole(suffix: str, content: bytes) -> _Identity:
    try:
        with olefile.OleFileIO(io.BytesIO(content)) as ole:
            entries = {"/".join(path).lower() for path in ole.listdir(streams=True, storages=True)}
    except Exception:                          # olefile on hostile bytes: any failure means unreadable
        return _other(IssueCode.UNREADABLE_FILE, "已损坏，无法打开", _ADVICE_RESEND)
    if "encryptioninfo" in entries and "encryptedpackage" in entries:
        return _other(IssueCode.ENCRYPTED_FILE, "设有打开密码", "请取消密码后重新发送。")
    if "workbook" in entries or "book" in entries:
        return _Identity("xls")
    if "__properties_version1.0" in entries or any(e.startswith("__substg1.0_") for e in entries):
        return _Identity("msg")
    if "worddocument" in entries or suffix in (".wps", ".wpt"):
        return _not_a_return(*_WORD)
    if suffix in (".et", ".ett"):
        return _not_a_return(*_WPS)
    if suffix in EXCEL_SUFFIXES:
        return _other(IssueCode.UNREADABLE_FILE, "已损坏或不是真正的 Excel 文件，无法打开", _ADVICE_RESAVE)
    return _not_a_return("不是 Excel 报表（无法识别的 Office 文件）", _ADVICE_XLSX)


_IMAGE_MAGICS = (b"\x89PNG", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")
_MAIL_HEADER = re.compile(rb"(?im)^(from|to|subject|date|mime-version|received|return-path|message-id):")


def _identify_by_signature(suffix: str, content: bytes) -> _Identity:
    head = content[:4096]
    if head.startswith(b"%PDF"):
        return _not_a_return("是 PDF 文件，不是 Excel 报表", "请对方发送填好的 Excel 报表文件（.xlsx），不要转换为 PDF。")
    if head.startswith(_IMAGE_MAGICS) or head[8:12] == b"WEBP" or head[4:12] in (b"ftypheic", b"ftypmif1"):
        return _not_a_return("是图片，不是 Excel 报表", "请对方发送填好的 Excel 报表文件（.xlsx）本身，不要截图或拍照。")
    if suffix == ".eml" or _looks_like_mail(head):
        return _Identity("eml")
    if suffix in (".et", ".ett"):
        return _not_a_return(*_WPS)
    if suffix in (".doc", ".docx", ".wps", ".wpt", ".rtf") or head.startswith(b"{\\rtf"):
        return _not_a_return(*_WORD)
    if suffix in EXCEL_SUFFIXES:
        return _other(IssueCode.UNREADABLE_FILE, "已损坏或不是真正的 Excel 文件，无法打开", _ADVICE_RESAVE)
    if suffix == ".csv":
        return _not_a_return("是 CSV 文本文件，不是下发的报表", _ADVICE_XLSX)
    return _not_a_return("不是 Excel 报表（无法识别的文件类型）", "请对方发送填好的 .xlsx 报表文件。")


def _looks_like_mail(head: bytes) -> bool:
    if not re.match(rb"[!-9;-~]+:", head):
        return False
    return len({m.lower() for m in _MAIL_HEADER.findall(head)}) >= 2


# =========================================================================== collecting


@dataclass(frozen=True)
class _Origin:
    """Where the files being taken out of something came from."""

    path: Path
    container: str = ""
    sender: str = ""
    subject: str = ""
    received_at: Optional[str] = None


class _Collector:
    def __init__(self, inbox: Path):
        self.inbox = inbox
        self.files: list[ReceivedFile] = []
        self.issues: list[Issue] = []
        self.displays: set[str] = set()

    def skip(self, display: str, reason: str) -> None:
        self.issues.append(Issue(code=IssueCode.SKIPPED_FILE, severity=Severity.WARNING, file=display,
                                 message=f"已跳过「{display}」：{reason}。"))

    def unique(self, display: str) -> str:
        candidate, number = display, 1
        while candidate in self.displays:
            number += 1
            candidate = f"{display} ({number})"
        self.displays.add(candidate)
        return candidate

    def take(self, name: str, display: str, content: bytes, origin: _Origin, depth: int) -> None:
        """One file: a workbook or other file to hand on, or a container to open."""
        display = self.unique(display)
        if len(content) > MAX_FILE_BYTES:
            self.issues.append(_too_big(display, len(content)))
            return
        identity = _identify(name, content)
        if identity.kind in ("eml", "msg", "zip"):
            if depth >= MAX_DEPTH:
                self.issues.append(_error(IssueCode.UNSAFE_FILE, display,
                                          f"文件「{display}」嵌套层数过多（邮件或压缩包套了 {depth} 层以上），未打开。"
                                          "请对方直接把报表作为邮件附件发送。"))
                return
            opener = {"eml": _open_mail, "msg": _open_msg, "zip": _open_zip}[identity.kind]
            opener(self, display, content, origin, depth + 1)
            return
        self.files.append(ReceivedFile(
            name=name, display=display, content=content, sha256=hashlib.sha256(content).hexdigest(),
            kind=identity.kind if identity.kind in WORKBOOK_KINDS else "other", path=origin.path,
            container=origin.container, sender=origin.sender, subject=origin.subject,
            received_at=origin.received_at))

    def take_parts(self, container: str, parts: list[tuple[str, bytes]], origin: _Origin, depth: int) -> None:
        for raw_name, data in parts:
            name = sanitize_filename(raw_name)
            reason = _skip_reason(name)
            if reason:
                self.skip(f"{container}{SEP}{name}", reason)
                continue
            self.take(name, f"{container}{SEP}{name}", data, origin, depth)


def _too_big(display: str, size: int) -> Issue:
    return _error(IssueCode.UNSAFE_FILE, display,
                  f"文件「{display}」大小 {size >> 20} MB，超过 {MAX_FILE_BYTES >> 20} MB 上限，未读取。"
                  "报表文件通常不到 1 MB，请确认对方是否发错了文件。")


def collect_inbox(inbox: Path) -> tuple[list[ReceivedFile], list[Issue]]:
    """Every candidate return in `inbox` and its sub-folders, mails and zip archives.

    Returns (files, issues): files in a deterministic order (sorted by path, then by
    position inside each mail or archive); issues about what could not be taken in (files
    skipped with the reason, broken mails and archives, mails without attachments).
    Every file in `files`, including kind "other", should go to `read_workbook`, which
    gives non-returns their issue.

        >>> files, issues = collect_inbox(Path("inbox/第2期"))         # doctest: +SKIP
        >>> files[0].display
        '武鸣区扶贫办.eml › 第2期_南宁市_武鸣区.xlsx'
    """
    inbox = Path(inbox)
    if not inbox.is_dir():
        raise IntakeError(f"收件文件夹 {inbox} 不存在；请检查路径，或先把收到的附件保存到该文件夹")
    collector = _Collector(inbox)
    for path in _walk(inbox, collector):
        display = path.relative_to(inbox).as_posix()
        try:
            size = path.stat().st_size
            content = path.read_bytes() if size <= MAX_FILE_BYTES else None
        except OSError as error:
            collector.issues.append(_error(IssueCode.UNREADABLE_FILE, display,
                                           f"文件「{display}」无法读取（{error.strerror}），可能正被其他程序占用；"
                                           "请关闭打开它的程序后重新汇总。"))
            continue
        if content is None:
            collector.issues.append(_too_big(collector.unique(display), size))
            continue
        origin = _Origin(path=path, received_at=_mtime(path))
        collector.take(sanitize_filename(path.name), display, content, origin, depth=0)
    return collector.files, collector.issues


def _walk(folder: Path, collector: _Collector) -> Iterator[Path]:
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        display = entry.relative_to(collector.inbox).as_posix()
        reason = "这是快捷方式（符号链接），不是报表" if entry.is_symlink() else _skip_reason(entry.name)
        if reason:
            collector.skip(display, reason)
        elif entry.is_dir():
            yield from _walk(entry, collector)
        elif entry.is_file():
            yield entry


def _mtime(path: Path) -> str:
    return dt.datetime.fromtimestamp(path.stat().st_mtime).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- mails


def _open_mail(collector: _Collector, display: str, content: bytes, origin: _Origin, depth: int) -> None:
    """An RFC 822 mail: record From, Subject and Date, take every attachment."""
    try:
        message = email.message_from_bytes(content, policy=email.policy.default)
        mail = replace(origin, container=display, sender=_header(message, "From"),
                       subject=_header(message, "Subject"), received_at=_mail_date(message) or origin.received_at)
        parts = [(_attachment_name(part, i), part.get_payload(decode=True) or b"")
                 for i, part in enumerate(_attachments(message), start=1)]
    except Exception as error:                 # a mangled mail must not stop the batch
        collector.issues.append(_error(IssueCode.UNREADABLE_FILE, display,
                                       f"邮件「{display}」已损坏，无法打开。请对方重新发送。", f"{type(error).__name__}: {error}"))
        return
    _take_mail_parts(collector, display, parts, mail, depth)


def _take_mail_parts(collector: _Collector, display: str, parts: list[tuple[str, bytes]], mail: _Origin,
                     depth: int) -> None:
    if not parts:
        who = f"（发件人：{mail.sender}，主题：{mail.subject}）" if mail.sender or mail.subject else ""
        collector.issues.append(_error(IssueCode.NOT_A_RETURN, display,
                                       f"邮件「{display}」{who}没有附件。请对方把填好的报表作为附件重新发送。"))
        return
    collector.take_parts(display, parts, mail, depth)


def _attachments(message: email.message.EmailMessage) -> Iterator[email.message.EmailMessage]:
    """Leaf parts that are attachments: a file name or `attachment` disposition. Body text
    and images embedded in the body (inline, with a Content-ID) are not attachments."""
    for part in message.walk():
        if part.is_multipart() or part.get_content_maintype() == "message":
            continue
        disposition = (part.get_content_disposition() or "").lower()
        has_name = bool(part.get_param("filename", header="content-disposition") or part.get_param("name"))
        if disposition == "attachment" or (has_name and not (disposition == "inline" and part["Content-ID"])):
            yield part


def _attachment_name(part: email.message.EmailMessage, index: int) -> str:
    name = part.get_filename() or ""
    if "=?" in name:                           # encoded words inside a quoted name (common in Chinese mail)
        name = str(email.header.make_header(email.header.decode_header(name)))
    name = _fix_raw_bytes(name)
    return name or f"附件{index}{_suffix_for(part.get_content_type())}"


def _fix_raw_bytes(name: str) -> str:
    """Unencoded 8-bit names come through as surrogate escapes: try UTF-8, then GB18030."""
    if not any("\udc80" <= ch <= "\udcff" for ch in name):
        return name
    raw = name.encode("utf-8", "surrogateescape")
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", "replace")


def _suffix_for(content_type: str) -> str:
    return {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
            "application/vnd.ms-excel.sheet.macroenabled.12": ".xlsm", "application/vnd.ms-excel": ".xls",
            "application/zip": ".zip", "message/rfc822": ".eml", "application/pdf": ".pdf"}.get(content_type, "")


def _header(message: email.message.EmailMessage, name: str) -> str:
    try:
        return " ".join(str(message.get(name, "") or "").split())
    except Exception:                          # an undecodable header: keep going without it
        return ""


def _mail_date(message: email.message.EmailMessage) -> Optional[str]:
    try:
        return email.utils.parsedate_to_datetime(str(message["Date"])).isoformat(timespec="seconds")
    except Exception:                          # missing or malformed Date
        return None


def _open_msg(collector: _Collector, display: str, content: bytes, origin: _Origin, depth: int) -> None:
    """An Outlook .msg: From, Subject, Date and attachments, via extract-msg."""
    try:
        parts, mail = _read_msg(content, display, origin)
    except Exception as error:                 # extract-msg on a damaged file
        collector.issues.append(_error(IssueCode.UNREADABLE_FILE, display,
                                       f"邮件「{display}」已损坏，无法打开。请对方重新发送。", f"{type(error).__name__}: {error}"))
        return
    _take_mail_parts(collector, display, parts, mail, depth)


def _read_msg(content: bytes, display: str, origin: _Origin) -> tuple[list[tuple[str, bytes]], _Origin]:
    import logging

    import extract_msg

    logging.getLogger("extract_msg").setLevel(logging.ERROR)
    message = extract_msg.openMsg(io.BytesIO(content), strict=False)
    try:
        when = message.date
        mail = replace(origin, container=display, sender=" ".join(str(message.sender or "").split()),
                       subject=" ".join(str(message.subject or "").split()),
                       received_at=when.isoformat(timespec="seconds") if when else origin.received_at)
        parts = []
        for index, attachment in enumerate(message.attachments, start=1):
            data = attachment.data
            if isinstance(data, bytes):
                name = attachment.longFilename or attachment.shortFilename or f"附件{index}"
                parts.append((name, data))
        return parts, mail
    finally:
        message.close()


# --------------------------------------------------------------------------- zip archives


def _open_zip(collector: _Collector, display: str, content: bytes, origin: _Origin, depth: int) -> None:
    """A zip archive of returns: every member, by its base name (folders inside are flattened)."""
    archive = open_zip(content, ARCHIVE_LIMITS)
    members = archive if isinstance(archive, Refusal) else unpack_zip(archive, ARCHIVE_LIMITS)
    if isinstance(members, Refusal):
        collector.issues.append(_refusal_issue(display, members))
        return
    infos = {info.filename: info for info in archive.infolist()}
    parts = []
    for member_name, data in members.items():
        name = _member_name(infos[member_name])
        if "__MACOSX/" in member_name:
            continue                           # macOS resource forks: never a return, pure noise
        parts.append((name, data))
    collector.take_parts(display, parts, replace(origin, container=display), depth)


def _member_name(info: zipfile.ZipInfo) -> str:
    """The member's name as its creator meant it: zips made on Chinese Windows store GBK
    names without the UTF-8 flag, which zipfile decodes as cp437."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            raw = name.encode("cp437")
        except UnicodeEncodeError:
            return name
        for encoding in ("utf-8", "gb18030"):
            try:
                return raw.decode(encoding)
            except UnicodeDecodeError:
                continue
    return name


# =========================================================================== reading


@dataclass
class _Prepared:
    """A workbook that passed the checks and is ready for a worker."""

    kind: str
    sheet_parts: dict[str, str]
    has_macros: bool
    content: Optional[bytes] = None    # what the worker parses, when not the file's own bytes


class WorkbookReader:
    """Reads received files safely, with a few worker processes kept for the whole batch.

        >>> with WorkbookReader() as reader:                            # doctest: +SKIP
        ...     result = reader.read(received)            # RawWorkbook, or [Issue]

    `timeout` (seconds) and `memory_mb` bound each file's parse; `workers` processes are
    started lazily (sequential `read` calls use one; `read_many` keeps them all busy).
    A worker that dies or overruns is replaced and the next file goes on."""

    def __init__(self, *, timeout: float = 20, memory_mb: int = 512, workers: int = 2,
                 limits: Limits = Limits()):
        self.timeout = timeout
        self.limits = limits
        self._pool = WorkerPool(size=workers, memory_mb=memory_mb)

    def __enter__(self) -> "WorkbookReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker processes."""
        self._pool.close()

    @property
    def workers_started(self) -> int:
        """How many worker processes were started so far (replacements included)."""
        return self._pool.started

    def read(self, file: ReceivedFile, *, timeout: Optional[float] = None) -> Union[RawWorkbook, list[Issue]]:
        """Check and parse one file: a RawWorkbook, or a list with the one Issue that says why not."""
        return next(self.read_many([file], timeout=timeout))[1]

    def read_many(self, files: Iterable[ReceivedFile], *, timeout: Optional[float] = None
                  ) -> Iterator[tuple[ReceivedFile, Union[RawWorkbook, list[Issue]]]]:
        """(file, result) for each file, in order; the checks of the next file in this
        process overlap with the parsing of earlier ones in the workers."""
        files = list(files)
        early: dict[int, list[Issue]] = {}
        prepared: dict[int, _Prepared] = {}
        limit = self.timeout if timeout is None else timeout

        def jobs() -> Iterator[tuple[int, tuple, float]]:
            for index, file in enumerate(files):
                ready = self._prepare(file)
                if isinstance(ready, list):
                    early[index] = ready
                else:
                    prepared[index] = ready
                    yield index, (ready.kind, ready.content or file.content, ready.sheet_parts), limit

        following = 0
        try:
            for index, outcome in self._pool.run_many(jobs()):
                while following < index:
                    yield files[following], early.pop(following)
                    following += 1
                yield files[index], self._finish(files[index], prepared.pop(index), outcome, limit)
                following = index + 1
        except WorkerStartError as error:
            raise IntakeError(f"无法启动读取进程（{error}）；请检查 Python 环境与 python-calamine 的安装") from error
        while following < len(files):
            yield files[following], early.pop(following)
            following += 1

    def _prepare(self, file: ReceivedFile) -> Union[_Prepared, list[Issue]]:
        # A workbook kind was sniffed from the content at collection; the checks below
        # verify the structure anyway. Anything else is identified again for its issue.
        kind = file.kind
        if kind not in WORKBOOK_KINDS:
            identity = _identify(file.name, file.content)
            if identity.kind not in WORKBOOK_KINDS:
                refusal = identity.refusal or Refusal(IssueCode.NOT_A_RETURN, "不是单个 Excel 报表文件", _ADVICE_XLSX)
                return [_refusal_issue(file.display, refusal)]
            kind = identity.kind
        if kind == "xls":
            facts = inspect_xls(file.content, self.limits)
            if isinstance(facts, Refusal):
                return [_refusal_issue(file.display, facts)]
            return _Prepared("xls", {}, facts.has_macros)
        facts = inspect_ooxml(file.content, self.limits)
        if isinstance(facts, Refusal):
            return [_refusal_issue(file.display, facts)]
        return _Prepared(facts.kind, facts.sheet_parts, facts.has_macros, facts.reader_content)

    def _finish(self, file: ReceivedFile, ready: _Prepared, outcome: Outcome, limit: float
                ) -> Union[RawWorkbook, list[Issue]]:
        if outcome.status == "ok":
            return _raw_workbook(file, ready, outcome.value)
        return [_failure_issue(file, outcome, limit)]


def read_workbook(file: ReceivedFile, *, timeout: float = 20, memory_mb: int = 512
                  ) -> Union[RawWorkbook, list[Issue]]:
    """Read one received file safely (checks here, parsing in a guarded child process).

    For a batch use `WorkbookReader`, which keeps its worker processes between files.

        >>> result = read_workbook(received)                            # doctest: +SKIP
        >>> result.sheet("填报").value(3, 2) if isinstance(result, RawWorkbook) else result[0].message
    """
    with WorkbookReader(timeout=timeout, memory_mb=memory_mb, workers=1) as reader:
        return reader.read(file)


def _raw_workbook(file: ReceivedFile, ready: _Prepared, parsed: dict[str, Any]) -> RawWorkbook:
    sheets = [RawSheet(name=str(name), state=state, cells=_with_errors(cells, errors),
                       merged=[tuple(m) for m in merged])
              for name, state, cells, merged, errors, _ in parsed["sheets"]]
    uncached = {str(name): [tuple(cell) for cell in cells]
                for name, _, _, _, _, cells in parsed["sheets"] if cells}
    return RawWorkbook(file=file, sheets=sheets, has_macros=ready.has_macros or bool(parsed["macro_sheets"]),
                       uncached_formulas=uncached)


def _with_errors(cells: list[list[Any]], errors: list[tuple[int, int, str]]) -> list[list[Any]]:
    """Put error values (#DIV/0! …, which calamine reads as empty) back into the grid."""
    for row, column, text in errors:
        width = max(len(cells[0]) if cells else 0, column)
        for values in cells:
            values.extend([None] * (width - len(values)))
        while len(cells) < row:
            cells.append([None] * width)
        cells[row - 1][column - 1] = CellError(text)
    return cells


def _failure_issue(file: ReceivedFile, outcome: Outcome, limit: float) -> Issue:
    display = file.display
    if outcome.status == "timeout":
        return _error(IssueCode.UNSAFE_FILE, display,
                      f"文件「{display}」读取超过 {limit:g} 秒仍未完成，为安全起见已停止读取。"
                      "请对方检查文件是否过大或含有异常内容，用 Excel 另存为 .xlsx 后重新发送。")
    if outcome.status == "crashed":
        return _error(IssueCode.UNSAFE_FILE, display,
                      f"文件「{display}」结构异常，读取时耗尽内存或使读取程序异常退出，为安全起见未读取。{_ADVICE_RESAVE}")
    name, text = outcome.value
    if name == "PasswordError":
        return _error(IssueCode.ENCRYPTED_FILE, display, f"文件「{display}」设有打开密码，请取消密码后重新发送。")
    if "#GETTING_DATA" in text:
        return _error(IssueCode.UNREADABLE_FILE, display,
                      f"文件「{display}」中有单元格显示 #GETTING_DATA（数据仍在计算时保存），无法读取。"
                      "请对方等计算完成后重新保存并发送。", f"{name}: {text}")
    if PurePosixPath(file.name.lower()).suffix in (".et", ".ett"):
        return _error(IssueCode.NOT_A_RETURN, display, f"文件「{display}」{_WPS[0]}。{_WPS[1]}", f"{name}: {text}")
    return _error(IssueCode.UNREADABLE_FILE, display,
                  f"文件「{display}」已损坏，无法打开。请对方用 Excel 打开确认无误后，重新导出为 .xlsx 发送。",
                  f"{name}: {text}")
