"""The master keeps the history: 历史 (every period's figures side by side, native line charts
over its cells), 报送情况's contact from the latest return, and the printable 催报清单."""

from __future__ import annotations

import re
import zipfile

import pytest
from lxml import etree
from openpyxl import load_workbook
from openpyxl.utils import column_index_from_string

from xf_excel.archive.store import Archive, NewSubmission
from xf_excel.consolidate import consolidate
from xf_excel.outputs.master import write_master

from test_master import NOW, build_archive

pytestmark = pytest.mark.filterwarnings("ignore:.*extension is not supported:UserWarning")

_C = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"


@pytest.fixture
def book(tmp_path, config):
    """Period 2's master over an archive of two periods, and each period's own consolidation."""
    with Archive(tmp_path / "xf.sqlite") as archive:
        build_archive(archive, config)
        _returns_with_contacts(archive)
        each = {p: consolidate(archive, config, p, now=NOW) for p in (1, 2)}
    path = write_master(each[2], tmp_path / "汇总_第2期.xlsx")
    return path, load_workbook(path), each


def _returns_with_contacts(archive: Archive) -> None:
    """南宁市江南区 (450105) sends two returns in period 2; the later, by another clerk, counts.
    南宁市青秀区 (450103), sent back in period 2, named its clerk in period 1."""
    for name, phone, at in (("韦芳", "13907710001", "2020-09-13T09:00:00"), ("黄海", "13907710002", "2020-09-13T16:00:00")):
        archive.record_submission(NewSubmission("450105", 2, accepted=True, values={"counters_built": 3.0},
                                                received_at=at, file_name=f"江南区{at[-8:-6]}.xlsx",
                                                header={"填报人": name, "联系电话": phone}))
    archive.record_submission(NewSubmission("450103", 1, accepted=True, values={"counters_built": 2.0},
                                            received_at="2020-09-06T11:00:00", file_name="青秀区.xlsx",
                                            header={"填报人": "蒙丽", "联系电话": "0771-5551234"}))


def _rows(sheet, label_col: int, first: int):
    """Label in `label_col` -> row number, for the rows of the block starting at `first`."""
    rows = {}
    for r in range(first, sheet.max_row + 1):
        label = sheet.cell(r, label_col).value
        if not label:
            break
        rows[label] = r
    return rows


def _period_cols(sheet, header_row: int) -> dict[int, int]:
    return {int(re.fullmatch(r"第(\d+)期", str(c.value)).group(1)): c.column
            for c in sheet[header_row] if re.fullmatch(r"第\d+期", str(c.value or ""))}


def _block(sheet, heading: str) -> int:
    """The row of a block's heading in column A."""
    return next(r for r in range(1, sheet.max_row + 1) if sheet.cell(r, 1).value == heading)


def test_history_values_equal_each_periods_consolidation(book, config):
    _, workbook, each = book
    sheet = workbook["历史"]
    columns = _period_cols(sheet, 3)
    assert sorted(columns) == [p.number for p in config.periods]           # every period of the plan, later ones blank
    rows = _rows(sheet, 2, 5)
    checked = 0
    for ind in (i for i in config.indicators if i.numeric):
        for period, col in columns.items():
            cell = sheet.cell(rows[ind.name], col).value
            if period in each:
                assert cell == each[period].region.values.get(ind.id), (ind.name, period)
                checked += cell is not None
            else:
                assert cell is None
    assert checked > 20
    completion = _block(sheet, "目标完成率与时间进度")
    targets = [t for t in config.targets if not t.is_cap]
    for n, target in enumerate(t for t in config.targets):
        if target.is_cap:
            continue
        r = completion + 3 + targets.index(target)
        for period in each:
            assert sheet.cell(r, columns[period]).value == pytest.approx(each[period].progress[n].completion)
    schedule = completion + 3 + len(targets)
    assert sheet.cell(schedule, 2).value == "时间进度"
    assert [sheet.cell(schedule, columns[p]).value for p in each] == [pytest.approx(each[p].time_schedule) for p in each]
    cities = _block(sheet, "各市运营专柜数")
    city_rows = _rows(sheet, 1, cities + 3)
    assert list(city_rows) == [c.name for c in config.cities]
    for city in config.cities:
        for period, c in each.items():
            figure = next(t for t in c.cities if t.code == city.code).values.get("counters_operating")
            assert sheet.cell(city_rows[city.name], columns[period]).value == figure


def _charts(path) -> list[etree._Element]:
    with zipfile.ZipFile(path) as z:
        return [etree.fromstring(z.read(n)) for n in sorted(z.namelist()) if n.startswith("xl/charts/chart")]


def _ref(text: str) -> tuple[str, int, int, int, int]:
    """'历史'!$D$3:$H$3 -> (sheet, first row, first col, last row, last col)."""
    sheet, cells = text.rsplit("!", 1)
    parts = [re.fullmatch(r"\$([A-Z]+)\$(\d+)", p).groups() for p in cells.split(":")]
    (c1, r1), (c2, r2) = parts[0], parts[-1]
    return sheet.strip("'"), int(r1), column_index_from_string(c1), int(r2), column_index_from_string(c2)


def test_history_charts_are_native_line_charts_over_the_history_rows(book, config):
    path, workbook, _ = book
    sheet = workbook["历史"]
    lines = [c for c in _charts(path) if c.find(f".//{_C}lineChart") is not None]
    assert len(lines) == 2
    names = []
    for chart in lines:
        for series in chart.iter(f"{_C}ser"):
            name = _ref(series.find(f"{_C}tx/{_C}strRef/{_C}f").text)
            values = _ref(series.find(f"{_C}val/{_C}numRef/{_C}f").text)
            categories = _ref(series.find(f"{_C}cat//{_C}f").text)
            assert name[0] == values[0] == categories[0] == "历史"
            assert values[1] == values[3] == name[1]                        # the series' own row …
            assert (values[2], values[4]) == (categories[2], categories[4])  # … over the period columns
            assert [sheet.cell(categories[1], c).value for c in range(categories[2], categories[4] + 1)] == \
                [f"第{p.number}期" for p in config.periods]
            names.append(sheet.cell(name[1], name[2]).value)
    reach = [config.indicator(t.indicator).name for t in config.targets if not t.is_cap]
    assert all(any(n.startswith(r) for n in names) for r in reach) and "时间进度" in names
    assert [c.name for c in config.cities] == names[-len(config.cities):]


def test_reporting_shows_the_latest_returns_contact(book):
    _, workbook, each = book
    sheet = workbook["报送情况"]
    column = {c.value: c.column for c in sheet[3]}
    rows = {sheet.cell(r, 1).value: r for r in range(4, sheet.max_row + 1)}
    contact = lambda code: (sheet.cell(rows[code], column["填报人"]).value,  # noqa: E731
                            sheet.cell(rows[code], column["联系电话"]).value)
    assert contact("450105") == ("黄海", "13907710002")        # the later of two returns
    assert contact("450103") == (None, None)                    # its period-2 return named nobody
    status = {s.unit.code: s for s in each[2].reporting}
    assert status["450105"].contact == "黄海 13907710002"


def test_the_chase_list_holds_exactly_the_missing_and_returned_units_per_city(book, config):
    path, workbook, each = book
    c = each[2]
    sheet = workbook["催报清单"]
    header = [cell.value for cell in sheet[3]]
    assert header[:3] == ["序号", "单位名称", "报送状态"] and "已催报" in header
    sections, current = {}, None
    for r in range(4, sheet.max_row + 1):
        first, name = sheet.cell(r, 1).value, sheet.cell(r, 2).value
        if isinstance(first, str) and "：" in first:             # a city's heading (the serial is a number)
            current = first.split("：")[0]
            sections[current] = {"row": r, "units": []}
        elif name:
            sections[current]["units"].append((name, sheet.cell(r, 3).value))
    expected = {}
    for s in c.reporting_in("missing", "rejected"):
        group = s.unit.city_name if s.unit.kind == "county" else config.campaign.levels.member
        expected.setdefault(group, []).append((s.unit.full_name, "未报送" if s.state == "missing" else "被退回"))
    assert {k: v["units"] for k, v in sections.items()} == expected
    assert ("南宁市兴宁区", "未报送") in expected["南宁市"] and ("南宁市青秀区", "被退回") in expected["南宁市"]
    # a printed page per city: a break before every section but the first, titles and header repeated
    breaks = sorted(b.id for b in sheet.row_breaks.brk)
    assert breaks == sorted(v["row"] - 1 for v in sections.values())[1:]
    assert sheet.print_title_rows == "$1:$3"
    assert sheet.sheet_properties.pageSetUpPr.fitToPage                     # to the page width (1, the default) …
    assert sheet.page_setup.fitToWidth in (None, 1) and sheet.page_setup.fitToHeight == 0   # … as many pages long as needed
    # 青秀区 sent nothing usable this period: whom to call comes from its period-1 return
    qingxiu = next(r for r in range(4, sheet.max_row + 1) if sheet.cell(r, 2).value == "南宁市青秀区")
    assert (sheet.cell(qingxiu, 4).value, sheet.cell(qingxiu, 5).value) == ("蒙丽", "0771-5551234")
    assert "取自第1期报表" in sheet.cell(qingxiu, 8).value


def test_a_received_contact_stays_text_in_the_master(tmp_path, config):
    hostile = "=cmd|' /C calc'!A0"
    with Archive(tmp_path / "xf.sqlite") as archive:
        archive.record_submission(NewSubmission("450103", 1, accepted=False, values={}, file_name="x.xlsx",
                                                received_at="2020-09-06T11:00:00",
                                                header={"填报人": hostile, "联系电话": "<script>alert(1)</script>"}))
        c = consolidate(archive, config, 1, now=NOW)
    path = write_master(c, tmp_path / "m.xlsx")
    for name in ("报送情况", "催报清单"):
        sheet = load_workbook(path)[name]
        found = [cell for row in sheet.iter_rows() for cell in row if cell.value == hostile]
        assert found and all(cell.data_type == "s" for cell in found), name
        assert any(cell.value == "<script>alert(1)</script>" for row in sheet.iter_rows() for cell in row)
