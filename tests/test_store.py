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
