"""Fatal errors: raised only when work cannot go on. Findings about data are `Issue`s.

Every error a user can meet is one of these, with a Chinese message that says what to do;
anything else escaping the core is a programming error, and the fronts say so and log it.

    XfError
     ├── ConfigError        config.yaml is missing or wrong (every problem, with YAML path and line)
     ├── NotConfigured      a period, unit or indicator the campaign does not have
     ├── IntakeError        the inbox, or a workbook named to check, cannot be used at all
     ├── ArchiveError       the archive is missing, unreadable or not writable
     │    └── LockBusy      another run holds the archive for longer than we wait
     ├── RenderError        a template and the data it receives do not fit
     ├── MailError          the office mailbox cannot be used (not set up, unreachable, login refused)
     └── MissingDependency  an optional library the task needs is not installed
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["XfError", "ConfigError", "NotConfigured", "IntakeError", "ArchiveError", "LockBusy", "RenderError",
           "MailError", "MissingDependency", "require"]


class XfError(Exception):
    """Base of xf-excel's fatal errors; the message is Chinese and tells the user what to do."""


class ConfigError(XfError):
    """config.yaml cannot be used. `problems` holds one line per problem found."""

    def __init__(self, path: str, problems: list[str]):
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"配置文件 {path} 有 {len(problems)} 处错误：\n{lines}")


class NotConfigured(XfError):
    """A period, unit or indicator asked for is not in the campaign's configuration."""


class IntakeError(XfError):
    """The inbox or the archive cannot be used at all (not one bad file: that is an Issue)."""


class ArchiveError(XfError):
    """The archive cannot be opened, read or written (missing, read-only, damaged)."""


class LockBusy(ArchiveError):
    """Another run holds the archive lock for longer than we were willing to wait."""


class RenderError(XfError):
    """A template does not fit the data it is given (e.g. a misspelt placeholder)."""


class MailError(XfError):
    """The office mailbox cannot be used at all: mail not set up, the server unreachable, the
    login refused, the certificate not trusted (one refused recipient is an outcome, not this)."""


class MissingDependency(XfError):
    """An optional library the task needs is not installed (the message says what to install)."""

    def __init__(self, package: str, purpose: str):
        self.package = package
        super().__init__(f"{purpose}需要 Python 库 {package}，当前环境未安装；请运行 pip install {package} 后重试")


def require(module: str, package: str, purpose: str) -> ModuleType:
    """Import `module`, or raise `MissingDependency` naming the `package` to install and what
    for: `require("oletools.olevba", "oletools", "检查工作簿中的宏")`."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependency(package, purpose) from None
