"""Mail out: one message per unit (forms, feedback, reminders), composed and sent over SMTP.

`compose` writes a message as a Chinese mail client would: From the office mailbox, To the
unit's registered addresses, a subject and body in Chinese, the workbook attached under its
Chinese name, a Message-ID made from what the message is (so a message sent again after a
crash carries the same Message-ID). `SmtpSession` sends them over one TLS connection
(implicit TLS or STARTTLS, never clear text), logging in with the office's password; it
reconnects once when the server drops the connection, and turns each server answer into an
outcome: accepted, refused (with the server's words), or failed.

    >>> with SmtpSession(settings, password, context) as smtp:       # doctest: +SKIP
    ...     status, reply = smtp.send(message)
    >>> status, reply
    ('sent', '250 2.0.0 Ok: queued as 4F2A1')
"""

from __future__ import annotations

import base64
import datetime as dt
import email.policy
import email.utils
import hashlib
import smtplib
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path
from typing import Optional

from ..config import Config, MailSettings, Unit
from ..config.mail import connection_failure
from ..errors import MailError
from ..wording import fmt_date_full, fmt_deadline

__all__ = ["Outgoing", "compose", "SmtpSession", "forms_text", "greeting", "message_id_for", "KIND_NAMES"]

KIND_NAMES = {"forms": "填报表", "feedback": "退回", "reminders": "催报"}
_XLSX = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@dataclass(frozen=True)
class Outgoing:
    """One message to one unit: what it is (`kind`, and the `key` that makes it unique in the
    send log), to whom, the Chinese text, and the workbook to attach."""

    unit: Unit
    kind: str
    key: str
    recipients: tuple[str, ...]
    subject: str
    body: str
    attachment: Optional[Path] = None


def message_id_for(outgoing: Outgoing, period: int, domain: str) -> str:
    """The same message (same key) always gets the same Message-ID."""
    digest = hashlib.sha256(f"{period}|{outgoing.kind}|{outgoing.key}".encode()).hexdigest()[:20]
    return f"<xf-{outgoing.kind}-{period}-{digest}@{domain}>"


def compose(settings: MailSettings, sender_name: str, outgoing: Outgoing, message_id: str,
            when: Optional[dt.datetime] = None) -> EmailMessage:
    """The message as it goes out (headers encoded for any mail server: RFC 2047 / 2231)."""
    message = EmailMessage(policy=email.policy.SMTP)
    user, _, domain = settings.address.partition("@")
    message["From"] = Address(sender_name, user, domain)
    message["To"] = ", ".join(outgoing.recipients)
    message["Subject"] = outgoing.subject
    message["Date"] = email.utils.format_datetime((when or dt.datetime.now()).astimezone())
    message["Message-ID"] = message_id
    message["X-Mailer"] = "xf-excel"
    message.set_content(outgoing.body, charset="utf-8")
    if outgoing.attachment is not None:
        # the Chinese file name is written the RFC 2231 way (filename*=utf-8''…), which current
        # mail clients and government webmail read
        message.add_attachment(outgoing.attachment.read_bytes(), maintype=_XLSX[0], subtype=_XLSX[1],
                               filename=outgoing.attachment.name)
    return message


# ---- the texts ---------------------------------------------------------------------------------

def greeting(config: Config, unit: Unit) -> str:
    """南宁市武鸣区 张三同志： — the unit, and its contact person when one is registered."""
    contact = config.contacts.get(unit.code)
    person = f" {contact.person}同志" if contact and contact.person else ""
    return f"{unit.full_name}{person}："


def forms_text(config: Config, unit: Unit, period: int) -> tuple[str, str]:
    """(subject, body) of the mail that sends a unit its return form."""
    camp, p = config.campaign, config.period(period)
    subject = f"【填报表】{unit.full_name}第{period}期{camp.form_title}（{fmt_deadline(p.deadline)}前报送）"
    prefilled = "，表中已填好上期累计数" if period != config.periods[0].number else ""
    body = (f"{greeting(config, unit)}\n\n"
            f"    现将第{period}期{camp.form_title}（数据截至{fmt_date_full(p.cutoff)}）发给你们{prefilled}。"
            f"请在附件表格中填写截至本期的累计数，于{fmt_deadline(p.deadline)}前将填好的表格作为附件回复本邮件。"
            "请直接在附件表格上填写，不要改动表格结构、指标名称和单位代码。\n\n"
            f"{_sign_off(config)}\n")
    return subject, body


def _sign_off(config: Config) -> str:
    camp = config.campaign
    return f"联系方式：{camp.contact}\n{camp.office}" if camp.contact else camp.office


# ---- SMTP ---------------------------------------------------------------------------------------

class SmtpSession:
    """One logged-in SMTP connection for a batch; reconnects once if the server drops it."""

    def __init__(self, settings: MailSettings, password: str, context: ssl.SSLContext):
        if settings.smtp is None:
            raise MailError("config.yaml 的 mail 中没有 smtp 设置（发件服务器），无法发送邮件")
        self.settings, self.server = settings, settings.smtp
        self.password, self.context = password, context
        self.smtp: Optional[smtplib.SMTP] = None

    def __enter__(self) -> "SmtpSession":
        self.connect()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def where(self) -> str:
        return f"{self.server.host}:{self.server.real_port}"

    def connect(self) -> None:
        """Connect, secure the connection, log in; a `MailError` in Chinese when any step fails."""
        host, port, timeout = self.server.host, self.server.real_port, self.settings.timeout
        try:
            if self.server.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=self.context)
            else:
                smtp = smtplib.SMTP(host, port, timeout=timeout)
                smtp.ehlo()
                if not smtp.has_extn("starttls"):
                    smtp.close()
                    raise MailError(f"发件服务器 {self.where} 不支持 STARTTLS 加密，为保护密码，未发送任何邮件；"
                                    "请改用 security: tls 或询问邮箱管理员")
                smtp.starttls(context=self.context)
            smtp.ehlo()
            self._login(smtp)
        except MailError:
            raise
        except (OSError, smtplib.SMTPException) as error:
            raise connection_failure(error, "发件服务器", self.where) from None
        self.smtp = smtp

    def _login(self, smtp: smtplib.SMTP) -> None:
        try:
            if f"{self.settings.login}{self.password}".isascii():
                smtp.login(self.settings.login, self.password)
            else:
                _login_utf8(smtp, self.settings.login, self.password)
        except smtplib.SMTPAuthenticationError as error:
            smtp.close()
            raise MailError(f"发件服务器 {self.where} 拒绝登录（{_reply(error.smtp_code, error.smtp_error)}）："
                            f"邮箱 {self.settings.login} 的用户名或密码不对，未发送任何邮件") from None
        except smtplib.SMTPNotSupportedError:
            smtp.close()
            raise MailError(f"发件服务器 {self.where} 不接受登录（不支持 AUTH），未发送任何邮件；请核对服务器地址和端口") from None

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()
            self.smtp = None

    def send(self, message: EmailMessage, recipients: tuple[str, ...]) -> tuple[str, str]:
        """('sent' | 'refused', the server's answer). A dropped connection is reconnected
        once and the message sent again; a second drop raises `MailError` (the rest of the
        batch is left unsent, to be sent by a rerun)."""
        try:
            return self._transaction(message, recipients)
        except (smtplib.SMTPServerDisconnected, OSError):
            self.close()
            self.connect()
        try:
            return self._transaction(message, recipients)
        except (smtplib.SMTPServerDisconnected, OSError) as error:
            self.close()
            raise MailError(f"与发件服务器 {self.where} 的连接再次中断（{type(error).__name__}），其余邮件未发送；"
                            "稍后重新运行即可补发未发出的邮件") from None

    def _transaction(self, message: EmailMessage, recipients: tuple[str, ...]) -> tuple[str, str]:
        smtp = self.smtp
        if smtp is None:
            raise smtplib.SMTPServerDisconnected("not connected")
        code, answer = smtp.mail(self.settings.address)
        if code != 250:
            smtp.rset()
            raise MailError(f"发件服务器 {self.where} 拒绝以 {self.settings.address} 发信（{_reply(code, answer)}），"
                            "未继续发送")
        refused = []
        for address in recipients:
            code, answer = smtp.rcpt(address)
            if code not in (250, 251):
                refused.append(f"{address}：{_reply(code, answer)}")
        if len(refused) == len(recipients):
            smtp.rset()
            return "refused", "；".join(refused)
        try:
            code, answer = smtp.data(message.as_bytes())
        except smtplib.SMTPDataError as error:         # the server refused the DATA command itself
            code, answer = error.smtp_code, error.smtp_error
        if code != 250:
            smtp.rset()
            return "refused", _reply(code, answer)
        accepted = _reply(code, answer)
        return "sent", accepted + (f"（其中被拒收：{'；'.join(refused)}）" if refused else "")


def _login_utf8(smtp: smtplib.SMTP, login: str, password: str) -> None:
    """AUTH PLAIN with UTF-8 (RFC 4616): smtplib's login takes ASCII only, and a password
    with a Chinese or full-width character is a password like any other."""
    if not smtp.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("AUTH")
    token = base64.b64encode(f"\0{login}\0{password}".encode("utf-8")).decode("ascii")
    code, answer = smtp.docmd("AUTH", f"PLAIN {token}")
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, answer)


def _reply(code: int, answer: bytes | str) -> str:
    text = answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)
    return f"{code} {' '.join(text.split())}"
