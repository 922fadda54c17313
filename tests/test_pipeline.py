"""The use cases end to end, on real files: forms out, filled, taken in, consolidated, briefed."""

from __future__ import annotations

import math
import sqlite3

import pytest
import yaml
from click.testing import CliRunner

from xf_excel.fronts.cli import main
from xf_excel.config import load_config
from xf_excel.demo.simulate import campaign_of, expected_accepted, simulate, write_inbox
from xf_excel.demo.run import run_demo
from xf_excel.pipeline import (consolidate_period, intake_inbox, make_forms, run_week, validate_book,
                               write_master_workbook)
from xf_excel.archive.store import Archive, NewSubmission


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory, config):
    """Two periods of a 12-county campaign through the real pipeline."""
    out = tmp_path_factory.mktemp("demo")
    results = run_demo(config, out, seed=11, periods=[1, 2], units=12)
    return out, results, simulate(config, seed=11, units=12)


def _regional_expectation(config, accepted: dict[str, dict[str, float]], indicator_id: str):
    """The regional total of a base indicator, summed here from the units' true figures."""
    source = config.indicator(indicator_id).source
    units = [code for code in accepted if (config.units[code].kind == "county") == (source == "counties")
             and (source == "counties" or code in source)]
    values = [accepted[code][indicator_id] for code in units if accepted[code].get(indicator_id) is not None]
    return math.fsum(values) if values else None


def test_demo_regional_totals_equal_the_simulated_accepted_returns(small_demo, config):
    _, results, sim = small_demo
    campaign = campaign_of(sim)
    for result in results:
        accepted = expected_accepted(sim, result.period)
        for indicator in campaign.indicators:
            if indicator.derived:
                continue
            expected = _regional_expectation(campaign, accepted, indicator.id)
            got = result.consolidation.region.values.get(indicator.id)
            assert got == pytest.approx(expected, abs=1e-6), (result.period, indicator.id)


def test_demo_writes_every_output_of_every_period(small_demo):
    out, results, _ = small_demo
    for result in results:
        folder = out / f"第{result.period}期"
        assert len(list((folder / "1_填报表").glob("*.xlsx"))) == result.forms
        assert result.master.exists() and result.master.parent == folder
        assert {p.suffix for p in result.briefing.paths} >= {".docx", ".md", ".png"}
        assert "报送情况" in (folder / "6_报送情况.txt").read_text(encoding="utf-8-sig")
        rejected = sum(r.summary()["rejected"] for r in result.intake)
        assert len(list((folder / "3_退回").glob("退回_*.xlsx"))) >= min(rejected, 1)
    kinds = {f.status for r in results for i in r.intake for f in i.files}
    assert {"accepted", "rejected", "duplicate", "not-a-return"} <= kinds


def test_taking_the_same_inbox_in_again_changes_nothing(small_demo, config):
    out, results, sim = small_demo
    archive = out / "档案库.sqlite"
    campaign = campaign_of(sim)

    def counts():
        db = sqlite3.connect(archive)
        try:
            return [db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                    for t in ("files", "submissions", "submission_values", "issues")]
        finally:
            db.close()

    before = counts()
    report = intake_inbox(campaign, out / "第2期" / "2_收件箱", 2, archive, out / "again")
    assert {f.status for f in report.files} <= {"duplicate", "skipped"}
    assert counts() == before


@pytest.fixture(scope="module")
def nanning_demo(tmp_path_factory):
    from pathlib import Path

    config = load_config(Path(__file__).resolve().parent.parent / "examples" / "nanning" / "config.yaml")
    return config, run_demo(config, tmp_path_factory.mktemp("nanning"), seed=3)


def test_second_campaign_runs_through_the_same_code(nanning_demo):
    config, results = nanning_demo
    last = results[-1]
    assert [r.period for r in results] == [1, 2]
    sim = simulate(config, seed=3)
    accepted = expected_accepted(sim, 2)
    assert last.consolidation.region.values["canteen_spend"] == pytest.approx(
        _regional_expectation(config, accepted, "canteen_spend"))
    share = last.consolidation.region.values["poverty_share"]
    assert share == pytest.approx(last.consolidation.region.values["canteen_spend"]
                                  / last.consolidation.region.values["canteen_total_spend"])
    assert "扶贫产品进机关工作简报" in last.briefing.markdown.read_text(encoding="utf-8-sig")
    # the month ends with the campaign-end report, of the last period's figures
    assert results[0].summary is None and last.summary is not None and last.summary.docx.is_file()
    assert last.summary.docx.parent.name == "活动总结" and last.summary.consolidation is last.consolidation


def test_weekly_job_from_the_command_line(tmp_path, repo_root, config):
    """`xf-excel run` takes in an inbox, writes the master and the briefing, exit 1 when returns were sent back."""
    sim = simulate(config, seed=5, units=6)
    campaign = campaign_of(sim)
    forms = make_forms(campaign, 1, tmp_path / "forms")
    inbox = tmp_path / "inbox"
    write_inbox(sim, 1, 1, tmp_path / "forms", inbox)
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump(campaign.model_dump(mode="json"), allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(config_file), "--archive", str(tmp_path / "a.sqlite"),
                                       "run", str(inbox), "--period", "1", "--out", str(tmp_path / "out")])
    assert len(forms.paths) == len(campaign.reporting_units())
    assert result.exit_code in (0, 1), result.output
    assert "第1期收取完成" in result.output and "汇总表：" in result.output
    assert (tmp_path / "out" / "汇总_第1期.xlsx").exists()
    assert (tmp_path / "out" / "简报" / "简报_第1期.docx").exists()


def test_missing_inbox_is_a_clear_message_and_exit_2(tmp_path):
    result = CliRunner().invoke(main, ["--archive", str(tmp_path / "a.sqlite"), "intake", str(tmp_path / "nope"),
                                       "--period", "1"])
    assert result.exit_code == 2
    assert "收件文件夹" in result.output and "不存在" in result.output


def test_unknown_period_is_a_clear_message_and_exit_2(tmp_path):
    result = CliRunner().invoke(main, ["forms", "--period", "9", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "配置中没有第9期" in result.output


def test_run_week_returns_paths(tmp_path, config):
    sim = simulate(config, seed=8, units=3)
    campaign = campaign_of(sim)
    make_forms(campaign, 1, tmp_path / "forms")
    write_inbox(sim, 1, 1, tmp_path / "forms", tmp_path / "inbox")
    week = run_week(campaign, tmp_path / "inbox", 1, tmp_path / "a.sqlite", tmp_path / "out")
    assert week.master.exists() and week.intake.summary()["accepted"] >= 1
    assert week.consolidation.region.units_reported >= 1


# ---- figures typed into the master workbook ------------------------------------------------------

@pytest.fixture
def week_one(tmp_path, config):
    """A one-period, six-county campaign taken in, and a master workbook made from its
    archive now (as `xf-excel consolidate` makes it)."""
    run_demo(config, tmp_path / "demo", seed=21, periods=[1], units=6)
    campaign = campaign_of(simulate(config, seed=21, units=6))
    archive = tmp_path / "demo" / "档案库.sqlite"
    consolidation = consolidate_period(campaign, 1, archive)
    master = write_master_workbook(consolidation, tmp_path / "汇总_第1期.xlsx")
    return consolidation, master, archive, campaign


def _type_into_master(master, unit_code: str, edits: dict[str, object]) -> str:
    """Type figures into the unit's row of its city sheet, found by label; returns the sheet name."""
    from openpyxl import load_workbook

    book = load_workbook(master)
    for sheet in book.worksheets:
        rows = list(sheet.iter_rows(min_row=1, max_row=10, values_only=True))
        header = next((r for r in rows if r and "单位代码" in r), None)
        if header is None:
            continue
        code_col = header.index("单位代码") + 1
        for row in range(1, sheet.max_row + 1):
            if str(sheet.cell(row, code_col).value) == unit_code:
                for name, value in edits.items():
                    sheet.cell(row, header.index(name) + 1).value = value
                book.save(master)
                return sheet.title
    raise AssertionError(f"{unit_code} not found in {master}")


def test_validate_book_marks_a_typed_error_at_its_cell(week_one):
    consolidation, master, archive, campaign = week_one
    row = consolidation.counties[0]
    sheet = _type_into_master(master, row.unit.code, {"运营专柜数": row.values["counters_built"] + 5})
    check = validate_book(campaign, master, archive)
    [issue] = [i for i in check.issues if i.code.value == "rule-failed"]
    assert issue.sheet == sheet and issue.severity.value == "错误" and "运营专柜数" in issue.message
    assert check.period == 1


def test_validate_book_records_a_correction_that_survives_a_rebuild(week_one):
    consolidation, master, archive, campaign = week_one
    row = consolidation.counties[0]
    new_sales = (row.values["counter_sales"] or 0) + 12.34
    _type_into_master(master, row.unit.code, {"专柜累计销售额": new_sales})
    check = validate_book(campaign, master, archive, record=True)
    assert check.note == "" and len(check.recorded) == 1
    rebuilt = consolidate_period(campaign, 1, archive)
    after = next(r for r in rebuilt.counties if r.unit.code == row.unit.code)
    assert after.values["counter_sales"] == pytest.approx(new_sales)
    with Archive(archive) as a:
        assert a.submission(check.recorded[0]).source == "manual"


def test_validate_book_refuses_to_record_over_newer_returns(week_one):
    consolidation, master, archive, campaign = week_one
    row = consolidation.counties[0]
    _type_into_master(master, row.unit.code, {"专柜累计销售额": 1.0})
    with Archive(archive) as a:      # a return taken in after the master was made
        a.record_submission(NewSubmission(unit_code=row.unit.code, period=1, accepted=True,
                                          values={"counter_sales": 99.0}))
    check = validate_book(campaign, master, archive, record=True)
    assert check.recorded == [] and "可能已过时" in check.note


# ---- the later return wins, whatever the order it is read in ----------------------------------------

def _nanning_return(tmp_path, repo_root, name: str, canteens: int, at: str) -> None:
    """良庆区's period-1 return (its own form, filled as a clerk would), saved into the inbox at `at`."""
    import datetime as dt
    import os

    from xf_excel.demo.fill import fill_form
    from xf_excel.outputs.forms import form_filename

    config = load_config(repo_root / "examples" / "nanning" / "config.yaml")
    forms = tmp_path / "forms"
    form = forms / form_filename(config, "450108", 1)
    if not form.exists():
        make_forms(config, 1, forms)
    path = fill_form(form, tmp_path / "inbox" / name, {"参与采购的机关食堂数": canteens, "食堂采购扶贫产品金额": 20,
                                                        "食堂采购食材总额": 100},
                     header={"填报人": "韦芳", "联系电话": "0771-2345678"})
    stamp = dt.datetime.fromisoformat(at).timestamp()
    os.utime(path, (stamp, stamp))


def _liangqing(tmp_path, repo_root):
    config = load_config(repo_root / "examples" / "nanning" / "config.yaml")
    c = consolidate_period(config, 1, tmp_path / "a.sqlite")
    row = next(r for r in c.counties if r.unit.code == "450108")
    status = next(r for r in c.reporting if r.unit.code == "450108")
    return c, row, status


def test_the_later_correction_wins_though_its_name_sorts_first(tmp_path, repo_root):
    """更正_… (15:00) sorts before 第1期_… (09:00) and is read first; still the correction counts."""
    config = load_config(repo_root / "examples" / "nanning" / "config.yaml")
    _nanning_return(tmp_path, repo_root, "第1期_城区片_良庆区.xlsx", 11, "2020-10-18T09:00:00")
    _nanning_return(tmp_path, repo_root, "更正_第1期_城区片_良庆区.xlsx", 14, "2020-10-18T15:00:00")
    report = intake_inbox(config, tmp_path / "inbox", 1, tmp_path / "a.sqlite", tmp_path / "back")
    assert [f.display for f in report.files] == ["更正_第1期_城区片_良庆区.xlsx", "第1期_城区片_良庆区.xlsx"]
    c, row, status = _liangqing(tmp_path, repo_root)
    assert row.values["canteens"] == 14
    assert (status.counted_file, status.replaced) == ("更正_第1期_城区片_良庆区.xlsx",
                                                      [("第1期_城区片_良庆区.xlsx", "2020-10-18T09:00:00")])
    assert any("早于已收到的「更正_第1期_城区片_良庆区.xlsx」" in n for n in report.notices)


def test_the_later_return_wins_when_the_earlier_is_taken_in_afterwards(tmp_path, repo_root):
    config = load_config(repo_root / "examples" / "nanning" / "config.yaml")
    _nanning_return(tmp_path, repo_root, "良庆区_第二次.xlsx", 14, "2020-10-18T15:00:00")
    intake_inbox(config, tmp_path / "inbox", 1, tmp_path / "a.sqlite", tmp_path / "back")
    (tmp_path / "inbox" / "良庆区_第二次.xlsx").unlink()
    _nanning_return(tmp_path, repo_root, "良庆区_第一次.xlsx", 11, "2020-10-18T09:00:00")
    intake_inbox(config, tmp_path / "inbox", 1, tmp_path / "a.sqlite", tmp_path / "back")
    _, row, status = _liangqing(tmp_path, repo_root)
    assert (row.values["canteens"], status.counted_file) == (14, "良庆区_第二次.xlsx")


def test_two_returns_received_at_the_same_moment_are_reported_and_asked_about(tmp_path, repo_root):
    config = load_config(repo_root / "examples" / "nanning" / "config.yaml")
    _nanning_return(tmp_path, repo_root, "良庆区_A.xlsx", 11, "2020-10-18T15:00:00")
    _nanning_return(tmp_path, repo_root, "良庆区_B.xlsx", 14, "2020-10-18T15:00:00")
    report = intake_inbox(config, tmp_path / "inbox", 1, tmp_path / "a.sqlite", tmp_path / "back")
    c, row, status = _liangqing(tmp_path, repo_root)
    [tie] = [i for i in c.issues if i.code.value == "same-time-returns"]
    assert tie.unit == "450108" and tie.message in report.notices
    assert "「良庆区_B.xlsx」与「良庆区_A.xlsx」接收时间相同（10月18日15时）" in tie.message
    assert "核实以哪一份为准" in tie.message and tie.label == "报送时间相同"
    assert row.values["canteens"] == 14 and status.counted_file == "良庆区_B.xlsx"


def test_reporting_status_shows_which_return_counts_and_what_it_replaced(tmp_path, repo_root):
    from openpyxl import load_workbook

    from xf_excel.outputs.status import status_text

    config = load_config(repo_root / "examples" / "nanning" / "config.yaml")
    _nanning_return(tmp_path, repo_root, "第1期_城区片_良庆区.xlsx", 11, "2020-10-18T09:00:00")
    _nanning_return(tmp_path, repo_root, "更正_第1期_城区片_良庆区.xlsx", 14, "2020-10-18T15:00:00")
    intake_inbox(config, tmp_path / "inbox", 1, tmp_path / "a.sqlite", tmp_path / "back")
    c, _, _ = _liangqing(tmp_path, repo_root)
    said = "采用「更正_第1期_城区片_良庆区.xlsx」（10月18日15时收到），替换此前报送的「第1期_城区片_良庆区.xlsx」（10月18日9时收到）"
    assert said in status_text(c)
    sheet = load_workbook(write_master_workbook(c, tmp_path / "m.xlsx"), read_only=True)["报送情况"]
    rows = {r[0]: r for r in sheet.iter_rows(min_row=4, values_only=True)}
    header = next(sheet.iter_rows(min_row=3, max_row=3, values_only=True))
    assert rows["450108"][header.index("采用的报表")] == said


# Words of the Guangxi campaign that must never appear in another campaign's outputs.
GUANGXI_WORDS = ("全区", "广西", "自治区", "消费扶贫", "各市进展", "各市排名", "各市工作表", "各市主要", "市级", "所属市",
                 "县（市、区）", "组委会", "城区片良庆区")


def _workbook_text(path) -> str:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    cells = [str(v) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for v in row if v]
    return "\n".join(book.sheetnames + cells)


def _docx_text(path) -> str:
    from docx import Document

    doc = Document(str(path))
    parts = [p.text for p in doc.paragraphs] + [c.text for t in doc.tables for row in t.rows for c in row.cells]
    return "\n".join(parts)


def test_the_second_campaigns_outputs_speak_its_own_words(nanning_demo):
    """南宁: two 片区 of one city. Its master and briefings name its own levels and campaign."""
    config, results = nanning_demo
    for result in results:
        master = _workbook_text(result.master)
        words = master + _docx_text(result.briefing.docx) + result.briefing.markdown.read_text(encoding="utf-8-sig")
        assert [w for w in GUANGXI_WORDS if w in words] == [], result.period
        assert "全市汇总" in master and "各片区进展" in master and "所属片区" in master
    last = results[-1]
    md = last.briefing.markdown.read_text(encoding="utf-8-sig")
    assert "各片区由高到低依次为" in md and "全市12个县（区）" in md and "市直单位" in md
    assert "排名前一位" not in md


def test_config_check_names_the_campaigns_levels(repo_root):
    out = CliRunner().invoke(main, ["--config", str(repo_root / "examples" / "nanning" / "config.yaml"),
                                    "config", "check"]).output
    assert "（2 个片区）" in out and "个市" not in out


def test_the_demo_line_accounts_for_every_unit_asked(small_demo):
    from xf_excel.fronts.cli import render_demo_period

    _, results, _ = small_demo
    for result in results:
        states = [r.state for r in result.consolidation.reporting]
        line = render_demo_period(result)
        assert (f"应报 {len(states)} 个，已报 {states.count('accepted') + states.count('warned')} 个，"
                f"退回待重报 {states.count('rejected')} 个，未报 {states.count('missing')} 个") in line
