"""Commands of the Excel front: `workbook`, `serve`, `selftest-excel`.

Registered on the main group by cli.py (`main.add_command(...)`); each takes the same
`_Context` (config path, archive, --json) as every other command.
"""

from __future__ import annotations

import shutil
import socket
import sys
import tempfile
from pathlib import Path

import click

from ...contract import Conf, MasterSheet
from ...errors import describe_os_error
from .selftest import WORKBOOK_FILE_NAME

EXIT_OK, EXIT_ISSUES, EXIT_CANNOT_RUN = 0, 1, 2


@click.command("workbook")
@click.option("--out", "out_file", default=f"workbook/{WORKBOOK_FILE_NAME}", show_default=True, type=click.Path(dir_okay=False),
              help="要写出的 .xlsm 文件。")
@click.option("--mode", type=click.Choice(["desktop", "server"]), default="desktop", show_default=True,
              help="写入 xlwings.conf 表的 XF_MODE：desktop 每台电脑装 Python；server 使用办公室服务器。")
@click.option("--server-url", default="http://127.0.0.1:8000", show_default=True, metavar="网址",
              help="写入 XF_SERVER_URL（server 模式下按钮连接的服务器）。")
@click.pass_obj
def workbook_cmd(obj, out_file: str, mode: str, server_url: str) -> None:
    """生成带按钮和宏的汇总工作簿 .xlsm（每次生成的文件逐字节相同）。

    \b
    示例：
      xf-excel workbook --out workbook/xf-excel.xlsm
    """
    from .selftest import workbook_name_problem
    from .workbook import build_workbook, check_bindings

    path = build_workbook(obj.config, out_file, conf={Conf.MODE: mode, Conf.SERVER_URL: server_url})
    bindings = check_bindings(path)
    broken = [b for b in bindings if not b.exists]
    name_problem = workbook_name_problem(path.name)
    obj.emit({"workbook": str(path), "buttons": [b.__dict__ for b in bindings], "name_warning": name_problem},
             f"已生成汇总工作簿：{path}（按钮 {len(bindings)} 个" + (f"，其中 {len(broken)} 个未绑定到宏）" if broken else "）")
             + (f"\n注意：{name_problem}。" if name_problem else ""))
    click.get_current_context().exit(EXIT_ISSUES if broken else EXIT_OK)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, metavar="地址",
              help="监听的地址；本机以外的地址必须设置口令。")
@click.option("--port", default=8000, show_default=True, type=int, metavar="端口", help="监听的端口。")
@click.option("--token-file", default=None, type=click.Path(dir_okay=False),
              help="保存口令的文件（不指定时读取环境变量 XF_SERVER_TOKEN）。")
@click.option("--root", default=".", show_default=True, type=click.Path(file_okay=False),
              help="工作簿中填写的文件夹以此为起点，且不得超出此文件夹。")
@click.option("--inbox", default="收件箱", show_default=True, metavar="文件夹",
              help="网页工作台的收件文件夹（第N期读取 收件箱/第N期），相对于 --root。")
@click.option("--out", "out_dir", default="out", show_default=True, metavar="文件夹",
              help="网页工作台的输出文件夹（第N期写入 out/第N期），相对于 --root。")
@click.option("--login-always", is_flag=True, help="在服务器本机打开网页工作台也要输入口令。")
@click.pass_obj
def serve_cmd(obj, host: str, port: int, token_file: str | None, root: str, inbox: str, out_dir: str,
              login_always: bool) -> None:
    """在浏览器中使用的报表工作台（网址 /），以及汇总工作簿的按钮（供 RunServerPython、Office.js 调用，各电脑无需安装 Python）。

    \b
    示例：
      xf-excel serve                     # 然后在本机浏览器打开 http://127.0.0.1:8000/
      xf-excel serve --host 0.0.0.0 --port 8000 --token-file /etc/xf-excel/token
    """
    import uvicorn

    from .server import create_app, is_loopback, read_token

    try:
        token = read_token(token_file)
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"无法读取口令文件 {token_file}（{getattr(exc, 'strerror', None) or exc}）",
                                 param_hint="'--token-file'") from None
    if token and not (token.isascii() and token.isprintable() and " " not in token):
        click.echo("错误：口令只能由英文字母、数字和符号组成（不含空格和中文）：各电脑的 Excel 按系统代码页读取环境变量，"
                   "HTTP 请求头也只能传送这些字符", err=True)
        click.get_current_context().exit(EXIT_CANNOT_RUN)
    if not is_loopback(host) and not token:
        click.echo("错误：绑定到非本机地址时必须设置口令（--token-file 或环境变量 XF_SERVER_TOKEN）", err=True)
        click.get_current_context().exit(EXIT_CANNOT_RUN)
    obj.config  # fail early, in Chinese, on a broken config.yaml
    _check_port(host, port)
    if login_always and not token:
        click.echo("错误：--login-always 需要口令（--token-file 或环境变量 XF_SERVER_TOKEN）", err=True)
        click.get_current_context().exit(EXIT_CANNOT_RUN)
    app = create_app(obj.config_path, obj.archive, root=root, token=token, inbox=inbox, out=out_dir,
                     console={"login_local": login_always})
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    click.echo(f"xf-excel 服务已启动：浏览器打开 http://{shown}:{port}/ 使用报表工作台；"
               f"工作簿按钮地址 http://{shown}:{port}/xlwings/<操作>（按 Ctrl+C 停止）", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _check_port(host: str, port: int) -> None:
    """Say in Chinese that the address cannot be bound (uvicorn would log it in English)."""
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        failure = click.ClickException(f"无法在 {host}:{port} 上启动服务：{describe_os_error(exc)}")
        failure.exit_code = EXIT_CANNOT_RUN
        raise failure from None


@click.command("selftest-excel")
@click.option("--workbook", "workbook_file", default=f"workbook/{WORKBOOK_FILE_NAME}", show_default=True,
              type=click.Path(dir_okay=False), help="要自检的 .xlsm 文件。")
@click.option("--out", "out_file", default=None, type=click.Path(dir_okay=False),
              help="把自检结果另存为文本文件（便于发给信息化人员）。")
@click.option("--no-demo", is_flag=True, help="不用演示数据运行按钮（只检查本机能否运行按钮）。")
@click.pass_obj
def selftest_excel_cmd(obj, workbook_file: str, out_file: str | None, no_demo: bool) -> None:
    """检查本机能用哪种方式运行汇总工作簿的按钮（本机 Python 或服务器），不能用时说明原因，并列成表格。

    在装有 Excel 的 Windows 电脑上还会：检查文件是否被标记为“来自网络”、宏设置、受信任位置，读取 VBA 工程的引用并编译（需允许“信任对 VBA 工程对象模型的访问”），检查 Excel 能否启动 Python，并用演示数据运行各按钮。其他系统上只检查服务器能否连接。

    \b
    示例：
      xf-excel selftest-excel --workbook workbook/xf-excel.xlsm --out selftest.txt
    """
    from ...pipeline import write_text_file
    from .selftest import Row, facts_as_json, measure, report

    workbook = Path(workbook_file)
    facts = measure(workbook)
    result = report(facts)
    rows, text = list(result.rows), result.text
    if facts.excel and not no_demo and result.any_mode_works:  # pragma: no cover - Windows with Excel only
        runs = [Row(what, "通过" if ok else "失败", detail) for what, ok, detail in _run_in_excel(obj, workbook)]
        rows += runs
        text += "\n\n用演示数据运行按钮：\n" + "\n".join(f"  {r.result}  {r.item}  {r.detail}" for r in runs)
    if out_file:
        write_text_file(out_file, text)
        text += f"\n\n结果已保存到 {out_file}"
    obj.emit({"facts": facts_as_json(facts), "checks": [r.__dict__ for r in rows],
              "modes": [{"mode": v.mode, "works": v.works, "reasons": list(v.reasons)} for v in result.verdicts],
              "conclusion": result.conclusion}, text)
    failed = any(r.result == "失败" for r in rows)
    code = EXIT_CANNOT_RUN if not result.any_mode_works else EXIT_ISSUES if failed else EXIT_OK
    click.get_current_context().exit(code)


def _run_in_excel(obj, workbook_file: Path) -> list[tuple[str, bool, str]]:  # pragma: no cover - Windows only
    """Copy the workbook and the config to a temp folder with demo returns, open the copy in a
    new hidden Excel, check each button's OnAction there, and run every button."""
    import xlwings as xw

    from ...demo import simulate as demo
    from . import buttons as xl
    from .workbook import BUTTONS, vba_subs

    rows: list[tuple[str, bool, str]] = []
    folder = Path(tempfile.mkdtemp(prefix="xf-selftest-"))
    book_path = folder / workbook_file.name
    shutil.copy2(workbook_file, book_path)
    _copy_without_mail(Path(obj.config_path), folder / "config.yaml")
    from ...pipeline import make_forms

    period = obj.config.periods[0].number
    make_forms(obj.config, period, folder / "forms")
    demo.write_inbox(demo.simulate(obj.config), period, 1, folder / "forms", folder / "收件箱")
    subs = vba_subs(book_path)
    app = xw.App(visible=False, add_book=False)
    try:
        book = app.books.open(str(book_path))
        home = book.sheets[MasterSheet.HOME]
        for shape in home.api.Shapes:
            action = str(shape.OnAction or "").split("!")[-1]
            if action:
                rows.append((f"Excel 中按钮“{shape.TextFrame.Characters().Text}”的 OnAction {action}", action in subs, ""))
        alerts: list[str] = []
        setup = xl.Setup(config_path=folder / "config.yaml", archive_path=folder / "data" / "xf.sqlite", base=folder,
                         notify=lambda text, title, critical: alerts.append(text))  # no blocking message boxes
        for button in ("consolidate", "validate", "brief", "make_forms"):
            alerts.clear()
            xl.BUTTON_FUNCTIONS[button](book, setup)
            text = alerts[-1] if alerts else ""
            ok = bool(text) and "未完成" not in text and "意外错误" not in text
            caption = next(b.caption for b in BUTTONS if b.key == button)
            rows.append((f"运行“{caption}”", ok, text.splitlines()[0] if text else "没有提示"))
        book.close()
    finally:
        app.quit()
    rows.append(("临时文件夹", True, str(folder)))
    return rows


def _copy_without_mail(source: Path, target: Path) -> None:
    """The office's config for the self-test's demo data, without its mailbox: 汇总 there must
    not fetch (and mark as taken) the office's real mail into a scratch archive."""
    import yaml

    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    data.pop("mail", None)
    target.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


COMMANDS = [workbook_cmd, serve_cmd, selftest_excel_cmd]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(workbook_cmd())
