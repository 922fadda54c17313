"""The browser console end to end in a real browser: Debian's chromium, driven by Playwright,
against the real server (uvicorn on loopback) — sign in, take a small inbox in, read the
statuses and the 退回 text, download the master and the briefing, and the security checks
a browser can make. With XF_SCREENSHOTS=1 the screenshots are also written to docs/."""

from __future__ import annotations

import http.server
import os
import tempfile
import threading
from pathlib import Path

import openpyxl
import pytest

from console_setup import (BAD, CHROMIUM, CHROMIUM_ARGS, GOOD, HTML_NAME, HTML_UNIT, OTHER, PERIOD, TOKEN, app_for,
                           browser_missing, free_port, live_server, server_folder, small_inbox, write_files)
from excel_front import seed_archive
from fuzzing import clean_delivery
from xf_excel.archive.store import Archive

pytestmark = [pytest.mark.slow, pytest.mark.skipif(browser_missing() is not None, reason=browser_missing() or "")]

WIDTH, HEIGHT = 1366, 768


@pytest.fixture(scope="module")
def server(tmp_path_factory, repo_root):
    """A server whose archive holds period 1 and most of period 2 (梧州市's counties and the
    units of the small inbox have sent nothing yet)."""
    root = server_folder(tmp_path_factory.mktemp("console") / "server", repo_root)
    config = load(root)
    waiting = tuple(u.code for u in config.reporting_units() if u.city_code == "450400") + (GOOD, OTHER, BAD, HTML_UNIT)
    seeded = seed_archive(config, root / "data" / "xf.sqlite", PERIOD, skip=waiting)
    with live_server(app_for(root, login_local=True)) as base:
        yield root, base, {code: values for code, values in seeded.items() if code not in waiting}


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw, tempfile.TemporaryDirectory(prefix="xf-chromium-") as profile:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM if Path(CHROMIUM).exists() else "chromium", headless=True,
            args=CHROMIUM_ARGS, viewport={"width": WIDTH, "height": HEIGHT}, accept_downloads=True,
            locale="zh-CN", timezone_id="Asia/Shanghai")
        yield context
        context.close()


@pytest.fixture(scope="module")
def page(chromium, server):
    """One signed-in tab for the whole week (the tests below run in order, as the week does)."""
    root, base, seeded = server
    chromium.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    tab = chromium.new_page()
    tab.dialogs = []
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.accept()))
    tab.goto(f"{base}/")
    assert "/login" in tab.url
    tab.fill("#token", TOKEN)
    tab.click("button:has-text('登录')")
    tab.wait_for_url(f"{base}/p/{PERIOD}")
    return tab


def _screenshot(tab, name: str, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("shots") / name
    tab.screenshot(path=str(path))
    if os.environ.get("XF_SCREENSHOTS") == "1":
        docs = Path(__file__).resolve().parent.parent / "docs"
        tab.screenshot(path=str(docs / name))
    return path


def test_the_week_in_the_browser_takes_a_small_inbox_in(page, server, config, tmp_path_factory):
    root, base, seeded = server
    inbox = write_files(small_inbox(config, tmp_path_factory.mktemp("made")),
                        tmp_path_factory.mktemp("收件箱"))
    page.set_input_files("#files", [str(p) for p in inbox])
    assert page.locator("[data-chosen] li").count() == len(inbox)
    page.click("button:has-text('上传并收取')")
    page.wait_for_selector("text=收取完成", timeout=120_000)
    outcome = page.locator("table.files-taken").inner_text()
    assert "重复（已收过）" in outcome and "退回" in outcome
    shown_names = page.locator("td.file").all_inner_texts()
    assert any(name.startswith("<script>") for name in shown_names), shown_names     # shown as text
    assert page.evaluate("window.pwned === undefined")                             # and never run
    with Archive(root / "data" / "xf.sqlite") as archive:
        taken = [s.unit_code for s in archive.submissions(PERIOD) if s.unit_code not in seeded]
        assert sorted(taken) == sorted([GOOD, OTHER, BAD])


def test_the_status_shows_the_return_sent_back_with_its_text_to_copy(page, server, tmp_path_factory):
    root, base, seeded = server
    page.click("nav >> text=报送情况")
    page.wait_for_url(f"{base}/p/{PERIOD}/status")
    page.click("[data-show=rejected]")
    visible = page.locator("[data-status-table] tbody tr[data-state]:visible")
    assert visible.count() == 1 and "南宁市江南区" in visible.inner_text()
    reminder = visible.locator("td.reminder p").inner_text()
    assert reminder.startswith("【退回】南宁市江南区")
    visible.locator("button:has-text('复制')").click()
    page.wait_for_selector("button:has-text('已复制')")
    assert page.evaluate("navigator.clipboard.readText()") == reminder
    assert "show=rejected" in page.url
    page.click("[data-show=received]")
    good = page.locator("[data-status-table] tbody tr[data-state]:visible", has_text="南宁市青秀区")
    assert "韦芳 13907710001" in good.inner_text()                # 填报人 / 电话 from the return
    page.click("[data-show=missing]")
    page.select_option("[data-city]", "450100")
    names = page.locator("[data-status-table] tbody tr[data-state]:visible td.unit").all_inner_texts()
    assert "南宁市" + HTML_NAME in names                          # a unit name holding HTML, as text
    assert page.evaluate("window.pwned === undefined")
    page.click("[data-show=all]")
    page.select_option("[data-city]", "")
    _screenshot(page, "console-status.png", tmp_path_factory)


def test_the_overview_counts_and_the_master_download(page, server, tmp_path_factory):
    root, base, seeded = server
    page.click("nav >> text=本期概览")
    page.wait_for_url(f"{base}/p/{PERIOD}")
    assert page.inner_text("[data-count=received]") == str(len(seeded) + 2)
    assert page.inner_text("[data-count=rejected]") == "1"
    assert page.inner_text("[data-count=missing]") == str(len(load(root).reporting_units()) - len(seeded) - 3)
    assert "距报送截止还有 2小时30分钟" in page.inner_text(".deadline")
    _screenshot(page, "console-overview.png", tmp_path_factory)
    page.click("button:has-text('汇总')")
    page.wait_for_selector("text=汇总完成", timeout=120_000)
    with page.expect_download() as got:
        page.click("a:has-text('汇总_第2期.xlsx')")
    saved = tmp_path_factory.mktemp("dl") / "master.xlsx"
    got.value.save_as(saved)
    region = openpyxl.load_workbook(saved, read_only=True)["全区汇总"]
    row = next(r for r in region.iter_rows(values_only=True) if r[1] == "建成专柜数")
    config = load(root)
    counties = [code for code in seeded if config.units[code].kind == "county"]
    figures = [seeded[code]["counters_built"] for code in counties]
    figures += [clean_delivery(config, code, PERIOD).values["建成专柜数"] for code in (GOOD, OTHER)]
    assert row[3] == pytest.approx(sum(figures))                  # the rejected return is not counted


def test_the_briefing_is_generated_downloaded_and_previewed(page, server, tmp_path_factory):
    import docx

    root, base, seeded = server
    page.click("nav >> text=本期概览")
    page.click("button:has-text('生成简报')")
    page.wait_for_selector("text=生成简报完成", timeout=180_000)
    folder = tmp_path_factory.mktemp("brief")
    for suffix in (".docx", ".md"):
        with page.expect_download() as got:
            page.click(f"a[href$='{suffix}']")
        got.value.save_as(folder / f"briefing{suffix}")
    text = "\n".join(p.text for p in docx.Document(str(folder / "briefing.docx")).paragraphs)
    assert "第2期" in text
    page.click("text=预览简报")
    preview = page.inner_text("pre.markdown")
    assert preview.strip() == (folder / "briefing.md").read_text(encoding="utf-8").strip()


def test_undoing_the_batch_puts_the_counts_back(page, server):
    root, base, seeded = server
    page.click("nav >> text=本期概览")
    page.click("button:has-text('撤销上次收取')")                 # asks first (accepted by the dialog handler)
    page.wait_for_selector("text=撤销上次收取完成", timeout=120_000)
    assert "已撤销第2期最近一次收取" in page.inner_text("main")
    assert page.dialogs == ["确定撤销第2期最近一次收取吗？撤销的文件保留在档案库中，可以重新收取。"]
    page.click("text=返回本期概览")
    assert page.inner_text("[data-count=received]") == str(len(seeded))
    assert page.inner_text("[data-count=rejected]") == "0"
    assert page.inner_text("[data-count=missing]") == str(len(load(root).reporting_units()) - len(seeded))


def test_a_cross_site_form_in_the_browser_is_refused(page, server, chromium):
    """A page on another site posts a form at the console in the signed-in browser."""
    root, base, _ = server
    port = free_port()
    evil = (f'<form id="f" method="post" action="{base}/p/{PERIOD}/forms"><input name="csrf" value="guess"></form>'
            '<script>document.getElementById("f").submit()</script>').encode()

    class Evil(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(evil)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Evil)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        tab = chromium.new_page()
        tab.goto(f"http://localhost:{port}/")
        tab.wait_for_url(f"{base}/p/{PERIOD}/forms")
        body = tab.inner_text("body")
        assert "请先登录" in body or "拒绝" in body
        tab.close()
    finally:
        httpd.shutdown()
    assert not list((root / "out").rglob("*.zip")), "the forged request generated forms"


def test_only_the_undo_asked_a_question_and_nothing_ran_from_received_text(page):
    assert len(page.dialogs) == 1
    assert page.evaluate("window.pwned === undefined")


def load(root: Path):
    from xf_excel.config import load_config

    return load_config(root / "config.yaml")

