"""Tests for xf_excel.outputs.forms: the return workbooks, read back with openpyxl (and LibreOffice)."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
import yaml
from openpyxl.utils.datetime import to_excel as excel_serial

from xf_excel.config import Config, load_config, parse_config
from xf_excel.errors import NotConfigured
from xf_excel.contract import FORM_DATE_FORMAT as DATE_FORMAT
from xf_excel.contract import FORM_SHEET, HEADER_LABELS, LISTS_SHEET, META_SHEET, TABLE_HEADERS
from xf_excel.checks.rules import rule_wording as rule_hint_message
from xf_excel.outputs.forms import form_filename, write_form, write_forms

ROOT = Path(__file__).resolve().parents[1]
COUNTY = "450110"            # 南宁市武鸣区: an ordinary county
POOR_COUNTY = "450123"       # 南宁市隆安县: a national poverty county (reports the 832 rows)
POVERTY_ROWS = ["已认定扶贫产品数", "已入驻832平台产品数", "已认定供应商数", "已入驻832平台供应商数"]


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(ROOT / "config.yaml")


@pytest.fixture(scope="module")
def config_data() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))


def variant(data: dict, **changes) -> Config:
    """config.yaml with some top-level sections replaced, checked like the real file."""
    return parse_config(yaml.safe_dump({**data, **changes}, allow_unicode=True))


def open_form(config: Config, unit: str, tmp_path: Path, period: int = 2, previous=None):
    path = write_form(config, unit, period, tmp_path / form_filename(config, unit, period), previous)
    return openpyxl.load_workbook(path)


def label_value(sheet, label: str, max_row: int | None = 10):
    """The contract: the value sits in the cell to the right of its label."""
    for row in sheet.iter_rows(max_row=max_row):
        for cell in row:
            if cell.value == label:
                return sheet.cell(row=cell.row, column=cell.column + 1)
    raise AssertionError(f"label {label} not found")


def table_header_row(sheet) -> int:
    for row in sheet.iter_rows(max_row=20):
        if [c.value for c in row[:len(TABLE_HEADERS)]] == list(TABLE_HEADERS):
            return row[0].row
    raise AssertionError("table header row not found")


def indicator_rows(sheet) -> dict[str, int]:
    """Indicator name -> row: every row below the table header with a 序号."""
    start = table_header_row(sheet) + 1
    return {sheet.cell(row=r, column=2).value: r for r in range(start, sheet.max_row + 1)
            if isinstance(sheet.cell(row=r, column=1).value, int)}


def group_rows(sheet) -> list[str]:
    """The activity rows of the table (the narrative section below it is no group)."""
    from xf_excel.contract import NARRATIVE_HEADING

    start = table_header_row(sheet) + 1
    names = [sheet.cell(row=r, column=2).value for r in range(start, sheet.max_row + 1)
             if sheet.cell(row=r, column=1).value is None and sheet.cell(row=r, column=2).value]
    return names[:names.index(NARRATIVE_HEADING)] if NARRATIVE_HEADING in names else names


def validation_of(sheet, ref: str):
    found = [dv for dv in sheet.data_validations.dataValidation if ref in dv.sqref]
    assert len(found) <= 1, f"{ref} has {len(found)} validations"
    return found[0] if found else None


# ---- the 填报 sheet ---------------------------------------------------------------------------

def test_header_block_values_sit_right_of_their_labels(config, tmp_path):
    sheet = open_form(config, COUNTY, tmp_path)[FORM_SHEET]
    assert sheet["A1"].value == config.campaign.form_title
    assert label_value(sheet, "填报单位").value == "南宁市武鸣区"
    assert label_value(sheet, "单位代码").value == "450110"
    assert label_value(sheet, "单位代码").data_type == "s"
    assert label_value(sheet, "报送期次").value == 2
    cutoff = label_value(sheet, "截至日期")
    assert cutoff.value == dt.datetime(2020, 9, 11)
    assert cutoff.number_format == DATE_FORMAT == 'yyyy"年"m"月"d"日"'
    for label in ("填报人", "联系电话"):
        cell = label_value(sheet, label)
        assert cell.value is None
        assert cell.protection.locked is False
    assert cell.number_format == "@"   # a phone number stays text


def test_header_labels_laid_out_two_per_row(config, tmp_path):
    sheet = open_form(config, COUNTY, tmp_path)[FORM_SHEET]
    positions = [(label_value(sheet, label).row, label_value(sheet, label).column - 1) for label in HEADER_LABELS]
    assert positions == [(2, 1), (2, 4), (3, 1), (3, 4), (4, 1), (4, 4)]


def test_county_form_has_one_row_per_indicator_in_config_order(config, tmp_path):
    sheet = open_form(config, COUNTY, tmp_path)[FORM_SHEET]
    rows = indicator_rows(sheet)
    assert list(rows) == [i.name for i in config.indicators_for(COUNTY)]
    assert list(rows)[:4] == ["建成专柜数", "运营专柜数", "专柜累计销售额", "建成运营专馆数"]
    assert not set(POVERTY_ROWS) & set(rows)
    assert "专区总数" not in rows   # derived indicators are never typed in
    assert [sheet.cell(row=r, column=1).value for r in rows.values()] == list(range(1, len(rows) + 1))
    assert sheet.cell(row=rows["专柜累计销售额"], column=3).value == "万元"


def test_poverty_county_gets_the_832_rows_under_their_activity(config, tmp_path):
    sheet = open_form(config, POOR_COUNTY, tmp_path)[FORM_SHEET]
    rows = indicator_rows(sheet)
    assert list(rows) == [i.name for i in config.indicators_for(POOR_COUNTY)]
    assert [name for name in rows if name in POVERTY_ROWS] == POVERTY_ROWS
    groups = group_rows(sheet)
    assert groups[:4] == ["一、消费扶贫专柜专项试点活动", "二、消费扶贫专馆专项推进活动",
                          "三、消费扶贫专区专项推进活动", "四、“扶贫832”销售平台专项推进活动"]
    assert groups[-1] == "八、活动宣传"
    header = table_header_row(sheet)
    group_row = header + 1 + [sheet.cell(row=r, column=2).value for r in range(header + 1, sheet.max_row + 1)].index(
        "四、“扶贫832”销售平台专项推进活动")
    assert sheet.cell(row=group_row + 1, column=2).value == "已认定扶贫产品数"


@pytest.mark.parametrize("unit, names", [
    ("BM05", ["工会采购贫困地区产品金额", "特别消费券发放人数", "特别消费券发放金额"]),
    ("BM16", ["参展产品数", "其中扶贫产品数", "签约成交金额", "签约认证示范基地数", "新增“圳品”认证数"]),
])
def test_member_unit_forms(config, tmp_path, unit, names):
    workbook = open_form(config, unit, tmp_path)
    sheet = workbook[FORM_SHEET]
    assert list(indicator_rows(sheet)) == names
    assert len(group_rows(sheet)) == 1 and group_rows(sheet)[0].startswith("一、")
    assert label_value(sheet, "填报单位").value == config.unit(unit).name
    assert workbook.sheetnames == [FORM_SHEET, META_SHEET]   # no detail lists for member units


def test_table_header_and_input_column(config, tmp_path):
    sheet = open_form(config, COUNTY, tmp_path)[FORM_SHEET]
    header = table_header_row(sheet)
    assert sheet.print_title_rows == f"${header}:${header}"
    rows = indicator_rows(sheet)
    value = sheet.cell(row=rows["建成专柜数"], column=TABLE_HEADERS.index("截至本期累计") + 1)
    assert value.value is None
    assert value.fill.fgColor.rgb.endswith("FFF2CC")   # light yellow


def test_input_validation_by_kind(config, tmp_path):
    sheet = open_form(config, COUNTY, tmp_path)[FORM_SHEET]
    rows = indicator_rows(sheet)
    count = validation_of(sheet, f"E{rows['建成专柜数']}")
    assert (count.type, count.operator, count.formula1) == ("whole", "greaterThanOrEqual", "0")
    assert count.showErrorMessage and count.showInputMessage and count.errorStyle == "stop"
    assert count.promptTitle == "建成专柜数"
    assert "截至本期累计建成的消费扶贫专柜数" in count.prompt   # the indicator's help text
    assert "整数" in count.error and "建成专柜数" in count.error
    money = validation_of(sheet, f"E{rows['专柜累计销售额']}")
    assert (money.type, money.operator, money.formula1) == ("decimal", "greaterThanOrEqual", "0")
    number = validation_of(sheet, f"E{rows['公益短信发送量']}")
    assert (number.type, number.formula1) == ("decimal", "0")
    assert validation_of(sheet, f"D{rows['建成专柜数']}") is None


def test_validation_of_text_date_and_bounded_indicators(config_data, tmp_path):
    indicators = config_data["indicators"] + [
        {"id": "note", "name": "其他情况说明", "kind": "text", "activity": "a1", "reported_by": {"counties": "all"}},
        {"id": "launch", "name": "启动仪式日期", "kind": "date", "activity": "a1", "reported_by": {"counties": "all"}},
        {"id": "score", "name": "满意度评分", "unit": "分", "kind": "number", "activity": "a1",
         "reported_by": {"counties": "all"}, "min": 1, "max": 5},
    ]
    config = variant(config_data, indicators=indicators)
    sheet = open_form(config, COUNTY, tmp_path)[FORM_SHEET]
    rows = indicator_rows(sheet)
    assert validation_of(sheet, f"E{rows['其他情况说明']}") is None
    assert sheet[f"E{rows['其他情况说明']}"].protection.locked is False
    date = validation_of(sheet, f"E{rows['启动仪式日期']}")
    assert (date.type, date.operator) == ("date", "between")
    assert (int(date.formula1), int(date.formula2)) == (excel_serial(dt.date(2020, 9, 1)), excel_serial(dt.date(2020, 9, 30)))
    assert sheet[f"E{rows['启动仪式日期']}"].number_format == DATE_FORMAT
    score = validation_of(sheet, f"E{rows['满意度评分']}")
    assert (score.type, score.operator, score.formula1, score.formula2) == ("decimal", "between", "1", "5")
    assert "1到5之间" in score.error


def test_only_input_cells_are_unlocked_and_the_sheet_is_protected(config, tmp_path):
    from xf_excel.contract import NARRATIVE_LABELS

    sheet = open_form(config, POOR_COUNTY, tmp_path)[FORM_SHEET]
    assert sheet.protection.sheet is True
    assert not sheet.protection.password
    # (a merge's covered cells are not cells one can type in; openpyxl reads them with the top-left's protection)
    unlocked = {cell.coordinate for row in sheet.iter_rows() for cell in row
                if cell.has_style and cell.protection.locked is False and type(cell).__name__ != "MergedCell"}
    expected = {label_value(sheet, "填报人").coordinate, label_value(sheet, "联系电话").coordinate}
    expected |= {f"E{row}" for row in indicator_rows(sheet).values()}
    expected |= {label_value(sheet, label, max_row=None).coordinate for label in NARRATIVE_LABELS}   # the free-text cells
    assert unlocked == expected


def test_previous_values_are_prefilled_grey_and_locked(config, tmp_path):
    previous = {"counters_built": 12, "counter_sales": 35.5, "halls_operating": None, "unknown_id": 7,
                "zones_online": "=HYPERLINK(\"http://x\")"}
    sheet = open_form(config, COUNTY, tmp_path, previous=previous)[FORM_SHEET]
    rows = indicator_rows(sheet)
    assert sheet[f"D{rows['建成专柜数']}"].value == 12
    assert sheet[f"D{rows['专柜累计销售额']}"].value == 35.5
    assert sheet[f"D{rows['建成运营专馆数']}"].value is None
    assert sheet[f"D{rows['运营专柜数']}"].value is None
    # a received string never becomes a formula on our form
    assert sheet[f"D{rows['线上专区数']}"].data_type == "s"
    cell = sheet[f"D{rows['建成专柜数']}"]
    assert cell.protection.locked is True
    assert cell.fill.fgColor.rgb.endswith("E7E6E6")


def test_period_one_form_without_previous_values(config, tmp_path):
    sheet = open_form(config, COUNTY, tmp_path, period=1)[FORM_SHEET]
    assert label_value(sheet, "报送期次").value == 1
    assert label_value(sheet, "截至日期").value == dt.datetime(2020, 9, 4)
    assert all(sheet[f"D{r}"].value is None for r in indicator_rows(sheet).values())


def test_unknown_period_or_unit_is_refused(config, tmp_path):
    with pytest.raises(NotConfigured, match="第9期"):
        write_form(config, COUNTY, 9, tmp_path / "x.xlsx")
    with pytest.raises(NotConfigured, match="999999"):
        write_form(config, "999999", 2, tmp_path / "x.xlsx")
    assert list(tmp_path.iterdir()) == []


# ---- 校验提示 ------------------------------------------------------------------------------------

def test_rule_hint_formula_points_at_the_rule_cells(config, tmp_path):
    sheet = open_form(config, COUNTY, tmp_path)[FORM_SHEET]
    rows = indicator_rows(sheet)
    built, operating = rows["建成专柜数"], rows["运营专柜数"]
    formula = sheet[f"G{operating}"].value
    assert formula.startswith(
        f'=IF(OR(E{operating}="",E{built}=""),"",IF(E{operating}<=E{built},"","运营专柜数大于建成专柜数，请核对。"))&')
    # the cumulative figure must not fall below last period's
    assert formula.endswith(f'IF(OR(E{operating}="",D{operating}=""),"",IF(E{operating}<D{operating},'
                            '"低于上期累计数，累计数不应减少，请核对。",""))')
    assert sheet[f"G{built}"].value == (f'=IF(OR(E{built}="",D{built}=""),"",IF(E{built}<D{built},'
                                        '"低于上期累计数，累计数不应减少，请核对。",""))')


def test_only_rules_whose_figures_are_all_on_the_form(config, tmp_path):
    county = open_form(config, COUNTY, tmp_path)[FORM_SHEET]
    poor = open_form(config, POOR_COUNTY, tmp_path)[FORM_SHEET]
    hints = lambda sheet: " ".join(str(sheet[f"G{r}"].value) for r in indicator_rows(sheet).values())  # noqa: E731
    assert "已入驻832平台产品数大于已认定扶贫产品数" not in hints(county)
    rows = indicator_rows(poor)
    assert (f'IF(E{rows["已入驻832平台产品数"]}<=E{rows["已认定扶贫产品数"]},"","已入驻832平台产品数大于已认定扶贫产品数，请核对。")'
            in poor[f"G{rows['已入驻832平台产品数']}"].value)


def test_rule_with_division_is_wrapped_in_iferror_and_shows_the_value(config, tmp_path):
    sheet = open_form(config, "BM05", tmp_path)[FORM_SHEET]
    rows = indicator_rows(sheet)
    members, amount = rows["特别消费券发放人数"], rows["特别消费券发放金额"]
    formula = sheet[f"G{amount}"].value
    assert formula.startswith(
        f'=IF(OR(E{amount}="",E{members}=""),"",IFERROR(IF(E{amount}*10000/E{members}<=300,"",'
        f'"特别消费券人均金额为"&ROUND(E{amount}*10000/E{members},2)&"元，超过每人300元的上限；')


def test_default_rule_message_is_made_from_the_check(config):
    by_id = {r.id: r for r in config.rules}
    assert rule_hint_message(config, by_id["operating-le-built"]) == "运营专柜数大于建成专柜数，请核对"
    assert rule_hint_message(config, by_id["voucher-per-member-cap"]).startswith("特别消费券人均金额为{value}元")


# ---- detail sheets ------------------------------------------------------------------------------

def test_detail_sheet_header_validation_and_protection(config, tmp_path):
    workbook = open_form(config, COUNTY, tmp_path)
    assert workbook.sheetnames == [FORM_SHEET, "专柜明细", META_SHEET]
    sheet = workbook["专柜明细"]
    detail = config.details_for(COUNTY)[0]
    assert sheet["A1"].value == "专柜明细（第2期）"                          # a title, and whose list it is
    assert sheet["A2"].value.startswith("填报单位：南宁市武鸣区　　单位代码：450110")
    assert [c.value for c in sheet[3]] == ["序号"] + [c.name for c in detail.columns]
    assert sheet.freeze_panes == "B4"
    assert sheet.protection.sheet is True and not sheet.protection.password
    assert sheet["B3"].protection.locked is True and sheet["A1"].protection.locked is True
    last = detail.max_rows + 3
    # input columns are unlocked as whole columns (Excel's own way of formatting a column)
    for letter in "ABCDEFGH":
        assert sheet.column_dimensions[letter].protection.locked is False
    site = validation_of(sheet, "C4")
    assert site.type == "list" and str(site.sqref) == f"C4:C{last}"
    assert site.formula1 == '"' + ",".join(detail.columns[1].choices) + '"'
    assert site.promptTitle == "场所类型" and "请从下拉列表中选择" in site.prompt
    opened = validation_of(sheet, "F4")
    assert (opened.type, opened.operator) == ("date", "between")
    assert (int(opened.formula1), int(opened.formula2)) == (excel_serial(dt.date(2020, 9, 1)), excel_serial(dt.date(2020, 9, 30)))
    assert "2020年9月1日至2020年9月30日" in opened.error
    sales = validation_of(sheet, "H4")
    assert (sales.type, sales.operator, sales.formula1) == ("decimal", "greaterThanOrEqual", "0")
    assert validation_of(sheet, "B4") is None and validation_of(sheet, f"C{last + 1}") is None
    assert sheet.column_dimensions["F"].number_format == DATE_FORMAT
    assert sheet.column_dimensions["B"].number_format == "@"
    assert sheet.print_title_rows == "$1:$3"                                 # title, unit and header on every page
    assert sheet.column_dimensions["B"].width >= 30 and sheet.column_dimensions["B"].alignment.wrap_text


def test_long_choice_lists_go_to_a_hidden_list_sheet(config_data, tmp_path):
    choices = [f"第{i}类承建企业（含“双引号”, 逗号）有限公司" for i in range(20)]
    details = [{"id": "shops", "name": "网点明细", "reported_by": {"counties": "all"}, "max_rows": 20,
                "columns": [{"id": "name", "name": "网点名称", "kind": "text"},
                            {"id": "kind", "name": "网点类型", "kind": "choice", "choices": ["甲", "乙"]},
                            {"id": "op", "name": "承建企业", "kind": "choice", "choices": choices}]}]
    config = variant(config_data, details=details)
    workbook = open_form(config, COUNTY, tmp_path)
    assert workbook.sheetnames == [FORM_SHEET, "网点明细", LISTS_SHEET, META_SHEET]
    assert workbook[LISTS_SHEET].sheet_state == "hidden"
    sheet = workbook["网点明细"]
    assert validation_of(sheet, "C4").formula1 == '"甲,乙"'
    assert validation_of(sheet, "D4").formula1 == f"'{LISTS_SHEET}'!$A$1:$A${len(choices)}"
    assert [workbook[LISTS_SHEET].cell(row=i + 1, column=1).value for i in range(len(choices))] == choices


# ---- meta sheet, file names, write_forms --------------------------------------------------------

def test_hidden_meta_sheet(config, tmp_path):
    meta = open_form(config, COUNTY, tmp_path)[META_SHEET]
    assert meta.sheet_state == "hidden"
    assert [[c.value for c in row] for row in meta.iter_rows()] == [
        ["template_version", "2020.1"], ["unit_code", "450110"], ["unit_name", "南宁市武鸣区"],
        ["period", 2], ["campaign", "2020年消费扶贫月活动"]]


def test_form_filenames(config, config_data):
    assert form_filename(config, COUNTY, 2) == "第2期_南宁市_武鸣区.xlsx"
    assert form_filename(config, config.unit("BM05"), 2) == "第2期_自治区总工会.xlsx"
    members = [{"code": "BM99", "name": 'A/B:C*D?"E"<F>|G\\H.', "short_name": "x"}]
    odd = variant(config_data, member_units=config_data["member_units"] + members)
    assert form_filename(odd, "BM99", 3) == "第3期_A_B_C_D_E_F_G_H.xlsx"


def test_write_forms_for_every_reporting_unit(config, tmp_path):
    calls = []
    previous = {COUNTY: {"counters_built": 9}, "BM05": {"union_purchases": 100.0}}
    paths = write_forms(config, 2, tmp_path / "out", previous, progress=lambda done, total: calls.append((done, total)))
    units = config.reporting_units()
    assert len(paths) == len(units) == 119
    assert [p.name for p in paths] == [form_filename(config, u, 2) for u in units]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in paths)  # no temp files left
    assert calls[0] == (1, 119) and calls[-1] == (119, 119) and len(calls) == 119
    sheet = openpyxl.load_workbook(tmp_path / "out" / "第2期_南宁市_武鸣区.xlsx")[FORM_SHEET]
    assert sheet[f"D{indicator_rows(sheet)['建成专柜数']}"].value == 9


def test_rewriting_a_form_replaces_it(config, tmp_path):
    path = tmp_path / "form.xlsx"
    path.write_bytes(b"old")
    write_form(config, COUNTY, 2, path)
    assert openpyxl.load_workbook(path).sheetnames[0] == FORM_SHEET
    assert [p.name for p in tmp_path.iterdir()] == ["form.xlsx"]


def test_second_campaign_forms(tmp_path):
    config = load_config(ROOT / "examples" / "nanning" / "config.yaml")
    paths = write_forms(config, 1, tmp_path)
    assert paths[0].name == "第1期_城区片_兴宁区.xlsx"
    workbook = openpyxl.load_workbook(paths[0])
    assert workbook.sheetnames == [FORM_SHEET, META_SHEET]
    sheet = workbook[FORM_SHEET]
    assert sheet["A1"].value == "南宁市扶贫产品进机关活动进展表"
    assert list(indicator_rows(sheet)) == ["参与采购的机关食堂数", "食堂采购扶贫产品金额", "食堂采购食材总额"]
    assert group_rows(sheet) == ["一、机关食堂采购扶贫产品"]
    assert label_value(sheet, "截至日期").value == dt.datetime(2020, 10, 16)
    assert "2020年10月12日以来" in sheet["A5"].value




# ---- LibreOffice: the formulas compute, and the form prints on A4 --------------------------------

soffice = shutil.which("soffice")
needs_soffice = pytest.mark.skipif(soffice is None, reason="LibreOffice (soffice) is not installed; "
                                   "the formula and print checks need it")


def _convert(files: list[Path], target: str, out_dir: Path) -> None:
    profile = out_dir / "lo-profile"   # a private profile: a concurrent soffice elsewhere must not interfere
    subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", target,
                    "--outdir", str(out_dir), *map(str, files)], check=True, capture_output=True, timeout=180)


def _fill(path: Path, values: dict[str, float], out: Path) -> None:
    workbook = openpyxl.load_workbook(path)
    sheet = workbook[FORM_SHEET]
    rows = indicator_rows(sheet)
    for name, value in values.items():
        sheet[f"E{rows[name]}"] = value
    workbook.save(out)


@pytest.mark.slow
@needs_soffice
def test_libreoffice_computes_the_hints(config, tmp_path):
    previous = {"counters_built": 10}
    county = write_form(config, POOR_COUNTY, 2, tmp_path / "county.xlsx", previous)
    union = write_form(config, "BM05", 2, tmp_path / "union.xlsx")
    _fill(county, {"建成专柜数": 8, "运营专柜数": 12, "专柜累计销售额": 3.5,
                   "已认定扶贫产品数": 10, "已入驻832平台产品数": 11,   # fails listed <= certified
                   "已认定供应商数": 5, "已入驻832平台供应商数": 5}, tmp_path / "c.xlsx")   # holds
    _fill(union, {"特别消费券发放人数": 1000, "特别消费券发放金额": 100}, tmp_path / "u.xlsx")
    zero = write_form(config, "BM05", 2, tmp_path / "zero.xlsx")
    _fill(zero, {"特别消费券发放人数": 0, "特别消费券发放金额": 100}, tmp_path / "z.xlsx")
    out = tmp_path / "lo"
    _convert([tmp_path / "c.xlsx", tmp_path / "u.xlsx", tmp_path / "z.xlsx"], "xlsx:Calc MS Excel 2007 XML", out)

    def hints(name: str) -> dict[str, str]:
        sheet = openpyxl.load_workbook(out / name, data_only=True)[FORM_SHEET]
        return {n: sheet[f"G{r}"].value for n, r in indicator_rows(sheet).items() if sheet[f"G{r}"].value}

    assert hints("c.xlsx") == {
        "建成专柜数": "低于上期累计数，累计数不应减少，请核对。",
        "运营专柜数": "运营专柜数大于建成专柜数，请核对。",
        "已入驻832平台产品数": "已入驻832平台产品数大于已认定扶贫产品数，请核对。",
    }
    assert hints("u.xlsx") == {
        "特别消费券发放金额": "特别消费券人均金额为1000元，超过每人300元的上限；请核对发放金额的单位是否为万元。"}
    assert hints("z.xlsx") == {}   # division by zero: no hint, and no error value


@pytest.mark.slow
@needs_soffice
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is not installed")
def test_form_prints_on_a4_landscape(config, tmp_path):
    path = write_form(config, POOR_COUNTY, 2, tmp_path / "form.xlsx", {"counters_built": 10})
    _convert([path], "pdf", tmp_path)
    pdf = tmp_path / "form.pdf"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "841.89 x 595.3" in info   # A4 landscape, in points
    first_page = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-layout", str(pdf), "-"],
                                capture_output=True, text=True, check=True).stdout
    for text in ("填报单位", "南宁市隆安县", "2020年9月11日", "截至本期累计", "建成专柜数", "校验提示"):
        assert text in first_page
    # every indicator is printed somewhere, each page repeating the table header
    everything = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for indicator in config.indicators_for(POOR_COUNTY):
        assert indicator.name in everything


def test_units_of_the_same_name_get_distinct_files(config_data, tmp_path):
    counties = [c for c in config_data["counties"] if c["city"] == "450100"][:1]
    twin = {**counties[0], "code": "459999"}
    config = variant(config_data, counties=counties + [twin], county_groups={},
                     indicators=[i for i in config_data["indicators"] if i["id"] == "counters_built"],
                     details=[], rules=[], targets=[], ranking_indicator=None,
                     activities=[a for a in config_data["activities"] if a["id"] == "a1"])
    paths = write_forms(config, 1, tmp_path)
    assert [p.name for p in paths] == ["第1期_南宁市_兴宁区_450102.xlsx", "第1期_南宁市_兴宁区_459999.xlsx"]
