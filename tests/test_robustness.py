"""The weekly job survives being killed mid-intake and mid-save, and two runs at once (issue 8).

The trials live in bench/robustness.py, which the benchmark runs 20 times each; here each
runs once, on a 12-county inbox made by the demo generator. The checkers the trials rely on
are tested too, so that a trial cannot pass by not looking.
"""

from __future__ import annotations

import sqlite3
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import robustness  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("robustness")


def test_killed_mid_intake_and_mid_save_then_rerun_gives_the_reference(work: Path):
    batch = robustness.run_trials("kill", 1, work)
    assert batch.failures == []
    assert batch.passed == 1
    # the kills landed where they were aimed, not after the job had finished
    assert batch.kills.get("mid-intake") == 1
    assert batch.kills.get("mid-save") == 1


def test_two_runs_at_once_lose_nothing_and_take_nothing_twice(work: Path):
    batch = robustness.run_trials("concurrent", 1, work)
    assert batch.failures == []
    assert batch.passed == 1


def _workbook(path: Path) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "全区汇总"
    book.active["A1"] = "建成专柜数"
    book.save(path)
    return path


def test_a_truncated_workbook_is_reported(tmp_path: Path):
    whole = _workbook(tmp_path / "汇总_第1期.xlsx")
    assert robustness.outputs_problems(tmp_path) == []
    data = whole.read_bytes()
    whole.write_bytes(data[: len(data) // 2])
    problems = robustness.outputs_problems(tmp_path)
    assert len(problems) == 1 and problems[0].startswith("汇总_第1期.xlsx")


def test_a_leftover_temp_file_is_not_taken_for_the_master(tmp_path: Path):
    (tmp_path / ".~汇总_第1期abc.xlsx").write_bytes(b"PK\x03\x04 half a file")
    assert robustness.outputs_problems(tmp_path) == []


def test_a_submission_without_its_values_is_reported(tmp_path: Path):
    db = sqlite3.connect(tmp_path / "xf.sqlite")
    db.executescript("""
        CREATE TABLE submissions (id INTEGER PRIMARY KEY, unit_code TEXT, source TEXT, status TEXT);
        CREATE TABLE submission_values (submission_id INTEGER, indicator TEXT, number REAL);
        INSERT INTO submissions VALUES (1, '450102', 'file', 'accepted'), (2, '450103', 'file', 'accepted'),
                                       (3, '450105', 'file', 'rejected');
        INSERT INTO submission_values VALUES (1, 'counters_built', 3);
    """)
    db.commit()
    db.close()
    assert robustness.archive_problems(tmp_path / "xf.sqlite") == ["submission 2 (450103) has no values"]


def test_a_damaged_archive_is_reported(tmp_path: Path):
    path = tmp_path / "xf.sqlite"
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    assert robustness.archive_problems(path) != []


def test_differences_name_missing_rows_and_changed_sheets():
    reference = {"archive": {"files": [("a", "x.xlsx", 1)], "submissions": [], "issues": []},
                 "master": {"全区汇总": [("建成专柜数", 12)]}}
    got = {"archive": {"files": [], "submissions": [], "issues": []}, "master": {"全区汇总": [("建成专柜数", 11)]}}
    assert robustness.differences(reference, got) == [
        "archive files: 1 rows missing, 0 extra (1 expected, 0 found)", "master sheet 全区汇总 differs"]


def test_zip_checker_sees_a_damaged_part(tmp_path: Path):
    path = _workbook(tmp_path / "x.xlsx")
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + 5] ^= 0xFF          # flip a byte inside the compressed sheet: its CRC no longer matches
    path.write_bytes(bytes(data))
    assert any("sheet1.xml" in p or "x.xlsx" in p for p in robustness.outputs_problems(tmp_path))
