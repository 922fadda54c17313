"""Who may use the console, and the headers every page carries.

The rules (README, "The browser console"):
- a client on this machine (loopback) may use the console without signing in — but only when
  it names the server by a loopback name (`Host: 127.0.0.1:8000`, `localhost`), so that a web
  page elsewhere cannot reach it through a DNS name it points at 127.0.0.1 (DNS rebinding);
- every other client signs in with the server token (the one RunServerPython uses:
  `XF_SERVER_TOKEN` or `--token-file`); without a token the server serves this machine only;
- every POST carries the session's CSRF token (a form field or the `X-CSRF-Token` header),
  and is refused when the browser says it comes from another site (`Origin`, `Sec-Fetch-Site`);
  the session cookie is HttpOnly and SameSite=Strict, so another site's form does not even
  carry it;
- every response carries a strict Content-Security-Policy (scripts, styles and images from
  this server only, no inline script, no framing) besides Jinja2's escaping of every value.

Sessions live in memory: restarting the server signs everyone out, which is what an office
server wants. One token for the office (rather than per-user accounts) because the office is
2–3 people who already share it for the workbook's buttons; the log names the client address.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import urlsplit

from fastapi import Request

from ..excel.server import is_loopback

__all__ = ["Session", "Sessions", "Access", "SESSION_COOKIE", "CSRF_FIELD", "CSRF_HEADER", "SECURITY_HEADERS",
           "host_is_loopback", "token_matches", "cross_site", "csrf_ok"]

SESSION_COOKIE = "xf_session"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
SESSION_IDLE_SECONDS = 12 * 3600
MAX_SESSIONS = 2000
MAX_FAILED_LOGINS = 10              # per client address, within FAILED_LOGIN_WINDOW: then refused for the window
FAILED_LOGIN_WINDOW = 600

SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass
class Session:
    """One browser: its CSRF token, and whether it signed in with the server token."""

    id: str
    csrf: str
    signed_in: bool = False
    seen: float = field(default_factory=time.monotonic)


class Sessions:
    """Sessions by cookie value, forgotten after SESSION_IDLE_SECONDS without a request."""

    def __init__(self) -> None:
        self._by_id: dict[str, Session] = {}
        self._failures: dict[str, list[float]] = {}
        self._guard = threading.Lock()

    def get(self, session_id: Optional[str]) -> Optional[Session]:
        now = time.monotonic()
        with self._guard:
            session = self._by_id.get(session_id or "")
            if session is None or now - session.seen > SESSION_IDLE_SECONDS:
                self._by_id.pop(session_id or "", None)
                return None
            session.seen = now
            return session

    def new(self, signed_in: bool = False) -> Session:
        session = Session(id=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32), signed_in=signed_in)
        with self._guard:
            if len(self._by_id) >= MAX_SESSIONS:           # browsers that never came back: forget the idle ones
                now = time.monotonic()
                self._by_id = {k: v for k, v in self._by_id.items() if now - v.seen < 600 or v.signed_in}
            self._by_id[session.id] = session
        return session

    def drop(self, session: Session) -> None:
        with self._guard:
            self._by_id.pop(session.id, None)

    def login_blocked(self, client: str) -> bool:
        """Too many wrong tokens from this address lately."""
        now = time.monotonic()
        with self._guard:
            recent = [t for t in self._failures.get(client, []) if now - t < FAILED_LOGIN_WINDOW]
            self._failures[client] = recent
            return len(recent) >= MAX_FAILED_LOGINS

    def login_failed(self, client: str) -> None:
        with self._guard:
            self._failures.setdefault(client, []).append(time.monotonic())


def host_is_loopback(host_header: str) -> bool:
    """`Host: 127.0.0.1:8000`, `localhost`, `[::1]:8000` → True."""
    name = urlsplit(f"//{host_header}").hostname or ""
    return is_loopback(name)


@dataclass
class Access:
    """What the console knows about a request before it answers it."""

    client: str
    local: bool                       # from this machine, naming it by a loopback name
    session: Optional[Session]
    login_local: bool = False         # this machine signs in too (a shared PC)

    @classmethod
    def of(cls, request: Request, sessions: Sessions, login_local: bool = False) -> "Access":
        client = request.client.host if request.client else ""
        local = is_loopback(client) and host_is_loopback(request.headers.get("host", ""))
        return cls(client=client, local=local, session=sessions.get(request.cookies.get(SESSION_COOKIE)),
                   login_local=login_local)

    @property
    def needs_login(self) -> bool:
        return self.login_local or not self.local

    @property
    def allowed(self) -> bool:
        """May see the console: from this machine (unless it must sign in too), or signed in."""
        return not self.needs_login or bool(self.session and self.session.signed_in)


def token_matches(given: str, token: Optional[str]) -> bool:
    """Constant-time comparison; never true without a server token."""
    return bool(token) and hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8"))


def cross_site(request: Request) -> bool:
    """The browser says this request comes from a page of another site."""
    if request.headers.get("sec-fetch-site", "") == "cross-site":
        return True
    origin = request.headers.get("origin")
    if origin is None:
        return False                   # old browsers send none; the CSRF token still guards
    if origin == "null":
        return True                    # sandboxed frames, data: pages: never ours
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    return origin.rstrip("/") != own


def csrf_ok(session: Optional[Session], given: Optional[str]) -> bool:
    return bool(session and given) and hmac.compare_digest(session.csrf.encode(), str(given).encode())
