"""The command line as people use it: what it prints, the files staff open, exit codes."""

from __future__ import annotations

import codecs
import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

from xf_excel.demo.simulate import campaign_of, simulate, write_inbox
from xf_excel.fronts.cli import main
from xf_excel.pipeline import make_forms, write_text_file


@pytest.fixture(scope="module")
def week(tmp_path_factory, config):
    """A three-county campaign's first period: its config file and an inbox of returns."""
    folder = tmp_path_factory.mktemp("week")
    sim = simulate(config, seed=5, units=3)
    campaign = campaign_of(sim)
    make_forms(campaign, 1, folder / "forms")
    write_inbox(sim, 1, 1, folder / "forms", folder / "inbox")
    config_file = folder / "config.yaml"
    config_file.write_text(yaml.safe_dump(campaign.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    return folder, config_file


def _invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def _opens_in_notepad(raw: bytes) -> bool:
    """UTF-8 with a byte-order mark, and every line ended CRLF."""
    return raw.startswith(codecs.BOM_UTF8) and b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")


def test_text_files_for_staff_have_a_bom_and_windows_line_ends(tmp_path):
    path = write_text_file(tmp_path / "报送情况.txt", "第1期报送情况：\n  未报送：2 个\n")
    assert _opens_in_notepad(path.read_bytes())
    assert path.read_text(encoding="utf-8-sig") == "第1期报送情况：\n  未报送：2 个\n"


def test_status_saves_a_text_file_notepad_reads(week, tmp_path):
    folder, config_file = week
    archive = tmp_path / "a.sqlite"
    _invoke("--config", str(config_file), "--archive", str(archive), "intake", str(folder / "inbox"),
            "--period", "1", "--feedback", str(tmp_path / "退回"))
    saved = tmp_path / "报送情况.txt"
    result = _invoke("--config", str(config_file), "--archive", str(archive), "status", "--period", "1",
                     "--out", str(saved))
    assert result.exit_code in (0, 1), result.output
    assert _opens_in_notepad(saved.read_bytes())
    assert "报送情况" in saved.read_text(encoding="utf-8-sig") and str(saved) in result.output


@pytest.fixture
def no_chart_font(monkeypatch):
    """As if no CJK font could be used here: the briefing's charts are skipped, with a note."""
    from xf_excel.outputs import charts

    monkeypatch.setattr(charts, "CJK_FONT_PREFERENCES", ("No Such Font 字体",))


def test_run_passes_on_the_chart_note(week, tmp_path, no_chart_font):
    folder, config_file = week
    result = _invoke("--config", str(config_file), "--archive", str(tmp_path / "a.sqlite"), "run",
                     str(folder / "inbox"), "--period", "1", "--out", str(tmp_path / "out"))
    assert result.exit_code in (0, 1), result.output
    assert "提示：本机没有可用的中文字体" in result.output


def test_demo_passes_on_the_chart_note(config, tmp_path, no_chart_font, repo_root):
    result = _invoke("--config", str(repo_root / "config.yaml"), "demo", "--periods", "1", "--units", "2",
                     "--out", str(tmp_path / "demo"))
    assert result.exit_code == 0, result.output
    assert "提示：本机没有可用的中文字体" in result.output
    assert _opens_in_notepad((tmp_path / "demo" / "第1期" / "6_报送情况.txt").read_bytes())


# ---- a mistake that can be undone: the wrong period ------------------------------------------------

def _run_in(week, archive, *args):
    folder, config_file = week
    return _invoke("--config", str(config_file), "--archive", str(archive), *args)


def test_a_wrong_period_intake_is_undone_with_one_command(week, tmp_path):
    """The period-1 returns taken in as period 2: every one is sent back, the advice never says
    to relabel them, the summary says how to undo; `undo` withdraws the batch (kept in the
    archive), sets its feedback workbooks aside, and the same files are then taken in as period 1."""
    folder, _ = week
    archive, feedback = tmp_path / "a.sqlite", tmp_path / "退回"
    wrong = _run_in(week, archive, "--json", "intake", str(folder / "inbox"), "--period", "2", "--feedback", str(feedback))
    report = json.loads(wrong.output)
    returns = [f for f in report["files"] if f["unit"]]
    assert returns and all(f["status"] == "rejected" for f in returns)
    messages = [i["message"] for f in returns for i in f["issues"] if i["code"] == "wrong-period"]
    assert len(messages) == len(returns) and not any("改为" in m for m in messages)
    text = _run_in(week, tmp_path / "b.sqlite", "intake", str(folder / "inbox"), "--period", "2",
                   "--feedback", str(tmp_path / "退回b")).output
    assert "xf-excel undo --period 2" in text

    undone = _run_in(week, archive, "undo", "--period", "2")
    assert undone.exit_code == 0, undone.output
    assert "已撤销第2期最近一次收取" in undone.output and f"{len(returns)} 份已作废" in undone.output
    assert not list(feedback.glob("*.xlsx")) and len(list((feedback / "已撤销").glob("*.xlsx"))) == len(returns)
    status = json.loads(_run_in(week, archive, "--json", "status", "--period", "2").output)
    assert {r["state"] for r in status["reporting"]} == {"missing"}        # no longer 已退回

    again = json.loads(_run_in(week, archive, "--json", "intake", str(folder / "inbox"), "--period", "1",
                               "--feedback", str(feedback)).output)
    assert again["summary"]["duplicate"] == report["summary"]["duplicate"]   # only the copies inside the inbox
    assert again["summary"]["accepted"] + again["summary"]["rejected"] == len(returns)
    with sqlite3.connect(archive) as db:                                   # nothing was deleted
        assert db.execute("SELECT COUNT(*) FROM submissions WHERE status = 'withdrawn'").fetchone()[0] == len(returns)


def test_undo_with_nothing_to_undo_says_so(week, tmp_path):
    archive = tmp_path / "a.sqlite"
    folder, _ = week
    _run_in(week, archive, "intake", str(folder / "inbox"), "--period", "1", "--feedback", str(tmp_path / "退回"))
    assert _run_in(week, archive, "undo", "--period", "1").exit_code == 0
    nothing = _run_in(week, archive, "undo", "--period", "1")
    assert nothing.exit_code == 1 and "没有可以撤销的收取" in nothing.output


# ---- a command line in Chinese ---------------------------------------------------------------------

def _command_paths(group: click.Group, prefix: tuple[str, ...] = ()):
    yield prefix
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _command_paths(command, (*prefix, name))
        else:
            yield (*prefix, name)


_CLICK_ENGLISH = ("Usage", "Options", "Commands", "Show this", "Show the version", "default:", "required",
                  "INTEGER", "TEXT", "PATH", "FILE", "DIRECTORY", "[OPTIONS]", "COMMAND", "Example")


@pytest.mark.parametrize("path", list(_command_paths(main)), ids=lambda p: " ".join(p) or "xf-excel")
def test_every_help_page_is_chinese(path):
    result = _invoke(*path, "--help")
    assert result.exit_code == 0 and result.output.startswith("用法：")
    leaked = [word for word in _CLICK_ENGLISH if word in result.output]
    assert leaked == [], result.output
    options = [line for line in result.output.splitlines() if line.strip().startswith("-")]
    assert options and all(re.search(r"[\u4e00-\u9fff]", line) for line in options), result.output


@pytest.mark.parametrize(("args", "expected"), [
    (["forms", "--period", "x"], "'x' 不是有效的整数"),
    (["forms"], "缺少选项 '--period'"),
    (["statu"], "没有命令 'statu'"),
    (["status", "--period", "1", "--perod", "2"], "没有选项 '--perod'"),
    (["brief", "--period", "1", "--date", "9月18日"], "不符合格式"),
    (["intake", "config.yaml", "--period", "1"], "是一个文件，这里需要文件夹"),
])
def test_usage_errors_are_chinese(args, expected, repo_root, monkeypatch):
    monkeypatch.chdir(repo_root)
    result = _invoke(*args)
    assert result.exit_code == 2 and expected in result.output, result.output
    assert "Error" not in result.output and "Invalid value" not in result.output and "Usage" not in result.output


def test_common_options_work_after_the_command_too(week, tmp_path):
    folder, config_file = week
    archive = tmp_path / "elsewhere" / "x.sqlite"
    result = _invoke("intake", str(folder / "inbox"), "--period", "1", "--feedback", str(tmp_path / "退回"),
                     "--archive", str(archive), "--config", str(config_file), "--json")
    assert result.exit_code in (0, 1), result.output
    assert json.loads(result.output)["period"] == 1 and archive.is_file()
    before = _invoke("--config", str(config_file), "--archive", str(archive), "status", "--period", "1", "--json")
    assert json.loads(before.output)["period"] == 1


def test_with_json_a_failure_is_a_json_object_too(tmp_path, repo_root, monkeypatch):
    monkeypatch.chdir(repo_root)
    for args, code in ((["--json", "forms", "--period", "9"], 2), (["forms", "--period", "x", "--json"], 2),
                       (["status", "--period", "1", "--archive", str(tmp_path / "nope.sqlite"), "--json"], 2)):
        result = CliRunner(mix_stderr=False).invoke(main, args) if _separate_streams() else _invoke(*args)
        payload = json.loads(_json_part(result))
        assert result.exit_code == code and payload["ok"] is False and payload["exit_code"] == code
        assert re.search(r"[\u4e00-\u9fff]", payload["error"])


def _separate_streams() -> bool:
    import inspect

    return "mix_stderr" in inspect.signature(CliRunner.__init__).parameters


def _json_part(result) -> str:
    """stdout when the runner keeps it apart from stderr, else the JSON object at the start."""
    text = result.stdout if hasattr(result, "stdout") else result.output
    return text[:text.index("\n}") + 2] if text.lstrip().startswith("{") else text


def test_default_output_folders_are_under_out(week, tmp_path, monkeypatch):
    folder, config_file = week
    monkeypatch.chdir(tmp_path)
    args = ("--config", str(config_file), "--archive", str(tmp_path / "a.sqlite"))
    _invoke(*args, "intake", str(folder / "inbox"), "--period", "1")
    assert _invoke(*args, "consolidate", "--period", "1").exit_code == 0
    assert _invoke(*args, "forms", "--period", "2").exit_code == 0
    assert (tmp_path / "out" / "汇总_第1期.xlsx").is_file() and list((tmp_path / "out" / "第2期填报表").glob("*.xlsx"))
    assert (tmp_path / "out" / "退回").is_dir() and not (tmp_path / "workbook").exists()


def test_forms_with_a_mistyped_archive_say_no_earlier_figures_were_found(week, tmp_path):
    folder, config_file = week
    result = _invoke("--config", str(config_file), "--archive", str(tmp_path / "xf.sqllite"), "forms", "--period", "2",
                     "--out", str(tmp_path / "forms"))
    assert result.exit_code == 0
    assert "提示：找不到档案库" in result.output and "上期累计" in result.output


def test_brief_of_an_archive_without_an_accepted_return_refuses(week, tmp_path):
    from xf_excel.pipeline import Archive  # noqa: F401 - the archive exists, but holds nothing

    folder, config_file = week
    archive = tmp_path / "empty.sqlite"
    _invoke("--config", str(config_file), "--archive", str(archive), "intake", str(tmp_path), "--period", "1")
    result = _invoke("--config", str(config_file), "--archive", str(archive), "brief", "--period", "1",
                     "--out", str(tmp_path / "简报"))
    assert result.exit_code == 1 and "还没有" in result.output and "未生成简报" in result.output
    assert not (tmp_path / "简报").exists() or not list((tmp_path / "简报").iterdir())


def test_an_unexpected_error_is_a_chinese_message_and_a_log_not_a_traceback(week, tmp_path, monkeypatch):
    import xf_excel.pipeline

    def broken(config):
        raise RuntimeError("something deep inside went wrong")

    monkeypatch.setattr(xf_excel.pipeline, "config_summary", broken)
    folder, config_file = week
    archive = tmp_path / "data" / "xf.sqlite"
    result = _invoke("--config", str(config_file), "--archive", str(archive), "config", "check")
    assert result.exit_code == 2 and "出现意外错误" in result.output
    assert "Traceback" not in result.output and "RuntimeError" not in result.output
    log = (tmp_path / "data" / "xf-excel.log").read_text(encoding="utf-8")
    assert str(tmp_path / "data" / "xf-excel.log") in result.output and "RuntimeError" in log


@pytest.mark.parametrize("name", ["gbk", "binary"])
def test_a_config_saved_as_gbk_is_read_and_a_binary_one_is_explained(name, repo_root, tmp_path):
    config_file = tmp_path / "config.yaml"
    text = (repo_root / "config.yaml").read_text(encoding="utf-8")
    config_file.write_bytes(text.encode("gbk") if name == "gbk" else b"PK\x03\x04\x00\x00" + bytes(range(256)))
    result = _invoke("--config", str(config_file), "config", "check")
    if name == "gbk":
        assert result.exit_code == 0 and "配置有效" in result.output
    else:
        assert result.exit_code == 2 and str(config_file) in result.output and "不是文本文件" in result.output
        assert "Traceback" not in result.output and "UnicodeDecodeError" not in result.output


def _as_another_user() -> list[str]:
    """A prefix that runs a command as an unprivileged user: root writes into any folder, so a
    read-only folder can only be shown to someone else."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv (util-linux) 不可用，无法以普通用户身份运行")
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]


def test_an_archive_in_a_read_only_folder_is_a_chinese_message_and_exit_2(repo_root):
    folder = Path(tempfile.mkdtemp(prefix="xf-readonly-"))
    try:
        os.chmod(folder, 0o755)
        (folder / "inbox").mkdir()
        shutil.copy(repo_root / "config.yaml", folder / "config.yaml")
        locked = folder / "locked"
        locked.mkdir()
        _invoke("--archive", str(locked / "old.sqlite"), "--config", str(folder / "config.yaml"), "intake",
                str(folder / "inbox"), "--period", "1")          # an archive that exists, in the folder
        os.chmod(locked, 0o555)
        exe = Path(sys.executable).parent / "xf-excel"
        env = {**os.environ, "HOME": str(folder), "MPLCONFIGDIR": str(folder / "mpl")}
        for archive, args in ((locked / "new.sqlite", ["intake", "inbox", "--period", "1"]),
                              (locked / "old.sqlite", ["intake", "inbox", "--period", "1"]),
                              (locked / "old.sqlite", ["status", "--period", "1"])):
            done = subprocess.run([*_as_another_user(), str(exe), "--archive", str(archive), *args],
                                  cwd=folder, env=env, capture_output=True, text=True, timeout=300)
            assert done.returncode == 2, done.stderr
            assert str(archive) in done.stderr and "不能写入" in done.stderr, done.stderr
            assert "Traceback" not in done.stderr + done.stdout
    finally:
        os.chmod(locked, 0o755)
        shutil.rmtree(folder, ignore_errors=True)


# ---- the README and the command line agree ----------------------------------------------------------

def _readme_commands(repo_root) -> list[list[str]]:
    """Every `xf-excel …` invocation in the README's code blocks, as argument lists."""
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    found = []
    for block in re.findall(r"```bash\n(.*?)```", readme, re.S):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if "xf-excel " in line:
                found.append(shlex.split(line[line.index("xf-excel ") + len("xf-excel "):]))
    return found


def test_the_readme_command_list_is_in_step_with_the_help(repo_root):
    """Each command in `xf-excel --help` is shown in the README, and every command and option
    the README shows exists (with its options) in the command line."""
    listed = _readme_commands(repo_root)
    shown = {" ".join(args[:2]) if args[0] == "config" else args[0] for args in listed}
    commands = {" ".join(path) for path in _command_paths(main) if path and path != ("config",)}
    assert commands - shown == set(), "commands missing from the README"
    for args in listed:
        command, rest = main, list(args)
        while isinstance(command, click.Group):
            command = command.get_command(None, rest.pop(0))
            assert command is not None, args
        known = {opt for param in command.params for opt in param.opts}
        unknown = [a for a in rest if a.startswith("-") and a.split("=")[0] not in known]
        assert unknown == [], f"README shows {args}: unknown options {unknown}"


def test_a_folder_that_cannot_be_written_is_named_not_an_unexpected_error(week, tmp_path):
    folder, config_file = week
    blocker = tmp_path / "out"
    blocker.write_text("a file where the output folder should be", encoding="utf-8")
    result = _invoke("--config", str(config_file), "--archive", str(tmp_path / "a.sqlite"), "forms", "--period", "1",
                     "--out", str(blocker / "forms"))
    assert result.exit_code == 2 and "无法读写" in result.output and str(blocker) in result.output
    assert "意外错误" not in result.output and "Traceback" not in result.output


def test_serve_on_a_port_in_use_says_so_in_chinese(repo_root, monkeypatch):
    import socket

    monkeypatch.chdir(repo_root)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = _invoke("serve", "--port", str(port))
    assert result.exit_code == 2 and f"127.0.0.1:{port}" in result.output and "端口已被占用" in result.output
