"""The structure stays as designed: stages as folders, imports pointing one way, fronts that
reach the core only through the use cases, and docs that match the tree and the CLI."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import click

import xf_excel
from xf_excel.fronts.cli import main

SRC = Path(xf_excel.__file__).parent
VOCABULARY = {"errors", "issues", "contract", "wording", "filenames", "config"}
# The stages in the order a return passes through them; a module may import its own stage,
# the vocabulary and the stages before it — never one after it.
ORDER = ["intake", "checks", "archive", "consolidate", "outputs", "pipeline", "demo", "fronts"]
FRONT_LIBRARIES = ("xlwings", "click", "fastapi", "uvicorn", "starlette")


def _modules() -> dict[str, Path]:
    """Dotted name (below xf_excel) -> file, for every module of the package."""
    found = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        if "templates" in parts:
            continue                       # a developer script that builds a template
        name = ".".join(parts).removesuffix(".__init__").removesuffix("__init__")
        found[name] = path
    return found


def _imports(name: str, path: Path) -> set[str]:
    """The xf_excel modules (dotted, below xf_excel) a module imports, relative imports resolved."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            elif node.module and node.module.startswith("xf_excel"):
                module = node.module.removeprefix("xf_excel").lstrip(".")
            else:
                continue
            names = [a.name for a in node.names]
            targets |= {f"{module}.{n}".lstrip(".") if f"{module}.{n}".lstrip(".") in _MODULES else module
                        for n in names}
        elif isinstance(node, ast.Import):
            targets |= {a.name.removeprefix("xf_excel.") for a in node.names if a.name.startswith("xf_excel.")}
    return {t for t in targets if t}


_MODULES = _modules()
CORE = sorted(n for n in _MODULES if n and not n.startswith(("fronts", "demo")))


def _stage(name: str) -> str:
    top = name.split(".")[0]
    return "vocabulary" if top in VOCABULARY or top == "" else top


def test_the_core_imports_without_xlwings_click_or_a_web_framework():
    """Import every core module in a fresh interpreter where the fronts' libraries are missing."""
    code = (
        "import sys\n"
        f"for name in {FRONT_LIBRARIES!r}:\n"
        "    sys.modules[name] = None\n"
        f"for module in {CORE!r}:\n"
        "    __import__('xf_excel.' + module)\n"
        "print('ok')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_imports_point_one_way():
    wrong = []
    for name, path in _MODULES.items():
        if not name:
            continue
        here = _stage(name)
        for target in _imports(name, path):
            there = _stage(target)
            if here == "vocabulary":
                allowed = there == "vocabulary"
            elif there == "vocabulary" or there == here:
                allowed = True
            else:
                allowed = ORDER.index(there) < ORDER.index(here)
            if here == "fronts" and there not in ("vocabulary", "pipeline", "demo", "fronts"):
                allowed = False      # a front reaches the core only through the use cases
            if not allowed:
                wrong.append(f"{name} → {target}")
    assert wrong == []


def test_the_architecture_check_catches_a_front_that_reaches_into_a_stage(tmp_path, monkeypatch):
    """A negative control: the import walk above sees through relative imports."""
    fake = tmp_path / "fronts" / "rogue.py"
    fake.parent.mkdir()
    fake.write_text("from ..archive.store import Archive\nfrom ..pipeline import run_week\n", encoding="utf-8")
    assert _imports("fronts.rogue", fake) == {"archive.store", "pipeline"}


def test_importing_the_command_line_stays_light():
    """`xf-excel --help` must not pull in pandas, matplotlib, docxtpl or xlwings."""
    code = ("import sys, xf_excel.fronts.cli, xf_excel.pipeline; "
            "print(sorted(m for m in ('pandas','matplotlib','docxtpl','xlwings') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr


def test_public_api_matches_all():
    """Every public name of the package is in __all__, and everything in __all__ exists (the
    names are loaded on first use, so each is asked for)."""
    import types

    def public() -> set[str]:
        return {name for name, value in vars(xf_excel).items()
                if not name.startswith("_") and not isinstance(value, types.ModuleType)}

    assert public() <= set(xf_excel.__all__)
    for name in xf_excel.__all__:
        assert getattr(xf_excel, name) is not None
    assert public() | {"__version__"} == set(xf_excel.__all__)


def test_the_readme_folder_section_names_every_module_and_only_those(repo_root):
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Folder layout"):readme.index("## Development")]
    rows = "\n".join(line.split("|")[1] for line in section.splitlines() if line.startswith("| "))
    listed = set(re.findall(r"`((?:[a-z_]+/)*[a-z_]+\.py)`", rows))
    present = {path.relative_to(SRC).as_posix() for name, path in _MODULES.items()
               if name and path.name != "__init__.py"}
    assert present - listed == set(), "modules missing from the README's folder section"
    assert listed - present == set(), "the README's folder section names modules that do not exist"


def _commands(group: click.Group, prefix: str = ""):
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", command


def test_every_command_has_help_with_an_example_and_is_in_the_readme(repo_root):
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    for name, command in _commands(main):
        assert command.help and "示例：" in command.help, name
        assert f"xf-excel {name}" in readme, f"README does not show `xf-excel {name}`"


def test_readme_starts_with_the_two_commands(repo_root):
    lines = (repo_root / "README.md").read_text(encoding="utf-8").splitlines()
    block = lines[lines.index("```bash") + 1: lines.index("```")]
    assert [line.split("#")[0].strip() for line in block] == ["./run demo", "./run test"]
    ci = (repo_root / ".ci" / "run").read_text(encoding="utf-8")
    assert "./run test" in ci


# Where a message may name the command line: the command line itself, and developer tools.
_MAY_NAME_COMMANDS = {"fronts.cli", "fronts.excel.commands", "fronts.clickzh"}
_COMMAND_WORDS = re.compile(r"xf-excel [a-z]|--(?:config|archive|period|json|record|out|feedback)\b")


def _user_strings(path: Path):
    """The string constants of a module that are not docstrings (docstrings are for developers)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


def test_no_staff_facing_message_names_a_command():
    """The core and the buttons speak to staff, who never see the command line: their messages
    say which button to click, never `xf-excel intake` or `--period`."""
    found = [f"{name}:{line}: {text}" for name, path in _MODULES.items()
             if name not in _MAY_NAME_COMMANDS and not name.startswith("demo")
             for line, text in _user_strings(path) if _COMMAND_WORDS.search(text) and re.search(r"[\u4e00-\u9fff]", text)]
    assert found == []
