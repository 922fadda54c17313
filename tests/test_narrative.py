"""The units' own words (issue 18, items 1 and 2): 本期工作动态 / 典型做法 on the return form, read
by label and archived per submission; the master's 工作动态 sheet, where the office chooses
and edits the items of the briefing's 各地动态; edits that survive a rebuild; received text
that stays inert text in every output."""

from __future__ import annotations

import re
import warnings
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

import fuzzing
from test_intake import write
from xf_excel.archive.store import Archive, NarrativeItem
from xf_excel.checks.entries import NarrativeChoice
from xf_excel.consolidate import AreaTotals, default_news
from xf_excel.contract import NARRATIVE_LABELS, NARRATIVE_MAX_CHARS, NEWS_SHEET, NewsColumn
from xf_excel.demo.fill import BLANK_ROW, fill_form
from xf_excel.issues import IssueCode
from xf_excel.outputs.forms import form_filename, write_form
from xf_excel.pipeline import (
    brief_period, consolidate_period, intake_inbox, rebuild_master, status_report, validate_book,
)

NEWS_1, NEWS_2, PRACTICE = NARRATIVE_LABELS
COMMAND = "=cmd|' /C calc'!A0"
HOSTILE = f"{COMMAND} 组织展销\n| a | b |\n<script>alert(1)</script>"
WUMING, QINGXIU, JIANGNAN = "450107", "450103", "450105"     # 南宁市西乡塘区, 青秀区, 江南区


def _no_narrative() -> dict[str, str]:
    return {label: "" for label in NARRATIVE_LABELS}


def _return(config, code: str, folder: Path, narrative: dict[str, str], **header) -> bytes:
    return fuzzing.filled_return(config, code, folder, header={**_no_narrative(), **header, **narrative})


def _take_in(config, tmp: Path, returns: dict[str, bytes], inbox: str = "inbox") -> Path:
    for name, content in returns.items():
        write(tmp / inbox, name, content)
    report = intake_inbox(config, tmp / inbox, 2, tmp / "xf.sqlite", tmp / "退回")
    assert {f.status for f in report.files} <= {"accepted", "warned"}, [(f.display, f.issues) for f in report.files]
    return tmp / "xf.sqlite"


# ---- item 1: on the form, read by label, archived -----------------------------------------------

def test_the_form_has_the_narrative_fields_under_the_table(config, tmp_path):
    form = write_form(config, WUMING, 2, tmp_path / form_filename(config, WUMING, 2))
    sheet = load_workbook(form)["填报"]
    found = {c.value: c for row in sheet.iter_rows() for c in row if c.value in NARRATIVE_LABELS}
    assert set(found) == set(NARRATIVE_LABELS)
    table_row = next(c.row for row in sheet.iter_rows() for c in row if c.value == "截至本期累计")
    for cell in found.values():
        beside = sheet.cell(cell.row, cell.column + 1)
        assert cell.row > table_row and not beside.protection.locked and beside.number_format == "@"
    rules = [v for v in sheet.data_validations.dataValidation if v.type == "textLength"]
    assert len(rules) == 3 and all(r.formula1 == str(NARRATIVE_MAX_CHARS) and r.errorStyle == "warning" for r in rules)
    assert any(f"不超过{NARRATIVE_MAX_CHARS}字" in str(c.value) for row in sheet.iter_rows() for c in row)


def test_narrative_is_read_by_label_where_a_clerk_moved_it_and_archived_per_submission(config, tmp_path):
    delivery = fuzzing.clean_delivery(config, WUMING)
    form = write_form(config, WUMING, 2, tmp_path / form_filename(config, WUMING, 2))
    text = "9月8日，西乡塘区举办展销会。\n现场销售沃柑12万元"
    fill_form(form, tmp_path / "inbox" / "西乡塘区.xlsx", delivery.values, delivery.details,
              {**delivery.header, **_no_narrative()}, quirks=[BLANK_ROW], engine="openpyxl",
              narrative={NEWS_1: "  " + text + "  ", PRACTICE: "“合作社+贫困户”模式"})
    report = intake_inbox(config, tmp_path / "inbox", 2, tmp_path / "xf.sqlite", tmp_path / "退回")
    (outcome,) = report.files
    assert outcome.status in ("accepted", "warned")
    with Archive(tmp_path / "xf.sqlite") as archive:
        items = archive.narratives(period=2)
        (submission,) = archive.submissions(2)
        assert archive.narratives(period=1) == [] and archive.narratives() == items
    assert [(i.unit_code, i.period, i.kind, i.text, i.submission_id) for i in items] == [
        (WUMING, 2, "工作动态", text, submission.id), (WUMING, 2, "典型做法", "“合作社+贫困户”模式", submission.id)]
    assert items[0].cell.startswith("填报!") and items[0].key == f"N{submission.id}-1"


def test_a_long_narrative_is_kept_whole_with_a_warning(config, tmp_path):
    long_text = "西乡塘区组织开展消费扶贫进机关活动。" * 30
    archive = _take_in(config, tmp_path, {"a.xlsx": _return(config, WUMING, tmp_path / "forms", {NEWS_1: long_text})})
    with Archive(archive) as a:
        assert [i.text for i in a.narratives(2)] == [long_text]
        issues = [i for i in a.issues(2) if i.code is IssueCode.LONG_NARRATIVE]
    assert len(issues) == 1 and issues[0].severity.value == "警告"
    assert f"共{len(long_text)}字" in issues[0].message and issues[0].cell.startswith("填报!")


def test_the_demo_units_write_plausible_narratives_that_change_week_by_week(config):
    from xf_excel.demo.narrative import narrative_for

    counties = [u for u in config.reporting_units() if u.kind == "county"][:40]
    weeks = {p: {u.code: narrative_for(config, 2020, u, p) for u in counties} for p in (1, 2)}
    written = [t for week in weeks.values() for texts in week.values() for t in texts.values()]
    assert 20 < len(written) < 120 and len(set(written)) == len(written)
    assert weeks[1] != weeks[2] and weeks[1] == {u.code: narrative_for(config, 2020, u, 1) for u in counties}
    assert all(len(t) <= NARRATIVE_MAX_CHARS and t.endswith("。") for t in written)


# ---- item 2: choosing in the master, the briefing's 各地动态 ------------------------------------------

def test_without_a_choice_each_of_the_three_cities_that_grew_most_gives_its_longest_item(config):
    cities = {c.code: c for c in (AreaTotals(code, code, {"counters_operating": value}, {"counters_operating": before})
                                  for code, value, before in (("450100", 50, 40), ("450200", 90, 10),
                                                              ("450300", 30, 0), ("450400", 99, 98),
                                                              ("450500", 70, 30)))}
    county_of = {u.city_code: u.code for u in config.reporting_units() if u.kind == "county"}
    items = [NarrativeItem(f"{n}-1", n, 1, county_of[city], 2, "工作动态", "字" * length)
             for n, (city, length) in enumerate((("450100", 5), ("450200", 3), ("450200", 9), ("450300", 4),
                                                 ("450400", 50), ("450500", 7)), start=1)]
    member = next(u for u in config.reporting_units() if u.kind == "member")
    items.append(NarrativeItem("9-1", 9, 1, member.code, 2, "工作动态", "字" * 80))
    assert config.ranking_indicator == "counters_operating"
    # increases: 450200 +80, 450500 +40, 450300 +30, 450100 +10, 450400 +1; member units are not cities
    assert default_news(config, items, list(cities.values())) == {"3-1", "6-1", "4-1"}


def _news_sheet(path: Path):
    book = load_workbook(path)
    sheet = book[NEWS_SHEET]
    header = next(r for r in range(1, 10) if sheet.cell(r, 1).value == NewsColumn.KEY)
    columns = {sheet.cell(header, c).value: c for c in range(1, sheet.max_column + 1)}
    return book, sheet, header, columns


def test_an_item_edited_in_the_master_reaches_the_briefing_and_survives_a_rebuild(config, tmp_path):
    forms = tmp_path / "forms"
    archive = _take_in(config, tmp_path, {
        "wm.xlsx": _return(config, WUMING, forms, {NEWS_1: "西乡塘区举办沃柑展销会，销售12万元。"}),
        "qx.xlsx": _return(config, QINGXIU, forms, {NEWS_1: "青秀区开展以购代捐，认购8万元。",
                                                    PRACTICE: "青秀区建立产销对接清单，每周推送供给信息，实现以销定产。"}),
    })
    _, master = rebuild_master(config, 2, archive, tmp_path / "out")
    book, sheet, header, col = _news_sheet(master)
    rows = {sheet.cell(r, col[NewsColumn.ORIGINAL]).value: r for r in range(header + 1, sheet.max_row + 1)}
    assert len(rows) == 3
    chosen = [t for t, r in rows.items() if sheet.cell(r, col[NewsColumn.CHOSEN]).value == "是"]
    assert chosen == ["青秀区建立产销对接清单，每周推送供给信息，实现以销定产。"]    # the default: one city, its longest
    before = brief_period(config, 2, archive, tmp_path / "b0").markdown.read_text(encoding="utf-8-sig")
    assert "**南宁市青秀区**建立产销对接清单" in before and "沃柑" not in before

    # the office chooses 西乡塘区's item instead, and shortens it
    for text, r in rows.items():
        sheet.cell(r, col[NewsColumn.CHOSEN]).value = "是" if "沃柑" in text else None
    sheet.cell(rows["西乡塘区举办沃柑展销会，销售12万元。"], col[NewsColumn.TEXT]).value = "西乡塘区举办沃柑展销会（编辑部改）。"
    book.save(master)
    check = validate_book(config, master, archive, record=True)
    assert check.news_recorded == 3 and not check.note

    def briefing(folder: str) -> str:
        return brief_period(config, 2, archive, tmp_path / folder).markdown.read_text(encoding="utf-8-sig")

    after = briefing("b1")
    assert "**南宁市西乡塘区**举办沃柑展销会（编辑部改）。" in after and "产销对接清单" not in after
    # rebuilt (a new return of another unit arrives, the master is written again from the archive)
    _take_in(config, tmp_path, {"jn.xlsx": _return(config, JIANGNAN, forms, {NEWS_1: "江南区举办展销会。"})}, "inbox2")
    _, master = rebuild_master(config, 2, archive, tmp_path / "out")
    book, sheet, header, col = _news_sheet(master)
    shown = {sheet.cell(r, col[NewsColumn.ORIGINAL]).value: (sheet.cell(r, col[NewsColumn.CHOSEN]).value,
                                                            sheet.cell(r, col[NewsColumn.TEXT]).value)
             for r in range(header + 1, sheet.max_row + 1)}
    assert shown["西乡塘区举办沃柑展销会，销售12万元。"] == ("是", "西乡塘区举办沃柑展销会（编辑部改）。")
    assert shown["江南区举办展销会。"][0] is None            # chosen by the office: a new item is not forced in
    assert "举办沃柑展销会（编辑部改）。" in briefing("b2") and "江南区举办" not in briefing("b2")


def test_a_choice_stays_with_its_item_when_the_units_figures_are_corrected_in_the_master(config, tmp_path):
    archive = _take_in(config, tmp_path, {"wm.xlsx": _return(config, WUMING, tmp_path / "forms",
                                                             {NEWS_1: "西乡塘区举办沃柑展销会。"})})
    with Archive(archive) as a:
        (item,) = a.narratives(2)
        a.record_narrative_choices(2, [NarrativeChoice(item.key, True, "改过的文字。")])
    _, master = rebuild_master(config, 2, archive, tmp_path / "out")
    book = load_workbook(master)
    sheet = book["南宁市"]
    header = next(r for r in range(1, 10) if sheet.cell(r, 1).value == "单位代码")
    columns = {sheet.cell(header, c).value: c for c in range(1, sheet.max_column + 1)}
    row = next(r for r in range(header + 1, sheet.max_row + 1) if str(sheet.cell(r, 1).value) == WUMING)
    cell = sheet.cell(row, columns["建成专柜数"])
    cell.value = (cell.value or 0) + 1
    book.save(master)
    assert validate_book(config, master, archive, record=True).recorded
    with Archive(archive) as a:
        assert [i.key for i in a.narratives(2)] == [item.key]       # the manual return carries the same item
    consolidation = consolidate_period(config, 2, archive)
    assert [(n.chosen, n.text) for n in consolidation.news] == [(True, "改过的文字。")]


# ---- received text stays inert text everywhere -------------------------------------------------------

@pytest.fixture(scope="module")
def hostile(tmp_path_factory, config):
    """A return whose three narrative fields carry a formula, Markdown table syntax, HTML and a
    line break, all chosen for the briefing; a bad phone number makes it a 提示 feedback workbook."""
    tmp = tmp_path_factory.mktemp("hostile-narrative")
    content = _return(config, WUMING, tmp / "forms", {NEWS_1: HOSTILE, NEWS_2: COMMAND, PRACTICE: "| x | y |"},
                      联系电话="12345")
    archive = _take_in(config, tmp, {"wm.xlsx": content})
    with Archive(archive) as a:
        a.record_narrative_choices(2, [NarrativeChoice(i.key, True, "") for i in a.narratives(2)])
    _, master = rebuild_master(config, 2, archive, tmp / "out")
    return tmp, archive, master, brief_period(config, 2, archive, tmp / "简报")


def _texts_and_formulas(path: Path) -> tuple[list[str], list[str]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        book = load_workbook(path)
    texts, formulas = [], []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    formulas.append(f"{sheet.title}!{cell.coordinate}")
                elif isinstance(cell.value, str):
                    texts.append(cell.value)
    return texts, formulas


def test_the_archive_keeps_the_received_text_as_it_was_typed(hostile):
    _, archive, _, _ = hostile
    with Archive(archive) as a:
        assert [i.text for i in a.narratives(2)] == [HOSTILE, COMMAND, "| x | y |"]


def test_feedback_and_master_hold_the_narrative_as_text_never_as_a_formula(hostile):
    tmp, _, master, _ = hostile
    (feedback,) = (tmp / "退回").glob("提示_*.xlsx")
    texts, formulas = _texts_and_formulas(feedback)
    assert HOSTILE in texts and COMMAND in texts and formulas == []
    with zipfile.ZipFile(feedback) as z:
        sheets = b"".join(z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/"))
    assert b"cmd|" in sheets and not re.search(rb"<f>[^<]*cmd", sheets)
    texts, formulas = _texts_and_formulas(master)
    assert formulas == [] and texts.count(HOSTILE) == 2 and COMMAND in texts     # 原文 and 简报采用文字


def test_the_briefing_prints_the_narrative_as_plain_text(hostile):
    _, _, _, briefing = hostile
    markdown = briefing.markdown.read_text(encoding="utf-8-sig")
    section = markdown[markdown.index("各地动态"):markdown.index("存在的问题")]
    lines = [line for line in section.splitlines() if line.strip()][1:-1]
    assert len(lines) == 3 and all(line.startswith("**南宁市西乡塘区：**") for line in lines)   # one paragraph an item
    assert not [line for line in section.splitlines() if re.match(r"\s*\|", line)]   # no table row forged
    assert not re.search(r"(?<!\\)<[A-Za-z/]", section) and "\\<script\\>" in section
    assert re.search(r"(?<!\\)\|", section.replace("\\|", "")) is None
    with zipfile.ZipFile(briefing.docx) as z:
        document = z.read("word/document.xml").decode("utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in document and "<script>" not in document
    assert "=cmd|' /C calc'!A0" in document.replace("&apos;", "'") and "| a | b |" in document
    assert "<w:br/>" not in document[document.index("各地动态"):]


def test_the_status_text_does_not_carry_the_narrative(hostile, config):
    _, archive, _, _ = hostile
    text = status_report(config, 2, archive).text
    assert "cmd|" not in text and "<script>" not in text


def test_the_web_console_shows_the_narrative_of_the_briefing_as_text(tmp_path, repo_root, config):
    from console_setup import PERIOD, server_folder
    from test_console import browser, csrf_of, wait_for

    root = server_folder(tmp_path / "server", repo_root)
    client = browser(root)
    token = csrf_of(client)
    upload = [("files", ("wm.xlsx", _return(config, WUMING, tmp_path / "forms", {NEWS_1: HOSTILE})))]
    wait_for(client, client.post(f"/p/{PERIOD}/upload", data={"csrf": token}, files=upload,
                                 follow_redirects=False).headers["location"])
    wait_for(client, client.post(f"/p/{PERIOD}/brief", data={"csrf": token}, follow_redirects=False).headers["location"])
    preview = client.get(f"/p/{PERIOD}/briefing").text
    assert "各地动态" in preview and "alert(1)" in preview
    shown = preview[preview.index("各地动态"):preview.index("存在的问题")]
    assert "<script>" not in shown and "\\&lt;script\\&gt;alert(1)" in shown      # HTML-escaped Markdown text
    assert shown.count("\n") == 4                            # the heading, one line for the item: no line break kept
