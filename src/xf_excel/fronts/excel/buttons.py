"""The Excel buttons: glue between an open workbook (`xw.Book`) and the pipeline.

The only module that imports xlwings. Each button takes the calling book — from
`xw.Book.caller()` when Excel runs it with RunPython, or `xw.Book(json=payload)` when the
office server (`xf_excel.server`) receives xlwings' remote call — reads its inputs from the
book, calls `xf_excel.pipeline`, writes results back through the xlwings API, and ends
with a short Chinese message box. Errors reach the user as a Chinese message box; the
traceback goes to `xf-excel.log` beside the archive::

    RunPython "import xlwings as xw, xf_excel.fronts.excel.buttons as x; x.consolidate_button(xw.Book.caller())"

Inputs: 首页 cells named `Period`, `InboxFolder`, `OutputFolder`; the `xlwings.conf` sheet's
`XF_CONFIG` and `XF_ARCHIVE`. Relative paths resolve against the workbook's folder under
RunPython; on the server, config and archive are the server's own and folders must lie
inside its working folder (a client cannot point the server at arbitrary paths).
"""

from __future__ import annotations

import functools
import logging
import os
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import xlwings as xw

from ...config import Config, load_config
from ...contract import CONF_DEFAULTS, ENTRY_CODE_LABEL, ENTRY_MESSAGE_LABEL, ISSUE_COLUMNS, NEWS_SHEET, BookName, Conf, MasterSheet
from ...errors import ConfigError, NothingToReport, XfError, describe_os_error
from ...issues import Issue, Severity
from ..logbook import LOG_NAME, log_traceback

__all__ = [
    "Setup", "ButtonFailure", "make_forms_button", "validate_button", "consolidate_button", "undo_button", "brief_button", "summary_button",
    "send_forms_button", "send_feedback_button", "send_reminders_button", "selftest_button", "BUTTON_FUNCTIONS",
    "main", "run_command", "setup_from_book", "use_remote_licence",
    "log_traceback", "fill_sheet", "issue_rows", "book_checks", "conf_values",
]

ERROR_FILL, WARNING_FILL, CLEAR_FILL = "#FFC7CE", "#FFEB9C", "#FFFFFF"
_MAX_ALERT_LINES = 12


def use_remote_licence() -> None:
    """xlwings' remote engine needs a licence key; the PolyForm Noncommercial licence covers
    a government office. An existing value (a paid key) is kept. xlwings reads the key when
    it is first imported, so server.py sets it before importing this module; when xlwings was
    imported without a key, the remote engine is registered here."""
    os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
    if "remote" not in [engine.name for engine in xw.engines]:
        from xlwings.pro import _xlremote

        xw.engines.add(xw.Engine(impl=_xlremote.engine))


class ButtonFailure(XfError):
    """A button cannot do its work; the message (Chinese) is shown to the user as it is."""


@dataclass(frozen=True)
class Setup:
    """Where a button finds its files. `base` resolves relative paths; `confined` (server
    mode) refuses folders outside `base`."""

    config_path: Path
    archive_path: Path
    base: Path
    confined: bool = False
    notify: Optional[Callable[[str, str, bool], None]] = None   # (text, title, critical); default: a message box

    def folder(self, value: Any, what: str) -> Path:
        """A folder named in the book, resolved against `base`."""
        text = str(value).strip() if value is not None else ""
        if not text:
            raise ButtonFailure(f"首页的“{what}”为空；请填写文件夹路径")
        path = Path(text)
        path = (path if path.is_absolute() else self.base / path).resolve()
        if self.confined and not path.is_relative_to(self.base.resolve()):
            raise ButtonFailure(f"服务器模式下“{what}”必须位于服务器工作文件夹 {self.base} 之内（现为 {text}）")
        return path

    @property
    def log_path(self) -> Path:
        return self.archive_path.parent / LOG_NAME


# ---- reading the book ---------------------------------------------------------------------------

def _is_remote(book: xw.Book) -> bool:
    return book.app.engine.name == "remote"


def conf_values(book: xw.Book) -> dict[str, Any]:
    """The xlwings.conf sheet as xlwings reads it: keys in A from A1 to the first blank, values in B."""
    if MasterSheet.CONF not in [s.name for s in book.sheets]:
        return {}
    values: dict[str, Any] = {}
    for row in _grid(book.sheets[MasterSheet.CONF]):
        key = row[0] if row else None
        if key is None or str(key).strip() == "":
            break
        values[str(key).strip().upper()] = row[1] if len(row) > 1 else None
    return values


def setup_from_book(book: xw.Book) -> Setup:
    """Config, archive and base folder for a book run by RunPython (paths from xlwings.conf,
    relative to the workbook's folder; the server builds its own `Setup`)."""
    conf = conf_values(book)
    base = Path.cwd() if _is_remote(book) else Path(book.fullname).resolve().parent
    config = Path(str(conf.get(Conf.CONFIG) or CONF_DEFAULTS[Conf.CONFIG]))
    archive = Path(str(conf.get(Conf.ARCHIVE) or CONF_DEFAULTS[Conf.ARCHIVE]))
    return Setup(config_path=config if config.is_absolute() else base / config,
                 archive_path=archive if archive.is_absolute() else base / archive, base=base)


def _name_value(book: xw.Book, name: str) -> Any:
    try:
        return book.names[name].refers_to_range.value
    except Exception:  # noqa: BLE001 - xlwings raises engine-specific errors for a missing name
        return None


def _period(book: xw.Book, config: Config) -> int:
    value = _name_value(book, BookName.PERIOD)
    try:
        number = int(float(value))
    except (TypeError, ValueError):
        raise ButtonFailure(f"首页的“报送期次”应为数字（现为“{value or ''}”）；请选择期次") from None
    config.period(number)  # NotConfigured, with a Chinese message, when not configured
    return number


def _grid(sheet) -> list[list[Any]]:
    """The sheet's values from A1 to its last used cell (2-D; empty cells None)."""
    last = sheet.used_range.last_cell
    values = sheet.range((1, 1), (last.row, last.column)).options(ndim=2).value
    return [list(row) for row in values] if values else [[None]]


def _sheet_names(book: xw.Book) -> list[str]:
    return [s.name for s in book.sheets]


# ---- writing the book ---------------------------------------------------------------------------

def _cell_value(value: Any) -> Any:
    """A value safe to write: text that Excel would take as a formula gets a leading
    apostrophe (Excel's text prefix); blanks become None."""
    if isinstance(value, str):
        if value == "":
            return None
        if value[0] in "=+-@" and not _looks_numeric(value):
            return "'" + value
    return value


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _rectangular(rows: list[list[Any]]) -> list[list[Any]]:
    width = max((len(r) for r in rows), default=1) or 1
    return [[_cell_value(v) for v in r] + [None] * (width - len(r)) for r in rows]


def _sheet(book: xw.Book, name: str):
    if name in _sheet_names(book):
        return book.sheets[name]
    return book.sheets.add(name, after=book.sheets[len(book.sheets) - 1])


def fill_sheet(book: xw.Book, name: str, rows: list[list[Any]], *, clear_rest: bool = True) -> None:
    """Write `rows` from A1 of sheet `name` (added when missing) in one action, and clear
    what was there beyond them (old rows and columns)."""
    sheet = _sheet(book, name)
    old = sheet.used_range.last_cell
    grid = _rectangular(rows) if rows else [[None]]
    height, width = len(grid), len(grid[0])
    sheet.range((1, 1)).value = grid
    if not clear_rest:
        return
    if old.row > height:
        sheet.range((height + 1, 1), (old.row, max(old.column, width))).clear_contents()
    if old.column > width:
        sheet.range((1, width + 1), (height, old.column)).clear_contents()


def _alert(book: xw.Book, text: str, title: str, critical: bool = False) -> None:
    book.app.alert(text, title=title, buttons="ok", mode="critical" if critical else "info")


# ---- the error boundary -------------------------------------------------------------------------

def _button(title: str) -> Callable[[Callable[..., str]], Callable[..., None]]:
    """Run a button body that returns its success message; show it, or show any error in
    Chinese (the traceback of an unexpected one goes to the log, never to the user)."""

    def wrap(body: Callable[..., str]) -> Callable[..., None]:
        @functools.wraps(body)
        def run(book: xw.Book, setup: Optional[Setup] = None) -> None:
            log_path = None
            notify = (setup.notify if setup else None) or functools.partial(_alert, book)
            try:
                setup = setup or setup_from_book(book)
                log_path = setup.log_path
                message = body(book, setup)
            except XfError as exc:
                log_traceback(log_path, title, traceback.format_exc(), level=logging.WARNING)
                notify(f"{title}未完成：{exc}{_hint(exc)}", title, True)
                return
            except OSError as exc:   # a full disk, a read-only folder, a file open in Excel
                log_traceback(log_path, title, traceback.format_exc(), level=logging.WARNING)
                notify(f"{title}未完成：{describe_os_error(exc)}", title, True)
                return
            except Exception:  # noqa: BLE001 - the boundary: nothing may escape as a traceback
                where = log_traceback(log_path, title, traceback.format_exc())
                notify(f"{title}时出现意外错误，操作未完成。详细信息已写入日志：{where}\n"
                       "请把该日志发给信息化人员。", title, True)
                return
            notify(message, title, False)
        return run

    return wrap


def _hint(exc: XfError) -> str:
    """What to do, in the workbook's terms (the library's messages name no front)."""
    if isinstance(exc, ConfigError) and exc.missing:
        return "。请把 config.yaml 放在本工作簿所在的文件夹，或在“xlwings.conf”表的 XF_CONFIG 中填写它的位置"
    return ""


_CONFIGS: dict[tuple[str, int, int], Config] = {}


def _config(setup: Setup) -> Config:
    """config.yaml, parsed once per version of the file (the server answers many clicks;
    parsing it costs more than a whole consolidation)."""
    try:
        stat = setup.config_path.stat()
    except OSError:
        return load_config(setup.config_path)    # the ConfigError names the missing file
    key = (str(setup.config_path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _CONFIGS:
        _CONFIGS.clear()
        _CONFIGS[key] = load_config(setup.config_path)
    return _CONFIGS[key]


# ---- 生成填报表 -----------------------------------------------------------------------------------

@_button("生成填报表")
def make_forms_button(book: xw.Book, setup: Setup) -> str:
    """生成填报表: a pre-filled return form per reporting unit for the period on 首页."""
    from ...pipeline import make_forms

    config = _config(setup)
    period = _period(book, config)
    out = setup.folder(_name_value(book, BookName.OUTPUT), "输出文件夹") / f"第{period}期填报表"
    result = make_forms(config, period, out, setup.archive_path)
    return "\n".join([f"已生成第{period}期填报表 {len(result.paths)} 份，保存在：\n{out}",
                      *[f"提示：{n}" for n in result.notes]])


# ---- 汇总 ---------------------------------------------------------------------------------------

@_button("汇总")
def consolidate_button(book: xw.Book, setup: Setup) -> str:
    """汇总: take in the inbox named on 首页, consolidate the period, refresh every sheet."""
    from ...pipeline import fetches_mail, refresh_master

    config = _config(setup)
    period = _period(book, config)
    inbox = setup.folder(_name_value(book, BookName.INBOX), "收件文件夹")
    out = setup.folder(_name_value(book, BookName.OUTPUT), "输出文件夹")
    if not inbox.is_dir() and not fetches_mail(config):
        raise ButtonFailure(f"收件文件夹 {inbox} 不存在；请先建立该文件夹并把收到的报表保存进去，或在首页改为正确的路径")
    refreshed = refresh_master(config, inbox, period, setup.archive_path, out, fetch=True,
                               inbox_folder=str(_name_value(book, BookName.INBOX) or ""),
                               output_folder=str(_name_value(book, BookName.OUTPUT) or ""))
    _fill_from_master(book, refreshed.master)
    return _consolidate_message(refreshed)


def _fill_from_master(book: xw.Book, master: Path) -> None:
    """Copy every sheet of the master file into the open book, value by value.

    Reading the file back (rather than converting the consolidation to cells a second time)
    keeps the open book and the master file identical by construction; the master writer owns
    the layout. 首页 keeps what lies beyond the master's cells (buttons, instructions); its
    `ArchiveVersion` comes with the master's."""
    for name, rows in _read_values(master):
        fill_sheet(book, name, rows, clear_rest=name != MasterSheet.HOME)


def _read_values(path: Path) -> list[tuple[str, list[list[Any]]]]:
    """Every sheet of a workbook we wrote ourselves, as rows from A1 (empty cells None)."""
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(path))
    sheets = []
    for name in book.sheet_names:
        rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        sheets.append((name, [[None if v == "" else v for v in row] for row in rows] or [[None]]))
    return sheets


def _consolidate_message(refreshed) -> str:
    report, consolidation, master = refreshed.intake, refreshed.consolidation, refreshed.master
    s = report.summary()
    period = consolidation.period.number
    mail = _mail_lines(refreshed)
    if s["files"] == 0 and mail:
        head = "收件文件夹中没有新的报表文件。"
    elif s["files"] == 0:
        head = f"收件文件夹 {report.inbox} 中没有报表文件，未收取新报表；已按档案库中的现有数据汇总第{period}期。"
    else:
        head = (f"第{period}期收取完成：文件 {s['files']} 个，接收 {s['accepted']} 个（其中有警告 {s['warned']} 个），"
                f"退回 {s['rejected']} 个，非报表或无法读取 {s['not_a_return']} 个，重复 {s['duplicate']} 个。")
    missing = len(consolidation.reporting_in("missing"))
    rejected = len(consolidation.reporting_in("rejected"))
    lines = [*mail, head, f"汇总已刷新：未报送 {missing} 个单位，被退回 {rejected} 个单位（催报和退回提示见“报送情况”）。",
             f"汇总表文件：{master}"]
    if s["rejected"] or s["not_a_return"]:
        lines.append(f"退回表（校验反馈表）在：{master.parent / '退回'}")
    if report.period_mistyped:
        lines.append(f"注意：{report.wrong_period} 份报表填写的期次不是第{period}期。如果是首页的“报送期次”选错了，"
                     f"请先不要发送退回表：点击“撤销上次收取”，改正报送期次后再点击“汇总”。")
    return "\n".join(lines)


def _mail_lines(refreshed) -> list[str]:
    """What 汇总 says about the office mailbox it fetched first (nothing when none is set up)."""
    if refreshed.mail_error:
        return [f"未能收取邮箱中的报表：{refreshed.mail_error}。已继续汇总收件文件夹中的报表。"]
    if refreshed.mail is None:
        return []
    m = refreshed.mail.summary()
    files = [f for f in refreshed.mail.intake.files if f.sha256]       # what the mails carried (not the mails)

    def count(*statuses: str) -> int:
        return sum(1 for f in files if f.status in statuses)

    lines = [f"邮箱：收取新邮件 {m['taken']} 封（附件 {len(files)} 个：接收 {count('accepted', 'warned')} 个，"
             f"退回 {count('rejected')} 个，非报表或无法读取 {count('not-a-return', 'unreadable')} 个，"
             f"重复 {count('duplicate')} 个）。"]
    if m["left"]:
        lines.append(f"有 {m['left']} 封邮件无法收取（没有附件或无法读取），仍留在邮箱中，请查看。")
    return lines
# ---- 撤销上次收取 -----------------------------------------------------------------------------------

@_button("撤销上次收取")
def undo_button(book: xw.Book, setup: Setup) -> str:
    """撤销上次收取: withdraw the period's last intake (kept in the archive as withdrawn) and
    refresh every sheet; the same files can then be taken in again with 汇总."""
    from ...pipeline import rebuild_master, undo_intake

    config = _config(setup)
    period = _period(book, config)
    result = undo_intake(config, period, setup.archive_path)
    if not result.done:
        raise ButtonFailure(result.lines()[0])
    out = setup.folder(_name_value(book, BookName.OUTPUT), "输出文件夹")
    _, master = rebuild_master(config, period, setup.archive_path, out,
                               inbox_folder=str(_name_value(book, BookName.INBOX) or ""),
                               output_folder=str(_name_value(book, BookName.OUTPUT) or ""))
    _fill_from_master(book, master)
    return "\n".join([*(f"{line}。" for line in result.lines()),
                      "各表已按撤销后的档案库刷新。如需重新收取：在首页改正“报送期次”（或收件文件夹）后点击“汇总”。"])


def _set_name_value(book: xw.Book, name: str, value: Any) -> None:
    try:
        target = book.names[name].refers_to_range
    except Exception:  # noqa: BLE001 - an older book without the name: nothing to keep
        return
    target.value = value


# ---- 校验 ---------------------------------------------------------------------------------------

@_button("校验")
def validate_button(book: xw.Book, setup: Setup) -> str:
    """校验: check the figures typed into the city and member-unit sheets, mark problem cells,
    refresh 校验问题, and archive the rows without errors (when the book is up to date)."""
    from ...pipeline import validate_grids

    config = _config(setup)
    period = _period(book, config)
    grids = {s.name: _grid(s) for s in book.sheets if s.name != MasterSheet.CONF}
    check = validate_grids(config, book.name, grids, period, setup.archive_path,
                           book_version=_book_version(book), record=True)
    _mark_issues(book, grids, check.issues)
    fill_sheet(book, MasterSheet.ISSUES, issue_rows(config, period, check.issues, check.return_issues,
                                                     check.return_history))
    if check.recorded:
        _set_name_value(book, BookName.ARCHIVE_VERSION, check.archive_version)
    return _validate_message(check)


def _book_version(book: xw.Book) -> Optional[int]:
    value = _name_value(book, BookName.ARCHIVE_VERSION)
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _mark_issues(book: xw.Book, grids: dict[str, list[list[Any]]], issues: list[Issue]) -> None:
    """Colour each problem cell (red: 错误, yellow: 警告) and write the messages beside the
    row, in the 校验提示 column; marks of an earlier check are cleared first."""
    by_row: dict[tuple[str, int], list[Issue]] = {}
    for issue in issues:
        if issue.sheet in grids and issue.row:
            by_row.setdefault((issue.sheet, issue.row), []).append(issue)
    for name, grid in grids.items():
        column = _message_column(grid)
        if column is None:
            continue
        sheet = book.sheets[name]
        _clear_marks(sheet, grid, column)
        rows = {row: found for (sheet_name, row), found in by_row.items() if sheet_name == name}
        if rows:
            sheet.range((_header_row(grid), column)).value = ENTRY_MESSAGE_LABEL
        for row, found in sorted(rows.items()):
            fills: dict[int, str] = {}
            for issue in found:
                if issue.column and fills.get(issue.column) != ERROR_FILL:
                    fills[issue.column] = ERROR_FILL if issue.blocking else WARNING_FILL
            for column_index, fill in sorted(fills.items()):
                sheet.range((row, column_index)).color = fill
            sheet.range((row, column)).value = _cell_value("；".join(i.message for i in found))


def _header_row(grid: list[list[Any]]) -> int:
    for r, row in enumerate(grid[:10], start=1):
        if ENTRY_CODE_LABEL in [str(v).strip() for v in row if v is not None]:
            return r
    return 0


def _message_column(grid: list[list[Any]]) -> Optional[int]:
    """1-based column of 校验提示 on an entry sheet (after its last header), None elsewhere."""
    header = _header_row(grid)
    if not header:
        return None
    labels = [str(v).strip() if v is not None else "" for v in grid[header - 1]]
    if ENTRY_MESSAGE_LABEL in labels:
        return labels.index(ENTRY_MESSAGE_LABEL) + 1
    return max(i for i, label in enumerate(labels, start=1) if label) + 1


def _clear_marks(sheet, grid: list[list[Any]], column: int) -> None:
    header = _header_row(grid)
    for r, row in enumerate(grid[header:], start=header + 1):
        if len(row) >= column and row[column - 1] not in (None, ""):
            sheet.range((r, 4), (r, column - 1)).color = CLEAR_FILL
            sheet.range((r, column)).clear_contents()


def issue_rows(config: Config, period: int, typed: list[Issue], archived: Iterable[Issue],
               history: Iterable[Issue] = ()) -> list[list[Any]]:
    """The 校验问题 sheet: title, note, header, then one row per issue (the rows the master
    workbook writes) — the typed entries' issues first, then the current ones of the period's
    returns, and apart those of returns since replaced or corrected."""
    from ...pipeline import issue_sheet_rows

    archived = list(archived)
    errors = sum(1 for i in typed + archived if i.blocking)
    return [
        [f"校验问题　第{period}期"],
        [f"当前共{len(typed) + len(archived)}条（总表手工录入 {len(typed)} 条，报表 {len(archived)} 条）；错误{errors}条。"],
        list(ISSUE_COLUMNS),
        *issue_sheet_rows(config, typed + archived, list(history)),
    ]


def _validate_message(check) -> str:
    issues = check.issues
    errors = sum(1 for i in issues if i.severity is Severity.ERROR)
    warnings = len(issues) - errors
    lines = [f"校验完成：检查了 {check.typed_units} 个单位的数据，发现错误 {errors} 处、警告 {warnings} 处。"]
    if issues:
        lines.append("有问题的单元格已标红（错误）或标黄（警告），原因写在该行的“校验提示”列，全部问题见“校验问题”表。")
        lines += [f"  {i.message}" for i in issues[:_MAX_ALERT_LINES]]
        if len(issues) > _MAX_ALERT_LINES:
            lines.append(f"  ……共 {len(issues)} 条")
    if check.recorded:
        lines.append(f"已将 {len(check.recorded)} 个单位的修改记入档案库；点击“汇总”刷新各汇总表，点击“生成简报”更新简报。")
    if check.news_recorded:
        lines.append(f"已将“{NEWS_SHEET}”表中的选用和修改（{check.news_recorded}条）记入档案库，生成简报时采用。")
    if check.note:
        lines.append(check.note.replace("请先重新汇总", "请先点击“汇总”刷新"))
    return "\n".join(lines)


# ---- 生成简报 ------------------------------------------------------------------------------------

@_button("生成简报")
def brief_button(book: xw.Book, setup: Setup) -> str:
    """生成简报: the briefing (.docx, .md, charts) of the period, from the archive — after the
    choices and edits on the 工作动态 sheet are archived (when the book is up to date)."""
    from ...pipeline import BRIEFING_FOLDER, brief_period, validate_grids

    config = _config(setup)
    period = _period(book, config)
    out = setup.folder(_name_value(book, BookName.OUTPUT), "输出文件夹") / BRIEFING_FOLDER
    news_note = ""
    if NEWS_SHEET in _sheet_names(book):
        check = validate_grids(config, book.name, {NEWS_SHEET: _grid(book.sheets[NEWS_SHEET])}, period,
                               setup.archive_path, book_version=_book_version(book), record=True)
        news_note = check.note.replace("请先重新汇总，再在新的汇总表中修改并校验", "“工作动态”表中的选用和修改未采用；"
                                       "请先点击“汇总”刷新，再重新选用") if check.note else ""
    try:
        result = brief_period(config, period, setup.archive_path, out)
    except NothingToReport:
        raise ButtonFailure(f"第{period}期还没有任何已接收的报表，未生成简报；请先把收到的报表保存到收件文件夹，"
                            "点击“汇总”收取后再生成简报") from None
    lines = [f"已生成第{period}期工作简报，保存在：{out}"] + [f"  {Path(p).name}" for p in result.paths[:2]]
    lines += [f"提示：{n}" for n in ([news_note] if news_note else []) + list(result.notes)]
    return "\n".join(lines)


# ---- 生成总结 ------------------------------------------------------------------------------------

@_button("生成总结")
def summary_button(book: xw.Book, setup: Setup) -> str:
    """生成总结: the campaign-end report (.docx, .md, charts) from the last period's figures."""
    from ...pipeline import SUMMARY_FOLDER, summarize_campaign

    config = _config(setup)
    out = setup.folder(_name_value(book, BookName.OUTPUT), "输出文件夹") / SUMMARY_FOLDER
    try:
        result = summarize_campaign(config, setup.archive_path, out)
    except NothingToReport:
        raise ButtonFailure("还没有任何已接收的报表，未生成活动总结；请先点击“汇总”收取报表后再生成总结") from None
    lines = [f"已生成活动总结（第{result.period}期汇总数据），保存在：{out}"] + [f"  {p.name}" for p in result.paths[:2]]
    if result.unmet:
        lines.append(f"未完成的目标任务：{'、'.join(result.unmet)}")
    lines += [f"提示：{n}" for n in result.notes]
    return "\n".join(lines)


# ---- 发送填报表 / 发送退回 / 发送催报 -----------------------------------------------------------------

@_button("发送填报表")
def send_forms_button(book: xw.Book, setup: Setup) -> str:
    """发送填报表: mail every reporting unit its pre-filled form (units already sent one are skipped)."""
    return _send(book, setup, "forms")


@_button("发送退回")
def send_feedback_button(book: xw.Book, setup: Setup) -> str:
    """发送退回: mail each unit whose return was sent back its 退回 text and feedback workbook."""
    return _send(book, setup, "feedback")


@_button("发送催报")
def send_reminders_button(book: xw.Book, setup: Setup) -> str:
    """发送催报: mail each unit that has not reported its 催报 text and form (once a day at most)."""
    return _send(book, setup, "reminders")


_SEND_WORDS = {"forms": "填报表", "feedback": "退回通知", "reminders": "催报通知"}


def _send(book: xw.Book, setup: Setup, kind: str) -> str:
    from ...pipeline import send_mail

    config = _config(setup)
    period = _period(book, config)
    out = setup.folder(_name_value(book, BookName.OUTPUT), "输出文件夹")
    # the forms 生成填报表 wrote, when it was clicked for this period: sent as staff saw them
    return _send_message(send_mail(config, period, kind, setup.archive_path, out / "发件",
                                   forms_dir=out / f"第{period}期填报表"))


def _send_message(report) -> str:
    s, what = report.summary(), _SEND_WORDS[report.kind]
    if not report.outcomes:
        return f"第{report.period}期没有需要发送{what}的单位。"
    lines = [f"已发出第{report.period}期{what} {s['sent']} 封。"]
    if s["already_sent"]:
        lines.append(f"此前已发过的 {s['already_sent']} 个单位未重发。")
    problems = [o for o in report.outcomes if o.status in ("refused", "failed", "no-address")]
    if problems:
        lines.append(f"有 {len(problems)} 个单位未能收到：")
        lines += [f"  {o.unit_name}：{o.reply}" for o in problems[:_MAX_ALERT_LINES]]
        if len(problems) > _MAX_ALERT_LINES:
            lines.append(f"  ……共 {len(problems)} 个")
        lines.append("再次点击本按钮只补发未发出的邮件。")
    lines += report.notices
    if report.kind == "reminders" and s["sent"]:
        lines.append("点击“汇总”可在“报送情况”中看到各单位的催报次数。")
    return "\n".join(lines)


# ---- 自检 ---------------------------------------------------------------------------------------

@_button("自检")
def selftest_button(book: xw.Book, setup: Setup) -> str:
    """自检 inside Excel: the book, its settings, the configuration and the archive folder."""
    checks = book_checks(book, setup)
    failed = [c for c in checks if not c[1]]
    lines = [f"{'通过' if ok else '失败'}  {what}{('：' + detail) if detail else ''}" for what, ok, detail in checks]
    head = "自检通过。" if not failed else f"自检发现 {len(failed)} 项问题："
    return "\n".join([head, *lines])


def book_checks(book: xw.Book, setup: Setup) -> list[tuple[str, bool, str]]:
    """(what, passed, detail) for each thing the buttons need from the book and the PC/server."""
    from .selftest import workbook_name_problem
    from .workbook import workbook_sheets

    checks: list[tuple[str, bool, str]] = []
    names = _sheet_names(book)
    try:
        config = _config(setup)
        checks.append(("配置文件", True, str(setup.config_path)))
    except XfError as exc:
        return [("配置文件", False, str(exc))]
    missing = [n for n in workbook_sheets(config) if n not in names]
    checks.append(("工作表齐全", not missing, "缺少：" + "、".join(missing) if missing else ""))
    name_problem = workbook_name_problem(str(book.name))
    checks.append(("工作簿文件名", not name_problem, name_problem))
    for name in (BookName.PERIOD, BookName.INBOX, BookName.OUTPUT):
        checks.append((f"名称 {name}", _name_value(book, name) is not None, ""))
    try:
        checks.append(("报送期次", True, f"第{_period(book, config)}期"))
    except XfError as exc:
        checks.append(("报送期次", False, str(exc)))
    archive_dir = setup.archive_path.parent
    writable = archive_dir.exists() and os.access(archive_dir, os.W_OK) or not archive_dir.exists()
    checks.append(("档案库文件夹可写", writable, str(archive_dir)))
    try:
        inbox = setup.folder(_name_value(book, BookName.INBOX), "收件文件夹")
        checks.append(("收件文件夹存在", inbox.is_dir(), str(inbox)))
    except XfError as exc:
        checks.append(("收件文件夹", False, str(exc)))
    return checks


# ---- RunPython entry points ------------------------------------------------------------------------

BUTTON_FUNCTIONS: dict[str, Callable[..., None]] = {
    "make_forms": make_forms_button,
    "validate": validate_button,
    "consolidate": consolidate_button,
    "undo": undo_button,
    "brief": brief_button,
    "summary": summary_button,
    "send_forms": send_forms_button,
    "send_feedback": send_feedback_button,
    "send_reminders": send_reminders_button,
    "selftest": selftest_button,
}
_BY_CAPTION = {"生成填报表": "make_forms", "校验": "validate", "汇总": "consolidate", "撤销上次收取": "undo",
               "生成简报": "brief", "生成总结": "summary", "发送填报表": "send_forms", "发送退回": "send_feedback", "发送催报": "send_reminders",
               "自检": "selftest"}


def main() -> None:
    """xlwings' standard quickstart call (`RunPython "import xf_excel.fronts.excel.buttons as b; b.main()"`):
    runs the operation chosen in 首页's `Command` cell. The safe fallback when only xlwings'
    own, unchanged VBA is trusted: one button, the choice in a cell."""
    book = xw.Book.caller()
    run_command(book)


def run_command(book: xw.Book, setup: Optional[Setup] = None) -> None:
    """Dispatch on the `Command` cell (a caption such as 汇总, or a key such as consolidate)."""
    chosen = str(_name_value(book, BookName.COMMAND) or "").strip()
    key = _BY_CAPTION.get(chosen, chosen)
    if key not in BUTTON_FUNCTIONS:
        _alert(book, f"首页“备用操作”中的“{chosen}”不是可执行的操作；请选择：{'、'.join(_BY_CAPTION)}", "xf-excel",
               critical=True)
        return
    BUTTON_FUNCTIONS[key](book, setup)


if __name__ == "__main__":  # pragma: no cover - debugging from Python against an open workbook
    xw.Book("workbook/xf-excel.xlsm").set_mock_caller()
    main()
