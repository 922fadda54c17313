"""The demo's month: forms out, simulated people fill them in and send them, intake, master
and briefing — every step through the real use cases of `xf_excel.pipeline`.

With `mail`, the month runs on real mail servers started on this machine (`mailservers`):
forms, feedback and reminders go out over SMTP, the units' returns arrive in the office's
IMAP mailbox (Dovecot), and intake fetches them from there instead of an inbox folder."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import ssl
import tempfile
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional

from ..config import Config, Contact, ImapSettings, MailSettings, SmtpSettings
from ..consolidate import Consolidation
from ..outputs.briefing import BriefingResult
from ..pipeline import (
    SUMMARY_FOLDER, CampaignSummary, IntakeReport, MailFetch, SendReport, brief, consolidate_period, fetch_mail,
    final_period, intake_inbox, make_forms, master_filename, send_mail, summarize, write_master_workbook,
)
from ..outputs.status import status_text
from ..outputs.textfile import write_text_file
from .simulate import campaign_of, first_intake_at, mail_inbox, simulate, unit_mailbox, write_inbox

__all__ = ["run_demo", "DemoPeriod", "OFFICE_MAILBOX"]

OFFICE_MAILBOX = "office@example.gov.cn"      # where the simulated clerks send their returns


@dataclass
class DemoPeriod:
    """What the demo did in one period (with `mail`: what was sent and fetched)."""

    period: int
    forms: int
    intake: list[IntakeReport]
    consolidation: Consolidation
    master: Path
    briefing: BriefingResult
    folder: Path
    sent: list[SendReport] = field(default_factory=list)
    fetched: list[MailFetch] = field(default_factory=list)
    summary: Optional[CampaignSummary] = None       # the campaign's last period: the campaign-end report


def run_demo(config: Config, out_dir: str | Path, seed: int = 2020, periods: Optional[list[int]] = None,
             units: Optional[int] = None, on_period: Optional[Callable[[DemoPeriod], None]] = None,
             mail: bool = False) -> list[DemoPeriod]:
    """Simulate the campaign with the real pipeline: for each period, forms go out, simulated
    people fill them in and send them (two delivery batches: first returns, then corrections),
    intake reads them, and the master workbook and the briefing are written; after the
    campaign's last period, the campaign-end report (`活动总结/`). With `mail`,
    through local SMTP and IMAP servers (Dovecot must be installed).

    Starts from an empty archive in `out_dir` every time; deterministic for a seed."""
    out_dir = Path(out_dir)
    archive_path = out_dir / "档案库.sqlite"
    for stale in (archive_path, Path(str(archive_path) + "-wal"), Path(str(archive_path) + "-shm")):
        stale.unlink(missing_ok=True)
    sim = simulate(config, seed=seed, units=units)
    config = campaign_of(sim)
    with ExitStack() as stack:
        servers = stack.enter_context(_mail_servers(sim, config)) if mail else None
        if servers is not None:
            config = servers.config
        results = []
        for number in periods or [p.number for p in config.periods]:
            result = _period(sim, config, number, out_dir, archive_path, servers)
            results.append(result)
            if on_period:
                on_period(result)
    return results


def _period(sim, config: Config, number: int, out_dir: Path, archive_path: Path, servers) -> DemoPeriod:
    folder = out_dir / f"第{number}期"
    forms = make_forms(config, number, folder / "1_填报表", archive_path)
    sent, fetched, reports = [], [], []
    if servers is not None:
        sent.append(send_mail(config, number, "forms", archive_path, folder / "0_发件", forms_dir=folder / "1_填报表"))
    for batch in (1, 2):
        inbox = folder / "2_收件箱" / f"第{batch}批"
        write_inbox(sim, number, batch, folder / "1_填报表", inbox)
        if servers is None:
            # the office reads batch 1 at first_intake_at, the corrections a day later
            at = first_intake_at(config, number) + dt.timedelta(days=batch - 1)
            reports.append(intake_inbox(config, inbox, number, archive_path, folder / "3_退回", now=at))
            continue
        servers.deliver(mail_inbox(sim, number, batch, folder / "1_填报表"))
        fetched.append(fetch_mail(config, number, archive_path, folder / "3_退回"))
        reports.append(fetched[-1].intake)
        if batch == 1:      # the office answers the first batch: feedback to those sent back, 催报 to the missing
            now = first_intake_at(config, number)
            sent += [send_mail(config, number, kind, archive_path, folder / "0_发件", forms_dir=folder / "1_填报表",
                               now=now) for kind in ("feedback", "reminders")]
    # the office's clock in the simulation: the day after the corrections came in
    consolidation = consolidate_period(config, number, archive_path, now=first_intake_at(config, number)
                                       + dt.timedelta(days=2))
    master = write_master_workbook(consolidation, folder / f"4_{master_filename(config, number)}")
    # dated as the office would have issued it: the day of the period's deadline
    briefing = brief(consolidation, folder / "5_简报", issue_date=config.period(number).deadline.date())
    write_text_file(folder / "6_报送情况.txt", status_text(consolidation) + "\n")
    summary = None
    if number == final_period(config):
        # dated as config says the office issues it (the plan's 成果展示 in early October)
        summary = summarize(consolidation, out_dir / SUMMARY_FOLDER,
                            issue_date=config.campaign.summary.date or config.period(number).deadline.date(),
                            archive_path=archive_path)
    return DemoPeriod(number, len(forms.paths), reports, consolidation, master, briefing, folder, sent, fetched,
                      summary)


@dataclass
class _Servers:
    """The demo's SMTP and IMAP servers, and the campaign pointed at them."""

    config: Config
    imap_port: int
    password: str
    context: ssl.SSLContext

    def deliver(self, mails: list[bytes]) -> None:
        """The units' mail servers deliver their returns into the office's mailbox."""
        from .mailservers import append_message

        append_message("127.0.0.1", self.imap_port, OFFICE_MAILBOX, self.password, mails, self.context)


@contextmanager
def _mail_servers(sim, config: Config) -> Iterator[_Servers]:
    """aiosmtpd and Dovecot on loopback with a certificate made for them, a password made for
    the run (handed to the pipeline the way an office does: XF_MAIL_PASSWORD), and every
    simulated unit's mailbox registered as its contact."""
    from .mailservers import Dovecot, SmtpServer, self_signed_certificate

    folder = Path(tempfile.mkdtemp(prefix="xf-demo-mail-"))
    folder.chmod(0o711)                      # Dovecot's unprivileged user passes through to its own folder
    password = secrets.token_urlsafe(12)
    saved = os.environ.get("XF_MAIL_PASSWORD")
    try:
        cert, key = self_signed_certificate(folder / "tls")
        with SmtpServer(cert, key, users={OFFICE_MAILBOX: password}) as smtp, \
                Dovecot(folder / "imap", cert, key, users={OFFICE_MAILBOX: password}) as imap:
            os.environ["XF_MAIL_PASSWORD"] = password
            mailing = config.model_copy(update={
                "contacts": {u.code: Contact(email=[unit_mailbox(sim, u.code)]) for u in config.reporting_units()},
                "mail": MailSettings(address=OFFICE_MAILBOX, ca_file=str(cert), timeout=30,
                                     smtp=SmtpSettings(host="127.0.0.1", port=smtp.port),
                                     imap=ImapSettings(host="127.0.0.1", port=imap.port))})
            yield _Servers(mailing, imap.port, password, ssl.create_default_context(cafile=str(cert)))
    finally:
        if saved is None:
            os.environ.pop("XF_MAIL_PASSWORD", None)
        else:
            os.environ["XF_MAIL_PASSWORD"] = saved
        shutil.rmtree(folder, ignore_errors=True)
