"""The command line: parse arguments, call one library function, render, pick an exit code.

Exit status: 0 done; 1 done, with returns rejected or issues found; 2 could not run.
No business logic lives here: every command calls `xf_excel.pipeline`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from . import __version__
from .config import Config, load_config
from .errors import XfError

EXIT_OK, EXIT_ISSUES, EXIT_CANNOT_RUN = 0, 1, 2


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
            click.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str))
        else:
            click.echo(text)


class _Group(click.Group):
    """Turns fatal library errors into a one-line Chinese message and exit status 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except XfError as exc:
            click.echo(f"错误：{exc}", err=True)
            ctx.exit(EXIT_CANNOT_RUN)
        except KeyError as exc:  # a period or unit not in config
            click.echo(f"错误：{exc.args[0] if exc.args else exc}", err=True)
            ctx.exit(EXIT_CANNOT_RUN)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="xf-excel")
@click.option("--config", "config_path", default="config.yaml", show_default=True, help="Campaign configuration file.")
@click.option("--archive", default="data/xf.sqlite", show_default=True, help="SQLite archive (the system of record).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable result on stdout.")
@click.pass_context
def main(ctx: click.Context, config_path: str, archive: str, as_json: bool) -> None:
    """xf-excel: forms out, returns in, checks, consolidation and the weekly briefing.

    \b
    Example:
      xf-excel demo --out out/demo
    """
    ctx.obj = _Context(config_path, archive, as_json)


@main.group("config")
def config_group() -> None:
    """Check the campaign configuration.

    \b
    Example:
      xf-excel --config config.yaml config check
    """


@config_group.command("check")
@click.pass_obj
def config_check(obj: _Context) -> None:
    """Validate config.yaml and print a summary (periods, units, indicators, targets).

    \b
    Example:
      xf-excel config check
    """
    from .pipeline import config_summary

    summary = config_summary(obj.config)
    obj.emit(summary, _render_config_summary(summary))


def _render_config_summary(s: dict[str, Any]) -> str:
    lines = [f"{s['campaign']}（{s['start']} 至 {s['end']}）配置有效", "",
             f"报送期次 {len(s['periods'])} 期："]
    lines += [f"  第{p['number']}期  截至 {p['cutoff']}  报送截止 {p['deadline']}" for p in s["periods"]]
    lines += ["", f"填报单位 {s['units']['total']} 个：县级 {s['units']['counties']} 个（{s['units']['cities']} 个市），"
              f"成员单位 {s['units']['members']} 个"]
    lines += ["", "指标（填报 / 计算）："]
    lines += [f"  {a['name']}：{a['reported']} / {a['derived']}" for a in s["activities"]]
    lines += ["", f"目标任务 {len(s['targets'])} 项："]
    lines += [f"  {t['name']} {t['op']} {t['value']}{t['unit']}（{t['scope']}）" for t in s["targets"]]
    lines += ["", f"校验规则 {s['rules']} 条；明细表 {', '.join(s['details'])}"]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
