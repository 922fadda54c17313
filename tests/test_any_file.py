"""Any file a county sends (issue 14): no file ends the batch, every outcome reaches the user.

Each defect found in real files (tests/defects.py builds them) goes through the real intake,
on our own form where it can sit on a return: the return is still accepted or rejected on its
figures, and what cannot be done for one file (its feedback workbook, its checks) becomes an
issue on that file while the batch goes on. A rerun after a crash reports every file, the
ones taken in before included, and writes the feedback the crash left unwritten.
"""

from __future__ import annotations

import io
import json
import re
import sqlite3
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

import defects
import fuzzing
from test_intake import write
from xf_excel.fronts.cli import main
from xf_excel.issues import IssueCode
from xf_excel.pipeline import intake_inbox

ROOT = Path(__file__).resolve().parent.parent
GOOD, OTHER = fuzzing.GOOD_COUNTIES
PERIOD = fuzzing.PERIOD
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def returns(tmp_path_factory, config):
    """Our form filled by two counties: clean, and with an error (a word where a number goes)."""
    folder = tmp_path_factory.mktemp("returns")
    return {"good": fuzzing.filled_return(config, GOOD, folder),
            "bad": fuzzing.filled_return(config, OTHER, folder, values={"建成专柜数": "许多"})}


def intake(config, tmp_path, files: dict[str, bytes], **kwargs):
    inbox = tmp_path / "inbox"
    inbox.mkdir(exist_ok=True)
    for name, data in files.items():
        write(inbox, name, data)
    report = intake_inbox(config, inbox, PERIOD, tmp_path / "xf.sqlite", tmp_path / "退回", **kwargs)
    return {f.display: f for f in report.files}, report


def cli(tmp_path, *args: str):
    result = CliRunner().invoke(main, ["--config", str(ROOT / "config.yaml"), "--archive", str(tmp_path / "xf.sqlite"),
                                       *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output[-3000:]
    return result


# --------------------------------------------------------------------------- 1, 2: pictures, control characters


def test_a_webp_picture_on_a_return_is_taken_in_and_answered(config, tmp_path, returns):
    files, report = intake(config, tmp_path, {
        "good_webp.xlsx": defects.with_webp_picture(returns["good"]),
        "bad_webp.xlsx": defects.with_webp_picture(returns["bad"]),
    })
    assert files["good_webp.xlsx"].status == "accepted"
    bad = files["bad_webp.xlsx"]
    assert bad.status == "rejected" and [i.code for i in bad.issues] == [IssueCode.APPROXIMATE]
    marked = load_workbook(bad.feedback)["填报"]                     # the feedback opens, its cell marked
    assert any(c.comment is not None for row in marked.iter_rows() for c in row)
    with zipfile.ZipFile(bad.feedback) as package:
        assert not [n for n in package.namelist() if n.startswith("xl/media/")]    # received pictures left out


def test_a_control_character_in_a_cached_result_is_dropped_everywhere(config, tmp_path, returns):
    files, report = intake(config, tmp_path, {
        "good_char7.xlsx": defects.control_character_note(returns["good"]),
        "bad_char7.xlsx": defects.control_character_note(returns["bad"]),
        "formula_stress.xlsx": defects.control_character_book(),
    })
    assert files["good_char7.xlsx"].status == "accepted"
    assert files["bad_char7.xlsx"].status == "rejected"
    assert files["formula_stress.xlsx"].status == "not-a-return"
    feedback = files["bad_char7.xlsx"].feedback
    with zipfile.ZipFile(feedback) as package:
        sheets = b"".join(package.read(n) for n in package.namelist() if n.endswith(".xml"))
    assert b"_x0007_" not in sheets and b"\x07" not in sheets
    assert load_workbook(feedback)["填报"]["F8"].value == "note"


# --------------------------------------------------------------------------- 3: one file's failure is its issue


def test_a_feedback_workbook_that_cannot_be_written_is_an_issue_on_that_file(config, tmp_path, returns, monkeypatch):
    import xf_excel.outputs.feedback as feedback

    written = feedback.write_feedback

    def fails_for_one(content, name, *args, **kwargs):
        if name == "first.xlsx":
            raise KeyError(".webp")                  # what openpyxl raised on a WebP picture
        return written(content, name, *args, **kwargs)

    monkeypatch.setattr(feedback, "write_feedback", fails_for_one)
    second = fuzzing.filled_return(config, OTHER, tmp_path / "f", values={"建成专柜数": "很多"})
    files, report = intake(config, tmp_path, {"first.xlsx": returns["bad"], "second.xlsx": second})
    first = files["first.xlsx"]
    assert first.status == "rejected" and first.feedback is None
    notice = first.issues[-1]
    assert notice.code is IssueCode.FEEDBACK_NOT_WRITTEN and "「first.xlsx」" in notice.message
    assert "KeyError" in notice.details and "KeyError" not in notice.message and notice.message.endswith("。")
    assert files["second.xlsx"].status == "rejected" and files["second.xlsx"].feedback.exists()


def test_a_file_whose_checks_break_off_is_archived_with_an_issue_and_the_batch_goes_on(config, tmp_path, returns,
                                                                                        monkeypatch):
    import xf_excel.checks.validate as validate

    checked = validate.validate_return

    def breaks_for_one(form, *args, **kwargs):
        if form.unit_code == OTHER:
            raise RuntimeError("a bug")
        return checked(form, *args, **kwargs)

    monkeypatch.setattr(validate, "validate_return", breaks_for_one)
    files, report = intake(config, tmp_path, {"a_bad.xlsx": returns["bad"], "b_good.xlsx": returns["good"]})
    broken = files["a_bad.xlsx"]
    assert broken.status == "unreadable" and "「a_bad.xlsx」" in broken.message and "RuntimeError" in broken.issues[0].details
    assert files["b_good.xlsx"].status == "accepted"
    db = sqlite3.connect(tmp_path / "xf.sqlite")
    assert db.execute("SELECT COUNT(*) FROM issues WHERE file_sha256 = ?", (broken.sha256,)).fetchone()[0] == 1


# --------------------------------------------------------------------------- 3: a rerun reports every outcome


def test_a_rerun_reports_each_file_as_taken_in_before(config, tmp_path, returns):
    inbox_files = {"good.xlsx": returns["good"], "bad.xlsx": returns["bad"], "notes.txt": "请查收".encode()}
    first, _ = intake(config, tmp_path, inbox_files)
    again, report = intake(config, tmp_path, inbox_files)
    assert {d: f.status for d, f in again.items()} == {d: "duplicate" for d in inbox_files}
    assert {d: f.result for d, f in again.items()} == {"good.xlsx": "accepted", "bad.xlsx": "rejected",
                                                       "notes.txt": "not-a-return"}
    bad = again["bad.xlsx"]
    assert [i.message for i in bad.issues] == [i.message for i in first["bad.xlsx"].issues]
    assert bad.feedback == first["bad.xlsx"].feedback and bad.submission_id == first["bad.xlsx"].submission_id
    assert bad.message.startswith("文件「bad.xlsx」此前已收取（") and "当时的结果：已退回" in bad.message
    assert not report.ok and report.summary()["taken_before"] == 3
    text = cli(tmp_path, "intake", str(tmp_path / "inbox"), "--period", str(PERIOD), "--feedback",
               str(tmp_path / "退回")).output
    assert "其中此前已收取 3 个" in text and "✗ bad.xlsx：文件「bad.xlsx」此前已收取" in text


def test_a_rerun_writes_the_feedback_an_interrupted_run_never_wrote(config, tmp_path, returns, monkeypatch):
    import xf_excel.outputs.feedback as feedback

    def killed(*args, **kwargs):
        raise KeyboardInterrupt                      # the process stopped between archiving and feedback

    with monkeypatch.context() as patch:
        patch.setattr(feedback, "write_feedback", killed)
        with pytest.raises(KeyboardInterrupt):
            intake(config, tmp_path, {"bad.xlsx": returns["bad"]})
    files, _ = intake(config, tmp_path, {"bad.xlsx": returns["bad"]})
    bad = files["bad.xlsx"]
    assert bad.result == "rejected" and bad.feedback is not None and bad.feedback.exists()
    assert load_workbook(bad.feedback).sheetnames[0] == "问题清单"


def test_a_file_taken_in_before_can_be_taken_in_again_on_purpose(config, tmp_path, returns):
    intake(config, tmp_path, {"good.xlsx": returns["good"], "bad.xlsx": returns["bad"]})
    files, _ = intake(config, tmp_path, {"good.xlsx": returns["good"], "bad.xlsx": returns["bad"]}, again=["bad.xlsx"])
    assert files["good.xlsx"].status == "duplicate" and files["bad.xlsx"].status == "rejected"
    db = sqlite3.connect(tmp_path / "xf.sqlite")
    assert db.execute("SELECT COUNT(*) FROM submissions WHERE unit_code = ?", (OTHER,)).fetchone()[0] == 2


def test_a_skipped_file_can_be_taken_in_on_purpose_and_the_summary_says_what_was_skipped(tmp_path, returns):
    inbox = tmp_path / "inbox"
    write(inbox, ".第2期_南宁市_江南区.xlsx", returns["good"])
    write(inbox, "~$x.xlsx", b"owner")
    text = cli(tmp_path, "intake", str(inbox), "--period", str(PERIOD), "--feedback", str(tmp_path / "f")).output
    assert "跳过 2 个（隐藏文件 1 个、临时文件 1 个）" in text
    assert "– 已跳过「~$x.xlsx」：这是 Excel 打开文件时留下的临时文件（~$ 开头），不是报表。" in text
    payload = json.loads(cli(tmp_path, "--json", "intake", str(inbox), "--period", str(PERIOD), "--feedback",
                             str(tmp_path / "f"), "--again", ".第2期_南宁市_江南区.xlsx").stdout)
    statuses = {f["file"]: f["status"] for f in payload["files"]}
    assert statuses == {".第2期_南宁市_江南区.xlsx": "accepted", "~$x.xlsx": "skipped"}


def test_an_empty_inbox_is_called_empty(tmp_path):
    (tmp_path / "inbox").mkdir()
    result = cli(tmp_path, "intake", str(tmp_path / "inbox"), "--period", str(PERIOD), "--feedback", str(tmp_path / "f"))
    assert "是空的" in result.output and result.exit_code == 1


# --------------------------------------------------------------------------- issue 15: a corrected feedback workbook


def test_a_corrected_feedback_workbook_sent_back_under_its_own_name_is_a_return(config, tmp_path, returns):
    files, _ = intake(config, tmp_path, {"第2期_南宁市_兴宁区.xlsx": returns["bad"]})
    feedback = files["第2期_南宁市_兴宁区.xlsx"].feedback
    assert feedback.name.startswith("退回_")
    unchanged = feedback.read_bytes()
    book = load_workbook(io.BytesIO(unchanged))
    sheet = book["填报"]
    cell = next(c for row in sheet.iter_rows() for c in row if c.value == "许多")
    cell.value = 5                                   # the clerk types the figure into the marked cell
    corrected = io.BytesIO()
    book.save(corrected)
    again, report = intake(config, tmp_path, {f"mail/{feedback.name}": corrected.getvalue(),
                                              f"saved/{feedback.name}": unchanged})
    accepted = again[f"mail/{feedback.name}"]
    assert accepted.status in ("accepted", "warned") and accepted.unit_code == OTHER
    kept = again[f"saved/{feedback.name}"]
    assert kept.status == "skipped" and "本系统写出的反馈表" in kept.message


# --------------------------------------------------------------------------- 8: --json is JSON


def test_nothing_but_json_reaches_stdout_when_a_library_prints(tmp_path, returns):
    inbox = tmp_path / "inbox"
    write(inbox, "styles.xlsx", defects.style_index_out_of_range(returns["bad"]))
    result = cli(tmp_path, "--json", "run", str(inbox), "--period", str(PERIOD), "--out", str(tmp_path / "out"))
    payload = json.loads(result.stdout)
    (outcome,) = payload["intake"]["files"]
    assert outcome["status"] == "rejected" and CJK.search(outcome["message"])
    assert "out of range" in result.stderr                       # what openpyxl printed went to stderr
    after = cli(tmp_path, "intake", str(inbox), "--period", str(PERIOD), "--feedback", str(tmp_path / "f"),
                "--again", "styles.xlsx", "--json")
    assert json.loads(after.stdout)["files"][0]["status"] == "rejected"       # --json after the command, too


# --------------------------------------------------------------------------- every example as one batch


def test_every_example_goes_through_the_weekly_job_as_one_batch(tmp_path, config):
    """In its own process, as staff run it: one JSON document, each example its outcome, master and briefing."""
    import subprocess
    import sys

    inbox = tmp_path / "inbox"
    examples = defects.write_examples(config, inbox, tmp_path / "scratch")
    done = subprocess.run([sys.executable, "-m", "xf_excel.fronts.cli", "--config", str(ROOT / "config.yaml"),
                           "--archive", str(tmp_path / "xf.sqlite"), "--json", "run", str(inbox), "--period",
                           str(PERIOD), "--out", str(tmp_path / "out")], capture_output=True, timeout=900)
    payload = json.loads(done.stdout)
    found = {f["file"]: f for f in payload["intake"]["files"]}
    assert sorted(found) == sorted(e.display for e in examples)
    wrong = [(e.display, e.status, found[e.display]["status"], found[e.display]["message"]) for e in examples
             if found[e.display]["status"] != e.status
             or e.says not in found[e.display]["message"] + "".join(i["message"] for i in found[e.display]["issues"])]
    assert wrong == []
    assert Path(payload["master"]).is_file() and all(Path(p).is_file() for p in payload["briefing"])
    assert done.returncode == 1 and b"Traceback" not in done.stderr


def test_a_form_saved_again_as_ods_gives_the_same_figures(config, tmp_path, returns, soffice):
    import os
    import subprocess

    from xf_excel.archive.store import Archive

    source = write(tmp_path / "xlsx", "第2期_南宁市_江南区.xlsx", returns["good"])
    subprocess.run([soffice, "--headless", "--convert-to", "ods", "--outdir", str(tmp_path / "ods"), str(source)],
                   check=True, capture_output=True, timeout=180, env={**os.environ, "HOME": str(tmp_path)})
    converted = (tmp_path / "ods" / "第2期_南宁市_江南区.ods").read_bytes()
    files, _ = intake(config, tmp_path, {"as.xlsx": returns["good"], "as.ods": converted}, again=["as.ods"])
    assert files["as.ods"].status == "accepted" and files["as.ods"].read
    with Archive(tmp_path / "xf.sqlite") as archive:
        from_xlsx, from_ods = (archive.submission(files[d].submission_id) for d in ("as.xlsx", "as.ods"))
    assert from_ods.values == from_xlsx.values and from_ods.details == from_xlsx.details


# --------------------------------------------------------------------------- 10: messages


def test_every_message_is_a_sentence_that_names_its_file_in_brackets():
    from xf_excel.issues import KINDS, Issue, Severity, template_slots

    for code, kind in KINDS.items():
        slots = {name: "甲" for name in template_slots(code) - {"file", "cell"}}
        message = Issue.of(code, Severity.ERROR, file="报表.xlsx", sheet="填报", row=3, column=2, **slots).message
        assert message.endswith("。"), (code, message)
        if "{file}" in kind.template:
            assert "「报表.xlsx」" in message, (code, message)


def test_a_librarys_words_go_into_the_details_not_the_sentence(config, tmp_path, returns):
    files, _ = intake(config, tmp_path, {"cut.xlsx": defects.truncated(returns["good"])})
    (issue,) = files["cut.xlsx"].issues
    assert "BadZipFile" in issue.details and not re.search(r"[A-Za-z]{4,}", issue.message.replace("Excel", "")
                                                             .replace("xlsx", ""))
