"""The master .xlsm: its VBA project read back by olevba, every button bound to an existing
Sub (in the file, and as LibreOffice sees it), the xlwings.conf sheet, and a byte-identical
rebuild of the committed workbook."""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from oletools.olevba import VBA_Parser
from openpyxl import load_workbook

from xf_excel.fronts.cli import _Context
from xf_excel.fronts.excel.commands import workbook_cmd
from xf_excel.fronts.excel.selftest import WORKBOOK_FILE_NAME
from xf_excel.fronts.excel.vbaproject import load_modules, xlwings_vba_modules
from xf_excel.fronts.excel.workbook import BUTTONS, SELFTEST, build_workbook, check_bindings, macros_dir, workbook_sheets

COMMITTED = Path(__file__).resolve().parent.parent / "workbook" / "xf-excel.xlsm"


@pytest.fixture(scope="module")
def built(master_xlsm) -> Path:
    return master_xlsm


def _olevba_modules(path: Path) -> dict[str, str]:
    parser = VBA_Parser(str(path))
    try:
        return {stream.split("/")[-1]: code for _, stream, _, code in parser.extract_macros()}
    finally:
        parser.close()


def test_olevba_lists_every_module_and_each_macro_source_round_trips(built, config):
    modules = _olevba_modules(built)
    sheets = len(workbook_sheets(config)) + 1                       # + xlwings.conf
    expected = {m.name for m in xlwings_vba_modules(remote=True)} | {"XfButtons", "ThisWorkbook"}
    expected |= {f"Sheet{i}" for i in range(1, sheets + 1)}
    assert set(modules) == expected
    for module in load_modules(sorted(macros_dir().glob("*.bas"))):
        assert modules[module.name].replace("\r\n", "\n") == module.code.replace("\r\n", "\n")


def test_every_button_runs_an_existing_sub(built):
    bindings = check_bindings(built)
    assert [(b.caption, b.macro) for b in bindings] == [(b.caption, b.macro) for b in (*BUTTONS, SELFTEST)]
    assert all(b.exists and b.sheet == "首页" for b in bindings)


def test_a_button_pointing_nowhere_is_reported(built, tmp_path):
    broken = tmp_path / "broken.xlsm"
    with zipfile.ZipFile(built) as source, zipfile.ZipFile(broken, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.endswith(".vml"):
                data = data.replace(b"[0]!XfBrief", b"[0]!XfGone")
            target.writestr(item, data)
    assert [b.macro for b in check_bindings(broken) if not b.exists] == ["XfGone"]


def test_macros_are_ascii_and_captions_live_in_python():
    for path in macros_dir().glob("*.bas"):
        path.read_bytes().decode("ascii")                           # raises on any non-ASCII byte
    assert all(b.caption.isascii() is False for b in BUTTONS)


def test_sheets_names_and_settings(built, config):
    book = load_workbook(built)
    assert book.sheetnames == [*workbook_sheets(config), "xlwings.conf"]
    names = {name: list(d.destinations) for name, d in book.defined_names.items()}
    for name in ("Period", "InboxFolder", "OutputFolder", "Command", "ArchiveVersion"):
        [(sheet, _)] = names[name]
        assert sheet == "首页"
    conf = book["xlwings.conf"]
    keys = []
    for row in conf.iter_rows(min_col=1, max_col=2, values_only=True):
        if row[0] is None:                                          # xlwings stops at the first blank key
            break
        keys.append(row)
    assert keys == [("XF_MODE", "desktop"), ("XF_SERVER_URL", "http://127.0.0.1:8000"),
                    ("XF_CONFIG", "config.yaml"), ("XF_ARCHIVE", "data/xf.sqlite")]
    home = "\n".join(str(c.value) for row in book["首页"].iter_rows() for c in row if c.value)
    assert "解除锁定" in home and "属性" in home
    # how to install it (never by mail), its name kept ASCII, the server route where policy is strict
    assert "网络共享文件夹" in home and "受信任位置" in home and "不要用邮件" in home
    assert f"文件名请保持 {WORKBOOK_FILE_NAME}" in home and WORKBOOK_FILE_NAME.isascii()
    assert "阻止所有 Office 应用程序创建子进程" in home and "XF_MODE 改为 server" in home
    assert "Excel 自检" in home


def test_two_builds_are_identical_and_match_the_committed_workbook(built, config, tmp_path):
    again = build_workbook(config, tmp_path / "again.xlsm")
    assert again.read_bytes() == built.read_bytes()
    assert COMMITTED.is_file(), "workbook/xf-excel.xlsm is missing: run `xf-excel workbook`"
    assert COMMITTED.read_bytes() == built.read_bytes(), "the committed workbook is stale: run `xf-excel workbook`"


@pytest.mark.slow
def test_libreoffice_sees_the_modules_and_the_button_bindings(built):
    python3 = Path("/usr/bin/python3")
    if not shutil.which("soffice") or not python3.exists():
        pytest.skip("LibreOffice (soffice) 或 /usr/bin/python3 不存在")
    if subprocess.run([str(python3), "-c", "import uno"], capture_output=True).returncode != 0:
        pytest.skip("python3-uno 未安装（Debian：apt-get install python3-uno）")
    script = Path(__file__).with_name("lo_inspect.py")
    result = subprocess.run([str(python3), str(script), str(built)], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    project = seen["libraries"]["VBAProject"]
    assert {"xlwings", "Remote", "XfButtons", "ThisWorkbook", "Sheet1"} <= set(project)
    assert all(size > 0 for size in project.values())
    bound = {b["label"]: b["scripts"] for b in seen["buttons"]}
    for button in (*BUTTONS, SELFTEST):
        assert bound[button.caption] == [
            f"vnd.sun.star.script:VBAProject.XfButtons.{button.macro}?language=Basic&location=document"]


def test_workbook_command_builds_and_checks(config, repo_root, tmp_path):
    out = tmp_path / "x.xlsm"
    obj = _Context(str(repo_root / "config.yaml"), str(tmp_path / "xf.sqlite"), as_json=True)
    result = CliRunner().invoke(workbook_cmd, ["--out", str(out), "--mode", "server"], obj=obj)
    assert result.exit_code == 0, result.output
    assert all(b["exists"] for b in json.loads(result.output)["buttons"])
    assert load_workbook(out)["xlwings.conf"]["B1"].value == "server"
