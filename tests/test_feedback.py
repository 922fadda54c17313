"""write_feedback: the unit's own return marked and explained, made inert, plus the 问题清单 sheet."""

from __future__ import annotations

import datetime as dt

import io
import zipfile
from pathlib import Path

import pytest
import xlsxwriter
from openpyxl import load_workbook

from xf_excel.outputs.feedback import AUTHOR, ERROR_COLOR, LIST_SHEET, WARNING_COLOR, feedback_name, write_feedback
from xf_excel.issues import Issue, IssueCode, Severity

HYPERLINK_TEXT = '=HYPERLINK("http://example.com/x.exe","点我")'


def received_workbook(macros: bool = False) -> bytes:
    """A filled-in return as Excel would save it: cached formula values, a merged title,
    received text that looks like a formula or an error, an external link, a defined name."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("填报")
    sheet.merge_range("A1:G1", "2020年消费扶贫月活动进展情况报表")
    for row, (label, value, label2, value2) in enumerate([("填报单位", "南宁市武鸣区", "单位代码", "450110"),
                                                           ("报送期次", 2, "截至日期", "2020-09-11"),
                                                           ("填报人", "张三", "联系电话", "7711234567")], start=1):
        sheet.write_string(row, 0, label)
        sheet.write(row, 1, value)
        sheet.write_string(row, 3, label2)
        sheet.write_string(row, 4, value2)
    for column, title in enumerate(["序号", "指标名称", "单位", "上期累计", "截至本期累计", "填报说明", "校验提示"]):
        sheet.write_string(5, column, title)
    sheet.write_row(7, 0, [1, "建成专柜数", "个", None, 12])
    sheet.write_row(8, 0, [2, "运营专柜数", "个", None, 15])
    sheet.write_row(9, 0, [3, "专柜累计销售额", "万元", None])
    sheet.write_string(9, 4, "约20")
    sheet.write_formula(8, 6, '=IF(E9>E8,"运营数大于建成数","")', None, "运营数大于建成数")   # G9, cached
    sheet.write_formula(9, 6, '="="&"HYPERLINK(1)"', None, "=HYPERLINK(1)")               # G10, cached text like a formula
    sheet.write_formula(7, 6, "=1/0", None, "#DIV/0!")                                      # G8, cached error
    sheet.write_string(10, 5, HYPERLINK_TEXT)                                               # F11, received text
    sheet.write_string(11, 5, "#DIV/0!")                                                    # F12, received text
    sheet.write_url("H1", "http://example.com/")
    book.define_name("Evil", "=SUM(填报!$E$8:$E$9)")
    meta = book.add_worksheet("xf_meta")
    meta.write_column(0, 0, ["template_version", "unit_code"])
    meta.write_column(0, 1, ["2020.1", "450110"])
    meta.hide()
    if macros:
        book.set_vba_name()
        book.add_vba_project(io.BytesIO(b"not really a VBA project"), is_stream=True)
    book.close()
    return buffer.getvalue()


def issue(code, severity, sheet, row, column, message, indicator=None, value=None):
    return Issue(code, severity, message, file="第2期_南宁市_武鸣区.xlsx", sheet=sheet, row=row, column=column,
                 indicator=indicator, value=value, unit="450110")


ISSUES = [
    issue(IssueCode.BAD_PHONE, Severity.WARNING, "填报", 4, 5, "联系电话格式不对", value="7711234567"),
    issue(IssueCode.RULE_FAILED, Severity.ERROR, "填报", 9, 5, "「运营专柜数」15 大于「建成专柜数」12，请核对",
          indicator="counters_operating", value=15.0),
    issue(IssueCode.APPROXIMATE, Severity.ERROR, "填报", 10, 5, "请填写确切的数字", indicator="counter_sales", value="约20"),
    issue(IssueCode.DETAIL_TOTAL_MISMATCH, Severity.WARNING, "填报", 9, 5, "明细行数与运营专柜数不一致",
          indicator="counters_operating", value=15.0),
    issue(IssueCode.NOT_A_NUMBER, Severity.ERROR, "填报", 11, 6, "不是数字", indicator="counters.sales", value=HYPERLINK_TEXT),
    issue(IssueCode.MACROS_IGNORED, Severity.WARNING, None, None, None, "文件含有宏；宏没有运行"),
    issue(IssueCode.UNIT_MISMATCH, Severity.ERROR, "填报", 1, 3, "标题合并单元格上的问题"),   # inside the merged A1:G1
]


@pytest.fixture()
def unit(config):
    return config.unit("450110")


def test_a_rejected_return_is_marked_and_listed(config, unit, tmp_path):
    path = write_feedback(received_workbook(), "第2期_南宁市_武鸣区.xlsx", ISSUES, config, unit, 2, tmp_path)
    assert path == tmp_path / "退回_第2期_南宁市_武鸣区.xlsx"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["退回_第2期_南宁市_武鸣区.xlsx"]   # no temp file left
    book = load_workbook(path)
    assert book.sheetnames == [LIST_SHEET, "填报", "xf_meta"]
    assert book.active.title == LIST_SHEET
    assert book["xf_meta"].sheet_state == "hidden"
    data = book["填报"]
    # fills: red where any error, orange where only warnings
    assert data["E9"].fill.fgColor.rgb == ERROR_COLOR       # an error and a warning on the same cell
    assert data["E10"].fill.fgColor.rgb == ERROR_COLOR
    assert data["E4"].fill.fgColor.rgb == WARNING_COLOR
    assert data["A1"].fill.fgColor.rgb == ERROR_COLOR       # the merged range's top-left takes the mark
    assert data["E8"].fill.fill_type is None                # an untouched cell
    # comments carry every message of the cell
    assert data["E9"].comment.text == ("【错误】「运营专柜数」15 大于「建成专柜数」12，请核对\n"
                                       "【警告】明细行数与运营专柜数不一致")
    assert data["E9"].comment.author == AUTHOR
    assert data["E8"].comment is None


def test_the_list_sheet(config, unit, tmp_path):
    path = write_feedback(received_workbook(), "第2期_南宁市_武鸣区.xlsx", ISSUES, config, unit, 2, tmp_path,
                          now=dt.datetime(2020, 9, 13, 16, 0))
    sheet = load_workbook(path)[LIST_SHEET]
    assert sheet["A1"].value == "请按下列问题修改后，于2020年9月14日12:00前重新报送。"
    assert sheet["A2"].value == ("填报单位：南宁市武鸣区　报送期次：第2期　收到的文件：第2期_南宁市_武鸣区.xlsx　"
                                 "共 4 个错误、3 个警告")
    assert sheet["A3"].value == ("可直接在本文件的“填报”工作表中修改标色的单元格，保存后把本文件作为附件发回（不必改名，也不必删除本页）；"
                                 "也可以修改原报表后重新发送。")
    assert "组委会办公室 0771-0000000" in sheet["A4"].value
    table = [[c.value for c in row] for row in sheet.iter_rows(min_row=5, max_col=7)]
    assert table == [
        ["序号", "严重程度", "工作表", "单元格", "指标", "填报值", "问题说明"],
        [1, "错误", "填报", "E9", "运营专柜数", 15, "「运营专柜数」15 大于「建成专柜数」12，请核对"],
        [2, "错误", "填报", "E10", "专柜累计销售额", "约20", "请填写确切的数字"],
        [3, "错误", "填报", "F11", "专柜明细·累计销售额（万元）", HYPERLINK_TEXT, "不是数字"],
        [4, "错误", "填报", "C1", None, None, "标题合并单元格上的问题"],
        [5, "警告", "填报", "E4", None, "7711234567", "联系电话格式不对"],
        [6, "警告", "填报", "E9", "运营专柜数", 15, "明细行数与运营专柜数不一致"],
        [7, "警告", None, None, None, None, "文件含有宏；宏没有运行"],
    ]
    assert sheet["F8"].data_type == "s"                      # the received =HYPERLINK text stays text
    assert (sheet["D6"].hyperlink.location, sheet["D6"].hyperlink.target) == ("'填报'!E9", None)   # inside the file
    assert sheet["D12"].hyperlink is None                   # no cell to go to


def test_nothing_in_the_feedback_can_compute_or_link_out(config, unit, tmp_path):
    path = write_feedback(received_workbook(), "第2期_南宁市_武鸣区.xlsx", ISSUES, config, unit, 2, tmp_path)
    with zipfile.ZipFile(path) as archive:
        sheets = {n: archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/worksheets/sheet")}
        workbook_xml = archive.read("xl/workbook.xml").decode()
        names = archive.namelist()
    assert sheets and not any("<f>" in xml or "<f " in xml for xml in sheets.values())
    assert not any('t="e"' in xml for xml in sheets.values())
    assert "<definedName " not in workbook_xml
    assert not any("externalLink" in n for n in names)
    book = load_workbook(path)
    data = book["填报"]
    assert (data["F11"].value, data["F11"].data_type) == (HYPERLINK_TEXT, "s")
    assert (data["F12"].value, data["F12"].data_type) == ("#DIV/0!", "s")
    assert (data["G9"].value, data["G9"].data_type) == ("运营数大于建成数", "s")   # formula -> its cached value
    assert (data["G10"].value, data["G10"].data_type) == ("=HYPERLINK(1)", "s")
    assert (data["G8"].value, data["G8"].data_type) == ("#DIV/0!", "s")
    assert data["H1"].hyperlink is None
    assert [c.value for c in data[8]][:5] == [1, "建成专柜数", "个", None, 12]   # the unit's figures are kept


def test_cached_results_taken_from_intakes_reading(config, unit, tmp_path):
    """With the file as intake read it (`received=`), formulas are replaced by the cached
    results found there, and the workbook is not parsed a second time for them."""
    from xf_excel.intake.records import ReceivedFile
    from xf_excel.intake.workbooks import read_workbook
    from xf_excel.archive.store import sha256

    content = received_workbook()
    raw = read_workbook(ReceivedFile(name="a.xlsx", display="a.xlsx", content=content, sha256=sha256(content),
                                     kind="xlsx")).workbook
    path = write_feedback(content, "第2期_南宁市_武鸣区.xlsx", ISSUES, config, unit, 2, tmp_path, received=raw)
    data = load_workbook(path)["填报"]
    assert (data["G9"].value, data["G9"].data_type) == ("运营数大于建成数", "s")
    assert (data["G10"].value, data["G10"].data_type) == ("=HYPERLINK(1)", "s")
    assert (data["G8"].value, data["G8"].data_type) == ("#DIV/0!", "s")


def test_macros_are_not_carried(config, unit, tmp_path):
    content = received_workbook(macros=True)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert "xl/vbaProject.bin" in archive.namelist()     # the received file does have a VBA project
    path = write_feedback(content, "第2期_南宁市_武鸣区.xlsm", ISSUES, config, unit, 2, tmp_path)
    assert path.suffix == ".xlsx"
    with zipfile.ZipFile(path) as archive:
        assert not any("vba" in n.lower() for n in archive.namelist())
        assert "macroEnabled" not in archive.read("[Content_Types].xml").decode()


def test_warnings_only_give_a_notice(config, unit, tmp_path):
    warnings_only = [i for i in ISSUES if i.severity is Severity.WARNING]
    path = write_feedback(received_workbook(), "第2期_南宁市_武鸣区.xlsx", warnings_only, config, unit, 2, tmp_path,
                          now=dt.datetime(2020, 9, 13, 16, 0))
    assert path.name == "提示_第2期_南宁市_武鸣区.xlsx"
    sheet = load_workbook(path)[LIST_SHEET]
    assert sheet["A1"].value == "本次报送已受理。请核对下列问题；如数据有误，请于2020年9月14日12:00前修改后重新报送。"


def test_a_member_units_feedback_name(config):
    assert feedback_name(config.unit("BM05"), 3, "x.xlsx", rejected=True) == "退回_第3期_自治区总工会.xlsx"


@pytest.mark.parametrize("received, expected", [
    ("../../evil:name?.xlsx", "退回_evil_name_.xlsx"),
    ("\\\\host\\share\\报表.xls", "退回_报表.xlsx"),
    ('a<b>|"c"*.xlsx', "退回_a_b_c_.xlsx"),
    (".xlsx", "退回_未知文件.xlsx"),
])
def test_unknown_units_get_a_sanitised_name_from_the_file(received, expected):
    assert feedback_name(None, 2, received, rejected=True) == expected


def test_an_unreadable_original_gives_the_list_alone(config, tmp_path):
    xls = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600
    issues = [issue(IssueCode.NOT_A_RETURN, Severity.ERROR, None, None, None, "文件 x.xls 不是本次活动的填报表")]
    path = write_feedback(xls, "../x.xls", issues, config, None, 2, tmp_path / "out")
    assert path == tmp_path / "out" / "退回_x.xlsx"
    book = load_workbook(path)
    assert book.sheetnames == [LIST_SHEET]
    assert book[LIST_SHEET]["A2"].value.startswith("填报单位：（未能确定）　报送期次：第2期　收到的文件：../x.xls")
    assert book[LIST_SHEET]["A3"].value == "请在原报表中逐项修改后，把原报表重新发送；本文件只列出问题，不能代替报表。"
    assert book[LIST_SHEET]["G6"].value == "文件 x.xls 不是本次活动的填报表"


def test_a_resent_feedback_workbook_is_cleaned_of_the_earlier_round(config, unit, tmp_path):
    first = write_feedback(received_workbook(), "第2期_南宁市_武鸣区.xlsx", ISSUES, config, unit, 2, tmp_path / "1")
    remaining = [i for i in ISSUES if (i.row, i.column) == (10, 5)]
    second = write_feedback(first.read_bytes(), first.name, remaining, config, unit, 2, tmp_path / "2")
    book = load_workbook(second)
    assert book.sheetnames == [LIST_SHEET, "填报", "xf_meta"]
    data = book["填报"]
    assert data["E9"].comment is None and data["E9"].fill.fill_type is None     # fixed since: unmarked
    assert data["E10"].fill.fgColor.rgb == ERROR_COLOR and "确切" in data["E10"].comment.text
    assert [c.value for c in book[LIST_SHEET][6]][:4] == [1, "错误", "填报", "E10"]
    assert book[LIST_SHEET].max_row == 6


def test_an_existing_feedback_is_replaced(config, unit, tmp_path):
    first = write_feedback(received_workbook(), "a.xlsx", ISSUES, config, unit, 2, tmp_path)
    second = write_feedback(received_workbook(), "a.xlsx", ISSUES[:2], config, unit, 2, tmp_path)
    assert first == second and load_workbook(second)[LIST_SHEET].max_row == 7
    assert [p.name for p in Path(tmp_path).iterdir()] == [first.name]


def test_past_the_deadline_the_unit_is_asked_to_resend_as_soon_as_possible(config, unit, tmp_path):
    """9月14日12:00 has passed: no unit can resend before it any more."""
    path = write_feedback(received_workbook(), "第2期_南宁市_武鸣区.xlsx", ISSUES, config, unit, 2, tmp_path,
                          now=dt.datetime(2020, 9, 15, 9, 0))
    first = load_workbook(path)[LIST_SHEET]["A1"].value
    assert first == "请按下列问题修改后，尽快重新报送（报送截止时间2020年9月14日12:00已过）。"
    warned = [i for i in ISSUES if not i.blocking]
    path = write_feedback(received_workbook(), "第2期_南宁市_武鸣区.xlsx", warned, config, unit, 2, tmp_path,
                          now=dt.datetime(2020, 9, 15, 9, 0))
    assert "尽快修改后重新报送" in load_workbook(path)[LIST_SHEET]["A1"].value
