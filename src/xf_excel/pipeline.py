"""The use cases — the only orchestration. The fronts (the command line, the Excel buttons,
the server) call these, the shared vocabulary (config, errors, issues, wording, contract) and
nothing else; every result is typed and carries its issues and notes."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence

from .archive.locking import archive_lock
from .archive.store import Archive, Batch, EarlierOutcome, NewSubmission, moment, same_moment, sha256
from .config import Config
from .contract import PREVIOUS_LABEL
from .errors import ArchiveError, IntakeError, NotConfigured, NothingToReport, XfError
from .issues import HasIssues, Issue, IssueCode, Severity
from .outputs.charts import ChartPainter, Painter
from .wording import fmt_deadline

if TYPE_CHECKING:
    from .checks.entries import ManualEntry
    from .consolidate import Consolidation
    from .intake.workbooks import WorkbookReader
    from .outputs.briefing import BriefingResult as Briefing

__all__ = [
    "config_summary", "make_forms", "FormsResult", "intake_inbox", "intake_uploads", "UPLOAD_LABEL", "IntakeReport",
    "FileOutcome", "consolidate_period", "write_master_workbook", "brief",
    "brief_period", "refresh_master", "MasterRefresh",
    "run_week", "WeekResult", "status_report", "StatusReport", "issue_sheet_rows", "validate_book", "validate_grids",
    "check_book", "BookCheck", "master_filename", "FEEDBACK_FOLDER", "BRIEFING_FOLDER", "blank_consolidation",
    "empty_consolidation", "add_master_sheets", "write_atomically", "write_text_file", "send_mail", "SendReport",
    "SendOutcome", "SEND_KINDS", "fetch_mail", "MailFetch", "FetchedMessage", "fetches_mail", "rebuild_master",
    "undo_intake", "UndoResult", "WITHDRAWN_FOLDER", "FormsBundle", "make_forms_bundle", "FORMS_FOLDER",
    "ALL_FORMS_LABEL", "MEMBER_FORMS_LABEL", "feedback_filename", "current_period", "summarize_campaign",
    "summarize", "CampaignSummary", "final_period", "SUMMARY_FOLDER",
]


def config_summary(config: Config) -> dict[str, Any]:
    """What `xf-excel config check` prints: periods, units, indicators per activity, targets."""
    counties = [u for u in config.units.values() if u.kind == "county"]
    members = [u for u in config.reporting_units() if u.kind == "member"]
    return {
        "campaign": config.campaign.name,
        "start": config.campaign.start.isoformat(),
        "end": config.campaign.end.isoformat(),
        "periods": [{"number": p.number, "cutoff": p.cutoff.isoformat(), "deadline": f"{p.deadline:%Y-%m-%d %H:%M}"}
                    for p in config.periods],
        "units": {"total": len(counties) + len(members), "counties": len(counties), "cities": len(config.cities),
                  "members": len(members)},
        "levels": {"region": config.campaign.region.short_name, **config.campaign.levels.model_dump()},
        "activities": [{"id": a.id, "name": a.short_name,
                        "reported": sum(1 for i in config.indicators if i.activity == a.id and not i.derived),
                        "derived": sum(1 for i in config.indicators if i.activity == a.id and i.derived)}
                       for a in config.activities],
        "targets": [{"indicator": t.indicator, "name": config.indicator(t.indicator).name, "op": t.op,
                     "value": _target_text(t.value, config.indicator(t.indicator).kind),
                     "unit": "" if config.indicator(t.indicator).kind == "ratio" else config.indicator(t.indicator).unit,
                     "scope": config.campaign.region.short_name if t.scope == "region"
                     else config.county_groups[t.scope].name}
                    for t in config.targets],
        "rules": len(config.rules),
        "details": [d.name for d in config.details],
        "contacts": {"registered": len(config.reporting_units()) - len(config.units_without_contact()),
                     "missing": [u.full_name for u in config.units_without_contact()]},
        "mail": _mail_summary(config),
    }


def _mail_summary(config: Config) -> Optional[dict[str, Any]]:
    mail = config.mail
    if mail is None:
        return None
    return {"address": mail.address, "login": mail.login,
            "imap": f"{mail.imap.host}:{mail.imap.real_port}（{mail.imap.security}，{mail.imap.folder}）" if mail.imap else None,
            "smtp": f"{mail.smtp.host}:{mail.smtp.real_port}（{mail.smtp.security}）" if mail.smtp else None,
            "password": f"文件 {mail.password_file}" if mail.password_file else f"环境变量 {mail.password_env}"}


def _target_text(value: float, kind: str) -> str:
    return f"{value:.0%}" if kind == "ratio" else f"{value:g}"


# ---- intake --------------------------------------------------------------------------------

@dataclass
class FileOutcome:
    """What happened to one received file. `message` says it in one Chinese sentence; a file
    taken in before (`earlier`) reports what it came to then, with the issues found then."""

    display: str
    status: str   # accepted | warned | rejected | duplicate | not-a-return | unreadable | skipped
    unit_code: Optional[str] = None
    sha256: Optional[str] = None
    submission_id: Optional[int] = None
    issues: list[Issue] = field(default_factory=list)
    feedback: Optional[Path] = None
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)   # (indicator, before, after) on resubmission
    earlier: Optional[EarlierOutcome] = None     # a duplicate of a file taken in by an earlier run
    same_as: Optional[str] = None                # a duplicate of a file earlier in this batch
    message: str = ""
    read: bool = False                           # it was read as a workbook (whether or not it is a return)

    @property
    def result(self) -> str:
        """What the file came to: its status, or for a duplicate the status of what it repeats."""
        if self.earlier is not None:
            return _earlier_status(self.earlier)
        return self.status

    def to_dict(self) -> dict[str, Any]:
        earlier = self.earlier
        return {"file": self.display, "status": self.status, "message": self.message, "read": self.read,
                "unit": self.unit_code,
                "sha256": self.sha256, "submission_id": self.submission_id,
                "feedback": str(self.feedback) if self.feedback else None,
                "issues": [i.to_dict() for i in self.issues],
                "changes": [{"indicator": k, "before": a, "after": b} for k, a, b in self.changes],
                "same_as": self.same_as,
                "earlier": None if earlier is None else {
                    "status": _earlier_status(earlier), "period": earlier.period, "unit": earlier.unit_code,
                    "taken_at": earlier.taken_at, "submission_id": earlier.submission_id}}


_NEEDS_ATTENTION = ("rejected", "not-a-return", "unreadable")


@dataclass
class IntakeReport:
    """The outcome of taking in one inbox for one period."""

    period: int
    inbox: Path
    files: list[FileOutcome] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)     # things the user should know (Chinese)
    batch_id: Optional[int] = None                       # the archive's record of this intake

    def count(self, *statuses: str) -> int:
        return sum(1 for f in self.files if f.status in statuses)

    @property
    def wrong_period(self) -> int:
        """Returns that state another period than the one taken in."""
        return sum(1 for f in self.files if any(i.code is IssueCode.WRONG_PERIOD for i in f.issues))

    @property
    def period_mistyped(self) -> bool:
        """Most returns state another period: the period asked for was probably wrong (undo it)."""
        returns = sum(1 for f in self.files if f.unit_code)
        return bool(returns) and self.wrong_period * 2 >= returns

    @property
    def empty(self) -> bool:
        """Nothing at all was found in the inbox."""
        return not self.files

    @property
    def ok(self) -> bool:
        """True when nothing was rejected or unreadable, now or (for files taken in again) before."""
        return not any(f.result in _NEEDS_ATTENTION for f in self.files)

    def summary(self) -> dict[str, int]:
        return {"files": len(self.files), "accepted": self.count("accepted", "warned"),
                "warned": self.count("warned"), "rejected": self.count("rejected"),
                "not_a_return": self.count("not-a-return", "unreadable"), "duplicate": self.count("duplicate"),
                "taken_before": sum(1 for f in self.files if f.earlier is not None),
                "skipped": self.count("skipped")}

    def to_dict(self) -> dict[str, Any]:
        return {"period": self.period, "inbox": str(self.inbox), "summary": self.summary(),
                "notices": self.notices, "files": [f.to_dict() for f in self.files]}


def intake_inbox(config: Config, inbox: str | Path, period: int, archive_path: str | Path,
                 feedback_dir: str | Path, progress: Optional[Callable[[int, int], None]] = None,
                 again: Sequence[str] = (), now: Optional[dt.datetime] = None) -> IntakeReport:
    """Read, check and archive every return in `inbox` for `period`; write feedback workbooks.

    Each file's raw bytes are archived (by hash) before it is parsed; the same file taken in
    twice is not checked again: its outcome is the one archived then (a rerun after a crash
    reports every file). `again` names files (as listed, or by file name) to take in again on
    purpose: a file skipped by its name, or one taken in before. A file that cannot be read
    becomes issues, and the rest of the batch goes on. `now` is when the feedback workbooks
    are sent (default: now).

        >>> report = intake_inbox(config, "inbox/第2期", 2, "data/xf.sqlite", "out/退回")
        >>> report.summary()["rejected"]
        3
    """
    from .intake.collect import collect_inbox
    from .intake.workbooks import WorkbookReader

    inbox = Path(inbox)
    config.period(period)
    with WorkbookReader() as reader:
        if _holds_files(inbox):
            reader.start()                     # the workers start up while the inbox is collected
        files, skipped = collect_inbox(inbox, take=again)
        report = _take_in(config, IntakeReport(period=period, inbox=inbox), files, skipped, archive_path,
                          feedback_dir, progress, again, now, reader=reader)
    if report.empty:
        report.notices.append(f"收件文件夹 {inbox} 是空的，没有找到任何文件；请先把收到的附件（或整封邮件）保存到该文件夹，再重新收取")
    return report


UPLOAD_LABEL = "网页上传"


def intake_uploads(config: Config, uploads: list[tuple[str, bytes]], period: int, archive_path: str | Path,
                   feedback_dir: str | Path, progress: Optional[Callable[[int, int], None]] = None, *,
                   received_at: Optional[dt.datetime] = None) -> IntakeReport:
    """`intake_inbox` for files handed over directly (the browser console's upload): each
    (name, content) is taken exactly as a file of that name in the inbox would be — archived by
    hash first, mails and zips opened, the same limits, the same checks and feedback. A plain
    file counts as received at `received_at` (default: now); a mail keeps its own Date.

        >>> report = intake_uploads(config, [("第2期_南宁市_武鸣区.xlsx", data)], 2, "data/xf.sqlite", "out/退回")
    """
    from .intake.collect import collect_uploads

    config.period(period)
    files, skipped = collect_uploads(uploads, (received_at or dt.datetime.now()).isoformat(timespec="seconds"))
    return _take_in(config, IntakeReport(period=period, inbox=Path(UPLOAD_LABEL)), files, skipped, archive_path,
                    feedback_dir, progress)


def _holds_files(folder: Path) -> bool:
    """True when `folder` is a folder with anything in it (looked at without reading anything)."""
    try:
        with os.scandir(folder) as entries:
            return next(entries, None) is not None
    except OSError:
        return False


def _take_in(config: Config, report: IntakeReport, files: list, skipped: list[Issue], archive_path: str | Path,
             feedback_dir: str | Path, progress: Optional[Callable[[int, int], None]],
             again: Sequence[str] = (), now: Optional[dt.datetime] = None,
             reader: Optional[WorkbookReader] = None) -> IntakeReport:
    """The files collected from an inbox folder or a mailbox: archived raw first, then read,
    checked, recorded, fed back — one outcome each, in the order collected; each with its
    one Chinese sentence. `now` is when the feedback goes out. `reader` is the caller's (its
    workers perhaps started already); without one, one is made for the batch."""
    from .intake.workbooks import WorkbookReader

    report.files += [FileOutcome(display=i.file, status=_file_status(i), issues=[i]) for i in skipped]
    with contextlib.ExitStack() as stack:
        reader = reader or stack.enter_context(WorkbookReader())
        stack.enter_context(archive_lock(archive_path))
        archive = stack.enter_context(Archive(archive_path))
        if archive.notice:
            report.notices.append(archive.notice)
        batch = _Batch(config, archive, report.period, _peer_values(config, archive, report.period),
                       Path(feedback_dir), archive.begin_batch(report.period, str(report.inbox)),
                       now=now or dt.datetime.now())
        fresh, outcomes = batch.sort_out(files, again)
        digests = {id(f): digest for f, digest in fresh}
        for done, (received, read) in enumerate(reader.read_many([f for f, _ in fresh]), start=1):
            outcomes[id(received)] = batch.take_in(received, read, digests[id(received)])
            if progress:
                progress(done, len(fresh))
        archive.note_batch_outputs(batch.batch_id, [str(o.feedback) for o in outcomes.values()
                                                    if o.feedback and o.earlier is None])
        report.notices += batch.notices
    report.files += [outcomes[id(f)] for f in files]
    report.batch_id = batch.batch_id
    _describe(config, report)
    return report


@dataclass
class _Batch:
    """What taking in one file needs from its batch."""

    config: Config
    archive: Archive
    period: int
    peers: dict[str, list[float]]
    feedback_dir: Path
    batch_id: int                                             # the archive's record of this intake
    now: dt.datetime = field(default_factory=dt.datetime.now)   # when the feedback goes out
    feedback_names: set[str] = field(default_factory=set)   # written in this batch: never overwrite one
    notices: list[str] = field(default_factory=list)        # what the office should know (Chinese)

    def sort_out(self, files: list, again: Sequence[str]) -> tuple[list, dict[int, FileOutcome]]:
        """Store every file's raw bytes before anything parses them, and sort the batch: files
        to read, (file, digest) in order; and the outcomes known already (by id of the file):
        duplicates of a file earlier in the batch or taken in before (reported as archived
        then), and our own feedback workbooks come back unchanged."""
        fresh: list = []
        known: dict[int, FileOutcome] = {}
        first_of: dict[str, Any] = {}
        for received in files:
            digest = sha256(received.content)
            if self.archive.is_feedback(digest):
                known[id(received)] = _own_feedback(received)
                continue
            self.archive.add_file(received.content, received.name, _origin(received))
            if digest in first_of:
                known[id(received)] = FileOutcome(display=received.display, status="duplicate", sha256=digest,
                                                  same_as=first_of[digest].display)
                continue
            first_of[digest] = received
            earlier = None if _named(received, again) else self.archive.earlier_outcome(digest)
            if earlier is None:
                fresh.append((received, digest))
            else:
                known[id(received)] = self.taken_before(received, digest, earlier)
        return fresh, known

    def taken_before(self, received, digest: str, earlier: EarlierOutcome) -> FileOutcome:
        """A file an earlier run took in: its outcome then, and the feedback workbook it should
        have had if that run ended before writing it."""
        outcome = FileOutcome(display=received.display, status="duplicate", unit_code=earlier.unit_code,
                              sha256=digest, submission_id=earlier.submission_id, issues=list(earlier.issues),
                              feedback=Path(earlier.feedback) if earlier.feedback else None, earlier=earlier)
        if outcome.feedback is None and _earlier_status(earlier) in ("rejected", "warned"):
            unit = self.config.units.get(earlier.unit_code) if earlier.unit_code else None
            self.send_back(outcome, received, None, unit, digest, period=earlier.period)
        return outcome

    def take_in(self, received, read, digest: str) -> FileOutcome:
        """One file read safely (`read`): check it, record it, write feedback. Whatever goes
        wrong with one file becomes that file's issue and the batch goes on; only the archive
        failing (or another fatal error) ends it."""
        try:
            outcome = self._take_in(received, read, digest)
        except (XfError, sqlite3.Error):
            raise
        except Exception as error:             # noqa: BLE001 - one file must never end the batch
            outcome = self.failed(received, digest, error)
        outcome.read = read.workbook is not None
        return outcome

    def failed(self, received, digest: str, error: Exception) -> FileOutcome:
        """A file whose checking broke off: archived with an issue saying so."""
        issue = Issue.of(IssueCode.UNREADABLE_FILE, Severity.ERROR, file=received.display, what="文件",
                         reason="已读取，但校验时程序出错，未能完成校验", advice="文件已存档；请联系技术人员检查。",
                         details=_technical(error))
        self.archive.record_file_issues(digest, [issue], period=self.period, batch_id=self.batch_id)
        return FileOutcome(display=received.display, status="unreadable", sha256=digest, issues=[issue])

    def _take_in(self, received, read, digest: str) -> FileOutcome:
        from .checks.read import read_return

        if read.workbook is None:
            self.archive.record_file_issues(digest, read.issues, period=self.period, batch_id=self.batch_id)
            return FileOutcome(display=received.display, status=_file_status(*read.issues), sha256=digest,
                               issues=read.issues)
        reading = read_return(read.workbook, self.config)
        if reading.form is None:
            return self.not_understood(received, read.workbook, reading.issues, digest)
        return self.checked(received, read.workbook, reading.form, digest)

    def not_understood(self, received, workbook, issues: list[Issue], digest: str) -> FileOutcome:
        """A workbook that is not a return of this campaign (or whose unit cannot be told)."""
        unit_code = issues[0].unit if issues else None
        self.archive.record_file_issues(digest, issues, period=self.period, unit_code=unit_code, batch_id=self.batch_id)
        outcome = FileOutcome(display=received.display, status=_file_status(*issues), sha256=digest, issues=issues)
        if outcome.status != "not-a-return":   # a workbook of another kind needs the form, not itself back
            self.send_back(outcome, received, workbook, self.config.units.get(unit_code) if unit_code else None,
                           digest)
        return outcome

    def checked(self, received, workbook, form, digest: str) -> FileOutcome:
        """A return whose structure was understood: every check, then the archive."""
        from .checks.validate import validate_return

        archive, period = self.archive, self.period
        previous = archive.latest_accepted_before(form.unit_code, period)
        checked = validate_return(form, self.config, period, previous.values if previous else None, self.peers)
        before = archive.accepted_for(checked.unit_code, period)
        sub_id = archive.record_submission(_new_submission(checked, received, digest, self.batch_id))
        outcome = FileOutcome(display=received.display, unit_code=checked.unit_code, sha256=digest,
                              submission_id=sub_id, issues=list(checked.issues),
                              status="rejected" if not checked.accepted else ("warned" if checked.issues else "accepted"))
        if before is not None and checked.accepted:
            self.compare_with(before, sub_id, received, checked, outcome)
        self.send_back(outcome, received, workbook, checked.unit, digest)
        return outcome

    def compare_with(self, before, sub_id: int, received, checked, outcome: FileOutcome) -> None:
        """A second accepted return of the unit: the later received counts (the archive decides);
        say when this one came too early to count, and ask when the two cannot be told apart."""
        counting = self.archive.accepted_for(checked.unit_code, self.period)
        if counting.id == sub_id:
            outcome.changes = _changes(before.values, checked.values)
        else:
            self.notices.append(f"「{received.display}」的接收时间早于已收到的「{before.file_name}」，已存档，"
                                f"但不替换其数据（以后收到的一份为准）")
        if same_moment(before.received_at, received.received_at):
            other = before if counting.id == sub_id else self.archive.submission(sub_id)
            tie = Issue.of(IssueCode.SAME_TIME_RETURNS, Severity.WARNING, file=counting.file_name,
                           unit=checked.unit_code, unit_name=checked.unit.full_name, period=self.period,
                           counted=counting.file_name, other=other.file_name,
                           when=fmt_deadline(moment(counting.received_at)))
            self.archive.add_issues(counting.id, [tie], batch_id=self.batch_id)
            self.notices.append(tie.message)

    def send_back(self, outcome: FileOutcome, received, workbook, unit, digest: str,
                  period: Optional[int] = None) -> None:
        """The feedback workbook of a return with issues, noted in the archive. Failing to write
        one is a notice, never the end of the batch: the return itself is already archived."""
        if not outcome.issues:
            return                             # before the import: a clean batch never loads openpyxl
        from .outputs.feedback import write_feedback

        period = self.period if period is None else period
        content = workbook.content if workbook is not None and workbook.content else received.content
        try:
            outcome.feedback = write_feedback(content, received.name, outcome.issues, self.config, unit,
                                              period, self.feedback_dir, received=workbook,
                                              taken=self.feedback_names, now=self.now)
            self.archive.record_feedback(digest, period, outcome.feedback, outcome.feedback.read_bytes())
        except (XfError, sqlite3.Error):
            raise
        except Exception as error:             # noqa: BLE001 - any writer failure: a notice on this file
            reason = "（无法写入反馈表文件夹）" if isinstance(error, OSError) else ""
            outcome.issues.append(Issue.of(IssueCode.FEEDBACK_NOT_WRITTEN, Severity.WARNING, file=received.display,
                                           reason=reason, details=_technical(error)))


def _technical(error: BaseException) -> str:
    """An exception as one line for Issue.details: its type, text and where it was raised."""
    frame = traceback.extract_tb(error.__traceback__)[-1:] if error.__traceback__ else []
    where = f" ({Path(frame[0].filename).name}:{frame[0].lineno})" if frame else ""
    return f"{type(error).__name__}: {str(error)[:200]}{where}"


def _file_status(*issues: Issue) -> str:
    codes = {i.code for i in issues}
    if codes == {IssueCode.SKIPPED_FILE}:
        return "skipped"
    if codes & {IssueCode.NOT_A_RETURN}:
        return "not-a-return"
    if codes & {IssueCode.UNREADABLE_FILE, IssueCode.UNSAFE_FILE, IssueCode.ENCRYPTED_FILE}:
        return "unreadable"
    return "rejected"


def _earlier_status(earlier: EarlierOutcome) -> str:
    """An archived outcome in the words of FileOutcome.status."""
    if earlier.status == "file":
        return _file_status(*earlier.issues)
    if earlier.status == "rejected":
        return "rejected"
    return "warned" if earlier.issues else "accepted"


def _named(received, again: Sequence[str]) -> bool:
    """True when the user asked to take this file in again (by its listed place or its name)."""
    wanted = {Path(a).as_posix().strip("/") for a in again}
    return bool(wanted & {received.display, received.name}) or any(w.endswith("/" + received.display)
                                                                   for w in wanted)


def _own_feedback(received) -> FileOutcome:
    issue = Issue.of(IssueCode.SKIPPED_FILE, Severity.WARNING, file=received.display, value="本系统写出的反馈表",
                     reason="这是本系统写出的反馈表，未经修改，不是收到的报表")
    return FileOutcome(display=received.display, status="skipped", issues=[issue])


def _describe(config: Config, report: IntakeReport) -> None:
    """Give every outcome its one Chinese sentence."""
    by_display = {f.display: f for f in report.files}
    for outcome in report.files:
        outcome.message = _sentence(config, outcome, by_display.get(outcome.same_as or ""), report.period)


def _sentence(config: Config, outcome: FileOutcome, first: Optional[FileOutcome], period: int) -> str:
    name = f"文件「{outcome.display}」"
    if outcome.same_as is not None:
        then = f"，按重复报送处理（{_result_words(first.result)}）" if first else "，按重复报送处理"
        return f"{name}与同批收到的「{outcome.same_as}」内容完全相同{then}。"
    if outcome.earlier is not None:
        earlier = outcome.earlier
        when = f"第{earlier.period}期、" if earlier.period not in (None, period) else ""
        return (f"{name}此前已收取（{when}{earlier.taken_at.replace('T', ' ')}），当时的结果：{_result_words(outcome.result)}"
                f"{_about(config, outcome)}。")
    if outcome.status in ("accepted", "warned", "rejected"):
        return f"{name}{_result_words(outcome.status)}{_about(config, outcome)}。"
    return outcome.issues[0].message if outcome.issues else f"{name}{_result_words(outcome.status)}。"


def _result_words(status: str) -> str:
    return {"accepted": "已接收", "warned": "已接收（有警告）", "rejected": "已退回", "duplicate": "重复",
            "not-a-return": "不是报表", "unreadable": "无法读取", "skipped": "已跳过"}.get(status, status)


def _about(config: Config, outcome: FileOutcome) -> str:
    """'：南宁市武鸣区，2 个错误、1 个警告' (who, and how many issues)."""
    unit = config.units.get(outcome.unit_code) if outcome.unit_code else None
    errors = sum(1 for i in outcome.issues if i.blocking)
    warnings = len(outcome.issues) - errors
    counts = "、".join(t for t in (f"{errors} 个错误" if errors else "", f"{warnings} 个警告" if warnings else "") if t)
    parts = [p for p in (unit.full_name if unit else "", counts) if p]
    return f"：{'，'.join(parts)}" if parts else ""


def _origin(received) -> dict[str, Any]:
    return {"display": received.display, "container": received.container, "sender": received.sender,
            "subject": received.subject, "received_at": received.received_at}


def _new_submission(checked, received, digest: str, batch_id: int) -> NewSubmission:
    return NewSubmission(batch_id=batch_id,
        unit_code=checked.unit_code, period=checked.period, accepted=checked.accepted, values=dict(checked.values),
        cells=dict(checked.cells), details=dict(checked.details), issues=list(checked.issues), source="file",
        file_sha256=digest, file_name=received.display, sender=received.sender,
        template_version=checked.template_version or "", received_at=received.received_at,
        header={label: text for label, text in checked.header.items() if text}, narrative=list(checked.narrative))


def _changes(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    keys = list(dict.fromkeys([*before, *after]))
    return [(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]


def _peer_values(config: Config, archive: Archive, period: int) -> dict[str, list[float]]:
    """Each indicator's latest accepted county figures (this period, else the last one): the
    peers a new figure is compared with."""
    peers: dict[str, list[float]] = {}
    for code, numbers in archive.latest_numbers(period).items():
        if code in config.units and config.units[code].kind == "county":
            for ind, value in numbers.items():
                peers.setdefault(ind, []).append(float(value))
    return peers


# ---- forms ---------------------------------------------------------------------------------

@dataclass
class FormsResult:
    """The forms written for a period, and what the user should know (Chinese notes)."""

    period: int
    paths: list[Path]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"period": self.period, "forms": [str(p) for p in self.paths], "notes": self.notes}


def make_forms(config: Config, period: int, out_dir: str | Path, archive_path: str | Path | None = None,
               progress: Optional[Callable[[int, int], None]] = None) -> FormsResult:
    """Write a return form for every reporting unit, pre-filled with last period's accepted
    figures and detail rows (专柜明细) from the archive (when it exists)."""
    from .outputs.forms import write_forms

    config.period(period)
    previous: dict[str, dict[str, Any]] = {}
    details: dict[str, dict[str, list[dict[str, Any]]]] = {}
    if archive_path is not None and Path(archive_path).exists():
        with Archive(archive_path) as archive:
            for unit in config.reporting_units():
                earlier = archive.latest_accepted_before(unit.code, period)
                if earlier is not None:
                    previous[unit.code], details[unit.code] = earlier.values, earlier.details
    paths = write_forms(config, period, Path(out_dir), previous, progress=progress, previous_details=details)
    return FormsResult(period, paths, notes=_previous_figures_notes(config, period, archive_path, previous))


def _previous_figures_notes(config: Config, period: int, archive_path: str | Path | None,
                            previous: dict[str, dict[str, Any]]) -> list[str]:
    """Say so when a form after the first period goes out without last period's figures:
    usually a mistyped archive path, which would otherwise pass unnoticed."""
    if previous or period <= config.periods[0].number or archive_path is None:
        return []
    if not Path(archive_path).exists():
        return [f"找不到档案库 {archive_path}，没有找到往期数据：填报表的“{PREVIOUS_LABEL}”一栏为空。"
                "如果档案库在别处，请指定正确的档案库后重新生成填报表"]
    return [f"档案库 {archive_path} 中没有第{period}期以前已接收的报表：填报表的“{PREVIOUS_LABEL}”一栏为空"]


@dataclass
class FormsBundle:
    """The forms of a period, and zips of them to hand out: every form, and each city's."""

    forms: FormsResult
    zips: list[tuple[str, Path]]        # (label: 全部 / a city's name / 成员单位, zip file)

    def to_dict(self) -> dict[str, Any]:
        return {**self.forms.to_dict(), "zips": [{"label": label, "zip": str(path)} for label, path in self.zips]}


ALL_FORMS_LABEL, MEMBER_FORMS_LABEL = "全部", "成员单位"


def make_forms_bundle(config: Config, period: int, out_dir: str | Path, archive_path: str | Path | None = None,
                      progress: Optional[Callable[[int, int], None]] = None) -> FormsBundle:
    """生成填报表 for handing out in one download: the forms (in `out_dir`/填报表), one zip of
    them all and one per city (its counties) and one of the member units' forms, beside them."""
    from .outputs.bundle import write_bundle

    out_dir = Path(out_dir)
    result = make_forms(config, period, out_dir / FORMS_FOLDER, archive_path, progress=progress)
    by_unit = list(zip(config.reporting_units(), result.paths))
    groups = [(ALL_FORMS_LABEL, result.paths)]
    groups += [(city.name, [p for u, p in by_unit if u.kind == "county" and u.city_code == city.code])
               for city in config.cities]
    groups.append((MEMBER_FORMS_LABEL, [p for u, p in by_unit if u.kind == "member"]))
    zips = [(label, write_bundle(paths, out_dir / f"第{period}期填报表_{label}.zip"))
            for label, paths in groups if paths]
    return FormsBundle(forms=result, zips=zips)


# ---- consolidation, master, briefing --------------------------------------------------------

def consolidate_period(config: Config, period: int, archive_path: str | Path,
                       now: Optional[dt.datetime] = None) -> Consolidation:
    """The consolidation of `period` from the archive (nothing is written); `now` is the
    moment reminders are written for (default: now)."""
    from .consolidate import consolidate

    config.period(period)
    if not Path(archive_path).exists():
        raise ArchiveError(f"档案库 {archive_path} 不存在；请先收取本期报表")
    with Archive(archive_path) as archive:
        return consolidate(archive, config, period, now=now)


def write_master_workbook(consolidation: Consolidation, out_path: str | Path, *, inbox_folder: str = "",
                          output_folder: Optional[str] = None) -> Path:
    """Write the master workbook for a consolidation; returns where it was written (beside the
    target when the target is open in Excel). `inbox_folder`/`output_folder` are shown on 首页
    as the user typed them (default output folder: where the workbook goes)."""
    from .outputs.master import write_master

    return write_master(consolidation, Path(out_path), inbox_folder=inbox_folder, output_folder=output_folder)


def brief(consolidation: Consolidation, out_dir: str | Path, issue_date: Optional[dt.date] = None,
          painter: Optional[Painter] = None) -> Briefing:
    """Write the briefing (.docx, .md, charts) for a consolidation, dated `issue_date`
    (default: the day the consolidation was made); `painter` draws the charts (default: here)."""
    from .outputs.briefing import render_briefing

    return render_briefing(consolidation, Path(out_dir), issue_date=issue_date, painter=painter)


def brief_period(config: Config, period: int, archive_path: str | Path, out_dir: str | Path,
                 issue_date: Optional[dt.date] = None) -> Briefing:
    """生成简报: consolidate the period from the archive and write its briefing. Refuses
    (`NothingToReport`, nothing written) when no unit has figures for the period: a briefing
    of 暂无数据 and a ranking of dashes is no briefing."""
    with archive_lock(archive_path):
        consolidation = consolidate_period(config, period, archive_path)
    if not any(row.state != "missing" for row in (*consolidation.counties, *consolidation.members)):
        raise NothingToReport(f"档案库 {archive_path} 中还没有第{period}期（及以前各期）已接收的报表，未生成简报；"
                              "请先收取本期报表，再生成简报")
    return brief(consolidation, out_dir, issue_date=issue_date)


SUMMARY_FOLDER = "活动总结"


@dataclass
class CampaignSummary:
    """生成总结: the campaign-end report (Word, Markdown, charts) written from the last period's
    consolidation; the plan's targets by result, named as the report names them."""

    period: int
    docx: Path
    markdown: Path
    charts: list[Path]
    notes: list[str]
    met: list[str]
    unmet: list[str]                      # not reached, or over a cap
    no_data: list[str]
    consolidation: Consolidation = field(repr=False)

    @property
    def paths(self) -> list[Path]:
        """Every file written: the .docx, the .md, then the chart PNGs."""
        return [self.docx, self.markdown, *self.charts]

    def to_dict(self) -> dict[str, Any]:
        return {"period": self.period, "files": [str(p) for p in self.paths], "notes": self.notes,
                "targets": {"met": self.met, "unmet": self.unmet, "no_data": self.no_data}}


def final_period(config: Config) -> int:
    """The campaign's last period: the one marked final, else the last configured."""
    marked = [p.number for p in config.periods if p.final]
    return marked[-1] if marked else config.periods[-1].number


def summarize_campaign(config: Config, archive_path: str | Path, out_dir: str | Path,
                       issue_date: Optional[dt.date] = None, *, now: Optional[dt.datetime] = None) -> CampaignSummary:
    """生成总结: consolidate the campaign's last period from the archive and write the campaign-end
    report, dated `issue_date` (default: config's campaign.summary.date, else today). Refuses
    (`NothingToReport`, nothing written) when no unit has figures for it."""
    period = final_period(config)
    with archive_lock(archive_path):
        consolidation = consolidate_period(config, period, archive_path, now=now)
    if not any(row.state != "missing" for row in (*consolidation.counties, *consolidation.members)):
        raise NothingToReport(f"档案库 {archive_path} 中还没有第{period}期（最后一期）及以前各期已接收的报表，"
                              "未生成活动总结；请先收取报表，再生成总结")
    return summarize(consolidation, out_dir, issue_date=issue_date, archive_path=archive_path)


def summarize(consolidation: Consolidation, out_dir: str | Path, issue_date: Optional[dt.date] = None,
              archive_path: str | Path | None = None) -> CampaignSummary:
    """Write the campaign-end report of a consolidation (the last period's) into `out_dir`; with
    the archive, its 典型做法 are collected from every period's counting returns."""
    from .outputs.summary import render_summary, target_name, target_results

    practices = _practices(archive_path) if archive_path is not None else []
    written = render_summary(consolidation, Path(out_dir), issue_date=issue_date, practices=practices)
    by_result: dict[str, list[str]] = {"met": [], "unmet": [], "no_data": []}
    for progress, result in target_results(consolidation):
        name = target_name(consolidation, progress)
        key = {"已完成": "met", "未超过上限": "met", "暂无数据": "no_data"}.get(result, "unmet")
        by_result[key].append(name)
    return CampaignSummary(period=consolidation.period.number, docx=written.docx, markdown=written.markdown,
                           charts=written.charts, notes=written.notes, consolidation=consolidation, **by_result)


def _practices(archive_path: str | Path) -> list:
    """Every period's narrative items of the counting returns, with the office's edit (made on the
    master's 工作动态 sheet for a briefing) as their text where there is one."""
    from dataclasses import replace

    with Archive(archive_path) as archive:
        items = archive.narratives()
        edits = {period: archive.narrative_choices(period) for period in {i.period for i in items}}
    return [replace(i, text=edits[i.period][i.key].text) if i.key in edits[i.period] and edits[i.period][i.key].text
            else i for i in items]


@dataclass
class MasterRefresh:
    """汇总: the mailbox (when configured) and the inbox taken in, the period consolidated,
    the master workbook written. `mail_error` says why the mailbox could not be read (the
    inbox folder was taken in all the same)."""

    intake: IntakeReport
    consolidation: Consolidation
    master: Path
    mail: Optional["MailFetch"] = None
    mail_error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"intake": self.intake.to_dict(), "master": str(self.master),
                "mail": self.mail.to_dict() if self.mail else None, "mail_error": self.mail_error}


def fetches_mail(config: Config) -> bool:
    """True when 汇总 fetches the office mailbox first (mail.imap set, fetch_on_consolidate on)."""
    return bool(config.mail and config.mail.imap and config.mail.fetch_on_consolidate)


def refresh_master(config: Config, inbox: str | Path, period: int, archive_path: str | Path, out_dir: str | Path, *,
                   inbox_folder: Optional[str] = None, output_folder: Optional[str] = None, fetch: bool = False,
                   progress: Optional[Callable[[int, int], None]] = None) -> MasterRefresh:
    """Take in the inbox (feedback workbooks into `out_dir`/退回), consolidate the period and
    write the master workbook into `out_dir`; 首页 shows the folders as given. With `fetch`,
    the office mailbox is fetched first when config sets one up (`fetches_mail`); a mailbox
    that cannot be reached is noted, and the inbox folder is taken in all the same (it may
    then be missing)."""
    from .errors import MailError

    out_dir = Path(out_dir)
    mail, mail_error = None, ""
    if fetch and fetches_mail(config):
        try:
            mail = fetch_mail(config, period, archive_path, out_dir / FEEDBACK_FOLDER, progress=progress)
        except MailError as error:
            mail_error = str(error)
    if mail is not None or mail_error:
        report = (intake_inbox(config, inbox, period, archive_path, out_dir / FEEDBACK_FOLDER, progress=progress)
                  if Path(inbox).is_dir() else IntakeReport(period=period, inbox=Path(inbox)))
    else:
        report = intake_inbox(config, inbox, period, archive_path, out_dir / FEEDBACK_FOLDER, progress=progress)
    consolidation, master = rebuild_master(config, period, archive_path, out_dir,
                                           inbox_folder=str(inbox if inbox_folder is None else inbox_folder),
                                           output_folder=output_folder)
    return MasterRefresh(intake=report, consolidation=consolidation, master=master, mail=mail, mail_error=mail_error)


def rebuild_master(config: Config, period: int, archive_path: str | Path, out_dir: str | Path, *,
                   inbox_folder: str = "", output_folder: Optional[str] = None) -> tuple[Consolidation, Path]:
    """Consolidate the period from the archive as it is and write the master workbook into
    `out_dir` (after 汇总's intake, or after a withdrawal)."""
    with archive_lock(archive_path):
        consolidation = consolidate_period(config, period, archive_path)
        master = write_master_workbook(consolidation, Path(out_dir) / master_filename(config, period),
                                       inbox_folder=inbox_folder, output_folder=output_folder)
    return consolidation, master


@dataclass
class WeekResult:
    """The weekly job: intake, then the master workbook and the briefing from the archive."""

    intake: IntakeReport
    consolidation: Consolidation
    master: Path
    briefing: Briefing

    def to_dict(self) -> dict[str, Any]:
        return {"intake": self.intake.to_dict(), "master": str(self.master),
                "briefing": [str(p) for p in self.briefing.paths], "notes": self.briefing.notes}


def run_week(config: Config, inbox: str | Path, period: int, archive_path: str | Path, out_dir: str | Path,
             progress: Optional[Callable[[int, int], None]] = None) -> WeekResult:
    """The weekly job: take in the inbox, consolidate, write the master workbook and the briefing.
    The charts' helper process starts first, so that its imports overlap with the intake."""
    with ChartPainter() as painter:
        refreshed = refresh_master(config, inbox, period, archive_path, out_dir, progress=progress)
        briefing = brief(refreshed.consolidation, Path(out_dir) / BRIEFING_FOLDER, painter=painter)
    return WeekResult(intake=refreshed.intake, consolidation=refreshed.consolidation, master=refreshed.master,
                      briefing=briefing)


FEEDBACK_FOLDER, BRIEFING_FOLDER, FORMS_FOLDER = "退回", "简报", "填报表"
WITHDRAWN_FOLDER = "已撤销"      # beside the feedback workbooks: those of a withdrawn intake


# ---- undoing an intake --------------------------------------------------------------------------

@dataclass
class UndoResult:
    """撤销上次收取: the period's last intake withdrawn (or None when there was none to withdraw).

    `withdrawn` are the submissions now marked withdrawn (kept in the archive), `units` the
    units they belonged to, `restored` the units whose earlier accepted return counts again,
    `files` how many received files are free to be taken in again, `set_aside` the feedback
    workbooks of that intake moved into the 已撤销 folder so that nobody sends them out."""

    period: int
    batch: Optional[Batch] = None
    withdrawn: list[int] = field(default_factory=list)
    units: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    files: int = 0
    set_aside: list[Path] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.batch is not None

    def lines(self) -> list[str]:
        """What happened, in Chinese (the fronts add how to take the files in again)."""
        if self.batch is None:
            return [f"第{self.period}期没有可以撤销的收取（本期还没有收取过报表，或已全部撤销）"]
        when = self.batch.started_at.replace("T", " ")[:16]
        lines = [f"已撤销第{self.period}期最近一次收取（{when}，收件文件夹 {self.batch.inbox}）：文件 {self.files} 个，"
                 f"报表 {len(self.withdrawn)} 份已作废（仍保存在档案库中，标记为已撤销）"]
        if self.restored:
            lines.append(f"{len(self.restored)} 个单位恢复为此前接收的报表")
        if self.set_aside:
            lines.append(f"这次收取生成的 {len(self.set_aside)} 份退回表已移到 {self.set_aside[0].parent}，请勿发送")
        lines.append("这批文件现在可以重新收取")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {"period": self.period, "done": self.done, "batch": self.batch.id if self.batch else None,
                "taken_at": self.batch.started_at if self.batch else None,
                "inbox": self.batch.inbox if self.batch else None, "withdrawn": self.withdrawn,
                "units": self.units, "restored": self.restored, "files": self.files,
                "set_aside": [str(p) for p in self.set_aside], "message": "；".join(self.lines())}


def undo_intake(config: Config, period: int, archive_path: str | Path) -> UndoResult:
    """Withdraw the period's last intake: its returns stop counting (kept in the archive as
    withdrawn, never deleted), the returns they replaced count again, its feedback workbooks
    are set aside, and the same files can be taken in again — e.g. after `intake --period 4`
    of the period-3 returns."""
    config.period(period)
    if not Path(archive_path).exists():
        raise ArchiveError(f"档案库 {archive_path} 不存在，没有可以撤销的收取")
    with archive_lock(archive_path), Archive(archive_path) as archive:
        batch = archive.last_batch(period)
        if batch is None:
            return UndoResult(period)
        withdrawal = archive.withdraw_batch(batch.id)
    return UndoResult(period, batch=withdrawal.batch, withdrawn=withdrawal.submissions, units=withdrawal.units,
                      restored=withdrawal.restored, files=withdrawal.files,
                      set_aside=_set_aside(withdrawal.batch.outputs))


def _set_aside(paths: list[str]) -> list[Path]:
    """Move feedback workbooks into the 已撤销 folder beside them (a file already gone, or
    open in Excel, stays where it is: the archive is what counts)."""
    from .filenames import unique_name

    moved = []
    for name in paths:
        path = Path(name)
        if not path.is_file():
            continue
        folder = path.parent / WITHDRAWN_FOLDER
        try:
            folder.mkdir(exist_ok=True)
            target = folder / unique_name(path.name, {p.name for p in folder.iterdir()})
            path.replace(target)
        except OSError:
            continue
        moved.append(target)
    return moved


def master_filename(config: Config, period: int) -> str:
    """汇总_第2期.xlsx"""
    return f"汇总_第{period}期.xlsx"


def feedback_filename(config: Config, unit_code: str, period: int, *, rejected: bool = True) -> str:
    """The name intake gives a unit's feedback workbook (退回_第2期_南宁市_武鸣区.xlsx)."""
    from .outputs.feedback import feedback_name

    return feedback_name(config.units[unit_code], period, "", rejected)


def current_period(config: Config, now: Optional[dt.datetime] = None) -> int:
    """The period being reported now: the first whose deadline has not passed, else the last."""
    now = now or dt.datetime.now()
    periods = sorted(config.periods, key=lambda p: p.number)
    return next((p.number for p in periods if p.deadline >= now), periods[-1].number)


@dataclass
class StatusReport:
    """报送情况 of a period: the consolidation it comes from, and the text staff read."""

    consolidation: Consolidation
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"period": self.consolidation.period.number, "reporting": [
            {"unit": r.unit.code, "name": r.unit.full_name, "state": r.state, "received_at": r.received_at,
             "late": r.late, "errors": r.errors, "warnings": r.warnings, "reminder": r.reminder}
            for r in self.consolidation.reporting]}

    @property
    def complete(self) -> bool:
        """Every unit has an accepted return."""
        return not self.consolidation.reporting_in("missing", "rejected")


def status_report(config: Config, period: int, archive_path: str | Path) -> StatusReport:
    """Who reported, who is missing or was sent back, with the reminder texts."""
    from .outputs.status import status_text

    consolidation = consolidate_period(config, period, archive_path)
    return StatusReport(consolidation, status_text(consolidation))


def issue_sheet_rows(config: Config, issues: list[Issue], history: Optional[list[Issue]] = None) -> list[list[str]]:
    """The rows of the 校验问题 sheet for these issues (as the master workbook writes them),
    followed, apart, by those of `history` (returns since replaced or corrected)."""
    from .outputs.master import issue_history_rows, issue_sheet_rows as rows

    return rows(config, issues) + issue_history_rows(config, history or [])


def blank_consolidation(config: Config, *, at: dt.datetime) -> Consolidation:
    """The first period consolidated from an empty archive (every unit 未报), made at `at`:
    what the .xlsm builder lays out before any return came in."""
    return empty_consolidation(config, config.periods[0].number, at=at)


def empty_consolidation(config: Config, period: int, *, at: dt.datetime) -> Consolidation:
    """A period consolidated from an empty archive (every unit 未报), made at `at`: what a
    front shows before the archive exists (nothing is written)."""
    import tempfile

    from .consolidate import consolidate

    config.period(period)
    with tempfile.TemporaryDirectory() as folder, Archive(Path(folder) / "empty.sqlite") as archive:
        return consolidate(archive, config, period, now=at)


def add_master_sheets(book: Any, consolidation: Consolidation, folders: tuple[str, str]) -> None:
    """Every sheet of the master workbook into an open XlsxWriter book (the .xlsm builder adds
    its buttons and VBA project to the same book); `folders` as shown on 首页: (inbox, output)."""
    from .outputs.master import add_master_sheets as add

    add(book, consolidation, folders)


def write_text_file(path: str | Path, text: str) -> Path:
    """A text file staff open in Notepad (UTF-8 with BOM, CRLF), written atomically."""
    from .outputs.textfile import write_text_file as write

    return write(path, text)


def write_atomically(path: Path, write: Callable[[Path], None]) -> Path:
    """Write a file aside and move it into place (beside it, when the target is open in Excel)."""
    from .archive.locking import atomic_write

    return atomic_write(path, write)


# ---- figures typed into the master ------------------------------------------------------------

@dataclass
class BookCheck(HasIssues):
    """The outcome of checking a master workbook's typed figures (and, if asked, recording them).

    `issues` are the typed figures' own; `return_issues` the current ones of the period's returns
    (both go on 校验问题), `return_history` those of returns since replaced or corrected; `archive_version` is the archive's version after recording, for the book."""

    file: str
    period: int
    entries: list[ManualEntry]
    issues: list[Issue]
    return_issues: list[Issue] = field(default_factory=list)
    return_history: list[Issue] = field(default_factory=list)
    recorded: list[int] = field(default_factory=list)
    news_recorded: int = 0              # 工作动态 rows whose 选用 or text changed and were archived
    note: str = ""                      # why nothing was recorded, when asked to record
    archive_version: Optional[int] = None

    @property
    def typed_units(self) -> int:
        """Units with anything typed in their row."""
        return sum(1 for e in self.entries if not e.blank)

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "period": self.period, "units": self.typed_units,
                "issues": [i.to_dict() for i in self.issues], "recorded": self.recorded,
                "news_recorded": self.news_recorded, "note": self.note}


def validate_book(config: Config, path: str | Path, archive_path: str | Path, *, period: Optional[int] = None,
                  record: bool = False) -> BookCheck:
    """Check the figures staff typed into a master workbook file's city and member-unit sheets
    with the checker of returns; with `record`, archive the rows without errors as manual
    submissions (so a rebuild keeps them), and the 选用 / edited texts of its 工作动态 sheet —
    unless the archive moved on since the workbook was made, when its figures may be stale and
    would overwrite newer ones."""
    from .checks.entries import read_book_grids, read_book_version

    path = Path(path)
    if not path.is_file():
        raise IntakeError(f"找不到工作簿 {path}")
    stated, grids = read_book_grids(path)
    period = period or stated
    if period is None:
        raise IntakeError(f"无法从 {path.name} 的首页读出期次；请指定报送期次")
    return validate_grids(config, path.name, grids, period, archive_path, book_version=read_book_version(path),
                          record=record)


def validate_grids(config: Config, file: str, grids: dict[str, list[list[Any]]], period: int,
                   archive_path: str | Path, *, book_version: Optional[int], record: bool) -> BookCheck:
    """The same check for a workbook open in Excel, given each sheet's cells (rows from A1)
    and the `ArchiveVersion` it shows (the 校验 button)."""
    from .checks.entries import read_entry_sheet, read_news_sheet

    entries: list[ManualEntry] = []
    issues: list[Issue] = []
    news = []
    for title, grid in grids.items():
        found, problems = read_entry_sheet(config, file, title, grid, period)
        entries += found
        issues += problems
        news += read_news_sheet(grid)
    return check_book(config, file, entries, issues, period, archive_path, book_version=book_version, record=record,
                      news=news)


def check_book(config: Config, file: str, entries: list[ManualEntry], issues: list[Issue], period: int,
               archive_path: str | Path, *, book_version: Optional[int], record: bool,
               news: Sequence["NarrativeChoice"] = ()) -> BookCheck:
    """Check typed entries against the archive (history and peers as for returns) and, with
    `record`, archive the rows without errors and the 工作动态 choices when the book is current."""
    from .checks.entries import check_entries, entries_without_errors
    from .consolidate import split_issues

    config.period(period)
    if not Path(archive_path).exists():
        issues = issues + check_entries(config, entries, file=file, previous={}, peers={})
        note = f"档案库 {archive_path} 不存在，修改未记入" if record else ""
        return BookCheck(file=file, period=period, entries=entries, issues=issues, note=note)
    with archive_lock(archive_path), Archive(archive_path) as archive:
        previous = {e.unit_code: _previous_values(archive, e.unit_code, period) for e in entries}
        issues = issues + check_entries(config, entries, file=file, previous=previous,
                                        peers=_peer_values(config, archive, period))
        current, history = split_issues(archive, period)
        check = BookCheck(file=file, period=period, entries=entries, issues=issues, return_issues=current,
                          return_history=history, archive_version=archive.version())
        if record and _book_is_current(archive, check, book_version):
            from .consolidate import consolidate

            shown = consolidate(archive, config, period)
            check.news_recorded = _record_news(archive, shown, news, file, book_version)
            _record_entries(archive, check, entries_without_errors(entries, issues), shown)
    return check


def _book_is_current(archive: Archive, check: BookCheck, book_version: Optional[int]) -> bool:
    """One rule for the file and the open workbook: what was typed into it is recorded only when
    it shows the archive as it is now (its `ArchiveVersion` equals the archive's)."""
    if book_version is not None and book_version == archive.version():
        return True
    check.note = (f"档案库在「{check.file}」汇总之后收到了新的报表或修改，工作簿中的数字可能已过时，本次修改未记入档案库；"
                  "请先重新汇总，再在新的汇总表中修改并校验")
    return False


def _record_news(archive: Archive, shown: Consolidation, news: Sequence["NarrativeChoice"], file: str,
                 book_version: Optional[int]) -> int:
    """Archive the 工作动态 sheet when anything on it differs from what the master showed: then
    every row of it (what is not chosen is a choice too), so a default the office left alone
    stays a default. Rows of items that no longer count (a replaced return's) are left alone."""
    from .checks.entries import NarrativeChoice

    rows = {row.item.key: row for row in shown.news}
    typed = [NarrativeChoice(c.key, c.chosen, c.text or rows[c.key].item.text) for c in news if c.key in rows]
    if all((c.chosen, c.text) == (rows[c.key].chosen, rows[c.key].text) for c in typed):
        return 0
    kept = [NarrativeChoice(c.key, c.chosen, "" if c.text == rows[c.key].item.text else c.text) for c in typed]
    return archive.record_narrative_choices(shown.period.number, kept, file_name=file, archive_version=book_version)


def _previous_values(archive: Archive, unit_code: str, period: int) -> dict[str, Any]:
    earlier = archive.latest_accepted_before(unit_code, period)
    return earlier.values if earlier else {}


def _record_entries(archive: Archive, check: BookCheck, entries: list[ManualEntry], shown: Consolidation) -> None:
    """Archive the clean rows (the book was found current; `shown`: what it showed)."""
    from .consolidate import record_manual_entries

    check.recorded = record_manual_entries(archive, entries, check.period, consolidation=shown, file_name=check.file)
    check.archive_version = archive.version()


# ---- mail out: forms, feedback, reminders ------------------------------------------------------

SEND_KINDS = ("forms", "feedback", "reminders")


@dataclass
class SendOutcome:
    """What became of one unit's message. `reply` is the server's answer, or why nothing was sent."""

    unit_code: str
    unit_name: str
    status: str   # sent | refused | failed | already-sent | no-address | written (a dry run's .eml)
    recipients: list[str] = field(default_factory=list)
    subject: str = ""
    reply: str = ""
    path: Optional[Path] = None          # the .eml written by a dry run, else the workbook attached

    def to_dict(self) -> dict[str, Any]:
        return {"unit": self.unit_code, "name": self.unit_name, "status": self.status, "to": self.recipients,
                "subject": self.subject, "reply": self.reply, "path": str(self.path) if self.path else None}


@dataclass
class SendReport:
    """One `send` batch: a message per unit for one period and kind."""

    period: int
    kind: str
    dry_run: bool
    outcomes: list[SendOutcome] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    def count(self, *statuses: str) -> int:
        return sum(1 for o in self.outcomes if o.status in statuses)

    @property
    def ok(self) -> bool:
        """True when every unit that should get the message has it (or, dry, has its .eml)."""
        return not self.count("refused", "failed", "no-address")

    def summary(self) -> dict[str, int]:
        return {"units": len(self.outcomes), "sent": self.count("sent"), "written": self.count("written"),
                "already_sent": self.count("already-sent"), "refused": self.count("refused"),
                "failed": self.count("failed"), "no_address": self.count("no-address")}

    def to_dict(self) -> dict[str, Any]:
        return {"period": self.period, "kind": self.kind, "dry_run": self.dry_run, "summary": self.summary(),
                "notices": self.notices, "messages": [o.to_dict() for o in self.outcomes]}


def send_mail(config: Config, period: int, kind: str, archive_path: str | Path, out_dir: str | Path, *,
              dry_run: bool = False, again: bool = False, units: Optional[list[str]] = None,
              forms_dir: str | Path | None = None, now: Optional[dt.datetime] = None,
              progress: Optional[Callable[[int, int], None]] = None) -> SendReport:
    """Mail each unit its `kind` of message for `period`: "forms" (every reporting unit, its
    pre-filled form attached), "feedback" (units whose return was sent back: the 退回 text and
    the feedback workbook) or "reminders" (units that have not reported: the 催报 text and
    the form again). Attachments are written under `out_dir`/第N期; a unit's form already in
    `forms_dir` (where 生成填报表 wrote the period's forms) is attached as it is.

    With `dry_run` the messages are written as .eml files to look at, and nothing is sent or
    logged. Otherwise every message is logged in the archive before it is handed to the
    server and again with the server's answer, so a rerun sends only what was not sent
    (`again` sends once more); a 催报 counts once a day. A refused recipient is an outcome;
    a server that cannot be reached or refuses the login raises `MailError` before anything
    is sent.

        >>> send_mail(config, 2, "reminders", "data/xf.sqlite", "out/发件").summary()["sent"]
        12
    """
    from .outputs.mail import KIND_NAMES

    if kind not in SEND_KINDS:
        raise NotConfigured(f"不认识的邮件类型 {kind}（应为 forms、feedback 或 reminders）")
    mail = _mail_settings(config, "smtp", need_server=not dry_run)
    config.period(period)
    now = now or dt.datetime.now().replace(microsecond=0)
    folder = Path(out_dir) / f"第{period}期"
    report = SendReport(period=period, kind=kind, dry_run=dry_run)
    with archive_lock(archive_path), Archive(archive_path) as archive:
        planned = _planned_mail(config, archive, period, kind, now, units)
        report.notices += _interrupted(archive, period, kind)
        pending = _pending(config, archive, planned, period, kind, again, report)
        messages = [_attach(config, archive, plan, addresses, period, folder, forms_dir) for plan, addresses in pending]
        if dry_run:
            report.outcomes += _write_drafts(config, mail, messages, period, folder / f"邮件_{KIND_NAMES[kind]}", now)
        elif messages:
            report.outcomes += _send(config, mail, archive, messages, period, now, progress, report.notices)
    order = {u.code: n for n, u in enumerate(config.units.values())}
    report.outcomes.sort(key=lambda o: order.get(o.unit_code, len(order)))
    return report


def _mail_settings(config: Config, server: str, *, need_server: bool):
    from .errors import MailError

    if config.mail is None:
        raise MailError("config.yaml 中没有 mail 设置（办公邮箱），无法收发邮件；设置方法见 config.yaml 中 mail 一节的说明")
    if need_server and getattr(config.mail, server) is None:
        what = "收件服务器（imap）" if server == "imap" else "发件服务器（smtp）"
        raise MailError(f"config.yaml 的 mail 中没有{what}设置")
    return config.mail


@dataclass
class _Planned:
    """A unit that should get a message of this kind, and why (the 催报/退回 text, the return)."""

    unit: Any
    key: str
    text: str = ""
    rejected: Any = None                # the sent-back submission (feedback)


def _planned_mail(config: Config, archive: Archive, period: int, kind: str, now: dt.datetime,
                  units: Optional[list[str]]) -> list[_Planned]:
    from .consolidate import consolidate

    if kind == "forms":
        planned = [_Planned(u, u.code) for u in config.reporting_units()]
    else:
        state = "missing" if kind == "reminders" else "rejected"
        statuses = consolidate(archive, config, period, now=now).reporting_in(state)
        planned = []
        for status in statuses:
            if kind == "reminders":
                planned.append(_Planned(status.unit, f"{status.unit.code}|{now.date().isoformat()}", status.reminder))
            else:
                rejected = [s for s in archive.submissions(period, status.unit.code) if s.status == "rejected"][-1]
                planned.append(_Planned(status.unit, f"{status.unit.code}|{rejected.file_sha256 or rejected.id}",
                                        status.reminder, rejected))
    if units:
        for code in units:
            config.unit(code)                    # NotConfigured for a code the campaign does not have
        planned = [p for p in planned if p.unit.code in units]
    return planned


def _interrupted(archive: Archive, period: int, kind: str) -> list[str]:
    """Messages a crashed run began but never heard back about: they may or may not have left.
    They are sent again (with the same Message-ID, which mail clients take as the same mail)."""
    stuck = [m for m in archive.sent_mail(period, kind) if m.status == "sending"]
    for message in stuck:
        archive.finish_send(message.id, "failed", "发送过程中断，未收到服务器答复")
    if not stuck:
        return []
    return [f"上次发送中途中断，有 {len(stuck)} 封邮件未收到服务器答复，本次重新发送（邮件编号相同，个别单位可能收到两封相同的邮件）"]


def _pending(config: Config, archive: Archive, planned: list[_Planned], period: int, kind: str, again: bool,
             report: SendReport) -> list[tuple[_Planned, tuple[str, ...]]]:
    sent = archive.sent_keys(period, kind)
    pending = []
    for plan in planned:
        addresses = tuple(config.addresses(plan.unit.code))
        if not addresses:
            report.outcomes.append(SendOutcome(plan.unit.code, plan.unit.full_name, "no-address",
                                               reply="未在 config.yaml 的 contacts 中登记邮箱，无法发送"))
        elif plan.key in sent and not again:
            report.outcomes.append(SendOutcome(plan.unit.code, plan.unit.full_name, "already-sent", list(addresses),
                                               reply="此前已发送过，本次未重发（需要重发请加 --again）"))
        else:
            pending.append((plan, addresses))
    return pending


def _attach(config: Config, archive: Archive, plan: _Planned, addresses: tuple[str, ...], period: int, folder: Path,
            forms_dir: str | Path | None):
    """The message of one unit, with its workbook written under `folder` (or its form from `forms_dir`)."""
    from .outputs.feedback import write_feedback
    from .outputs.mail import Outgoing, forms_text

    unit, title = plan.unit, config.campaign.form_title
    if plan.rejected is not None:
        submission = plan.rejected
        attachment = write_feedback(archive.file_content(submission.file_sha256), submission.file_name,
                                    archive.issues(submission_id=submission.id), config, unit, period,
                                    folder / FEEDBACK_FOLDER) if submission.file_sha256 else None
        body = (f"{plan.text}\n\n附件为校验反馈表：标色的单元格需要修改，全部问题见其中的“问题清单”。"
                "请修改填报表后，作为附件回复本邮件。\n")
        return Outgoing(unit, "feedback", plan.key, addresses, f"【退回】{unit.full_name}第{period}期{title}", body,
                        attachment)
    form = _form(config, archive, unit, period, folder, forms_dir)
    if plan.text:
        body = f"{plan.text}\n\n附件为本期填报表，填写后请作为附件回复本邮件。\n"
        return Outgoing(unit, "reminders", plan.key, addresses, f"【催报】{unit.full_name}第{period}期{title}", body, form)
    subject, body = forms_text(config, unit, period)
    return Outgoing(unit, "forms", plan.key, addresses, subject, body, form)


def _form(config: Config, archive: Archive, unit, period: int, folder: Path, forms_dir: str | Path | None) -> Path:
    """The unit's form: the one 生成填报表 wrote into `forms_dir`, else one written now."""
    from .outputs.forms import form_filename, write_form

    name = form_filename(config, unit, period)
    if forms_dir is not None and (Path(forms_dir) / name).is_file():
        return Path(forms_dir) / name
    earlier = archive.latest_accepted_before(unit.code, period)
    return write_form(config, unit, period, folder / "填报表" / name, earlier.values if earlier else None,
                      earlier.details if earlier else None)


def _sender_name(config: Config) -> str:
    return config.mail.name or config.campaign.office


def _write_drafts(config: Config, mail, messages, period: int, folder: Path, now: dt.datetime) -> list[SendOutcome]:
    from .filenames import safe_filename
    from .outputs.mail import compose, message_id_for

    outcomes = []
    for outgoing in messages:
        message = compose(mail, _sender_name(config), outgoing, message_id_for(outgoing, period, _domain(mail)), now)
        path = write_atomically(folder / safe_filename(f"{outgoing.unit.full_name}.eml", path=False),
                                lambda tmp, m=message: tmp.write_bytes(m.as_bytes()))
        outcomes.append(SendOutcome(outgoing.unit.code, outgoing.unit.full_name, "written", list(outgoing.recipients),
                                    outgoing.subject, "仅写出待发邮件，未发送", path))
    return outcomes


def _domain(mail) -> str:
    return mail.address.partition("@")[2]


def _send(config: Config, mail, archive: Archive, messages, period: int, now: dt.datetime,
          progress: Optional[Callable[[int, int], None]], notices: list[str]) -> list[SendOutcome]:
    """Hand each message to the server, logging it before and after; a connection lost for good
    leaves the rest 'failed' (a rerun sends them)."""
    from .errors import MailError
    from .outputs.mail import SmtpSession, compose, message_id_for

    outcomes: list[SendOutcome] = []
    with SmtpSession(mail, mail.password(config.folder), mail.tls_context(config.folder)) as smtp:
        for done, outgoing in enumerate(messages, start=1):
            message_id = message_id_for(outgoing, period, _domain(mail))
            message = compose(mail, _sender_name(config), outgoing, message_id, now)
            logged = archive.begin_send(period=period, unit_code=outgoing.unit.code, kind=outgoing.kind,
                                        key=outgoing.key, recipients=list(outgoing.recipients),
                                        subject=outgoing.subject, message_id=message_id,
                                        attachment=outgoing.attachment.name if outgoing.attachment else "")
            outcome = SendOutcome(outgoing.unit.code, outgoing.unit.full_name, "failed", list(outgoing.recipients),
                                  outgoing.subject, path=outgoing.attachment)
            try:
                outcome.status, outcome.reply = smtp.send(message, outgoing.recipients)
            except MailError as error:
                archive.finish_send(logged, "failed", str(error))
                notices.append(str(error))
                outcomes += _not_sent(messages[done - 1:], str(error))
                break
            archive.finish_send(logged, outcome.status, outcome.reply)
            outcomes.append(outcome)
            if progress:
                progress(done, len(messages))
    return outcomes


def _not_sent(messages, reason: str) -> list[SendOutcome]:
    return [SendOutcome(o.unit.code, o.unit.full_name, "failed", list(o.recipients), o.subject, reason, o.attachment)
            for o in messages]


# ---- mail in: the office mailbox ------------------------------------------------------------------

@dataclass
class FetchedMessage:
    """What became of one message in the office's folder."""

    uid: int
    message_id: str
    status: str              # taken | known (taken before) | left (nothing in it could be taken; still in the mailbox)
    subject: str = ""
    sender: str = ""
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"uid": self.uid, "message_id": self.message_id, "status": self.status, "subject": self.subject,
                "sender": self.sender, "note": self.note}


@dataclass
class MailFetch:
    """One `fetch-mail`: the messages found, and the intake of what they carried."""

    mailbox: str
    messages: list[FetchedMessage]
    intake: IntakeReport
    notices: list[str] = field(default_factory=list)

    def count(self, *statuses: str) -> int:
        return sum(1 for m in self.messages if m.status in statuses)

    @property
    def ok(self) -> bool:
        return self.intake.ok and not self.count("left")

    def summary(self) -> dict[str, int]:
        return {"messages": len(self.messages), "taken": self.count("taken"), "known": self.count("known"),
                "left": self.count("left")}

    def to_dict(self) -> dict[str, Any]:
        return {"mailbox": self.mailbox, "summary": self.summary(), "notices": self.notices,
                "messages": [m.to_dict() for m in self.messages], "intake": self.intake.to_dict()}


def fetch_mail(config: Config, period: int, archive_path: str | Path, feedback_dir: str | Path,
               progress: Optional[Callable[[int, int], None]] = None) -> MailFetch:
    """Take in the returns in the office's IMAP folder for `period`.

    Each new message is archived whole before anything reads it, then taken in exactly as
    the same message saved as an .eml file in the inbox would be (the same reader, the same
    limits, feedback workbooks into `feedback_dir`), and only then marked on the server. A
    message seen before (by Message-ID or content hash) is never taken twice; one from which
    nothing could be taken (no attachment, unreadable) is reported and left in the mailbox.

        >>> fetch_mail(config, 2, "data/xf.sqlite", "out/退回").summary()
        {'messages': 12, 'taken': 11, 'known': 0, 'left': 1}
    """
    from .intake.collect import collect_mails
    from .intake.mailbox import Mailbox

    mail = _mail_settings(config, "imap", need_server=True)
    config.period(period)
    with Mailbox(mail, mail.password(config.folder), mail.tls_context(config.folder)) as box:
        with archive_lock(archive_path), Archive(archive_path) as archive:
            messages, downloaded = _download(archive, box, period)
        files, skipped = collect_mails([(d.name, d.display, d.content) for d in downloaded])
        report = _take_in(config, IntakeReport(period=period, inbox=Path(box.label)), files, skipped, archive_path,
                          feedback_dir, progress)
        fetch = MailFetch(box.label, messages, report)
        _settle(archive_path, box, fetch, downloaded)
    return fetch


@dataclass
class _Downloaded:
    """A new message, archived, about to be read as an .eml file named `name`."""

    message: FetchedMessage
    name: str
    display: str
    content: bytes
    row: int                                   # its mail_fetched row


def _download(archive: Archive, box, period: int) -> tuple[list[FetchedMessage], list[_Downloaded]]:
    """Every new message: seen before → 'known' (and marked, if marking failed last time);
    too big → 'left', never downloaded; else archived, recorded, and handed on. A message
    archived by a run that stopped before taking it in is taken in now (intake is idempotent)."""
    from .intake.collect import MAX_FILE_BYTES

    messages, downloaded = [], []
    this_run: dict[str, FetchedMessage] = {}            # Message-ID or hash -> a copy taken in this run
    for envelope in box.envelopes(box.new_uids(also=archive.withdrawn_uids(box.label))):
        seen = archive.fetched(envelope.message_id, "") if envelope.message_id else None
        if envelope.message_id in this_run or (seen is not None and seen.status != "fetched"):
            messages.append(_known(box, archive, envelope, seen or this_run[envelope.message_id]))
            continue
        if envelope.size > MAX_FILE_BYTES:
            messages.append(FetchedMessage(envelope.uid, envelope.message_id, "left", note=(
                f"邮件大小 {envelope.size >> 20} MB，超过 {MAX_FILE_BYTES >> 20} MB 上限，未收取，仍在邮箱中；"
                "请对方把报表单独作为附件重新发送")))
            continue
        content = box.fetch(envelope.uid)
        digest = sha256(content)
        seen = seen or archive.fetched(envelope.message_id, digest)
        if digest in this_run or (seen is not None and seen.status != "fetched"):
            messages.append(_known(box, archive, envelope, seen or this_run[digest]))
            continue
        item = _archived(archive, box, envelope, content, digest, period, seen.id if seen else None)
        downloaded.append(item)
        messages.append(item.message)
        this_run.update({key: item.message for key in (envelope.message_id, digest) if key})
    return messages, downloaded


def _known(box, archive: Archive, envelope, seen) -> FetchedMessage:
    """A message taken before (by an earlier run: `seen` is its FetchedMail; by this run: the
    copy's FetchedMessage) or reported before and left."""
    if seen.status == "left":
        return FetchedMessage(envelope.uid, envelope.message_id, "known", seen.subject, seen.sender,
                              f"此前已报告：{seen.note}")
    if isinstance(seen, FetchedMessage):
        return FetchedMessage(envelope.uid, envelope.message_id, "known", seen.subject, seen.sender,
                              "与本次收取的另一封邮件相同")
    box.mark_taken(envelope.uid)                      # taken in, but the mark did not reach the server
    return FetchedMessage(envelope.uid, envelope.message_id, "known", seen.subject, seen.sender, "此前已收取")


def _archived(archive: Archive, box, envelope, content: bytes, digest: str, period: int,
              row: Optional[int]) -> _Downloaded:
    """The raw message into the archive (files, by hash) and the fetched-mail log, before any parsing."""
    import email.parser
    import email.policy

    from .filenames import safe_filename

    head = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(content)
    subject, sender = _header_text(head, "Subject"), _header_text(head, "From")
    name = safe_filename(f"{subject or '无主题'}.eml", path=False)
    origin = {"display": name, "mailbox": box.label, "uid": envelope.uid, "message_id": envelope.message_id,
              "sender": sender, "subject": subject}
    archive.add_file(content, name, origin)
    if row is None:
        row = archive.record_fetched(message_id=envelope.message_id, digest=digest, mailbox=box.label,
                                     uid=envelope.uid, sender=sender, subject=subject, period=period, status="fetched")
    message = FetchedMessage(envelope.uid, envelope.message_id, "taken", subject, sender)
    return _Downloaded(message, name, f"邮件{envelope.uid} {name}", content, row)


def _header_text(head, name: str) -> str:
    try:
        return " ".join(str(head.get(name, "") or "").split())
    except Exception:                              # an undecodable header: the message is still taken
        return ""


def _settle(archive_path: str | Path, box, fetch: MailFetch, downloaded: list[_Downloaded]) -> None:
    """After the intake is in the archive: mark on the server each message something was taken
    from; a message that gave nothing (no attachment, unreadable) stays unmarked, reported."""
    with archive_lock(archive_path), Archive(archive_path) as archive:
        for item in downloaded:
            if _gave_something(item, fetch.intake):
                box.mark_taken(item.message.uid)
                archive.set_fetched_status(item.row, "taken", batch_id=fetch.intake.batch_id)
            else:
                issue = next((f.issues[0].message for f in fetch.intake.files
                              if f.display == item.display and f.issues), "邮件中没有可收取的文件")
                item.message.status, item.message.note = "left", f"{issue}；邮件仍在邮箱中"
                archive.set_fetched_status(item.row, "left", item.message.note, batch_id=fetch.intake.batch_id)


def _gave_something(item: _Downloaded, intake: IntakeReport) -> bool:
    """True when a file of this message reached the archive (an outcome below the message itself)."""
    from .intake.collect import SEP

    prefix = item.display + SEP
    return any(f.display.startswith(prefix) and f.sha256 for f in intake.files)
