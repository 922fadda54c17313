"""read_return and validate_return on RawWorkbook grids built in code (tests/form_grid.py)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from form_grid import (build_return, counter_row, drop_sheet, find, insert_columns, insert_rows, rename_sheet,
                       set_cell, set_value)
from xf_excel.config import Contact
from xf_excel.issues import IssueCode
from xf_excel.intake.records import CellError, RawSheet, RawWorkbook, ReceivedFile
from xf_excel.checks.read import FormReading, ReadReturn, read_return
from xf_excel.checks.validate import CheckedReturn, validate_return

WUMING = "450110"          # 南宁市武鸣区, a county that is not a national poverty county
LONGAN = "450123"          # 南宁市隆安县, a national poverty county (reports the 832 listing)


def check(config, raw, period=2, **kw) -> CheckedReturn:
    reading = read_return(raw, config)
    assert isinstance(reading.form, ReadReturn), reading.issues
    return validate_return(reading.form, config, period, **kw)


def rows(result) -> list[tuple]:
    issues = result.issues if isinstance(result, (CheckedReturn, FormReading)) else result
    return [(i.cell, i.code.value, i.severity.value) for i in issues]


def good_values(config, code=WUMING, **values):
    base = {i.id: 0.0 for i in config.indicators_for(code)}
    base.update(counters_built=2.0, counters_operating=2.0, counter_sales=35.5)
    base.update(values)
    return base


def good_return(config, code=WUMING, **kw):
    details = kw.pop("details", {"counters": [counter_row("政务中心专柜"), counter_row("火车站专柜", site="车站")]})
    values = kw.pop("values", None) or good_values(config, code)
    return build_return(config, code, values=values, details=details, **kw)


# ---- a clean return --------------------------------------------------------------------------

def test_a_clean_return_is_accepted_with_its_values_cells_details_and_header(config):
    result = check(config, good_return(config))
    assert rows(result) == []
    assert result.accepted and result.unit.code == WUMING and result.period == 2
    assert result.values["counters_built"] == 2.0 and result.values["counter_sales"] == 35.5
    assert set(result.values) == {i.id for i in config.indicators_for(WUMING)}
    assert result.cells["counters_built"] == "填报!E8" and result.cells["psa_sms"] == "填报!E33"
    assert result.details["counters"][1] == {
        "name": "火车站专柜", "site_type": "车站", "address": "武鸣区城厢镇1号", "operator": "数字广西集团有限公司",
        "opened": "2020-09-05", "status": "运营中", "sales": 1.5}
    json.dumps(result.details, ensure_ascii=False)   # JSON-safe
    assert result.header["填报人"] == "张三" and result.header["联系电话"] == "13800138000"
    assert result.template_version == config.campaign.template_version


def test_harmless_normalisation_is_silent_and_values_are_normalised(config):
    raw = good_return(config)
    set_value(raw, "建成专柜数", "２个")
    set_value(raw, "专柜累计销售额", " 1,035.5万元 ")
    set_value(raw, "参与商家数", "1，200")
    result = check(config, raw)
    assert rows(result) == []
    assert (result.values["counters_built"], result.values["counter_sales"], result.values["sport_merchants"]) == (2.0, 1035.5, 1200.0)


# ---- all issues in one pass ----------------------------------------------------------------------

def test_every_issue_of_a_return_comes_out_in_one_pass(config):
    raw = good_return(config, reporter=None, phone=7711234567.0,
                      details={"counters": [counter_row("政务中心专柜", site="商场超市"),
                                            counter_row(None, opened="2020.8.20", status="暂停")]})
    raw.has_macros = True
    set_value(raw, "建成专柜数", 12.0)
    set_value(raw, "运营专柜数", 15.0)                # > 建成专柜数 12: rule
    set_value(raw, "专柜累计销售额", "约20")           # an estimate
    set_value(raw, "建成运营专馆数", None)             # required, blank
    set_value(raw, "专馆累计销售额", "35.5元")          # yuan in a 万元 field
    set_value(raw, "线上专区数", "1.2万")              # a magnitude word in a count
    set_value(raw, "活动销售额", CellError("#DIV/0!"))  # an error value
    set_value(raw, "参与商家数", 12.5)                 # not whole
    set_value(raw, "媒体宣传报道篇数", "无")             # a placeholder
    set_value(raw, "参与带货主播人数", 3.0)             # below last period's 5
    set_value(raw, "公益广告播放次数", 400.0)           # 40x last period, 160x the peers' median
    result = check(config, raw, previous={"harvest_streamers": 5.0, "psa_broadcasts": 10.0},
                   peers={"counter_sales": [1.0, 2.0, 3.0], "psa_broadcasts": [1.0, 2.0, 3.0, 4.0]})
    assert rows(result) == [
        ("", "macros-ignored", "警告"),
        ("填报!B4", "missing-header", "警告"),
        ("填报!E4", "bad-phone", "警告"),
        ("填报!E10", "approximate", "错误"),
        ("填报!E12", "required", "错误"),
        ("填报!E13", "wrong-unit", "错误"),
        ("填报!E16", "wrong-unit", "错误"),
        ("填报!E24", "error-value", "错误"),
        ("填报!E29", "not-an-integer", "错误"),
        ("填报!E31", "not-a-number", "错误"),
        ("填报!E9", "rule-failed", "错误"),
        ("填报!E23", "below-previous", "错误"),
        ("填报!E32", "implausible-jump", "警告"),
        ("填报!E32", "peer-outlier", "警告"),
        ("专柜明细!C2", "detail-bad-choice", "错误"),
        ("专柜明细!B3", "detail-required", "错误"),
        ("专柜明细!F3", "date-outside-campaign", "警告"),
        ("填报!E9", "detail-total-mismatch", "警告"),
        ("填报!E8", "detail-total-mismatch", "警告"),
    ]
    assert not result.accepted
    by_code = {i.code: i for i in result.issues}
    assert by_code[IssueCode.RULE_FAILED].message == "「运营专柜数」（填报!E9）15 大于「建成专柜数」（填报!E8）12，请核对。"
    assert by_code[IssueCode.APPROXIMATE].value == "约20" and by_code[IssueCode.APPROXIMATE].indicator == "counter_sales"
    assert by_code[IssueCode.ERROR_VALUE].value == "#DIV/0!"
    assert "是否应为“商场”" in by_code[IssueCode.DETAIL_BAD_CHOICE].message
    assert by_code[IssueCode.DETAIL_BAD_CHOICE].indicator == "counters.site_type"
    assert "累计数不应小于上期的 5" in by_code[IssueCode.BELOW_PREVIOUS].message
    assert "中位数 2.5 的 160 倍" in by_code[IssueCode.PEER_OUTLIER].message
    totals = [i.message for i in result.issues if i.code is IssueCode.DETAIL_TOTAL_MISMATCH]
    assert "运营状态为“运营中”的有 1 行" in totals[0] and "共填写了 2 行" in totals[1]
    assert all(i.file == "第2期_南宁市_武鸣区.xlsx" and i.unit == WUMING for i in result.issues)
    # refused figures are left out of the values, so no rule ever judges a guess
    assert result.values["counter_sales"] is None and result.values["sport_merchants"] is None
    assert json.dumps([i.to_dict() for i in result.issues], ensure_ascii=False)


def test_warnings_alone_leave_the_return_accepted(config):
    result = check(config, good_return(config, phone="0771-123"))
    assert rows(result) == [("填报!E4", "bad-phone", "警告")]
    assert result.accepted


# ---- reading by label: what people do to forms ---------------------------------------------------

def test_inserted_rows_and_columns_and_renamed_sheets_still_read(config):
    raw = good_return(config)
    sheet = raw.sheet("填报")
    insert_rows(sheet, 1, 2)          # two rows above the title
    insert_columns(sheet, 1)          # a column before everything
    insert_columns(sheet, 4)          # a column between 单位 and 上期累计 (moves the input column)
    insert_rows(sheet, 14, 3)         # blank rows inside the table
    rename_sheet(raw, "填报", "武鸣区9月第2周")
    rename_sheet(raw, "专柜明细", "Sheet2")   # found by its header labels
    insert_columns(raw.sheet("Sheet2"), 2)
    insert_rows(raw.sheet("Sheet2"), 1)
    set_value(raw, "运营专柜数", 3.0, sheet="武鸣区9月第2周")
    result = check(config, raw)
    assert rows(result) == [
        ("武鸣区9月第2周!G11", "rule-failed", "错误"),
        ("武鸣区9月第2周!G11", "detail-total-mismatch", "警告"),
    ]
    assert result.cells["counters_built"] == "武鸣区9月第2周!G10"
    assert result.cells["counter_sales"] == "武鸣区9月第2周!G12"
    assert result.cells["halls_operating"] == "武鸣区9月第2周!G17"   # below the three inserted rows
    assert result.header["单位代码"] == WUMING and result.header["填报人"] == "张三"
    assert len(result.details["counters"]) == 2


def test_header_values_found_past_merged_labels_gaps_and_colons(config):
    raw = good_return(config)
    sheet = raw.sheet("填报")
    set_cell(sheet, 4, 1, "填报人：")
    sheet.merged.append((4, 1, 4, 2))           # label merged over A4:B4 …
    set_cell(sheet, 4, 2, None)
    set_cell(sheet, 4, 3, "李四")               # … so its value sits in C4
    set_cell(sheet, 4, 5, None)                 # 联系电话 one cell further right
    set_cell(sheet, 4, 6, " 138 0013 8000 ")
    result = check(config, raw)
    assert rows(result) == []
    assert result.header["填报人"] == "李四" and result.header["联系电话"] == "138 0013 8000"


def test_a_blank_header_value_is_reported_at_the_cell_beside_its_label(config):
    raw = good_return(config, phone=None)
    assert rows(check(config, raw)) == [("填报!E4", "missing-header", "警告")]


def test_table_header_split_over_two_merged_rows_is_read(config):
    raw = good_return(config)
    sheet = raw.sheet("填报")
    insert_rows(sheet, 6)
    sheet.cells[5][:] = ["序号", "指标名称", "单位", "数据", None, "填报说明", "校验提示"]
    sheet.cells[6][:] = [None, None, None, "上期累计", "截至本期累计", None, None]
    sheet.merged += [(6, 1, 7, 1), (6, 2, 7, 2), (6, 3, 7, 3), (6, 4, 6, 5)]
    result = check(config, raw)
    assert rows(result) == [] and result.cells["counters_built"] == "填报!E9"


def test_indicator_names_match_after_space_and_width_normalisation(config):
    values = good_values(config, LONGAN, products_certified=10.0, products_listed=12.0)
    raw = good_return(config, code=LONGAN, values=values, name="第2期_南宁市_隆安县.xlsx")
    sheet = raw.sheet("填报")
    row, column = find(sheet, "预算单位在832平台采购额")
    set_cell(sheet, row, column, " 预算单位在８３２平台 采购额 ")
    row, column = find(sheet, "已入驻832平台产品数")
    set_cell(sheet, row, column, "已入驻832平台产品数\n")
    result = check(config, raw)
    assert rows(result) == [("填报!E21", "rule-failed", "错误")]
    assert "「已入驻832平台产品数」（填报!E21）12 大于「已认定扶贫产品数」（填报!E20）10" in result.issues[0].message
    assert result.cells["procurement_832"] == "填报!E24"


def test_missing_and_duplicate_indicator_rows(config):
    raw = good_return(config)
    sheet = raw.sheet("填报")
    row, _ = find(sheet, "建成运营专馆数")
    del sheet.cells[row - 1]                    # a required row deleted
    row, _ = find(sheet, "专区销售额")
    del sheet.cells[row - 1]                    # an optional row deleted
    sheet.cells.append([99.0, "运营专柜数", "个", None, 2.0, None, None])
    result = check(config, raw)
    assert rows(result) == [
        ("填报!E32", "duplicate-indicator", "错误"),
        ("填报", "missing-indicator", "错误"),
        ("填报", "missing-indicator", "警告"),
    ]
    assert result.values["halls_operating"] is None


def test_two_data_sheets_are_refused(config):
    raw = good_return(config)
    copy = RawSheet("填报 (2)", "visible", [list(r) for r in raw.sheet("填报").cells])
    rename_sheet(raw, "填报", "填报 (1)")
    raw.sheets.insert(1, copy)
    result = read_return(raw, config)
    assert rows(result) == [("", "wrong-template", "错误")]
    assert "“填报 (1)”、“填报 (2)”" in result.issues[0].message


def test_the_sheet_named_data_sheet_wins_over_a_copy(config):
    raw = good_return(config)
    raw.sheets.append(RawSheet("副本", "visible", [list(r) for r in raw.sheet("填报").cells]))
    assert rows(check(config, raw)) == []


# ---- not a return, another template ------------------------------------------------------------

def _plain_workbook(sheets, name="工作簿1.xlsx"):
    return RawWorkbook(ReceivedFile(name=name, display=f"邮件.eml › {name}", content=b"", sha256="0", kind="xlsx"), sheets)


def test_a_workbook_without_form_structure_is_not_a_return(config):
    raw = _plain_workbook([RawSheet("Sheet1", "visible", [["姓名", "电话"], ["张三", 13800138000.0]])])
    result = read_return(raw, config)
    assert rows(result) == [("", "not-a-return", "错误")]
    assert result.issues[0].message == "文件「邮件.eml › 工作簿1.xlsx」不是本次活动的填报表。请使用下发的填报表填写。"
    assert result.issues[0].file == "邮件.eml › 工作簿1.xlsx"


def test_an_empty_workbook_is_not_a_return(config):
    assert rows(read_return(_plain_workbook([]), config)) == [("", "not-a-return", "错误")]


def test_a_form_whose_table_header_was_destroyed_is_the_wrong_template(config):
    raw = good_return(config)
    row, column = find(raw.sheet("填报"), "截至本期累计")
    set_cell(raw.sheet("填报"), row, column, "本期")
    assert rows(read_return(raw, config)) == [("", "wrong-template", "错误")]


def test_another_campaigns_form_is_the_wrong_template(config):
    raw = good_return(config)
    set_cell(raw.sheet("xf_meta"), 5, 2, "2019年消费扶贫月活动")
    result = read_return(raw, config)
    assert rows(result) == [("xf_meta", "wrong-template", "错误")]
    assert result.issues[0].unit == WUMING and "2019年消费扶贫月活动" in result.issues[0].message


def test_a_form_without_meta_and_without_our_indicators_is_the_wrong_template(config):
    raw = good_return(config)
    drop_sheet(raw, "xf_meta")
    for line in raw.sheet("填报").cells[6:]:
        line[1] = f"其他指标{line[1]}"
    assert rows(read_return(raw, config)) == [("填报", "wrong-template", "错误")]


def test_an_old_template_is_refused_with_the_period_to_use(config):
    result = read_return(good_return(config, version="2019.9"), config)
    assert rows(result) == [("xf_meta", "old-template", "错误")]
    assert result.issues[0].message.endswith("请使用第2期下发的新表重新填报。")
    assert result.issues[0].unit == WUMING and result.issues[0].value == "2019.9"


def test_a_form_rebuilt_without_its_meta_sheet_reads_with_a_warning(config):
    raw = good_return(config)
    drop_sheet(raw, "xf_meta")
    result = check(config, raw)
    assert rows(result) == [("", "missing-meta", "警告")]
    assert result.accepted and result.template_version == ""


# ---- who sent it, which period -----------------------------------------------------------------

def test_header_code_differing_from_meta_is_a_unit_mismatch(config):
    raw = good_return(config)
    set_cell(raw.sheet("填报"), 2, 5, "450102")   # 兴宁区's code typed over ours
    result = check(config, raw)
    assert rows(result) == [("填报!E2", "unit-mismatch", "错误")]
    assert result.unit.code == WUMING           # the hidden meta wins
    assert "“南宁市兴宁区”" in result.issues[0].message and "“南宁市武鸣区”" in result.issues[0].message


def test_a_file_named_after_another_unit_is_a_unit_mismatch(config):
    raw = good_return(config, name="第2期_南宁市_兴宁区.xlsx")
    assert rows(check(config, raw)) == [("", "unit-mismatch", "错误")]


@pytest.mark.parametrize("name", ["武鸣区第2期报表（修改）.xlsx", "第2期_南宁市_武鸣区扶贫办(1).xlsx", "报表.xlsx"])
def test_file_names_with_extras_still_name_their_unit(config, name):
    assert rows(check(config, good_return(config, name=name))) == []


def test_the_header_unit_name_is_checked_too(config):
    raw = good_return(config)
    set_cell(raw.sheet("填报"), 2, 2, "南宁市宾阳县")
    assert rows(check(config, raw)) == [("填报!B2", "unit-mismatch", "错误")]
    set_cell(raw.sheet("填报"), 2, 2, "武鸣区扶贫办")     # a clerk's own wording of the right unit
    assert rows(check(config, raw)) == []


def test_an_unknown_code_with_nothing_else_to_go_by_is_refused(config):
    raw = good_return(config, name="报表.xlsx")
    drop_sheet(raw, "xf_meta")
    set_cell(raw.sheet("填报"), 2, 5, 450999.0)
    set_cell(raw.sheet("填报"), 2, 2, "某某县")
    result = read_return(raw, config)
    assert rows(result) == [("填报!E2", "unknown-unit", "错误")]
    assert "“450999”" in result.issues[0].message


def test_an_unknown_header_code_beside_a_good_meta_is_an_error_but_reads(config):
    raw = good_return(config)
    set_cell(raw.sheet("填报"), 2, 5, "4501100")
    assert rows(check(config, raw)) == [("填报!E2", "unknown-unit", "错误")]


def test_sender_not_among_the_units_addresses(config):
    emailed = config.model_copy(update={"contacts": {WUMING: Contact(email=["wm_fpb@example.gov.cn"])}})
    assert rows(check(emailed, good_return(config, sender="WM_FPB@example.gov.cn"))) == []
    assert rows(check(emailed, good_return(config, sender="武鸣区扶贫办 <wm_fpb@example.gov.cn>"))) == []
    assert rows(check(emailed, good_return(config, sender="wm_fpb@example.gov.cn <x@qq.com>"))) == [
        ("", "sender-mismatch", "警告")]
    assert rows(check(emailed, good_return(config, sender="someone@qq.com"))) == [("", "sender-mismatch", "警告")]
    assert rows(check(config, good_return(config, sender="someone@qq.com"))) == []   # no addresses listed


def test_a_return_for_another_period_is_refused(config):
    result = check(config, good_return(config, period=1), period=2)
    assert rows(result) == [("填报!B3", "wrong-period", "错误")]
    assert "表中报送期次为第1期，本次收取的是第2期报表" in result.issues[0].message


@pytest.mark.parametrize("stated", ["第2期", "2", "第二期", 2])
def test_the_period_as_people_write_it(config, stated):
    raw = good_return(config)
    set_cell(raw.sheet("填报"), 3, 2, stated)
    assert rows(check(config, raw)) == []


# ---- header fields -----------------------------------------------------------------------------

@pytest.mark.parametrize("phone, ok", [
    (13800138000.0, True), ("0771-1234567", True), ("07711234567", True), ("(0771)1234567", True),
    ("（0771）12345678", True), ("0771-1234567-802", True), ("13800138000/0771-1234567", True),
    ("+86 13800138000", True), ("138-0013-8000", False), ("1234567", False), (7711234567.0, False),
    ("12800138000", False), ("无", False),
])
def test_phone_numbers(config, phone, ok):
    result = check(config, good_return(config, phone=phone))
    assert rows(result) == ([] if ok else [("填报!E4", "bad-phone", "警告")])


# ---- rules, ranges, history, peers ----------------------------------------------------------------

def test_a_custom_rule_message_gets_the_value(config):
    raw = build_return(config, "BM05", values={"voucher_members": 3000.0, "voucher_amount": 100.0})
    result = check(config, raw)
    assert rows(result) == [("填报!E10", "rule-failed", "错误")]    # at 特别消费券发放金额, the rule's first figure
    assert result.issues[0].message == ("特别消费券人均金额为333.33元，超过每人300元的上限；请核对发放金额的单位是否为万元"
                                        "（填报!E10、填报!E9）。")
    assert result.unit.full_name == "自治区总工会"


def test_a_rule_is_skipped_while_a_figure_is_blank(config):
    raw = good_return(config)
    set_value(raw, "建成专柜数", None)
    set_value(raw, "运营专柜数", 15.0)
    assert [c for _, c, _ in rows(check(config, raw))] == ["required", "detail-total-mismatch"]


def test_configured_min_and_max(config):
    bounded = config.model_copy(update={"indicators": [
        i.model_copy(update={"max": 100.0}) if i.id == "harvest_streamers" else i for i in config.indicators]})
    raw = good_return(config)
    set_value(raw, "参与带货主播人数", 150.0)
    result = check(bounded, raw)
    assert rows(result) == [("填报!E23", "out-of-range", "错误")]
    assert "不应大于 100" in result.issues[0].message


def test_history_checks(config):
    raw = good_return(config)
    assert rows(check(config, raw, previous={"counter_sales": 35.5, "counters_built": 2.0, "counters_operating": None})) == []
    assert rows(check(config, raw, previous={"counter_sales": 7.2})) == []          # 4.9x: not queried
    set_value(raw, "专柜累计销售额", 40.0)
    assert rows(check(config, raw, previous={"counter_sales": 1.0})) == []          # 40x but only +39 (< min_jump 50)
    set_value(raw, "专柜累计销售额", 60.0)
    assert rows(check(config, raw, previous={"counter_sales": 1.0})) == [("填报!E10", "implausible-jump", "警告")]
    assert rows(check(config, raw, previous={"counter_sales": 0.0})) == []          # from nothing: no ratio to judge
    assert rows(check(config, raw, previous={"counter_sales": "见附件"})) == []


def test_peer_outliers_need_enough_peers(config):
    raw = good_return(config)
    set_value(raw, "专柜累计销售额", 5000.0)
    assert rows(check(config, raw, peers={"counter_sales": [10.0, 12.0]})) == []
    assert rows(check(config, raw, peers={"counter_sales": [10.0, 12.0, 300.0]})) == [("填报!E10", "peer-outlier", "警告")]
    assert rows(check(config, raw, peers={"counter_sales": [0.0, 0.0, 0.0]})) == []


def test_member_units_are_not_compared_with_county_peers(config):
    raw = build_return(config, "BM05", values={"union_purchases": 60000.0, "voucher_members": 1.0, "voucher_amount": 0.0})
    result = check(config, raw, peers={"union_purchases": [10.0, 12.0, 30.0]})
    assert rows(result) == [] and result.unit_code == "BM05"


# ---- detail sheets -------------------------------------------------------------------------------

@pytest.mark.parametrize("typed, iso", [
    (dt.datetime(2020, 9, 15), "2020-09-15"), (dt.date(2020, 9, 15), "2020-09-15"), ("2020.9.15", "2020-09-15"),
    ("9月15日", "2020-09-15"), ("2020-9-15", "2020-09-15"), ("2020/09/15", "2020-09-15"),
    ("2020年9月15日", "2020-09-15"), ("20200915", "2020-09-15"), (44089.0, "2020-09-15"), ("２０２０.９.１５", "2020-09-15"),
])
def test_detail_dates_as_people_type_them(config, typed, iso):
    result = check(config, good_return(config, details={"counters": [counter_row(opened=typed), counter_row()]}))
    assert rows(result) == [] and result.details["counters"][0]["opened"] == iso


@pytest.mark.parametrize("typed", ["九月中旬", "2020.13.1", "15/9", 9.15])
def test_unreadable_optional_dates_are_warnings(config, typed):
    result = check(config, good_return(config, details={"counters": [counter_row(opened=typed), counter_row()]}))
    assert rows(result) == [("专柜明细!F2", "detail-bad-date", "警告")]
    assert result.accepted


def test_detail_cells(config):
    counters = [
        counter_row(" 政务中心专柜 ", site=" 机关 ", sales="1,200.5万元"),   # normalised silently
        counter_row("学校专柜", site="学院", operator="数字广西", sales="约3"),
        counter_row("车站专柜", status="在运营", sales=-1.0),
    ]
    values = good_values(config, counters_built=3.0)
    result = check(config, good_return(config, values=values, details={"counters": counters}))
    assert rows(result) == [
        ("专柜明细!C3", "detail-bad-choice", "错误"),
        ("专柜明细!E3", "detail-bad-choice", "错误"),
        ("专柜明细!H3", "approximate", "警告"),
        ("专柜明细!G4", "detail-bad-choice", "错误"),
        ("专柜明细!H4", "negative", "警告"),
    ]
    messages = [i.message for i in result.issues]
    assert "是否应为“学校”" in messages[0]
    assert "是否应为“数字广西集团有限公司”" in messages[1]
    assert "是否应为“运营中”" in messages[3]
    first = result.details["counters"][0]
    assert (first["name"], first["site_type"], first["sales"]) == ("政务中心专柜", "机关", 1200.5)


def test_empty_template_rows_and_total_rows_are_skipped(config):
    raw = good_return(config)
    sheet = raw.sheet("专柜明细")
    for n in range(3, 40):
        sheet.cells.append([float(n), None, None, None, None, None, None, None])   # 序号 pre-filled
    sheet.cells.append([None, "合计", None, None, None, None, None, 3.0])
    result = check(config, raw)
    assert rows(result) == [] and len(result.details["counters"]) == 2


def test_too_many_detail_rows(config):
    few = config.model_copy(update={"details": [config.details[0].model_copy(update={"max_rows": 1})]})
    result = check(few, good_return(config))
    assert rows(result) == [("专柜明细", "too-many-rows", "警告"),
                            ("填报!E9", "detail-total-mismatch", "警告"), ("填报!E8", "detail-total-mismatch", "警告")]
    assert "第3行起的 1 行未读取" in result.issues[0].message


def test_missing_detail_sheet_and_columns(config):
    raw = good_return(config)
    drop_sheet(raw, "专柜明细")
    assert rows(check(config, raw)) == [("", "missing-detail-sheet", "警告")]
    raw = good_return(config)
    header = raw.sheet("专柜明细").cells[0]
    header[header.index("详细地址")] = "地址"
    header[header.index("投入运营日期")] = "开业时间"
    assert rows(check(config, raw)) == [("专柜明细", "missing-detail-column", "错误"),
                                        ("专柜明细", "missing-detail-column", "警告")]


def test_member_units_have_no_detail_sheet_to_miss(config):
    assert rows(check(config, build_return(config, "BM14"))) == []


# ---- the file as a whole ------------------------------------------------------------------------

def test_formulas_without_cached_values_in_data_cells(config):
    """A figure typed as a formula and saved without its result is queried at its cell;
    formulas elsewhere (the form's own hint column) are not the clerk's concern."""
    raw = good_return(config)
    sheet = raw.sheet("填报")
    row = next(r for r, cells in enumerate(sheet.cells, start=1) if "建成专柜数" in cells)
    column = sheet.cells[row - 1].index("建成专柜数") + 4          # 指标名称 B -> 截至本期累计 E
    raw.uncached_formulas = {"填报": [(row, column), (row, column + 2)]}
    result = check(config, raw)
    assert rows(result) == [(f"填报!E{row}", "no-cached-values", "警告")]
    assert "请在 Excel 中打开并保存后重新发送" in result.issues[0].message
    raw.uncached_formulas = {"填报": [(row, column + 2)]}
    assert rows(check(config, raw)) == []
