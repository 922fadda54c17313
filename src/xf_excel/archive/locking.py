"""One writer at a time on an archive, and atomic file replacement.

Two runs that write (intake, consolidate with manual entries, a button click on the
server) must not interleave: the second waits for the first, and if it waits too long it
says who holds the lock. Files we write are written beside their target and moved into
place with `os.replace`, so a crash never leaves half a workbook.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from filelock import FileLock, Timeout

from ..errors import ArchiveError, LockBusy

__all__ = ["archive_lock", "atomic_write", "LockBusy"]


def _holder_path(archive: Path) -> Path:
    return archive.with_name(archive.name + ".lock.who")


@contextmanager
def archive_lock(archive: str | Path, timeout: float = 120) -> Iterator[None]:
    """Hold the lock of `archive` for the duration; wait up to `timeout` seconds."""
    archive = Path(archive)
    lock = FileLock(str(archive) + ".lock")
    try:
        archive.parent.mkdir(parents=True, exist_ok=True)
        lock.acquire(timeout=timeout)
    except Timeout:
        raise LockBusy(f"档案库 {archive} 正被另一个任务使用（{_describe_holder(archive)}）；请等它完成后再试") from None
    except OSError as exc:        # a read-only folder: the lock file cannot be made
        raise ArchiveError.unusable(archive, exc) from None
    try:
        _holder_path(archive).write_text(json.dumps({
            "user": getpass.getuser(), "host": socket.gethostname(), "pid": os.getpid(),
            "since": time.strftime("%Y-%m-%d %H:%M:%S")}, ensure_ascii=False), encoding="utf-8")
        yield
    finally:
        _holder_path(archive).unlink(missing_ok=True)
        lock.release()


def _describe_holder(archive: Path) -> str:
    try:
        who = json.loads(_holder_path(archive).read_text(encoding="utf-8"))
        return f"{who['user']}@{who['host']}，进程 {who['pid']}，自 {who['since']} 起"
    except (OSError, ValueError, KeyError):
        return "占用者未知"


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call `write(tmp)` for a temp file beside `path`, then move it into place.

    If the target cannot be replaced (on Windows: open in Excel), the file is kept beside
    it as `name (1).ext`, `name (2).ext`, … and that path is returned."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".~" + path.stem[:40], suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    _use_default_permissions(tmp)
    try:
        write(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        return _replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _use_default_permissions(path: Path) -> None:
    """mkstemp creates files readable by their owner only; outputs on a shared folder must
    be readable by colleagues, as any file the user saves would be."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def _replace(tmp: Path, path: Path) -> Path:
    try:
        os.replace(tmp, path)
        return path
    except PermissionError:
        for n in range(1, 100):
            alternative = path.with_name(f"{path.stem} ({n}){path.suffix}")
            if not alternative.exists():
                os.replace(tmp, alternative)
                return alternative
        raise
