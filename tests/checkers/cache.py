"""Where the checkers keep what is slow to make again: the unpacked .NET runtime of the
Open XML SDK, the independent VBA grammar's verdicts. A git-ignored `.cache/` folder in the
repository unless XF_TEST_CACHE names another (a CI runner can keep one between clean clones)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def cache_dir(name: str) -> Path:
    folder = Path(os.environ.get("XF_TEST_CACHE") or REPO / ".cache") / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder
