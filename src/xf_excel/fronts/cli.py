"""The command line: parse arguments, call one library function, render, pick an exit code.

Exit status: 0 done; 1 done, with returns rejected or issues found (or nothing to work on);
2 could not run. No business logic lives here: every command calls `xf_excel.pipeline`.

Everything it prints is Chinese, click's own words too (`clickzh`). `--config`, `--archive`
and `--json` work before or after the command (`xf-excel intake inbox --period 2 --archive
x.sqlite`): `_Group` gives every command, including those other modules register, the
three options and Chinese metavars. One boundary (`_Group.main`) turns every failure into
a Chinese message and an exit status — with `--json`, also a JSON object on stdout — and an
unexpected error's traceback goes to the log beside the archive, never to the screen.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import click

from .. import __version__
from ..config import Config, load_config
from ..errors import ConfigError, NothingToReport, XfError, describe_os_error
from ..wording import fmt_date_cn, fmt_percent, fmt_value
from . import clickzh
from .logbook import log_beside, log_traceback

clickzh.install()   # before any option below is made: click words some texts when an option is created

EXIT_OK, EXIT_ISSUES, EXIT_CANNOT_RUN = 0, 1, 2
DEFAULT_CONFIG, DEFAULT_ARCHIVE, DEFAULT_OUT = "config.yaml", "data/xf.sqlite", "out"


class _Context:
    def __init__(self, config_path: str, archive: str, as_json: bool):
        self.config_path = config_path
        self.archive = archive
        self.as_json = as_json
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    def emit(self, payload: dict[str, Any], text: str) -> None:
        """Print the human summary, or the JSON payload with --json."""
        if self.as_json:
            click.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str), file=_result_stream())
        else:
            click.echo(text)


_RESULT_STREAMS: list[Any] = []     # the real stdout, while --json keeps it for the JSON document alone


@contextlib.contextmanager
def _stdout_for_json_only(as_json: bool) -> Iterator[None]:
    """With --json, whatever prints while the command runs (openpyxl prints on some files) goes
    to stderr; only the JSON document reaches stdout (`_result_stream`)."""
    if not as_json:
        yield
        return
    _RESULT_STREAMS.append(sys.stdout)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        _RESULT_STREAMS.pop()


def _result_stream() -> Any:
    return _RESULT_STREAMS[-1] if _RESULT_STREAMS else sys.stdout


# ---- options every command takes, before or after its name ------------------------------------

def _remember(attribute: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    """A callback that stores an option given after the command on the shared `_Context`."""

    def store(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        obj = ctx.find_object(_Context)
        if obj is not None and value not in (None, False):
            setattr(obj, attribute, value)
            obj._config = None if attribute == "config_path" else obj._config

    return store


_SHARED_HELP = {
    "config": f"配置文件（默认 ./{DEFAULT_CONFIG}）。",
    "archive": f"档案库文件（默认 {DEFAULT_ARCHIVE}）：收到的每个文件、每份报表、每个问题都存在这里。",
    "json": "以 JSON 输出结果（供程序读取）；出错时也输出 JSON。",
}


def _shared_options() -> list[click.Option]:
    """--config, --archive, --json for a command (given there, they override the group's)."""
    return [
        click.Option(["--config", "config_path"], default=None, metavar="文件", expose_value=False,
                     callback=_remember("config_path"), help=_SHARED_HELP["config"]),
        click.Option(["--archive"], default=None, metavar="文件", expose_value=False,
                     callback=_remember("archive"), help=_SHARED_HELP["archive"]),
        click.Option(["--json", "as_json"], is_flag=True, default=False, expose_value=False,
                     callback=_remember("as_json"), help=_SHARED_HELP["json"]),
    ]


def _metavar(param: click.Parameter) -> str:
    """A Chinese placeholder for a value, by its type (click's own are English: INTEGER, TEXT)."""
    kind = param.type
    if isinstance(kind, click.Path):
        return "文件" if not kind.dir_okay else ("文件夹" if not kind.file_okay else "路径")
    if isinstance(kind, click.DateTime):
        return "日期"
    return {"integer": "整数", "float": "数字"}.get(kind.name, "文字")


def _prepare(command: click.Command) -> click.Command:
    """Give a command (and a group's commands) the shared options and Chinese metavars, once."""
    if getattr(command, "_xf_prepared", False):
        return command
    command._xf_prepared = True
    names = {name for param in command.params for name in param.opts}
    if command is not main and "--archive" not in names:
        command.params.extend(_shared_options())
    command.options_metavar = "[选项]"
    command.context_class = _ClickContext
    for param in command.params:
        if param.metavar is None and not getattr(param, "is_flag", False) \
                and not isinstance(param.type, click.Choice):
            param.metavar = _metavar(param)
    if isinstance(command, click.Group):
        command.subcommand_metavar = "命令 [参数]..."
        for sub in command.commands.values():
            _prepare(sub)
    return command


class _Formatter(click.HelpFormatter):
    """Help pages with Chinese punctuation: "用法：", "选项：" (click writes "Usage: ", "Options:")."""

    def write_usage(self, prog: str, args: str = "", prefix: Optional[str] = None) -> None:
        super().write_usage(prog, args, prefix="用法：" if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{heading}：\n")


class _ClickContext(click.Context):
    formatter_class = _Formatter


# ---- the boundary ---------------------------------------------------------------------------------

class _Failure(click.ClickException):
    """A library error or an unexpected one, as the Chinese message the user reads."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


def _hint(exc: XfError) -> str:
    """What to do, in the command line's terms (the library's messages name no front)."""
    if isinstance(exc, ConfigError) and exc.missing:
        return "\n请在配置文件所在的文件夹中运行，或用 --config 指定配置文件"
    return ""


class _Group(click.Group):
    """The command group: shared options on every command, and the error boundary."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> Optional[click.Command]:
        command = super().get_command(ctx, cmd_name)
        return _prepare(command) if command is not None else None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except NothingToReport as exc:
            raise _Failure(str(exc), EXIT_ISSUES) from None
        except XfError as exc:
            raise _Failure(f"{exc}{_hint(exc)}", EXIT_CANNOT_RUN) from None
        except OSError as exc:       # a full disk, a read-only folder, a file open in Excel
            obj = ctx.find_object(_Context)
            log_traceback(log_beside(obj.archive if obj else DEFAULT_ARCHIVE), "命令行", traceback.format_exc())
            raise _Failure(describe_os_error(exc), EXIT_CANNOT_RUN) from None
        except Exception:  # noqa: BLE001 - the boundary: no traceback reaches a user
            raise _unexpected(ctx.find_object(_Context)) from None

    def main(self, args: Any = None, prog_name: Optional[str] = None, complete_var: Optional[str] = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        """Run the command line; every outcome ends as an exit status (or a return value
        when not `standalone_mode`), every failure as a Chinese message."""
        clickzh.install()
        _prepare(self)
        args = list(sys.argv[1:] if args is None else args)
        as_json = "--json" in (args[:args.index("--")] if "--" in args else args)
        with _stdout_for_json_only(as_json):
            try:
                code = super().main(args, prog_name=prog_name or "xf-excel", complete_var=complete_var,
                                    standalone_mode=False, **extra)
            except click.ClickException as exc:
                code = _report(exc, as_json)
            except click.Abort:
                code = _report(_Failure(clickzh.translate("Aborted!"), EXIT_CANNOT_RUN), as_json)
            except Exception:  # noqa: BLE001 - the last resort, e.g. a failure while parsing
                code = _report(_unexpected(None), as_json)
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else EXIT_OK)


def _full_stop(text: str) -> str:
    return text[:-1] + "。" if text.endswith(".") else text


def _unexpected(obj: Optional[_Context]) -> _Failure:
    where = log_traceback(log_beside(obj.archive if obj else DEFAULT_ARCHIVE), "命令行", traceback.format_exc())
    return _Failure(f"出现意外错误，操作未完成。详细信息已写入日志：{where}\n请把该日志发给信息化人员。", EXIT_CANNOT_RUN)


def _report(exc: click.ClickException, as_json: bool) -> int:
    """Show a failure: the Chinese message on stderr; with --json also a JSON object on stdout."""
    worded = exc.format_message
    exc.format_message = lambda: _full_stop(worded())   # click ends some messages with an English "."
    if as_json:
        click.echo(json.dumps({"ok": False, "exit_code": exc.exit_code, "error": exc.format_message()},
                              ensure_ascii=False, indent=2), file=_result_stream())
    exc.show()
    return exc.exit_code


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="xf-excel", help="显示版本号并退出。",
                      message="%(prog)s 版本 %(version)s")
@click.option("--config", "config_path", default=DEFAULT_CONFIG, show_default=True, metavar="文件",
              help="配置文件：活动、期次、填报单位、指标、规则、目标。")
@click.option("--archive", default=DEFAULT_ARCHIVE, show_default=True, metavar="文件",
              help="档案库文件：收到的每个文件、每份报表、每个问题都存在这里。")
@click.option("--json", "as_json", is_flag=True, help=_SHARED_HELP["json"])
@click.pass_context
def main(ctx: click.Context, config_path: str, archive: str, as_json: bool) -> None:
    """xf-excel：下发填报表、收取报表、校验、汇总和工作简报。

    --config、--archive、--json 可写在命令之前或之后。

    退出状态：0 完成；1 完成，但有报表被退回或发现问题；2 无法运行。

    \b
    示例：
      xf-excel demo --out out/demo
      xf-excel intake inbox/第2期 --period 2
    """
    ctx.obj = _Context(config_path, archive, as_json)


@main.group("config")
def config_group() -> None:
    """检查配置文件。

    \b
    示例：
      xf-excel config check --config config.yaml
    """


@config_group.command("check")
@click.pass_obj
def config_check(obj: _Context) -> None:
    """检查 config.yaml，并列出期次、填报单位、指标和目标。

    \b
    示例：
      xf-excel config check
    """
    from ..pipeline import config_summary

    summary = config_summary(obj.config)
    obj.emit(summary, _render_config_summary(summary))


def _render_config_summary(s: dict[str, Any]) -> str:
    lines = [f"{s['campaign']}（{s['start']} 至 {s['end']}）配置有效", "",
             f"报送期次 {len(s['periods'])} 期："]
    lines += [f"  第{p['number']}期  截至 {p['cutoff']}  报送截止 {p['deadline']}" for p in s["periods"]]
    levels = s["levels"]
    lines += ["", f"填报单位 {s['units']['total']} 个：{levels['county']} {s['units']['counties']} 个"
              f"（{s['units']['cities']} 个{levels['city']}），{levels['member']} {s['units']['members']} 个"]
    lines += ["", "指标（填报 / 计算）："]
    lines += [f"  {a['name']}：{a['reported']} / {a['derived']}" for a in s["activities"]]
    lines += ["", f"目标任务 {len(s['targets'])} 项："]
    lines += [f"  {t['name']} {t['op']} {t['value']}{t['unit']}（{t['scope']}）" for t in s["targets"]]
    lines += ["", f"校验规则 {s['rules']} 条；明细表 {', '.join(s['details'])}"]
    lines += ["", *_render_contacts(s["contacts"]), *_render_mail(s["mail"])]
    return "\n".join(lines)


def _render_contacts(contacts: dict[str, Any]) -> list[str]:
    missing = contacts["missing"]
    head = f"联系邮箱：已登记 {contacts['registered']} 个单位"
    if not missing:
        return [head]
    shown = "、".join(missing[:10]) + (f"等 {len(missing)} 个" if len(missing) > 10 else "")
    return [f"{head}，未登记 {len(missing)} 个（无法向其发送邮件）：{shown}"]


def _render_mail(mail: dict[str, Any] | None) -> list[str]:
    if mail is None:
        return ["办公邮箱：未配置（收到的附件需手工保存到收件文件夹）"]
    return [f"办公邮箱：{mail['address']}（登录名 {mail['login']}，密码取自{mail['password']}）",
            f"  收件：{mail['imap'] or '未配置'}", f"  发件：{mail['smtp'] or '未配置'}"]


class _Progress:
    """A progress bar on stderr for long batches (hidden with --json or for short ones)."""

    def __init__(self, label: str, enabled: bool):
        self.label, self.enabled, self.bar = label, enabled, None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total < 20:
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.bar.pos)
        if done >= total:
            self.bar.__exit__(None, None, None)


@main.command()
@click.option("--period", "-p", type=int, required=True, metavar="期次", help="报送期次。")
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False),
              help="填报表写入的文件夹（默认 out/第N期填报表）。")
@click.pass_obj
def forms(obj: _Context, period: int, out_dir: Optional[str]) -> None:
    """为每个填报单位生成本期填报表，预填上期已接收的数字。

    \b
    示例：
      xf-excel forms --period 2 --out out/第2期填报表
    """
    from ..pipeline import make_forms

    out_dir = out_dir or str(Path(DEFAULT_OUT) / f"第{period}期填报表")
    result = make_forms(obj.config, period, out_dir, obj.archive, progress=_Progress("生成填报表", not obj.as_json))
    obj.emit({**result.to_dict(), "out": out_dir},
             "\n".join([f"已生成第{period}期填报表 {len(result.paths)} 份：{Path(out_dir).resolve()}",
                        *[f"提示：{n}" for n in result.notes]]))


@main.command()
@click.argument("inbox", type=click.Path(file_okay=False), metavar="收件文件夹")
@click.option("--period", "-p", type=int, required=True, metavar="期次", help="这批报表所属的报送期次。")
@click.option("--feedback", "feedback_dir", default="out/退回", show_default=True, type=click.Path(file_okay=False),
              help="退回表（反馈表）写入的文件夹。")
@click.option("--again", multiple=True, metavar="文件",
              help="有意重新收取这个文件（被跳过的，或此前已收取过的）；可重复给出。")
@click.pass_obj
def intake(obj: _Context, inbox: str, period: int, feedback_dir: str, again: tuple[str, ...]) -> None:
    """收取收件文件夹中的报表：逐一读取、校验、存档，有问题的生成退回表。

    \b
    示例：
      xf-excel intake inbox/第2期 --period 2
      xf-excel intake inbox/第2期 --period 2 --again 第2期_南宁市_武鸣区.xlsx
    """
    from ..pipeline import intake_inbox

    report = intake_inbox(obj.config, inbox, period, obj.archive, feedback_dir,
                          progress=_Progress("收取报表", not obj.as_json), again=again)
    obj.emit(report.to_dict(), render_intake(report))
    click.get_current_context().exit(EXIT_OK if report.ok and not report.empty else EXIT_ISSUES)


@main.command("undo")
@click.option("--period", "-p", type=int, required=True, metavar="期次", help="撤销哪一期的最近一次收取。")
@click.pass_obj
def undo_cmd(obj: _Context, period: int) -> None:
    """撤销本期最近一次收取：这次收取的报表作废（仍保存在档案库中，标记为已撤销），之后可以重新收取同一批文件。

    \b
    示例：
      xf-excel undo --period 4
    """
    from ..pipeline import undo_intake

    result = undo_intake(obj.config, period, obj.archive)
    lines = result.lines()
    if result.done:
        lines.append(f"重新收取：xf-excel intake {result.batch.inbox} --period <正确的期次>")
    obj.emit(result.to_dict(), "\n".join(lines))
    click.get_current_context().exit(EXIT_OK if result.done else EXIT_ISSUES)


def _wrong_period_hint(report) -> list[str]:
    if not report.period_mistyped:
        return []
    return [f"提示：{report.wrong_period} 份报表填写的期次不是第{report.period}期。如果是本次收取时期次选错了，"
            f"请运行 xf-excel undo --period {report.period} 撤销本次收取，再按正确的期次重新收取"]


def render_intake(report) -> str:
    """The human summary of an intake: counts (what was skipped and why, what was taken in
    before), then one line per file that needs attention."""
    s = report.summary()
    if report.empty:
        return "\n".join([f"第{report.period}期未收取任何文件：收件文件夹 {report.inbox} 是空的。",
                          "请先把收到的附件（或整封邮件）保存到该文件夹，再重新收取。"])
    before = f"（其中此前已收取 {s['taken_before']} 个，结果照录于下）" if s["taken_before"] else ""
    skipped = f"（{_skip_counts(report)}）" if s["skipped"] else ""
    lines = [f"第{report.period}期收取完成：文件 {s['files']} 个，接收 {s['accepted']} 个（其中有警告 {s['warned']} 个），"
             f"退回 {s['rejected']} 个，非报表或无法读取 {s['not_a_return']} 个，重复 {s['duplicate']} 个{before}，"
             f"跳过 {s['skipped']} 个{skipped}"]
    for f in report.files:
        if f.result in ("rejected", "not-a-return", "unreadable"):
            more = f"（共 {len(f.issues)} 个问题）" if len(f.issues) > 1 else ""
            first = f.issues[0].message if f.issues and f.earlier is None else f.message
            lines.append(f"  ✗ {f.display}：{first}{more}")
            if f.feedback:
                lines.append(f"      退回表：{f.feedback}")
        elif f.status == "skipped":
            lines.append(f"  – {f.issues[0].message}")
    if s["skipped"] or s["taken_before"]:
        lines.append("如需收取被跳过或此前已收取的文件，请加 --again 文件名 重新运行。")
    lines += [f"提示：{notice}" for notice in report.notices]
    lines += _wrong_period_hint(report)
    return "\n".join(lines)


def _skip_counts(report) -> str:
    """'临时文件 2 个、隐藏文件 1 个': what was skipped, by kind (the skip issue's value)."""
    kinds: dict[str, int] = {}
    for f in report.files:
        if f.status == "skipped":
            kind = str(f.issues[0].value or "其他") if f.issues else "其他"
            kinds[kind] = kinds.get(kind, 0) + 1
    return "、".join(f"{kind} {n} 个" for kind, n in kinds.items())


@main.command()
@click.option("--period", "-p", type=int, required=True, metavar="期次", help="报送期次。")
@click.option("--out", "out_file", default=None, type=click.Path(dir_okay=False),
              help="同时把报送情况保存为文本文件（记事本可直接打开）。")
@click.pass_obj
def status(obj: _Context, period: int, out_file: str | None) -> None:
    """报送情况：谁已报送、谁未报送（附催报文字）、谁被退回。

    \b
    示例：
      xf-excel status --period 2 --out out/报送情况_第2期.txt
    """
    from ..pipeline import status_report, write_text_file

    report = status_report(obj.config, period, obj.archive)
    text = report.text
    if out_file:
        text += f"\n\n已保存到 {write_text_file(out_file, report.text + chr(10))}"
    obj.emit(report.to_dict(), text)
    click.get_current_context().exit(EXIT_OK if report.complete else EXIT_ISSUES)


@main.command("consolidate")
@click.option("--period", "-p", type=int, required=True, metavar="期次", help="报送期次。")
@click.option("--out", "out_file", default=None, type=click.Path(dir_okay=False),
              help="汇总表写入的文件（默认 out/汇总_第N期.xlsx）。")
@click.pass_obj
def consolidate_cmd(obj: _Context, period: int, out_file: str | None) -> None:
    """按档案库逐级汇总（县 → 市 → 全区），写出汇总表。

    \b
    示例：
      xf-excel consolidate --period 2 --out out/汇总_第2期.xlsx
    """
    from ..pipeline import consolidate_period, master_filename, write_master_workbook

    c = consolidate_period(obj.config, period, obj.archive)
    path = write_master_workbook(c, out_file or Path(DEFAULT_OUT) / master_filename(obj.config, period))
    obj.emit({"period": period, "master": str(path), "region": c.region.values},
             f"已写出第{period}期汇总表：{path}")


@main.command("validate-book")
@click.argument("book", type=click.Path(dir_okay=False), metavar="汇总表")
@click.option("--period", "-p", type=int, default=None, metavar="期次", help="报送期次（默认读取汇总表首页上的期次）。")
@click.option("--record", is_flag=True, help="把没有错误的修改作为手工录入记入档案库，连同“工作动态”表中的选用和修改。")
@click.pass_obj
def validate_book_cmd(obj: _Context, book: str, period: int | None, record: bool) -> None:
    """校验在汇总表各市、各成员单位工作表中手工录入或修改的数字。

    \b
    示例：
      xf-excel validate-book out/汇总_第2期.xlsx --record
    """
    from ..pipeline import validate_book

    check = validate_book(obj.config, book, obj.archive, period=period, record=record)
    lines = [f"校验 {check.file}（第{check.period}期）：{check.typed_units} 个单位的数据，发现问题 {len(check.issues)} 处"]
    lines += [f"  [{i.severity.value}] {i.cell}：{i.message}" for i in check.issues]
    if record:
        lines.append(f"已记入档案库 {len(check.recorded)} 个单位的修改、“工作动态”表的选用和修改 {check.news_recorded} 条"
                     if not check.note else f"提示：{check.note}")
    obj.emit(check.to_dict(), "\n".join(lines))
    click.get_current_context().exit(EXIT_ISSUES if check.issues or check.note else EXIT_OK)


@main.command("brief")
@click.option("--period", "-p", type=int, required=True, metavar="期次", help="报送期次。")
@click.option("--out", "out_dir", default="out/简报", show_default=True, type=click.Path(file_okay=False),
              help="简报写入的文件夹。")
@click.option("--date", "issue_date", type=click.DateTime(["%Y-%m-%d"]), default=None, metavar="日期",
              help="报头上的印发日期，如 2020-09-18（默认今天）。")
@click.pass_obj
def brief_cmd(obj: _Context, period: int, out_dir: str, issue_date) -> None:
    """生成本期工作简报：Word（.docx）、Markdown 和图表。

    “各地动态”采用汇总表“工作动态”表中选用的条目（先用 validate-book --record 记入档案库）；
    尚未选用时，默认选用本期增加最多的3个市各一条。

    \b
    示例：
      xf-excel brief --period 2 --out out/简报
    """
    from ..pipeline import brief_period

    result = brief_period(obj.config, period, obj.archive, out_dir, issue_date=issue_date.date() if issue_date else None)
    paths = [str(p) for p in result.paths]
    notes = list(result.notes)
    obj.emit({"period": period, "files": paths, "notes": notes},
             "\n".join([f"已生成第{period}期简报："] + [f"  {p}" for p in paths] + [f"  提示：{n}" for n in notes]))


@main.command("summary")
@click.option("--out", "out_dir", default="out/活动总结", show_default=True, type=click.Path(file_okay=False),
              help="活动总结写入的文件夹。")
@click.option("--date", "issue_date", type=click.DateTime(["%Y-%m-%d"]), default=None, metavar="日期",
              help="报头上的印发日期，如 2020-10-10（默认取配置 campaign.summary.date，未配置则为今天）。")
@click.pass_obj
def summary_cmd(obj: _Context, out_dir: str, issue_date) -> None:
    """生成活动总结（成果展示材料）：Word（.docx）、Markdown 和图表，数据取最后一期汇总。

    \b
    示例：
      xf-excel summary --out out/活动总结
    """
    from ..pipeline import summarize_campaign

    result = summarize_campaign(obj.config, obj.archive, out_dir, issue_date=issue_date.date() if issue_date else None)
    lines = [f"已生成活动总结（第{result.period}期汇总数据）："] + [f"  {p}" for p in result.paths]
    lines.append(f"  方案确定的{len(result.met) + len(result.unmet) + len(result.no_data)}项量化目标中，"
                 f"已完成{len(result.met)}项" + (f"，未完成：{'、'.join(result.unmet)}" if result.unmet else "")
                 + (f"，暂无数据：{'、'.join(result.no_data)}" if result.no_data else ""))
    lines += [f"  提示：{n}" for n in result.notes]
    obj.emit(result.to_dict(), "\n".join(lines))


@main.command("run")
@click.argument("inbox", type=click.Path(file_okay=False), metavar="收件文件夹")
@click.option("--period", "-p", type=int, required=True, metavar="期次", help="报送期次。")
@click.option("--out", "out_dir", default=DEFAULT_OUT, show_default=True, type=click.Path(file_okay=False),
              help="退回表、汇总表和简报写入的文件夹。")
@click.pass_obj
def run_cmd(obj: _Context, inbox: str, period: int, out_dir: str) -> None:
    """每周的全部工作：收取报表、汇总、写出汇总表和简报。

    \b
    示例：
      xf-excel run inbox/第2期 --period 2 --out out/第2期
    """
    from ..pipeline import run_week

    result = run_week(obj.config, inbox, period, obj.archive, out_dir, progress=_Progress("收取报表", not obj.as_json))
    text = "\n".join([render_intake(result.intake), f"汇总表：{result.master}",
                      *[f"简报：{p}" for p in result.briefing.paths], *[f"提示：{n}" for n in result.briefing.notes]])
    obj.emit(result.to_dict(), text)
    click.get_current_context().exit(EXIT_OK if result.intake.ok else EXIT_ISSUES)


@main.command("fetch-mail")
@click.option("--period", "-p", type=int, required=True, help="收到的报表所属的报送期次。")
@click.option("--feedback", "feedback_dir", default="out/退回", show_default=True, help="校验反馈表所在文件夹。")
@click.pass_obj
def fetch_mail_cmd(obj: _Context, period: int, feedback_dir: str) -> None:
    """收取办公邮箱（IMAP）中的新邮件，如同收取收件文件夹中的报表。

    每封邮件先整封存档，再与收件文件夹中的 .eml 文件一样读取、校验、存档并写出反馈表，然后在邮箱中
    标记为已收取（不标为已读）；同一封邮件不会收取两次；没有附件的邮件报告后留在邮箱中。

    \b
    示例：
      XF_MAIL_PASSWORD=… xf-excel fetch-mail --period 2
    """
    from ..pipeline import fetch_mail

    fetched = fetch_mail(obj.config, period, obj.archive, feedback_dir, progress=_Progress("收取报表", not obj.as_json))
    obj.emit(fetched.to_dict(), render_fetch(fetched))
    click.get_current_context().exit(EXIT_OK if fetched.ok else EXIT_ISSUES)


def render_fetch(fetched) -> str:
    """The human summary of a fetch: the messages, then the intake of what they carried."""
    s = fetched.summary()
    lines = [f"收取邮件（{fetched.mailbox}）：新邮件 {s['messages']} 封，本次收取 {s['taken']} 封，"
             f"此前已收取 {s['known']} 封，未能收取 {s['left']} 封（仍在邮箱中）"]
    for m in fetched.messages:
        if m.status == "left":
            lines.append(f"  ✗ 邮件「{m.subject or '无主题'}」（{m.sender or '发件人不明'}）：{m.note}")
    lines += [f"提示：{notice}" for notice in fetched.notices]
    if fetched.intake.files:
        lines.append(render_intake(fetched.intake))
    return "\n".join(lines)


@main.command("send")
@click.argument("kind", type=click.Choice(["forms", "feedback", "reminders"]))
@click.option("--period", "-p", type=int, required=True, help="报送期次。")
@click.option("--out", "out_dir", default="out/发件", show_default=True,
              help="附件（填报表、反馈表）及 --dry-run 写出的 .eml 文件所在文件夹。")
@click.option("--dry-run", is_flag=True, help="只把每封邮件写成 .eml 文件供查看，不发送。")
@click.option("--again", is_flag=True, help="已发过的单位也再发一次。")
@click.option("--unit", "units", multiple=True, help="只发给这个单位（单位代码），可重复。")
@click.option("--forms", "forms_dir", default=None, help="已生成的本期填报表所在文件夹（有则直接附上，否则现生成）。")
@click.pass_obj
def send_cmd(obj: _Context, kind: str, period: int, out_dir: str, dry_run: bool, again: bool,
             units: tuple[str, ...], forms_dir: str | None) -> None:
    """用办公邮箱向各单位逐一发送填报表、退回通知或催报通知。

    forms：每个填报单位，附本单位填报表；feedback：报表被退回的单位，附退回通知和校验反馈表；
    reminders：尚未报送的单位，附催报通知和填报表（每天最多一次）。已发过的不会重发；
    --dry-run 只写出 .eml 文件供查看。

    \b
    示例：
      xf-excel send --period 2 forms --dry-run
      xf-excel send --period 2 reminders
    """
    from ..pipeline import send_mail

    report = send_mail(obj.config, period, kind, obj.archive, out_dir, dry_run=dry_run, again=again,
                       units=list(units) or None, forms_dir=forms_dir, progress=_Progress("发送邮件", not obj.as_json))
    obj.emit(report.to_dict(), render_send(report, Path(out_dir)))
    click.get_current_context().exit(EXIT_OK if report.ok else EXIT_ISSUES)


_KIND_WORDS = {"forms": "填报表", "feedback": "退回反馈", "reminders": "催报"}


def render_send(report, out_dir: Path) -> str:
    """The human summary of a send: counts, then one line per unit that did not get its mail."""
    s, what = report.summary(), _KIND_WORDS[report.kind]
    if report.dry_run:
        head = (f"第{report.period}期{what}邮件：已写出 {s['written']} 封待发邮件（.eml，未发送）到 "
                f"{(out_dir / f'第{report.period}期').resolve()}")
    else:
        head = f"第{report.period}期{what}邮件：发出 {s['sent']} 封，被拒收 {s['refused']} 封，未能发送 {s['failed']} 封"
    head += f"；此前已发过 {s['already_sent']} 个单位，未登记邮箱 {s['no_address']} 个单位"
    if not report.outcomes:
        head += "（没有需要发送的单位）"
    lines = [head]
    for o in report.outcomes:
        if o.status in ("refused", "failed", "no-address"):
            lines.append(f"  ✗ {o.unit_name}：{o.reply}")
    lines += [f"提示：{notice}" for notice in report.notices]
    return "\n".join(lines)


@main.command()
@click.option("--out", "out_dir", default="out/demo", show_default=True, type=click.Path(file_okay=False),
              help="演示写出全部文件的文件夹。")
@click.option("--seed", default=2020, show_default=True, metavar="整数", help="模拟的随机种子（种子相同，模拟结果相同）。")
@click.option("--periods", default=None, metavar="期次", help="要模拟的期次，如 1-3 或 1,2（默认全部）。")
@click.option("--units", type=int, default=None, metavar="个数", help="只模拟前 N 个县（默认全部）。")
@click.option("--mail", is_flag=True, help="收发邮件走本机启动的邮件服务器（SMTP 与 Dovecot IMAP，需安装 dovecot-imapd）。")
@click.pass_obj
def demo(obj: _Context, out_dir: str, seed: int, periods: str | None, units: int | None, mail: bool) -> None:
    """用模拟的报表把整个活动月走一遍（真实流程，不需要 Excel）。

    \b
    示例：
      xf-excel demo --out out/demo --seed 7 --periods 1-3 --units 30
    """
    from ..demo.run import run_demo

    chosen = _parse_periods(periods) if periods else None
    if not obj.as_json:
        click.echo(f"模拟{obj.config.campaign.name}：{len(chosen or obj.config.periods)} 期，输出到 {Path(out_dir).resolve()}")
    results = run_demo(obj.config, out_dir, seed=seed, periods=chosen, units=units, mail=mail,
                       on_period=None if obj.as_json else lambda r: click.echo(render_demo_period(r)))
    payload = {"out": out_dir, "periods": [{
        "period": r.period, "forms": r.forms, "intake": [i.summary() for i in r.intake], "master": str(r.master),
        "briefing": [str(p) for p in r.briefing.paths], "notes": r.briefing.notes,
        "summary": [str(p) for p in r.summary.paths] if r.summary else [],
        "region": r.consolidation.region.values} for r in results]}
    obj.emit(payload, render_demo_summary(results, Path(out_dir)))


def _parse_periods(text: str) -> list[int]:
    numbers: list[int] = []
    try:
        for part in text.split(","):
            first, _, last = part.partition("-")
            numbers += list(range(int(first), int(last or first) + 1))
    except ValueError:
        raise click.BadParameter(f"“{text}”应写成 1-3 或 1,2 这样的期次", param_hint="'--periods'") from None
    return numbers


def render_demo_period(r) -> str:
    received = sum(i.summary()["files"] for i in r.intake)
    rejected = sum(i.summary()["rejected"] for i in r.intake)
    states = [s.state for s in r.consolidation.reporting]
    line = (f"  第{r.period}期：发出填报表 {r.forms} 份，收到文件 {received} 个，退回 {rejected} 个；"
            f"应报 {len(states)} 个，已报 {states.count('accepted') + states.count('warned')} 个，"
            f"退回待重报 {states.count('rejected')} 个，未报 {states.count('missing')} 个")
    mail = [_render_demo_mail(r)] if r.sent or r.fetched else []
    return "\n".join([line, *mail, *[f"    提示：{n}" for n in r.briefing.notes]])


def _render_demo_mail(r) -> str:
    sent = {report.kind: report.summary()["sent"] for report in r.sent}
    taken = sum(f.summary()["taken"] for f in r.fetched)
    left = sum(f.summary()["left"] for f in r.fetched)
    return (f"      邮件：发出填报表 {sent.get('forms', 0)} 封、退回 {sent.get('feedback', 0)} 封、"
            f"催报 {sent.get('reminders', 0)} 封；从邮箱收取 {taken} 封" + (f"（{left} 封无法收取，留在邮箱中）" if left else ""))


def render_demo_summary(results, out_dir: Path) -> str:
    last = results[-1]
    c = last.consolidation
    lines = ["", f"演示完成。第{last.period}期（截至{fmt_date_cn(c.period.cutoff)}）{c.region.name}进展："]
    for p in c.progress:
        if p.value is None:
            continue
        shown = fmt_value(p.value, p.indicator.kind, p.indicator.unit)
        done = f"，完成 {fmt_percent(p.completion)}" if p.completion is not None else ""
        lines.append(f"  {p.indicator.name}：{shown}{done}")
    lines += ["", "查看：",
              f"  汇总表    {last.master}",
              *[f"  简报      {p}" for p in last.briefing.paths[:2]],
              *[f"  活动总结  {p}" for p in (last.summary.paths[:2] if last.summary else [])],
              f"  退回表    {last.folder / '3_退回'}",
              f"  收件箱    {last.folder / '2_收件箱'}",
              f"  档案库    {out_dir / '档案库.sqlite'}"]
    return "\n".join(lines)


def _register_excel_commands() -> None:
    from .excel.commands import COMMANDS

    for command in COMMANDS:
        main.add_command(command)


_register_excel_commands()


def run() -> None:
    """The `xf-excel` program (pyproject's entry point): `main`, then a prompt exit.

    When a command returns, all it wrote is closed (archive, workbooks, documents and the log
    are written inside `with` blocks); what is left is the interpreter tearing down the
    libraries' objects — ~0.3 s after a weekly job (issue 20's benchmark), which nobody
    should wait for. So the standard streams are flushed and the process ends there."""
    code = main.main(standalone_mode=False)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code if isinstance(code, int) else EXIT_OK)


if __name__ == "__main__":  # pragma: no cover
    run()
