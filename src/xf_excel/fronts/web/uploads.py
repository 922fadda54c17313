"""Files dropped into the console: read whole, within bounds, before anything is taken in.

The bounds are checked on the request as it arrives (the declared length, then the bytes
actually read), then per file after parsing; a batch over any bound is refused whole, with a
Chinese message naming the bound (and the file), so nothing is ever half-taken. What passes
goes to the pipeline as (name, content) pairs — never written under a name from the browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request

__all__ = ["UploadLimits", "Upload", "read_uploads", "TooMuch", "mb"]

FILES_FIELD = "files"


@dataclass(frozen=True)
class UploadLimits:
    """How much one batch may bring (defaults: an inbox of a week, with room to spare)."""

    max_files: int = 300
    max_file_bytes: int = 20 << 20
    max_total_bytes: int = 200 << 20


@dataclass
class Upload:
    """A parsed batch: the files and the other form fields."""

    files: list[tuple[str, bytes]]
    fields: dict[str, str]


class TooMuch(Exception):
    """The batch is over a bound; the message (Chinese) says which."""


def mb(size: int) -> str:
    """20 MB, 0.5 MB."""
    return f"{size / (1 << 20):.1f}".rstrip("0").rstrip(".") + " MB"


async def read_uploads(request: Request, limits: UploadLimits) -> Upload:
    """The batch in this multipart request, or `TooMuch`. The body is read with a bound
    before it is parsed, so an oversized request costs at most the bound."""
    declared = request.headers.get("content-length", "")
    envelope = limits.max_total_bytes + (1 << 20)          # the multipart framing and the form fields
    if declared.isdigit() and int(declared) > envelope:
        raise TooMuch(_total_message(limits))
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > envelope:
            raise TooMuch(_total_message(limits))
    form = await _parse(request, bytes(body), limits)
    files: list[tuple[str, bytes]] = []
    fields: dict[str, str] = {}
    total = 0
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            if key != FILES_FIELD or not value.filename:
                continue
            content = await value.read()
            if len(content) > limits.max_file_bytes:
                raise TooMuch(f"文件“{value.filename}”大小 {mb(len(content))}，超过单个文件 {mb(limits.max_file_bytes)} "
                              "的上限；本批文件均未收取。报表文件通常不到 1 MB，请确认是否选错了文件")
            total += len(content)
            files.append((value.filename, content))
        else:
            fields[key] = str(value)
    if total > limits.max_total_bytes:
        raise TooMuch(_total_message(limits))
    return Upload(files=files, fields=fields)


def _total_message(limits: UploadLimits) -> str:
    return (f"本批文件合计超过 {mb(limits.max_total_bytes)} 的上限，本批文件均未收取；"
            "请分几批上传，或把文件保存到服务器收件文件夹后点击“收取收件文件夹”")


async def _parse(request: Request, body: bytes, limits: UploadLimits):
    """Starlette's multipart parser over the body already read (bounded above)."""
    sent = False

    async def receive() -> dict:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    replay = Request(request.scope, receive)
    try:
        return await replay.form(max_files=limits.max_files, max_fields=20)
    except (MultiPartException, HTTPException) as exc:       # Starlette wraps the parser's error in a 400
        detail = str(getattr(exc, "detail", "") or getattr(exc, "message", "") or exc)
        if "files" in detail.lower():
            raise TooMuch(f"一次最多上传 {limits.max_files} 个文件；本批文件均未收取，请分批上传") from None
        raise TooMuch("上传的内容无法识别，文件未收取；请重新选择文件上传") from None

