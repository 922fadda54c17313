"""The SQLite archive: the system of record.

Every received file (raw bytes, by SHA-256, so the same file twice is stored once), every
submission (one return of one unit for one period, from a file or typed by hand), its
values, detail rows and issues. The master workbook and the briefing are views of this
archive and can always be rebuilt from it.

Of a unit's accepted submissions for a period, the one received last counts (by the mail's
Date or the file's time, `received_at`), whatever order they were taken in: a correction
saved at 15:00 beats the first return saved at 09:00 even when it is read first. The others
are kept (status `superseded`). Two received at the same moment are told apart by file name
only so that the outcome never depends on the order of reading; `same_moment` lets intake
say so and ask. A rejected submission never displaces accepted figures: the unit's accepted
figures stay until a corrected return arrives.

Each intake is a batch (`batches`). Withdrawing a batch (`withdraw_batch`: a wrong-period
intake, the wrong folder) deletes nothing: its submissions become `withdrawn`, its issues
stop counting, the returns they had superseded count again, and its files may be taken in
once more.

Every write runs in one transaction (`with archive.transaction():`): a crash leaves the
archive as it was before.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

from ..errors import ArchiveError
from ..issues import Issue, IssueCode, Severity
from ..checks.entries import NarrativeChoice

__all__ = ["Archive", "Submission", "ReturnHeader", "NewSubmission", "NarrativeItem", "FileRecord", "SentMail", "FetchedMail",
           "Batch", "Withdrawal",
            "EarlierOutcome",
            "sha256", "moment", "same_moment"]

SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS files (
    sha256 TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    first_seen TEXT NOT NULL,
    origin TEXT NOT NULL DEFAULT '{}',      -- JSON: mail sender, subject, container path
    content BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY,
    unit_code TEXT NOT NULL,
    period INTEGER NOT NULL,
    received_at TEXT NOT NULL,
    source TEXT NOT NULL,                   -- 'file' or 'manual'
    file_sha256 TEXT REFERENCES files(sha256),
    file_name TEXT NOT NULL DEFAULT '',
    sender TEXT NOT NULL DEFAULT '',
    template_version TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,                   -- 'accepted', 'rejected', 'superseded', 'withdrawn'
    supersedes INTEGER REFERENCES submissions(id),
    note TEXT NOT NULL DEFAULT '',
    recorded_at TEXT NOT NULL,
    batch_id INTEGER REFERENCES batches(id) -- the intake that took it in (NULL: typed by hand)
);
CREATE INDEX IF NOT EXISTS submissions_unit_period ON submissions(unit_code, period);
CREATE TABLE IF NOT EXISTS submission_values (
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    indicator TEXT NOT NULL,
    number REAL,
    text TEXT,
    cell TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (submission_id, indicator)
);
CREATE TABLE IF NOT EXISTS detail_rows (
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    list_id TEXT NOT NULL,
    row_number INTEGER NOT NULL,
    data TEXT NOT NULL,                     -- JSON object: column id -> value
    PRIMARY KEY (submission_id, list_id, row_number)
);
CREATE TABLE IF NOT EXISTS issues (
    id INTEGER PRIMARY KEY,
    submission_id INTEGER REFERENCES submissions(id),
    file_sha256 TEXT REFERENCES files(sha256),
    period INTEGER,
    unit_code TEXT,
    code TEXT NOT NULL,
    severity TEXT NOT NULL,
    file TEXT NOT NULL DEFAULT '',
    sheet TEXT,
    row INTEGER,
    col INTEGER,
    indicator TEXT,
    value TEXT,
    message TEXT NOT NULL,
    batch_id INTEGER REFERENCES batches(id)
);
CREATE INDEX IF NOT EXISTS issues_period ON issues(period);
CREATE TABLE IF NOT EXISTS mail_sent (
    id INTEGER PRIMARY KEY,
    period INTEGER NOT NULL,
    unit_code TEXT NOT NULL,
    kind TEXT NOT NULL,                     -- 'forms', 'feedback', 'reminders'
    key TEXT NOT NULL,                      -- once sent, a message of this key is not sent again by accident
    recipients TEXT NOT NULL,
    subject TEXT NOT NULL,
    message_id TEXT NOT NULL,
    attachment TEXT NOT NULL DEFAULT '',
    attachment_sha256 TEXT,
    status TEXT NOT NULL,                   -- 'sending' (begun, no answer yet), 'sent', 'refused', 'failed'
    reply TEXT NOT NULL DEFAULT '',         -- the server's answer, as it gave it
    started_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX IF NOT EXISTS mail_sent_period ON mail_sent(period, kind);
CREATE TABLE IF NOT EXISTS mail_fetched (
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL DEFAULT '',
    sha256 TEXT NOT NULL REFERENCES files(sha256),   -- the whole message, archived before it is read
    mailbox TEXT NOT NULL,                  -- login@host/folder
    uid INTEGER,
    sender TEXT NOT NULL DEFAULT '',
    subject TEXT NOT NULL DEFAULT '',
    period INTEGER,
    status TEXT NOT NULL,                   -- 'fetched' (archived, being read), 'taken' (read and marked on the server),
                                            -- 'left' (nothing in it could be taken: left in the mailbox, reported)
    note TEXT NOT NULL DEFAULT '',
    fetched_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS mail_fetched_id ON mail_fetched(message_id);
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY,
    period INTEGER NOT NULL,
    inbox TEXT NOT NULL DEFAULT '',
    started_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'taken',   -- 'taken' or 'withdrawn'
    withdrawn_at TEXT,
    outputs TEXT NOT NULL DEFAULT '[]'      -- JSON list: the feedback workbooks written for it
);
CREATE TABLE IF NOT EXISTS submission_header (
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    label TEXT NOT NULL,                    -- a header label of the form: 填报人, 联系电话 …
    text TEXT NOT NULL,
    PRIMARY KEY (submission_id, label)
);
CREATE INDEX IF NOT EXISTS issues_file ON issues(file_sha256);
CREATE INDEX IF NOT EXISTS submissions_file ON submissions(file_sha256);
CREATE TABLE IF NOT EXISTS feedback (      -- every feedback workbook written for a received file
    file_sha256 TEXT NOT NULL REFERENCES files(sha256),
    period INTEGER,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,                   -- of the workbook as written: sent back unchanged, it is ours
    written_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_file ON feedback(file_sha256);
CREATE INDEX IF NOT EXISTS feedback_sha256 ON feedback(sha256);
CREATE TABLE IF NOT EXISTS submission_narrative (   -- the 工作动态 / 典型做法 texts of a return, as written
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    seq INTEGER NOT NULL,                   -- 1, 2 … in the form's order
    kind TEXT NOT NULL,                     -- 工作动态 | 典型做法
    text TEXT NOT NULL,
    cell TEXT NOT NULL DEFAULT '',
    source_submission INTEGER NOT NULL,     -- the return the text came in (a manual correction keeps it)
    PRIMARY KEY (submission_id, seq)
);
CREATE TABLE IF NOT EXISTS narrative_choices (      -- the office's 选用 and edited text of an item, newest counts
    id INTEGER PRIMARY KEY,
    period INTEGER NOT NULL,
    item_key TEXT NOT NULL,                 -- NarrativeItem.key: source submission and seq
    chosen INTEGER NOT NULL,
    text TEXT NOT NULL,
    file_name TEXT NOT NULL DEFAULT '',     -- the master workbook it was typed in
    archive_version INTEGER,                -- the ArchiveVersion that workbook showed
    recorded_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS narrative_choices_period ON narrative_choices(period, item_key);
"""

# Columns added after the first archives were made (schema 1), added to those in place.
_ADDED_COLUMNS = (("submissions", "batch_id", "INTEGER REFERENCES batches(id)"),
                  ("issues", "batch_id", "INTEGER REFERENCES batches(id)"),
                  ("mail_fetched", "batch_id", "INTEGER REFERENCES batches(id)"))   # the intake it went into
_LIVE_FETCH = "(batch_id IS NULL OR batch_id NOT IN (SELECT id FROM batches WHERE status = 'withdrawn'))"

# An issue counts unless its submission or its intake batch was withdrawn.
_LIVE_ISSUE = ("(submission_id IS NULL OR submission_id NOT IN (SELECT id FROM submissions WHERE status = 'withdrawn'))"
               " AND (batch_id IS NULL OR batch_id NOT IN (SELECT id FROM batches WHERE status = 'withdrawn'))")


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _now() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")


def moment(iso: str) -> dt.datetime:
    """An archived ISO time as local wall-clock time (aware times, as mail dates are, converted
    to this machine's zone), so a mail's Date and a file's time compare."""
    when = dt.datetime.fromisoformat(iso)
    return when.astimezone().replace(tzinfo=None) if when.tzinfo else when


def same_moment(a: Optional[str], b: Optional[str]) -> bool:
    """Two received times that cannot tell which came later."""
    return bool(a and b) and moment(a) == moment(b)


def _counting_order(received_at: str, file_name: str) -> tuple[dt.datetime, str]:
    """Which of two accepted submissions counts: the later received; at the same moment the
    later file name, so the outcome does not depend on the order they were read in."""
    return moment(received_at), file_name


@dataclass(frozen=True)
class Batch:
    """One intake as archived: which period, from which inbox, when, and whether withdrawn."""

    id: int
    period: int
    inbox: str
    started_at: str
    status: str                  # 'taken' or 'withdrawn'
    withdrawn_at: Optional[str]
    outputs: list[str]           # feedback workbooks written for it


@dataclass(frozen=True)
class Withdrawal:
    """What withdrawing a batch changed: its submissions (now `withdrawn`), the units they
    belong to, the units whose earlier accepted return counts again, and how many files the
    batch had taken in (free to be taken in again)."""

    batch: Batch
    submissions: list[int]
    units: list[str]
    restored: list[str]
    files: int


@dataclass(frozen=True)
class FileRecord:
    """A received file as archived."""

    sha256: str
    name: str
    size: int
    first_seen: str
    origin: dict[str, Any]


@dataclass(frozen=True)
class EarlierOutcome:
    """What became of a file when it was taken in before: the submission it produced (its
    status then and now) or, for a file that produced none, its file-level issues."""

    status: str                     # accepted | rejected | superseded (a submission), or 'file' (issues only)
    period: Optional[int]
    unit_code: Optional[str]
    taken_at: str                   # when it was recorded
    submission_id: Optional[int]
    issues: list[Issue]
    feedback: Optional[str]         # the feedback workbook last written for it, if any


@dataclass
class NewSubmission:
    """What intake (or a manual entry) hands to the archive.

    `values` maps indicator id to a number, a text, or None (left blank)."""

    unit_code: str
    period: int
    accepted: bool
    values: dict[str, float | str | None] = field(default_factory=dict)
    cells: dict[str, str] = field(default_factory=dict)            # indicator -> "填报!D12"
    details: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    source: str = "file"
    file_sha256: Optional[str] = None
    file_name: str = ""
    sender: str = ""
    template_version: str = ""
    received_at: Optional[str] = None
    note: str = ""
    batch_id: Optional[int] = None                                 # the intake batch (None: typed by hand)
    header: dict[str, str] = field(default_factory=dict)        # header label -> text (填报人, 联系电话 …)
    narrative: list[tuple[str, str, str]] = field(default_factory=list)   # (kind, text, cell) as written
    narrative_from: Optional[int] = None    # instead: keep the narrative of this submission (a manual correction)


@dataclass(frozen=True)
class NarrativeItem:
    """One 工作动态 / 典型做法 text of a return that counts, as the unit wrote it.

    `key` (`N<submission>-<seq>`, of the return the text came in) stays the same when the unit's
    figures are corrected by hand in the master: the office's choice and edit stay with it."""

    key: str
    submission_id: int          # the return the text came in
    seq: int
    unit_code: str
    period: int
    kind: str                   # 工作动态 | 典型做法 (contract.NarrativeKind)
    text: str
    cell: str = ""


@dataclass(frozen=True)
class ReturnHeader:
    """A return's header block as written (label -> text), with what orders returns in time."""

    id: int
    period: int
    source: str
    received_at: Optional[str]
    file_name: str
    header: dict[str, str]


@dataclass(frozen=True)
class Submission:
    """A submission read back from the archive."""

    id: int
    unit_code: str
    period: int
    received_at: str
    source: str
    status: str
    file_name: str
    file_sha256: Optional[str]
    sender: str
    template_version: str
    supersedes: Optional[int]
    note: str
    values: dict[str, float | str | None]
    cells: dict[str, str]
    details: dict[str, list[dict[str, Any]]]
    header: dict[str, str] = field(default_factory=dict)        # header label -> text, as on the return


@dataclass(frozen=True)
class SentMail:
    """One message of the send log: who, what, when, and the server's answer."""

    id: int
    period: int
    unit_code: str
    kind: str
    key: str
    recipients: str
    subject: str
    message_id: str
    attachment: str
    status: str
    reply: str
    started_at: str
    finished_at: Optional[str]


@dataclass(frozen=True)
class FetchedMail:
    """One message fetched from the office mailbox, as the archive remembers it."""

    id: int
    message_id: str
    sha256: str
    mailbox: str
    uid: Optional[int]
    sender: str
    subject: str
    period: Optional[int]
    status: str
    note: str
    fetched_at: str


def _issue(r: sqlite3.Row) -> Issue:
    return Issue(code=IssueCode(r["code"]), severity=Severity(r["severity"]), message=r["message"], file=r["file"],
                 sheet=r["sheet"], row=r["row"], column=r["col"], indicator=r["indicator"], value=r["value"],
                 unit=r["unit_code"])


class Archive:
    """The archive in one SQLite file. Use as a context manager or call `close()`.

        >>> with Archive("data/xf.sqlite") as archive:
        ...     accepted = archive.accepted(period=2)
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.notice: Optional[str] = None
        self._depth = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise ArchiveError.unusable(self.path, exc) from None
        try:
            self._open()
        except (OSError, sqlite3.Error) as exc:   # read-only folder, not a database, disk full
            self.db.close()
            raise ArchiveError.unusable(self.path, exc) from None

    def _open(self) -> None:
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA foreign_keys = ON")
        self.journal_mode = self._set_journal_mode()
        if self.journal_mode != "wal":
            self.notice = (f"档案库 {self.path} 所在位置不支持 WAL 日志（常见于网络共享盘），已改用普通日志模式：数据同样安全，"
                           "但速度较慢；请不要在两台电脑上同时运行，或把档案库放在本机硬盘上")
        self.db.executescript(_SCHEMA)
        self._add_missing_columns()
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    def _add_missing_columns(self) -> None:
        """Bring an archive made by an earlier version up to the current schema (nothing is lost)."""
        for table, column, declaration in _ADDED_COLUMNS:
            present = {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}
            if column not in present:
                self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")

    def _set_journal_mode(self) -> str:
        # WAL needs shared memory, which network shares do not offer; fall back to the
        # rollback journal, which is just as crash-safe, only slower with readers about.
        try:
            mode = self.db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        except sqlite3.OperationalError:
            mode = "delete"
        if mode.lower() != "wal":
            self.db.execute("PRAGMA journal_mode = DELETE")
        self.db.execute("PRAGMA synchronous = FULL" if mode.lower() != "wal" else "PRAGMA synchronous = NORMAL")
        return mode.lower()

    def __enter__(self) -> "Archive":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator["Archive"]:
        """All writes inside happen together or not at all (nesting joins the outer one)."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self.db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")
        finally:
            self._depth = 0

    # ---- files -------------------------------------------------------------------------------
    def add_file(self, content: bytes, name: str, origin: Optional[dict[str, Any]] = None) -> tuple[str, bool]:
        """Store raw bytes under their hash. Returns (sha256, True if it was new)."""
        digest = sha256(content)
        with self.transaction():
            cur = self.db.execute(
                "INSERT OR IGNORE INTO files (sha256, name, size, first_seen, origin, content) VALUES (?,?,?,?,?,?)",
                (digest, name, len(content), _now(), json.dumps(origin or {}, ensure_ascii=False), content))
        return digest, cur.rowcount == 1

    def file(self, digest: str) -> Optional[FileRecord]:
        row = self.db.execute("SELECT sha256, name, size, first_seen, origin FROM files WHERE sha256 = ?", (digest,)).fetchone()
        if row is None:
            return None
        return FileRecord(row["sha256"], row["name"], row["size"], row["first_seen"], json.loads(row["origin"]))

    def file_content(self, digest: str) -> bytes:
        return self.db.execute("SELECT content FROM files WHERE sha256 = ?", (digest,)).fetchone()[0]

    def file_processed(self, digest: str) -> bool:
        """True when the file already produced a submission or file-level issues (not withdrawn)."""
        return bool(self.db.execute(
            "SELECT 1 FROM submissions WHERE file_sha256 = ? AND status != 'withdrawn'"
            f" UNION SELECT 1 FROM issues WHERE file_sha256 = ? AND {_LIVE_ISSUE} LIMIT 1",
            (digest, digest)).fetchone())

    def earlier_outcome(self, digest: str) -> Optional[EarlierOutcome]:
        """What the file with this hash came to when it was last taken in (None: never, or only
        in intakes since withdrawn)."""
        row = self.db.execute("SELECT * FROM submissions WHERE file_sha256 = ? AND status != 'withdrawn'"
                              " ORDER BY id DESC LIMIT 1", (digest,)).fetchone()
        feedback = self.feedback_for(digest)
        if row is not None:
            return EarlierOutcome(row["status"], row["period"], row["unit_code"], row["recorded_at"], row["id"],
                                  self.issues(submission_id=row["id"]), feedback)
        issues = self._issues(f"file_sha256 = ? AND submission_id IS NULL AND {_LIVE_ISSUE}", [digest])
        if not issues:
            return None
        first = self.db.execute("SELECT period, unit_code FROM issues WHERE file_sha256 = ? AND submission_id IS NULL"
                                f" AND {_LIVE_ISSUE} ORDER BY id DESC LIMIT 1", (digest,)).fetchone()
        record = self.file(digest)
        return EarlierOutcome("file", first["period"], first["unit_code"], record.first_seen if record else "", None,
                              issues, feedback)

    # ---- feedback workbooks --------------------------------------------------------------------
    def record_feedback(self, file_sha256: str, period: Optional[int], path: str | Path, content: bytes) -> None:
        """Note the feedback workbook written for a received file (its bytes' hash identifies it
        when it comes back unchanged)."""
        with self.transaction():
            self.db.execute("INSERT INTO feedback VALUES (?,?,?,?,?)",
                            (file_sha256, period, str(path), sha256(content), _now()))

    def feedback_for(self, file_sha256: str) -> Optional[str]:
        """The path of the feedback workbook last written for a received file."""
        row = self.db.execute("SELECT path FROM feedback WHERE file_sha256 = ? ORDER BY rowid DESC LIMIT 1",
                              (file_sha256,)).fetchone()
        return row[0] if row else None

    def is_feedback(self, digest: str) -> bool:
        """True when these bytes are a feedback workbook this archive's runs wrote, unchanged."""
        return self.db.execute("SELECT 1 FROM feedback WHERE sha256 = ? LIMIT 1", (digest,)).fetchone() is not None

    # ---- submissions -------------------------------------------------------------------------
    def record_submission(self, new: NewSubmission) -> int:
        """Archive one submission with its values, details and issues; returns its id.

        An accepted submission received later than the unit's accepted one for the period
        supersedes it; one received earlier is archived as `superseded` at once."""
        received = new.received_at or _now()
        with self.transaction():
            status, previous = ("accepted" if new.accepted else "rejected"), None
            current = self._accepted_row(new.unit_code, new.period) if new.accepted else None
            if current is not None and (_counting_order(current["received_at"], current["file_name"])
                                        > _counting_order(received, new.file_name)):
                status = "superseded"          # an older return read after the newer one
            elif current is not None:
                previous = current["id"]
                self.db.execute("UPDATE submissions SET status = 'superseded' WHERE id = ?", (previous,))
            cur = self.db.execute(
                "INSERT INTO submissions (unit_code, period, received_at, source, file_sha256, file_name, sender,"
                " template_version, status, supersedes, note, recorded_at, batch_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (new.unit_code, new.period, received, new.source, new.file_sha256, new.file_name,
                 new.sender, new.template_version, status, previous, new.note, _now(), new.batch_id))
            sub_id = cur.lastrowid
            self.db.executemany(
                "INSERT INTO submission_values VALUES (?,?,?,?,?)",
                [(sub_id, ind, value if isinstance(value, (int, float)) else None,
                  value if isinstance(value, str) else None, new.cells.get(ind, ""))
                 for ind, value in new.values.items()])
            self.db.executemany(
                "INSERT INTO detail_rows VALUES (?,?,?,?)",
                [(sub_id, list_id, n, json.dumps(row, ensure_ascii=False, default=str))
                 for list_id, rows in new.details.items() for n, row in enumerate(rows, start=1)])
            self.db.executemany("INSERT INTO submission_header VALUES (?,?,?)",
                                [(sub_id, label, text) for label, text in new.header.items() if text])
            self._insert_narrative(sub_id, new)
            self._insert_issues(new.issues, submission_id=sub_id, file_sha256=new.file_sha256,
                                period=new.period, unit_code=new.unit_code, batch_id=new.batch_id)
        return sub_id

    def _insert_narrative(self, sub_id: int, new: NewSubmission) -> None:
        if new.narrative_from is not None:
            self.db.execute("INSERT INTO submission_narrative SELECT ?, seq, kind, text, cell, source_submission"
                            " FROM submission_narrative WHERE submission_id = ?", (sub_id, new.narrative_from))
            return
        self.db.executemany("INSERT INTO submission_narrative VALUES (?,?,?,?,?,?)",
                            [(sub_id, seq, kind, text, cell, sub_id)
                             for seq, (kind, text, cell) in enumerate(new.narrative, start=1) if text])

    # ---- narrative: 工作动态 / 典型做法 and the office's choice ----------------------------------------
    def narratives(self, period: Optional[int] = None) -> list[NarrativeItem]:
        """The narrative items of the returns that count (accepted), of one period or of all,
        by period, then unit code, then the form's order. Withdrawn, rejected and replaced
        returns' texts are not listed."""
        sql = ("SELECT n.source_submission, n.seq, n.kind, n.text, n.cell, s.unit_code, s.period"
               " FROM submission_narrative n JOIN submissions s ON s.id = n.submission_id WHERE s.status = 'accepted'")
        args: list[Any] = []
        if period is not None:
            sql, args = sql + " AND s.period = ?", [period]
        rows = self.db.execute(sql + " ORDER BY s.period, s.unit_code, n.seq", args)
        return [NarrativeItem(key=f"N{r[0]}-{r[1]}", submission_id=r[0], seq=r[1], unit_code=r[5], period=r[6],
                              kind=r[2], text=r[3], cell=r[4]) for r in rows]

    def record_narrative_choices(self, period: int, choices: list[NarrativeChoice], *, file_name: str = "",
                                 archive_version: Optional[int] = None) -> int:
        """Archive the office's 选用 / edited text of items, where they differ from the choice
        recorded last (so a rebuild shows them); returns how many were recorded."""
        current = self.narrative_choices(period)
        changed = [c for c in choices
                   if c.key not in current or (current[c.key].chosen, current[c.key].text) != (c.chosen, c.text)]
        with self.transaction():
            self.db.executemany(
                "INSERT INTO narrative_choices (period, item_key, chosen, text, file_name, archive_version, recorded_at)"
                " VALUES (?,?,?,?,?,?,?)",
                [(period, c.key, int(c.chosen), c.text, file_name, archive_version, _now()) for c in changed])
        return len(changed)

    def narrative_choices(self, period: int) -> dict[str, NarrativeChoice]:
        """The newest recorded choice of each item of the period (item key -> choice)."""
        rows = self.db.execute("SELECT item_key, chosen, text, recorded_at FROM narrative_choices WHERE period = ?"
                               " ORDER BY id", (period,))
        return {r[0]: NarrativeChoice(r[0], bool(r[1]), r[2]) for r in rows}

    def record_file_issues(self, digest: str, issues: list[Issue], period: Optional[int] = None,
                           unit_code: Optional[str] = None, batch_id: Optional[int] = None) -> None:
        """Archive findings about a file that produced no submission (not a return, unreadable …)."""
        with self.transaction():
            self._insert_issues(issues, submission_id=None, file_sha256=digest, period=period, unit_code=unit_code,
                                batch_id=batch_id)

    def _insert_issues(self, issues: list[Issue], **where: Any) -> None:
        self.db.executemany(
            "INSERT INTO issues (submission_id, file_sha256, period, unit_code, code, severity, file, sheet, row, col,"
            " indicator, value, message, batch_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [(where["submission_id"], where["file_sha256"], where["period"], where["unit_code"], i.code.value,
              i.severity.value, i.file, i.sheet, i.row, i.column, i.indicator,
              None if i.value is None else str(i.value), i.message, where.get("batch_id")) for i in issues])

    def add_issues(self, submission_id: int, issues: list[Issue], batch_id: Optional[int] = None) -> None:
        """Archive findings about a submission made after it was recorded (e.g. a tie with another
        return), as found by the intake `batch_id` (withdrawing it withdraws them)."""
        sub = self.submission(submission_id)
        with self.transaction():
            self._insert_issues(issues, submission_id=submission_id, file_sha256=sub.file_sha256,
                                period=sub.period, unit_code=sub.unit_code, batch_id=batch_id)

    def _accepted_row(self, unit_code: str, period: int) -> Optional[sqlite3.Row]:
        return self.db.execute(
            "SELECT id, received_at, file_name FROM submissions WHERE unit_code = ? AND period = ? AND status = 'accepted'",
            (unit_code, period)).fetchone()

    def _accepted_id(self, unit_code: str, period: int) -> Optional[int]:
        row = self._accepted_row(unit_code, period)
        return row["id"] if row else None

    def submission(self, sub_id: int) -> Submission:
        row = self.db.execute("SELECT * FROM submissions WHERE id = ?", (sub_id,)).fetchone()
        return self._load(row)

    def _load(self, row: sqlite3.Row) -> Submission:
        values: dict[str, float | str | None] = {}
        cells: dict[str, str] = {}
        for v in self.db.execute("SELECT indicator, number, text, cell FROM submission_values WHERE submission_id = ?",
                                 (row["id"],)):
            values[v["indicator"]] = v["number"] if v["number"] is not None else v["text"]
            cells[v["indicator"]] = v["cell"]
        details: dict[str, list[dict[str, Any]]] = {}
        for d in self.db.execute("SELECT list_id, data FROM detail_rows WHERE submission_id = ? ORDER BY list_id, row_number",
                                 (row["id"],)):
            details.setdefault(d["list_id"], []).append(json.loads(d["data"]))
        header = {h["label"]: h["text"] for h in self.db.execute(
            "SELECT label, text FROM submission_header WHERE submission_id = ?", (row["id"],))}
        return Submission(
            id=row["id"], unit_code=row["unit_code"], period=row["period"], received_at=row["received_at"],
            source=row["source"], status=row["status"], file_name=row["file_name"], file_sha256=row["file_sha256"],
            sender=row["sender"], template_version=row["template_version"], supersedes=row["supersedes"],
            note=row["note"], values=values, cells=cells, details=details, header=header)

    def accepted(self, period: int) -> dict[str, Submission]:
        """The accepted submission of each unit for the period (unit code -> submission)."""
        rows = self.db.execute("SELECT * FROM submissions WHERE period = ? AND status = 'accepted'", (period,))
        return {row["unit_code"]: self._load(row) for row in rows}

    def accepted_for(self, unit_code: str, period: int) -> Optional[Submission]:
        """The unit's accepted submission for the period, if any."""
        sub_id = self._accepted_id(unit_code, period)
        return None if sub_id is None else self.submission(sub_id)

    def headers_before(self, unit_code: str, period: int) -> list["ReturnHeader"]:
        """The header (填报人, 联系电话 …) of each of the unit's returns of earlier periods that wrote
        one, withdrawn ones left out; without loading their figures (the 催报 list asks for many units)."""
        found: dict[int, ReturnHeader] = {}
        for row in self.db.execute(
                "SELECT s.id, s.period, s.source, s.received_at, s.file_name, h.label, h.text FROM submissions s"
                " JOIN submission_header h ON h.submission_id = s.id"
                " WHERE s.unit_code = ? AND s.period < ? AND s.status != 'withdrawn' ORDER BY s.id", (unit_code, period)):
            entry = found.setdefault(row["id"], ReturnHeader(id=row["id"], period=row["period"], source=row["source"],
                                                             received_at=row["received_at"],
                                                             file_name=row["file_name"], header={}))
            entry.header[row["label"]] = row["text"]
        return list(found.values())

    def latest_accepted_before(self, unit_code: str, period: int) -> Optional[Submission]:
        """The unit's accepted submission of the latest earlier period (for carry-forward and history checks)."""
        row = self.db.execute(
            "SELECT * FROM submissions WHERE unit_code = ? AND period < ? AND status = 'accepted'"
            " ORDER BY period DESC LIMIT 1", (unit_code, period)).fetchone()
        return self._load(row) if row else None

    def submissions(self, period: Optional[int] = None, unit_code: Optional[str] = None, *,
                    withdrawn: bool = False) -> list[Submission]:
        """Every submission, oldest first, optionally for one period and/or unit; withdrawn ones
        only when asked for."""
        sql, args = "SELECT * FROM submissions WHERE 1=1" + ("" if withdrawn else " AND status != 'withdrawn'"), []
        if period is not None:
            sql, args = sql + " AND period = ?", args + [period]
        if unit_code is not None:
            sql, args = sql + " AND unit_code = ?", args + [unit_code]
        return [self._load(row) for row in self.db.execute(sql + " ORDER BY id", args)]

    def issues(self, period: Optional[int] = None, submission_id: Optional[int] = None) -> list[Issue]:
        """Archived issues that count (not of a withdrawn submission or batch), in the order recorded."""
        sql, args = _LIVE_ISSUE, []
        if period is not None:
            sql, args = sql + " AND period = ?", args + [period]
        if submission_id is not None:
            sql, args = sql + " AND submission_id = ?", args + [submission_id]
        return self._issues(sql, args)

    def _issues(self, where: str, args: list[Any]) -> list[Issue]:
        return [_issue(r) for r in self.db.execute(f"SELECT * FROM issues WHERE {where} ORDER BY id", args)]

    def issues_by_source(self, period: int) -> list[tuple[Optional[int], Issue]]:
        """The period's issues that count with the submission each belongs to (None: a file that
        made no submission), in the order they were recorded."""
        rows = self.db.execute(f"SELECT * FROM issues WHERE {_LIVE_ISSUE} AND period = ? ORDER BY id", (period,))
        return [(r["submission_id"], _issue(r)) for r in rows]

    def latest_numbers(self, period: int) -> dict[str, dict[str, float]]:
        """Each unit's figures (numbers only) from its accepted submission of the latest period
        up to `period`: one query, no detail rows loaded."""
        rows = self.db.execute(
            "SELECT s.unit_code, v.indicator, v.number FROM submissions s"
            " JOIN submission_values v ON v.submission_id = s.id"
            " WHERE s.status = 'accepted' AND v.number IS NOT NULL AND s.period = ("
            "  SELECT MAX(period) FROM submissions t WHERE t.unit_code = s.unit_code"
            "  AND t.status = 'accepted' AND t.period <= ?)", (period,))
        latest: dict[str, dict[str, float]] = {}
        for unit_code, indicator, number in rows:
            latest.setdefault(unit_code, {})[indicator] = number
        return latest

    def version(self) -> int:
        """What a view of the archive reflects (0 when empty): the newest submission id plus the
        number of withdrawn batches — each new submission and each withdrawal raises it."""
        return self.db.execute("SELECT COALESCE((SELECT MAX(id) FROM submissions), 0)"
                               " + (SELECT COUNT(*) FROM batches WHERE status = 'withdrawn')").fetchone()[0]

    def recorded_since(self, moment: str) -> int:
        """How many submissions were recorded after `moment` (ISO time)."""
        return self.db.execute("SELECT COUNT(*) FROM submissions WHERE recorded_at > ?", (moment,)).fetchone()[0]

    def periods(self) -> list[int]:
        """Periods that have at least one submission."""
        return [r[0] for r in self.db.execute("SELECT DISTINCT period FROM submissions ORDER BY period")]

    # ---- the send log ------------------------------------------------------------------------
    def begin_send(self, *, period: int, unit_code: str, kind: str, key: str, recipients: list[str], subject: str,
                   message_id: str, attachment: str = "", attachment_sha256: Optional[str] = None) -> int:
        """Log a message about to be handed to the server (status 'sending'); returns its id.
        A message still 'sending' after a crash may or may not have left: `finish_send` says."""
        with self.transaction():
            cur = self.db.execute(
                "INSERT INTO mail_sent (period, unit_code, kind, key, recipients, subject, message_id, attachment,"
                " attachment_sha256, status, started_at) VALUES (?,?,?,?,?,?,?,?,?,'sending',?)",
                (period, unit_code, kind, key, ", ".join(recipients), subject, message_id, attachment,
                 attachment_sha256, _now()))
        return cur.lastrowid

    def finish_send(self, send_id: int, status: str, reply: str) -> None:
        """Record the server's answer: 'sent', 'refused' (the server said no) or 'failed' (no answer)."""
        with self.transaction():
            self.db.execute("UPDATE mail_sent SET status = ?, reply = ?, finished_at = ? WHERE id = ?",
                            (status, reply, _now(), send_id))

    def sent_keys(self, period: int, kind: str) -> set[str]:
        """Keys of the period's messages of this kind that the server accepted."""
        rows = self.db.execute("SELECT key FROM mail_sent WHERE period = ? AND kind = ? AND status = 'sent'",
                               (period, kind))
        return {r[0] for r in rows}

    def sent_mail(self, period: Optional[int] = None, kind: Optional[str] = None) -> list[SentMail]:
        """The send log, oldest first, optionally for one period and/or kind."""
        sql, args = "SELECT * FROM mail_sent WHERE 1=1", []
        if period is not None:
            sql, args = sql + " AND period = ?", args + [period]
        if kind is not None:
            sql, args = sql + " AND kind = ?", args + [kind]
        return [SentMail(r["id"], r["period"], r["unit_code"], r["kind"], r["key"], r["recipients"], r["subject"],
                         r["message_id"], r["attachment"], r["status"], r["reply"], r["started_at"], r["finished_at"])
                for r in self.db.execute(sql + " ORDER BY id", args)]

    def times_sent(self, period: int, kind: str) -> dict[str, int]:
        """unit code -> how many messages of this kind the server accepted for the period
        (报送情况's 已催报 N次)."""
        rows = self.db.execute("SELECT unit_code, COUNT(*) FROM mail_sent WHERE period = ? AND kind = ?"
                               " AND status = 'sent' GROUP BY unit_code", (period, kind))
        return {code: count for code, count in rows}

    # ---- mail fetched from the office mailbox --------------------------------------------------
    def fetched(self, message_id: str, digest: str) -> Optional[FetchedMail]:
        """The message seen before, by its Message-ID (when it has one) or its content hash; a
        message whose intake was withdrawn (撤销上次收取) counts as not seen, to be taken again."""
        row = self.db.execute(
            f"SELECT * FROM mail_fetched WHERE (sha256 = ? OR (? != '' AND message_id = ?)) AND {_LIVE_FETCH}"
            " ORDER BY id DESC LIMIT 1", (digest, message_id, message_id)).fetchone()
        return _fetched(row) if row else None

    def withdrawn_uids(self, mailbox: str) -> list[int]:
        """UIDs in `mailbox` of messages whose intake was withdrawn and not taken again since:
        marked on the server, yet to be fetched once more."""
        rows = self.db.execute(
            f"SELECT DISTINCT uid FROM mail_fetched WHERE mailbox = ? AND uid IS NOT NULL AND NOT {_LIVE_FETCH}"
            f" AND sha256 NOT IN (SELECT sha256 FROM mail_fetched WHERE mailbox = ? AND {_LIVE_FETCH})",
            (mailbox, mailbox))
        return sorted(r[0] for r in rows)

    def record_fetched(self, *, message_id: str, digest: str, mailbox: str, uid: Optional[int], sender: str,
                       subject: str, period: Optional[int], status: str, note: str = "") -> int:
        """Remember a message fetched (its bytes are already in `files`, under `digest`)."""
        with self.transaction():
            cur = self.db.execute(
                "INSERT INTO mail_fetched (message_id, sha256, mailbox, uid, sender, subject, period, status, note,"
                " fetched_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (message_id, digest, mailbox, uid, sender, subject, period, status, note, _now()))
        return cur.lastrowid

    def set_fetched_status(self, row_id: int, status: str, note: str = "", batch_id: Optional[int] = None) -> None:
        """'taken' once the message is marked on the server; 'left' when nothing in it could be
        taken; `batch_id`: the intake it went into."""
        with self.transaction():
            self.db.execute("UPDATE mail_fetched SET status = ?, note = ?, batch_id = ? WHERE id = ?",
                            (status, note, batch_id, row_id))

    def fetched_mail(self, period: Optional[int] = None) -> list[FetchedMail]:
        """Every message fetched, oldest first (optionally for one period)."""
        sql, args = "SELECT * FROM mail_fetched", []
        if period is not None:
            sql, args = sql + " WHERE period = ?", [period]
        return [_fetched(r) for r in self.db.execute(sql + " ORDER BY id", args)]

    # ---- intake batches ------------------------------------------------------------------------
    def begin_batch(self, period: int, inbox: str) -> int:
        """Open the record of one intake; returns its id (submissions and issues carry it)."""
        with self.transaction():
            cur = self.db.execute("INSERT INTO batches (period, inbox, started_at) VALUES (?,?,?)",
                                  (period, inbox, _now()))
        return cur.lastrowid

    def note_batch_outputs(self, batch_id: int, paths: list[str]) -> None:
        """Remember the feedback workbooks written for a batch (to set them aside if it is withdrawn)."""
        with self.transaction():
            self.db.execute("UPDATE batches SET outputs = ? WHERE id = ?",
                            (json.dumps(paths, ensure_ascii=False), batch_id))

    def batch(self, batch_id: int) -> Batch:
        row = self.db.execute("SELECT * FROM batches WHERE id = ?", (batch_id,)).fetchone()
        return Batch(id=row["id"], period=row["period"], inbox=row["inbox"], started_at=row["started_at"],
                     status=row["status"], withdrawn_at=row["withdrawn_at"], outputs=json.loads(row["outputs"]))

    def last_batch(self, period: int) -> Optional[Batch]:
        """The period's most recent intake that took anything in and is not withdrawn."""
        row = self.db.execute(
            "SELECT id FROM batches b WHERE period = ? AND status = 'taken' AND (EXISTS"
            " (SELECT 1 FROM submissions s WHERE s.batch_id = b.id) OR EXISTS (SELECT 1 FROM issues i"
            " WHERE i.batch_id = b.id)) ORDER BY id DESC LIMIT 1", (period,)).fetchone()
        return self.batch(row["id"]) if row else None

    def withdraw_batch(self, batch_id: int) -> Withdrawal:
        """Withdraw one intake: its submissions become `withdrawn` (kept, with their values and
        issues), and where one of them was the unit's accepted return, the unit's previous
        accepted return for the period counts again. Nothing is deleted."""
        with self.transaction():
            rows = self.db.execute("SELECT id, unit_code, period, status FROM submissions WHERE batch_id = ?"
                                   " AND status != 'withdrawn' ORDER BY id", (batch_id,)).fetchall()
            files = self.db.execute(
                "SELECT COUNT(DISTINCT file_sha256) FROM (SELECT file_sha256 FROM submissions WHERE batch_id = ?"
                " UNION SELECT file_sha256 FROM issues WHERE batch_id = ?)", (batch_id, batch_id)).fetchone()[0]
            self.db.execute("UPDATE submissions SET status = 'withdrawn' WHERE batch_id = ?", (batch_id,))
            self.db.execute("UPDATE batches SET status = 'withdrawn', withdrawn_at = ? WHERE id = ?", (_now(), batch_id))
            restored = [row["unit_code"] for row in rows if row["status"] == "accepted"
                        and self._restore_accepted(row["unit_code"], row["period"])]
        return Withdrawal(batch=self.batch(batch_id), submissions=[row["id"] for row in rows],
                          units=list(dict.fromkeys(row["unit_code"] for row in rows)), restored=restored, files=files)

    def _restore_accepted(self, unit_code: str, period: int) -> bool:
        """After a withdrawal: make the unit's latest received superseded submission of the period
        its accepted one again, when none is accepted now. True when one was restored."""
        if self._accepted_id(unit_code, period) is not None:
            return False
        rows = self.db.execute("SELECT id, received_at, file_name FROM submissions WHERE unit_code = ? AND period = ?"
                               " AND status = 'superseded'", (unit_code, period)).fetchall()
        if not rows:
            return False
        row = max(rows, key=lambda r: (*_counting_order(r["received_at"], r["file_name"]), r["id"]))
        self.db.execute("UPDATE submissions SET status = 'accepted' WHERE id = ?", (row["id"],))
        return True


def _fetched(row: sqlite3.Row) -> FetchedMail:
    return FetchedMail(row["id"], row["message_id"], row["sha256"], row["mailbox"], row["uid"], row["sender"],
                       row["subject"], row["period"], row["status"], row["note"], row["fetched_at"])
