"""The master workbook: written from a consolidation, read back with openpyxl, and its entry
sheets read, checked and archived as manual corrections."""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from xf_excel.contract import ISSUE_COLUMNS, ISSUE_HISTORY_HEADING
from xf_excel.consolidate import consolidate
from xf_excel.issues import Issue, IssueCode, Severity
from xf_excel.checks.entries import check_entries, entries_without_errors, read_master_entries
from xf_excel.consolidate import record_manual_entries
from xf_excel.outputs.master import write_master
from xf_excel.archive.store import Archive, NewSubmission

# openpyxl cannot read XlsxWriter's data-bar extension and says so; nothing is wrong
pytestmark = pytest.mark.filterwarnings("ignore:.*extension is not supported:UserWarning")

NOW = dt.datetime(2020, 9, 15, 9, 0)
HOSTILE = "=HYPERLINK(\"http://evil.example\",\"点我\")"
NANNING = ["450102", "450103", "450105", "450107", "450108", "450109", "450110", "450123", "450124", "450125",
           "450126", "450127"]


def _figures(config, unit, rng, scale):
    values = {}
    for ind in config.indicators_for(unit):
        if not ind.numeric:
            continue
        if ind.kind == "count":
            values[ind.id] = float(rng.randint(0, int(20 * scale)))
        else:
            values[ind.id] = round(rng.uniform(0, 300 * scale), 2)
    if "counters_built" in values:
        values["counters_operating"] = min(values["counters_operating"], values["counters_built"])
    if "products_certified" in values:
        values["products_listed"] = min(values["products_listed"], values["products_certified"])
        values["suppliers_listed"] = min(values["suppliers_listed"], values["suppliers_certified"])
    return values


def build_archive(archive, config):
    """Periods 1–2: every unit reports period 1; in period 2 南宁市兴宁区 is carried forward,
    the other units report, one is rejected (with a hostile text), one warned, one late."""
    rng = random.Random(7)
    for period, scale in ((1, 1.0), (2, 2.0)):
        for unit in config.reporting_units():
            if period == 2 and unit.code in ("450102", "450103", "450202"):
                continue
            archive.record_submission(NewSubmission(unit.code, period, accepted=True, values=_figures(config, unit, rng, scale),
                                                    received_at=f"2020-09-{6 + 7 * (period - 1):02d}T10:00:00"))
    archive.record_submission(NewSubmission(
        "450103", 2, accepted=False, values={"counters_built": 1}, file_name=HOSTILE, received_at="2020-09-13T09:00:00",
        issues=[Issue(IssueCode.NOT_A_NUMBER, Severity.ERROR, "填报!E12 建成专柜数应为数字", file=HOSTILE, sheet="填报",
                      row=12, column=5, indicator="counters_built", value=HOSTILE, unit="450103")]))
    archive.record_submission(NewSubmission(
        "450202", 2, accepted=True, values=_figures(config, config.unit("450202"), rng, 2.0),
        received_at="2020-09-14T15:00:00",
        issues=[Issue(IssueCode.IMPLAUSIBLE_JUMP, Severity.WARNING, "填报!E13 增幅过大，请核对", file="柳州.xlsx",
                      sheet="填报", row=13, column=5, indicator="counter_sales", value=5000, unit="450202")]))


@pytest.fixture
def consolidation(tmp_path, config):
    with Archive(tmp_path / "xf.sqlite") as archive:
        build_archive(archive, config)
        yield consolidate(archive, config, 2, now=NOW), archive


@pytest.fixture
def written(tmp_path, consolidation):
    c, _ = consolidation
    path = write_master(c, tmp_path / "out" / "汇总_第2期.xlsx", inbox_folder="D:\\收件箱\\第2期")
    return path, load_workbook(path)


def test_sheets_in_order(written, config):
    path, book = written
    members = [m.short_name for m in config.member_units if m.code in {u.code for u in config.reporting_units()}]
    assert book.sheetnames == (["首页", "全区汇总", "各市进展", "历史"] + [c.name for c in config.cities] + members
                               + ["工作动态", "报送情况", "催报清单", "校验问题", "目标"])
    assert path.name == "汇总_第2期.xlsx" and not list(path.parent.glob(".~xf-*"))


def test_home_defined_names(written, tmp_path):
    _, book = written
    values = {}
    for name in ("Period", "InboxFolder", "OutputFolder", "LastRun"):
        ((title, ref),) = book.defined_names[name].destinations
        assert title == "首页"
        values[name] = book[title][ref.replace("$", "")].value
    assert values["Period"] == 2
    assert values["InboxFolder"] == "D:\\收件箱\\第2期"
    assert values["OutputFolder"] == str((tmp_path / "out").resolve())
    assert values["LastRun"] == NOW


def test_region_sheet_values_formats_and_highlight(written, consolidation):
    c, _ = consolidation
    sheet = written[1]["全区汇总"]
    assert sheet.freeze_panes == "C4"
    rows = {}
    for r in range(4, sheet.max_row + 1):       # the main table ends at the first empty row
        if not sheet.cell(r, 2).value:
            break
        rows[sheet.cell(r, 2).value] = r
    r = rows["运营专柜数"]
    assert sheet.cell(r, 4).value == c.region.values["counters_operating"]
    assert sheet.cell(r, 7).value == 1000
    assert sheet.cell(r, 4).number_format == "#,##0"
    assert sheet.cell(r, 8).number_format == "0.0%"
    r = rows["专柜累计销售额"]
    assert sheet.cell(r, 4).value == pytest.approx(c.region.values["counter_sales"], abs=0)
    assert sheet.cell(r, 4).number_format == "#,##0.00"
    r = rows["运动健康消费券金额"]           # 30,000 万元 target, far behind at period 2
    assert sheet.cell(r, 10).value == "慢于时间进度"
    assert sheet.cell(r, 1).fill.fgColor.rgb.endswith("FCE4D6")
    assert sheet.conditional_formatting  # the completion data bars


def test_charts_present(written):
    path, _ = written
    with zipfile.ZipFile(path) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) == 4                    # 全区汇总, 各市进展, and the two line charts of 历史
        assert "<c:barChart>" in z.read("xl/charts/chart1.xml").decode()


def test_city_sheet_layout_carried_row_and_total(written, consolidation, config):
    c, _ = consolidation
    sheet = written[1]["南宁市"]
    assert sheet.freeze_panes == "D5"
    header = [cell.value for cell in sheet[3]]
    assert header[:3] == ["单位代码", "单位名称", "填报状态"]
    county_names = [i.name for i in config.indicators if not i.derived and i.reported_by.counties != "none"]
    assert header[3:3 + len(county_names)] == county_names
    codes = [sheet.cell(r, 1).value for r in range(5, 5 + len(NANNING))]
    assert codes == NANNING
    carried = sheet.cell(5, 3)
    assert carried.value == "沿用上期" and carried.font.i and sheet.cell(5, 4).font.color.rgb.endswith("7F7F7F")
    assert sheet.cell(5, len(header)).value == "沿用第1期数据"
    total_row = 5 + len(NANNING)
    assert sheet.cell(total_row, 2).value == "合计"
    col = header.index("运营专柜数") + 1
    assert sheet.cell(total_row, col).value == c.cities[0].values["counters_operating"]
    assert sheet.cell(5, col).value == c.counties[0].values["counters_operating"]
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.paperSize == 9
    assert sheet.print_title_rows == "$4:$4"


def test_member_sheet_and_reporting_sheet(written, config):
    _, book = written
    union = book["总工会"]
    assert union.cell(5, 1).value == "BM05" and "计入全区合计" in union.cell(2, 1).value
    reporting = book["报送情况"]
    rows = {reporting.cell(r, 1).value: r for r in range(4, reporting.max_row + 1)}
    column = {cell.value: cell.column for cell in reporting[3]}
    assert len(rows) == len(config.reporting_units())
    assert reporting.cell(rows["450102"], column["报送状态"]).value == "未报送"
    assert reporting.cell(rows["450102"], column["催报/退回提示文本"]).value.startswith("【催报】南宁市兴宁区")
    assert reporting.cell(rows["450103"], column["报送状态"]).value == "被退回"
    assert reporting.cell(rows["450202"], column["报送状态"]).value == "已报送（有警告）"
    assert reporting.cell(rows["450202"], column["是否逾期"]).value == "逾期"


def test_issues_sheet_and_no_formulas_anywhere(written):
    _, book = written
    issues = book["校验问题"]
    assert tuple(c.value for c in issues[3]) == ISSUE_COLUMNS
    values = [[c.value for c in row] for row in issues.iter_rows(min_row=4)]
    assert ["450103", "南宁市青秀区", HOSTILE, "填报!E12", "错误", "不是数字", "建成专柜数", HOSTILE] == values[0][:8]
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate}"


def test_targets_sheet_is_protected(written, config):
    sheet = written[1]["目标"]
    assert sheet.protection.sheet
    assert sheet.cell(4, 2).value == config.indicator(config.targets[0].indicator).name


def test_locked_target_is_written_beside(consolidation, tmp_path, monkeypatch):
    c, _ = consolidation
    target = tmp_path / "汇总.xlsx"
    target.write_bytes(b"open in Excel")
    real_replace = os.replace

    def excel_holds(src, dst):  # what Windows does while Excel has the file open
        if Path(dst) == target:
            raise PermissionError(13, "The process cannot access the file", str(dst))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", excel_holds)
    written = write_master(c, target)
    assert written == tmp_path / "汇总 (1).xlsx"
    assert target.read_bytes() == b"open in Excel"
    assert load_workbook(written).sheetnames[0] == "首页"
    assert not list(tmp_path.glob(".~*"))


# ---- corrections typed into the master --------------------------------------------------------------

def _edit(path: Path, edits: dict[str, object]) -> None:
    book = load_workbook(path)
    for address, value in edits.items():
        sheet, cell = address.split("!")
        book[sheet][cell] = value
    book.save(path)


def test_read_back_unchanged_master_changes_nothing(written, consolidation, config):
    path, _ = written
    c, archive = consolidation
    entries, issues = read_master_entries(path, config)
    assert issues == []
    assert len(entries) == len(c.counties) + len(c.members)
    assert {e.period for e in entries} == {2}
    check_entries(config, entries, file=path.name, previous={}, peers={})
    assert record_manual_entries(archive, entries_without_errors(entries, []), 2, consolidation=c) == []


def test_corrections_are_read_checked_and_archived(written, consolidation, config):
    path, _ = written
    c, archive = consolidation
    header = [cell.value for cell in written[1]["南宁市"][3]]
    col = {name: chr(64 + header.index(name) + 1) for name in ("建成专柜数", "运营专柜数", "已认定扶贫产品数")}
    row_of = {code: 5 + i for i, code in enumerate(NANNING)}
    built = int(c.counties[2].values["counters_built"]) + 5
    _edit(path, {
        f"南宁市!{col['建成专柜数']}{row_of['450105']}": built,              # fine: corrected figures
        f"南宁市!{col['运营专柜数']}{row_of['450105']}": built,
        f"南宁市!{col['运营专柜数']}{row_of['450107']}": "１２个",            # normalised, silently (as in a return)
        f"南宁市!{col['建成专柜数']}{row_of['450108']}": "待统计",            # not a number
        f"南宁市!{col['运营专柜数']}{row_of['450109']}": 10_000,             # more operating than built
        f"南宁市!{col['已认定扶贫产品数']}{row_of['450105']}": 3,             # not reported by 江南区
    })
    entries, issues = read_master_entries(path, config)
    issues += check_entries(config, entries, file=path.name, previous={}, peers={})   # the fixture's history is random
    found = {(i.cell, i.code.value, i.severity.value) for i in issues}
    assert not any(cell == f"南宁市!{col['运营专柜数']}{row_of['450107']}" for cell, _, _ in found)
    assert (f"南宁市!{col['建成专柜数']}{row_of['450108']}", "not-a-number", "错误") in found
    assert (f"南宁市!{col['运营专柜数']}{row_of['450109']}", "rule-failed", "错误") in found
    assert (f"南宁市!{col['已认定扶贫产品数']}{row_of['450105']}", "not-reported-by-unit", "警告") in found
    assert all(i.cell in i.message for i in issues), [i.message for i in issues if i.cell not in i.message]
    ok = entries_without_errors(entries, issues)
    assert {"450108", "450109"}.isdisjoint(e.unit_code for e in ok)
    ids = record_manual_entries(archive, ok, 2, consolidation=c, file_name=path.name)
    assert sorted(archive.submission(i).unit_code for i in ids) == ["450105", "450107"]
    after = consolidate(archive, config, 2, now=NOW)
    rows = {r.unit.code: r for r in after.counties}
    assert rows["450105"].values["counters_operating"] == built
    assert rows["450107"].values["counters_operating"] == 12
    assert rows["450105"].values.get("products_certified") is None


# ---- rendering ---------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_converts_to_pdf_with_libreoffice(written, soffice, tmp_path):
    path, _ = written
    out = tmp_path / "pdf"
    subprocess.run([soffice, "--headless", "--convert-to", "pdf", "--outdir", str(out), str(path)],
                   check=True, capture_output=True, timeout=180, env={**os.environ, "HOME": str(tmp_path)})
    pdf = out / (path.stem + ".pdf")
    assert pdf.stat().st_size > 20_000
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        assert int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:"))) >= 20


def test_issues_sheet_names_kinds_in_chinese_shows_counts_as_typed_and_keeps_history_apart(tmp_path, config):
    """问题类型 instead of the code; a count archived as 6.0 shows as 6; a rejected return that
    was corrected later is listed apart, and 首页 counts only the current issues."""
    def jump(unit):
        return Issue(IssueCode.IMPLAUSIBLE_JUMP, Severity.WARNING, "增幅过大", file="b.xlsx", sheet="填报", row=12,
                     column=5, indicator="counters_built", value=6.0, unit=unit)

    wrong = Issue(IssueCode.RULE_FAILED, Severity.ERROR, "运营专柜数大于建成专柜数", file="a.xlsx", sheet="填报",
                  row=13, column=5, indicator="counters_operating", value=9, unit="450102")
    with Archive(tmp_path / "xf.sqlite") as archive:
        archive.record_submission(NewSubmission("450102", 1, accepted=False, values={}, issues=[wrong],
                                                file_name="a.xlsx", received_at="2020-09-06T09:00:00"))
        archive.record_submission(NewSubmission("450102", 1, accepted=True, values={"counters_built": 6},
                                                issues=[jump("450102")], file_name="b.xlsx",
                                                received_at="2020-09-06T15:00:00"))
        c = consolidate(archive, config, 1, now=NOW)
    book = load_workbook(write_master(c, tmp_path / "m.xlsx"), read_only=True)
    rows = [tuple(row) for row in book["校验问题"].iter_rows(min_row=4, values_only=True)]
    assert rows[0][4:8] == ("警告", "增幅异常", "建成专柜数", "6")
    assert rows[2][0] == ISSUE_HISTORY_HEADING and rows[3][4:7] == ("错误", "逻辑校验不通过", "运营专柜数")
    assert not any(str(code.value) in str(v) for row in rows for v in row for code in IssueCode)
    home = {r[0]: r[1] for r in book["首页"].iter_rows(min_row=1, max_col=2, values_only=True) if r[0]}
    assert home["校验问题（错误/全部）"] == "0 / 1"


def test_a_returned_unit_is_not_called_carried_on_its_sheet(written, consolidation, config):
    """南宁市青秀区 (450103) was sent back in period 2: its period-1 figures stand in, but it is 退回待重报."""
    c, _ = consolidation
    sheet = written[1]["南宁市"]
    states = {sheet.cell(r, 1).value: sheet.cell(r, 3).value for r in range(5, sheet.max_row + 1)}
    assert states["450103"] == "退回待重报" and states["450102"] == "沿用上期"
    assert next(r for r in c.counties if r.unit.code == "450103").state == "carried"


def test_no_empty_city_target_columns_and_no_time_schedule_on_a_cap(written):
    _, book = written
    header = [c.value for c in book["各市进展"][3]]
    assert "市级目标" not in header and "完成率" not in header and "进度" not in header
    assert "占全区比重" in header and "排名" in header
    region = book["全区汇总"]
    labels = [c.value for c in region[3]]
    cap = next(r for r in range(4, region.max_row + 1) if region.cell(r, 2).value == "人均特别消费券金额")
    assert region.cell(cap, labels.index("目标") + 1).value == 300
    assert region.cell(cap, labels.index("时间进度") + 1).value is None
    operating = next(r for r in range(4, region.max_row + 1) if region.cell(r, 2).value == "运营专柜数")
    assert region.cell(operating, labels.index("时间进度") + 1).value is not None


def test_home_speaks_to_staff_not_developers(written):
    _, book = written
    texts = [str(c.value) for row in book["首页"].iter_rows() for c in row if c.value]
    assert not any("--json" in t or "命令行" in t for t in texts)


def test_city_targets_columns_when_cities_have_targets(tmp_path, config):
    """With city targets the cities are ranked by completion, and the target columns are shown."""
    targets = {"counters_operating": {city.code: 50 + 10 * i for i, city in enumerate(config.cities)}}
    with_targets = config.model_copy(update={"city_targets": targets})
    with Archive(tmp_path / "xf.sqlite") as archive:
        build_archive(archive, with_targets)
        c = consolidate(archive, with_targets, 2, now=NOW)
    header = [cell.value for cell in load_workbook(write_master(c, tmp_path / "m.xlsx"))["各市进展"][3]]
    assert {"市级目标", "完成率", "进度"} <= set(header)
