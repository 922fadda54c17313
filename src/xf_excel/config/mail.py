"""The office mailbox in config.yaml: servers, TLS, and where the password comes from.

Government mailboxes (政务邮箱) speak IMAP and SMTP. xf-excel fetches returns from one IMAP
folder and sends forms, feedback and reminders over SMTP, both over TLS — implicit TLS or
STARTTLS, never in clear text, and always with the server's certificate checked (`ca_file`
names the office's own certificate authority, or a local server's self-signed certificate).

The password is never in config.yaml or a workbook: it comes from an environment variable
(`password_env`, default `XF_MAIL_PASSWORD`) or a file only its owner can read
(`password_file`), and is read at the moment of connecting::

    >>> settings.password(Path("."))                                   # doctest: +SKIP
    'the secret'
"""

from __future__ import annotations

import os
import re
import socket
import ssl
import stat
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..errors import MailError

__all__ = ["MailSettings", "ImapSettings", "SmtpSettings", "Contact", "PASSWORD_ENV", "valid_address",
           "connection_failure"]

PASSWORD_ENV = "XF_MAIL_PASSWORD"
_ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\".]+$")
_SECRET_KEYS = ("password", "passwd", "pass", "secret")


def valid_address(text: str) -> bool:
    """A plain mailbox address (user@domain.tld): what a contact and the office address must be."""
    return bool(_ADDRESS.match(text.strip()))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Contact(_Model):
    """A reporting unit's mailbox and contact person (config.yaml `contacts:`, by unit code)."""

    email: list[str] = Field(description="The unit's mailbox(es); forms and reminders go to all, returns are expected from them.")
    person: str = Field("", description="Contact person (联系人), named in the mails' greeting.")
    phone: str = Field("", description="Contact phone.")

    @field_validator("email", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("email")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        wrong = [a for a in value if not valid_address(a)]
        if wrong:
            raise ValueError(f"邮箱地址格式不对：{'、'.join(wrong)}")
        if not value:
            raise ValueError("至少要有一个邮箱地址")
        return [a.strip() for a in value]


class _Server(_Model):
    host: str = Field(description="Server name or address, e.g. imap.example.gov.cn.")
    port: Optional[int] = Field(None, description="Port (default: 993/465 for tls, 143/587 for starttls).")
    security: Literal["tls", "starttls"] = Field(
        "tls", description="tls: TLS from the first byte; starttls: plain connection upgraded before login (required).")


class ImapSettings(_Server):
    folder: str = Field("INBOX", description="The folder returns arrive in.")
    taken_folder: Optional[str] = Field(
        None, description="Move each message taken in to this folder (created when missing); default: leave it, flagged.")

    @property
    def real_port(self) -> int:
        return self.port or (993 if self.security == "tls" else 143)


class SmtpSettings(_Server):
    @property
    def real_port(self) -> int:
        return self.port or (465 if self.security == "tls" else 587)


class MailSettings(_Model):
    """config.yaml `mail:` — the office mailbox returns arrive in and mail goes out from."""

    address: str = Field(description="The office mailbox, e.g. xfyb@example.gov.cn: the sender of what we send.")
    name: str = Field("", description="Display name of the sender (default: the campaign's office).")
    user: Optional[str] = Field(None, description="Login name on both servers (default: the address).")
    password_env: str = Field(PASSWORD_ENV, description="Environment variable holding the password.")
    password_file: Optional[str] = Field(
        None, description="A file holding the password, readable by its owner only (used instead of password_env).")
    ca_file: Optional[str] = Field(
        None, description="PEM file of the certificate authority (or self-signed certificate) the servers use; default: the system's.")
    timeout: float = Field(60, gt=0, description="Seconds to wait for a server before giving up.")
    imap: Optional[ImapSettings] = Field(None, description="Where returns are fetched from (IMAP).")
    smtp: Optional[SmtpSettings] = Field(None, description="Where mail is sent through (SMTP).")
    fetch_on_consolidate: bool = Field(True, description="The 汇总 button fetches new mail before it reads the inbox folder.")

    @model_validator(mode="before")
    @classmethod
    def _no_password_here(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in _SECRET_KEYS:
                if key in data:
                    raise ValueError(f"邮箱密码不能写在配置文件中（{key}）；请设置环境变量 {PASSWORD_ENV}，"
                                     "或用 password_file 指定只有本人可读的密码文件")
        return data

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        if not valid_address(value):
            raise ValueError(f"邮箱地址格式不对：{value}")
        return value.strip()

    @property
    def login(self) -> str:
        return self.user or self.address

    def password(self, base: Path) -> str:
        """The password, from `password_file` (relative to `base`) or the environment; a
        `MailError` that says how to provide it otherwise."""
        if self.password_file:
            return _read_password_file(_resolve(self.password_file, base))
        value = os.environ.get(self.password_env, "")
        if not value:
            raise MailError(f"未提供邮箱 {self.login} 的密码：请设置环境变量 {self.password_env}，"
                            "或在 config.yaml 的 mail.password_file 中指定只有本人可读的密码文件")
        return value

    def tls_context(self, base: Path) -> ssl.SSLContext:
        """Certificate and host name always checked; TLS 1.2 at least."""
        cafile = _resolve(self.ca_file, base) if self.ca_file else None
        if cafile is not None and not cafile.is_file():
            raise MailError(f"找不到邮件服务器的证书文件 {cafile}（mail.ca_file）")
        try:
            context = ssl.create_default_context(cafile=str(cafile) if cafile else None)
        except ssl.SSLError as error:
            raise MailError(f"证书文件 {cafile} 无法使用（{error.reason or error}）") from None
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context


def _resolve(name: str, base: Path) -> Path:
    path = Path(os.path.expanduser(name))
    return path if path.is_absolute() else base / path


def _read_password_file(path: Path) -> str:
    try:
        info = path.stat()
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise MailError(f"无法读取密码文件 {path}（{error.strerror or error}）") from None
    if os.name == "posix" and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise MailError(f"密码文件 {path} 其他用户也能读取；请执行 chmod 600 {path} 后重试")
    password = text.strip("\r\n")
    if not password:
        raise MailError(f"密码文件 {path} 是空的")
    return password


def connection_failure(error: BaseException, role: str, where: str) -> MailError:
    """A failed connection to a mail server (`role`: 收件服务器/发件服务器) in Chinese, with what to check."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return MailError(f"{role} {where} 的证书无法验证（{error.verify_message or error.reason}）；如服务器使用本单位"
                         "自己的证书，请在 config.yaml 的 mail.ca_file 中指定证书文件")
    if isinstance(error, ssl.SSLError):
        return MailError(f"与{role} {where} 建立加密连接失败（{error.reason or error}）；请核对端口和 security 设置"
                         "（tls：993/465 端口；starttls：143/587 端口）")
    if isinstance(error, ConnectionRefusedError):
        return MailError(f"无法连接{role} {where}：连接被拒绝（服务器未运行，或端口不对）；请核对服务器地址和端口")
    if isinstance(error, socket.gaierror):
        return MailError(f"找不到{role} {where}：请核对服务器地址和本机网络")
    if isinstance(error, TimeoutError):
        return MailError(f"连接{role} {where} 超时：请检查网络，或稍后再试")
    if isinstance(error, OSError):
        return MailError(f"与{role} {where} 的连接出错（{error.strerror or type(error).__name__}）；请检查网络后重试")
    return MailError(f"{role} {where} 返回错误（{' '.join(str(error).split())}）")
