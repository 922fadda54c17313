"""Benchmark: one full briefing render (context + 3 charts + .docx + .md) for the real config.

Usage:
    .venv/bin/python bench/bench_report.py [--rounds 5] [--period 3] [--page-png docs/briefing-page1.png]

The consolidation is built directly (tests/briefing_factory.py: plausible figures for all
111 counties and the member units), so only the briefing is timed. The first render in the
process (imports of matplotlib/docxtpl, font look-up) is reported apart; then `--rounds`
renders give median, min and max. Budget: median under 3 s. Exit status 1 when over budget.

`--page-png` also converts the briefing to PDF with LibreOffice and writes page 1 as a PNG
(100 dpi) — the sample page in docs/.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from briefing_factory import realistic_consolidation  # noqa: E402

from xf_excel.config import load_config  # noqa: E402
from xf_excel.outputs.briefing import render_briefing  # noqa: E402

BUDGET_S = 3.0


def _render_once(consolidation, out: Path) -> float:
    start = time.perf_counter()
    render_briefing(consolidation, out)
    return time.perf_counter() - start


def page_png(docx: Path, target: Path, dpi: int = 100) -> Path:
    """Page 1 of the .docx as PNG, via LibreOffice (own profile) and pdftoppm."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice or not shutil.which("pdftoppm"):
        raise SystemExit("需要 LibreOffice（soffice）和 pdftoppm 才能生成页面图片")
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        subprocess.run([soffice, f"-env:UserInstallation={(work / 'profile').as_uri()}", "--headless",
                        "--convert-to", "pdf", "--outdir", str(work), str(docx)], check=True, capture_output=True)
        pdf = work / (docx.stem + ".pdf")
        subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                        str(work / "page")], check=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        from PIL import Image

        # a 64-colour palette keeps the committed image small; the page is text, a red masthead and charts
        Image.open(work / "page.png").convert("RGB").quantize(colors=64).save(target, optimize=True)
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--period", type=int, default=3)
    parser.add_argument("--config", type=Path, default=ROOT / "config.yaml")
    parser.add_argument("--page-png", type=Path, help="also write page 1 of the briefing as PNG here")
    args = parser.parse_args()

    consolidation = realistic_consolidation(load_config(args.config), args.period)
    with tempfile.TemporaryDirectory() as work:
        out = Path(work) / "简报"
        first = _render_once(consolidation, out)
        times = [_render_once(consolidation, out) for _ in range(args.rounds)]
        if args.page_png:
            print(f"page 1: {page_png(out / f'简报_第{args.period}期.docx', args.page_png)}")
    median = statistics.median(times)
    print(f"briefing render (context + 3 charts + docx + md), {len(consolidation.counties)} counties, "
          f"period {args.period}")
    print(f"  first in process (imports, font look-up): {first:.3f} s")
    print(f"  {args.rounds} rounds: median {median:.3f} s, min {min(times):.3f} s, max {max(times):.3f} s "
          f"(budget {BUDGET_S:.1f} s)")
    return 0 if median < BUDGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
