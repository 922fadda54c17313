"""Text files that office staff open in Notepad (报送情况, the Markdown briefing).

Notepad before Windows 10 1903, and WPS's text viewer, read a file without a byte-order mark
as the ANSI code page (GBK on a Chinese Windows), so UTF-8 Chinese turns into mojibake; old
Notepad also shows LF-only text as one long line. These files are therefore written as
UTF-8 with a BOM and CRLF line ends — which every current editor, Markdown tool and
Python's "utf-8-sig" read as well — and atomically, like every other output.
"""

from __future__ import annotations

from pathlib import Path

from ..archive.locking import atomic_write

__all__ = ["write_text_file", "TEXT_ENCODING"]

TEXT_ENCODING = "utf-8-sig"   # UTF-8 with a byte-order mark


def write_text_file(path: str | Path, text: str) -> Path:
    """Write `text` for Windows staff (UTF-8 with BOM, CRLF), atomically; returns where it went."""
    body = "\r\n".join(text.replace("\r\n", "\n").split("\n")).encode(TEXT_ENCODING)
    return atomic_write(Path(path), lambda tmp: tmp.write_bytes(body))
