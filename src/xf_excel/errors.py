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
     ├── NothingToReport    the archive holds nothing the task could work on (a briefing of no return)
     └── MissingDependency  an optional library the task needs is not installed
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

__all__ = ["XfError", "ConfigError", "NotConfigured", "IntakeError", "ArchiveError", "LockBusy", "RenderError",
           "MailError", "NothingToReport", "MissingDependency", "require", "describe_os_error"]


class XfError(Exception):
    """Base of xf-excel's fatal errors; the message is Chinese and tells the user what to do."""


class ConfigError(XfError):
    """config.yaml cannot be used. `problems` holds one line per problem found; `missing` is
    True when there is no such file at all (a front then says how to name another)."""

    def __init__(self, path: str, problems: list[str], *, missing: bool = False):
        self.path = path
        self.problems = problems
        self.missing = missing
        if missing:
            super().__init__(f"找不到配置文件 {path}（当前文件夹：{Path.cwd()}）")
            return
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"配置文件 {path} 有 {len(problems)} 处错误：\n{lines}")


class NotConfigured(XfError):
    """A period, unit or indicator asked for is not in the campaign's configuration."""


class IntakeError(XfError):
    """The inbox or the archive cannot be used at all (not one bad file: that is an Issue)."""


class ArchiveError(XfError):
    """The archive cannot be opened, read or written (missing, read-only, damaged)."""

    @classmethod
    def unusable(cls, path: str | Path, exc: BaseException) -> "ArchiveError":
        """The archive at `path` could not be opened or written because of `exc` (an OSError
        or sqlite3's error): what is wrong, and what to do, in Chinese."""
        path = Path(path)
        text = str(exc).lower()
        if path.is_dir():
            reason = "这是一个文件夹，不是档案库文件；请指定文件夹中的 .sqlite 文件"
        elif "not a database" in text or "malformed" in text:
            reason = "这不是档案库文件，或文件已损坏；请确认路径，损坏时请用备份恢复"
        elif isinstance(exc, PermissionError) or "readonly" in text or "read-only" in text \
                or "unable to open" in text or "permission" in text:
            reason = (f"所在文件夹 {path.parent} 不能写入（只读，或没有写入权限）；"
                      "请把档案库放在有写入权限的文件夹中，或请信息化人员开放该文件夹的写入权限")
        elif "disk" in text or "space" in text or "full" in text:
            reason = "磁盘空间不足或磁盘出错；请腾出空间或检查磁盘后重试"
        else:
            reason = "请确认文件夹存在、有写入权限且档案库没有被其他程序占用"
        detail = getattr(exc, "strerror", None) or str(exc)
        return cls(f"无法使用档案库 {path}：{reason}（{detail}）")


class LockBusy(ArchiveError):
    """Another run holds the archive lock for longer than we were willing to wait."""


class RenderError(XfError):
    """A template does not fit the data it is given (e.g. a misspelt placeholder)."""


class MailError(XfError):
    """The office mailbox cannot be used at all: mail not set up, the server unreachable, the
    login refused, the certificate not trusted (one refused recipient is an outcome, not this)."""


class NothingToReport(XfError):
    """The archive holds nothing the task could work on (e.g. a briefing of a period without
    one accepted return): nothing was written, and the message says what to do first."""


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


def describe_os_error(exc: OSError) -> str:
    """A file that could not be read or written (an OSError), in Chinese: which file, why, and
    what to do — for the fronts' boundaries, so that a full disk is not an "unexpected error"."""
    import errno

    reasons = {
        errno.EACCES: "没有权限：文件夹只读、没有写入权限，或文件正被其他程序（如 Excel、Word）打开",
        errno.EPERM: "没有权限：文件夹只读、没有写入权限，或文件正被其他程序（如 Excel、Word）打开",
        errno.ENOSPC: "磁盘空间不足；请腾出空间后重试",
        errno.EROFS: "所在磁盘是只读的；请换一个位置",
        errno.ENOENT: "找不到该文件或文件夹；请检查路径",
        errno.EISDIR: "这是一个文件夹，这里需要文件",
        errno.ENOTDIR: "路径中有一段不是文件夹；请检查路径",
        errno.EADDRINUSE: "端口已被占用（可能已有一个服务在运行）；请换一个端口",
    }
    reason = f"{reasons.get(exc.errno, '请检查路径、权限和磁盘空间')}（{exc.strerror or exc}）"
    return f"无法读写 {exc.filename}：{reason}" if exc.filename else reason
