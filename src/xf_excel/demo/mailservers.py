"""Real mail servers on loopback, for the demo (`xf-excel demo --mail`) and the tests.

- `self_signed_certificate`: a certificate for 127.0.0.1/localhost made on the spot (the
  servers speak TLS only, as the office's must; clients trust this one certificate).
- `SmtpServer`: aiosmtpd (a real SMTP implementation) over implicit TLS or STARTTLS, with
  login required; it keeps what it receives, can refuse chosen recipients or drop the
  connection in the middle of a batch, and hands mail for the office to a callback (the
  demo delivers it into Dovecot).
- `Dovecot`: Debian's Dovecot IMAP server, configured in a temporary folder, run as an
  unprivileged user (the `dovecot` system user when we are root), TLS required.

Never used by the core: only the demo and the test suite start servers.
"""

from __future__ import annotations

import datetime as dt
import getpass
import grp
import imaplib
import ipaddress
import logging
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from ..errors import XfError, require

__all__ = ["self_signed_certificate", "free_port", "SmtpServer", "Received", "Dovecot", "dovecot_binary",
           "DovecotMissing", "append_message"]

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port nobody listens on at this moment (loopback)."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def self_signed_certificate(folder: Path, days: int = 30) -> tuple[Path, Path]:
    """(cert.pem, key.pem) for localhost and 127.0.0.1, valid from yesterday for `days` days."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "xf-excel local test server")])
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address(LOOPBACK))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


def _server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


# ---- SMTP -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Received:
    """One message the SMTP server accepted."""

    sender: str
    recipients: tuple[str, ...]
    content: bytes


@dataclass
class SmtpServer:
    """aiosmtpd on loopback. `security`: "tls" (SMTPS) or "starttls" (required before login).
    `users` maps login to password; mail is accepted only after login. Use as a context
    manager; `received` holds what came in, in order."""

    cert: Path
    key: Path
    users: dict[str, str]
    security: str = "tls"
    port: int = field(default_factory=free_port)
    refuse: set[str] = field(default_factory=set)           # recipients answered with 550
    drop_after: Optional[int] = None                          # drop the connection at the message after this many
    deliver: Optional[Callable[[Received], None]] = None      # called for each message accepted
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._controller = None

    def __enter__(self) -> "SmtpServer":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        controller = require("aiosmtpd.controller", "aiosmtpd", "本地测试邮件服务器（发件）")
        smtp = require("aiosmtpd.smtp", "aiosmtpd", "本地测试邮件服务器（发件）")
        context = _server_context(self.cert, self.key)
        options = dict(authenticator=self._authenticate, auth_required=True, auth_require_tls=True,
                       server_hostname="localhost")
        if self.security == "tls":
            # SMTPS is TLS from the first byte, but aiosmtpd only recognises TLS begun by STARTTLS
            options["auth_require_tls"] = False
            logging.getLogger("mail.log").setLevel(logging.ERROR)     # its warning about exactly that
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
            self._controller = controller.Controller(self, hostname=LOOPBACK, port=self.port, ssl_context=context,
                                                     **options)
        else:
            self._controller = controller.Controller(self, hostname=LOOPBACK, port=self.port, tls_context=context,
                                                     require_starttls=True, **options)
        self._auth_result = smtp.AuthResult
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def messages_to(self, address: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if address in r.recipients]

    # aiosmtpd's handler hooks
    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        login = auth_data.login.decode() if isinstance(auth_data.login, bytes) else str(auth_data.login)
        password = auth_data.password.decode() if isinstance(auth_data.password, bytes) else str(auth_data.password)
        return self._auth_result(success=self.users.get(login) == password and bool(password), handled=False)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            if self.drop_after is not None and len(self.received) == self.drop_after:
                self.drop_after = None               # once: the client reconnects and goes on
                server.transport.close()
                return "421 4.4.2 connection dropped"
            message = Received(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(envelope.original_content
                                                                                   or envelope.content))
            self.received.append(message)
            number = len(self.received)
        if self.deliver is not None:
            self.deliver(message)
        return f"250 2.0.0 Ok: queued as {number:06d}"


# ---- IMAP: Dovecot --------------------------------------------------------------------------------

class DovecotMissing(XfError):
    """Dovecot is not installed (Debian package dovecot-imapd)."""


def dovecot_binary() -> Optional[str]:
    """Path of Debian's dovecot, or None."""
    return shutil.which("dovecot") or next((p for p in ("/usr/sbin/dovecot",) if os.access(p, os.X_OK)), None)


_DOVECOT_CONF = """\
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
protocols = imap
listen = {host}
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = 1
first_valid_gid = 1
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {starttls_port}
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/passwd
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={folder}/home/%u
}}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
}}
"""


@dataclass
class Dovecot:
    """Dovecot in `folder`: implicit TLS on `port`, STARTTLS on `starttls_port`, the `users`'
    mailboxes under `folder`/home. Runs unprivileged: as the `dovecot` system user when
    started by root, else as the current user. Stopped (and its children with it) on exit."""

    folder: Path
    cert: Path
    key: Path
    users: dict[str, str]
    port: int = field(default_factory=free_port)
    starttls_port: int = field(default_factory=free_port)

    def __enter__(self) -> "Dovecot":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, wait: float = 30) -> None:
        binary = dovecot_binary()
        if binary is None:
            raise DovecotMissing("未安装 Dovecot（Debian 软件包 dovecot-imapd）：以 root 运行 ./run test 会安装它")
        user, group = _unprivileged()
        self.folder.mkdir(parents=True, exist_ok=True)
        cert, key = self.folder / "cert.pem", self.folder / "key.pem"
        if self.cert != cert:
            shutil.copyfile(self.cert, cert)
            shutil.copyfile(self.key, key)
        (self.folder / "passwd").write_text("".join(f"{u}:{{PLAIN}}{p}\n" for u, p in self.users.items()),
                                            encoding="utf-8")
        (self.folder / "dovecot.conf").write_text(_DOVECOT_CONF.format(
            folder=self.folder, host=LOOPBACK, cert=cert, key=key, user=user, group=group, port=self.port,
            starttls_port=self.starttls_port), encoding="utf-8")
        (self.folder / "passwd").chmod(0o600)
        key.chmod(0o600)
        if os.geteuid() == 0:
            _chown_tree(self.folder, user, group)
        self._process = subprocess.Popen(
            [binary, "-F", "-c", str(self.folder / "dovecot.conf")], stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, user=user if os.geteuid() == 0 else None,
            group=group if os.geteuid() == 0 else None, preexec_fn=_die_with_parent)
        self._wait_listening(wait)

    def _wait_listening(self, wait: float) -> None:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                error = self._process.stderr.read().decode("utf-8", "replace") if self._process.stderr else ""
                raise XfError(f"Dovecot 未能启动：{error.strip() or self.log()}")
            try:
                with socket.create_connection((LOOPBACK, self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise XfError(f"Dovecot 在 {wait:.0f} 秒内没有开始监听端口 {self.port}")

    def stop(self) -> None:
        process = getattr(self, "_process", None)
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._process = None

    def log(self) -> str:
        path = self.folder / "dovecot.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def _unprivileged() -> tuple[str, str]:
    if os.geteuid() != 0:
        return getpass.getuser(), grp.getgrgid(os.getegid()).gr_name
    try:
        entry = pwd.getpwnam("dovecot")
    except KeyError:
        raise DovecotMissing("找不到 Dovecot 的系统用户 dovecot（软件包 dovecot-core 会创建它）") from None
    return entry.pw_name, grp.getgrgid(entry.pw_gid).gr_name


def _chown_tree(folder: Path, user: str, group: str) -> None:
    for path in [folder, *folder.rglob("*")]:
        shutil.chown(path, user, group)


def _die_with_parent() -> None:
    """Linux: Dovecot's master gets SIGTERM when the process that started it dies (a killed
    test run must not leave a server behind)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def append_message(host: str, port: int, login: str, password: str, content: bytes | list[bytes],
                   context: ssl.SSLContext, folder: str = "INBOX") -> None:
    """Put messages into a mailbox over IMAP, over one connection (how the demo's units' mail
    servers deliver into Dovecot)."""
    from ..intake.mailbox import log_in

    with imaplib.IMAP4_SSL(host, port, ssl_context=context) as imap:
        log_in(imap, login, password)
        for message in content if isinstance(content, list) else [content]:
            imap.append(folder, None, None, message)
        imap.logout()

