"""The campaign-end report (活动总结): its figures are the last period's consolidation as
printed, the targets not met are named with why they matter, the second campaign speaks its
own words, and no name from config or a return becomes markup in either document."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from docx import Document

from briefing_factory import make_consolidation
from excel_front import seed_archive
from test_report import COUNTIES, MEMBERS, PREVIOUS, PREVIOUS_MEMBERS, SMALL_CONFIG
from xf_excel.config import load_config, parse_config
from xf_excel.errors import NothingToReport
from xf_excel.fronts.cli import main
from xf_excel.pipeline import consolidate_period, final_period, summarize, summarize_campaign
from xf_excel.wording import fmt_percent, fmt_plan_value, fmt_value, quantity_name

GUANGXI_WORDS = ("广西", "全区", "自治区", "县（市、区）", "各市", "消费扶贫月", "组委会", "扶贫832")


@pytest.fixture(scope="module")
def month(config, tmp_path_factory):
    """A whole month in a real archive (every unit's accepted returns of periods 1–5), summarised."""
    folder = tmp_path_factory.mktemp("month")
    seed_archive(config, folder / "xf.sqlite", period=final_period(config))
    result = summarize_campaign(config, folder / "xf.sqlite", folder / "活动总结", now=dt.datetime(2020, 10, 10, 9))
    return result, consolidate_period(config, final_period(config), folder / "xf.sqlite",
                                      now=dt.datetime(2020, 10, 10, 9))


def _text(path: Path) -> str:
    return "\n".join(p.text for p in Document(str(path)).paragraphs)


def _summary_table(path: Path) -> list[list[str]]:
    """The 附表 read back from the Word document: the table whose header starts with 活动."""
    for table in Document(str(path)).tables:
        rows = [[cell.text for cell in row.cells] for row in table.rows]
        if rows and rows[0][:2] == ["活动", "指标"]:
            return rows[1:]
    raise AssertionError("no summary table")


def test_the_reports_figures_are_the_last_periods_consolidation(month, config):
    result, c = month
    assert result.period == 5 and result.docx.name == "2020年消费扶贫月活动总结.docx"
    properties = Document(str(result.docx)).core_properties
    assert (properties.title, properties.author, properties.category) == (
        "2020年消费扶贫月活动总结", config.campaign.office, "活动总结")
    rows = _summary_table(result.docx)
    assert len(rows) == len(config.targets) == len(c.progress)
    printed = {row[1]: row for row in rows}
    for p in c.progress:
        scope = "" if p.target.scope == "region" else config.county_groups[p.target.scope].name
        row = printed[scope + p.indicator.name]
        assert row[3] == fmt_value(p.value, p.indicator.kind, p.indicator.unit)
        target = fmt_plan_value(p.target.value, p.indicator.kind, p.indicator.unit)
        assert row[2] == (f"≤{target}" if p.target.is_cap else target)
        if p.completion is not None and p.indicator.kind != "ratio":
            assert row[4] == fmt_percent(p.completion)
    text = _text(result.docx)
    counters = next(p for p in c.progress if p.indicator.id == "counters_operating")
    assert f"全区累计运营专柜{fmt_value(counters.value, 'count', '个')}，完成目标任务的{fmt_percent(counters.completion)}" in text
    markdown = result.markdown.read_text(encoding="utf-8-sig")
    assert f"| {fmt_value(counters.value, 'count', '个')} | {fmt_percent(counters.completion)} |" in markdown


def test_the_report_follows_the_plan_in_its_order_and_words(month, config):
    result, _ = month
    text = _text(result.docx)
    headings = [line for line in text.splitlines() if re.match(r"^（[一二三四五六七八九十]+）", line)]
    assert headings[:len(config.activities)] == [f"（{n}）{a.name}" for n, a in zip(
        "一二三四五六七八九", config.activities)]
    assert "方案要求：消费扶贫月期间，建成1000个试点专柜并正式运营。" in text
    assert text.index("2020年消费扶贫月活动总结") < text.index("一、各项活动完成情况") < text.index("附表")
    assert "2020年10月10日" in text and "活动总结专刊" in text        # dated and titled from config
    assert "较上期" not in text and "时间进度为" not in text            # the result, not a week's progress


def test_targets_not_met_are_named_with_why_they_matter(month, config):
    result, c = month
    unmet = [p for p in c.progress if p.status in ("ahead", "behind") or p.status == "over-cap"]
    assert unmet, "the seeded month should leave some target unmet"
    text = _text(result.docx)
    section = text[text.index("未完成的目标任务"):text.index("下一步工作")]
    for p in unmet:
        name = quantity_name(p.indicator.name, p.indicator.kind)
        assert name in section and any(name in n for n in result.unmet)
        if p.target.purpose:
            assert p.target.purpose in section
    met = [p for p in c.progress if p.status in ("met", "within-cap")]
    assert len(result.met) == len(met) and len(result.unmet) == len(unmet)
    for p in met:
        assert p.indicator.name not in section
    rows = {row[1]: row[5] for row in _summary_table(result.docx)}
    assert sum(result == "未完成" for result in rows.values()) == sum(p.status != "over-cap" for p in unmet)


def test_the_summary_table_fits_one_page_with_the_imprint(month, soffice, tmp_path):
    import subprocess

    result, _ = month
    subprocess.run([soffice, "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(result.docx)],
                   check=True, capture_output=True, timeout=240)
    pdf = next(tmp_path.glob("*.pdf"))
    pages = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                           text=True).stdout.split("\f")
    pages = [page for page in pages if page.strip()]
    last = pages[-1]
    assert "附表" in last and "目标任务完成情况汇总表" in last and "印发" in last


def test_the_second_campaign_speaks_its_own_words(tmp_path):
    config = load_config(Path(__file__).resolve().parent.parent / "examples" / "nanning" / "config.yaml")
    seed_archive(config, tmp_path / "xf.sqlite", period=final_period(config))
    result = summarize_campaign(config, tmp_path / "xf.sqlite", tmp_path / "out")
    text = _text(result.docx) + result.markdown.read_text(encoding="utf-8-sig")
    text += "".join(cell.text for table in Document(str(result.docx)).tables for row in table.rows
                    for cell in row.cells)
    assert "南宁市扶贫产品进机关活动总结" in text and "扶贫产品进机关工作简报" in text and "2020年10月28日" in text
    assert "全市累计" in text and "各片区完成情况" in text and "各县（区）中位居前列的是" in text
    assert "方案确定的4项量化目标全部完成" in text and "未完成" not in text    # no section of nothing
    assert "典型做法" not in text                                            # nobody wrote one
    found = [w for w in GUANGXI_WORDS if w in text]
    assert not found, found


def test_a_hostile_name_stays_text_in_both_documents(tmp_path):
    hostile = "=cmd|'/C calc'!A0<script>alert(1)</script>"
    config = parse_config(SMALL_CONFIG.replace("name: 甲县", f'name: "{hostile}"'), "x.yaml")
    c = make_consolidation(config, 3, COUNTIES, MEMBERS, previous_counties=PREVIOUS,
                           previous_members=PREVIOUS_MEMBERS, generated_at=dt.datetime(2021, 5, 21, 9))
    result = summarize(c, tmp_path, issue_date=dt.date(2021, 5, 22))
    assert hostile in _text(result.docx)                 # named among the units that did most, as text
    with zipfile.ZipFile(result.docx) as z:
        xml = z.read("word/document.xml").decode("utf-8")
    assert "<script>" not in xml and "&lt;script&gt;" in xml and "w:fldSimple" not in xml.replace(
        'w:instr=" PAGE "', "") and "w:hyperlink" not in xml
    md = result.markdown.read_text(encoding="utf-8-sig")
    assert not re.search(r"(?<!\\)<", md) and "\\<script\\>" in md and "cmd\\|" in md


def test_summary_before_any_return_refuses_and_the_command_says_so(config, tmp_path, repo_root):
    from xf_excel.archive.store import Archive

    with Archive(tmp_path / "xf.sqlite"):
        pass
    with pytest.raises(NothingToReport):
        summarize_campaign(config, tmp_path / "xf.sqlite", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    outcome = CliRunner().invoke(main, ["--config", str(repo_root / "config.yaml"), "--archive",
                                        str(tmp_path / "xf.sqlite"), "summary", "--out", str(tmp_path / "out")])
    assert outcome.exit_code == 1 and "未生成活动总结" in outcome.output and "Traceback" not in outcome.output


def test_the_committed_template_is_the_one_the_builder_makes(tmp_path):
    import subprocess
    import sys

    from xf_excel.outputs.briefing import default_template_dir

    script = default_template_dir() / "build_briefing_template.py"
    subprocess.run([sys.executable, str(script), str(tmp_path / "summary.docx"), "--summary"], check=True,
                   capture_output=True)
    with zipfile.ZipFile(tmp_path / "summary.docx") as built, \
            zipfile.ZipFile(default_template_dir() / "summary.docx") as committed:
        for part in ("word/document.xml", "word/styles.xml"):
            assert built.read(part) == committed.read(part), part


def test_the_practices_the_units_wrote_are_collected_and_stay_text(tmp_path):
    from xf_excel.archive.store import Archive, NewSubmission

    config = load_config(Path(__file__).resolve().parent.parent / "examples" / "nanning" / "config.yaml")
    archive_path = tmp_path / "xf.sqlite"
    seed_archive(config, archive_path, period=final_period(config))
    practice = "青秀区建立机关食堂扶贫产品采购清单，每周推送。\n=cmd|' /C calc'!A0 <script>x</script> | 伪造 |"
    with Archive(archive_path) as archive:
        for code, period, text in (("450103", 1, practice), ("450103", 2, "短的做法。"), ("450126", 2, "宾阳县开设专窗。")):
            base = archive.accepted(period)[code]
            archive.record_submission(NewSubmission(
                unit_code=code, period=period, accepted=True, values=dict(base.values), file_name=f"更正{period}.xlsx",
                received_at=f"2020-10-{16 + 9 * (period - 1)}T20:00:00", narrative=[("典型做法", text, "填报!C42")]))
    result = summarize_campaign(config, archive_path, tmp_path / "out")
    text = _text(result.docx)
    section = text[text.index("典型做法"):text.index("下一步工作")]
    # one a 片区, the longest of the campaign, led by its unit's name; the 片区 in ranking order
    assert "青秀区建立机关食堂扶贫产品采购清单，每周推送。=cmd|' /C calc'!A0 <script>x</script> | 伪造 |" in section
    assert "宾阳县开设专窗。" in section and "短的做法" not in section
    with zipfile.ZipFile(result.docx) as z:
        assert "<script>" not in z.read("word/document.xml").decode("utf-8")
    md = result.markdown.read_text(encoding="utf-8-sig")
    assert "\\<script\\>" in md and "\\| 伪造 \\|" in md and not re.search(r"(?<!\\)<", md)
