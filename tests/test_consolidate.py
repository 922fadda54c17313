"""Consolidation: totals, recomputed ratios, sources, carry-forward, progress, ranking, reporting.

Most tests use a small campaign written here (two cities, four counties, two member units),
so every expected figure can be worked out by hand below, independently of the code."""

from __future__ import annotations

import datetime as dt
import math
import random
from statistics import mean

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xf_excel.config import parse_config
from xf_excel.checks.entries import ManualEntry
from xf_excel.checks.read import CellValue
from xf_excel.consolidate import consolidate, record_manual_entries
from xf_excel.outputs.status import status_text
from xf_excel.issues import Issue, IssueCode, Severity
from xf_excel.archive.store import Archive, NewSubmission

MINI_YAML = """
campaign:
  name: 测试活动
  start: 2020-09-01
  end: 2020-09-30
  region: {code: "450000", name: 广西壮族自治区, short_name: 全区}
  office: 测试活动组委会办公室
  office_short: 组委会办公室
  briefing_title: 测试简报
  form_title: 测试进展情况报表
  template_version: "t1"
  missing_returns: MISSING
  contact: 张三 0771-1234567
periods:
  - {number: 1, cutoff: 2020-09-04, deadline: "2020-09-07 12:00"}
  - {number: 2, cutoff: 2020-09-11, deadline: "2020-09-14 12:00"}
  - {number: 3, cutoff: 2020-09-18, deadline: "2020-09-21 12:00"}
county_groups:
  poor: {name: 贫困县}
member_units:
  - {code: BM01, name: 自治区总工会, short_name: 总工会}
  - {code: BM02, name: 自治区商务厅, short_name: 商务厅}
  - {code: BM03, name: 自治区发展改革委, short_name: 发展改革委}
activities:
  - {id: a1, number: 1, name: 专柜活动, short_name: 专柜}
  - {id: a2, number: 2, name: 工会活动, short_name: 工会}
indicators:
  - {id: built, name: 建成专柜数, unit: 个, kind: count, activity: a1, reported_by: {counties: all}}
  - {id: operating, name: 运营专柜数, unit: 个, kind: count, activity: a1, reported_by: {counties: all}}
  - {id: sales, name: 专区销售额, unit: 万元, kind: money, activity: a1, reported_by: {counties: all, units: [BM02]}, counted_from: counties}
  - {id: certified, name: 已认定产品数, unit: 个, kind: count, activity: a1, reported_by: {counties: poor}}
  - {id: listed, name: 已入驻产品数, unit: 个, kind: count, activity: a1, reported_by: {counties: poor}}
  - {id: rate, name: 入驻率, unit: "%", kind: ratio, activity: a1, compute: listed / certified}
  - {id: met, name: 入驻率达标县数, unit: 个, kind: count, activity: a1, count_meeting: {indicator: rate, op: ">=", value: 0.7}}
  - {id: union, name: 工会采购金额, unit: 万元, kind: money, activity: a2, reported_by: {counties: all, units: [BM01]}, counted_from: [BM01]}
  - {id: members, name: 发放人数, unit: 人, kind: count, activity: a2, reported_by: {units: [BM01]}}
  - {id: amount, name: 发放金额, unit: 万元, kind: money, activity: a2, reported_by: {units: [BM01]}}
  - {id: per_member, name: 人均金额, unit: 元, kind: number, activity: a2, compute: amount * 10000 / members}
rules:
  - {id: operating-le-built, check: operating <= built, severity: 错误}
targets:
  - {indicator: operating, op: ">=", value: 100, scope: region}
  - {indicator: rate, op: ">=", value: 0.7, scope: poor}
  - {indicator: union, op: ">=", value: 1000, scope: region}
  - {indicator: per_member, op: "<=", value: 300, scope: region}
city_targets: CITY_TARGETS
ranking_indicator: operating
cities:
  - {code: "450100", name: 南宁市}
  - {code: "450200", name: 柳州市}
counties:
  - {code: "450102", name: 兴宁区, type: 市辖区, city: "450100"}
  - {code: "450123", name: 隆安县, type: 县, city: "450100", groups: [poor]}
  - {code: "450224", name: 融安县, type: 县, city: "450200", groups: [poor]}
  - {code: "450225", name: 融水县, type: 县, city: "450200", groups: [poor]}
"""

A, B, D, E = "450102", "450123", "450224", "450225"
NOW = dt.datetime(2020, 9, 15, 9, 0)


def mini_config(missing: str = "carry", city_targets: str = "{}"):
    return parse_config(MINI_YAML.replace("MISSING", missing).replace("CITY_TARGETS", city_targets))


@pytest.fixture
def archive(tmp_path):
    with Archive(tmp_path / "xf.sqlite") as arc:
        yield arc


def submit(archive, unit, period, values, *, accepted=True, at=None, issues=(), source="file", file_name=""):
    return archive.record_submission(NewSubmission(
        unit_code=unit, period=period, accepted=accepted, values=values, issues=list(issues), source=source,
        received_at=at or f"2020-09-{7 * period - 1:02d}T10:00:00", file_name=file_name))


def full_period_2(archive):
    """Every unit reports period 2 (figures chosen so that averages and sums disagree)."""
    submit(archive, A, 2, {"built": 12, "operating": 10, "sales": 100.25, "union": 7})
    submit(archive, B, 2, {"built": 6, "operating": 5, "sales": 0.5, "certified": 10, "listed": 9, "union": 3})
    submit(archive, D, 2, {"built": 20, "operating": 15, "sales": 20.1, "certified": 100, "listed": 50})
    submit(archive, E, 2, {"built": 11, "operating": 10, "sales": 30, "certified": 10, "listed": 10, "union": 5})
    submit(archive, "BM01", 2, {"union": 400, "members": 1200, "amount": 30})
    submit(archive, "BM02", 2, {"sales": 999})


# ---- totals and sources -----------------------------------------------------------------------

def test_city_and_region_totals_are_sums_of_counties(archive):
    full_period_2(archive)
    c = consolidate(archive, mini_config(), 2, now=NOW)
    nanning, liuzhou = c.cities
    assert (nanning.name, liuzhou.name) == ("南宁市", "柳州市")
    assert nanning.values["operating"] == 15 and liuzhou.values["operating"] == 25
    assert c.region.values["operating"] == 40
    assert nanning.values["sales"] == math.fsum([100.25, 0.5])
    assert nanning.values["certified"] == 10          # only 隆安县 reports it
    assert nanning.units_total == 2 and nanning.units_reported == 2


def test_region_counts_each_figure_from_one_source_only(archive):
    full_period_2(archive)
    c = consolidate(archive, mini_config(), 2, now=NOW)
    # sales: counties are the counted source; the 商务厅 figure (999) is shown, not added
    assert c.region.values["sales"] == math.fsum([100.25, 0.5, 20.1, 30])
    assert [m.values["sales"] for m in c.members if m.unit.code == "BM02"] == [999]
    # union: the 总工会 is the counted source; county union figures (7+3+5) are not added
    assert c.region.values["union"] == 400
    assert c.cities[0].values["union"] == 10          # cities always sum their counties


def test_ratio_is_recomputed_from_summed_parts_not_averaged(archive):
    full_period_2(archive)
    c = consolidate(archive, mini_config(), 2, now=NOW)
    expected = (9 + 50 + 10) / (10 + 100 + 10)          # 0.575
    averaged = mean([9 / 10, 50 / 100, 10 / 10])          # 0.8: the wrong answer
    rate = next(p for p in c.progress if p.target.indicator == "rate")
    assert rate.value == pytest.approx(expected) and abs(rate.value - averaged) > 0.2
    assert c.region.values["rate"] == pytest.approx(expected)
    assert c.cities[1].values["rate"] == pytest.approx(60 / 110)
    unit_rates = {r.unit.code: r.values.get("rate") for r in c.counties}
    assert unit_rates == {A: None, B: pytest.approx(0.9), D: pytest.approx(0.5), E: pytest.approx(1.0)}


def test_derived_member_figure_and_cap(archive):
    full_period_2(archive)
    c = consolidate(archive, mini_config(), 2, now=NOW)
    cap = next(p for p in c.progress if p.target.indicator == "per_member")
    assert cap.value == pytest.approx(30 * 10000 / 1200)   # 250 元
    assert (cap.status, cap.completion) == ("within-cap", None)


def test_count_meeting_counts_counties_at_each_level(archive):
    full_period_2(archive)
    c = consolidate(archive, mini_config(), 2, now=NOW)
    # 隆安 0.9 and 融水 1.0 meet 70%; 融安 0.5 does not; 兴宁 has no figure
    assert c.region.values["met"] == 2
    assert c.cities[0].values["met"] == 1 and c.cities[1].values["met"] == 1


def test_value_is_none_when_no_unit_has_it(archive):
    submit(archive, A, 2, {"built": 3, "operating": 2})
    c = consolidate(archive, mini_config(), 2, now=NOW)
    assert c.cities[1].values["operating"] is None
    assert c.region.values["certified"] is None and c.region.values["rate"] is None


# ---- carry forward ------------------------------------------------------------------------------

def test_missing_unit_carries_its_latest_accepted_figures(archive):
    submit(archive, A, 1, {"built": 4, "operating": 3})
    submit(archive, A, 2, {"built": 99, "operating": 99}, accepted=False)   # rejected: never displaces
    submit(archive, B, 2, {"built": 6, "operating": 5})
    c = consolidate(archive, mini_config("carry"), 2, now=NOW)
    row = c.counties[0]
    assert (row.state, row.carried_from, row.values["operating"]) == ("carried", 1, 3)
    assert c.cities[0].values["operating"] == 8 and c.cities[0].units_reported == 1
    # carried again a period later, still from period 1
    c3 = consolidate(archive, mini_config("carry"), 3, now=NOW)
    assert (c3.counties[0].state, c3.counties[0].carried_from) == ("carried", 1)


def test_missing_unit_left_empty_when_configured(archive):
    submit(archive, A, 1, {"built": 4, "operating": 3})
    submit(archive, B, 2, {"built": 6, "operating": 5})
    c = consolidate(archive, mini_config("none"), 2, now=NOW)
    row = c.counties[0]
    assert (row.state, row.carried_from, row.values["operating"]) == ("missing", None, None)
    assert c.cities[0].values["operating"] == 5


def test_previous_period_and_history(archive):
    submit(archive, A, 1, {"built": 4, "operating": 3})
    full_period_2(archive)
    c = consolidate(archive, mini_config(), 2, now=NOW)
    assert c.previous_period.number == 1
    assert c.counties[0].previous["operating"] == 3
    assert c.region.previous["operating"] == 3
    operating = next(p for p in c.progress if p.target.indicator == "operating")
    assert (operating.previous, operating.increase) == (3, 37)
    assert sorted(c.history) == [1, 2]
    assert c.history[1]["operating"] == 3 and c.history[2]["operating"] == 40


# ---- progress ------------------------------------------------------------------------------------

def test_time_schedule_is_days_elapsed_over_campaign_days(archive):
    c = consolidate(archive, mini_config(), 3, now=NOW)
    assert c.time_schedule == pytest.approx(18 / 30) == pytest.approx(0.6)


@pytest.mark.parametrize("operating, status", [(40, "ahead"), (30, "behind"), (100, "met"), (None, "no-data")])
def test_completion_and_status_against_time_schedule(archive, operating, status):
    # period 2: time schedule 11/30 = 0.367; 40/100 is ahead of it, 30/100 behind
    if operating is not None:
        submit(archive, A, 2, {"built": operating, "operating": operating})
    p = next(p for p in consolidate(archive, mini_config(), 2, now=NOW).progress if p.target.indicator == "operating")
    assert p.status == status
    assert p.time_schedule == pytest.approx(11 / 30)
    assert p.completion == (None if operating is None else pytest.approx(operating / 100))


def test_cap_exceeded(archive):
    submit(archive, "BM01", 2, {"union": 1, "members": 1000, "amount": 50})
    cap = next(p for p in consolidate(archive, mini_config(), 2, now=NOW).progress if p.target.indicator == "per_member")
    assert cap.value == pytest.approx(500) and cap.status == "over-cap"


# ---- ranking -----------------------------------------------------------------------------------------

def test_tied_cities_share_a_rank(archive):
    """Equal figures are equal ranks (never 1 and 2 in config order); the next rank skips (1, 1, 3)."""
    submit(archive, A, 2, {"built": 10, "operating": 10})
    submit(archive, D, 2, {"built": 10, "operating": 10})
    ranking = consolidate(archive, mini_config(), 2, now=NOW).city_ranking
    assert [(c.name, c.rank, c.share) for c in ranking] == [("南宁市", 1, 0.5), ("柳州市", 1, 0.5)]
    assert all(c.target is None and c.completion is None and not c.behind for c in ranking)


def test_cities_equal_as_printed_tie_and_a_city_without_figures_comes_last(archive):
    config = mini_config(missing="none", city_targets='{operating: {"450100": 30, "450200": 60}}')
    submit(archive, A, 2, {"built": 10, "operating": 10})      # 33.3% of 30
    submit(archive, D, 2, {"built": 20, "operating": 20.0004})  # 33.3% of 60 as printed
    ranking = consolidate(archive, config, 2, now=NOW).city_ranking
    assert [c.rank for c in ranking] == [1, 1]
    submit(archive, A, 3, {"built": 10, "operating": 10})
    assert [c.rank for c in consolidate(archive, config, 3, now=NOW).city_ranking] == [1, 2]


def test_ranking_by_completion_of_city_targets(archive):
    config = mini_config(city_targets='{operating: {"450100": 100, "450200": 20}}')
    submit(archive, A, 2, {"built": 30, "operating": 30})     # 30% of 100: behind 36.7%
    submit(archive, D, 2, {"built": 10, "operating": 10})     # 50% of 20: ahead
    c = consolidate(archive, config, 2, now=NOW)
    by_name = {x.name: x for x in c.city_ranking}
    assert (by_name["柳州市"].rank, by_name["南宁市"].rank) == (1, 2)   # larger value, smaller completion
    assert by_name["南宁市"].completion == pytest.approx(0.3) and by_name["南宁市"].behind
    assert by_name["柳州市"].completion == pytest.approx(0.5) and not by_name["柳州市"].behind
    assert [x.name for x in c.behind_cities] == ["南宁市"]
    assert by_name["南宁市"].share == pytest.approx(30 / 40)


# ---- reporting status ------------------------------------------------------------------------------

def _error(unit):
    return Issue(IssueCode.RULE_FAILED, Severity.ERROR, "填报!E12 运营专柜数大于建成专柜数", file="x.xlsx",
                 sheet="填报", row=12, column=5, indicator="operating", unit=unit)


def _warning(unit):
    return Issue(IssueCode.IMPLAUSIBLE_JUMP, Severity.WARNING, "填报!E13 增幅过大", file="y.xlsx",
                 sheet="填报", row=13, column=5, indicator="built", unit=unit)


def test_reporting_states_counts_and_late_flag(archive):
    submit(archive, A, 2, {"built": 1, "operating": 1}, at="2020-09-14T11:59:00")
    submit(archive, B, 2, {"built": 1, "operating": 1}, at="2020-09-14T12:30:00", issues=[_warning(B)])
    submit(archive, D, 2, {"built": 1, "operating": 5}, accepted=False, at="2020-09-13T09:00:00",
           issues=[_error(D)], file_name="第2期_柳州市_融安县.xlsx")
    status = {r.unit.code: r for r in consolidate(archive, mini_config(), 2, now=NOW).reporting}
    assert [u for u in status] == [A, B, D, E, "BM01", "BM02"]        # BM03 reports nothing
    assert (status[A].state, status[A].late, status[A].reminder) == ("accepted", False, "")
    assert (status[B].state, status[B].late, status[B].warnings, status[B].errors) == ("warned", True, 1, 0)
    assert (status[D].state, status[D].errors, status[D].submissions) == ("rejected", 1, 1)
    assert (status[E].state, status[E].received_at, status[E].late) == ("missing", None, False)


def test_status_text_counts_states_and_lists_reminders(archive):
    submit(archive, A, 2, {"built": 1, "operating": 1}, at="2020-09-14T11:59:00")
    submit(archive, B, 2, {"built": 1, "operating": 1}, at="2020-09-14T12:30:00", issues=[_warning(B)])
    submit(archive, D, 2, {"built": 1, "operating": 5}, accepted=False, issues=[_error(D)])
    c = consolidate(archive, mini_config(), 2, now=NOW)
    lines = status_text(c).splitlines()
    assert lines[:6] == ["第2期（截至9月11日）报送情况：", "  已接收：1 个", "  已接收（有警告）：1 个",
                         "  已退回待重报：1 个", "  未报送：3 个", f"  逾期报送：1 个（{c.config.unit(B).full_name}）"]
    reminders = [line for line in lines if line.startswith("【")]
    assert reminders == [f"【{c.config.unit(code).full_name}】{state}" for code, state in (
        (D, "已退回待重报"), (E, "未报送"), ("BM01", "未报送"), ("BM02", "未报送"))]


def test_resubmission_after_rejection_is_accepted(archive):
    submit(archive, D, 2, {"built": 1, "operating": 5}, accepted=False, issues=[_error(D)])
    submit(archive, D, 2, {"built": 5, "operating": 5}, at="2020-09-13T16:00:00")
    status = next(r for r in consolidate(archive, mini_config(), 2, now=NOW).reporting if r.unit.code == D)
    assert (status.state, status.submissions, status.errors, status.received_at) == ("accepted", 2, 0, "2020-09-13T16:00:00")


def test_reminder_text_for_missing_unit(archive):
    status = next(r for r in consolidate(archive, mini_config(), 2, now=NOW).reporting if r.unit.code == E)
    text = status.reminder
    for part in ("催报", "柳州市融水县", "第2期", "截至9月11日", "9月14日12时", "组委会办公室", "张三 0771-1234567",
                 "已过"):
        assert part in text, part
    early = next(r for r in consolidate(archive, mini_config(), 2, now=dt.datetime(2020, 9, 12, 8)).reporting
                 if r.unit.code == E)
    assert "请于9月14日12时前报送" in early.reminder


def test_reminder_text_for_rejected_return(archive):
    submit(archive, D, 2, {"built": 1, "operating": 5}, accepted=False, issues=[_error(D)],
           file_name="第2期_柳州市_融安县.xlsx")
    text = next(r for r in consolidate(archive, mini_config(), 2, now=NOW).reporting if r.unit.code == D).reminder
    for part in ("退回", "柳州市融安县", "第2期_柳州市_融安县.xlsx", "1处错误", "反馈表", "修改", "张三"):
        assert part in text, part


def test_unreadable_file_counts_against_a_missing_unit(archive):
    digest, _ = archive.add_file(b"not a workbook", "第2期_柳州市_融水县.xlsx")
    archive.record_file_issues(digest, [Issue(IssueCode.UNREADABLE_FILE, Severity.ERROR, "文件无法打开",
                                              file="第2期_柳州市_融水县.xlsx", unit=E)], period=2, unit_code=E)
    status = next(r for r in consolidate(archive, mini_config(), 2, now=NOW).reporting if r.unit.code == E)
    assert (status.state, status.submissions, status.errors) == ("missing", 0, 1)
    assert status.reminder.startswith("【催报】")


def test_issues_of_the_period_only(archive):
    submit(archive, D, 1, {}, accepted=False, issues=[_error(D)])
    submit(archive, D, 2, {}, accepted=False, issues=[_error(D), _warning(D)])
    c = consolidate(archive, mini_config(), 2, now=NOW)
    assert [i.code for i in c.issues] == [IssueCode.RULE_FAILED, IssueCode.IMPLAUSIBLE_JUMP]


# ---- manual entries ----------------------------------------------------------------------------------

def typed_row(code: str, values: dict, row: int = 5) -> ManualEntry:
    """A checked row of the 南宁市 sheet: each figure in its own column from E on."""
    typed = {k: CellValue(v, "南宁市", row, 5 + i) for i, (k, v) in enumerate(values.items())}
    return ManualEntry(code, typed, sheet="南宁市", row=row, values=dict(values))


def test_manual_entries_record_only_changed_rows(archive):
    full_period_2(archive)
    config = mini_config()
    c = consolidate(archive, config, 2, now=NOW)
    unchanged = typed_row(A, {"built": 12, "operating": 10, "sales": 100.25, "union": 7})
    changed = typed_row(B, {"built": 6, "operating": 6, "sales": 0.5, "certified": 10, "listed": 9, "union": 3}, row=6)
    blank = typed_row(E, {"built": None, "operating": None}, row=7)
    ids = record_manual_entries(archive, [unchanged, changed, blank], 2, consolidation=c,
                                now=dt.datetime(2020, 9, 16, 10))
    assert len(ids) == 1
    sub = archive.submission(ids[0])
    assert (sub.unit_code, sub.source, sub.status) == (B, "manual", "accepted")
    assert "南宁市!F6" in sub.note and "南宁市!E6" not in sub.note     # only the changed figure
    after = consolidate(archive, config, 2, now=NOW)
    assert after.cities[0].values["operating"] == 16
    status = next(r for r in after.reporting if r.unit.code == B)
    assert (status.state, status.late) == ("accepted", False)      # the office's typing is not a late return


def test_manual_entry_for_carried_unit_is_recorded_only_when_changed(archive):
    submit(archive, A, 1, {"built": 4, "operating": 3})
    config = mini_config()
    same = typed_row(A, {"built": 4, "operating": 3})
    assert record_manual_entries(archive, [same], 2) == []
    typed = typed_row(A, {"built": 4, "operating": 4})
    assert len(record_manual_entries(archive, [typed], 2)) == 1
    row = consolidate(archive, config, 2, now=NOW).counties[0]
    assert (row.state, row.values["operating"], row.values["built"]) == ("reported", 4, 4)


# ---- property: totals are exact sums -----------------------------------------------------------------

@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), blank=st.floats(0, 0.6), magnitude=st.sampled_from([1, 1e3, 1e7, 1e12]))
def test_totals_equal_fsum_of_counties(config, seed, blank, magnitude):
    rng = random.Random(seed)
    county_base = [i for i in config.indicators if not i.derived and i.numeric and i.reported_by.counties != "none"]
    figures: dict[str, dict[str, float]] = {}
    with Archive(":memory:") as archive:
        for unit in (u for u in config.reporting_units() if u.kind == "county"):
            reported = {i.id for i in config.indicators_for(unit)}
            values = {i.id: round(rng.uniform(0, magnitude), 2) for i in county_base
                      if i.id in reported and rng.random() >= blank}
            figures[unit.code] = values
            archive.record_submission(NewSubmission(unit.code, 2, accepted=True, values=values))
        c = consolidate(archive, config, 2, now=NOW)

    def fsum_of(codes, ind):
        found = [figures[code][ind] for code in codes if ind in figures[code]]
        return math.fsum(found) if found else None

    all_counties = [u.code for u in config.units.values() if u.kind == "county"]
    for ind in county_base:
        if ind.source == "counties":
            assert c.region.values[ind.id] == fsum_of(all_counties, ind.id), ind.id
        for city in c.cities:
            codes = [u.code for u in config.counties_of(city.code)]
            assert city.values[ind.id] == fsum_of(codes, ind.id), (city.name, ind.id)


def test_issues_of_replaced_returns_are_history_not_current(archive):
    """A rejected return corrected later, and a warned return replaced, leave the current list."""
    submit(archive, D, 2, {}, accepted=False, issues=[_error(D)], at="2020-09-13T09:00:00")
    submit(archive, D, 2, {"built": 5, "operating": 5}, at="2020-09-13T16:00:00")
    submit(archive, A, 2, {"built": 1, "operating": 1}, issues=[_warning(A)], at="2020-09-13T09:00:00")
    submit(archive, A, 2, {"built": 2, "operating": 1}, at="2020-09-13T10:00:00")
    submit(archive, B, 2, {}, accepted=False, issues=[_error(B)], at="2020-09-13T09:00:00")
    submit(archive, B, 2, {}, accepted=False, issues=[_error(B), _warning(B)], at="2020-09-13T11:00:00")
    c = consolidate(archive, mini_config(), 2, now=NOW)
    assert [(i.unit, i.code) for i in c.issues] == [(B, IssueCode.RULE_FAILED), (B, IssueCode.IMPLAUSIBLE_JUMP)]
    assert sorted((i.unit, i.code.value) for i in c.issue_history) == [
        (A, "implausible-jump"), (B, "rule-failed"), (D, "rule-failed")]
