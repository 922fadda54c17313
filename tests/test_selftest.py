"""`selftest-excel`: the verdict on each way of running the buttons, decided from measured facts
(as Windows would measure them), the table staff send back, and what Linux can measure itself:
the server over HTTP, the Python RunPython would start, the workbook's own settings."""

from __future__ import annotations

import json
import os
import socket
import sys
import unicodedata
from pathlib import Path

os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from xf_excel.fronts.cli import _Context
from xf_excel.fronts.excel import selftest as st
from xf_excel.fronts.excel.commands import selftest_excel_cmd, workbook_cmd
from xf_excel.fronts.excel.server import create_app
from xf_excel.fronts.excel.workbook import build_workbook

OFFICE = [("stdole", "{00020430-0000-0000-C000-000000000046}", False),
          ("Office", "{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}", False)]


def windows(**measured) -> st.Facts:
    """Facts as a Windows PC with Excel where everything works would give them; `measured` overrides."""
    facts = st.Facts(system="Windows", python="3.11.9", workbook=r"\\server\xf\xf-excel.xlsm", mode="desktop",
                     server_url="http://xf-server:8000", zone_id=0, trusted_location=True, vba_warnings=2,
                     excel="16.0（64 位）", vbom_trusted=True, references=list(OFFICE), compile_error="",
                     child_process="", interpreter=r"C:\Python311\pythonw.exe", python_error="", server_error="",
                     token_error="")
    for key, value in measured.items():
        setattr(facts, key, value)
    return facts


def verdicts(facts: st.Facts) -> dict[str, st.Verdict]:
    return {v.mode: v for v in st.report(facts).verdicts}


def test_where_everything_works_both_modes_are_offered():
    result = st.report(windows())
    assert result.any_mode_works and all(v.works for v in result.verdicts)
    assert result.conclusion.startswith("两种模式在本机都可以使用")
    assert all(row.result in (st.PASS, st.NOTE) for row in result.rows)


def test_defenders_child_process_rule_leaves_only_the_server_mode():
    facts = windows(child_process="error 70: Permission denied")
    found = verdicts(facts)
    assert not found["desktop"].works and found["server"].works
    assert "阻止所有 Office 应用程序创建子进程" in found["desktop"].reasons[0]
    assert "Permission denied" in found["desktop"].reasons[0]
    conclusion = st.report(facts).conclusion
    assert "只能使用服务器模式" in conclusion and "XF_MODE 改为 server" in conclusion


def test_the_advice_to_switch_is_left_out_when_the_workbook_already_uses_that_mode():
    conclusion = st.report(windows(child_process="error 70: Permission denied", mode="server")).conclusion
    assert "只能使用服务器模式" in conclusion and "XF_MODE" not in conclusion


def test_a_mailed_file_blocks_both_modes_unless_it_sits_in_a_trusted_location():
    blocked = windows(zone_id=3, trusted_location=False)
    assert not any(v.works for v in verdicts(blocked).values())
    assert all("解除锁定" in v.reasons[0] for v in verdicts(blocked).values())
    row = next(r for r in st.report(blocked).rows if r.item == "文件来源标记")
    assert row.result == st.FAIL and "Mark of the Web" in row.detail
    assert all(v.works for v in verdicts(windows(zone_id=3, trusted_location=True)).values())


def test_macros_disabled_without_notification_are_named():
    reasons = verdicts(windows(vba_warnings=4, trusted_location=False))["server"].reasons
    assert reasons and "禁用所有宏，并且不通知" in reasons[0]


def test_a_missing_office_reference_and_a_compile_error_stop_both_modes():
    facts = windows(references=OFFICE[:1], compile_error="变量未定义（Remote 模块）")
    for verdict in verdicts(facts).values():
        assert not verdict.works
        assert any("没有引用 Office" in r for r in verdict.reasons)
        assert any("变量未定义" in r for r in verdict.reasons)
    assert st.reference_problems([*OFFICE[:1], ("Office", OFFICE[1][1], True)]) == [
        f"Office（{OFFICE[1][1]}）在本机找不到（标为“丢失”）"]


def test_without_trust_access_to_the_vba_project_the_table_explains_it_in_chinese():
    facts = windows(vbom_trusted=False, references=None, compile_error=None,
                    skipped={"references": "Excel 不允许访问 VBA 工程", "compile_error": "Excel 不允许访问 VBA 工程"})
    result = st.report(facts)
    rows = {r.item: r for r in result.rows}
    assert rows["访问 VBA 工程"].detail == st.VBOM_HELP
    assert "信任对 VBA 工程对象模型的访问" in st.VBOM_HELP and "调试 → 编译" in st.VBOM_HELP
    assert rows["VBA 引用"].result == st.SKIPPED and rows["VBA 编译（调试 → 编译）"].result == st.SKIPPED
    assert "部分项目未能检查" in result.conclusion          # not measured is not passed


def test_server_mode_fails_on_its_own_reasons():
    found = verdicts(windows(server_error="连接被拒绝"))
    assert found["desktop"].works and not found["server"].works
    assert "连不上服务器 http://xf-server:8000" in found["server"].reasons[0]
    assert "XF_SERVER_URL" in verdicts(windows(server_url=""))["server"].reasons[0]
    assert verdicts(windows(token_error="服务器需要口令"))["server"].reasons == ("服务器需要口令",)


def test_neither_mode_says_so_and_lists_every_reason():
    facts = windows(child_process="error 70: Permission denied", server_error="连接超时")
    result = st.report(facts)
    assert not result.any_mode_works
    assert "两种模式都不能使用" in result.conclusion
    assert "连接超时" in result.text and "Permission denied" in result.text


def test_on_linux_both_modes_are_refused_with_the_reason():
    facts = st.Facts(system="Linux", python="3.11.7", workbook="workbook/xf-excel.xlsm", server_url="")
    for verdict in verdicts(facts).values():
        assert verdict.reasons[0].startswith("本机是 Linux")


def test_the_table_lines_up_by_display_width():
    result = st.report(windows(child_process="error 70: Permission denied"))
    lines = result.text.splitlines()
    assert "请把以下全部内容复制发给信息化人员" in lines[0]
    result_columns, detail_columns = set(), set()
    for row, line in zip(result.rows, lines[2:2 + len(result.rows)]):
        assert line.startswith(row.item + " ")
        at = line.index(row.result, len(row.item))
        result_columns.add(_display_width(line[:at]))
        if row.detail:
            detail_columns.add(_display_width(line[:line.index(row.detail, at)]))
    assert len(result_columns) == 1 and len(detail_columns) == 1


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


# ---- measured on this machine -------------------------------------------------------------------

def test_mark_of_the_web_and_trusted_locations_are_read_as_windows_writes_them():
    assert st.parse_zone_id("[ZoneTransfer]\r\nZoneId=3\r\nReferrerUrl=https://mail.example.gov.cn/\r\n") == 3
    assert st.parse_zone_id("") == 0
    locations = [(r"%APPDATA%\Microsoft\Excel\XLSTART", False), ("\\\\xf-server\\share\\", True)]
    env = {"APPDATA": r"C:\Users\a\AppData\Roaming"}
    assert st.in_trusted_location(r"C:\Users\a\AppData\Roaming\Microsoft\Excel\XLSTART", locations, env)
    assert not st.in_trusted_location(r"C:\Users\a\AppData\Roaming\Microsoft\Excel\XLSTART\sub", locations, env)
    assert st.in_trusted_location(r"\\XF-SERVER\share\第2期", locations, env)
    assert not st.in_trusted_location(r"C:\Users\a\Downloads", locations, env)


def test_the_users_xlwings_conf_is_read_as_vba_writes_it():
    text = '"INTERPRETER_WIN","C:\\Python311\\pythonw.exe"\r\n"AUTH","Bearer abc"\r\n'
    assert st.parse_xlwings_conf(text) == {"INTERPRETER_WIN": "C:\\Python311\\pythonw.exe", "AUTH": "Bearer abc"}


def test_file_names_outside_ascii_letters_are_warned_about():
    assert st.workbook_name_problem("xf-excel.xlsm") == ""
    assert st.workbook_name_problem("xf_excel_2020.xlsm") == ""
    for name in ("汇总工作簿.xlsm", "xf excel.xlsm", "xf&excel.xlsm"):
        assert "文件名含有中文、空格或其他符号" in st.workbook_name_problem(name)


def test_the_python_runpython_would_start_is_tried_for_real():
    assert st.probe_python(sys.executable) == ""
    assert "找不到这个程序" in st.probe_python("/nonexistent/pythonw")
    system_python = Path("/usr/bin/python3")
    if system_python.is_file():                      # Debian's Python, without this package
        assert "没有安装 xf-excel" in st.probe_python(str(system_python))


def _opener(app, host: str):
    """Requests to the real server app as they would arrive from `host`."""
    client = TestClient(app, client=(host, 50000))

    def open_(url: str, method: str, headers: dict, body):
        path = url.split("://", 1)[1].split("/", 1)[1]
        response = client.request(method, "/" + path, headers=headers, content=body)
        return response.status_code, response.text
    return open_


@pytest.fixture
def server_root(tmp_path, repo_root) -> Path:
    (tmp_path / "config.yaml").write_bytes((repo_root / "config.yaml").read_bytes())
    return tmp_path


def test_the_server_probe_checks_reachability_and_the_token(server_root):
    app = create_app("config.yaml", "data/xf.sqlite", root=server_root, token="s3cret")
    url = "http://xf-server:8000/"
    assert st.probe_server(url, None, _opener(app, "127.0.0.1")) == ("", "")          # the server's own PC
    assert st.probe_server(url, "s3cret", _opener(app, "10.0.0.5")) == ("", "")
    _, wrong = st.probe_server(url, "other", _opener(app, "10.0.0.5"))
    assert "不接受本机的口令" in wrong
    _, missing = st.probe_server(url, None, _opener(app, "10.0.0.5"))
    assert "setx XF_SERVER_TOKEN" in missing
    open_app = create_app("config.yaml", "data/xf.sqlite", root=server_root, token=None)
    _, local_only = st.probe_server(url, None, _opener(open_app, "10.0.0.5"))
    assert "只接受服务器本机的请求" in local_only


def test_the_server_probe_says_why_nothing_answers():
    with socket.socket() as sock:                     # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    error, token = st.probe_server(f"http://127.0.0.1:{port}", None)
    assert error.startswith("连接被拒绝") and token is None
    assert st.probe_server("xf-server:8000", None)[0].startswith("地址格式不对")
    not_ours = st.probe_server("http://x", None, lambda *a: (404, "Not Found"))
    assert not_ours == ("该地址上不是 xf-excel 服务（HTTP 404）", None)


def test_selftest_excel_on_linux_prints_the_table_saves_it_and_exits_2(repo_root, tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    book = build_workbook(_config(repo_root), tmp_path / "xf-excel.xlsm",
                          conf={"XF_MODE": "server", "XF_SERVER_URL": f"http://127.0.0.1:{port}"})
    obj = _Context(str(repo_root / "config.yaml"), str(tmp_path / "xf.sqlite"), as_json=False)
    out = tmp_path / "selftest.txt"
    result = CliRunner().invoke(selftest_excel_cmd, ["--workbook", str(book), "--out", str(out)], obj=obj)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "服务器模式（RunServerPython）" in result.output and "连接被拒绝" in result.output
    assert "只能在 Windows 上检查" in result.output
    saved = out.read_bytes()
    assert saved.startswith(b"\xef\xbb\xbf") and b"\r\n" in saved
    assert "两种模式都不能使用" in saved.decode("utf-8-sig")

    obj = _Context(str(repo_root / "config.yaml"), str(tmp_path / "xf.sqlite"), as_json=True)
    result = CliRunner().invoke(selftest_excel_cmd, ["--workbook", str(tmp_path / "missing.xlsm")], obj=obj)
    data = json.loads(result.output)
    assert result.exit_code == 2 and data["facts"]["workbook_found"] is False
    assert {m["mode"]: m["works"] for m in data["modes"]} == {"desktop": False, "server": False}


def test_the_workbook_command_warns_about_a_chinese_file_name(repo_root, tmp_path):
    obj = _Context(str(repo_root / "config.yaml"), str(tmp_path / "xf.sqlite"), as_json=False)
    result = CliRunner().invoke(workbook_cmd, ["--out", str(tmp_path / "汇总工作簿.xlsm")], obj=obj)
    assert result.exit_code == 0, result.output
    assert "注意：文件名含有中文" in result.output
    result = CliRunner().invoke(workbook_cmd, ["--out", str(tmp_path / "xf-excel.xlsm")], obj=obj)
    assert "注意" not in result.output


def _config(repo_root: Path):
    from xf_excel.config import load_config

    return load_config(repo_root / "config.yaml")


def test_serve_refuses_a_token_excel_could_not_send(repo_root, tmp_path):
    """VBA reads XF_SERVER_TOKEN in the ANSI code page and HTTP headers carry ASCII only."""
    from xf_excel.fronts.excel.commands import serve_cmd

    obj = _Context(str(repo_root / "config.yaml"), str(tmp_path / "xf.sqlite"), as_json=False)
    for token in ("口令2020", "two words"):
        result = CliRunner().invoke(serve_cmd, [], obj=obj, env={"XF_SERVER_TOKEN": token})
        assert result.exit_code == 2 and "口令只能由英文字母、数字和符号组成" in result.output
