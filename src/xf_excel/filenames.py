"""Safe file names: for attachments we save, and for every file we write.

One rule for all of them, because a name that is fine on Linux can still break the batch
on Windows (a reserved device name, a forbidden character) or on Linux itself (more than
255 bytes: 120 Chinese characters are 360 bytes in UTF-8).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["safe_filename", "unique_name", "MAX_NAME_BYTES"]

# Whole file name in UTF-8 bytes. Linux allows 255; this leaves room for " (12)" and the
# ".~" temp prefix of atomic writes.
MAX_NAME_BYTES = 200

_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
_FORBIDDEN = re.compile(r'[<>:"|?*]+')
_SEPARATORS = re.compile(r"[\\/]+")


def safe_filename(name: str, default: str = "未命名文件", *, path: bool = True) -> str:
    """A file name safe on Windows and Linux, from any text (an attachment name, a unit name).

    With `path` (a name as received), only the last path component is kept (`../../evil.xlsx`
    and `\\\\host\\share\\x.xlsx` become `evil.xlsx` and `x.xlsx`); without it (a name
    we compose, e.g. from unit names) separators become `_`. Control and format characters (including the
    right-to-left override) are dropped, characters Windows forbids become `_`, leading and
    trailing dots and spaces go, reserved device names (CON, NUL, COM1 …) get a `_` prefix,
    and the name is cut to MAX_NAME_BYTES of UTF-8, keeping its extension.

    >>> safe_filename("..\\\\..\\\\第2期_南宁市.xlsx")
    '第2期_南宁市.xlsx'
    """
    text = unicodedata.normalize("NFC", str(name))
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf", "Cs"))
    text = re.split(r"[\\/]", text)[-1] if path else _SEPARATORS.sub("_", text)
    text = re.sub(r"\s+", " ", _FORBIDDEN.sub("_", text)).strip(" .")
    if not text:
        return default
    stem, dot, suffix = text.rpartition(".")
    if not dot or not stem or len(suffix) > 10:
        stem, suffix = text, ""
    if stem.split(".")[0].strip().upper() in _RESERVED:
        stem = "_" + stem
    tail = f".{suffix}" if suffix else ""
    while len((stem + tail).encode("utf-8")) > MAX_NAME_BYTES:
        stem = stem[:-1]
    stem = stem.rstrip(" .") or default
    return stem + tail


def unique_name(name: str, taken: set[str]) -> str:
    """`name`, or `name (2)`, `name (3)` … with the extension kept, whichever is not in `taken`
    (compared case-insensitively, as Windows does); the result is added to `taken`."""
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    candidate, n = name, 1
    while candidate.lower() in {t.lower() for t in taken}:
        n += 1
        candidate = f"{stem} ({n}).{suffix}" if suffix else f"{stem} ({n})"
    taken.add(candidate)
    return candidate
