"""Contacts and the office mailbox in config.yaml; the send log and 已催报 N次 in 报送情况."""

from __future__ import annotations

import datetime as dt
import os
import stat

import pytest

from xf_excel.archive.store import Archive, NewSubmission
from xf_excel.config import parse_config
from xf_excel.consolidate import consolidate
from xf_excel.errors import ConfigError, MailError
from xf_excel.fronts.cli import main
from xf_excel.outputs.status import status_text

XINGNING, QINGXIU = "450102", "450103"
MAIL = """
mail:
  address: xfyb@example.gov.cn
  imap: {host: imap.example.gov.cn}
  smtp: {host: smtp.example.gov.cn, security: starttls}
"""


@pytest.fixture(scope="module")
def config_text(repo_root) -> str:
    return (repo_root / "config.yaml").read_text(encoding="utf-8")


def _with(text: str, contacts: str, mail: str = "") -> str:
    return text.replace("contacts: {}\n", contacts + "\n" + mail)


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "broken.yaml")
    return info.value.problems


def test_contacts_one_or_several_addresses(config_text):
    config = parse_config(_with(config_text, f'contacts:\n  "{XINGNING}": {{email: xn@example.gov.cn, person: 张三}}\n'
                                             f'  BM05: {{email: [a@zgh.gov.cn, b@zgh.gov.cn], phone: 0771-1}}'))
    assert config.addresses(XINGNING) == ["xn@example.gov.cn"]
    assert config.contacts[XINGNING].person == "张三"
    assert config.addresses("BM05") == ["a@zgh.gov.cn", "b@zgh.gov.cn"]
    assert config.addresses(QINGXIU) == []
    missing = config.units_without_contact()
    assert len(missing) == len(config.reporting_units()) - 2 and XINGNING not in [u.code for u in missing]


def test_a_bad_address_and_an_unknown_unit_are_named(config_text):
    problems = _problems(_with(config_text, 'contacts:\n  "450102": {email: 兴宁区扶贫办}\n'))
    assert problems == [f"contacts.450102.email（第{_line(config_text, 'contacts: {}')}行）：邮箱地址格式不对：兴宁区扶贫办"]
    problems = _problems(_with(config_text, 'contacts:\n  "459999": {email: x@example.gov.cn}\n'))
    assert problems[0].startswith("contacts.459999") and "不在 counties 或 member_units 中" in problems[0]


def _line(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line) + 1


def test_a_password_in_config_is_refused_with_what_to_do_instead(config_text):
    broken = _with(config_text, "contacts: {}", MAIL.replace("  address:", "  password: 123456\n  address:"))
    [problem] = _problems(broken)
    assert problem.startswith("mail（第") and "邮箱密码不能写在配置文件中" in problem and "XF_MAIL_PASSWORD" in problem
    assert "Value error" not in problem


def test_mail_defaults_tls_ports_and_login(config_text):
    config = parse_config(_with(config_text, "contacts: {}", MAIL))
    mail = config.mail
    assert (mail.imap.security, mail.imap.real_port, mail.imap.folder) == ("tls", 993, "INBOX")
    assert (mail.smtp.security, mail.smtp.real_port) == ("starttls", 587)
    assert mail.login == "xfyb@example.gov.cn" and mail.fetch_on_consolidate
    broken = _with(config_text, "contacts: {}", MAIL.replace("security: starttls", "security: none"))
    assert "mail.smtp.security" in _problems(broken)[0]


def test_the_password_comes_from_the_environment_or_a_private_file(config_text, tmp_path, monkeypatch):
    mail = parse_config(_with(config_text, "contacts: {}", MAIL)).mail
    monkeypatch.delenv("XF_MAIL_PASSWORD", raising=False)
    with pytest.raises(MailError, match="请设置环境变量 XF_MAIL_PASSWORD"):
        mail.password(tmp_path)
    monkeypatch.setenv("XF_MAIL_PASSWORD", "s3cret")
    assert mail.password(tmp_path) == "s3cret"
    secret = tmp_path / "pw.txt"
    secret.write_text("from-file\n", encoding="utf-8")
    secret.chmod(stat.S_IRUSR | stat.S_IWUSR)
    in_file = mail.model_copy(update={"password_file": "pw.txt"})
    assert in_file.password(tmp_path) == "from-file"          # relative to config.yaml's folder
    if os.name == "posix":
        secret.chmod(0o644)
        with pytest.raises(MailError, match="chmod 600"):
            in_file.password(tmp_path)


def test_config_check_lists_units_without_a_mailbox(repo_root, tmp_path, config_text):
    from click.testing import CliRunner

    path = tmp_path / "config.yaml"
    path.write_text(_with(config_text, f'contacts:\n  "{XINGNING}": {{email: xn@example.gov.cn}}', MAIL), encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(path), "config", "check"])
    assert result.exit_code == 0, result.output
    assert "联系邮箱：已登记 1 个单位，未登记 118 个（无法向其发送邮件）：南宁市青秀区、" in result.output
    assert "办公邮箱：xfyb@example.gov.cn" in result.output and "发件：smtp.example.gov.cn:587（starttls）" in result.output


# ---- the send log -------------------------------------------------------------------------------

def test_the_send_log_counts_what_the_server_accepted(tmp_path):
    with Archive(tmp_path / "a.sqlite") as archive:
        for status in ("sent", "refused", "sent", "sending"):
            sent = archive.begin_send(period=2, unit_code=XINGNING, kind="reminders", key=status, recipients=["x@y.cn"],
                                      subject="【催报】", message_id="<m>")
            if status != "sending":
                archive.finish_send(sent, status, "250 OK" if status == "sent" else "550 no such user")
        assert archive.times_sent(2, "reminders") == {XINGNING: 2}
        assert archive.times_sent(2, "forms") == {} and archive.times_sent(1, "reminders") == {}
        assert archive.sent_keys(2, "reminders") == {"sent"}
        assert [m.status for m in archive.sent_mail(2)] == ["sent", "refused", "sent", "sending"]
        assert archive.sent_mail(2)[1].reply == "550 no such user"


def test_status_shows_how_often_a_unit_was_reminded(tmp_path, config):
    with Archive(tmp_path / "a.sqlite") as archive:
        archive.record_submission(NewSubmission(unit_code=QINGXIU, period=2, accepted=True, values={}))
        for n in range(2):
            sent = archive.begin_send(period=2, unit_code=XINGNING, kind="reminders", key=f"day{n}",
                                      recipients=["x@y.cn"], subject="【催报】", message_id=f"<m{n}>")
            archive.finish_send(sent, "sent", "250 OK")
        c = consolidate(archive, config, 2, now=dt.datetime(2020, 9, 15, 9))
    status = {r.unit.code: r for r in c.reporting}
    assert (status[XINGNING].reminded, status[QINGXIU].reminded) == (2, 0)
    assert "【南宁市兴宁区】未报送（已催报 2次）" in status_text(c).splitlines()
    assert "【南宁市江南区】未报送" in status_text(c).splitlines()
    from openpyxl import load_workbook

    from xf_excel.outputs.master import write_master

    sheet = load_workbook(write_master(c, tmp_path / "master.xlsx"))["报送情况"]
    header = [cell.value for cell in sheet[3]]
    rows = {sheet.cell(r, 1).value: r for r in range(4, sheet.max_row + 1)}
    column = header.index("已催报") + 1
    assert sheet.cell(rows[XINGNING], column).value == "已催报 2次"
    assert sheet.cell(rows[QINGXIU], column).value is None


def test_the_excel_self_test_never_reads_the_office_mailbox(config_text, tmp_path):
    """selftest-excel runs 汇总 on demo data with a copy of the office's config: without the
    mailbox, or it would fetch (and mark as taken) the office's real mail into a scratch archive."""
    from xf_excel.config import load_config
    from xf_excel.fronts.excel.commands import _copy_without_mail

    source = tmp_path / "office.yaml"
    source.write_text(_with(config_text, f'contacts:\n  "{XINGNING}": {{email: xn@example.gov.cn}}', MAIL),
                      encoding="utf-8")
    assert load_config(source).mail is not None
    _copy_without_mail(source, tmp_path / "copy.yaml")
    copied = load_config(tmp_path / "copy.yaml")
    assert copied.mail is None and copied.addresses(XINGNING) == ["xn@example.gov.cn"]
