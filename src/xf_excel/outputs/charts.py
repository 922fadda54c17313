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

A process that has not drawn yet pays ~0.4–0.6 s to import matplotlib. The weekly job
therefore starts a `ChartPainter` first: a helper process that imports matplotlib and
registers the font while the returns are read (on the core the reading leaves free), and
then draws what it is asked to. Whatever goes wrong with the helper, the chart is drawn in
this process instead: the charts never depend on it.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from ..archive.locking import atomic_write

__all__ = [
    "BUNDLED_FONT", "CJK_FONT_PREFERENCES", "bundled_font_path", "find_cjk_font", "chart_progress", "chart_ranking",
    "chart_trend", "ChartPainter", "Painter", "draw_here",
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


# ---- drawing here or in a helper process --------------------------------------------------------

Painter = Callable[..., Any]      # painter(name, *args, **kwargs): the chart function `name`'s result
_HELPER_TIMEOUT_S = 60.0          # a helper that takes longer is given up and the chart drawn here


def draw_here(name: str, *args: Any, **kwargs: Any) -> Any:
    """Call one of this module's drawing functions (or `find_cjk_font`) in this process."""
    return _DRAWINGS[name](*args, **kwargs)


class ChartPainter:
    """A painter that draws in a helper process, started now so that its imports overlap with
    what the caller does next; usable as a context manager (the helper is stopped on exit).

        >>> with ChartPainter() as paint:                                  # doctest: +SKIP
        ...     font = paint("find_cjk_font", CJK_FONT_PREFERENCES)
        ...     paint("chart_ranking", path, names, values, labels, "万元", font=font)

    Where matplotlib is already imported here (a server after its first briefing, the demo
    after its first week) there is nothing to gain and no helper is started. A helper that
    cannot start, breaks or does not answer in time is given up, and that chart and the
    rest are drawn here.

    The helper is forked while this process has one thread (the weekly job, before its
    intake starts the reader threads): a fork starts at once, needs no re-import, and its
    queues need no named semaphores (whose clean-up a spawned helper would warn about on
    stderr when the command line ends promptly, `fronts.cli.run`). Windows spawns. Elsewhere
    — another thread running, no fork — nothing is started and the charts are drawn here."""

    def __init__(self) -> None:
        self._pool = None
        context = None if "matplotlib.figure" in sys.modules else _helper_context()
        if context is None:
            return
        try:
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=context)
            self._pool.submit(_warm_up)
        except Exception:                      # noqa: BLE001 - no helper: draw here
            self.close()

    def __call__(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self._pool is not None:
            try:
                return self._pool.submit(draw_here, name, *args, **kwargs).result(timeout=_HELPER_TIMEOUT_S)
            except Exception:                  # noqa: BLE001 - a broken or stuck helper: draw here
                self.close()
        return draw_here(name, *args, **kwargs)

    def close(self) -> None:
        """Stop the helper and wait for it to be gone (a forked helper ends at once, without
        an interpreter's teardown): nothing of the job outlives the job."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> "ChartPainter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _helper_context() -> Any:
    """How to start the helper here (see `ChartPainter`), or None for no helper."""
    import multiprocessing
    import threading

    if sys.platform == "win32":
        return multiprocessing.get_context("spawn")
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return None


def _warm_up() -> None:
    """In the helper: let go of the caller's standard streams (a reader of the job's output
    must not wait for the helper), end with the caller however it ends, then pay the imports
    and the font registration a first chart would pay for."""
    import os
    import threading

    quiet = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(quiet, fd)
    threading.Thread(target=_end_with, args=(os.getppid(),), daemon=True).start()
    import matplotlib.figure  # noqa: F401

    find_cjk_font()


def _end_with(parent: int) -> None:
    """In the helper: exit once the process that started it is gone (killed, or ended
    without stopping its helper), so that no helper is ever left behind."""
    import os
    import time

    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(0)


_DRAWINGS: dict[str, Callable[..., Any]] = {
    "find_cjk_font": find_cjk_font, "chart_progress": chart_progress, "chart_ranking": chart_ranking,
    "chart_trend": chart_trend,
}
