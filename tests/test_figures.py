"""One checker for a typed figure: the same text gives the same finding in a return and in the
master workbook, with the same code, severity and words (checks/figures.py)."""

from __future__ import annotations

import pytest

from form_grid import build_return, set_value
from xf_excel.checks.entries import check_entries, read_entry_sheet
from xf_excel.checks.read import read_return
from xf_excel.checks.rules import rule_wording
from xf_excel.checks.validate import validate_return
from xf_excel.contract import ENTRY_CODE_LABEL, ENTRY_NAME_LABEL, ENTRY_STATE_LABEL
from xf_excel.issues import KINDS, Issue, IssueCode, Severity, issue_label, template_slots

WUMING = "450110"
BUILT = "建成专柜数"


def _return_finding(config, text, previous=None):
    """(code, severity) of 建成专柜数 typed as `text` in a return (None when silent), and its value."""
    raw = build_return(config, WUMING, values={i.id: 0.0 for i in config.indicators_for(WUMING)})
    set_value(raw, BUILT, text)
    reading = read_return(raw, config)
    checked = validate_return(reading.form, config, 2, previous)
    found = [(i.code, i.severity, i.message.split("：", 1)[-1]) for i in checked.issues if i.indicator == "counters_built"
             and i.code is not IssueCode.DETAIL_TOTAL_MISMATCH]   # the detail list: a return only
    return (found[0] if found else None), checked.values["counters_built"]


def _master_finding(config, text, previous=None):
    """The same for the figure typed into the 南宁市 sheet of a master workbook."""
    names = [i.name for i in config.indicators_for(WUMING) if i.numeric]
    grid = [["南宁市"], ["说明"], [ENTRY_CODE_LABEL, ENTRY_NAME_LABEL, ENTRY_STATE_LABEL, *names],
            ["", "", "", *["个"] * len(names)],
            [WUMING, "武鸣区", "已报", *[text if n == BUILT else 0 for n in names]]]
    entries, issues = read_entry_sheet(config, "汇总_第2期.xlsx", "南宁市", grid, 2)
    issues += check_entries(config, entries, file="汇总_第2期.xlsx", previous={WUMING: previous or {}}, peers={})
    found = [(i.code, i.severity, i.message.split("：", 1)[-1]) for i in issues if i.indicator == "counters_built"]
    return (found[0] if found else None), entries[0].values["counters_built"]


@pytest.mark.parametrize("text, code, severity", [
    ("１２个", None, None),                                  # harmless: silent in both (was a 警告 in the master)
    ("1.2万", IssueCode.WRONG_UNIT, Severity.ERROR),         # was not-a-number in the master
    ("约20", IssueCode.APPROXIMATE, Severity.ERROR),         # was not-a-number in the master
    ("-3", IssueCode.NEGATIVE, Severity.ERROR),
    ("2.5", IssueCode.NOT_AN_INTEGER, Severity.ERROR),
    ("见附件", IssueCode.NOT_A_NUMBER, Severity.ERROR),
])
def test_the_same_text_gives_the_same_finding_in_a_return_and_in_the_master(config, text, code, severity):
    in_return, value_in_return = _return_finding(config, text)
    in_master, value_in_master = _master_finding(config, text)
    assert value_in_return == value_in_master
    if code is None:
        assert in_return is None and in_master is None
    else:
        assert in_return[:2] == in_master[:2] == (code, severity)
        assert in_return[2] == in_master[2]                  # the same reason, word for word


def test_a_figure_below_last_period_is_an_error_in_both(config):
    previous = {"counters_built": 30.0}
    in_return, _ = _return_finding(config, 12, previous)
    in_master, _ = _master_finding(config, 12, previous)
    assert in_return[:2] == in_master[:2] == (IssueCode.BELOW_PREVIOUS, Severity.ERROR)   # was a 警告 in the master


def test_every_issue_code_has_a_chinese_label_and_a_template():
    for code in IssueCode:
        kind = KINDS[code]
        assert kind.label and all("\u4e00" <= ch <= "\u9fff" or ch in "（）、·" for ch in kind.label), code
        assert issue_label(code) == issue_label(code.value) == kind.label
        assert kind.template.strip(), code


def test_a_message_is_rendered_from_its_template_and_a_missing_slot_fails():
    issue = Issue.of(IssueCode.REQUIRED, Severity.ERROR, sheet="填报", row=9, column=5, name="运营专柜数")
    assert issue.message == "「运营专柜数」（填报!E9）为必填项，未填写；如果没有，请填 0。"
    assert issue.label == "必填项未填" and issue.to_dict()["label"] == "必填项未填"
    assert template_slots(IssueCode.REQUIRED) == {"name", "cell"}
    with pytest.raises(KeyError):
        Issue.of(IssueCode.REQUIRED, Severity.ERROR, sheet="填报", row=9, column=5)


def test_a_rule_is_worded_once_for_the_form_and_the_issue(config):
    rule = next(r for r in config.rules if r.id == "operating-le-built")
    assert rule_wording(config, rule) == "运营专柜数大于建成专柜数，请核对"
