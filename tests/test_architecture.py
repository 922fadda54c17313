"""The structure stays as designed: the core imports no front, the docs match the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click

import xf_excel
from xf_excel.fronts.cli import main

SRC = Path(xf_excel.__file__).parent
# every module outside the fronts, the demo included (it sits above the pipeline, below the fronts)
CORE = sorted(".".join(p.relative_to(SRC).with_suffix("").parts).removesuffix(".__init__")
              for p in SRC.rglob("*.py") if p.relative_to(SRC).parts[0] != "fronts"
              and p.parent.name != "templates" and p.name != "__init__.py")


def test_core_imports_without_xlwings_click_or_web_framework():
    """Import every core module in a fresh interpreter where the fronts' libraries are missing."""
    code = (
        "import sys\n"
        "for name in ('xlwings', 'click', 'fastapi', 'uvicorn', 'starlette'):\n"
        "    sys.modules[name] = None\n"
        f"for module in {CORE!r}:\n"
        "    __import__('xf_excel.' + module)\n"
        "print('ok')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_importing_the_package_stays_light():
    """`import xf_excel` must not pull in pandas, matplotlib or docxtpl (CLI start-up time)."""
    code = "import sys, xf_excel.fronts.cli, xf_excel.pipeline; print(sorted(m for m in ('pandas','matplotlib','docxtpl','xlwings') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr


def test_public_api_matches_all():
    """Every public name of the package is in __all__, and everything in __all__ exists."""
    import types

    public = {name for name, value in vars(xf_excel).items()
              if not name.startswith("_") and not isinstance(value, types.ModuleType)}
    assert public | {"__version__"} == set(xf_excel.__all__)


def _commands(group: click.Group, prefix: str = ""):
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", command


def test_every_command_has_help_with_an_example_and_is_in_the_readme(repo_root):
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    for name, command in _commands(main):
        assert command.help and "Example:" in command.help, name
        assert f"xf-excel {name}" in readme, f"README does not show `xf-excel {name}`"


def test_readme_starts_with_the_two_commands(repo_root):
    lines = (repo_root / "README.md").read_text(encoding="utf-8").splitlines()
    block = lines[lines.index("```bash") + 1: lines.index("```")]
    assert [line.split("#")[0].strip() for line in block] == ["./run demo", "./run test"]
    ci = (repo_root / ".ci" / "run").read_text(encoding="utf-8")
    assert "./run test" in ci
