"""Mutation fuzzing of received workbooks, and the builders of the files it starts from.

The property every received file must satisfy, whatever its bytes (`check_file`):

- the guarded reader (`xf_excel.intake.collect.WorkbookReader`) returns a `RawWorkbook` or a list
  of `Issue`s whose Chinese messages name the file — it never raises, and the main process
  never dies (parsing happens in child processes);
- `validate.read_return` and `validate.validate_return` on whatever was read never raise,
  and every issue they give is Chinese and names the file;
- the main process neither hangs nor runs away with memory on one file
  (`main_process_guard` turns either into a failure).

Valid returns (`seed_files`: a filled form as `forms` + `fill` make it, a small openpyxl
book, an XlsxWriter book with shared strings and cached formulas, a legacy .xls) are
mutated (`mutate`): byte flips, truncation, spliced chunks, and zip members replaced by
mutated XML — cell references moved far out of the grid, dimensions and shared-string
counts changed, cell types and values swapped, tags broken or duplicated.

Two ways to run it:

- `tests/test_fuzz.py`: hypothesis drives the mutations (bounded, ~30 s in CI; shrinks a
  failure to a small example and stores it in `tests/regressions/`);
- a deeper run for a fixed time, without shrinking, storing every failure::

      XF_FUZZ_SECONDS=600 .venv/bin/python -m pytest tests/test_fuzz.py -q
      .venv/bin/python tests/fuzzing.py --seconds 600 --seed 7
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import json
import os
import random
import re
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

ROOT = Path(__file__).resolve().parent.parent
REGRESSIONS = Path(__file__).resolve().parent / "regressions"
_CJK = re.compile(r"[\u4e00-\u9fff]")
GOOD_COUNTIES = ("450105", "450108")        # two counties whose simulated period-2 return is clean
PERIOD = 2


# ---------------------------------------------------------------------------------- seed files


def load_repo_config():
    from xf_excel.config import load_config

    return load_config(ROOT / "config.yaml")


def clean_delivery(config, unit_code: str, period: int = PERIOD):
    """The demo's simulated return of `unit_code` (values, details, header by label), one
    that validate accepts without any warning."""
    from xf_excel.demo import simulate as demo

    sim = demo.simulate(config, seed=3, units=6)
    for delivery in demo.deliveries(sim, period):
        # typing quirks are applied by fill_form only when asked for, so a quirky delivery is clean here
        if delivery.unit_code == unit_code and delivery.acceptable and not delivery.slip:
            return delivery
    raise LookupError(f"no clean simulated return for {unit_code} in period {period}")


def filled_return(config, unit_code: str, folder: Path, *, period: int = PERIOD,
                  values: Optional[Mapping[str, object]] = None, header: Optional[Mapping[str, object]] = None,
                  details: Optional[Mapping[str, list[dict]]] = None,
                  edit: Optional[Callable[[dict[str, Any]], None]] = None) -> bytes:
    """A return as a clerk would send it: the real form (`forms.write_form`) filled by label
    (`fill.fill_form`) with the unit's clean simulated figures; `values`, `header` update
    them and `edit(details)` may change the detail rows (sheet name -> rows)."""
    from xf_excel.demo.fill import fill_form
    from xf_excel.outputs.forms import form_filename, write_form

    delivery = clean_delivery(config, unit_code, period)
    folder.mkdir(parents=True, exist_ok=True)
    form = write_form(config, unit_code, period, folder / form_filename(config, unit_code, period))
    rows = {name: [dict(row) for row in table] for name, table in (details or delivery.details).items()}
    if edit is not None:
        edit(rows)
    out = folder / f"filled-{unit_code}-{hashlib.sha1(repr((values, header, rows)).encode()).hexdigest()[:8]}.xlsx"
    # `header` may name narrative labels too (本期工作动态（一）…): fill_form finds them below the table
    fill_form(form, out, {**delivery.values, **(values or {})}, rows,
              {**delivery.header, **delivery.narrative, **(header or {})})
    return out.read_bytes()


def small_openpyxl_book() -> bytes:
    """A few typed cells, a merge, a formula without cached value, a hidden sheet."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "填报"
    sheet["A1"], sheet["B1"], sheet["E1"] = "填报单位", "武鸣区", dt.date(2020, 9, 11)
    sheet["A2"], sheet["B2"], sheet["E2"] = "指标名称", "截至本期累计", 12.5
    sheet["A3"], sheet["B3"], sheet["C3"] = "建成专柜数", 12, "=B3*2"
    sheet.merge_cells("A5:C5")
    hidden = book.create_sheet("xf_meta")
    hidden["A1"], hidden["B1"] = "unit_code", "450105"
    hidden.sheet_state = "hidden"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def excel_like_book() -> bytes:
    """As Excel saves: shared strings, cached formula values, an error cell."""
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet("填报")
    sheet.write_row(0, 0, ["指标名称", "截至本期累计", "单位"])
    sheet.write_row(1, 0, ["建成专柜数", 12, "个"])
    sheet.write_formula(2, 1, "=B2*2", None, 24)
    sheet.write_formula(3, 1, "=1/0", None, "#DIV/0!")
    sheet.write_datetime(4, 1, dt.datetime(2020, 9, 11), book.add_format({"num_format": "yyyy-mm-dd"}))
    book.close()
    return out.getvalue()


def _biff_record(kind: int, data: bytes = b"") -> bytes:
    return struct.pack("<HH", kind, len(data)) + data


def _biff_bof(substream: int) -> bytes:
    return _biff_record(0x0809, struct.pack("<HHHHII", 0x0600, substream, 0x0DBB, 0x07CC, 0, 0x06))


def legacy_xls(rows: list[list[Any]], sheet_name: str = "填报") -> bytes:
    """A minimal BIFF8 .xls (compound file, one sheet of LABEL and NUMBER records), written
    here so that no converter is needed: enough for python-calamine and xlrd."""
    from xf_excel.fronts.excel.cfb import build_compound_file

    sheet = _biff_bof(0x0010) + _biff_record(0x0200, struct.pack("<IIHHH", 0, len(rows), 0,
                                                                   max(map(len, rows)), 0))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, str):
                sheet += _biff_record(0x0204, struct.pack("<HHHHB", r, c, 15, len(value), 1)
                                      + value.encode("utf-16-le"))
            elif value is not None:
                sheet += _biff_record(0x0203, struct.pack("<HHHd", r, c, 15, float(value)))
    sheet += _biff_record(0x000A)
    cell_format = _biff_record(0x00E0, struct.pack("<HHHBBBBIIH", 0, 0, 0xFFF5, 0x20, 0, 0, 0, 0, 0, 0x20C0))
    name = sheet_name.encode("utf-16-le")

    def book_globals(sheet_offset: int) -> bytes:
        return (_biff_bof(0x0005) + _biff_record(0x0042, struct.pack("<H", 1200)) + cell_format * 16
                + _biff_record(0x0085, struct.pack("<IBBBB", sheet_offset, 0, 0, len(sheet_name), 1) + name)
                + _biff_record(0x000A))

    stream = book_globals(len(book_globals(0))) + sheet
    stream += b"\0" * max(0, 4096 - len(stream))      # a regular stream, not in the mini stream
    return build_compound_file({"Workbook": stream})


@lru_cache(maxsize=1)
def seed_files() -> dict[str, bytes]:
    """The valid files mutation starts from, by a name that gives their kind."""
    config = load_repo_config()
    with tempfile.TemporaryDirectory(prefix="xf-fuzz-seeds-") as scratch:
        filled = filled_return(config, GOOD_COUNTIES[0], Path(scratch))
    return {
        "filled_return.xlsx": filled,
        "openpyxl_book.xlsx": small_openpyxl_book(),
        "excel_like.xlsx": excel_like_book(),
        "legacy.xls": legacy_xls([["填报单位", "武鸣区"], ["指标名称", "截至本期累计"], ["建成专柜数", 12.0]]),
        "minimal.ods": __import__("defects").ods_minimal((("指标名称", 1.0), ("建成专柜数", 12.0))),
    }


# ---------------------------------------------------------------------------------- mutations

_EXTREME_NUMBERS = (b"0", b"1", b"-1", b"16384", b"16385", b"1048576", b"1048577", b"2147483648",
                    b"4294967295", b"18446744073709551616", b"99999999999999999999")
_EXTREME_REFS = (b"XFD1048576", b"XFE1", b"A1048577", b"A0", b"ZZZZ1", b"AAAAAAAA9", b"1A", b"",
                 b"A99999999999", b"$A$1", b"a1")
_CELL_TYPES = (b"s", b"e", b"b", b"str", b"inlineStr", b"d", b"n", b"x")
_CELL_VALUES = (b"", b"1e309", b"-0", b"NaN", b"inf", b"#DIV/0!", b"#GETTING_DATA", b"\xef\xbc\x91\xef\xbc\x92",
                b"4294967295", b"-99999999999999999999", b"2020-09-11T00:00:00", b"&amp;&lt;", b"\xf0\x9f\x98\x80" * 50,
                b"A" * 5000)


def _number_spans(xml: bytes) -> list[tuple[int, int]]:
    return [m.span(1) for m in re.finditer(rb'="(-?[0-9]+)"', xml)]


def _replace_span(data: bytes, span: tuple[int, int], new: bytes) -> bytes:
    return data[:span[0]] + new + data[span[1]:]


def _xml_numbers(rnd: random.Random, xml: bytes) -> bytes:
    spans = _number_spans(xml)
    return _replace_span(xml, rnd.choice(spans), rnd.choice(_EXTREME_NUMBERS)) if spans else xml


def _xml_refs(rnd: random.Random, xml: bytes) -> bytes:
    spans = [m.span(1) for m in re.finditer(rb'\b(?:r|ref|sqref)="([^"]*)"', xml)]
    if not spans:
        return xml
    new = rnd.choice(_EXTREME_REFS)
    if rnd.random() < 0.3:
        new = new + b":" + rnd.choice(_EXTREME_REFS)
    return _replace_span(xml, rnd.choice(spans), new)


def _xml_dimension(rnd: random.Random, xml: bytes) -> bytes:
    ref = rnd.choice(_EXTREME_REFS) + b":" + rnd.choice(_EXTREME_REFS)
    found = re.search(rb'<dimension ref="([^"]*)"', xml)
    if found:
        return _replace_span(xml, found.span(1), ref)
    return xml.replace(b"<sheetData", b'<dimension ref="' + ref + b'"/><sheetData', 1)


def _xml_cell_type(rnd: random.Random, xml: bytes) -> bytes:
    spans = [m.span(1) for m in re.finditer(rb'\bt="([^"]*)"', xml)]
    if spans:
        return _replace_span(xml, rnd.choice(spans), rnd.choice(_CELL_TYPES))
    cells = [m.end() for m in re.finditer(rb"<c ", xml)]
    if not cells:
        return xml
    at = rnd.choice(cells)
    return xml[:at] + b't="' + rnd.choice(_CELL_TYPES) + b'" ' + xml[at:]


def _xml_value(rnd: random.Random, xml: bytes) -> bytes:
    spans = [m.span(1) for m in re.finditer(rb"<(?:v|t)(?: [^>]*)?>([^<]*)<", xml)]
    return _replace_span(xml, rnd.choice(spans), rnd.choice(_CELL_VALUES)) if spans else xml


def _xml_tags(rnd: random.Random, xml: bytes) -> bytes:
    """Break or duplicate markup: drop a bracket, repeat an element, cut a closing tag."""
    choice = rnd.randrange(3)
    brackets = [i for i, b in enumerate(xml) if b in b"<>"]
    if choice == 0 and brackets:
        i = rnd.choice(brackets)
        return xml[:i] + xml[i + 1:]
    elements = [m.span() for m in re.finditer(rb"<(row|c|si)\b[^>]*>.*?</\1>", xml, re.S)]
    if choice == 1 and elements:
        start, end = rnd.choice(elements)
        return xml[:end] + xml[start:end] * rnd.choice((1, 2, 50)) + xml[end:]
    closers = [m.span() for m in re.finditer(rb"</[^>]+>", xml)]
    if closers:
        return _replace_span(xml, rnd.choice(closers), b"")
    return xml


XML_MUTATIONS = (_xml_numbers, _xml_refs, _xml_dimension, _xml_cell_type, _xml_value, _xml_tags)


def _flip_bytes(rnd: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rnd.choice((1, 2, 4, 16))):
        if out:
            out[rnd.randrange(len(out))] ^= 1 << rnd.randrange(8) if rnd.random() < 0.5 else rnd.randrange(1, 256)
    return bytes(out)


def _truncate(rnd: random.Random, data: bytes) -> bytes:
    return data[:rnd.randrange(len(data) + 1)]


def _splice(rnd: random.Random, data: bytes) -> bytes:
    if len(data) < 2:
        return data + data
    start = rnd.randrange(len(data))
    chunk = data[start:start + rnd.choice((1, 8, 64, 512))]
    at = rnd.randrange(len(data))
    return data[:at] + chunk * rnd.choice((1, 3)) + data[at:]


def _members(data: bytes) -> Optional[list[tuple[zipfile.ZipInfo, bytes]]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return [(info, archive.read(info)) for info in archive.infolist()]
    except Exception:                      # not (or no longer) a readable zip: no member surgery
        return None


def _rezip(members: list[tuple[zipfile.ZipInfo, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, content in members:
            archive.writestr(info.filename, content)
    return out.getvalue()


def _mutate_member(rnd: random.Random, data: bytes) -> bytes:
    """Replace one XML part (sheets and shared strings most often) with a mutated copy."""
    members = _members(data)
    if not members:
        return _flip_bytes(rnd, data)
    xml_parts = [i for i, (info, _) in enumerate(members) if info.filename.endswith((".xml", ".rels"))]
    if not xml_parts:
        return _flip_bytes(rnd, data)
    favoured = [i for i in xml_parts if re.search(r"worksheets/|sharedStrings|workbook\.xml", members[i][0].filename)]
    index = rnd.choice(favoured if favoured and rnd.random() < 0.8 else xml_parts)
    info, content = members[index]
    for _ in range(rnd.choice((1, 1, 2, 3))):
        content = rnd.choice(XML_MUTATIONS)(rnd, content)
    members[index] = (info, content)
    return _rezip(members)


def _drop_member(rnd: random.Random, data: bytes) -> bytes:
    members = _members(data)
    if not members or len(members) < 2:
        return _truncate(rnd, data)
    del members[rnd.randrange(len(members))]
    return _rezip(members)


MUTATIONS = {"flip": _flip_bytes, "truncate": _truncate, "splice": _splice, "member": _mutate_member,
             "drop-member": _drop_member}
_WEIGHTS = {"flip": 2, "truncate": 1, "splice": 1, "member": 6, "drop-member": 1}


def mutate(rnd: random.Random, data: bytes) -> tuple[bytes, list[str]]:
    """One to three mutations of `data`, chosen by `rnd`; returns the bytes and their names."""
    names = rnd.choices(list(_WEIGHTS), weights=list(_WEIGHTS.values()), k=rnd.choice((1, 1, 2, 3)))
    for name in names:
        data = MUTATIONS[name](rnd, data)
    return data, names


# ---------------------------------------------------------------------------------- the property


class PropertyViolation(AssertionError):
    """A received file broke the property (see the module docstring)."""


@dataclass
class Checked:
    """What became of one file: 'issues' (refused by the reader), 'refused' (read, but not a
    return of this campaign), 'checked' (read and validated)."""

    outcome: str
    codes: list[str] = field(default_factory=list)


def received_file(name: str, content: bytes):
    """A ReceivedFile as `collect_inbox` makes it (kind sniffed from the content)."""
    from xf_excel.intake.records import ReceivedFile
    from xf_excel.intake.sniff import sniff

    kind = sniff(name, content)
    return ReceivedFile(name=name, display=name, content=content, sha256=hashlib.sha256(content).hexdigest(),
                        kind=kind if kind in ("xlsx", "xlsm", "xls") else "other")


def _check_issues(issues: Any, display: str, where: str, *, quoted: bool) -> list[str]:
    from xf_excel.issues import Issue, IssueCode

    if not isinstance(issues, list) or not issues:
        raise PropertyViolation(f"{where}: expected a non-empty list of Issues, got {type(issues).__name__}")
    for issue in issues:
        if not isinstance(issue, Issue) or not isinstance(issue.code, IssueCode):
            raise PropertyViolation(f"{where}: not an Issue: {issue!r}"[:300])
        if not _CJK.search(issue.message or ""):
            raise PropertyViolation(f"{where}: message is not Chinese: {issue.message!r}"[:300])
        if issue.file != display or (quoted and f"「{display}」" not in issue.message):
            raise PropertyViolation(f"{where}: issue does not name the file: {issue.file!r} {issue.message!r}"[:300])
    return [issue.code.value for issue in issues]


@contextmanager
def main_process_guard(seconds: float = 15.0, extra_mb: int = 1024):
    """Turn a hang or a runaway allocation *in this process* into an exception, so that a
    fuzz run reports it instead of stalling or eating the machine: SIGALRM after `seconds`
    (more than the reader's own per-file time limit) and an address-space limit `extra_mb`
    above what the process uses now. Unix main thread only; elsewhere it does nothing."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return
    import resource

    def overrun(signum, frame):
        raise PropertyViolation(f"the main process spent over {seconds:g} s on one file")

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    previous = signal.signal(signal.SIGALRM, overrun)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    if os.path.exists("/proc/self/statm"):          # Linux: the address space in use is known
        with open("/proc/self/statm") as statm:
            limit = int(statm.read().split()[0]) * resource.getpagesize() + (extra_mb << 20)
        resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check_file(reader, config, name: str, content: bytes, period: int = PERIOD) -> Checked:
    """Read one file through the guarded reader, then read_return and validate_return;
    raise PropertyViolation (or let any exception through, MemoryError included) when the
    property fails. The main process is guarded against hangs and runaway memory."""
    with main_process_guard():
        return _check_file(reader, config, name, content, period)


def _check_file(reader, config, name: str, content: bytes, period: int) -> Checked:
    from xf_excel.checks.read import read_return
    from xf_excel.checks.validate import CheckedReturn, validate_return
    from xf_excel.intake.records import RawWorkbook

    file = received_file(name, content)
    result = reader.read(file)
    if not isinstance(result.workbook, RawWorkbook):
        return Checked("issues", _check_issues(result.issues, name, "reader", quoted=True))
    reading = read_return(result.workbook, config)
    if reading.form is None:
        return Checked("refused", _check_issues(reading.issues, name, "read_return", quoted=False))
    checked = validate_return(reading.form, config, period)
    if not isinstance(checked, CheckedReturn):
        raise PropertyViolation(f"validate_return gave {type(checked).__name__}")
    if checked.issues:
        _check_issues(checked.issues, name, "validate_return", quoted=False)
    return Checked("checked", [i.code.value for i in checked.issues])


def save_crasher(content: bytes, suffix: str, folder: Path = REGRESSIONS) -> Path:
    """Store a failing input as `fuzz-<sha8><suffix>` (idempotent) and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"fuzz-{hashlib.sha256(content).hexdigest()[:8]}{suffix}"
    if not path.exists():
        path.write_bytes(content)
    return path


def check_file_isolated(path: Path, *, relaxed: bool = False, timeout: float = 120,
                        memory_mb: int = 2048) -> dict[str, Any]:
    """`check_file` on a stored file in a fresh process (address space `memory_mb`), so that
    a file that hangs or exhausts the main process fails its test instead of the test run.
    `relaxed` turns the reader's structural checks off, leaving the child-process guard alone.
    Returns {"status": "ok", "outcome": …} or {"status": "failed" | "timeout", "error": …}."""
    command = [sys.executable, os.path.abspath(__file__), "--check", str(path)] + (["--relaxed"] if relaxed else [])

    def limit() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))

    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              preexec_fn=limit if os.name == "posix" else None)
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "error": f"no answer within {timeout:g} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode == 0 and lines:
        return json.loads(lines[-1])
    return {"status": "failed", "error": (done.stderr or done.stdout)[-1500:], "returncode": done.returncode}


RELAXED_LIMITS = dict(max_members=100_000, max_unpacked_bytes=1 << 40, max_rows=10 ** 9, max_cells=10 ** 15,
                      max_shared_strings=10 ** 12)


def _check_stored(path: Path, relaxed: bool = False) -> dict[str, Any]:
    from xf_excel.intake.workbooks import WorkbookReader
    from xf_excel.intake.safeguard import Limits

    limits = Limits(**RELAXED_LIMITS) if relaxed else Limits()
    with WorkbookReader(timeout=10, workers=1, limits=limits) as reader:
        checked = _check_file(reader, load_repo_config(), path.name, path.read_bytes(), PERIOD)
    return {"status": "ok", "outcome": checked.outcome, "codes": checked.codes}


# ---------------------------------------------------------------------------------- deep runs


@dataclass
class FuzzRun:
    examples: int = 0
    seconds: float = 0.0
    outcomes: dict[str, int] = field(default_factory=dict)
    crashers: list[tuple[Path, str]] = field(default_factory=list)


def fuzz_for(seconds: float, seed: int = 0, folder: Path = REGRESSIONS) -> FuzzRun:
    """Mutate the seed files for `seconds` (no shrinking); every failure is stored in `folder`."""
    from xf_excel.intake.workbooks import WorkbookReader

    config, seeds, rnd, run = load_repo_config(), seed_files(), random.Random(seed), FuzzRun()
    start = time.monotonic()
    with WorkbookReader(timeout=10, workers=1) as reader:
        while time.monotonic() - start < seconds:
            name = rnd.choice(sorted(seeds))
            data, _ = mutate(rnd, seeds[name])
            try:
                outcome = check_file(reader, config, name, data).outcome
            except Exception as error:     # noqa: BLE001 - any failure is a finding to keep
                path = save_crasher(data, Path(name).suffix, folder)
                run.crashers.append((path, f"{type(error).__name__}: {error}"[:300]))
                outcome = "FAILED"
            run.outcomes[outcome] = run.outcomes.get(outcome, 0) + 1
            run.examples += 1
    run.seconds = time.monotonic() - start
    return run


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Fuzz the guarded workbook reader for a fixed time.")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REGRESSIONS)
    parser.add_argument("--check", type=Path, help="check one stored file and print the outcome as JSON")
    parser.add_argument("--relaxed", action="store_true", help="with --check: the reader's structural checks off")
    args = parser.parse_args(argv)
    if args.check:
        print(json.dumps(_check_stored(args.check, args.relaxed), ensure_ascii=False))
        return 0
    run = fuzz_for(args.seconds, args.seed, args.out)
    print(f"{run.examples} examples in {run.seconds:.0f} s: {run.outcomes}")
    for path, why in run.crashers:
        print(f"FAILED {path}: {why}")
    return 1 if run.crashers else 0


if __name__ == "__main__":
    raise SystemExit(main())
