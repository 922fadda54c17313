"""Mail out against a real SMTP server on loopback (aiosmtpd, TLS, login required): forms to
127 units read back from the server, feedback and reminders, refused recipients, a dropped
connection, a wrong password, a server that is down, a sender killed half-way."""

from __future__ import annotations

import email
import email.policy
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openpyxl import load_workbook

from mail_fixtures import OFFICE, PASSWORD, all_units_report, unit_address, with_mail, write_config
from xf_excel.archive.store import Archive, NewSubmission
from xf_excel.demo.mailservers import SmtpServer, free_port, self_signed_certificate
from xf_excel.errors import MailError
from xf_excel.issues import Issue, IssueCode, Severity
from xf_excel.pipeline import send_mail, status_report

XINGNING, QINGXIU, WUMING = "450102", "450103", "450110"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp(certificate):
    with SmtpServer(*certificate, users={OFFICE: PASSWORD}) as server:
        yield server


@pytest.fixture(autouse=True)
def password(monkeypatch):
    monkeypatch.setenv("XF_MAIL_PASSWORD", PASSWORD)


def _config(config, certificate, server, **options):
    return with_mail(config, ca_file=certificate[0], smtp_port=server.port, **options)


def _parsed(received) -> email.message.EmailMessage:
    return email.message_from_bytes(received.content, policy=email.policy.default)


def _attachment(message) -> tuple[str, bytes]:
    [part] = list(message.iter_attachments())
    return part.get_filename(), part.get_payload(decode=True)


def test_a_dry_run_writes_the_messages_and_sends_nothing(config, certificate, tmp_path):
    mailing = with_mail(config, ca_file=certificate[0])          # no SMTP server needed
    report = send_mail(mailing, 2, "forms", tmp_path / "a.sqlite", tmp_path / "out", dry_run=True,
                       units=[XINGNING, "BM05"])
    assert report.summary()["written"] == 2 and report.ok
    message = email.message_from_bytes(report.outcomes[0].path.read_bytes(), policy=email.policy.default)
    assert report.outcomes[0].path.name == "南宁市兴宁区.eml"
    assert message["To"] == unit_address(XINGNING) and OFFICE in message["From"]
    assert message["Subject"].startswith("【填报表】南宁市兴宁区第2期2020年消费扶贫月活动进展情况报表")
    body = message.get_body(("plain",)).get_content()
    assert body.startswith("南宁市兴宁区 张三同志：") and "于9月14日12时前将填好的表格作为附件回复本邮件" in body and "表中已填好上期累计数" in body
    name, content = _attachment(message)
    assert name == "第2期_南宁市_兴宁区.xlsx"
    assert load_workbook(io.BytesIO(content))["填报"]["B2"].value
    with Archive(tmp_path / "a.sqlite") as archive:
        assert archive.sent_mail() == []


def test_forms_to_127_units_read_back_from_the_server_and_never_twice(config, certificate, smtp, tmp_path):
    campaign = _config(all_units_report(config), certificate, smtp)
    assert len(campaign.reporting_units()) == 127
    started = time.perf_counter()
    report = send_mail(campaign, 1, "forms", tmp_path / "a.sqlite", tmp_path / "out")
    print(f"\n127 forms sent in {time.perf_counter() - started:.1f} s")
    assert report.summary()["sent"] == 127 and report.ok
    assert len(smtp.received) == 127
    by_recipient = {r.recipients: _parsed(r) for r in smtp.received}
    for unit in campaign.reporting_units():
        message = by_recipient[(unit_address(unit.code),)]
        name, content = _attachment(message)
        assert name.startswith("第1期_") and unit.name in name
        assert message["Subject"].startswith(f"【填报表】{unit.full_name}第1期")
    assert load_workbook(io.BytesIO(_attachment(by_recipient[(unit_address("BM05"),)])[1]))["xf_meta"]
    again = send_mail(campaign, 1, "forms", tmp_path / "a.sqlite", tmp_path / "out")
    assert again.summary()["already_sent"] == 127 and again.summary()["sent"] == 0
    assert len(smtp.received) == 127
    with Archive(tmp_path / "a.sqlite") as archive:
        log = archive.sent_mail(1, "forms")
    assert len(log) == 127 and {m.status for m in log} == {"sent"}
    assert all(m.reply.startswith("250 2.0.0 Ok: queued as") for m in log)


def test_a_refused_recipient_and_a_dropped_connection_do_not_stop_the_batch(config, certificate, smtp, tmp_path):
    campaign = _config(config, certificate, smtp)
    units = [u.code for u in campaign.reporting_units()[:8]]
    smtp.refuse.add(unit_address(units[2]))
    smtp.drop_after = 4
    report = send_mail(campaign, 2, "forms", tmp_path / "a.sqlite", tmp_path / "out", units=units)
    statuses = {o.unit_code: o.status for o in report.outcomes}
    assert statuses == {code: "refused" if code == units[2] else "sent" for code in units}
    refused = next(o for o in report.outcomes if o.status == "refused")
    assert refused.reply.startswith(f"{unit_address(units[2])}：550 5.1.1") and not report.ok
    assert len(smtp.received) == 7                         # the dropped message was sent again after reconnecting
    smtp.refuse.clear()
    rerun = send_mail(campaign, 2, "forms", tmp_path / "a.sqlite", tmp_path / "out", units=units)
    assert rerun.summary() == {**rerun.summary(), "sent": 1, "already_sent": 7}
    assert len(smtp.received) == 8


def test_a_wrong_password_sends_nothing(config, certificate, smtp, tmp_path, monkeypatch):
    monkeypatch.setenv("XF_MAIL_PASSWORD", "wrong")
    with pytest.raises(MailError, match="拒绝登录（535 5.7.8 Authentication credentials invalid）.*用户名或密码不对"):
        send_mail(_config(config, certificate, smtp), 2, "forms", tmp_path / "a.sqlite", tmp_path / "out",
                  units=[XINGNING])
    assert smtp.received == []


def test_a_server_that_is_down_is_said_so(config, certificate, tmp_path):
    campaign = with_mail(config, ca_file=certificate[0], smtp_port=free_port())
    with pytest.raises(MailError, match="无法连接发件服务器 127.0.0.1:\\d+：连接被拒绝"):
        send_mail(campaign, 2, "forms", tmp_path / "a.sqlite", tmp_path / "out", units=[XINGNING])


def test_tls_is_required_and_the_certificate_checked(config, certificate, smtp, tmp_path):
    untrusted = with_mail(config, ca_file=None, smtp_port=smtp.port)        # the system's CAs only
    with pytest.raises(MailError, match="证书无法验证.*mail.ca_file"):
        send_mail(untrusted, 2, "forms", tmp_path / "a.sqlite", tmp_path / "out", units=[XINGNING])
    with SmtpServer(*certificate, users={OFFICE: PASSWORD}, security="starttls") as starttls:
        report = send_mail(_config(config, certificate, starttls, security="starttls"), 2, "forms",
                           tmp_path / "a.sqlite", tmp_path / "out", units=[XINGNING])
        assert report.summary()["sent"] == 1 and len(starttls.received) == 1
    # a server that answers in clear text where TLS is expected
    with pytest.raises(MailError, match="建立加密连接失败"):
        with SmtpServer(*certificate, users={OFFICE: PASSWORD}, security="starttls") as plain:
            send_mail(_config(config, certificate, plain), 2, "forms", tmp_path / "b.sqlite", tmp_path / "out",
                      units=[XINGNING])
    assert smtp.received == []


def test_reminders_once_a_day_and_counted_in_the_status(config, certificate, smtp, tmp_path):
    import datetime as dt

    campaign = _config(config, certificate, smtp)
    archive_path = tmp_path / "a.sqlite"
    with Archive(archive_path) as archive:
        for code in [u.code for u in campaign.reporting_units()][1:]:       # all but 兴宁区 reported
            archive.record_submission(NewSubmission(unit_code=code, period=2, accepted=True, values={}))
    monday = dt.datetime(2020, 9, 14, 15, 0)
    first = send_mail(campaign, 2, "reminders", archive_path, tmp_path / "out", now=monday)
    assert [(o.unit_code, o.status) for o in first.outcomes] == [(XINGNING, "sent")]
    message = _parsed(smtp.received[0])
    assert message["Subject"] == "【催报】南宁市兴宁区第2期2020年消费扶贫月活动进展情况报表"
    body = message.get_body(("plain",)).get_content()
    assert body.startswith("【催报】南宁市兴宁区：截至9月14日15时，组委会办公室尚未收到") and "报送截止时间" in body
    assert _attachment(message)[0] == "第2期_南宁市_兴宁区.xlsx"
    same_day = send_mail(campaign, 2, "reminders", archive_path, tmp_path / "out", now=monday.replace(hour=17))
    assert [o.status for o in same_day.outcomes] == ["already-sent"]
    send_mail(campaign, 2, "reminders", archive_path, tmp_path / "out", now=monday + dt.timedelta(days=1))
    assert len(smtp.received) == 2
    assert "【南宁市兴宁区】未报送（已催报 2次）" in status_report(campaign, 2, archive_path).text


def test_feedback_sends_the_returned_text_and_the_feedback_workbook(config, certificate, smtp, tmp_path):
    from xf_excel.pipeline import make_forms

    campaign = _config(config, certificate, smtp)
    [form] = [p for p in make_forms(campaign, 2, tmp_path / "forms").paths if "武鸣区" in p.name]
    archive_path = tmp_path / "a.sqlite"
    with Archive(archive_path) as archive:
        digest, _ = archive.add_file(form.read_bytes(), form.name)
        error = Issue.of(IssueCode.REQUIRED, Severity.ERROR, file=form.name, sheet="填报", row=8, column=5,
                         name="建成专柜数", unit=WUMING)
        archive.record_submission(NewSubmission(unit_code=WUMING, period=2, accepted=False, issues=[error],
                                                file_sha256=digest, file_name=form.name))
    report = send_mail(campaign, 2, "feedback", archive_path, tmp_path / "out")
    assert [(o.unit_code, o.status) for o in report.outcomes] == [(WUMING, "sent")]
    message = _parsed(smtp.received[0])
    assert message["Subject"] == "【退回】南宁市武鸣区第2期2020年消费扶贫月活动进展情况报表"
    assert message.get_body(("plain",)).get_content().startswith("【退回】南宁市武鸣区：贵单位报送的第2期")
    name, content = _attachment(message)
    assert name == "退回_第2期_南宁市_武鸣区.xlsx"
    assert "问题清单" in load_workbook(io.BytesIO(content)).sheetnames
    assert send_mail(campaign, 2, "feedback", archive_path, tmp_path / "out").summary()["already_sent"] == 1


def test_units_without_a_mailbox_are_named(config, certificate, smtp, tmp_path):
    campaign = _config(config, certificate, smtp, contacts=False)
    report = send_mail(campaign, 2, "forms", tmp_path / "a.sqlite", tmp_path / "out", units=[XINGNING])
    assert [(o.status, o.reply) for o in report.outcomes] == [("no-address", "未在 config.yaml 的 contacts 中登记邮箱，无法发送")]
    assert smtp.received == []


@pytest.mark.slow
def test_a_sender_killed_half_way_and_run_again_sends_each_form_once(config, certificate, smtp, tmp_path):
    campaign = _config(all_units_report(config), certificate, smtp)
    path = write_config(campaign, tmp_path / "config.yaml")
    command = [sys.executable, "-m", "xf_excel.fronts.cli", "--config", str(path), "--archive",
               str(tmp_path / "a.sqlite"), "send", "--period", "1", "forms", "--out", str(tmp_path / "out")]
    env = {**os.environ, "XF_MAIL_PASSWORD": PASSWORD}
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while len(smtp.received) < 40 and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
    before = len(smtp.received)
    assert 40 <= before < 127
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    ids = [_parsed(r)["Message-ID"] for r in smtp.received]
    assert len(set(ids)) == 127                                  # every unit has its form
    assert len(ids) - 127 <= 1                                   # at most the one in flight at the kill, again
    with Archive(tmp_path / "a.sqlite") as archive:
        assert len(archive.sent_keys(1, "forms")) == 127


def test_the_command_line_says_what_was_sent_and_exits_by_outcome(config, certificate, smtp, tmp_path):
    from click.testing import CliRunner

    from xf_excel.fronts.cli import main

    campaign = _config(config, certificate, smtp)
    path = write_config(campaign, tmp_path / "config.yaml")
    base = ["--config", str(path), "--archive", str(tmp_path / "a.sqlite"), "send", "--period", "2", "--out",
            str(tmp_path / "out")]
    dry = CliRunner().invoke(main, [*base, "forms", "--dry-run", "--unit", XINGNING])
    assert dry.exit_code == 0 and "第2期填报表邮件：已写出 1 封待发邮件（.eml，未发送）" in dry.output
    smtp.refuse.add(unit_address(XINGNING))
    refused = CliRunner().invoke(main, [*base, "forms", "--unit", XINGNING, "--unit", QINGXIU])
    assert refused.exit_code == 1, refused.output
    assert refused.output.startswith("第2期填报表邮件：发出 1 封，被拒收 1 封，未能发送 0 封")
    assert f"✗ 南宁市兴宁区：{unit_address(XINGNING)}：550 5.1.1" in refused.output
    no_password = CliRunner().invoke(main, [*base, "forms"], env={"XF_MAIL_PASSWORD": ""})
    assert no_password.exit_code == 2 and "未提供邮箱 xfyb@example.gov.cn 的密码" in no_password.output


def test_the_send_buttons(config, certificate, smtp, tmp_path):
    os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
    import xlwings as xw

    from excel_front import actions, alerts, payload_for
    from xf_excel.fronts.excel import buttons as xl
    from xf_excel.fronts.excel.workbook import build_workbook

    campaign = _config(config, certificate, smtp)
    setup = xl.Setup(config_path=write_config(campaign, tmp_path / "config.yaml"),
                     archive_path=tmp_path / "data" / "xf.sqlite", base=tmp_path)
    with Archive(setup.archive_path) as archive:
        for code in [u.code for u in campaign.reporting_units()][2:]:       # all but 兴宁区 and 青秀区 reported
            archive.record_submission(NewSubmission(unit_code=code, period=2, accepted=True, values={}))
    smtp.refuse.add(unit_address(QINGXIU))
    payload = payload_for(build_workbook(campaign, tmp_path / "xf-excel.xlsm"), 2)
    xl.use_remote_licence()
    book = xw.Book(json=payload)
    xl.send_reminders_button(book, setup)
    [message] = alerts(actions(book))
    assert message.startswith("已发出第2期催报通知 1 封。\n有 1 个单位未能收到：\n  南宁市青秀区：")
    assert "再次点击本按钮只补发未发出的邮件" in message
    assert [r.recipients for r in smtp.received] == [(unit_address(XINGNING),)]
    book = xw.Book(json=payload)
    xl.send_forms_button(book, setup)
    assert alerts(actions(book))[0].startswith(f"已发出第2期填报表 {len(campaign.reporting_units()) - 1} 封。")


def test_forms_already_written_are_attached_as_they_are(config, certificate, tmp_path):
    from xf_excel.pipeline import make_forms

    mailing = with_mail(config, ca_file=certificate[0])
    [written] = [p for p in make_forms(mailing, 2, tmp_path / "第2期填报表").paths if p.name == "第2期_南宁市_兴宁区.xlsx"]
    report = send_mail(mailing, 2, "forms", tmp_path / "a.sqlite", tmp_path / "out", dry_run=True,
                       units=[XINGNING, QINGXIU], forms_dir=tmp_path / "第2期填报表")
    message = email.message_from_bytes(report.outcomes[0].path.read_bytes(), policy=email.policy.default)
    assert _attachment(message) == (written.name, written.read_bytes())
    assert not (tmp_path / "out" / "第2期" / "填报表" / written.name).exists()      # not written a second time
