"""A matplotlib font cache as a machine had it before any CJK font existed there: built in a
child process with its own MPLCONFIGDIR, then stripped of every system font (matplotlib
stores its own fonts' paths relative to its data folder, every other one absolute)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

STRIP_SYSTEM_FONTS = """
import json, matplotlib, matplotlib.font_manager as fm
from pathlib import Path
path = Path(matplotlib.get_cachedir()) / f"fontlist-v{fm.FontManager.__version__}.json"
data = json.loads(path.read_text(encoding="utf-8"))
data["ttflist"] = [e for e in data["ttflist"] if not Path(e["fname"]).is_absolute()]
path.write_text(json.dumps(data), encoding="utf-8")
print(json.dumps(sorted({e["name"] for e in data["ttflist"]})))
"""


def cache_without_system_fonts(python: str | Path, folder: Path) -> tuple[Path, list[str]]:
    """Build the stripped cache in `folder` (use it as MPLCONFIGDIR) with `python`; returns
    the cache file and the font families it lists."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("MPL")}, "MPLCONFIGDIR": str(folder)}
    done = subprocess.run([str(python), "-c", STRIP_SYSTEM_FONTS], env=env, capture_output=True, text=True,
                          timeout=300, check=True)
    (cache,) = folder.glob("fontlist-v*.json")
    return cache, json.loads(done.stdout.strip().splitlines()[-1])
