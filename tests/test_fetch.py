"""Mail in against a real IMAP server on loopback: Dovecot from Debian's packages, configured
in a temporary folder and run unprivileged, TLS required. A mailbox holding returns, a
forwarded mail, a zip, a duplicate and broken messages; taken once, marked, never twice."""

from __future__ import annotations

import email
import email.policy
import imaplib
import io
import os
import shutil
import ssl
import tempfile
import zipfile
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest

from fuzzing import filled_return
from mail_fixtures import OFFICE, PASSWORD, unit_address, with_mail, write_config
from xf_excel.archive.store import Archive
from xf_excel.demo.mailservers import Dovecot, append_message, dovecot_binary, self_signed_certificate
from xf_excel.errors import MailError
from xf_excel.intake.mailbox import TAKEN_KEYWORD, imap_utf7, log_in
from xf_excel.pipeline import fetch_mail, status_report

XINGNING, QINGXIU, JIANGNAN = "450109", "450103", "450105"    # 邕宁区 (named xingning below), 青秀区, 江南区
PERIOD = 2

pytestmark = pytest.mark.skipif(
    dovecot_binary() is None,
    reason="Dovecot 未安装（Debian 软件包 dovecot-imapd，./run test 以 root 运行时安装）/ Dovecot is not installed")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def dovecot(certificate):
    # not under pytest's tmp_path: that is private to us, and Dovecot runs as another user
    folder = Path(tempfile.mkdtemp(prefix="xf-dovecot-"))
    try:
        with Dovecot(folder, *certificate, users={OFFICE: PASSWORD}) as server:
            yield server
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(autouse=True)
def password(monkeypatch):
    monkeypatch.setenv("XF_MAIL_PASSWORD", PASSWORD)


@pytest.fixture(scope="module")
def returns(config, tmp_path_factory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("returns")
    return {code: filled_return(config, code, folder / code, period=PERIOD) for code in (XINGNING, QINGXIU, JIANGNAN)}


def _context(certificate) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


def _mail(code: str, attachments: list[tuple[str, bytes, str]], *, subject: str = "", body: str = "见附件。") -> bytes:
    message = EmailMessage()
    message["From"] = f"扶贫办 <{unit_address(code)}>"
    message["To"] = OFFICE
    message["Subject"] = subject or f"第{PERIOD}期报表"
    message["Date"] = "Mon, 14 Sep 2020 10:30:00 +0800"
    message["Message-ID"] = make_msgid(domain="units.example.gov.cn")
    message.set_content(body)
    for name, data, kind in attachments:
        maintype, subtype = kind.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _forwarded(inner: bytes) -> bytes:
    message = EmailMessage()
    message["From"] = "市扶贫办 <city@units.example.gov.cn>"
    message["To"] = OFFICE
    message["Subject"] = "转发：第2期报表"
    message["Message-ID"] = make_msgid(domain="units.example.gov.cn")
    message.set_content("转发青秀区的报表。")
    message.add_attachment(email.message_from_bytes(inner, policy=email.policy.default))   # "forward as attachment"
    return message.as_bytes()


def _zip(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(name, data)
    return out.getvalue()


def _fill(dovecot, certificate, messages: list[bytes]) -> None:
    for content in messages:
        append_message("127.0.0.1", dovecot.port, OFFICE, PASSWORD, content, _context(certificate))


def _flags(dovecot, certificate, folder: str = "INBOX") -> list[str]:
    with imaplib.IMAP4_SSL("127.0.0.1", dovecot.port, ssl_context=_context(certificate)) as imap:
        log_in(imap, OFFICE, PASSWORD)
        _, count = imap.select(f'"{imap_utf7(folder)}"', readonly=True)
        if count[0] == b"0":
            return []
        _, data = imap.fetch("1:*", "(FLAGS)")
        return [item.decode() for item in data if item]


def _campaign(config, certificate, dovecot, **imap):
    campaign = with_mail(config, ca_file=certificate[0], imap_port=dovecot.port)
    if imap:
        campaign = campaign.model_copy(update={"mail": campaign.mail.model_copy(
            update={"imap": campaign.mail.imap.model_copy(update=imap)})})
    return campaign


def test_a_mailbox_of_returns_is_taken_once_and_marked(config, certificate, dovecot, returns, tmp_path):
    xingning = _mail(XINGNING, [("第2期_南宁市_邕宁区.xlsx", returns[XINGNING], XLSX)])
    forwarded = _forwarded(_mail(QINGXIU, [("第2期_南宁市_青秀区.xlsx", returns[QINGXIU], XLSX)]))
    zipped = _mail(JIANGNAN, [("江南区.zip", _zip("第2期_南宁市_江南区.xlsx", returns[JIANGNAN]), "application/zip")])
    thanks = _mail(XINGNING, [], subject="回复：收到", body="收到，谢谢。")
    broken = b"\x00\x01garbage that is no mail at all\xff\xfe" * 20
    _fill(dovecot, certificate, [xingning, forwarded, zipped, xingning, thanks, broken])
    campaign = _campaign(config, certificate, dovecot)
    archive_path = tmp_path / "a.sqlite"

    fetched = fetch_mail(campaign, PERIOD, archive_path, tmp_path / "退回")
    assert fetched.summary() == {"messages": 6, "taken": 3, "known": 1, "left": 2}
    assert [m.status for m in fetched.messages] == ["taken", "taken", "taken", "known", "left", "left"]
    assert fetched.intake.summary()["accepted"] == 3
    left = [m for m in fetched.messages if m.status == "left"]
    assert all("仍在邮箱中" in m.note for m in left) and "没有附件" in left[0].note
    flags = _flags(dovecot, certificate)
    assert [TAKEN_KEYWORD in f for f in flags] == [True, True, True, True, False, False]
    assert not any("\\Seen" in f for f in flags)                  # staff still see them as new
    states = {r.unit.code: r.state for r in status_report(campaign, PERIOD, archive_path).consolidation.reporting}
    assert [states[c] for c in (XINGNING, QINGXIU, JIANGNAN)] == ["accepted", "warned", "accepted"]
    forwarded_outcome = next(f for f in fetched.intake.files if "青秀区" in f.display)
    assert [i.code.value for i in forwarded_outcome.issues] == ["sender-mismatch"]     # forwarded by the city
    with Archive(archive_path) as archive:
        whole = {m.sha256 for m in archive.fetched_mail(PERIOD)}
        assert len(whole) == 5 and all(archive.file(d) for d in whole)      # every message archived whole
        assert archive.file_content(next(iter(whole))).startswith(b"")

    again = fetch_mail(campaign, PERIOD, archive_path, tmp_path / "退回")
    assert again.summary() == {"messages": 2, "taken": 0, "known": 2, "left": 0}    # the two left are not retaken
    assert all(m.note.startswith("此前已报告") for m in again.messages)
    assert again.intake.files == []


def test_taken_messages_can_be_moved_to_a_folder(config, certificate, dovecot, returns, tmp_path):
    _fill(dovecot, certificate, [_mail(XINGNING, [("第2期_南宁市_邕宁区.xlsx", returns[XINGNING], XLSX)])])
    campaign = _campaign(config, certificate, dovecot, taken_folder="已收取")
    assert fetch_mail(campaign, PERIOD, tmp_path / "a.sqlite", tmp_path / "退回").summary()["taken"] == 1
    assert _flags(dovecot, certificate) == []
    assert len(_flags(dovecot, certificate, "已收取")) == 1


def test_a_wrong_password_and_starttls(config, certificate, dovecot, returns, tmp_path, monkeypatch):
    _fill(dovecot, certificate, [_mail(XINGNING, [("第2期_南宁市_邕宁区.xlsx", returns[XINGNING], XLSX)])])
    campaign = _campaign(config, certificate, dovecot)
    monkeypatch.setenv("XF_MAIL_PASSWORD", "wrong")
    with pytest.raises(MailError, match="收件服务器 127.0.0.1:\\d+ 拒绝登录.*用户名或密码不对"):
        fetch_mail(campaign, PERIOD, tmp_path / "a.sqlite", tmp_path / "退回")
    monkeypatch.setenv("XF_MAIL_PASSWORD", PASSWORD)
    starttls = _campaign(config, certificate, dovecot, security="starttls", port=dovecot.starttls_port)
    assert fetch_mail(starttls, PERIOD, tmp_path / "a.sqlite", tmp_path / "退回").summary()["taken"] == 1
    untrusted = campaign.model_copy(update={"mail": campaign.mail.model_copy(update={"ca_file": None})})
    with pytest.raises(MailError, match="证书无法验证"):
        fetch_mail(untrusted, PERIOD, tmp_path / "a.sqlite", tmp_path / "退回")


def test_the_consolidate_button_fetches_the_mailbox_first(config, certificate, dovecot, returns, tmp_path):
    os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
    import xlwings as xw

    from excel_front import actions, alerts, payload_for
    from xf_excel.fronts.excel import buttons as xl
    from xf_excel.fronts.excel.workbook import build_workbook

    _fill(dovecot, certificate, [_mail(XINGNING, [("第2期_南宁市_邕宁区.xlsx", returns[XINGNING], XLSX)]),
                                 _mail(XINGNING, [], subject="回复：收到", body="收到。")])
    campaign = _campaign(config, certificate, dovecot)
    setup = xl.Setup(config_path=write_config(campaign, tmp_path / "config.yaml"),
                     archive_path=tmp_path / "data" / "xf.sqlite", base=tmp_path)     # no inbox folder at all
    payload = payload_for(build_workbook(campaign, tmp_path / "xf-excel.xlsm"), PERIOD)
    xl.use_remote_licence()
    book = xw.Book(json=payload)
    xl.consolidate_button(book, setup)
    [message] = alerts(actions(book))
    assert message.startswith("邮箱：收取新邮件 1 封（附件 1 个：接收 1 个，退回 0 个，非报表或无法读取 0 个")
    assert "有 1 封邮件无法收取（没有附件或无法读取），仍留在邮箱中" in message
    assert "汇总已刷新" in message

    dovecot.stop()                                    # the server goes away: the inbox folder is still read
    (tmp_path / "收件箱").mkdir()
    book = xw.Book(json=payload)
    xl.consolidate_button(book, setup)
    [message] = alerts(actions(book))
    assert message.startswith("未能收取邮箱中的报表：无法连接收件服务器") and "已继续汇总收件文件夹中的报表" in message


@pytest.mark.slow
def test_the_demo_runs_its_mail_through_local_servers_with_the_same_result(config, tmp_path):
    from xf_excel.demo.run import run_demo
    from xf_excel.fronts.cli import render_demo_period

    plain = run_demo(config, tmp_path / "plain", periods=[1], units=6)[0]
    mailed = run_demo(config, tmp_path / "mail", periods=[1], units=6, mail=True)[0]
    assert mailed.consolidation.region.values == plain.consolidation.region.values
    # the same units accepted; a zip of several counties' returns mailed by one of them draws
    # a sender warning (发件人不符) for the others, which a zip saved into the inbox cannot
    accepted = {"warned": "accepted"}
    assert [(r.unit.code, accepted.get(r.state, r.state)) for r in mailed.consolidation.reporting] == [
        (r.unit.code, accepted.get(r.state, r.state)) for r in plain.consolidation.reporting]
    reminded = {r.unit.code: r.reminded for r in mailed.consolidation.reporting if r.state == "missing"}
    assert reminded and set(reminded.values()) == {1}                  # 已催报 1次, from the send log
    forms = len(plain.consolidation.reporting)
    assert {s.kind: s.summary()["sent"] for s in mailed.sent}["forms"] == forms
    assert f"邮件：发出填报表 {forms} 封、退回 " in render_demo_period(mailed)
    assert "邮件：" not in render_demo_period(plain)


def test_a_fetch_stopped_before_the_intake_takes_the_message_in_next_time(config, certificate, dovecot, returns,
                                                                          tmp_path, monkeypatch):
    import xf_excel.pipeline as pipeline

    _fill(dovecot, certificate, [_mail(XINGNING, [("第2期_南宁市_邕宁区.xlsx", returns[XINGNING], XLSX)])])
    campaign = _campaign(config, certificate, dovecot)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt                       # the run dies after archiving the message

    with monkeypatch.context() as patched, pytest.raises(KeyboardInterrupt):
        patched.setattr(pipeline, "_take_in", killed)
        fetch_mail(campaign, PERIOD, tmp_path / "a.sqlite", tmp_path / "退回")
    assert not any(TAKEN_KEYWORD in f for f in _flags(dovecot, certificate))
    with Archive(tmp_path / "a.sqlite") as archive:
        assert [m.status for m in archive.fetched_mail()] == ["fetched"]        # archived whole, first
    fetched = fetch_mail(campaign, PERIOD, tmp_path / "a.sqlite", tmp_path / "退回")
    assert fetched.summary()["taken"] == 1 and fetched.intake.summary()["accepted"] == 1
    with Archive(tmp_path / "a.sqlite") as archive:
        assert [m.status for m in archive.fetched_mail()] == ["taken"]


def test_after_an_undo_the_same_mails_are_taken_again(config, certificate, dovecot, returns, tmp_path):
    from xf_excel.pipeline import undo_intake

    _fill(dovecot, certificate, [_mail(XINGNING, [("第2期_南宁市_邕宁区.xlsx", returns[XINGNING], XLSX)]),
                                 _mail(XINGNING, [], subject="回复：收到", body="收到。")])
    campaign = _campaign(config, certificate, dovecot)
    archive_path = tmp_path / "a.sqlite"
    assert fetch_mail(campaign, PERIOD, archive_path, tmp_path / "退回").summary()["taken"] == 1
    assert undo_intake(campaign, PERIOD, archive_path).done               # 撤销上次收取
    states = {r.unit.code: r.state for r in status_report(campaign, PERIOD, archive_path).consolidation.reporting}
    assert states[XINGNING] == "missing"
    again = fetch_mail(campaign, PERIOD, archive_path, tmp_path / "退回")
    assert again.summary() == {"messages": 2, "taken": 1, "known": 0, "left": 1}
    assert again.intake.summary()["accepted"] == 1
    states = {r.unit.code: r.state for r in status_report(campaign, PERIOD, archive_path).consolidation.reporting}
    assert states[XINGNING] == "accepted"
    assert fetch_mail(campaign, PERIOD, archive_path, tmp_path / "退回").summary() == {
        "messages": 1, "taken": 0, "known": 1, "left": 0}                 # the left one, already reported
