"""Charts do not depend on root, apt or matplotlib's font cache: the CJK font they use ships
inside the package and is registered by path; a font installed after the cache was built is
found without deleting the cache.

Each case runs in a child process with its own matplotlib cache folder (MPLCONFIGDIR), so
the cache it sees is the one the test built, "before" the font existed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mpl_cache import cache_without_system_fonts
from xf_excel.outputs.charts import BUNDLED_FONT, bundled_font_path, find_cjk_font

ROOT = Path(__file__).resolve().parent.parent


def _python(code: str, env: dict[str, str]) -> str:
    full = {**{k: v for k, v in os.environ.items() if not k.startswith("MPL")}, **env,
            "PYTHONPATH": str(ROOT / "tests")}
    done = subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


_BUILD_CACHE = ("import json, matplotlib.font_manager as fm; "
                "print(json.dumps(sorted({e.name for e in fm.fontManager.ttflist})))")

def _cache_file(folder: Path) -> Path:
    (found,) = folder.glob("fontlist-v*.json")
    return found


def test_the_shipped_font_is_in_the_package_with_its_licence():
    path = bundled_font_path()
    assert path.is_file() and path.stat().st_size > 4_000_000
    licence = (path.parent / "LICENSE.txt").read_text(encoding="utf-8")
    assert "Apache License" in licence and "WenQuanYi" in licence and path.name in licence


def test_charts_use_the_shipped_font():
    assert find_cjk_font() == BUNDLED_FONT


def test_charts_survive_a_font_cache_that_predates_the_font(tmp_path):
    """A matplotlib cache built when the machine had no CJK font (the demo before `./run test`
    installed one; an office PC before anyone installed a font): the briefing still gets all
    three charts, drawn with the shipped font, without a missing-glyph warning, and the cache
    is left as it was."""
    env = {"MPLCONFIGDIR": str(tmp_path / "mpl")}
    cache, before = cache_without_system_fonts(sys.executable, tmp_path / "mpl")
    assert not [name for name in before if "Hei" in name or "CJK" in name]   # the cache knows no CJK font
    cached = cache.read_bytes()
    out = tmp_path / "out"
    code = f"""
import json, warnings
from briefing_factory import realistic_consolidation
from xf_excel.config import load_config
from xf_excel.outputs.briefing import render_briefing
from matplotlib import font_manager
config = load_config({str(ROOT / "config.yaml")!r})
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    result = render_briefing(realistic_consolidation(config, 3), __import__("pathlib").Path({str(out)!r}))
print(json.dumps({{"charts": [p.name for p in result.charts], "font": result.chart_font, "notes": result.notes,
                  "file": font_manager.findfont(result.chart_font, fallback_to_default=False),
                  "glyph_warnings": [str(w.message) for w in caught if "Glyph" in str(w.message)]}}))
"""
    seen = json.loads(_python(code, env))
    assert len(seen["charts"]) == 3 and all((out / name).stat().st_size > 10_000 for name in seen["charts"])
    assert seen["font"] == BUNDLED_FONT and Path(seen["file"]) == bundled_font_path()
    assert seen["glyph_warnings"] == [] and seen["notes"] == []
    assert cache.read_bytes() == cached


def _write_test_font(path: Path, family: str) -> None:
    """A tiny TrueType font with one CJK glyph (图), built in code."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    def box():
        pen = TTGlyphPen(None)
        pen.moveTo((100, 0))
        pen.lineTo((100, 800))
        pen.lineTo((900, 800))
        pen.lineTo((900, 0))
        pen.closePath()
        return pen.glyph()

    glyphs = [".notdef", "uni56FE"]
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder(glyphs)
    builder.setupCharacterMap({0x56FE: "uni56FE"})
    builder.setupGlyf({name: box() for name in glyphs})
    builder.setupHorizontalMetrics({name: (1000, 100) for name in glyphs})
    builder.setupHorizontalHeader(ascent=880, descent=-120)
    builder.setupNameTable({"familyName": family, "styleName": "Regular"})
    builder.setupOS2()
    builder.setupPost()
    path.parent.mkdir(parents=True, exist_ok=True)
    builder.save(str(path))


def test_a_font_installed_after_the_cache_was_built_is_found(tmp_path):
    """The office PC's trap: the cache was built, then a font was installed (here into the
    user's ~/.fonts); asking for it finds it without anyone deleting the cache."""
    home = tmp_path / "home"
    home.mkdir()
    env = {"MPLCONFIGDIR": str(tmp_path / "mpl"), "HOME": str(home), "XDG_DATA_HOME": str(home / ".local" / "share")}
    family = "XF Later Hei"
    assert family not in json.loads(_python(_BUILD_CACHE, env))
    cache = _cache_file(tmp_path / "mpl")
    cached = cache.read_bytes()
    _write_test_font(home / ".fonts" / "xf-later-hei.ttf", family)
    code = ("from xf_excel.outputs.charts import find_cjk_font; "
            f"print(find_cjk_font(({family!r}, 'No Such Font')))")
    assert _python(code, env) == family
    assert cache.read_bytes() == cached


def test_a_broken_font_file_on_disk_costs_nothing(tmp_path):
    home = tmp_path / "home"
    (home / ".fonts").mkdir(parents=True)
    (home / ".fonts" / "broken.ttf").write_bytes(b"not a font at all" * 10)
    env = {"MPLCONFIGDIR": str(tmp_path / "mpl"), "HOME": str(home), "XDG_DATA_HOME": str(home / ".local" / "share")}
    code = ("from xf_excel.outputs.charts import find_cjk_font; "
            "print(find_cjk_font(('No Such Font',)), find_cjk_font())")
    assert _python(code, env) == f"None {BUNDLED_FONT}"


@pytest.mark.parametrize("preferences", [(), ("No Such Font 字体",)])
def test_no_usable_preference_means_no_font(preferences):
    assert find_cjk_font(preferences) is None


_PAINT = """
import json, os, sys
from pathlib import Path
from xf_excel.outputs.charts import CJK_FONT_PREFERENCES, ChartPainter
out = Path(sys.argv[1])
with ChartPainter() as paint:
    helper = paint._pool is not None
    if sys.argv[2] == "break":                 # the helper dies before the first chart
        for process in list(paint._pool._processes.values()):
            process.kill()
            process.join()
    font = paint("find_cjk_font", CJK_FONT_PREFERENCES)
    paint("chart_ranking", out / "ranking.png", ["南宁市", "柳州市"], [3.0, 1.5], ["3.00", "1.50"], "万元", font=font)
print(json.dumps({"helper": helper, "font": font, "drawn_here": "matplotlib.figure" in sys.modules,
                  "png": (out / "ranking.png").read_bytes()[:8].hex()}))
"""


@pytest.mark.parametrize("case", ["helper", "break"])
def test_the_weekly_jobs_charts_are_drawn_by_a_helper_or_here_when_it_breaks(tmp_path, case):
    """The weekly job's painter draws in a helper process (this process never imports
    matplotlib); when the helper dies, the same chart is drawn here all the same."""
    done = subprocess.run([sys.executable, "-c", _PAINT, str(tmp_path), case], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT / "tests")})
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["helper"] is True and result["font"] == BUNDLED_FONT
    assert result["png"] == b"\x89PNG\r\n\x1a\n".hex()
    assert result["drawn_here"] is (case == "break")


_HELPER = """
import sys, time
from xf_excel.outputs.charts import CJK_FONT_PREFERENCES, ChartPainter
paint = ChartPainter()
paint("find_cjk_font", CJK_FONT_PREFERENCES)          # the helper is up and warm
print(*paint._pool._processes, flush=True)
if sys.argv[1] == "close":
    paint.close()
    print("closed", flush=True)
else:
    time.sleep(300)                                    # to be killed
"""


def _gone(pid: int, within: float = 5.0) -> bool:
    import time

    end = time.monotonic() + within
    while time.monotonic() < end:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            return True
        if "\nState:\tZ" in status:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="需要 /proc 来查看进程")
@pytest.mark.parametrize("ending", ["close", "kill"])
def test_no_chart_helper_outlives_its_job(ending):
    """Closed, the helper is gone; the job killed, the helper ends by itself — and in neither
    case does it keep the job's output open (a reader of the output would wait forever)."""
    import signal

    job = subprocess.Popen([sys.executable, "-c", _HELPER, ending], stdout=subprocess.PIPE, text=True,
                           env={**os.environ, "PYTHONPATH": str(ROOT / "tests")})
    try:
        (helper,) = map(int, job.stdout.readline().split())
        if ending == "kill":
            os.kill(job.pid, signal.SIGKILL)
        rest, _ = job.communicate(timeout=60)          # returns only once nobody holds the pipe
        assert job.returncode == (0 if ending == "close" else -signal.SIGKILL)
        assert rest == ("closed\n" if ending == "close" else "")
        assert _gone(helper), f"chart helper {helper} still running"
    finally:
        job.kill()
