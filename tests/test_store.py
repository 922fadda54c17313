"""The SQLite archive: files by hash, superseding, history, transactions."""

from __future__ import annotations

import sqlite3

import pytest

from xf_excel.issues import Issue, IssueCode, Severity
from xf_excel.archive.store import Archive, NewSubmission


@pytest.fixture
def archive(tmp_path):
    with Archive(tmp_path / "xf.sqlite") as archive:
        yield archive


def _sub(unit="450102", period=1, accepted=True, **values):
    return NewSubmission(unit_code=unit, period=period, accepted=accepted, values=values)


def test_same_file_twice_is_stored_once(archive):
    first = archive.add_file(b"content", "a.xlsx", {"sender": "x@y"})
    second = archive.add_file(b"content", "b.xlsx")
    assert first[0] == second[0] and first[1] is True and second[1] is False
    assert archive.file(first[0]).name == "a.xlsx" and archive.file(first[0]).origin == {"sender": "x@y"}
    assert archive.file_content(first[0]) == b"content"


def test_later_accepted_return_supersedes_and_history_is_kept(archive):
    a = archive.record_submission(_sub(counters_built=10))
    b = archive.record_submission(_sub(counters_built=12))
    assert archive.accepted(1)["450102"].values == {"counters_built": 12}
    subs = archive.submissions(period=1, unit_code="450102")
    assert [(s.id, s.status, s.supersedes) for s in subs] == [(a, "superseded", None), (b, "accepted", a)]


def test_rejected_return_never_displaces_accepted_figures(archive):
    archive.record_submission(_sub(counters_built=10))
    archive.record_submission(_sub(accepted=False, counters_built=99))
    assert archive.accepted(1)["450102"].values == {"counters_built": 10}
    assert [s.status for s in archive.submissions(period=1)] == ["accepted", "rejected"]


def test_values_texts_details_and_issues_round_trip(archive):
    issue = Issue(IssueCode.RULE_FAILED, Severity.ERROR, "「运营专柜数」15 大于「建成专柜数」12，请核对",
                  file="f.xlsx", sheet="填报", row=12, column=5, indicator="counters_operating", value=15)
    sub_id = archive.record_submission(NewSubmission(
        unit_code="450102", period=2, accepted=False, values={"counters_built": 12.5, "note": "文字", "blank": None},
        cells={"counters_built": "填报!E11"}, details={"counters": [{"name": "甲", "sales": 1.5}]}, issues=[issue]))
    sub = archive.submission(sub_id)
    assert sub.values == {"counters_built": 12.5, "note": "文字", "blank": None}
    assert sub.cells["counters_built"] == "填报!E11"
    assert sub.details == {"counters": [{"name": "甲", "sales": 1.5}]}
    [back] = archive.issues(period=2)
    assert (back.cell, back.code, back.severity, back.value, back.unit) == ("填报!E12", IssueCode.RULE_FAILED,
                                                                            Severity.ERROR, "15", "450102")


def test_latest_accepted_before_skips_the_current_and_rejected(archive):
    archive.record_submission(_sub(period=1, counters_built=5))
    archive.record_submission(_sub(period=2, accepted=False, counters_built=1))
    archive.record_submission(_sub(period=3, counters_built=9))
    assert archive.latest_accepted_before("450102", 3).values == {"counters_built": 5}
    assert archive.latest_accepted_before("450102", 1) is None


def test_latest_numbers_take_each_units_latest_accepted_period(archive):
    archive.record_submission(_sub(unit="450102", period=1, counters_built=5, note="文字"))
    archive.record_submission(_sub(unit="450102", period=2, counters_built=8))
    archive.record_submission(_sub(unit="450102", period=3, accepted=False, counters_built=1))
    archive.record_submission(_sub(unit="450103", period=1, counters_built=2, counter_sales=1.5))
    archive.record_submission(_sub(unit="450105", period=4, counters_built=9))
    assert archive.latest_numbers(3) == {"450102": {"counters_built": 8},
                                         "450103": {"counters_built": 2, "counter_sales": 1.5}}


def test_a_failed_transaction_leaves_nothing_behind(archive):
    with pytest.raises(RuntimeError):
        with archive.transaction():
            archive.record_submission(_sub(counters_built=1))
            archive.add_file(b"x", "x.xlsx")
            raise RuntimeError("crash")
    assert archive.submissions() == [] and archive.file_processed("0" * 64) is False
    assert archive.db.execute("SELECT COUNT(*) FROM files").fetchone()[0] == 0


def test_file_processed_after_file_issues(archive):
    digest, _ = archive.add_file(b"pdf", "x.pdf")
    assert not archive.file_processed(digest)
    archive.record_file_issues(digest, [Issue(IssueCode.NOT_A_RETURN, Severity.ERROR, "不是报表", file="x.pdf")], period=1)
    assert archive.file_processed(digest)


def test_archive_is_plain_sqlite_in_wal_mode(tmp_path):
    with Archive(tmp_path / "a.sqlite") as archive:
        archive.record_submission(_sub(counters_built=3))
        assert archive.journal_mode == "wal"
    db = sqlite3.connect(tmp_path / "a.sqlite")
    assert db.execute("SELECT COUNT(*) FROM submission_values").fetchone()[0] == 1


def test_archive_without_wal_says_so_and_still_works(tmp_path):
    """Where WAL cannot be used (a network share; here an in-memory database) the archive
    falls back to the rollback journal and says what that means for the user."""
    with Archive(":memory:") as archive:
        assert archive.journal_mode != "wal"
        assert "不支持 WAL" in archive.notice and "不要在两台电脑上同时运行" in archive.notice
        archive.record_submission(_sub(counters_built=3))
        assert archive.accepted(1)["450102"].values == {"counters_built": 3}
    with Archive(tmp_path / "local.sqlite") as archive:
        assert archive.notice is None


# ---- intake batches and their withdrawal -----------------------------------------------------------

def _filed(archive, batch, content: bytes, unit="450102", period=1, accepted=True, issues=(), **values):
    digest, _ = archive.add_file(content, f"{unit}.xlsx")
    return archive.record_submission(NewSubmission(unit_code=unit, period=period, accepted=accepted, values=values,
                                                   issues=list(issues), file_sha256=digest, batch_id=batch)), digest


def test_withdrawing_a_batch_keeps_it_and_lets_the_earlier_return_count_again(archive):
    first = archive.begin_batch(1, "inbox/a")
    kept, _ = _filed(archive, first, b"first", counters_built=10)
    second = archive.begin_batch(1, "inbox/b")
    issue = Issue(IssueCode.WRONG_PERIOD, Severity.ERROR, "期次不符", unit="450103")
    wrong, digest = _filed(archive, second, b"second", counters_built=99)
    rejected, rejected_file = _filed(archive, second, b"third", unit="450103", accepted=False, issues=[issue])
    pdf, _ = archive.add_file(b"%PDF-1.4", "说明.pdf")
    archive.record_file_issues(pdf, [Issue(IssueCode.NOT_A_RETURN, Severity.ERROR, "不是报表")], period=1,
                               batch_id=second)
    version = archive.version()
    assert archive.last_batch(1).id == second

    withdrawal = archive.withdraw_batch(second)

    assert (withdrawal.submissions, withdrawal.units, withdrawal.restored) == ([wrong, rejected], ["450102", "450103"],
                                                                              ["450102"])
    assert withdrawal.files == 3 and withdrawal.batch.status == "withdrawn"
    assert archive.accepted(1)["450102"].id == kept                       # the earlier return counts again
    assert archive.submission(wrong).status == "withdrawn"                 # kept, never deleted
    assert archive.submission(wrong).values == {"counters_built": 99}
    assert [s.id for s in archive.submissions(period=1)] == [kept]
    assert [s.id for s in archive.submissions(period=1, withdrawn=True)] == [kept, wrong, rejected]
    assert archive.issues(period=1) == []                                  # its issues no longer count
    assert not archive.file_processed(digest) and not archive.file_processed(rejected_file)
    assert not archive.file_processed(pdf)
    assert archive.version() > version                                     # a view made before is stale now
    assert archive.last_batch(1).id == first


def test_a_batch_that_took_nothing_in_is_not_the_last_batch(archive):
    first = archive.begin_batch(1, "inbox")
    _filed(archive, first, b"first", counters_built=10)
    archive.begin_batch(1, "inbox")                     # everything was a duplicate
    assert archive.last_batch(1).id == first
    assert archive.last_batch(2) is None


def test_a_figure_typed_after_the_batch_stays_when_the_batch_is_withdrawn(archive):
    batch = archive.begin_batch(1, "inbox")
    _filed(archive, batch, b"file", counters_built=10)
    typed = archive.record_submission(NewSubmission(unit_code="450102", period=1, accepted=True, source="manual",
                                                    values={"counters_built": 11}))
    archive.withdraw_batch(batch)
    assert archive.accepted(1)["450102"].id == typed


def test_an_archive_of_the_first_schema_is_brought_up_to_date(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
        INSERT INTO meta VALUES ('schema_version', '1');
        CREATE TABLE files (sha256 TEXT PRIMARY KEY, name TEXT NOT NULL, size INTEGER NOT NULL,
            first_seen TEXT NOT NULL, origin TEXT NOT NULL DEFAULT '{}', content BLOB NOT NULL);
        CREATE TABLE submissions (id INTEGER PRIMARY KEY, unit_code TEXT NOT NULL, period INTEGER NOT NULL,
            received_at TEXT NOT NULL, source TEXT NOT NULL, file_sha256 TEXT REFERENCES files(sha256),
            file_name TEXT NOT NULL DEFAULT '', sender TEXT NOT NULL DEFAULT '', template_version TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL, supersedes INTEGER REFERENCES submissions(id), note TEXT NOT NULL DEFAULT '',
            recorded_at TEXT NOT NULL);
        CREATE TABLE issues (id INTEGER PRIMARY KEY, submission_id INTEGER REFERENCES submissions(id),
            file_sha256 TEXT REFERENCES files(sha256), period INTEGER, unit_code TEXT, code TEXT NOT NULL,
            severity TEXT NOT NULL, file TEXT NOT NULL DEFAULT '', sheet TEXT, row INTEGER, col INTEGER,
            indicator TEXT, value TEXT, message TEXT NOT NULL);
        INSERT INTO submissions VALUES (1, '450102', 1, '2020-09-04T10:00:00', 'file', NULL, 'a.xlsx', '', '',
            'accepted', NULL, '', '2020-09-04T10:00:00');
    """)
    db.commit()
    db.close()
    with Archive(path) as archive:
        assert archive.accepted(1)["450102"].id == 1
        batch = archive.begin_batch(1, "inbox")
        _filed(archive, batch, b"new", counters_built=3)
        archive.withdraw_batch(batch)
        assert archive.accepted(1)["450102"].id == 1
        assert archive.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "2"


def test_an_archive_that_is_a_folder_or_not_a_database_is_explained(tmp_path):
    from xf_excel.errors import ArchiveError

    (tmp_path / "folder.sqlite").mkdir()
    (tmp_path / "notes.sqlite").write_bytes(b"these are not the droids" * 100)
    with pytest.raises(ArchiveError, match="这是一个文件夹"):
        Archive(tmp_path / "folder.sqlite")
    with pytest.raises(ArchiveError, match="不是档案库文件"):
        Archive(tmp_path / "notes.sqlite")
def test_the_later_received_return_counts_whatever_the_order_it_is_recorded_in(archive):
    late = archive.record_submission(NewSubmission(unit_code="450102", period=1, accepted=True,
                                                   values={"counters_built": 14}, file_name="更正.xlsx",
                                                   received_at="2020-09-14T15:00:00"))
    early = archive.record_submission(NewSubmission(unit_code="450102", period=1, accepted=True,
                                                    values={"counters_built": 11}, file_name="第1期.xlsx",
                                                    received_at="2020-09-14T09:00:00+08:00"))
    assert archive.accepted(1)["450102"].values == {"counters_built": 14}
    assert [(s.id, s.status) for s in archive.submissions(period=1)] == [(late, "accepted"), (early, "superseded")]


def test_at_the_same_moment_the_file_name_decides_not_the_order(archive):
    for name in ("b.xlsx", "a.xlsx"):
        archive.record_submission(NewSubmission(unit_code="450102", period=1, accepted=True, values={"n": name},
                                                file_name=name, received_at="2020-09-14T15:00:00"))
    assert archive.accepted(1)["450102"].file_name == "b.xlsx"


def test_withdrawing_the_counting_return_restores_the_latest_received_one(archive):
    """Of two returns left after a withdrawal, the one received later counts, not the one read later."""
    first = archive.begin_batch(1, "inbox/a")
    late, _ = _filed(archive, first, b"late", counters_built=14)
    early, _ = _filed(archive, first, b"early", counters_built=11)
    for sub_id, at in ((late, "2020-09-06T15:00:00"), (early, "2020-09-06T09:00:00")):
        archive.db.execute("UPDATE submissions SET received_at = ? WHERE id = ?", (at, sub_id))
    archive.db.execute("UPDATE submissions SET status = 'superseded' WHERE id = ?", (late,))
    archive.db.execute("UPDATE submissions SET status = 'accepted' WHERE id = ?", (early,))
    second = archive.begin_batch(1, "inbox/b")
    newest, _ = _filed(archive, second, b"newest", counters_built=20)
    assert archive.accepted(1)["450102"].id == newest
    archive.withdraw_batch(second)
    assert archive.accepted(1)["450102"].id == late
