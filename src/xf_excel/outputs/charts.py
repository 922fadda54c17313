"""The briefing's charts as PNG files (matplotlib, Agg, imported only when a chart is drawn).

Charts are rasterised with a font present on THIS machine (the document itself may name
fonts that only office PCs have), so xf-excel ships the CJK font its charts use:
WenQuanYi Micro Hei (`fonts/wqy-microhei.ttc`, Apache-2.0, `fonts/LICENSE.txt`), registered
with matplotlib by path each time a chart is drawn. Charts therefore need no root, no apt
and no particular state of matplotlib's font cache: a cache built before any CJK font
existed does not matter. `find_cjk_font` also finds a font installed after the cache was
built (it looks at the font files on disk when the cache knows none of the preferred
ones), so nobody has to delete a cache. Without any usable font the caller skips the
charts and says so, rather than drawing boxes for every Chinese character.

Every chart is drawn on its own `Figure` (no pyplot state) inside an `rc_context`, and
written atomically (temporary file, then `os.replace`).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Optional, Sequence

from ..archive.locking import atomic_write

__all__ = [
    "BUNDLED_FONT", "CJK_FONT_PREFERENCES", "bundled_font_path", "find_cjk_font", "chart_progress", "chart_ranking",
    "chart_trend",
]

BUNDLED_FONT = "WenQuanYi Micro Hei"          # the family inside fonts/wqy-microhei.ttc
_BUNDLED_FILE = "wqy-microhei.ttc"

# Most preferred first: the font we ship (the same charts on every machine), then faces an
# office PC has, then the free ones Linux distributions ship (used only if ours is missing).
CJK_FONT_PREFERENCES = (
    BUNDLED_FONT, "SimHei", "Microsoft YaHei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC",
    "Source Han Sans CN", "WenQuanYi Zen Hei", "Droid Sans Fallback", "AR PL UMing CN", "SimSun",
    "Noto Serif CJK SC",
)

_MM_PER_INCH = 25.4
WIDTH_MM = 156          # the GB/T 9704 type area
DPI = 200

_RED = "#C00000"
_BLUE = "#2F5597"
_GREY = "#7F7F7F"
_SERIES = ("#2F5597", "#C55A11", "#548235", "#7030A0", "#BF9000", "#2E75B6", "#843C0C", "#375623")


def bundled_font_path() -> Path:
    """The CJK font file shipped inside the package."""
    return Path(str(resources.files(__package__) / "fonts" / _BUNDLED_FILE))


def find_cjk_font(preferences: Sequence[str] = CJK_FONT_PREFERENCES) -> Optional[str]:
    """The first font family in `preferences` that matplotlib can use here, or None.

    The shipped font is registered by path first; then matplotlib's (cached) font list is
    searched; only when it holds none of `preferences` are the font files on disk looked
    at, and any the cache does not know registered — a font installed later is found
    without deleting the cache."""
    if not preferences:
        return None
    from matplotlib import font_manager

    manager = font_manager.fontManager
    _register(manager, [bundled_font_path()])
    found = _first_available(manager, preferences)
    if found is None and _register(manager, font_manager.findSystemFonts()):
        found = _first_available(manager, preferences)
    return found


def _first_available(manager: Any, preferences: Sequence[str]) -> Optional[str]:
    available = {entry.name for entry in manager.ttflist}
    return next((name for name in preferences if name in available), None)


def _register(manager: Any, paths: Sequence[str | Path]) -> int:
    """Add to matplotlib's font list the files it does not list yet; how many were added.
    A file that cannot be read as a font is passed over (one broken file in a fonts folder
    must not cost the charts)."""
    known = {str(Path(entry.fname)) for entry in manager.ttflist}
    added = 0
    for path in paths:
        if str(Path(path)) in known or not Path(path).is_file():
            continue
        try:
            manager.addfont(str(path))
        except (OSError, RuntimeError, ValueError):
            continue
        known.add(str(Path(path)))
        added += 1
    return added


def _figure(height_mm: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(WIDTH_MM / _MM_PER_INCH, height_mm / _MM_PER_INCH), dpi=DPI, layout="constrained")


def _rc(font: str) -> dict:
    return {"font.family": [font], "font.size": 9, "axes.unicode_minus": False,
            "axes.spines.top": False, "axes.spines.right": False}


def _save(fig, path: Path) -> Path:
    """Write the figure atomically: a reader never sees half a PNG."""
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=DPI))


def chart_progress(path: Path, labels: Sequence[str], completions: Sequence[float], time_schedule: float,
                   font: str, final: bool = False) -> Path:
    """图1: completion of each target (horizontal bars, %) against the time schedule (dashed line);
    `final` (the campaign's result): against the target itself, bars 已完成 / 未完成. The legend
    sits below the axes, where no bar's label can run into it."""
    import matplotlib
    from matplotlib.patches import Patch

    with matplotlib.rc_context(_rc(font)):
        fig = _figure(max(70, 18 + 7 * len(labels)))
        ax = fig.add_subplot()
        y = list(range(len(labels)))[::-1]
        values = [c * 100 for c in completions]
        bar = 1.0 if final else time_schedule
        colors = [_BLUE if c >= bar else _RED for c in completions]
        bars = ax.barh(y, values, color=colors, height=0.6)
        ax.bar_label(bars, labels=[f"{v:.1f}%" for v in values], padding=2, fontsize=8)
        ax.set_yticks(y, labels)
        ax.axvline(100, color=_GREY, linewidth=0.6)
        if not final:
            ax.axvline(time_schedule * 100, color=_GREY, linestyle="--", linewidth=1)
            ax.text(time_schedule * 100, len(labels) - 0.4, f"时间进度 {time_schedule * 100:.1f}%",
                    color=_GREY, fontsize=8, ha="center", va="bottom")
        ax.set_xlim(0, max([110.0, *values]) * 1.12)
        ax.set_ylim(-0.6, len(labels) - 0.1)
        ax.set_xlabel("完成目标任务（%）")
        words = ("已完成", "未完成") if final else ("达到时间进度", "低于时间进度")
        fig.legend(handles=[Patch(color=_BLUE, label=words[0]), Patch(color=_RED, label=words[1])],
                   loc="outside lower center", ncols=2, fontsize=7.5, frameon=False)
        return _save(fig, path)


def chart_ranking(path: Path, names: Sequence[str], values: Sequence[float], value_labels: Sequence[str],
                  axis_label: str, font: str) -> Path:
    """图2: cities ranked on the ranking indicator (horizontal bars, first at the top)."""
    import matplotlib

    with matplotlib.rc_context(_rc(font)):
        fig = _figure(max(70, 12 + 6 * len(names)))
        ax = fig.add_subplot()
        y = list(range(len(names)))[::-1]
        bars = ax.barh(y, values, color=_BLUE, height=0.6)
        ax.bar_label(bars, labels=list(value_labels), padding=2, fontsize=8)
        ax.set_yticks(y, names)
        ax.set_xlim(0, (max(values) if values and max(values) > 0 else 1) * 1.18)
        ax.set_xlabel(axis_label)
        return _save(fig, path)


def chart_trend(path: Path, period_labels: Sequence[str], series: dict[str, Sequence[Optional[float]]],
                schedule: Sequence[float], font: str) -> Path:
    """图3: completion (%) of the headline targets period by period, with the time schedule."""
    import matplotlib

    with matplotlib.rc_context(_rc(font)):
        fig = _figure(95)
        ax = fig.add_subplot()
        x = list(range(len(period_labels)))
        for i, (name, points) in enumerate(series.items()):
            xs = [xi for xi, p in zip(x, points) if p is not None]
            ys = [p * 100 for p in points if p is not None]
            ax.plot(xs, ys, marker="o", markersize=3.5, linewidth=1.4, color=_SERIES[i % len(_SERIES)], label=name)
        ax.plot(x, [s * 100 for s in schedule], linestyle="--", color=_GREY, linewidth=1, label="时间进度")
        ax.set_xticks(x, period_labels)
        ax.set_xlim(-0.3, max(len(x) - 0.7, 0.3))
        ax.set_ylim(bottom=0)
        ax.set_ylabel("完成目标任务（%）")
        ax.grid(axis="y", linewidth=0.4, alpha=0.6)
        fig.legend(fontsize=7.5, frameon=False, loc="outside lower center", ncols=4)
        return _save(fig, path)
