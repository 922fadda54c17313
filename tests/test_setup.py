"""The set-up a fresh machine goes through: CI runs the README's two commands in its order, and
the pinned versions install on every Python the project accepts (`requires-python` in
pyproject.toml), down to Debian 12's python3.11 — 3.11.2, what `./run` finds on a fresh
machine where nobody installed a newer one. A pin that needs a later patch release breaks the
README's first command there, though it passes on a machine with a newer interpreter."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

DEBIAN_12_PYTHON = "3.11.2"


def pins(repo_root) -> dict[str, str]:
    """name → pinned version, for the lines whose environment marker applies here."""
    found = {}
    for line in (repo_root / "requirements.lock").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith(("#", "-")):
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate():
                (pin,) = requirement.specifier
                found[requirement.name] = pin.version
    return found


def pins_refusing(python: str, repo_root) -> list[str]:
    """The pinned distributions whose Requires-Python excludes `python` (read from the installed metadata)."""
    refusing = []
    for name, version in pins(repo_root).items():
        installed = metadata.distribution(name)
        assert installed.version == version, f"{name}: {installed.version} installed, {version} pinned"
        wanted = installed.metadata.get("Requires-Python")
        if wanted and python not in SpecifierSet(wanted):
            refusing.append(f"{name}=={version} (Requires-Python {wanted})")
    return refusing


def test_every_pin_installs_on_the_oldest_python_the_project_accepts(repo_root):
    accepted = SpecifierSet(tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]["requires-python"])
    assert DEBIAN_12_PYTHON in accepted
    assert pins_refusing(DEBIAN_12_PYTHON, repo_root) == []


def test_the_check_sees_a_python_the_pins_refuse(repo_root):
    assert pins_refusing("3.9.0", repo_root)          # many pins need 3.10 or later: the metadata is read


def readme_setup_commands(repo_root) -> list[str]:
    """The commands of the README's first code block (its two set-up commands)."""
    block = re.search(r"```bash\n(.*?)```", (repo_root / "README.md").read_text(encoding="utf-8"), re.S).group(1)
    return [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]


def test_ci_runs_the_readmes_two_commands_in_its_order(repo_root):
    commands = readme_setup_commands(repo_root)
    assert commands == ["./run demo", "./run test"]
    ci = [line.strip() for line in (repo_root / ".ci" / "run").read_text(encoding="utf-8").splitlines()
          if line.strip().startswith("./")]
    assert ci == commands
