"""The browser console over HTTP, in-process: who may use it, what a request may do, and what
the pages show. The same console in a real browser: test_console_browser.py."""

from __future__ import annotations

import re
import urllib.parse

import pytest
from fastapi.testclient import TestClient

from console_setup import NOW, PERIOD, TOKEN, app_for, server_folder, small_inbox
from xf_excel.archive.store import Archive
from xf_excel.config import load_config
from xf_excel.fronts.web.uploads import UploadLimits
from xf_excel.fronts.web.views import time_left

LOCAL = "http://127.0.0.1:8000"


@pytest.fixture
def root(tmp_path, repo_root):
    return server_folder(tmp_path / "server", repo_root)


@pytest.fixture(scope="module")
def inbox(tmp_path_factory, config):
    return small_inbox(config, tmp_path_factory.mktemp("inbox"))


def browser(root, host="127.0.0.1", base=LOCAL, **options) -> TestClient:
    return TestClient(app_for(root, **options), client=(host, 50000), base_url=base)


def csrf_of(client: TestClient, path: str = f"/p/{PERIOD}") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def signed_in(root, host="10.0.0.7", **options) -> TestClient:
    client = browser(root, host=host, base="http://10.0.0.1:8000", **options)
    token = csrf_of(client, "/login")
    answer = client.post("/login", data={"csrf": token, "token": TOKEN, "next": f"/p/{PERIOD}"},
                         headers={"Origin": "http://10.0.0.1:8000"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == f"/p/{PERIOD}"
    return client


def wait_for(client: TestClient, job_url: str) -> str:
    import time

    for _ in range(600):
        state = client.get(f"{job_url}/state").json()
        if state["state"] in ("done", "failed"):
            return client.get(job_url).text
        time.sleep(0.1)
    raise AssertionError("the job did not finish")


# ---- who may use it ---------------------------------------------------------------------------------

def test_another_machine_without_login_is_sent_to_the_login_page_and_refused_actions(root):
    remote = browser(root, host="10.0.0.7", base="http://10.0.0.1:8000")
    page = remote.get(f"/p/{PERIOD}", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    assert remote.post(f"/p/{PERIOD}/master", data={"csrf": "x"}).status_code == 401
    assert remote.get(f"/p/{PERIOD}/files/period/汇总_第2期.xlsx", follow_redirects=False).status_code == 303
    assert remote.get("/jobs/anything/state").status_code == 401


def test_without_a_token_another_machine_is_refused_outright(root):
    remote = browser(root, host="10.0.0.7", base="http://10.0.0.1:8000", token=None)
    page = remote.get(f"/p/{PERIOD}")
    assert page.status_code == 403 and "只接受本机访问" in page.text


def test_a_wrong_token_is_refused_and_the_right_one_signs_in(root):
    remote = browser(root, host="10.0.0.7", base="http://10.0.0.1:8000")
    token = csrf_of(remote, "/login")
    wrong = remote.post("/login", data={"csrf": token, "token": "guess", "next": "/"})
    assert wrong.status_code == 401 and "口令不正确" in wrong.text
    client = signed_in(root)
    assert client.get(f"/p/{PERIOD}").status_code == 200


def test_a_login_never_redirects_to_another_site(root):
    remote = browser(root, host="10.0.0.7", base="http://10.0.0.1:8000")
    token = csrf_of(remote, "/login")
    answer = remote.post("/login", data={"csrf": token, "token": TOKEN, "next": "//evil.example/x"},
                         follow_redirects=False)
    assert answer.headers["location"] == "/"


def test_this_machine_needs_no_login_but_must_name_itself_by_a_loopback_name(root):
    assert browser(root).get(f"/p/{PERIOD}").status_code == 200
    rebound = browser(root, base="http://attacker.example:8000")      # DNS rebinding: a foreign name on 127.0.0.1
    assert rebound.get(f"/p/{PERIOD}", follow_redirects=False).status_code == 303


def test_login_always_asks_this_machine_too(root):
    page = browser(root, login_local=True).get(f"/p/{PERIOD}", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")


# ---- what a request may do --------------------------------------------------------------------------

def test_a_cross_site_post_is_refused(root):
    client = browser(root)
    token = csrf_of(client)
    for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}):
        answer = client.post(f"/p/{PERIOD}/master", data={"csrf": token}, headers=headers)
        assert answer.status_code == 403 and "其他网站" in answer.text, headers
    assert client.post(f"/p/{PERIOD}/master", data={"csrf": "forged"}).status_code == 403
    assert client.post(f"/p/{PERIOD}/master", data={}).status_code == 403
    assert not (root / "out").exists(), "a refused action wrote something"


def test_an_upload_without_the_csrf_token_takes_nothing_in(root, inbox):
    client = browser(root)
    csrf_of(client)
    answer = client.post(f"/p/{PERIOD}/upload", files=[("files", inbox[1])])
    assert answer.status_code == 403
    assert not (root / "data" / "xf.sqlite").exists()


def test_an_oversized_upload_is_refused_whole_with_a_clear_message(root, inbox):
    limits = UploadLimits(max_files=3, max_file_bytes=len(inbox[0][1]) + 10, max_total_bytes=len(inbox[0][1]) * 2)
    client = browser(root, limits=limits)
    token = csrf_of(client)
    too_much = client.post(f"/p/{PERIOD}/upload", data={"csrf": token}, files=[("files", f) for f in inbox[:3]])
    assert too_much.status_code == 413 and "合计超过" in too_much.text and "均未收取" in too_much.text
    big = (inbox[0][0], inbox[0][1] + b"\0" * 100)
    too_big = client.post(f"/p/{PERIOD}/upload", data={"csrf": token}, files=[("files", inbox[1]), ("files", big)],
                          headers={"Accept": "application/json"})
    assert too_big.status_code == 413 and "超过单个文件" in too_big.json()["error"]
    many = client.post(f"/p/{PERIOD}/upload", data={"csrf": token}, files=[("files", ("a.xlsx", b"x"))] * 4)
    assert many.status_code == 413 and "最多上传 3 个文件" in many.text
    assert not (root / "data" / "xf.sqlite").exists(), "nothing may be half-taken"


def test_a_download_names_only_files_of_the_period_folders(root, tmp_path):
    client = browser(root)
    folder = root / "out" / f"第{PERIOD}期"
    folder.mkdir(parents=True)
    (folder / "汇总_第2期.xlsx").write_bytes(b"PK")
    secret = tmp_path / "secret.txt"
    secret.write_text("do not serve")
    (folder / "link.xlsx").symlink_to(secret)
    assert client.get(f"/p/{PERIOD}/files/period/汇总_第2期.xlsx").content == b"PK"
    for name in ("..%2F..%2Fconfig.yaml", "%2E%2E", "link.xlsx", "..", "config.yaml"):
        answer = client.get(f"/p/{PERIOD}/files/period/{name}")
        assert answer.status_code in (404, 405) and b"do not serve" not in answer.content, name
    assert client.get(f"/p/{PERIOD}/files/elsewhere/汇总_第2期.xlsx").status_code == 404
    assert client.get("/p/99").status_code == 404


def test_every_page_carries_a_strict_content_security_policy(root):
    page = browser(root).get(f"/p/{PERIOD}")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in page.text.replace('<script src="/static/console.js" defer></script>', "")


# ---- what the pages show ------------------------------------------------------------------------------

def test_an_upload_goes_through_the_intake_and_the_pages_show_it_as_text(root, inbox):
    client = browser(root)
    token = csrf_of(client)
    started = client.post(f"/p/{PERIOD}/upload", data={"csrf": token}, files=[("files", f) for f in inbox],
                          follow_redirects=False)
    assert started.status_code == 303
    result = wait_for(client, started.headers["location"])
    progress = client.get(f"{started.headers['location']}/state").json()
    assert (progress["done"], progress["total"]) == (3, 3)           # the batch's progress: 3 files read, 1 duplicate
    assert "<script>window.pwned" not in result and "&lt;script&gt;window.pwned=2&lt;/script&gt;青秀区.xlsx" in result
    assert "重复（已收过）" in result and "退回" in result
    with Archive(root / "data" / "xf.sqlite") as archive:
        assert len(archive.submissions(PERIOD)) == 3           # the duplicate archived once, read once
        assert archive.file_processed(archive.submissions(PERIOD)[0].file_sha256)
    status = client.get(f"/p/{PERIOD}/status?show=rejected").text
    assert "【退回】南宁市江南区" in status
    assert "韦芳 13907710001" in status                            # the contact written on the return
    assert "&lt;img src=x onerror=" in status and "<img src=x" not in status
    assert urllib.parse.quote("退回_第2期_南宁市_江南区.xlsx") in status
    feedback = client.get(f"/p/{PERIOD}/files/feedback/退回_第2期_南宁市_江南区.xlsx")
    assert feedback.status_code == 200 and feedback.content[:2] == b"PK"


def test_the_status_page_filters_by_state_and_by_city(root):
    client = browser(root)
    page = client.get(f"/p/{PERIOD}/status?show=missing&city=450300").text
    rows = re.findall(r'<tr class="state-(\w+)" data-state="\w+" data-city="(\w+)"( hidden)?>', page)
    shown = [(state, city) for state, city, hidden in rows if not hidden]
    assert shown and all(city == "450300" for _, city in shown)
    assert all(state == "missing" for state, _ in shown)          # 2.5 hours before the deadline: not yet overdue
    assert len(rows) == 119                                         # every row is there for the instant filter


def test_the_time_left_reads_as_staff_say_it():
    import datetime as dt

    deadline = dt.datetime(2020, 9, 14, 12, 0)
    assert time_left(deadline, NOW) == "距报送截止还有 2小时30分钟"
    assert time_left(deadline, deadline + dt.timedelta(days=2, hours=5)) == "报送截止已过 2天5小时"


def test_the_period_is_the_current_one_by_date(root):
    home = browser(root).get("/", follow_redirects=False)
    assert home.headers["location"] == f"/p/{PERIOD}"


def test_the_actions_write_master_briefing_and_forms_for_download(root, inbox, repo_root):
    client = browser(root)
    token = csrf_of(client)
    wait_for(client, client.post(f"/p/{PERIOD}/upload", data={"csrf": token}, files=[("files", f) for f in inbox],
                                 follow_redirects=False).headers["location"])
    for action, expected in (("master", "汇总_第2期.xlsx"), ("brief", ".docx"), ("forms", "第2期填报表_南宁市.zip"),
                             ("summary", "2020年消费扶贫月活动总结.docx")):
        started = client.post(f"/p/{PERIOD}/{action}", data={"csrf": token}, follow_redirects=False)
        result = wait_for(client, started.headers["location"])
        assert expected in result, action
        for link in re.findall(r'href="(/p/2/files/[^"]+)"', result):
            assert client.get(link).status_code == 200, link
    preview = client.get(f"/p/{PERIOD}/briefing").text
    assert "<pre class=\"markdown\">" in preview and "第2期" in preview


def test_uploads_are_taken_in_as_inbox_files_of_that_name(tmp_path, config, inbox):
    """The pipeline's intake of uploaded files: the same skipping, zips opened, names kept for display."""
    import io
    import zipfile

    from xf_excel.pipeline import intake_uploads

    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as bundle:
        bundle.writestr("第2期_南宁市_良庆区.xlsx", inbox[1][1])
    report = intake_uploads(config, [("~$第2期.xlsx", b"lock"), ("returns.zip", packed.getvalue()), inbox[0]],
                            PERIOD, tmp_path / "a.sqlite", tmp_path / "fb", received_at=NOW)
    assert [(f.display, f.status) for f in report.files] == [
        ("~$第2期.xlsx", "skipped"), ("returns.zip › 第2期_南宁市_良庆区.xlsx", "accepted"), (inbox[0][0], "accepted")]
    with Archive(tmp_path / "a.sqlite") as archive:
        assert {s.received_at for s in archive.submissions(PERIOD)} == {NOW.isoformat()}


def test_reminders_go_out_by_mail_from_the_console_and_the_status_counts_them(tmp_path, repo_root, monkeypatch):
    """发送催报 through a real SMTP server on loopback (TLS, login), as the 发送催报 button does."""
    from mail_fixtures import OFFICE, PASSWORD, with_mail, write_config
    from xf_excel.demo.mailservers import SmtpServer, self_signed_certificate

    monkeypatch.setenv("XF_MAIL_PASSWORD", PASSWORD)
    root = server_folder(tmp_path / "server", repo_root)
    certificate = self_signed_certificate(tmp_path / "tls")
    with SmtpServer(*certificate, users={OFFICE: PASSWORD}) as smtp:
        mailing = with_mail(load_config(root / "config.yaml"), ca_file=certificate[0], smtp_port=smtp.port)
        write_config(mailing, root / "config.yaml")
        client = browser(root)
        token = csrf_of(client)
        assert "发送催报通知" in client.get(f"/p/{PERIOD}").text
        started = client.post(f"/p/{PERIOD}/send-reminders", data={"csrf": token}, follow_redirects=False)
        result = wait_for(client, started.headers["location"])
        units = len(mailing.reporting_units())
        assert f"已发出第{PERIOD}期催报通知 {units} 封" in result
        assert len(smtp.received) == units
    status = client.get(f"/p/{PERIOD}/status").text
    assert status.count("已催报 1 次") == units


def test_fetching_from_a_mailbox_that_cannot_be_reached_is_a_clear_message(tmp_path, repo_root, monkeypatch):
    from console_setup import free_port
    from mail_fixtures import PASSWORD, with_mail, write_config

    monkeypatch.setenv("XF_MAIL_PASSWORD", PASSWORD)
    root = server_folder(tmp_path / "server", repo_root)
    write_config(with_mail(load_config(root / "config.yaml"), ca_file=None, imap_port=free_port()), root / "config.yaml")
    client = browser(root)
    token = csrf_of(client)
    assert "收取邮箱" in client.get(f"/p/{PERIOD}").text
    result = wait_for(client, client.post(f"/p/{PERIOD}/fetch", data={"csrf": token},
                                          follow_redirects=False).headers["location"])
    assert "收取邮箱未完成" in result and "Traceback" not in result


def test_undo_withdraws_the_uploaded_batch_and_the_files_can_be_taken_again(root, inbox):
    client = browser(root)
    token = csrf_of(client)

    def upload() -> str:
        return wait_for(client, client.post(f"/p/{PERIOD}/upload", data={"csrf": token},
                                            files=[("files", f) for f in inbox], follow_redirects=False
                                            ).headers["location"])

    upload()
    assert '<b data-count="received">2</b>' in client.get(f"/p/{PERIOD}").text
    undone = wait_for(client, client.post(f"/p/{PERIOD}/undo", data={"csrf": token},
                                          follow_redirects=False).headers["location"])
    assert "已撤销第2期最近一次收取" in undone and "网页上传" in undone
    assert '<b data-count="received">0</b>' in client.get(f"/p/{PERIOD}").text
    again = upload()
    assert "重复（已收过）" in again and again.count("已接收") >= 2


def test_a_broken_config_is_a_message_in_chinese_not_a_traceback(root):
    (root / "config.yaml").write_text("campaign: [", encoding="utf-8")
    page = browser(root).get(f"/p/{PERIOD}")
    assert page.status_code == 500 and "无法完成" in page.text and "config.yaml" in page.text
    assert "Traceback" not in page.text
