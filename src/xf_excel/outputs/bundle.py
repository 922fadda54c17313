"""Zip bundles of files we wrote, for handing out in one download (the forms of a period, all
of them or one city's). Names inside are the files' own (UTF-8 flagged, which WPS, 7-Zip and
Windows 10's Explorer read); the bundle is written aside and moved into place."""

from __future__ import annotations

import zipfile
from pathlib import Path

from ..archive.locking import atomic_write

__all__ = ["write_bundle"]


def write_bundle(files: list[Path], target: Path) -> Path:
    """Zip `files` (flat, by their names) into `target`; returns where it was written."""
    def write(temp: Path) -> None:
        with zipfile.ZipFile(temp, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
            for path in files:
                bundle.write(path, arcname=path.name)

    target.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(target, write)
