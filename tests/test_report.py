"""Tests for the weekly briefing: wording, context, template contracts, Word and Markdown output.

A small second campaign (not Guangxi 2020) is configured in code, its consolidation built
directly with `briefing_factory.make_consolidation`, and every expected figure is computed
here from the county values the test sets.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import shutil
import subprocess
import sys
import warnings
import zipfile
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Length

from briefing_factory import make_consolidation, realistic_consolidation
from xf_excel.config import parse_config
from xf_excel.errors import RenderError
from xf_excel.issues import Issue, IssueCode, Severity
from xf_excel.outputs.briefing import (
    CHART_FILES, CONTEXT_KEYS, build_context, check_templates, default_template_dir, markdown_escape, render_briefing,
)
from xf_excel.wording import (
    cn_numeral, fmt_change, fmt_count, fmt_date_cn, fmt_date_full, fmt_money_wan, fmt_number, fmt_percent,
    fmt_points, fmt_points_between, fmt_value, money_unit, quantity_name,
)

SMALL_CONFIG = """
campaign:
  name: 2021年示范省消费帮扶周活动
  start: 2021-05-01
  end: 2021-05-20
  region: {code: "990000", name: 示范省, short_name: 全省}
  office: 示范省消费帮扶周活动办公室
  office_short: 活动办
  briefing_title: 消费帮扶周工作简报
  form_title: 消费帮扶周进展情况报表
  template_version: "2021.1"
periods:
  - {number: 1, cutoff: 2021-05-05, deadline: "2021-05-06 12:00"}
  - {number: 2, cutoff: 2021-05-10, deadline: "2021-05-11 12:00"}
  - {number: 3, cutoff: 2021-05-15, deadline: "2021-05-16 12:00"}
county_groups:
  key: {name: 重点帮扶县}
member_units:
  - {code: M1, name: 示范省总工会, short_name: 总工会}
activities:
  - {id: s, number: 1, name: 帮扶专柜推进行动, short_name: 专柜}
  - {id: u, number: 2, name: 职工消费帮扶行动, short_name: 职工}
indicators:
  - {id: counters, name: 运营专柜数, unit: 个, kind: count, activity: s, reported_by: {counties: all}}
  - {id: sales, name: 专柜销售额, unit: 万元, kind: money, activity: s, reported_by: {counties: all}}
  - {id: certified, name: 认定产品数, unit: 个, kind: count, activity: s, reported_by: {counties: key}}
  - {id: listed, name: 上架产品数, unit: 个, kind: count, activity: s, reported_by: {counties: key}}
  - {id: listing_rate, name: 产品上架率, unit: "%", kind: ratio, activity: s, compute: listed / certified}
  - {id: members, name: 消费券发放人数, unit: 人, kind: count, activity: u, reported_by: {units: [M1]}}
  - {id: amount, name: 消费券发放金额, unit: 万元, kind: money, activity: u, reported_by: {units: [M1]}}
  - {id: per_member, name: 人均消费券金额, unit: 元, kind: number, activity: u, compute: amount * 10000 / members}
targets:
  - {indicator: counters, op: ">=", value: 100, scope: region}
  - {indicator: sales, op: ">=", value: 20000, scope: region}
  - {indicator: listing_rate, op: ">=", value: 0.8, scope: key}
  - {indicator: per_member, op: "<=", value: 300, scope: region}
ranking_indicator: counters
cities:
  - {code: "990100", name: 东城市}
  - {code: "990200", name: 西城市}
counties:
  - {code: "990101", name: 甲县, type: 县, city: "990100", groups: [key]}
  - {code: "990102", name: 乙区, type: 市辖区, city: "990100"}
  - {code: "990201", name: 丙县, type: 县, city: "990200", groups: [key]}
  - {code: "990202", name: 丁县, type: 县, city: "990200"}
  - {code: "990203", name: 戊市, type: 县级市, city: "990200"}
"""

COUNTIES = {
    "990101": {"counters": 30, "sales": 9000.5, "certified": 50, "listed": 40},
    "990102": {"counters": 12, "sales": 1200.25},
    "990201": {"counters": 25, "sales": 4000, "certified": 30, "listed": 21},
    "990202": {"counters": 8, "sales": 300},
    "990203": {"counters": 29, "sales": 6000},
}
PREVIOUS = {
    "990101": {"counters": 20, "sales": 5000, "certified": 50, "listed": 30},
    "990102": {"counters": 10, "sales": 1000},
    "990201": {"counters": 15, "sales": 2000, "certified": 30, "listed": 15},
    "990202": {"counters": 5, "sales": 200},
    "990203": {"counters": 20, "sales": 3000},
}
MEMBERS = {"M1": {"members": 30_000, "amount": 805.0}}
PREVIOUS_MEMBERS = {"M1": {"members": 10_000, "amount": 250.0}}
ISSUE_DATE = dt.date(2021, 5, 16)


@pytest.fixture(scope="module")
def small_config():
    return parse_config(SMALL_CONFIG, "small.yaml")


def small_consolidation(config, *, counties=None, missing=(), rejected=(), issues=None, period=3, history=None):
    return make_consolidation(
        config, period, counties or COUNTIES, MEMBERS, previous_counties=PREVIOUS, previous_members=PREVIOUS_MEMBERS,
        missing=missing, rejected=rejected, issues=issues,
        history=history if history is not None else {1: {"counters": 40.0, "sales": 5000.0}},
    )


@pytest.fixture(scope="module")
def small(small_config):
    return small_consolidation(small_config, missing=["990202"], rejected=["990203"], issues=[
        Issue(IssueCode.NOT_A_NUMBER, Severity.ERROR, "x", unit="990203"),
        Issue(IssueCode.NOT_A_NUMBER, Severity.ERROR, "x", unit="990203"),
        Issue(IssueCode.DETAIL_TOTAL_MISMATCH, Severity.WARNING, "x", unit="990101"),
    ])


@pytest.fixture(scope="module")
def rendered(small, tmp_path_factory):
    out = tmp_path_factory.mktemp("briefing")
    return render_briefing(small, out, issue_date=ISSUE_DATE)


def _half_up(x: float, places: str = "0.1") -> str:
    """Rounded as a person rounds (76.25 -> 76.3), independently of xf_excel.wording."""
    return str(Decimal(repr(x)).quantize(Decimal(places), rounding=ROUND_HALF_UP))


def _docx_text(path: Path) -> str:
    doc = Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        parts += ["|".join(cell.text for cell in row.cells) for row in table.rows]
    return "\n".join(parts)


# ---- wording -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "unit", "expected"), [
    (1036, "个", "1,036个"), (0, "个", "0个"), (999, "家", "999家"), (1234567, "人", "1,234,567人"), (2.5, "个", "3个"),
])
def test_fmt_count(value, unit, expected):
    assert fmt_count(value, unit) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (1234.56, "1,234.56万元"), (1234.5, "1,234.50万元"), (800, "800.00万元"), (0.005, "0.01万元"),
    (9999.99, "9,999.99万元"), (9999.999, "1.00亿元"), (10000, "1.00亿元"), (61234.5, "6.12亿元"),
    (15050, "1.51亿元"), (1_000_000, "100.00亿元"), (-0.001, "0.00万元"),
])
def test_fmt_money_wan_two_decimals_and_yi_from_10000(value, expected):
    """One precision for money throughout a document: always two decimals."""
    assert fmt_money_wan(value) == expected


def test_a_series_and_a_clause_keep_one_money_unit():
    """8,485.74万元、2.93亿元、4.8亿元 is three precisions and two units: worded in the unit of
    the series' largest member, and a change in the unit of its figure."""
    series = [8485.74, 29300, 48000]
    unit = money_unit(*series)
    assert "、".join(fmt_value(v, "money", "万元", money=unit) for v in series) == "0.85亿元、2.93亿元、4.80亿元"
    assert money_unit(4344.8, 1914.16) == "万元" and money_unit(None, 9999.999) == "亿元"
    assert fmt_change(57_800, 47_955.65, "money", "万元") == "较上期增加0.98亿元"       # beside 5.78亿元
    assert fmt_change(4344.8, 2430.64, "money", "万元") == "较上期增加1,914.16万元"    # beside 4,344.80万元


def test_a_gap_is_the_difference_of_the_printed_figures():
    """13.3% and 6.7% as printed are 6.6 points apart, though 0.13333 - 0.06667 rounds to 6.7."""
    assert (fmt_percent(4 / 30), fmt_percent(0.06666)) == ("13.3%", "6.7%")
    assert fmt_points(4 / 30 - 0.06666) == "6.7个百分点"
    assert fmt_points_between(4 / 30, 0.06666) == "6.6个百分点"
    assert fmt_change(0.81449, 0.7996, "ratio", "%") == "较上期提高1.4个百分点"      # 81.4% - 80.0%
    assert fmt_change(4344.804, 2430.636, "money", "万元") == "较上期增加1,914.16万元"  # 4,344.80 - 2,430.64


@pytest.mark.parametrize(("ratio", "expected"), [
    (0.6, "60.0%"), (1.0355, "103.6%"), (0.0004, "0.0%"), (0.12345, "12.3%"), (12.5, "1,250.0%"),
])
def test_fmt_percent_one_decimal_half_up(ratio, expected):
    assert fmt_percent(ratio) == expected


def test_dates_and_numerals():
    assert fmt_date_cn(dt.date(2020, 9, 18)) == "9月18日"
    assert fmt_date_full(dt.date(2020, 9, 8)) == "2020年9月8日"
    assert [cn_numeral(n) for n in (1, 2, 9, 10, 11, 19, 20, 35, 99)] == \
        ["一", "二", "九", "十", "十一", "十九", "二十", "三十五", "九十九"]
    # ranks past 99 (a campaign of more than 99 cities, e.g. "并列第一百三十四"): one 零 per gap
    assert [cn_numeral(n) for n in (100, 101, 110, 134, 205, 1000, 1005, 1010, 2844)] == \
        ["一百", "一百零一", "一百一十", "一百三十四", "二百零五", "一千", "一千零五", "一千零一十", "二千八百四十四"]
    for out_of_range in (0, 10_000):
        with pytest.raises(ValueError):
            cn_numeral(out_of_range)


def test_change_wording():
    assert fmt_change(220, 100, "count", "个") == "较上期增加120个"
    assert fmt_change(97, 100, "count", "个") == "较上期减少3个"
    assert fmt_change(100.2, 100, "count", "个") == "与上期持平"
    assert fmt_change(24000, 12000, "money", "万元") == "较上期增加1.20亿元"
    assert fmt_change(0.515, 0.5, "ratio", "%") == "较上期提高1.5个百分点"
    assert fmt_change(0.485, 0.5, "ratio", "%") == "较上期降低1.5个百分点"
    assert fmt_change(191.21, 180, "number", "元") == "较上期增加11.21元"
    assert fmt_change(None, 3, "count", "个") == "" and fmt_change(3, None, "count", "个") == ""


def test_quantity_name_drops_the_number_suffix_for_counts():
    assert quantity_name("运营专柜数", "count") == "运营专柜"
    assert quantity_name("参与带货主播人数", "count") == "参与带货主播"
    assert quantity_name("专区总数", "count") == "专区"
    assert quantity_name("专柜累计销售额", "money") == "专柜累计销售额"


# ---- the context -------------------------------------------------------------------------------

def test_masthead_and_title_come_from_config(small_config, small):
    ctx = build_context(small, issue_date=ISSUE_DATE)
    assert ctx["masthead"] == {"title": "消费帮扶周工作简报", "issue": "第3期",
                               "office": "示范省消费帮扶周活动办公室编", "date": "2021年5月16日"}
    assert ctx["title"] == "2021年示范省消费帮扶周活动进展情况"
    # default masthead date: the day the consolidation was made
    assert build_context(small)["masthead"]["date"] == fmt_date_full(small.generated_at.date())


def test_overview_states_cutoff_reporting_figures_and_time_schedule(small):
    text = build_context(small)["overview"]
    # missing returns are carried forward (config default), so every county counts
    counters = sum(v["counters"] for v in COUNTIES.values())
    increase = counters - sum(v["counters"] for v in PREVIOUS.values())
    assert text.startswith("截至5月15日，全省5个县（市、区）中已有3个报送本期进展情况，需报送数据的1个成员单位均已报送，"
                           "2个单位本期未报送或报表被退回，暂沿用此前报送的数据。")
    assert f"全省累计运营专柜{counters:,}个，完成目标任务的{counters / 100 * 100:.1f}%，较上期增加{increase}个。" in text
    assert text.endswith(f"时间进度为{15 / 20 * 100:.1f}%。")


def test_activity_sections_in_config_order_with_caps_and_group_ratios(small):
    sections = build_context(small)["activities"]
    assert [s["heading"] for s in sections] == ["（一）帮扶专柜推进行动", "（二）职工消费帮扶行动"]
    first, second = sections[0]["text"], sections[1]["text"]
    sales = math.fsum(v["sales"] for v in COUNTIES.values())
    sales_increase = sales - math.fsum(v["sales"] for v in PREVIOUS.values())
    assert f"专柜销售额{sales / 10000:.2f}亿元，完成目标任务的{sales / 20000 * 100:.1f}%，" \
           f"较上期增加{round(sales / 10000, 2) - round((sales - sales_increase) / 10000, 2):.2f}亿元" in first
    rate = (40 + 21) / (50 + 30)
    previous_rate = (30 + 15) / 80
    gap = Decimal("80.0") - Decimal(_half_up(rate * 100))          # the printed figures' difference
    assert f"2个重点帮扶县产品上架率为{_half_up(rate * 100)}%，距80.0%的目标要求还差{gap}个百分点，" \
           f"较上期提高{_half_up((rate - previous_rate) * 100)}个百分点" in first
    per_member = 805 * 10000 / 30000
    assert f"人均消费券金额{per_member:.2f}元，未超过300元上限" in second   # the plan's limit as the plan says it
    assert "消费券发放30,000人，较上期增加20,000人" in second


def test_cap_exceeded_is_worded_and_listed_as_a_problem(small_config):
    c = make_consolidation(small_config, 3, COUNTIES, {"M1": {"members": 1000, "amount": 40}})
    ctx = build_context(c)
    assert "人均消费券金额400.00元，超过300元上限" in ctx["activities"][1]["text"]
    assert any("人均消费券金额为400.00元，超过300元上限" in p["text"] for p in ctx["problems"])


def test_cities_table_ranked_with_shares(small):
    cities = build_context(small)["cities"]
    east = COUNTIES["990101"]["counters"] + COUNTIES["990102"]["counters"]
    west = sum(COUNTIES[c]["counters"] for c in ("990201", "990202", "990203"))
    total = east + west
    assert cities["columns"] == ["市", "运营专柜数（个）", "占比", "排名"]
    assert cities["rows"] == [
        {"name": "西城市", "value": str(west), "share": fmt_percent(west / total), "rank": "1"},
        {"name": "东城市", "value": str(east), "share": fmt_percent(east / total), "rank": "2"},
    ]
    assert cities["total"] == {"name": "全省合计", "value": str(total), "share": "100.0%", "rank": ""}
    assert cities["sentence"] == f"从运营专柜数看，各市由高到低依次为西城市（{west}个）、东城市（{east}个）。"


def test_cities_without_figures_are_not_ranked_in_words(small_config):
    """A city whose counties sent nothing yet is named apart, not placed among the first three."""
    counties = {code: values for code, values in COUNTIES.items() if code.startswith("9902")}
    c = make_consolidation(small_config, 3, counties)
    sentence = build_context(c)["cities"]["sentence"]
    west = sum(COUNTIES[code]["counters"] for code in ("990201", "990202", "990203"))
    assert sentence == f"从运营专柜数看，各市由高到低依次为西城市（{west}个）；东城市暂无数据。"
    assert "东城市（" not in sentence


def test_missing_units_grouped_by_city_and_data_problems_counted(small_config):
    c = small_consolidation(small_config, missing=["990102", "990202", "990203", "M1"], rejected=["990201"], issues=[
        Issue(IssueCode.NOT_A_NUMBER, Severity.ERROR, "x", unit="990201"),
        Issue(IssueCode.NOT_A_NUMBER, Severity.ERROR, "x", unit="990201"),
        Issue(IssueCode.RULE_FAILED, Severity.ERROR, "x", unit="990201"),
        Issue(IssueCode.NORMALISED, Severity.WARNING, "x", unit="990101"),
    ])
    problems = {p["heading"]: p["text"] for p in build_context(c)["problems"]}
    assert list(problems) == ["（一）部分单位未按时报送", "（二）部分报表数据存在问题"]  # nothing behind schedule
    missing = problems["（一）部分单位未按时报送"]
    assert "尚有3个县（市、区）和1个成员单位未报送本期进展情况：东城市（乙区）、西城市（丁县、戊市）、示范省总工会。" in missing
    data = problems["（二）部分报表数据存在问题"]
    assert "数据问题4处（错误3处、警告1处），主要是不是数字2处等" in data      # kinds with 1处 are not named
    assert "逻辑校验不通过" not in data and "数字格式已规范" not in data
    assert "1个单位的报表因存在错误被退回修改，尚未重新报送：西城市丙县" in data


def test_behind_schedule_target_is_a_problem(small_config):
    c = small_consolidation(small_config, counties={k: {**v, "counters": 10} for k, v in COUNTIES.items()})
    behind = build_context(c)["problems"][0]
    assert behind["heading"] == "（一）部分工作进度滞后"
    assert "运营专柜完成目标任务的50.0%，低于时间进度25.0个百分点" in behind["text"]


def test_section_numbers_follow_the_sections_present(small_config, small):
    assert build_context(small)["numbering"] == {"overview": "一、", "activities": "二、", "cities": "三、",
                                                 "trend": "四、", "problems": "五、", "next_steps": "六、"}
    first = small_consolidation(small_config, period=1, history={})
    ctx = build_context(first)
    assert ctx["trend"] is None
    assert ctx["numbering"]["problems"] == "四、" and ctx["numbering"]["next_steps"] == "五、"
    assert "较上期" not in ctx["overview"]  # period 1 has no 环比


def test_nothing_wrong_gives_one_plain_problem_paragraph(small_config):
    many = {k: {**v, "counters": 60, "sales": 9000} for k, v in COUNTIES.items()}
    c = make_consolidation(small_config, 3, many, MEMBERS)
    assert [p["heading"] for p in build_context(c)["problems"]] == [""]


def test_context_strings_are_cleaned_of_control_characters(small_config):
    config = parse_config(SMALL_CONFIG.replace("name: 东城市", 'name: "东\\x01城\\n市"'), "x.yaml")
    cities = build_context(small_consolidation(config))["cities"]
    assert {r["name"] for r in cities["rows"]} == {"东城 市", "西城市"}


# ---- template contracts ------------------------------------------------------------------------

def _docx_with(tmp_path: Path, *texts: str) -> Path:
    doc = Document()
    for text in texts:
        doc.add_paragraph(text)
    path = tmp_path / "briefing.docx"
    doc.save(str(path))
    return path


def test_committed_templates_fit_the_context(small):
    check_templates(build_context(small), default_template_dir())


def test_generated_template_fits_the_context(small, tmp_path, repo_root):
    script = default_template_dir() / "build_briefing_template.py"
    subprocess.run([sys.executable, str(script), str(tmp_path / "briefing.docx")], check=True, capture_output=True)
    shutil.copy(default_template_dir() / "briefing.md.j2", tmp_path)
    check_templates(build_context(small), tmp_path)


def test_misspelt_docx_placeholder_raises_render_error(small, tmp_path):
    _docx_with(tmp_path, "{{ masthead.title }}", "{{ overveiw }}")
    shutil.copy(default_template_dir() / "briefing.md.j2", tmp_path)
    with pytest.raises(RenderError, match="占位符在数据中不存在：overveiw"):
        render_briefing(small, tmp_path / "out", template_dir=tmp_path)
    assert not (tmp_path / "out").exists()


def test_misspelt_markdown_placeholder_raises_render_error(small, tmp_path):
    shutil.copy(default_template_dir() / "briefing.docx", tmp_path)
    (tmp_path / "briefing.md.j2").write_text("# {{ masthead.title }}\n{{ titel }}\n{{ problms }}\n", encoding="utf-8")
    with pytest.raises(RenderError, match="problms、titel"):
        render_briefing(small, tmp_path / "out", template_dir=tmp_path)


def test_misspelt_attribute_raises_render_error(small, tmp_path):
    _docx_with(tmp_path, "{{ masthead.titel }}")
    (tmp_path / "briefing.md.j2").write_text("{{ title }}\n", encoding="utf-8")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "简报_第3期.md").write_text("上次的简报", encoding="utf-8")
    with pytest.raises(RenderError, match="titel"):
        render_briefing(small, tmp_path / "out", template_dir=tmp_path)
    # nothing half-made: no charts, no document, the previous briefing untouched
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["简报_第3期.md"]
    assert (tmp_path / "out" / "简报_第3期.md").read_text(encoding="utf-8-sig") == "上次的简报"


def test_template_syntax_error_raises_render_error(small, tmp_path):
    _docx_with(tmp_path, "{{ title ")
    (tmp_path / "briefing.md.j2").write_text("{{ title }}\n", encoding="utf-8")
    with pytest.raises(RenderError, match="语法错误"):
        check_templates(build_context(small), tmp_path)


def test_damaged_docx_template_raises_render_error(small, tmp_path):
    (tmp_path / "briefing.docx").write_bytes(b"PK\x03\x04 not really a zip")
    shutil.copy(default_template_dir() / "briefing.md.j2", tmp_path)
    with pytest.raises(RenderError, match="无法打开"):
        check_templates(build_context(small), tmp_path)


def test_context_keys_are_the_documented_names(small):
    assert tuple(build_context(small)) == CONTEXT_KEYS


def test_missing_template_raises_render_error(small, tmp_path):
    with pytest.raises(RenderError, match="找不到简报模板"):
        render_briefing(small, tmp_path / "out", template_dir=tmp_path)


# ---- the rendered files ------------------------------------------------------------------------

def test_render_writes_docx_markdown_and_charts_atomically(rendered):
    out = rendered.docx.parent
    assert [p.name for p in rendered.paths] == ["简报_第3期.docx", "简报_第3期.md", *CHART_FILES.values()]
    assert all(p.is_file() and p.stat().st_size > 0 for p in rendered.paths)
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in rendered.paths)  # no temp files left
    assert rendered.chart_font is not None


def test_docx_page_setup_is_gb_t_9704(rendered):
    section = Document(str(rendered.docx)).sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert [round(m.mm) for m in (section.top_margin, section.bottom_margin, section.left_margin,
                                  section.right_margin)] == [37, 35, 28, 26]
    assert round(Length(section.page_width - section.left_margin - section.right_margin).mm) == 156
    assert round(Length(section.page_height - section.top_margin - section.bottom_margin).mm) == 225


def test_docx_fonts_name_east_asian_faces(rendered):
    doc = Document(str(rendered.docx))
    normal = doc.styles["Normal"]
    fonts = normal.element.rPr.rFonts
    assert fonts.get(qn("w:eastAsia")) == "仿宋_GB2312"
    assert normal.font.size.pt == 16
    assert round(normal.paragraph_format.line_spacing.pt, 2) == 28.95
    assert normal.element.pPr.find(qn("w:ind")).get(qn("w:firstLineChars")) == "200"
    assert doc.styles["一级标题"].element.rPr.rFonts.get(qn("w:eastAsia")) == "黑体"
    assert doc.styles["二级标题"].element.rPr.rFonts.get(qn("w:eastAsia")) == "楷体_GB2312"
    title = next(p for p in doc.paragraphs if p.style.name == "简报标题")
    assert title.runs[0].element.rPr.rFonts.get(qn("w:eastAsia")) == "FZXiaoBiaoSong-B05S"
    assert title.runs[0].font.size.pt == 22
    body = next(p for p in doc.paragraphs if p.text.startswith("截至"))
    assert body.runs[0].element.rPr.rFonts.get(qn("w:eastAsia")) == "仿宋_GB2312"


def test_docx_declares_its_fonts_with_fallbacks(rendered):
    import zipfile

    from lxml import etree

    table = etree.fromstring(zipfile.ZipFile(rendered.docx).read("word/fontTable.xml"))
    fonts = {f.get(qn("w:name")): {etree.QName(c).localname: c.get(qn("w:val")) for c in f} for f in table}
    expected = {"仿宋_GB2312": "仿宋", "楷体_GB2312": "楷体", "黑体": "SimHei", "宋体": "SimSun",
                "FZXiaoBiaoSong-B05S": "方正小标宋简体"}
    assert {name: fonts[name]["altName"] for name in expected} == expected
    assert all(fonts[name]["charset"] == "86" and len(fonts[name]["panose1"]) == 20 for name in expected)
    assert fonts["FZXiaoBiaoSong-B05S"]["panose1"] == fonts["宋体"]["panose1"]   # missing, it falls back to a Song face
    assert not {"ＭＳ 明朝", "ＭＳ ゴシック"} & set(fonts)                         # python-docx's Japanese theme fonts


def test_docx_properties_are_the_briefings_own(rendered, small):
    core = Document(str(rendered.docx)).core_properties
    assert core.title == f"{small.config.campaign.briefing_title}第{small.period.number}期"
    assert core.subject == f"{small.config.campaign.name}进展情况"
    assert core.author == core.last_modified_by == small.config.campaign.office
    made = small.generated_at.astimezone(dt.timezone.utc)          # the consolidation's time, local -> UTC
    assert core.created == core.modified == made
    assert (core.comments, core.category, core.revision) == ("", "工作简报", 1)


def test_docx_masthead_is_red_with_a_red_rule(rendered):
    doc = Document(str(rendered.docx))
    masthead = doc.paragraphs[0]
    assert masthead.text == "消费帮扶周工作简报"
    assert str(masthead.runs[0].font.color.rgb) == "FF0000"
    assert masthead.runs[0].element.rPr.rFonts.get(qn("w:eastAsia")) == "FZXiaoBiaoSong-B05S"
    assert doc.paragraphs[1].text == "第3期"
    rule = doc.paragraphs[2]
    assert rule.text == "示范省消费帮扶周活动办公室编\t2021年5月16日"
    bottom = rule.style.element.pPr.find(qn("w:pBdr")).find(qn("w:bottom"))
    assert bottom.get(qn("w:color")) == "FF0000"


def test_docx_page_numbers_odd_right_even_left(rendered):
    doc = Document(str(rendered.docx))
    section = doc.sections[0]
    assert doc.settings.odd_and_even_pages_header_footer
    odd, even = section.footer.paragraphs[0], section.even_page_footer.paragraphs[0]
    for paragraph in (odd, even):
        assert "".join(t.text for t in paragraph._p.iter(qn("w:t"))) == "— 1 —"
        assert paragraph._p.find(qn("w:fldSimple")).get(qn("w:instr")).strip() == "PAGE"
        assert paragraph.runs[0].font.size.pt == 14
        assert paragraph.runs[0].element.rPr.rFonts.get(qn("w:eastAsia")) == "宋体"
    assert (odd.alignment, even.alignment) == (2, 0)  # RIGHT, LEFT


def test_docx_text_has_the_figures_table_and_charts(rendered, small):
    text = _docx_text(rendered.docx)
    ctx = build_context(small)
    assert ctx["overview"] in text
    for section in ctx["activities"]:
        assert section["heading"] in text and section["text"] in text
    assert "西城市|62|" in text and "全省合计|104|100.0%|" in text
    for step in ctx["next_steps"]:                      # 下一步工作 follows the data
        assert step["heading"] + step["text"] in text
    with zipfile.ZipFile(rendered.docx) as z:
        assert len([n for n in z.namelist() if n.startswith("word/media/")]) == 3


def test_markdown_has_the_same_content_and_a_table(rendered, small):
    raw = rendered.markdown.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\n" not in raw.replace(b"\r\n", b"")   # opens in Notepad
    md = rendered.markdown.read_text(encoding="utf-8-sig")
    ctx = build_context(small)
    assert md.startswith("# 消费帮扶周工作简报\n")
    assert ctx["overview"] in md
    rows = [line for line in md.splitlines() if line.startswith("|")]
    total = sum(v["counters"] for v in COUNTIES.values())
    assert rows[0] == "| 市 | 运营专柜数（个） | 占比 | 排名 |"
    assert rows[2] == f"| 西城市 | 62 | {fmt_percent(62 / total)} | 1 |"
    assert rows[-1] == f"| **全省合计** | **{total}** | **100.0%** |  |"
    assert "![图1　各项活动完成进度](图1\\_各项活动完成进度.png)" in md
    assert "### 六、下一步工作" in md


def test_markdown_escapes_data(small_config, tmp_path):
    hostile = SMALL_CONFIG.replace("name: 东城市", 'name: "东|城 <img src=x onerror=alert(1)> *市*\\n| 伪造 | 1 | 2 | 3 |"')
    config = parse_config(hostile, "x.yaml")
    result = render_briefing(small_consolidation(config), tmp_path, issue_date=ISSUE_DATE,
                             chart_fonts=())
    md = result.markdown.read_text(encoding="utf-8-sig")
    rows = [line for line in md.splitlines() if line.startswith("|")]
    assert len(rows) == 2 + 2 + 1  # header, alignment, two cities, total: no forged row
    assert all(len(re.findall(r"(?<!\\)\|", row)) == 5 for row in rows)  # every row has exactly 4 cells
    assert not re.search(r"(?<!\\)<", md) and "\\<img src=x onerror=alert(1)\\>" in md
    assert "\\*市\\*" in md


@pytest.mark.parametrize(("raw", "expected"), [
    ("a|b", "a\\|b"), ("<b>x</b>", "\\<b\\>x\\</b\\>"), ("*x*", "\\*x\\*"), ("_x_", "\\_x\\_"),
    ("line\nbreak", "line break"), ("# 标题", "\\# 标题"), ("- 项", "\\- 项"), ("1. 项", "1\\. 项"),
    ("15.8%", "15.8%"), ("[链接](http://x)", "\\[链接\\](http://x)"), ("&lt;", "\\&lt;"), (3, "3"),
])
def test_markdown_escape(raw, expected):
    assert markdown_escape(raw) == expected


def test_charts_render_without_missing_glyph_warnings(small, tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = render_briefing(small, tmp_path, issue_date=ISSUE_DATE)
    glyphs = [str(w.message) for w in caught if "Glyph" in str(w.message) or "missing from" in str(w.message)]
    assert glyphs == []
    assert len(result.charts) == 3


def test_without_a_cjk_font_charts_are_skipped_and_noted(small, tmp_path):
    result = render_briefing(small, tmp_path, issue_date=ISSUE_DATE, chart_fonts=("No Such Font 字体",))
    assert result.charts == [] and result.chart_font is None
    assert any("没有可用的中文字体" in note for note in result.notes)
    assert not list(tmp_path.glob("*.png"))
    with zipfile.ZipFile(result.docx) as z:
        assert not [n for n in z.namelist() if n.startswith("word/media/")]
    assert "![" not in result.markdown.read_text(encoding="utf-8-sig")


def test_rendering_twice_replaces_the_files(small, tmp_path):
    first = render_briefing(small, tmp_path, issue_date=ISSUE_DATE, chart_fonts=())
    second = render_briefing(small, tmp_path, issue_date=dt.date(2021, 5, 17), chart_fonts=())
    assert first.docx == second.docx
    assert "2021年5月17日" in _docx_text(second.docx)


def test_importing_report_does_not_import_heavy_libraries():
    code = ("import sys, xf_excel.outputs.briefing; "
            "print(sorted(m for m in ('matplotlib', 'docxtpl', 'docx', 'jinja2') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"


def test_realistic_campaign_renders(config, tmp_path):
    c = realistic_consolidation(config, 3)
    result = render_briefing(c, tmp_path, chart_fonts=())
    text = _docx_text(result.docx)
    region = c.region.values["counters_operating"]
    assert f"全区累计运营专柜{fmt_count(region, '个')}" in text
    assert f"{fmt_number(region)}" in text
    assert len(Document(str(result.docx)).tables[0].rows) == 1 + 14 + 1


@pytest.mark.slow
def test_docx_converts_to_pdf_with_libreoffice(rendered, soffice, tmp_path):
    profile = tmp_path / "lo-profile"
    subprocess.run([soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(rendered.docx)], check=True, capture_output=True, timeout=180)
    pdf = tmp_path / "简报_第3期.pdf"
    assert pdf.is_file()
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))
    assert pages >= 1


def test_a_killed_renders_scratch_folder_is_cleared_next_time(small, tmp_path):
    """A render killed half-way leaves only a hidden scratch folder; the next render clears
    it once it is old enough not to belong to a render still going on."""
    import os

    out = tmp_path / "out"
    stale, recent = out / ".briefing-stale", out / ".briefing-recent"
    for folder in (stale, recent):
        folder.mkdir(parents=True)
        (folder / "简报_第3期.docx").write_bytes(b"PK\x03\x04 half written")
    os.utime(stale, (0, 0))
    render_briefing(small, out, issue_date=ISSUE_DATE)
    assert not stale.exists() and recent.exists()
    assert zipfile.is_zipfile(out / "简报_第3期.docx")


# ---- sentences that must be true of the archive they come from --------------------------------------

def _archived(config, tmp_path, returns, *, now=dt.datetime(2021, 5, 18, 9, 0)):
    """Consolidate a period from a real archive. `returns`: (unit, period, values, accepted, received)."""
    from xf_excel.archive.store import Archive, NewSubmission
    from xf_excel.consolidate import consolidate

    with Archive(tmp_path / "xf.sqlite") as archive:
        for unit, period, values, accepted, at in returns:
            archive.record_submission(NewSubmission(unit, period, accepted=accepted, values=values, received_at=at,
                                                    file_name=f"{unit}_{period}.xlsx"))
        period = max(r[1] for r in returns)
        return consolidate(archive, config, period, now=now)


def _everyone(period, at, **changes):
    rows = [(code, period, {**values, **changes.get(code, {})}, True, at) for code, values in COUNTIES.items()]
    return rows + [("M1", period, {**MEMBERS["M1"], **changes.get("M1", {})}, True, at)]


def test_units_late_at_the_deadline_are_counted_and_named(small_config, tmp_path):
    """At the deadline 3 had not reported: 2 came in later (named), 1 is still missing."""
    on_time, late = "2021-05-16T09:00:00", "2021-05-16T15:00:00"
    returns = [r for r in _everyone(3, on_time) if r[0] not in ("990102", "990202", "990203")]
    returns += [("990102", 3, COUNTIES["990102"], True, late), ("990202", 3, COUNTIES["990202"], True, late)]
    problems = build_context(_archived(small_config, tmp_path, returns))["problems"]
    [missing] = [p["text"] for p in problems if p["heading"].endswith("部分单位未按时报送")]
    assert missing.startswith("截至报送截止时间（5月16日12时），尚有3个县（市、区）未报送本期进展情况，"
                              "其中2个县（市、区）在截止时间后补报：东城市（乙区）、西城市（丁县）；"
                              "截至目前仍未报送的有1个县（市、区）：西城市（戊市）。西城市戊市暂无数据，未计入汇总。")


def test_nothing_is_said_to_be_carried_where_nothing_could_be(small_config, tmp_path):
    """Period 1 has nothing earlier; a unit whose only earlier return was rejected has nothing either."""
    first = _archived(small_config, tmp_path, [r for r in _everyone(1, "2021-05-06T09:00:00") if r[0] != "990202"])
    text = " ".join(p["text"] for p in build_context(first)["problems"])
    assert "沿用" not in text and "西城市丁县暂无数据，未计入汇总" in text
    returns = _everyone(1, "2021-05-06T09:00:00")
    returns = [r if r[0] != "990203" else (r[0], 1, r[2], False, r[4]) for r in returns]     # 戊市 sent back
    returns += [r for r in _everyone(2, "2021-05-11T09:00:00") if r[0] not in ("990203", "990101")]
    c = _archived(small_config, tmp_path / "b", returns)
    text = " ".join(p["text"] for p in build_context(c)["problems"])
    assert "东城市甲县暂沿用第1期数据" in text and "西城市戊市暂无数据" in text


def test_a_figure_only_carried_is_not_updated_rather_than_unchanged(small_config, tmp_path):
    """总工会's period-3 return was sent back: its figures stand in, and the briefing says they are
    not this period's (not 与上期持平)."""
    returns = _everyone(2, "2021-05-11T09:00:00") + [r for r in _everyone(3, "2021-05-16T09:00:00") if r[0] != "M1"]
    returns.append(("M1", 3, {"members": 99_999}, False, "2021-05-16T09:00:00"))
    c = _archived(small_config, tmp_path, returns)
    union = build_context(c)["activities"][1]["text"]
    assert "与上期持平" not in union
    assert "消费券发放30,000人，本期未更新（沿用此前报送的数据）" in union
    assert "运营专柜" in build_context(c)["overview"] and "本期未更新" not in build_context(c)["overview"]


def test_tied_cities_share_a_rank_and_say_so(small_config, tmp_path):
    even = {"990101": {"counters": 20}, "990102": {"counters": 10}, "990201": {"counters": 10},
            "990202": {"counters": 10}, "990203": {"counters": 10}}
    c = _archived(small_config, tmp_path, [(code, 3, v, True, "2021-05-16T09:00:00") for code, v in even.items()])
    assert sorted(r.rank for r in c.city_ranking) == [1, 1]
    east, west = 30, 30
    cities = build_context(c)["cities"]
    assert [r["rank"] for r in cities["rows"]] == ["1", "1"]
    assert cities["sentence"] == f"从运营专柜数看，各市由高到低依次为东城市（{east}个，并列第一）、西城市（{west}个，并列第一）。"


def test_cities_ranked_by_their_targets_show_target_and_completion(small_config, tmp_path):
    config = parse_config(SMALL_CONFIG.replace("ranking_indicator: counters",
                                               'ranking_indicator: counters\ncity_targets: {counters: {"990100": 50, "990200": 40}}'))
    c = _archived(config, tmp_path, _everyone(3, "2021-05-16T09:00:00"))
    cities = build_context(c)["cities"]
    assert cities["by_target"] and cities["columns"] == ["市", "市目标（个）", "运营专柜数（个）", "完成率", "排名"]
    west, east = 62, 42
    assert cities["rows"] == [
        {"name": "西城市", "target": "40", "value": str(west), "completion": fmt_percent(west / 40), "rank": "1"},
        {"name": "东城市", "target": "50", "value": str(east), "completion": fmt_percent(east / 50), "rank": "2"}]
    assert cities["total"]["target"] == "90"
    assert "完成目标任务的155.0%" in cities["sentence"]


def test_trend_series_keeps_one_unit(config):
    """Each series is worded in one unit (never 8,485.74万元、2.93亿元), money with two decimals."""
    text = build_context(realistic_consolidation(config, 3))["trend"]["text"]
    series = [clause.split("分别为")[1] for clause in text.rstrip("。").split("；")]
    money = [s for s in series if "元" in s]
    assert money and all(len({re.sub(r"[\d.,]", "", v) for v in s.split("、")}) == 1 for s in money)
    assert all(re.fullmatch(r"[\d,]+\.\d\d(万元|亿元)", v) for s in money for v in s.split("、"))


def test_the_last_period_reads_as_the_campaigns_result(small_config, tmp_path):
    last = parse_config(SMALL_CONFIG.replace('- {number: 3, cutoff: 2021-05-15, deadline: "2021-05-16 12:00"}',
                                             '- {number: 3, cutoff: 2021-05-20, deadline: "2021-05-21 12:00", final: true}'))
    slow = {code: {**values, "counters": 10} for code, values in COUNTIES.items()}
    c = _archived(last, tmp_path, [(code, 3, v, True, "2021-05-21T09:00:00") for code, v in slow.items()]
                  + [("M1", 3, MEMBERS["M1"], True, "2021-05-21T09:00:00")], now=dt.datetime(2021, 5, 22))
    ctx = build_context(c)
    assert ctx["title"] == "2021年示范省消费帮扶周活动开展情况"
    assert ctx["headings"]["overview"] == "总体情况"
    assert ctx["overview"].startswith("活动期间（5月1日至5月20日），全省累计运营专柜50个，完成目标任务的50.0%")
    assert "时间进度" not in ctx["overview"] and "较上期" not in ctx["overview"]
    problems = {p["heading"]: p["text"] for p in ctx["problems"]}
    assert "运营专柜完成目标任务的50.0%，距目标任务还差50个" in problems["（一）部分目标任务未完成"]
    steps = " ".join(s["heading"] + s["text"] for s in ctx["next_steps"])
    assert "倒排工期" not in steps and "活动总结" in steps and "对运营专柜、产品上架率等未完成目标任务的工作" in steps


def test_next_steps_follow_the_data(small_config, tmp_path):
    ahead = {code: {**values, "counters": 60, "sales": 9000} for code, values in COUNTIES.items()}
    c = _archived(small_config, tmp_path, [(code, 3, v, True, "2021-05-16T09:00:00") for code, v in ahead.items()]
                  + [("M1", 3, MEMBERS["M1"], True, "2021-05-16T09:00:00")])
    steps = [s["heading"] for s in build_context(c)["next_steps"]]
    assert steps == ["（一）保持工作力度。", "（二）继续做好进展情况报送。", "（三）加强宣传引导。"]
    behind = small_consolidation(small_config, counties={k: {**v, "counters": 10} for k, v in COUNTIES.items()})
    first = build_context(behind)["next_steps"][0]
    assert first["heading"] == "（一）加快推进进度滞后的工作。" and first["text"].startswith("运营专柜等工作进度低于时间进度")


def test_the_imprint_lines_office_date_and_copies(rendered, small_config):
    ctx = build_context(small_consolidation(small_config), issue_date=ISSUE_DATE)
    assert ctx["tail"] == {"lines": [], "office": "示范省消费帮扶周活动办公室", "date": "2021年5月16日印发", "copies": ""}
    configured = parse_config(SMALL_CONFIG.replace("  template_version: \"2021.1\"", '  template_version: "2021.1"\n'
                                                   "  distribution: {report_to: [省领导], send_to: [各成员单位, 省直有关单位], "
                                                   "issue_to: [各市], copies: 40}"))
    tail = build_context(small_consolidation(configured), issue_date=ISSUE_DATE)["tail"]
    assert tail["lines"] == [{"label": "报", "text": "省领导。"}, {"label": "送", "text": "各成员单位，省直有关单位。"},
                             {"label": "发", "text": "各市。"}]
    assert tail["copies"] == "（共印40份）"


def test_the_imprint_sits_between_rules_at_the_end(small_config, tmp_path):
    configured = parse_config(SMALL_CONFIG.replace("  template_version: \"2021.1\"", '  template_version: "2021.1"\n'
                                                   "  distribution: {report_to: [省领导], send_to: [各成员单位], copies: 40}"))
    result = render_briefing(small_consolidation(configured), tmp_path, issue_date=ISSUE_DATE, chart_fonts=())
    doc = Document(str(result.docx))
    table = doc.tables[-1]
    assert [row.cells[0].text for row in table.rows] == ["报：省领导。", "送：各成员单位。",
                                                        "示范省消费帮扶周活动办公室\t2021年5月16日印发", "（共印40份）"]
    assert table._tbl.getnext() is doc.paragraphs[-1]._p            # nothing of the text follows it
    borders = table._tbl.tblPr.find(qn("w:tblBorders"))
    sizes = {edge: borders.find(qn(f"w:{edge}")).get(qn("w:sz")) for edge in ("top", "bottom", "insideH")}
    assert sizes == {"top": "8", "bottom": "8", "insideH": "6"}       # 0.35 mm, 0.35 mm, 0.25 mm
    md = result.markdown.read_text(encoding="utf-8-sig")
    assert "报：省领导。" in md and "示范省消费帮扶周活动办公室　　2021年5月16日印发　（共印40份）" in md
