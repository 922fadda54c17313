"""The detail list is pre-filled: next week's 专柜明细 starts with the counters accepted last
week, prints with a title and the unit's name, and a form returned with the list unchanged reads
back to the same rows and passes the checks (through the real intake)."""

from __future__ import annotations

import datetime as dt
import zipfile

import openpyxl
import pytest

from xf_excel.archive.store import Archive, NewSubmission
from xf_excel.contract import DETAIL_HEADER_ROW, Header
from xf_excel.demo.fill import fill_form
from xf_excel.issues import Severity
from xf_excel.outputs.forms import form_filename
from xf_excel.pipeline import intake_inbox, make_forms

WUMING = "450110"                     # 南宁市武鸣区
HOSTILE_NAME = "=cmd|' /C calc'!A0"
SCRIPT_NAME = "<script>alert(1)</script>专柜"
LONG_NAME = "武鸣区国家A级旅游景区游客服务中心一楼东侧消费扶贫专柜"


def _rows() -> list[dict]:
    """Last week's accepted list as the archive keeps it (column id -> JSON-safe value)."""
    common = {"site_type": "机关", "operator": "数字广西集团有限公司"}
    return [
        {**common, "name": LONG_NAME, "site_type": "国家A级旅游景区", "address": "南宁市武鸣区灵水路1号",
         "opened": "2020-09-02", "status": "运营中", "sales": 12.34},
        {**common, "name": HOSTILE_NAME, "address": "南宁市武鸣区城东大道8号", "opened": "2020-09-03",
         "status": "运营中", "sales": 5.5},
        {**common, "name": SCRIPT_NAME, "address": "| 地址 | 表格 |", "opened": None, "status": "建设中",
         "sales": None},
    ]


@pytest.fixture
def archive_path(tmp_path, config):
    """Period 1: 武鸣区's return accepted, with its 3 counters (2 运营中)."""
    values = {i.id: 0.0 for i in config.indicators_for(config.unit(WUMING)) if i.numeric and not i.derived}
    values.update(counters_built=3.0, counters_operating=2.0, counter_sales=17.84)
    path = tmp_path / "xf.sqlite"
    with Archive(path) as archive:
        archive.record_submission(NewSubmission(WUMING, 1, accepted=True, values=values, details={"counters": _rows()},
                                                received_at="2020-09-06T10:00:00", file_name="第1期_南宁市_武鸣区.xlsx",
                                                header={"填报人": "韦芳", "联系电话": "13907710001"}))
    return path


@pytest.fixture
def form(tmp_path, config, archive_path):
    make_forms(config, 2, tmp_path / "forms", archive_path)
    return tmp_path / "forms" / form_filename(config, WUMING, 2)


def _listed(sheet, config) -> list[dict]:
    detail = config.details_for(config.unit(WUMING))[0]
    names = {c.name: c.id for c in detail.columns}
    header = [c.value for c in sheet[DETAIL_HEADER_ROW]]
    rows = []
    for line in sheet.iter_rows(min_row=DETAIL_HEADER_ROW + 1, values_only=True):
        if all(v is None for v in line[1:]):
            continue
        rows.append({names[h]: (v.date().isoformat() if isinstance(v, dt.datetime) else v)
                     for h, v in zip(header, line) if h in names})
    return rows


def test_next_weeks_list_starts_with_last_weeks_accepted_counters(form, config):
    book = openpyxl.load_workbook(form)
    sheet = book["专柜明细"]
    assert _listed(sheet, config) == _rows()
    assert [sheet.cell(r, 1).value for r in range(DETAIL_HEADER_ROW + 1, DETAIL_HEADER_ROW + 4)] == [1, 2, 3]
    assert sheet.cell(DETAIL_HEADER_ROW + 1, 6).is_date                               # a date, not ISO text
    for r in range(DETAIL_HEADER_ROW + 1, DETAIL_HEADER_ROW + 4):                    # the clerk may change them
        assert all(not sheet.cell(r, c).protection.locked for c in range(1, 9))
    assert "已预填上期已接收的3行" in sheet["A2"].value and "南宁市武鸣区" in sheet["A2"].value
    assert "“专柜明细”已预填上期已接收的明细" in book["填报"]["A5"].value


def test_the_printed_list_has_its_title_and_does_not_cut_the_counter_name_off(form):
    sheet = openpyxl.load_workbook(form)["专柜明细"]
    assert sheet["A1"].value == "专柜明细（第2期）" and "A1:H1" in {str(m) for m in sheet.merged_cells.ranges}
    assert sheet.print_title_rows == f"$1:${DETAIL_HEADER_ROW}"
    name_width = sum(2 if ord(ch) > 0x2E80 else 1 for ch in LONG_NAME)
    width = sheet.column_dimensions["B"].width
    assert width >= 40                                                  # as wide as the longest name, up to a limit …
    assert sheet.cell(DETAIL_HEADER_ROW + 1, 2).alignment.wrap_text     # … and beyond it wrapped, on a row tall enough
    assert name_width > width and sheet.row_dimensions[DETAIL_HEADER_ROW + 1].height >= 2 * 15
    assert sheet.row_dimensions[DETAIL_HEADER_ROW + 2].height is None   # a short name keeps one line
    assert sheet.page_setup.fitToWidth == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage


def test_received_names_stay_text_on_the_form(form):
    sheet = openpyxl.load_workbook(form)["专柜明细"]
    names = [sheet.cell(r, 2) for r in range(DETAIL_HEADER_ROW + 1, DETAIL_HEADER_ROW + 4)]
    assert [c.value for c in names] == [LONG_NAME, HOSTILE_NAME, SCRIPT_NAME]
    assert all(c.data_type == "s" for c in names)
    with zipfile.ZipFile(form) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        assert all("cmd|" not in z.read(n).decode() or "<f>" not in z.read(n).decode() for n in sheets)
        detail_xml = z.read("xl/worksheets/sheet2.xml").decode()
        assert "<f>" not in detail_xml


def test_a_prefilled_list_returned_unchanged_reads_to_the_same_rows_and_passes(tmp_path, form, config, archive_path):
    with Archive(archive_path) as archive:
        last = archive.accepted(1)[WUMING]
    names = {i.id: i.name for i in config.indicators}
    inbox = tmp_path / "inbox"
    fill_form(form, inbox / form.name, {names[k]: v for k, v in last.values.items() if k in names},
              header={Header.FILLED_BY.value: "黄海", Header.PHONE.value: "13907710002"})
    report = intake_inbox(config, inbox, 2, archive_path, tmp_path / "back")
    with Archive(archive_path) as archive:
        accepted = archive.accepted(2)
        assert WUMING in accepted, report
        assert accepted[WUMING].details == last.details
        issues = archive.issues(submission_id=accepted[WUMING].id)
    assert not [i for i in issues if i.severity is Severity.ERROR]
    assert not [i for i in issues if (i.indicator or "").startswith("counters")], issues   # the totals agree


def test_without_an_accepted_return_the_list_is_blank(tmp_path, config, archive_path):
    make_forms(config, 2, tmp_path / "forms", archive_path)
    other = openpyxl.load_workbook(tmp_path / "forms" / form_filename(config, "450123", 2))["专柜明细"]
    assert _listed(other, config) == []
    assert "已预填" not in other["A2"].value


@pytest.mark.parametrize("engine", ["xml", "openpyxl"])
def test_the_demo_clerk_deletes_prefilled_rows_beyond_the_list_typed(tmp_path, form, config, engine):
    row = {"专柜名称": "武鸣区新专柜", "场所类型": "社区", "详细地址": "南宁市武鸣区某路1号", "承建企业": "其他",
           "投入运营日期": dt.date(2020, 9, 9), "运营状态": "运营中", "累计销售额（万元）": 1.5}
    out = fill_form(form, tmp_path / f"{engine}.xlsx", {}, {"专柜明细": [row]}, engine=engine)
    listed = _listed(openpyxl.load_workbook(out)["专柜明细"], config)
    assert [r["name"] for r in listed] == ["武鸣区新专柜"]
