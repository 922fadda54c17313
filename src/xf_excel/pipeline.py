"""The use cases — the only orchestration. Fronts (cli, xl, server) call these and nothing else."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from .config import Config
from .errors import IntakeError
from .issues import Issue, IssueCode, Severity
from .archive.locking import archive_lock
from .archive.store import Archive, NewSubmission

__all__ = [
    "config_summary", "make_forms", "intake_inbox", "IntakeReport", "FileOutcome", "consolidate_period",
    "write_master_workbook", "brief", "run_week", "WeekResult", "validate_book", "BookCheck", "master_filename",
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
        "activities": [{"id": a.id, "name": a.short_name,
                        "reported": sum(1 for i in config.indicators if i.activity == a.id and not i.derived),
                        "derived": sum(1 for i in config.indicators if i.activity == a.id and i.derived)}
                       for a in config.activities],
        "targets": [{"indicator": t.indicator, "name": config.indicator(t.indicator).name, "op": t.op,
                     "value": _target_text(t.value, config.indicator(t.indicator).kind),
                     "unit": "" if config.indicator(t.indicator).kind == "ratio" else config.indicator(t.indicator).unit,
                     "scope": "全区" if t.scope == "region" else config.county_groups[t.scope].name}
                    for t in config.targets],
        "rules": len(config.rules),
        "details": [d.name for d in config.details],
    }


def _target_text(value: float, kind: str) -> str:
    return f"{value:.0%}" if kind == "ratio" else f"{value:g}"


# ---- intake --------------------------------------------------------------------------------

@dataclass
class FileOutcome:
    """What happened to one received file."""

    display: str
    status: str   # accepted | warned | rejected | duplicate | not-a-return | unreadable | skipped
    unit_code: Optional[str] = None
    sha256: Optional[str] = None
    submission_id: Optional[int] = None
    issues: list[Issue] = field(default_factory=list)
    feedback: Optional[Path] = None
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)   # (indicator, before, after) on resubmission

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.display, "status": self.status, "unit": self.unit_code, "sha256": self.sha256,
                "submission_id": self.submission_id, "feedback": str(self.feedback) if self.feedback else None,
                "issues": [i.to_dict() for i in self.issues],
                "changes": [{"indicator": k, "before": a, "after": b} for k, a, b in self.changes]}


@dataclass
class IntakeReport:
    """The outcome of taking in one inbox for one period."""

    period: int
    inbox: Path
    files: list[FileOutcome] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)     # things the user should know (Chinese)

    def count(self, *statuses: str) -> int:
        return sum(1 for f in self.files if f.status in statuses)

    @property
    def ok(self) -> bool:
        """True when nothing was rejected or unreadable."""
        return not self.count("rejected", "not-a-return", "unreadable")

    def summary(self) -> dict[str, int]:
        return {"files": len(self.files), "accepted": self.count("accepted", "warned"),
                "warned": self.count("warned"), "rejected": self.count("rejected"),
                "not_a_return": self.count("not-a-return", "unreadable"), "duplicate": self.count("duplicate"),
                "skipped": self.count("skipped")}

    def to_dict(self) -> dict[str, Any]:
        return {"period": self.period, "inbox": str(self.inbox), "summary": self.summary(),
                "notices": self.notices, "files": [f.to_dict() for f in self.files]}


def intake_inbox(config: Config, inbox: str | Path, period: int, archive_path: str | Path,
                 feedback_dir: str | Path, progress: Optional[Callable[[int, int], None]] = None) -> IntakeReport:
    """Read, check and archive every return in `inbox` for `period`; write feedback workbooks.

    Each file's raw bytes are archived (by hash) before it is parsed; the same file taken in
    twice does nothing the second time. A file that cannot be read becomes issues, and the
    rest of the batch goes on.

        >>> report = intake_inbox(config, "inbox/第2期", 2, "data/xf.sqlite", "out/退回")
        >>> report.summary()["rejected"]
        3
    """
    from .intake.collect import WorkbookReader, collect_inbox

    inbox = Path(inbox)
    if not inbox.is_dir():
        raise IntakeError(f"收件文件夹 {inbox} 不存在；请检查路径，或先把收到的附件保存到该文件夹")
    config.period(period)
    files, skipped = collect_inbox(inbox)
    report = IntakeReport(period=period, inbox=inbox)
    report.files += [FileOutcome(display=i.file, status=_file_status(i), issues=[i]) for i in skipped]
    with archive_lock(archive_path), Archive(archive_path) as archive, WorkbookReader() as reader:
        if archive.notice:
            report.notices.append(archive.notice)
        peers = _peer_values(config, archive, period)
        fresh, duplicates = _archive_raw(archive, files)
        outcomes = {id(f): FileOutcome(display=f.display, status="duplicate", sha256=digest) for f, digest in duplicates}
        digests = {id(f): digest for f, digest in fresh}
        batch = _Batch(config, archive, period, peers, Path(feedback_dir))
        for done, (received, raw) in enumerate(reader.read_many([f for f, _ in fresh]), start=1):
            outcomes[id(received)] = batch.take_in(received, raw, digests[id(received)])
            if progress:
                progress(done, len(fresh))
    report.files += [outcomes[id(f)] for f in files]
    return report


def _archive_raw(archive: Archive, files: list) -> tuple[list, list]:
    """Store every file's raw bytes before anything parses them; split the batch into files
    to read and duplicates (seen in an earlier intake, or earlier in this batch)."""
    fresh, duplicates, seen = [], [], set()
    for received in files:
        digest, _ = archive.add_file(received.content, received.name, _origin(received))
        if digest in seen or archive.file_processed(digest):
            duplicates.append((received, digest))
        else:
            seen.add(digest)
            fresh.append((received, digest))
    return fresh, duplicates


@dataclass
class _Batch:
    """What taking in one file needs from its batch."""

    config: Config
    archive: Archive
    period: int
    peers: dict[str, list[float]]
    feedback_dir: Path
    feedback_names: set[str] = field(default_factory=set)   # written in this batch: never overwrite one

    def take_in(self, received, raw, digest: str) -> FileOutcome:
        """One file read safely (`raw`): check it, record it, write feedback."""
        from .checks.read import read_return
        from .checks.validate import validate_return

        config, archive, period = self.config, self.archive, self.period
        if isinstance(raw, list):
            archive.record_file_issues(digest, raw, period=period)
            return FileOutcome(display=received.display, status=_file_status(*raw), sha256=digest, issues=raw)
        read = read_return(raw, config)
        if isinstance(read, list):
            archive.record_file_issues(digest, read, period=period, unit_code=read[0].unit if read else None)
            outcome = FileOutcome(display=received.display, status=_file_status(*read), sha256=digest, issues=read)
            unit = config.units.get(read[0].unit) if read and read[0].unit else None
            self.send_back(outcome, received, raw, unit)
            return outcome
        previous = archive.latest_accepted_before(read.unit_code, period)
        checked = validate_return(read, config, period, previous.values if previous else None, self.peers)
        before = archive.accepted_for(checked.unit_code, period)
        sub_id = archive.record_submission(_new_submission(checked, received, digest))
        outcome = FileOutcome(display=received.display, unit_code=checked.unit_code, sha256=digest,
                              submission_id=sub_id, issues=list(checked.issues),
                              status="rejected" if not checked.accepted else ("warned" if checked.issues else "accepted"))
        if before is not None and checked.accepted:
            outcome.changes = _changes(before.values, checked.values)
        self.send_back(outcome, received, raw, checked.unit)
        return outcome

    def send_back(self, outcome: FileOutcome, received, raw, unit) -> None:
        """The feedback workbook of a return with issues. Failing to write one is a notice,
        never the end of the batch: the return itself is already archived."""
        from .outputs.feedback import write_feedback

        if not outcome.issues:
            return
        try:
            outcome.feedback = write_feedback(received.content, received.name, outcome.issues, self.config, unit,
                                              self.period, self.feedback_dir, received=raw, taken=self.feedback_names)
        except OSError as exc:
            outcome.issues.append(Issue(
                IssueCode.UNREADABLE_FILE, Severity.WARNING,
                f"无法为「{received.display}」写出反馈表（{exc.strerror or exc}）；请手工把问题清单告知报送单位",
                file=received.display))


def _file_status(*issues: Issue) -> str:
    codes = {i.code for i in issues}
    if codes == {IssueCode.SKIPPED_FILE}:
        return "skipped"
    if codes & {IssueCode.NOT_A_RETURN}:
        return "not-a-return"
    if codes & {IssueCode.UNREADABLE_FILE, IssueCode.UNSAFE_FILE, IssueCode.ENCRYPTED_FILE}:
        return "unreadable"
    return "rejected"


def _origin(received) -> dict[str, Any]:
    return {"display": received.display, "container": received.container, "sender": received.sender,
            "subject": received.subject, "received_at": received.received_at}


def _new_submission(checked, received, digest: str) -> NewSubmission:
    return NewSubmission(
        unit_code=checked.unit_code, period=checked.period, accepted=checked.accepted, values=dict(checked.values),
        cells=dict(checked.cells), details=dict(checked.details), issues=list(checked.issues), source="file",
        file_sha256=digest, file_name=received.display, sender=received.sender,
        template_version=checked.template_version or "", received_at=received.received_at)


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

def make_forms(config: Config, period: int, out_dir: str | Path, archive_path: str | Path | None = None,
               progress: Optional[Callable[[int, int], None]] = None) -> list[Path]:
    """Write a return form for every reporting unit, pre-filled with last period's accepted
    figures from the archive (when it exists)."""
    from .outputs.forms import write_forms

    config.period(period)
    previous: dict[str, dict[str, Any]] = {}
    if archive_path is not None and Path(archive_path).exists():
        with Archive(archive_path) as archive:
            for unit in config.reporting_units():
                earlier = archive.latest_accepted_before(unit.code, period)
                if earlier is not None:
                    previous[unit.code] = earlier.values
    return write_forms(config, period, Path(out_dir), previous, progress=progress)


# ---- consolidation, master, briefing --------------------------------------------------------

def consolidate_period(config: Config, period: int, archive_path: str | Path, now: Optional[dt.datetime] = None):
    """The consolidation of `period` from the archive (nothing is written); `now` is the
    moment reminders are written for (default: now)."""
    from .consolidate import consolidate

    config.period(period)
    if not Path(archive_path).exists():
        raise IntakeError(f"档案库 {archive_path} 不存在；请先收取报表（xf-excel intake）")
    with Archive(archive_path) as archive:
        return consolidate(archive, config, period, now=now)


def write_master_workbook(consolidation, out_path: str | Path) -> Path:
    """Write the master workbook for a consolidation; returns where it was written (beside the
    target when the target is open in Excel)."""
    from .outputs.master import write_master

    return write_master(consolidation, Path(out_path))


def brief(consolidation, out_dir: str | Path, issue_date: Optional[dt.date] = None):
    """Write the briefing (.docx, .md, charts) for a consolidation, dated `issue_date`
    (default: the day the consolidation was made)."""
    from .outputs.briefing import render_briefing

    return render_briefing(consolidation, Path(out_dir), issue_date=issue_date)


# ---- figures typed into the master ------------------------------------------------------------

@dataclass
class BookCheck:
    """The outcome of checking a master workbook's typed figures (and, if asked, recording them)."""

    file: Path
    period: int
    entries: list
    issues: list[Issue]
    recorded: list[int] = field(default_factory=list)
    note: str = ""                      # why nothing was recorded, when asked to record

    def to_dict(self) -> dict[str, Any]:
        return {"file": str(self.file), "period": self.period, "units": len(self.entries),
                "issues": [i.to_dict() for i in self.issues], "recorded": self.recorded, "note": self.note}


def validate_book(config: Config, path: str | Path, archive_path: str | Path, *, period: Optional[int] = None,
                  record: bool = False) -> BookCheck:
    """Check the figures staff typed into a master workbook's city and member-unit sheets with
    the rules that apply to returns; with `record`, archive the rows without errors as manual
    submissions (so a rebuild keeps them) — unless the archive took in returns after the
    workbook was made, when the book's figures may be stale and would overwrite newer ones."""
    from .outputs.master import entries_without_errors, read_master_entries, validate_manual_entries

    path = Path(path)
    if not path.is_file():
        raise IntakeError(f"找不到工作簿 {path}")
    entries, issues = read_master_entries(path, config)
    period = period or next((e.period for e in entries if e.period), None)
    if period is None:
        raise IntakeError(f"无法从 {path.name} 的首页读出期次；请用 --period 指定")
    consolidation = consolidate_period(config, period, archive_path) if Path(archive_path).exists() else None
    issues += validate_manual_entries(entries, config, consolidation, file=path.name)
    check = BookCheck(file=path, period=period, entries=entries, issues=issues)
    if record:
        check.recorded, check.note = _record_book(path, archive_path, period,
                                                  entries_without_errors(entries, issues), consolidation)
    return check


def _record_book(path: Path, archive_path: str | Path, period: int, entries: list, consolidation) -> tuple[list[int], str]:
    from .consolidate import record_manual_entries
    from .outputs.master import read_book_stamp

    if consolidation is None:
        return [], f"档案库 {archive_path} 不存在，修改未记入"
    last_run, version = read_book_stamp(path)
    with archive_lock(archive_path), Archive(archive_path) as archive:
        stale = (archive.version() != version) if version is not None else (
            last_run is None or archive.recorded_since(last_run.isoformat()) > 0)
        if stale:
            return [], (f"档案库在 {path.name} 生成之后收到了新的报表，工作簿中的数字可能已过时，本次修改未记入档案库；"
                        "请重新汇总（xf-excel consolidate）后在新的汇总表中修改并校验")
        return record_manual_entries(archive, entries, period, consolidation=consolidation, file_name=path.name), ""


@dataclass
class WeekResult:
    """The weekly job: intake, then the master workbook and the briefing from the archive."""

    intake: IntakeReport
    consolidation: Any
    master: Path
    briefing: Any

    def to_dict(self) -> dict[str, Any]:
        return {"intake": self.intake.to_dict(), "master": str(self.master),
                "briefing": [str(p) for p in getattr(self.briefing, "paths", [])]}


def run_week(config: Config, inbox: str | Path, period: int, archive_path: str | Path, out_dir: str | Path,
             progress: Optional[Callable[[int, int], None]] = None) -> WeekResult:
    """The weekly job: take in the inbox, consolidate, write the master workbook and the briefing."""
    out_dir = Path(out_dir)
    report = intake_inbox(config, inbox, period, archive_path, out_dir / "退回", progress=progress)
    with archive_lock(archive_path):
        consolidation = consolidate_period(config, period, archive_path)
        master = write_master_workbook(consolidation, out_dir / master_filename(config, period))
        briefing = brief(consolidation, out_dir / "简报")
    return WeekResult(intake=report, consolidation=consolidation, master=master, briefing=briefing)


def master_filename(config: Config, period: int) -> str:
    """汇总_第2期.xlsx"""
    return f"汇总_第{period}期.xlsx"
