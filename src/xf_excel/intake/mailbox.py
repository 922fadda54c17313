"""Mail in: the office's IMAP folder, read over TLS, each new message handed on whole.

`Mailbox` logs in (implicit TLS, or STARTTLS required before login), selects the folder
returns arrive in, lists the messages not yet taken (those without our keyword), fetches
each without marking it read (`BODY.PEEK[]`: staff still see it as new in their mail
client), and, once the message has been taken in, marks it with the keyword `XfExcelTaken`
— or moves it to `taken_folder` when one is configured. A message too big to take is not
even downloaded. What becomes of the bytes (archived first, then read exactly as a saved
.eml) is the pipeline's business, not this module's.

    >>> with Mailbox(settings, password, context) as box:             # doctest: +SKIP
    ...     for uid in box.new_uids():
    ...         content = box.fetch(uid)
"""

from __future__ import annotations

import base64
import imaplib
import re
import ssl
from dataclasses import dataclass
from typing import Optional

from ..config import MailSettings
from ..config.mail import connection_failure
from ..errors import MailError

__all__ = ["Mailbox", "Envelope", "TAKEN_KEYWORD", "imap_utf7", "log_in"]

TAKEN_KEYWORD = "XfExcelTaken"
_BATCH = 200                          # UIDs per FETCH command (bounded command lines)


@dataclass(frozen=True)
class Envelope:
    """What the server says about a message before it is downloaded."""

    uid: int
    size: int
    message_id: str


class Mailbox:
    """One logged-in IMAP session on the office's folder (`settings.imap.folder`)."""

    def __init__(self, settings: MailSettings, password: str, context: ssl.SSLContext):
        if settings.imap is None:
            raise MailError("config.yaml 的 mail 中没有 imap 设置（收件服务器），无法收取邮件")
        self.settings, self.server = settings, settings.imap
        self.password, self.context = password, context
        self.imap: Optional[imaplib.IMAP4] = None
        self.keywords = True          # the server keeps our keyword (PERMANENTFLAGS \*)

    @property
    def where(self) -> str:
        return f"{self.server.host}:{self.server.real_port}"

    @property
    def label(self) -> str:
        """login@host/folder: how reports and the archive name this mailbox."""
        return f"{self.settings.login}@{self.server.host}/{self.server.folder}"

    def __enter__(self) -> "Mailbox":
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def open(self) -> None:
        host, port, timeout = self.server.host, self.server.real_port, self.settings.timeout
        try:
            if self.server.security == "tls":
                imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(host, port, ssl_context=self.context, timeout=timeout)
            else:
                imap = imaplib.IMAP4(host, port, timeout=timeout)
                if "STARTTLS" not in imap.capabilities:
                    imap.shutdown()
                    raise MailError(f"收件服务器 {self.where} 不支持 STARTTLS 加密，为保护密码，未登录；"
                                    "请改用 security: tls 或询问邮箱管理员")
                imap.starttls(ssl_context=self.context)
        except MailError:
            raise
        except (OSError, imaplib.IMAP4.error) as error:
            raise connection_failure(error, "收件服务器", self.where) from None
        self.imap = imap
        self._login()
        self._select()

    def _login(self) -> None:
        login = self.settings.login
        try:
            log_in(self.imap, login, self.password)
        except imaplib.IMAP4.error as error:
            self.close()
            raise MailError(f"收件服务器 {self.where} 拒绝登录（{_said(error)}）：邮箱 {login} 的用户名或密码不对，"
                            "未收取任何邮件") from None
        except OSError as error:
            self.close()
            raise connection_failure(error, "收件服务器", self.where) from None

    def _select(self) -> None:
        folder = self.server.folder
        status, _ = self._call("select", _quoted(imap_utf7(folder)))
        if status != "OK":
            raise MailError(f"邮箱 {self.settings.login} 中没有文件夹“{folder}”（mail.imap.folder）；请核对文件夹名称")
        flags = b" ".join(self.imap.untagged_responses.get("PERMANENTFLAGS", [b""]) or [b""])
        self.keywords = b"\\*" in flags

    def close(self) -> None:
        if self.imap is not None:
            try:
                self.imap.logout()
            except (OSError, imaplib.IMAP4.error):
                pass
            self.imap = None

    # ---- reading ------------------------------------------------------------------------------
    def new_uids(self, also: list[int] = ()) -> list[int]:
        """UIDs of the messages not yet marked as taken (all of them, where the server keeps
        no keywords: the archive then tells what was taken), and those of `also` still in the
        folder (marked, but to be taken again: their intake was withdrawn)."""
        found = set(self._search("UNKEYWORD", TAKEN_KEYWORD) if self.keywords else self._search("ALL"))
        if also:
            found |= set(self._search("UID", ",".join(str(u) for u in also)))
        return sorted(found)

    def _search(self, *criteria: str) -> list[int]:
        status, data = self._call("uid", "SEARCH", *criteria)
        if status != "OK":
            raise MailError(f"收件服务器 {self.where} 无法列出邮件（{_text(data)}）")
        return [int(u) for u in b" ".join(d for d in data if d).split()]

    def envelopes(self, uids: list[int]) -> list[Envelope]:
        """Size and Message-ID of each message, without downloading it."""
        found: list[Envelope] = []
        for start in range(0, len(uids), _BATCH):
            chunk = ",".join(str(u) for u in uids[start:start + _BATCH])
            status, data = self._call("uid", "FETCH", chunk, "(RFC822.SIZE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            if status != "OK":
                raise MailError(f"收件服务器 {self.where} 无法读取邮件信息（{_text(data)}）")
            found += [_envelope(item) for item in data if isinstance(item, tuple)]
        return sorted(found, key=lambda e: e.uid)

    def fetch(self, uid: int) -> bytes:
        """The whole message, as the server keeps it (not marked read)."""
        status, data = self._call("uid", "FETCH", str(uid), "(BODY.PEEK[])")
        parts = [item[1] for item in data if isinstance(item, tuple)] if status == "OK" else []
        if not parts:
            raise MailError(f"收件服务器 {self.where} 未能给出第 {uid} 号邮件（{_text(data)}）")
        return parts[0]

    # ---- marking ------------------------------------------------------------------------------
    def mark_taken(self, uid: int) -> None:
        """Flag the message taken (and move it to `taken_folder` when one is set)."""
        if self.keywords:
            self._call("uid", "STORE", str(uid), "+FLAGS", f"({TAKEN_KEYWORD})")
        target = self.server.taken_folder
        if target:
            self._move(uid, target)

    def _move(self, uid: int, target: str) -> None:
        name = _quoted(imap_utf7(target))
        self._call("create", name)                      # NO when it exists: fine
        if "MOVE" in self.imap.capabilities:
            status, data = self._call("uid", "MOVE", str(uid), name)
        else:
            status, data = self._call("uid", "COPY", str(uid), name)
            if status == "OK":
                self._call("uid", "STORE", str(uid), "+FLAGS", "(\\Deleted)")
                self._call("expunge")
        if status != "OK":
            raise MailError(f"无法把第 {uid} 号邮件移到文件夹“{target}”（{_text(data)}）")

    def _call(self, command: str, *args: str):
        try:
            return getattr(self.imap, command)(*args)
        except imaplib.IMAP4.abort as error:
            raise MailError(f"与收件服务器 {self.where} 的连接中断（{_said(error)}）；已收取的邮件不受影响，"
                            "请稍后重新收取") from None
        except imaplib.IMAP4.error as error:
            return "NO", [str(error).encode()]
        except OSError as error:
            raise connection_failure(error, "收件服务器", self.where) from None


def log_in(imap: imaplib.IMAP4, login: str, password: str) -> None:
    """LOGIN, or AUTHENTICATE PLAIN (UTF-8, RFC 4616) for a name or password that is not ASCII,
    which imaplib's LOGIN cannot send."""
    if f"{login}{password}".isascii():
        imap.login(login, password)
    else:
        imap.authenticate("PLAIN", lambda _: f"\0{login}\0{password}".encode("utf-8"))


def _envelope(item: tuple) -> Envelope:
    head, body = item[0].decode("ascii", "replace"), item[1] or b""
    uid = int(re.search(r"UID (\d+)", head).group(1))
    size = int(re.search(r"RFC822\.SIZE (\d+)", head).group(1))
    found = re.search(rb"(?im)^message-id:\s*(<[^>\r\n]*>|\S+)", body)
    return Envelope(uid=uid, size=size, message_id=found.group(1).decode("ascii", "replace") if found else "")


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _said(error: BaseException) -> str:
    return " ".join(str(error).strip("b'\"").split()) or type(error).__name__


def _text(data) -> str:
    return " ".join(d.decode("utf-8", "replace") if isinstance(d, bytes) else str(d) for d in data or [] if d)


def imap_utf7(name: str) -> str:
    """A folder name in IMAP's modified UTF-7 (RFC 3501 5.1.3): 已收取 → &XfJT0ZBn-."""
    out, pending = [], []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode("ascii").rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)
