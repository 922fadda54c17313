"""The corpus of real spreadsheets (tests/corpus/README.md) and every defect example
(tests/defects.py) through `xf-excel --json run` as one batch, in its own process.

The main process never ends early; every file gets exactly one outcome, with one Chinese
sentence and no technical English in it; --json is one JSON document; every file is archived;
the master workbook and the briefing are written. Then the same, killed half-way and run
again: every file's outcome is reported, the ones taken in before the kill included.
"""

from __future__ import annotations

import collections
import json
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import defects

ROOT = Path(__file__).resolve().parent.parent
PERIOD = 2
CJK = re.compile(r"[\u4e00-\u9fff]")
TECHNICAL = re.compile(r"[A-Za-z]+(?:Error|Exception)\b|Traceback|BadZipFile|技术信息|\bline \d+")


def command(tmp: Path, inbox: Path) -> list[str]:
    return [sys.executable, "-m", "xf_excel.fronts.cli", "--config", str(ROOT / "config.yaml"),
            "--archive", str(tmp / "xf.sqlite"), "--json", "run", str(inbox), "--period", str(PERIOD),
            "--out", str(tmp / "out")]


def inbox_of(tmp: Path, corpus: Path, config, keep=lambda index: True) -> tuple[Path, list[str], list]:
    """An inbox of corpus files (those `keep` chooses by position) and every example:
    (inbox, the entries a person sees in it, the examples)."""
    inbox = tmp / "inbox"
    chosen = [p for i, p in enumerate(sorted(corpus.iterdir(), key=lambda p: p.name))
              if not p.name.startswith(".") and p.name != "MANIFEST.csv" and keep(i)]
    (inbox / "corpus").mkdir(parents=True)
    for path in chosen:
        target = inbox / "corpus" / path.name
        shutil.copytree(path, target) if path.is_dir() else shutil.copyfile(path, target)
    examples = defects.write_examples(config, inbox, tmp / "scratch")
    return inbox, [f"corpus/{p.name}" for p in chosen] + [e.display for e in examples], examples


def processed(archive: Path) -> set[str]:
    """Hashes of the files the archive holds an outcome for (a submission or file issues)."""
    if not archive.exists():
        return set()
    db = sqlite3.connect(f"file:{archive}?mode=ro", uri=True, timeout=30)
    try:
        return {r[0] for r in db.execute("SELECT file_sha256 FROM submissions UNION SELECT file_sha256 FROM issues")
                if r[0]}
    except sqlite3.OperationalError:           # the schema is not written yet
        return set()
    finally:
        db.close()


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory, corpus_files, config):
    tmp = tmp_path_factory.mktemp("corpus-run")
    inbox, entries, examples = inbox_of(tmp, corpus_files, config)
    done = subprocess.run(command(tmp, inbox), capture_output=True, timeout=3600, cwd=tmp)
    return tmp, entries, examples, done


def outcomes(payload: dict) -> dict[str, dict]:
    return {f["file"]: f for f in payload["intake"]["files"]}


def test_the_batch_runs_to_its_end_and_writes_master_and_briefing(corpus_run):
    tmp, entries, _, done = corpus_run
    assert done.returncode == 1, done.stderr.decode()[-3000:]       # done, with returns refused
    payload = json.loads(done.stdout)                               # nothing but the JSON on stdout
    assert Path(payload["master"]).is_file()
    assert {Path(p).suffix for p in payload["briefing"]} >= {".docx", ".md"}
    assert all(Path(p).is_file() for p in payload["briefing"])
    assert b"Traceback" not in done.stderr


def test_every_file_gets_exactly_one_outcome_in_one_chinese_sentence(corpus_run):
    _, entries, _, done = corpus_run
    files = json.loads(done.stdout)["intake"]["files"]
    counts = collections.Counter(f["file"] for f in files)
    assert sorted(counts) == sorted(entries) and set(counts.values()) == {1}
    for outcome in files:
        sentence = outcome["message"]
        assert CJK.search(sentence) and sentence.endswith("。"), outcome
        assert f"「{outcome['file']}」" in sentence, outcome
        for text in [sentence] + [i["message"] for i in outcome["issues"]]:
            assert not TECHNICAL.search(text), (outcome["file"], text)


def test_every_file_is_archived(corpus_run):
    tmp, _, _, done = corpus_run
    files = json.loads(done.stdout)["intake"]["files"]
    db = sqlite3.connect(tmp / "xf.sqlite")
    archived = {r[0] for r in db.execute("SELECT sha256 FROM files")}
    assert {f["sha256"] for f in files} <= archived
    assert processed(tmp / "xf.sqlite") >= {f["sha256"] for f in files if f["status"] != "duplicate"}


def test_each_example_comes_to_what_it_should(corpus_run):
    _, _, examples, done = corpus_run
    found = outcomes(json.loads(done.stdout))
    wrong = []
    for example in examples:
        outcome = found[example.display]
        text = outcome["message"] + "".join(i["message"] for i in outcome["issues"])
        if outcome["status"] != example.status or example.says not in text:
            wrong.append((example.display, example.status, outcome["status"], outcome["message"]))
    assert wrong == []


# Files of the issue that were called damaged, password-protected or unsafe though Excel opens them.
READ_NOW = ["poi__test-data__spreadsheet__50833.xls", "poi__test-data__spreadsheet__58616.xlsx",
            "poi__test-data__poifs__protect.xlsx", "poi__test-data__spreadsheet__45290.xls",
            "xlrd2__tests__corrupted_error.xls", "poi__test-data__spreadsheet__41139.xls",
            "poi__test-data__spreadsheet__47251_1.xls", "poi__test-data__spreadsheet__57456.xls",
            "ewx__t__regression__xlsx_files__comment03.xlsx", "tablib__tests__files__bad_dimensions.xlsx",
            "poi__test-data__spreadsheet__60384.xlsx", "calamine__tests__data__base.ods",
            "calamine__tests__data__base.xlsb", "poi__test-data__spreadsheet__60825.xlsx",
            "poi__test-data__spreadsheet__sample-beta.xlsx", "xlsx2csv__test__escape.xlsx"]
HOSTILE = ["poi__test-data__spreadsheet__poc-xmlbomb.xlsx", "poi__test-data__spreadsheet__poc-xmlbomb-empty.xlsx",
           "poi__test-data__spreadsheet__54764.xlsx", "poi__test-data__spreadsheet__54764-2.xlsx",
           "poi__test-data__spreadsheet__poc-shared-strings.xlsx"]


def test_files_excel_opens_are_read_and_attacks_are_refused(corpus_run):
    found = outcomes(json.loads(corpus_run[3].stdout))
    assert [n for n in READ_NOW if not found[f"corpus/{n}"]["read"]] == []
    assert [n for n in HOSTILE if found[f"corpus/{n}"]["issues"][0]["code"] != "unsafe-file"] == []
    assert found["corpus/calamine__tests__data__password.ods"]["issues"][0]["code"] == "encrypted-file"
    default_key = [f for d, f in found.items() if "encrypt-standardpassword" in d]
    assert len(default_key) == 7 and all(f["read"] for f in default_key)
    numbers = [f for d, f in found.items() if ".numbers" in d]
    assert numbers and all(len(f["issues"]) == 1 and "Numbers" in f["message"] for f in numbers)


def test_what_the_corpus_comes_to(corpus_run, capsys):
    """The counts the issue asks for: read, not a return, unreadable (and why), hostile."""
    found = outcomes(json.loads(corpus_run[3].stdout))
    corpus = {d: f for d, f in found.items() if d.startswith("corpus/")}
    kinds = collections.Counter(_kind(f) for f in corpus.values())
    with capsys.disabled():
        print(f"\n语料库 {len(corpus)} 个文件：" + "，".join(f"{k} {n}" for k, n in kinds.most_common()))
    assert sum(kinds.values()) == len(corpus) and kinds["读取"] >= 1880


def _kind(outcome: dict) -> str:
    if outcome["read"]:
        return "读取"
    code = outcome["issues"][0]["code"] if outcome["issues"] else ""
    return {"not-a-return": "非报表", "encrypted-file": "设有密码", "unreadable-file": "无法读取",
            "unsafe-file": "结构异常或过大"}.get(code, code)


# --------------------------------------------------------------------------- killed half-way, run again


def test_a_batch_killed_half_way_and_run_again_reports_every_file(tmp_path, corpus_files, config):
    inbox, entries, _ = inbox_of(tmp_path, corpus_files, config, keep=lambda i: i % 6 == 0)
    archive = tmp_path / "xf.sqlite"
    first = subprocess.Popen(command(tmp_path, inbox), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             cwd=tmp_path)
    deadline = time.monotonic() + 900
    while first.poll() is None and len(processed(archive)) < len(entries) // 4 and time.monotonic() < deadline:
        time.sleep(0.2)
    first.send_signal(signal.SIGKILL)
    first.communicate()
    assert first.returncode == -signal.SIGKILL                       # it was stopped mid-batch
    before = processed(archive)
    assert 0 < len(before) < len(entries)

    again = subprocess.run(command(tmp_path, inbox), capture_output=True, timeout=3600, cwd=tmp_path)
    files = json.loads(again.stdout)["intake"]["files"]
    counts = collections.Counter(f["file"] for f in files)
    assert sorted(counts) == sorted(entries) and set(counts.values()) == {1}
    assert {f["sha256"] for f in files if f["earlier"]} == before         # reported as taken in before the kill
    for outcome in files:
        assert CJK.search(outcome["message"]) and outcome["message"].endswith("。"), outcome
        if outcome["earlier"] and outcome["earlier"]["status"] in ("rejected", "warned"):
            assert outcome["feedback"] and Path(outcome["feedback"]).is_file(), outcome
