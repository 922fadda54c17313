"""The command line as people use it: what it prints, the files staff open, exit codes."""

from __future__ import annotations

import codecs

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
