"""Inbox files → received files: every candidate return in the inbox, its mails and zips.

`collect_inbox(inbox)` walks the inbox folder (sorted, sub-folders included), opens mails
(.eml, .msg) and zip archives (nested to a bounded depth), and returns one `ReceivedFile`
per candidate file, its kind sniffed from the content (`sniff`). Files that are not returns
(PDF, images, Word, WPS .et …) are returned too, as kind "other", so that they are archived
like everything received; reading them (`workbooks`) gives them their issue. The issues
returned here are about what is *not* in the file list: temp/hidden/system files skipped (a
feedback workbook of ours is not skipped by its name: corrected and sent back, it is a
return), broken mails and archives, mails without attachments. A document package folder
(Apple Numbers saves `x.numbers/` as a folder) is one file: its members, zipped.

    >>> files, skipped = collect_inbox(Path("inbox/第2期"))            # doctest: +SKIP
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
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Iterator, Optional

from ..errors import IntakeError
from ..filenames import safe_filename as sanitize_filename
from ..issues import Issue, IssueCode, Severity
from .records import ReceivedFile
from .safeguard import Refusal, open_zip, unpack_zip
from .sniff import ARCHIVE_LIMITS, WORKBOOK_KINDS, file_issue, identify, refusal_issue

__all__ = ["collect_inbox", "collect_mails", "collect_uploads", "sanitize_filename", "MAX_FILE_BYTES", "MAX_DEPTH",
           "SEP", "PACKAGE_SUFFIXES"]

PACKAGE_SUFFIXES = (".numbers", ".pages", ".key")   # folders macOS shows as one document
MAX_FILE_BYTES = 50 << 20              # a file (or an attachment) larger than this is not read
MAX_DEPTH = 3                          # mail › zip › zip › file, no deeper
SEP = " › "


def _skip_reason(name: str) -> Optional[tuple[str, str]]:
    """(what kind of file, why it is not a return) for a file of this name, or None."""
    if name.startswith("~$"):
        return "临时文件", "这是 Excel 打开文件时留下的临时文件（~$ 开头），不是报表"
    if name.startswith(".~lock.") or (name.startswith("~") and name.lower().endswith(".tmp")):
        return "临时文件", "这是办公软件打开文件时留下的临时文件，不是报表"
    if name.startswith("."):
        return "隐藏文件", "这是隐藏文件，不是报表"
    if name.lower() in ("thumbs.db", "desktop.ini"):
        return "系统文件", "这是 Windows 系统文件，不是报表"
    return None


@dataclass(frozen=True)
class _Origin:
    """Where the files being taken out of something came from."""

    path: Optional[Path]
    container: str = ""
    sender: str = ""
    subject: str = ""
    received_at: Optional[str] = None


class _Collector:
    def __init__(self, inbox: Path, take: frozenset[str] = frozenset()):
        self.inbox = inbox
        self.files: list[ReceivedFile] = []
        self.issues: list[Issue] = []
        self.displays: set[str] = set()
        self.take_anyway = take

    def skip_reason(self, display: str, name: str) -> Optional[tuple[str, str]]:
        """Why this file is left out, unless the user named it to be taken in anyway."""
        if display in self.take_anyway or name in self.take_anyway:
            return None
        return _skip_reason(name)

    def skip(self, display: str, reason: tuple[str, str]) -> None:
        """Leave a file out: the issue says why; its value is the kind of file (for counts)."""
        kind, why = reason
        self.issues.append(Issue.of(IssueCode.SKIPPED_FILE, Severity.WARNING, file=display, value=kind, reason=why))

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
        identity = identify(name, content)
        if identity.kind in ("eml", "msg", "zip"):
            if depth >= MAX_DEPTH:
                self.issues.append(file_issue(IssueCode.UNSAFE_FILE, display,
                                              f"嵌套层数过多（邮件或压缩包套了 {depth} 层以上），未打开",
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
            reason = self.skip_reason(f"{container}{SEP}{name}", name)
            if reason:
                self.skip(f"{container}{SEP}{name}", reason)
                continue
            self.take(name, f"{container}{SEP}{name}", data, origin, depth)


def _too_big(display: str, size: int) -> Issue:
    return file_issue(IssueCode.UNSAFE_FILE, display, f"大小 {size >> 20} MB，超过 {MAX_FILE_BYTES >> 20} MB 上限，未读取",
                      "报表文件通常不到 1 MB，请确认对方是否发错了文件。")


def collect_inbox(inbox: Path, take: Iterable[str] = ()) -> tuple[list[ReceivedFile], list[Issue]]:
    """Every candidate return in `inbox` and its sub-folders, mails and zip archives.

    `take` names files (as displayed, or by file name) to take in even though their name says
    skip them (a temp or hidden file the user wants read).

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
    collector = _Collector(inbox, frozenset(Path(t).as_posix().strip("/") for t in take))
    for path in _walk(inbox, collector):
        display = path.relative_to(inbox).as_posix()
        try:
            size = _size(path)
            content = _read(path) if size <= MAX_FILE_BYTES else None
        except OSError as error:
            collector.issues.append(file_issue(IssueCode.UNREADABLE_FILE, display,
                                               "无法读取，可能正被其他程序占用", "请关闭打开它的程序后重新汇总。",
                                               details=f"{type(error).__name__}: {error.strerror}"))
            continue
        if content is None:
            collector.issues.append(_too_big(collector.unique(display), size))
            continue
        origin = _Origin(path=path, received_at=_mtime(path))
        collector.take(sanitize_filename(path.name), display, content, origin, depth=0)
    return collector.files, collector.issues


def collect_mails(mails: list[tuple[str, str, bytes]]) -> tuple[list[ReceivedFile], list[Issue]]:
    """Messages fetched from the office mailbox, each (name, display, raw bytes): taken exactly
    as the same message saved as an .eml file in the inbox (the same opener, the same limits).
    Returns (files, issues) as `collect_inbox` does."""
    collector = _Collector(Path("."))
    for name, display, content in mails:
        collector.take(name, display, content, _Origin(path=None), depth=0)
    return collector.files, collector.issues


def collect_uploads(uploads: list[tuple[str, bytes]], received_at: Optional[str] = None
                    ) -> tuple[list[ReceivedFile], list[Issue]]:
    """The same as `collect_inbox` for files handed over directly (a browser upload): each
    (name as the sender gave it, content) is taken exactly as an inbox file of that name would
    be — skipped, opened (mails, zips), size-limited the same way. The display keeps the name
    as given (only control characters dropped): it is shown, never used as a path.

        >>> files, issues = collect_uploads([("第2期_南宁市_武鸣区.xlsx", data)])   # doctest: +SKIP
    """
    collector = _Collector(Path("."))
    origin = _Origin(path=None, received_at=received_at or dt.datetime.now().isoformat(timespec="seconds"))
    for raw_name, content in uploads:
        name = sanitize_filename(raw_name)
        display = "".join(ch for ch in str(raw_name) if ch.isprintable()) or name
        reason = _skip_reason(name)
        if reason:
            collector.skip(collector.unique(display), reason)
            continue
        collector.take(name, display, content, origin, depth=0)
    return collector.files, collector.issues


def _walk(folder: Path, collector: _Collector) -> Iterator[Path]:
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        display = entry.relative_to(collector.inbox).as_posix()
        reason = (("快捷方式", "这是快捷方式（符号链接），不是报表") if entry.is_symlink()
                  else collector.skip_reason(display, entry.name))
        if reason:
            collector.skip(display, reason)
        elif entry.is_dir() and not _is_package(entry):
            yield from _walk(entry, collector)
        elif entry.is_file() or entry.is_dir():
            yield entry


def _is_package(folder: Path) -> bool:
    return folder.suffix.lower() in PACKAGE_SUFFIXES


def _package_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in _package_files(path))
    return path.stat().st_size


def _read(path: Path) -> bytes:
    """A file's bytes; a package folder's members as one zip (so it is archived and judged as one file)."""
    if not path.is_dir():
        return path.read_bytes()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for member in _package_files(path):
            package.write(member, member.relative_to(path).as_posix())
    return out.getvalue()


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
        collector.issues.append(file_issue(IssueCode.UNREADABLE_FILE, display, "已损坏，无法打开", "请对方重新发送。",
                                           what="邮件", details=f"{type(error).__name__}: {error}"))
        return
    _take_mail_parts(collector, display, parts, mail, depth)


def _take_mail_parts(collector: _Collector, display: str, parts: list[tuple[str, bytes]], mail: _Origin,
                     depth: int) -> None:
    if not parts:
        who = f"（发件人：{mail.sender}，主题：{mail.subject}）" if mail.sender or mail.subject else ""
        collector.issues.append(file_issue(IssueCode.NOT_A_RETURN, display, f"{who}没有附件",
                                           "请对方把填好的报表作为附件重新发送。", what="邮件"))
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
        collector.issues.append(file_issue(IssueCode.UNREADABLE_FILE, display, "已损坏，无法打开", "请对方重新发送。",
                                           what="邮件", details=f"{type(error).__name__}: {error}"))
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
        collector.issues.append(refusal_issue(display, members))
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
