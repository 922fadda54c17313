"""Robustness trials of the weekly job (issue 8): killed mid-intake and mid-save, and two
runs at once. The benchmark runs each 20 times and reports the pass counts; the test suite
(tests/test_robustness.py) runs each once.

Every trial runs the real command, `xf-excel run INBOX --period 1 --out DIR --archive FILE`,
in fresh processes on a small inbox made by the demo generator (12 counties and the member
units, batch 1 of period 1: quirks, a mail, a zip, a duplicate, rejected returns, a stray
PDF), and compares what it leaves with a reference run that nobody disturbed:

- `kill_and_rerun`: start the job and SIGKILL it (1) after a random number of returns
  are archived (mid-intake), (2) on a rerun, as soon as a temp file of a workbook or
  document being saved appears (mid-save), (3) on another rerun, at a random moment. After
  every kill the archive must pass SQLite's integrity check with no submission missing its
  values, and every output file in place must open whole. A last, undisturbed rerun must
  then leave exactly the reference's archive and master workbook.
- `two_at_once`: two runs of the same inbox on the same archive, started together; both
  must finish normally (exit 0 or 1), and the archive and both master workbooks must equal
  the reference's (nothing lost, nothing taken in twice).

Compared: every archived file, submission (unit, period, status, file, received time,
values, detail rows) and issue — never row ids or recording times — and every cell of the
master workbook except the time it was generated (on 首页 and in reminder texts).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import workload as workloads  # noqa: E402

COUNTIES = 12                 # small enough for 20 trials in a few minutes
RUN_TIMEOUT = 300.0
TEMP_PREFIX = "."             # temp files of a save in progress: atomic_write's ".~…", the charts' ".name.tmp.png"
DONE_EXITS = (0, 1)           # done; done with returns rejected


def finished(returncode: int, stdout: bytes | str, stderr: bytes | str) -> Optional[str]:
    """None when a run finished normally, else why not. Exit status 1 is also what Python
    gives an uncaught exception, so a normal finish is 0 or 1 *and* the --json result on stdout."""
    text = stdout.decode(errors="replace") if isinstance(stdout, bytes) else stdout
    errors = stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr
    if returncode in DONE_EXITS:
        try:
            if "master" in json.loads(text):
                return None
        except ValueError:
            pass
    return f"exit {returncode}: {errors.strip()[-800:] or text.strip()[-800:]}"


def xf_excel_command() -> list[str]:
    """The installed console script beside this interpreter, else `python -m xf_excel.fronts.cli`."""
    script = Path(sys.executable).with_name("xf-excel")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "xf_excel.fronts.cli"]


@dataclass(frozen=True)
class Job:
    """One weekly job's inputs and outputs on disk."""

    workload: workloads.Workload
    folder: Path

    @property
    def archive(self) -> Path:
        return self.folder / "xf.sqlite"

    @property
    def out(self) -> Path:
        return self.folder / "out"

    @property
    def master(self) -> Path:
        return self.out / f"汇总_第{self.workload.period}期.xlsx"

    def command(self, out: Optional[Path] = None) -> list[str]:
        w = self.workload
        return [*xf_excel_command(), "--config", str(w.config_path), "--archive", str(self.archive), "--json",
                "run", str(w.inbox_week), "--period", str(w.period), "--out", str(out or self.out)]

    def start(self, out: Optional[Path] = None) -> subprocess.Popen:
        self.folder.mkdir(parents=True, exist_ok=True)
        return subprocess.Popen(self.command(out), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)

    def run(self, out: Optional[Path] = None) -> subprocess.CompletedProcess:
        process = self.start(out)
        stdout, stderr = process.communicate(timeout=RUN_TIMEOUT)
        return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@dataclass
class Trial:
    """The outcome of one trial: passed, what went wrong, where the kills landed."""

    passed: bool
    problems: list[str] = field(default_factory=list)
    kills: list[str] = field(default_factory=list)


# ---- what a run leaves behind --------------------------------------------------------------

def archive_snapshot(path: Path) -> dict[str, Any]:
    """Everything in the archive that a rerun must reproduce (no ids, no recording times)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        files = sorted(db.execute("SELECT sha256, name, size FROM files"))
        submissions = sorted(db.execute(
            "SELECT s.unit_code, s.period, s.status, COALESCE(s.file_sha256, ''), s.received_at, s.source, "
            " (SELECT group_concat(indicator || '=' || COALESCE(number, '') || '|' || COALESCE(text, '') || '@' || cell, ';')"
            "  FROM (SELECT * FROM submission_values v WHERE v.submission_id = s.id ORDER BY indicator)), "
            " (SELECT count(*) FROM detail_rows d WHERE d.submission_id = s.id) "
            "FROM submissions s"))
        issues = sorted(db.execute(
            "SELECT COALESCE(file_sha256, ''), COALESCE(unit_code, ''), code, severity, COALESCE(sheet, ''), "
            "COALESCE(row, 0), COALESCE(col, 0), COALESCE(indicator, ''), message FROM issues"))
    finally:
        db.close()
    return {"files": files, "submissions": submissions, "issues": issues}


def archive_problems(path: Path) -> list[str]:
    """Why the archive is not whole ('' list when it is, or when it was never created)."""
    if not path.exists():
        return []
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            problems = [f"integrity_check: {row[0]}" for row in db.execute("PRAGMA integrity_check") if row[0] != "ok"]
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "submissions" in tables:
                problems += [f"submission {row[0]} ({row[1]}) has no values" for row in db.execute(
                    "SELECT id, unit_code FROM submissions s WHERE s.source = 'file' AND s.status <> 'rejected' "
                    "AND NOT EXISTS (SELECT 1 FROM submission_values v WHERE v.submission_id = s.id)")]
        finally:
            db.close()
    except sqlite3.DatabaseError as error:
        problems = [f"archive unreadable: {error}"]
    return problems


def outputs_problems(out: Path) -> list[str]:
    """Every finished output under `out` (temp files aside) must open whole."""
    problems = []
    if not out.exists():
        return problems
    # a file inside a hidden folder (a briefing's scratch folder a kill left behind) is not an output
    finished = (p for p in out.rglob("*")
                if p.is_file() and not any(part.startswith(TEMP_PREFIX) for part in p.relative_to(out).parts))
    for path in sorted(finished):
        try:
            if path.suffix in (".xlsx", ".docx", ".xlsm"):
                with zipfile.ZipFile(path) as archive:
                    bad = archive.testzip()
                if bad:
                    problems.append(f"{path.name}: damaged part {bad}")
                if path.suffix == ".xlsx":
                    _master_cells(path)
            elif path.suffix == ".md":
                path.read_text(encoding="utf-8")
            elif path.suffix == ".png":
                if not path.read_bytes().endswith(b"IEND\xaeB`\x82"):   # the closing chunk and its CRC
                    problems.append(f"{path.name}: truncated PNG")
        except Exception as error:   # anything that does not open is a finding, whatever the library raises
            problems.append(f"{path.name}: {type(error).__name__}: {error}")
    return problems


# a reminder (催报) says when it was written: "截至11月30日0时5分"; a rerun a minute later differs there only
_RUN_TIME = re.compile(r"\d{1,2}月\d{1,2}日\d{1,2}时(?:\d{1,2}分)?")


def _master_cells(path: Path, places: tuple[tuple[str, str], ...] = ()) -> dict[str, list[tuple]]:
    """Every cell value of every sheet (formulas as text); the run time on 首页 left out,
    and the run's own folders (`places`: path -> placeholder) written as placeholders."""
    import warnings

    from openpyxl import load_workbook

    def plain(sheet: str, value: Any) -> Any:
        if sheet == "首页" and isinstance(value, dt.datetime):
            return None
        if isinstance(value, str):
            for path, placeholder in places:
                value = value.replace(path, placeholder)
            value = _RUN_TIME.sub("<run time>", value)
        return value

    with warnings.catch_warnings():   # openpyxl drops the data-bar extensions it cannot read; so do we
        warnings.simplefilter("ignore", UserWarning)
        book = load_workbook(path, read_only=True)
        try:
            return {sheet.title: [tuple(plain(sheet.title, v) for v in row)
                                  for row in sheet.iter_rows(values_only=True)] for sheet in book.worksheets}
        finally:
            book.close()


def snapshot(job: Job, out: Optional[Path] = None) -> dict[str, Any]:
    """The archive and the master workbook of a finished run (its output folder `out`)."""
    out = out or job.out
    places = ((str(out), "<out>"), (str(job.folder), "<run>"))
    return {"archive": archive_snapshot(job.archive), "master": _master_cells(out / job.master.name, places)}


def differences(reference: dict[str, Any], got: dict[str, Any]) -> list[str]:
    """Short descriptions of how `got` differs from `reference`."""
    problems = []
    for table, rows in reference["archive"].items():
        theirs = got["archive"][table]
        if rows != theirs:
            missing, extra = set(rows) - set(theirs), set(theirs) - set(rows)
            problems.append(f"archive {table}: {len(missing)} rows missing, {len(extra)} extra "
                            f"({len(rows)} expected, {len(theirs)} found)")
    for sheet, rows in reference["master"].items():
        if got["master"].get(sheet) != rows:
            problems.append(f"master sheet {sheet} differs")
    if set(got["master"]) != set(reference["master"]):
        problems.append("master has different sheets")
    return problems


def make_reference(workload: workloads.Workload, folder: Path) -> dict[str, Any]:
    """Run the job once, undisturbed, and snapshot what it leaves."""
    job = Job(workload, folder)
    shutil.rmtree(folder, ignore_errors=True)
    done = job.run()
    failure = finished(done.returncode, done.stdout, done.stderr)
    if failure:
        raise RuntimeError(f"reference run failed: {failure}")
    return snapshot(job)


# ---- killing ---------------------------------------------------------------------------------

def _kill(process: subprocess.Popen) -> None:
    """SIGKILL the job's main process (as a crash would), then clean up what it left running."""
    try:
        process.send_signal(signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.communicate()
    try:   # reader workers notice their parent is gone; make sure none outlives the trial
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _submissions(archive: Path) -> int:
    try:
        db = sqlite3.connect(f"file:{archive}?mode=ro", uri=True, timeout=0.05)
        try:
            return db.execute("SELECT count(*) FROM submissions").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def _temp_file_in(out: Path) -> bool:
    """A workbook or document is being saved: the master (in `out`) or the briefing (简报/)."""
    for folder in (out, out / "简报"):
        try:
            if any(entry.name.startswith(TEMP_PREFIX) for entry in os.scandir(folder)):
                return True
        except OSError:
            continue
    return False


def _run_until(job: Job, condition, timeout: float = RUN_TIMEOUT) -> bool:
    """Start the job and kill it when `condition()` holds; False when it finished first."""
    process = job.start()
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        if condition():
            _kill(process)
            return True
        time.sleep(0.001)
    process.communicate()
    return False


def kill_and_rerun(workload: workloads.Workload, folder: Path, reference: dict[str, Any],
                   rng: random.Random, expected_submissions: int) -> Trial:
    """Kill mid-intake, mid-save and at a random moment; check wholeness after each; then a
    final undisturbed rerun must reproduce the reference."""
    shutil.rmtree(folder, ignore_errors=True)
    job, trial = Job(workload, folder), Trial(passed=False)
    after = rng.randint(1, max(1, expected_submissions - 1))
    points = [("mid-intake", lambda: _submissions(job.archive) >= after),
              ("mid-save", lambda: _temp_file_in(job.out))]
    moment = time.monotonic
    random_delay = rng.uniform(0.3, 2.5)
    for name, condition in points + [("random", None)]:
        if condition is None:
            started = moment()
            condition = lambda: moment() - started >= random_delay   # noqa: E731
        killed = _run_until(job, condition)
        trial.kills.append(name if killed else f"{name} (finished first)")
        trial.problems += [f"after {name} kill: {p}" for p in archive_problems(job.archive) + outputs_problems(job.out)]
    done = job.run()
    failure = finished(done.returncode, done.stdout, done.stderr)
    if failure:
        trial.problems.append(f"rerun: {failure}")
    else:
        trial.problems += differences(reference, snapshot(job))
    trial.passed = not trial.problems
    return trial


def two_at_once(workload: workloads.Workload, folder: Path, reference: dict[str, Any]) -> Trial:
    """Two runs on the same archive, started together, each writing its own output folder."""
    shutil.rmtree(folder, ignore_errors=True)
    job, trial = Job(workload, folder), Trial(passed=False)
    outs = [folder / "out_a", folder / "out_b"]
    processes = [job.start(out) for out in outs]
    for process, out in zip(processes, outs):
        stdout, stderr = process.communicate(timeout=RUN_TIMEOUT)
        failure = finished(process.returncode, stdout, stderr)
        if failure:
            trial.problems.append(f"{out.name}: {failure}")
    if not trial.problems:
        trial.problems += archive_problems(job.archive)
        for out in outs:
            got = snapshot(job, out)
            trial.problems += [f"{out.name}: {p}" for p in differences(reference, got)]
    trial.passed = not trial.problems
    return trial


# ---- batches -----------------------------------------------------------------------------------

@dataclass
class Batch:
    """Pass counts of a batch of trials."""

    kind: str
    runs: int
    passed: int
    failures: list[list[str]]
    kills: dict[str, int]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "runs": self.runs, "passed": self.passed, "kills": self.kills,
                "failures": self.failures[:5], "seconds": round(self.seconds, 1)}


def run_trials(kind: str, runs: int, work_dir: Path, seed: int = 8) -> Batch:
    """Run `runs` trials of `kind` ('kill' or 'concurrent') under `work_dir`; count passes."""
    started = time.perf_counter()
    workload = workloads.prepare(work_dir, COUNTIES)
    scratch = Path(work_dir) / f"robustness-{kind}"
    reference = make_reference(workload, scratch / "reference")
    expected = len(reference["archive"]["submissions"])
    rng = random.Random(seed)
    passed, failures, kills = 0, [], {}
    for n in range(runs):
        if kind == "kill":
            trial = kill_and_rerun(workload, scratch / "trial", reference, rng, expected)
        elif kind == "concurrent":
            trial = two_at_once(workload, scratch / "trial", reference)
        else:
            raise ValueError(f"unknown trial kind {kind!r}")
        passed += trial.passed
        if not trial.passed:
            failures.append(trial.problems)
        for k in trial.kills:
            kills[k] = kills.get(k, 0) + 1
    shutil.rmtree(scratch, ignore_errors=True)
    return Batch(kind, runs, passed, failures, kills, time.perf_counter() - started)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Robustness trials of the weekly job (issue 8).")
    parser.add_argument("kind", choices=["kill", "concurrent"])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--work", type=Path, default=BENCH / ".work")
    args = parser.parse_args()
    print(json.dumps(run_trials(args.kind, args.runs, args.work).to_dict(), ensure_ascii=False, indent=2))
