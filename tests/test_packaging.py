"""Installed as a package, outside the repository: the wheel carries its templates and macros,
and the demo and the workbook builder run from another folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from mpl_cache import cache_without_system_fonts

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory, repo_root) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # a copy of the tree, so the build's scratch folders never touch the working copy
    source = out / "source"
    shutil.copytree(repo_root, source, ignore=shutil.ignore_patterns(".venv", ".git", ".cache", "out", "data", "*.egg-info",
                                                                     "__pycache__", ".hypothesis", "bench"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                    str(source)], check=True, capture_output=True, timeout=300)
    (found,) = out.glob("xf_excel-*.whl")
    return found


def test_the_wheel_carries_templates_and_macros(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for part in ("xf_excel/outputs/templates/briefing.docx", "xf_excel/outputs/templates/briefing.md.j2",
                 "xf_excel/fronts/excel/macros/XfButtons.bas", "xf_excel/outputs/fonts/wqy-microhei.ttc",
                 "xf_excel/outputs/fonts/LICENSE.txt", "xf_excel/fronts/web/templates/base.html",
                 "xf_excel/fronts/web/static/console.js", "xf_excel/fronts/web/static/console.css"):
        assert part in names, part


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv with only the wheel installed; its dependencies are taken from this
    environment's site-packages (added by path, so this checkout's editable install is not)."""
    venv = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True, timeout=300)
    return venv


def _run(venv: Path, *args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**{k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}, **(env or {})}
    return subprocess.run([str(venv / "bin" / "xf-excel"), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, env=env)


def test_the_installed_package_is_the_wheel_not_this_checkout(installed, repo_root):
    where = subprocess.run([str(installed / "bin" / "python"), "-c", "import xf_excel; print(xf_excel.__file__)"],
                           check=True, capture_output=True, text=True, cwd="/").stdout.strip()
    assert Path(where).is_relative_to(installed) and not Path(where).is_relative_to(repo_root / "src")


def test_demo_and_workbook_run_from_another_folder(installed, repo_root, tmp_path):
    """As on a fresh machine: no CJK font known to matplotlib's cache, no root; the demo still
    draws every chart with the font inside the package."""
    shutil.copy(repo_root / "config.yaml", tmp_path / "config.yaml")
    mpl = tmp_path / "mpl"
    cache_without_system_fonts(installed / "bin" / "python", mpl)
    demo = _run(installed, "demo", "--periods", "1-2", "--units", "4", "--out", "out", cwd=tmp_path,
                env={"MPLCONFIGDIR": str(mpl)})
    assert demo.returncode == 0, demo.stderr[-2000:]
    briefing = tmp_path / "out" / "第2期" / "5_简报"
    assert list(briefing.glob("*.docx")) and len(list(briefing.glob("图*.png"))) == 3
    assert "未生成图表" not in demo.stdout
    book = _run(installed, "workbook", "--out", "xf-excel.xlsm", cwd=tmp_path)
    assert book.returncode == 0, book.stderr[-2000:]
    assert (tmp_path / "xf-excel.xlsm").stat().st_size > 50_000
