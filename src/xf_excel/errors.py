"""Fatal errors: raised only when work cannot go on. Findings about data are `Issue`s.

    XfError
     ├── ConfigError    config.yaml is missing or wrong (lists every problem, with YAML path and line)
     ├── IntakeError    the inbox or the archive cannot be used at all
     └── RenderError    a template and the data it receives do not fit
"""

from __future__ import annotations

__all__ = ["XfError", "ConfigError", "IntakeError", "RenderError"]


class XfError(Exception):
    """Base of xf-excel's fatal errors; the message is Chinese and tells the user what to do."""


class ConfigError(XfError):
    """config.yaml cannot be used. `problems` holds one line per problem found."""

    def __init__(self, path: str, problems: list[str]):
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"配置文件 {path} 有 {len(problems)} 处错误：\n{lines}")


class IntakeError(XfError):
    """The inbox or the archive cannot be used at all (not one bad file: that is an Issue)."""


class RenderError(XfError):
    """A template does not fit the data it is given (e.g. a misspelt placeholder)."""
