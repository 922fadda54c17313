"""The campaign configuration: the real config.yaml, and broken ones with their messages."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import yaml

from xf_excel.config import load_config, parse_config
from xf_excel.errors import ConfigError


def test_real_config_describes_the_2020_campaign(config):
    assert config.campaign.start == dt.date(2020, 9, 1) and config.campaign.end == dt.date(2020, 9, 30)
    assert len(config.cities) == 14
    assert len([u for u in config.units.values() if u.kind == "county"]) == 111
    assert len(config.member_units) == 16
    assert len(config.group_members("national_poverty")) == 33
    assert len(config.group_members("unexited_2020")) == 8
    assert config.county_groups["over_5000_poor"].members == []
    targets = {(t.indicator, t.op): t.value for t in config.targets}
    assert targets[("counters_operating", ">=")] == 1000
    assert targets[("halls_operating", ">=")] == 100
    assert targets[("zones_total", ">=")] == 60
    assert targets[("product_listing_rate", ">=")] == 0.70
    assert targets[("procurement_832", ">=")] == 5000
    assert targets[("union_purchases", ">=")] == 60000
    assert targets[("voucher_per_member", "<=")] == 300
    assert targets[("fair_poverty_share", ">=")] == 0.30
    assert targets[("sport_vouchers", ">=")] == 30000


def test_every_activity_of_the_plan_has_indicators(config):
    assert [a.number for a in config.activities] == list(range(1, 10))
    for activity in config.activities:
        assert any(i.activity == activity.id for i in config.indicators), activity.name


def test_who_reports_what(config):
    ordinary = [i.id for i in config.indicators_for("450102")]      # 兴宁区, not a poverty county
    poverty = [i.id for i in config.indicators_for("450123")]       # 隆安县, national poverty county
    assert "products_listed" not in ordinary and "products_listed" in poverty
    assert [i.id for i in config.indicators_for("BM05")] == ["union_purchases", "voucher_members", "voucher_amount"]
    assert not any(i.derived for i in config.indicators_for("BM16"))
    assert [d.name for d in config.details_for("450102")] == ["专柜明细"]
    assert config.details_for("BM05") == []


def test_counted_source_avoids_double_counting(config):
    assert config.indicator("union_purchases").source == ["BM05"]
    assert config.indicator("counters_operating").source == "counties"
    assert config.indicator("sport_stars").source == ["BM14"]


def test_time_schedule_is_days_elapsed_over_campaign_days(config):
    assert config.campaign.time_schedule(dt.date(2020, 9, 18)) == pytest.approx(18 / 30)
    assert config.campaign.time_schedule(dt.date(2020, 9, 30)) == 1.0
    assert config.campaign.time_schedule(dt.date(2020, 10, 5)) == 1.0


def test_rules_for_a_unit_only_use_what_it_reports(config):
    assert [r.id for r in config.rules_for("450102")] == ["operating-le-built"]
    assert [r.id for r in config.rules_for("450123")] == [
        "operating-le-built", "listed-le-certified", "suppliers-listed-le-certified"]
    assert [r.id for r in config.rules_for("BM05")] == ["voucher-per-member-cap"]


# ---- broken configs: each names the YAML path and line -----------------------------------

@pytest.fixture(scope="module")
def config_text(repo_root) -> str:
    return (repo_root / "config.yaml").read_text(encoding="utf-8")


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "broken.yaml")
    return info.value.problems


def _line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_unknown_key_is_named_with_its_line(config_text):
    broken = config_text.replace("  office_short: 组委会办公室", "  office_short: 组委会办公室\n  ofice: 拼错了")
    assert _problems(broken) == [f"campaign.ofice（第{_line_of(broken, 'ofice:')}行）：不认识的设置项（拼写错误？）"]


def test_bad_date_is_named(config_text):
    broken = config_text.replace("cutoff: 2020-09-11", "cutoff: 2020-09-31")
    [problem] = _problems(broken)
    assert problem.startswith(f"periods.1.cutoff（第{_line_of(broken, '2020-09-31')}行）：日期格式应为 YYYY-MM-DD")


def test_period_outside_campaign_and_out_of_order(config_text):
    broken = config_text.replace("cutoff: 2020-09-18", "cutoff: 2020-10-18")
    problems = _problems(broken)
    assert any(p.startswith("periods.2.cutoff") and "不在活动期间" in p for p in problems)
    assert any(p.startswith("periods.3.cutoff") and "应晚于上一期" in p for p in problems)


def test_rule_with_unknown_indicator(config_text):
    broken = config_text.replace("check: counters_operating <= counters_built", "check: counters_operating <= counter_built")
    assert _problems(broken) == [
        f"rules.0.check（第{_line_of(broken, 'counter_built,')}行）：表达式“counters_operating <= counter_built”中的 counter_built 不是已定义的填报指标"]


def test_rule_that_is_not_an_expression(config_text):
    broken = config_text.replace("check: products_listed <= products_certified", "check: __import__('os') <= 1")
    [problem] = _problems(broken)
    assert problem.startswith("rules.1.check") and "无法识别的符号" in problem


def test_duplicate_indicator_name(config_text):
    broken = config_text.replace("name: 运营专柜数,", "name: 建成专柜数,")
    [problem] = _problems(broken)
    assert re.match(r"indicators\.1\.name（第\d+行）：指标名称“建成专柜数”重复", problem)


def test_target_on_unknown_scope_and_indicator(config_text):
    broken = config_text.replace("{indicator: halls_operating, op: \">=\", value: 100, scope: region,",
                                 "{indicator: hall_operating, op: \">=\", value: 100, scope: province,")
    problems = _problems(broken)
    assert [p.split("：")[0].split("（")[0] for p in problems] == ["targets.1.indicator", "targets.1.scope"]


def test_county_in_unknown_city_and_wrong_type(config_text):
    data = yaml.safe_load(config_text)
    data["counties"][0]["city"] = "459900"
    data["plausibility"]["max_period_growth"] = "很多"
    problems = _problems(yaml.safe_dump(data, allow_unicode=True))
    assert any(p.startswith("plausibility.max_period_growth") and "应为数字" in p for p in problems)
    data["plausibility"]["max_period_growth"] = 5
    [problem] = _problems(yaml.safe_dump(data, allow_unicode=True))
    assert problem.startswith("counties.0.city") and "459900" in problem


def test_yaml_syntax_error_names_the_line():
    [problem] = _problems("campaign:\n  name: [unclosed\nperiods: []\n")
    assert re.match(r"第[23]行第\d+列格式有误，无法读取", problem)
    assert _outside_brackets(problem).isascii() is False and not re.search(r"[A-Za-z]{3,}", _outside_brackets(problem))


def _outside_brackets(text: str) -> str:
    """The message without its bracketed technical detail (YAML's or pydantic's own words)."""
    return re.sub(r"（[^（）]*）", "", text)


@pytest.mark.parametrize(("before", "after", "meaning"), [
    ("  name: 2020年消费扶贫月活动", "  name: 2020年消费扶贫月活动\n\tstart: 2020-09-01", "制表符"),
    ("  name: 2020年消费扶贫月活动", "  name: 活动: 第二届", "冒号"),
    ("  - {number: 1,", "  - {number: 一,", "应为整数"),
    ("cutoff: 2020-09-11", "cutoff: 九月十一日", "日期格式"),
])
def test_config_problems_are_worded_in_chinese(config_text, before, after, meaning):
    assert before in config_text
    problems = _problems(config_text.replace(before, after, 1))
    assert problems and any(meaning in p for p in problems), problems
    for problem in problems:
        message = problem.split("行）：", 1)[-1]          # after the YAML path (config keys are English)
        assert not re.search(r"[A-Za-z]{3,}", _outside_brackets(message).replace("YYYY", "")), problem


def test_missing_file_says_where_it_looked(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.yaml")
    assert "找不到配置文件" in str(info.value)


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-16"])
def test_a_config_saved_by_notepad_in_any_encoding_is_read(config_text, tmp_path, encoding):
    """Notepad's "ANSI" on a Chinese Windows is GBK; "UTF-8" may carry a BOM; "Unicode" is UTF-16."""
    path = tmp_path / "config.yaml"
    path.write_bytes(config_text.encode(encoding))
    assert load_config(path).campaign.name == "2020年消费扶贫月活动"


def test_a_binary_file_given_as_config_is_named_and_explained(tmp_path, repo_root):
    path = tmp_path / "简报.docx"
    path.write_bytes((repo_root / "src" / "xf_excel" / "outputs" / "templates" / "briefing.docx").read_bytes())
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value) and "不是文本文件" in str(info.value)


def test_undecodable_text_says_how_to_save_as_utf8(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_bytes(b"campaign:\n  name: \xff\xfe\xfa\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "另存为" in str(info.value) and "UTF-8" in str(info.value)


def test_a_folder_given_as_config_is_named(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert "文件夹" in str(info.value) and not info.value.missing
