"""The buttons (xf_excel.fronts.excel.buttons) through the real xlwings API on Linux: `xw.Book(json=payload)`
with payloads shaped as xlwings' VBA client sends them, built from the master .xlsm that
`xf-excel workbook` produces; the tests assert the actions sent back to Excel."""

from __future__ import annotations

import os

os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")  # before xlwings is imported: its remote engine

import re
import shutil
from pathlib import Path

import pytest
import xlwings as xw

from excel_front import (
    PERIOD, actions, alerts, apply_actions, cell, colours, column_of, home_cell, payload_for, row_of, seed_archive,
    set_cell, sheet_position, written,
)
from xlwings_payload import vba_payload
from xf_excel.contract import ENTRY_MESSAGE_LABEL
from xf_excel.fronts.excel import buttons as xl
from xf_excel.archive.store import Archive
from xf_excel.contract import BookName
from xf_excel.issues import IssueCode
from xf_excel.fronts.excel.workbook import EXTRA_NAMES, build_workbook

CITY, COUNTY = "南宁市", "450102"


@pytest.fixture(scope="session")
def built(config, tmp_path_factory) -> Path:
    return build_workbook(config, tmp_path_factory.mktemp("wb") / "xf-excel.xlsm")


@pytest.fixture(scope="session")
def seeded(config, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("archive") / "xf.sqlite"
    seed_archive(config, path)
    return path


@pytest.fixture
def office(tmp_path, seeded, repo_root) -> xl.Setup:
    """An office folder: config, a copy of the seeded archive, an empty inbox."""
    shutil.copy(repo_root / "config.yaml", tmp_path / "config.yaml")
    (tmp_path / "data").mkdir()
    shutil.copy(seeded, tmp_path / "data" / "xf.sqlite")
    (tmp_path / "收件箱").mkdir()
    return xl.Setup(config_path=tmp_path / "config.yaml", archive_path=tmp_path / "data" / "xf.sqlite", base=tmp_path)


def run(button, payload: dict, setup: xl.Setup) -> list[dict]:
    book = xw.Book(json=payload)
    button(book, setup)
    return actions(book)


@pytest.fixture
def filled(built, office) -> dict:
    """The book after 汇总 on the archive (an empty inbox): what staff see before correcting."""
    return apply_actions(payload_for(built), run(xl.consolidate_button, payload_for(built), office))


# ---- 汇总 --------------------------------------------------------------------------------------

def test_consolidate_with_an_empty_inbox_says_so_and_fills_the_sheets(built, office, config):
    payload = payload_for(built)
    done = run(xl.consolidate_button, payload, office)
    [message] = alerts(done)
    assert "没有报表文件" in message and "第2期" in message
    city = written(done, sheet_position(payload, CITY))
    after = apply_actions(payload, done)
    row = row_of(after, CITY, COUNTY)
    built_col = column_of(after, CITY, config.indicator("counters_built").name)
    with Archive(office.archive_path) as archive:
        figure = archive.accepted(PERIOD)[COUNTY].values["counters_built"]
    assert city[(row, built_col)] == figure
    assert (office.base / "输出" / "汇总_第2期.xlsx").is_file()
    assert cell(after, "首页", *home_cell(after, "档案版本")) == max_submission_id(office.archive_path)


def max_submission_id(path: Path) -> int:
    with Archive(path) as archive:
        return max(s.id for s in archive.submissions())


def test_consolidate_takes_in_returns_and_refreshes_reporting(built, office, config, tmp_path):
    from xf_excel.demo import simulate as demo
    from xf_excel.pipeline import make_forms

    make_forms(config, 3, tmp_path / "forms", office.archive_path)
    staged = demo.write_inbox(demo.simulate(config), 3, 1, tmp_path / "forms", tmp_path / "staged")
    returns = sorted(p for p in staged if p.suffix == ".xlsx" and "南宁市" in p.name)[:4]   # a few keep it quick
    for path in returns:
        shutil.copy(path, office.base / "收件箱" / path.name)
    payload = payload_for(built, period=3)
    done = run(xl.consolidate_button, payload, office)
    [message] = alerts(done)
    assert message.startswith(f"第3期收取完成：文件 {len(returns)} 个")
    after = apply_actions(payload, done)
    states = {cell(after, "报送情况", r, 1): cell(after, "报送情况", r, 5) for r in range(4, 140)}
    accepted = [code for code, state in states.items() if state and state.startswith("已报送")]
    assert accepted and len(accepted) <= len(returns)


def test_missing_inbox_folder_is_a_chinese_message(built, office):
    shutil.rmtree(office.base / "收件箱")
    done = run(xl.consolidate_button, payload_for(built), office)
    [action] = [a for a in done if a["func"] == "alert"]
    assert action["args"][0].startswith("汇总未完成：收件文件夹")
    assert action["args"][3] == "critical"
    assert not [a for a in done if a["func"] == "setValues"]


# ---- 校验 --------------------------------------------------------------------------------------

def test_validate_marks_a_typed_error_and_lists_it(filled, office, config):
    payload = filled
    row = row_of(payload, CITY, COUNTY)
    built_col = column_of(payload, CITY, config.indicator("counters_built").name)
    operating_col = column_of(payload, CITY, config.indicator("counters_operating").name)
    sales_col = column_of(payload, CITY, config.indicator("counter_sales").name)
    set_cell(payload, CITY, row, operating_col, cell(payload, CITY, row, built_col) + 5)   # more operating than built
    set_cell(payload, CITY, row, sales_col, "约三十万")                                      # not a number
    done = run(xl.validate_button, payload, office)
    position = sheet_position(payload, CITY)
    marks = colours(done, position)
    assert marks[(row, sales_col)] == xl.ERROR_FILL
    assert marks[(row, operating_col)] == xl.ERROR_FILL or marks[(row, built_col)] == xl.ERROR_FILL
    notes = written(done, position)
    message_col = max(c for (r, c), v in notes.items() if v == ENTRY_MESSAGE_LABEL)
    assert f"{CITY}!{_letter(sales_col)}{row}" in notes[(row, message_col)]
    issues = written(done, sheet_position(payload, "校验问题"))
    listed = [issues[(r, 4)] for (r, c) in issues if c == 4 and r > 3]
    assert f"{CITY}!{_letter(sales_col)}{row}" in listed
    kinds = {issues[(r, 6)] for (r, c) in issues if c == 6 and r > 3}     # 问题类型: Chinese, never a code
    assert issues[(3, 6)] == "问题类型" and {"填写估计数", "逻辑校验不通过"} <= kinds
    assert not kinds & {code.value for code in IssueCode}
    [message] = alerts(done)
    assert "错误 2 处" in message or "错误 3 处" in message
    with Archive(office.archive_path) as archive:
        assert not [s for s in archive.submissions(PERIOD) if s.source == "manual"]


def _letter(column: int) -> str:
    from xf_excel.issues import column_letter

    return column_letter(column)


def test_validate_records_a_clean_correction_when_the_book_is_current(filled, office, config):
    row = row_of(filled, CITY, COUNTY)
    sales_col = column_of(filled, CITY, config.indicator("counter_sales").name)
    set_cell(filled, CITY, row, sales_col, 1234.5)
    done = run(xl.validate_button, filled, office)
    [message] = alerts(done)
    assert "已将 1 个单位的修改记入档案库" in message
    with Archive(office.archive_path) as archive:
        current = archive.accepted(PERIOD)[COUNTY]
    assert current.source == "manual" and current.values["counter_sales"] == 1234.5
    assert written(done, 0)[home_cell(filled, "档案版本")] == max_submission_id(office.archive_path)


def test_validate_does_not_record_from_a_stale_book(filled, office, config):
    row = row_of(filled, CITY, COUNTY)
    sales_col = column_of(filled, CITY, config.indicator("counter_sales").name)
    set_cell(filled, CITY, row, sales_col, 1234.5)
    set_cell(filled, "首页", *home_cell(filled, "档案版本"), 1)   # filled before the archive last changed
    [message] = alerts(run(xl.validate_button, filled, office))
    assert "未记入档案库" in message
    with Archive(office.archive_path) as archive:
        assert archive.accepted(PERIOD)[COUNTY].source != "manual"


def test_received_text_never_becomes_a_formula(filled, office, config):
    row = row_of(filled, CITY, COUNTY)
    sales_col = column_of(filled, CITY, config.indicator("counter_sales").name)
    set_cell(filled, CITY, row, sales_col, "=HYPERLINK(\"http://x\")")
    done = run(xl.validate_button, filled, office)
    values = [v for a in done if a["func"] == "setValues" for r in a["values"] for v in r]
    assert not [v for v in values if isinstance(v, str) and v.startswith("=")]
    assert any(isinstance(v, str) and v.startswith("'=HYPERLINK") for v in values)


# ---- 生成填报表, 生成简报, main ---------------------------------------------------------------------

def test_make_forms_writes_the_forms_and_says_where(built, office, config):
    [message] = alerts(run(xl.make_forms_button, payload_for(built), office))
    folder = office.base / "输出" / "第2期填报表"
    assert f"已生成第2期填报表 {len(config.reporting_units())} 份" in message and str(folder) in message
    assert len(list(folder.glob("*.xlsx"))) == len(config.reporting_units())


def test_brief_writes_the_briefing(built, office):
    [message] = alerts(run(xl.brief_button, payload_for(built), office))
    assert message.startswith("已生成第2期工作简报")
    assert (office.base / "输出" / "简报" / "简报_第2期.docx").is_file()


def test_selftest_button_names_a_workbook_renamed_to_chinese(built, office):
    payload = payload_for(built)
    [message] = alerts(run(xl.selftest_button, payload, office))
    assert message.startswith("自检通过")
    payload["book"]["name"] = "汇总工作簿.xlsm"
    [message] = alerts(run(xl.selftest_button, payload, office))
    assert "失败  工作簿文件名：文件名含有中文" in message


def test_brief_takes_the_items_chosen_and_edited_on_the_news_sheet(built, office, config):
    """生成简报 archives what was chosen and edited on 工作动态 in the open book, then briefs with it."""
    from xf_excel.archive.store import NewSubmission
    from xf_excel.contract import NEWS_SHEET, NewsColumn

    with Archive(office.archive_path) as archive:
        base = archive.accepted(PERIOD)[COUNTY]
        for text in ("兴宁区举办展销会，销售沃柑12万元。", "=cmd|' /C calc'!A0 兴宁区建立产销对接清单，每周推送供给信息。"):
            archive.record_submission(NewSubmission(
                unit_code=COUNTY, period=PERIOD, accepted=True, values=dict(base.values), file_name="更正.xlsx",
                received_at="2020-09-11T18:00:00", narrative=[("工作动态", text, "填报!C40")]))
    book = apply_actions(payload_for(built), run(xl.consolidate_button, payload_for(built), office))
    chosen, text = (column_of(book, NEWS_SHEET, c.value) for c in (NewsColumn.CHOSEN, NewsColumn.TEXT))
    row = row_of(book, NEWS_SHEET, next(str(cell(book, NEWS_SHEET, r, 1)) for r in range(4, 10)
                                        if str(cell(book, NEWS_SHEET, r, 1) or "").startswith("N")))
    assert cell(book, NEWS_SHEET, row, chosen) == "是"             # the default: the only item, chosen
    assert str(cell(book, NEWS_SHEET, row, text)).startswith("'=cmd")  # written with Excel's text prefix
    set_cell(book, NEWS_SHEET, row, text, "兴宁区建立产销对接清单（办公室改）。")
    [message] = alerts(run(xl.brief_button, book, office))
    assert message.startswith("已生成第2期工作简报") and "未采用" not in message
    markdown = (office.base / "输出" / "简报" / "简报_第2期.md").read_text(encoding="utf-8-sig")
    assert "**南宁市兴宁区**建立产销对接清单（办公室改）。" in markdown and "cmd" not in markdown
    set_cell(book, "首页", *home_cell(book, "档案版本"), 1)        # a stale book: its choice is not taken
    set_cell(book, NEWS_SHEET, row, text, "过时的修改。")
    [message] = alerts(run(xl.brief_button, book, office))
    assert "“工作动态”表中的选用和修改未采用" in message
    assert "过时的修改" not in (office.base / "输出" / "简报" / "简报_第2期.md").read_text(encoding="utf-8-sig")


def test_summary_writes_the_campaign_end_report(built, office):
    [message] = alerts(run(xl.summary_button, payload_for(built), office))
    assert message.startswith("已生成活动总结（第5期汇总数据）") and "未完成的目标任务：" in message
    assert (office.base / "输出" / "活动总结" / "2020年消费扶贫月活动总结.docx").is_file()


def test_main_runs_the_operation_chosen_in_the_command_cell(built, office):
    payload = payload_for(built)
    command_row = EXTRA_NAMES[BookName.COMMAND][0]
    set_cell(payload, "首页", command_row, 7, "自检")
    book = xw.Book(json=payload)
    xl.run_command(book, office)
    assert alerts(actions(book))[0].startswith("自检通过")
    set_cell(payload, "首页", command_row, 7, "删除一切")
    book = xw.Book(json=payload)
    xl.run_command(book, office)
    assert "不是可执行的操作" in alerts(actions(book))[0]


# ---- errors, paths, settings ------------------------------------------------------------------------

def test_an_unexpected_error_shows_a_chinese_message_and_logs_the_traceback(built, office, monkeypatch):
    import xf_excel.pipeline

    def broken(*args, **kwargs):
        raise RuntimeError("a bug deep inside")

    monkeypatch.setattr(xf_excel.pipeline, "brief_period", broken)
    [message] = alerts(run(xl.brief_button, payload_for(built), office))
    assert "意外错误" in message and "Traceback" not in message and "RuntimeError" not in message
    log = office.archive_path.parent / "xf-excel.log"
    assert "Traceback" in log.read_text(encoding="utf-8")


def test_a_folder_where_the_archive_should_be_is_named(built, office):
    office.archive_path.unlink()
    office.archive_path.mkdir()
    [message] = alerts(run(xl.brief_button, payload_for(built), office))
    assert "无法使用档案库" in message and str(office.archive_path) in message and "文件夹" in message


def test_a_period_not_in_config_is_a_chinese_message(built, office):
    [message] = alerts(run(xl.brief_button, payload_for(built, period=9), office))
    assert message.startswith("生成简报未完成：配置中没有第9期")


def test_server_mode_keeps_folders_inside_its_working_folder(built, office):
    confined = xl.Setup(office.config_path, office.archive_path, office.base, confined=True)
    payload = payload_for(built)
    set_cell(payload, "首页", 16, 2, "/etc")           # OutputFolder
    [message] = alerts(run(xl.make_forms_button, payload, confined))
    assert "必须位于服务器工作文件夹" in message


def test_settings_come_from_the_xlwings_conf_sheet(built):
    book = xw.Book(json=vba_payload(built))
    assert xl.conf_values(book) == {"XF_MODE": "desktop", "XF_SERVER_URL": "http://127.0.0.1:8000",
                                    "XF_CONFIG": "config.yaml", "XF_ARCHIVE": "data/xf.sqlite"}
    setup = xl.setup_from_book(book)
    assert setup.config_path == Path.cwd() / "config.yaml"     # remote: the server's working folder


def test_every_action_sent_back_is_one_the_vba_client_implements(filled, office, config):
    """Remote.bas runs each action with Application.Run action("func"): an unknown name fails in Excel."""
    from importlib.util import find_spec

    remote = (Path(find_spec("xlwings").origin).parent / "addin" / "Remote.bas").read_text(encoding="utf-8")
    subs = set(re.findall(r"^Sub (\w+)\(wb As Workbook, action As Dictionary\)", remote, re.M))
    row = row_of(filled, CITY, COUNTY)
    set_cell(filled, CITY, row, column_of(filled, CITY, config.indicator("counter_sales").name), "x")
    used = {a["func"] for a in run(xl.validate_button, filled, office)}
    used |= {a["func"] for a in run(xl.consolidate_button, filled, office)}
    assert used <= subs, used - subs


# ---- 撤销上次收取 -------------------------------------------------------------------------------------

def test_undo_withdraws_a_wrong_period_intake_and_the_files_can_be_taken_again(built, office, config):
    """汇总 with 报送期次 set to 2 takes in period-1 returns: the message says to click 撤销上次收取
    (never a command); that button withdraws the intake and refreshes the sheets; 汇总 with the
    right period then takes the same files in."""
    from xf_excel.demo import simulate as demo
    from xf_excel.pipeline import make_forms

    sim = demo.simulate(config, seed=3, units=3)
    make_forms(demo.campaign_of(sim), 1, office.base / "forms")
    demo.write_inbox(sim, 1, 1, office.base / "forms", office.base / "收件箱")
    [wrong] = alerts(run(xl.consolidate_button, payload_for(built, period=2), office))
    assert "撤销上次收取" in wrong and "xf-excel" not in wrong and "--period" not in wrong

    done = run(xl.undo_button, payload_for(built, period=2), office)
    [undone] = alerts(done)
    assert "已撤销第2期最近一次收取" in undone and "点击“汇总”" in undone and "xf-excel" not in undone
    assert written(done, sheet_position(payload_for(built), "报送情况"))          # the sheets were refreshed

    [again] = alerts(run(xl.consolidate_button, payload_for(built, period=1), office))
    taken = int(re.search(r"接收 (\d+) 个", again).group(1)) + int(re.search(r"退回 (\d+) 个", again).group(1))
    assert taken >= 3, again

    [nothing] = alerts(run(xl.undo_button, payload_for(built, period=3), office))
    assert "没有可以撤销的收取" in nothing


def test_brief_of_a_period_without_returns_says_which_button_to_click(built, tmp_path, repo_root):
    shutil.copy(repo_root / "config.yaml", tmp_path / "config.yaml")
    setup = xl.Setup(config_path=tmp_path / "config.yaml", archive_path=tmp_path / "data" / "xf.sqlite", base=tmp_path)
    Archive(setup.archive_path).close()                 # an archive that holds nothing yet
    [message] = alerts(run(xl.brief_button, payload_for(built, period=1), setup))
    assert "未生成简报" in message and "点击“汇总”" in message
    assert not (tmp_path / "输出" / "简报").exists()


def test_a_missing_config_says_where_to_put_it_in_the_workbooks_terms(built, tmp_path):
    setup = xl.Setup(config_path=tmp_path / "config.yaml", archive_path=tmp_path / "data" / "xf.sqlite", base=tmp_path)
    [message] = alerts(run(xl.brief_button, payload_for(built), setup))
    assert "找不到配置文件" in message and "XF_CONFIG" in message and "--config" not in message
