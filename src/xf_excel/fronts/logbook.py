"""Where the fronts put what a user must never see: the traceback of an unexpected error.

The command line, the Excel buttons and the server show a short Chinese message and append
the traceback to `xf-excel.log` beside the archive (the IT person's place to look), or in
the temporary folder when that folder cannot be written.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
from pathlib import Path
from typing import Optional

__all__ = ["LOG_NAME", "log_traceback", "log_beside"]

LOG_NAME = "xf-excel.log"


def log_beside(archive: str | Path) -> Path:
    """The log file that belongs to an archive."""
    return Path(archive).parent / LOG_NAME


def log_traceback(path: Optional[Path], title: str, text: str, level: int = logging.ERROR) -> Path:
    """Append a traceback to the log (`path`; else, or when it cannot be written, the temp
    folder's); returns the file it went to."""
    fallback = Path(tempfile.gettempdir()) / LOG_NAME
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    entry = f"{stamp} {logging.getLevelName(level)} [{title}]\n{text}\n"
    for target in ([path] if path else []) + [fallback]:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "a", encoding="utf-8") as log:
                log.write(entry)
            return target
        except OSError:
            continue
    return fallback
