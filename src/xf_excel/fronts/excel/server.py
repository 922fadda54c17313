"""The buttons over HTTP for xlwings' remote clients (`xf-excel serve`).

xlwings' VBA `RunServerPython` and its Office.js add-in post the open workbook as JSON;
`POST /xlwings/{button}` builds `xw.Book(json=payload)`, runs the same button function
as RunPython does (`xf_excel.fronts.excel.buttons`), and returns `book.json()` — the actions (values,
colours, message box) the client applies to the workbook.

Safety, in order of the checks:
- binds to 127.0.0.1 by default; a token is required to bind anywhere else, and every
  request from a non-loopback client must carry it (`Authorization: Bearer <token>`,
  compared in constant time). Clients read the token from their own environment, never
  from the workbook (see fronts/excel/macros/XfButtons.bas);
- request bodies above `max_body` bytes are refused with 413 before being parsed;
- one button at a time per archive in this process (a lock per archive path); the
  pipeline's own file lock (`archive_lock`) still guards the archive against other processes;
- no traceback ever leaves the server: a failing button answers with a Chinese message-box
  action, and anything else with a short Chinese text (the traceback goes to the log).

This is a small app of our own rather than the `xlwings-server` package: we need four
routes, a token, a size limit and a lock; xlwings-server brings a framework (socket.io,
templates, auth providers, its own route scheme) and dependencies we would not use.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import os
import threading
import traceback
from pathlib import Path
from typing import Any, Optional

# xlwings decides at import time whether its remote engine is licensed; the PolyForm
# Noncommercial licence covers a government office. An existing key (a paid one) is kept.
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

from fastapi import FastAPI, Request  # noqa: E402
from fastapi.exceptions import RequestValidationError  # noqa: E402
from fastapi.responses import JSONResponse, PlainTextResponse  # noqa: E402
from starlette.concurrency import run_in_threadpool  # noqa: E402
from starlette.exceptions import HTTPException as StarletteHTTPException  # noqa: E402

from . import buttons as xl  # noqa: E402

__all__ = ["create_app", "is_loopback", "MAX_BODY", "read_token"]

MAX_BODY = 20 * 1024 * 1024

# The framework's own answers (404 for an unknown address, 405 for GET on a button …) in Chinese.
_HTTP_TEXTS = {
    404: "没有这个地址。按钮的地址是 /xlwings/<操作>（如 /xlwings/consolidate），由工作簿中的按钮调用；"
         "服务是否正常可访问 /xlwings/health 查看",
    405: "这个地址不接受这种请求方式：按钮的地址只接受 POST 请求（由工作簿中的按钮发送）",
    413: "请求内容太大",
    415: "请求内容的类型不对（应由工作簿中的按钮发送）",
}
log = logging.getLogger("xf_excel.server")


def is_loopback(host: Optional[str]) -> bool:
    """True for 127.0.0.0/8, ::1 and the name localhost (a test client's 'testclient' is not)."""
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def read_token(token_file: Optional[str | Path], env: Optional[dict[str, str]] = None) -> Optional[str]:
    """The server token: the file's first line when a file is given, else `XF_SERVER_TOKEN`."""
    if token_file:
        text = Path(token_file).read_text(encoding="utf-8").strip()
        return text.splitlines()[0].strip() if text else None
    value = (env if env is not None else os.environ).get("XF_SERVER_TOKEN", "").strip()
    return value or None


def create_app(config_path: str | Path, archive_path: str | Path, *, root: Optional[str | Path] = None,
               token: Optional[str] = None, max_body: int = MAX_BODY, inbox: str | Path = "收件箱",
               out: str | Path = "out", console: Optional[dict[str, Any]] = None) -> FastAPI:
    """The FastAPI app serving the buttons with this server's own config and archive, and
    the browser console at `/` (fronts/web).

    `root` is the folder that relative folder names from the workbook resolve against and
    must stay inside (default: the current folder); `inbox` and `out` are the console's
    folders (relative to `root`); `console` passes further `ConsoleSetup` fields (upload
    limits, a clock for tests)."""
    xl.use_remote_licence()
    base = Path(root or Path.cwd()).resolve()
    setup = xl.Setup(config_path=_absolute(config_path, base), archive_path=_absolute(archive_path, base),
                     base=base, confined=True)
    app = FastAPI(title="xf-excel", docs_url=None, redoc_url=None, openapi_url=None)
    lock = _archive_lock(setup.archive_path)

    @app.get("/xlwings/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "buttons": sorted(xl.BUTTON_FUNCTIONS)}

    @app.post("/xlwings/{button}")
    async def run_button(button: str, request: Request):
        refusal = _check_client(request, token)
        if refusal is not None:
            return refusal
        if button not in xl.BUTTON_FUNCTIONS:
            return PlainTextResponse(f"没有名为“{button}”的操作", status_code=404)
        body = await _read_body(request, max_body)
        if isinstance(body, PlainTextResponse):
            return body
        try:
            payload = json.loads(body)
        except ValueError:
            return PlainTextResponse("请求内容不是有效的 JSON（应由 xlwings 的 RunServerPython 发送）", status_code=400)
        return JSONResponse(await run_in_threadpool(_run, button, payload, setup, lock))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        return PlainTextResponse(_HTTP_TEXTS.get(exc.status_code, f"请求无法处理（HTTP {exc.status_code}）"),
                                 status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        return PlainTextResponse("请求的格式不对（应由工作簿中的按钮发送）", status_code=422)

    from ..web.console import ConsoleSetup, add_console

    add_console(app, ConsoleSetup(config_path=setup.config_path, archive_path=setup.archive_path,
                                  inbox=_absolute(inbox, base), out=_absolute(out, base), token=token,
                                  log=lambda title, text: xl.log_traceback(setup.log_path, title, text),
                                  **(console or {})), lock)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):  # pragma: no cover - last resort
        where = xl.log_traceback(setup.log_path, "服务器", "".join(traceback.format_exception(exc)))
        return PlainTextResponse(f"服务器出现意外错误，详细信息已写入日志 {where}", status_code=500)

    return app


def _absolute(path: str | Path, base: Path) -> Path:
    path = Path(path)
    return path if path.is_absolute() else base / path


_LOCKS: dict[Path, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _archive_lock(archive: Path) -> threading.Lock:
    """One lock per archive path, shared by every app in this process."""
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(archive.resolve(), threading.Lock())


def _check_client(request: Request, token: Optional[str]) -> Optional[PlainTextResponse]:
    host = request.client.host if request.client else None
    if is_loopback(host):
        return None
    if not token:
        return PlainTextResponse("本服务器未设置口令，只接受本机请求", status_code=403)
    given = request.headers.get("authorization", "").strip()
    if given.lower().startswith("bearer "):
        given = given[7:].strip()
    if not hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8")):
        return PlainTextResponse("口令不正确或未提供：请按 README 在本机设置环境变量 XF_SERVER_TOKEN", status_code=401)
    return None


async def _read_body(request: Request, limit: int) -> bytes | PlainTextResponse:
    too_large = PlainTextResponse(f"工作簿数据超过 {limit // (1024 * 1024)} MB 的上限；请删除不需要的工作表或数据后重试",
                                  status_code=413)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _run(button: str, payload: Any, setup: xl.Setup, lock: threading.Lock) -> dict[str, Any]:
    """Build the book from the payload and run the button, one request at a time."""
    import xlwings as xw

    with lock:
        try:
            book = xw.Book(json=payload)
        except Exception:  # noqa: BLE001 - a malformed payload: say so, log why
            xl.log_traceback(setup.log_path, "服务器", traceback.format_exc())
            return _alert_only("收到的工作簿数据无法识别（请使用本工作簿自带的按钮）", "xf-excel")
        xl.BUTTON_FUNCTIONS[button](book, setup)
        return book.json()


def _alert_only(text: str, title: str) -> dict[str, Any]:
    """The actions JSON of a lone message box (the shape xlwings' clients apply)."""
    return {"actions": [{"func": "alert", "args": [text, title, "ok", "critical", ""], "values": None,
                         "sheet_position": None, "start_row": None, "start_column": None, "row_count": None,
                         "column_count": None}]}
