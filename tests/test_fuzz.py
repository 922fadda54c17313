"""Fuzzing the guarded reader, replaying stored crashers, and reading generated workbooks back.

- `test_mutated_files_never_break_the_reader_or_validate`: hypothesis mutates valid
  returns (see tests/fuzzing.py) and checks the property on each: the guarded reader gives a
  RawWorkbook or Chinese issues naming the file, and read_return + validate_return never
  raise. Bounded for CI (`XF_FUZZ_EXAMPLES`, default 4000: about 20 s); the
  shrunk failing example is stored as `tests/regressions/fuzz-<sha8>.<ext>`.
- `test_deep_fuzz_for_a_fixed_time`: only with `XF_FUZZ_SECONDS=N`, a time-bounded run.
- `test_every_stored_crasher_is_handled`: every file in tests/regressions/, each in a fresh
  process (a file that hangs the main process fails its test, not the run), through the
  reader with its checks and with the checks relaxed (so the child-process guard is tested);
  files that still show a product bug are listed in KNOWN_FAILURES (strict xfail).
- `test_values_written_with_openpyxl_read_back_equal`: generated valid workbooks.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fuzzing
from xf_excel.intake.workbooks import WorkbookReader
from xf_excel.intake.records import RawWorkbook

FUZZ_EXAMPLES = int(os.environ.get("XF_FUZZ_EXAMPLES", "4000"))
FUZZ_SECONDS = float(os.environ.get("XF_FUZZ_SECONDS", "0") or 0)
_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]


@pytest.fixture(scope="module")
def reader():
    with WorkbookReader(timeout=10, workers=1) as shared:
        yield shared


# ---------------------------------------------------------------------------------- fuzzing


def test_the_seed_files_are_read_and_the_filled_return_is_clean(reader, config):
    seeds = fuzzing.seed_files()
    outcomes = {name: fuzzing.check_file(reader, config, name, data) for name, data in seeds.items()}
    assert outcomes["filled_return.xlsx"].outcome == "checked" and outcomes["filled_return.xlsx"].codes == []
    # the others are read; the .xls names its unit (武鸣区) in 填报单位, so it gets as far as validate
    assert {name: o.outcome for name, o in outcomes.items() if name != "filled_return.xlsx"} == {
        "openpyxl_book.xlsx": "refused", "excel_like.xlsx": "refused", "legacy.xls": "checked", "minimal.ods": "refused"}


def test_the_mutations_change_the_files_in_the_ways_they_claim():
    import random

    seed = fuzzing.seed_files()["excel_like.xlsx"]
    rnd = random.Random(5)
    assert len(fuzzing.MUTATIONS["truncate"](rnd, seed)) < len(seed)
    changed = fuzzing.MUTATIONS["member"](rnd, seed)
    assert changed != seed and changed[:2] == b"PK"
    refs = fuzzing._xml_refs(random.Random(1), b'<c r="A1"><v>1</v></c>')
    assert refs != b'<c r="A1"><v>1</v></c>' and refs.startswith(b'<c r="')


def test_mutated_files_never_break_the_reader_or_validate(reader, config):
    seeds = fuzzing.seed_files()
    last: dict[str, tuple[str, bytes]] = {}

    # derandomize: CI runs the same examples every time; explore with XF_FUZZ_SECONDS (random seeds)
    @settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=_QUIET, database=None,
              derandomize=True)
    @given(name=st.sampled_from(sorted(seeds)), rnd=st.randoms(use_true_random=False))
    def mutated_file_keeps_the_property(name, rnd):
        data, _ = fuzzing.mutate(rnd, seeds[name])
        last["case"] = (name, data)
        fuzzing.check_file(reader, config, name, data)

    try:
        mutated_file_keeps_the_property()
    except Exception as error:
        # hypothesis replays the shrunk example last: that is the one worth keeping
        name, data = last["case"]
        path = fuzzing.save_crasher(data, Path(name).suffix)
        raise AssertionError(f"fuzzing found a failing file, stored as {path}: {error}") from error


@pytest.mark.skipif(not FUZZ_SECONDS, reason="a deeper run: set XF_FUZZ_SECONDS=600 (or any number of seconds)")
def test_deep_fuzz_for_a_fixed_time():
    run = fuzzing.fuzz_for(FUZZ_SECONDS, seed=int(os.environ.get("XF_FUZZ_SEED", "0")))
    print(f"\n{run.examples} examples in {run.seconds:.0f} s: {run.outcomes}")
    assert run.crashers == []


def _stored_crashers() -> list[Path]:
    return sorted(p for p in fuzzing.REGRESSIONS.glob("*") if p.suffix in (".xlsx", ".xlsm", ".xls", ".bin"))


# Stored files that still break the property: the product bug each shows (see the report of issue 8).
KNOWN_FAILURES: dict[str, str] = {}   # regression file name -> the product bug it still shows


def _replay_params() -> list:
    return [pytest.param(p, id=p.name, marks=[pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[p.name])]
                         if p.name in KNOWN_FAILURES else []) for p in _stored_crashers()]


def test_there_are_stored_crashers_to_replay():
    assert len(_stored_crashers()) >= 3
    assert set(KNOWN_FAILURES) <= {p.name for p in _stored_crashers()}


@pytest.mark.parametrize("path", _replay_params())
def test_every_stored_crasher_is_handled(path):
    # in a fresh process, so that a file that hangs the main process fails here and stops nothing else
    checked = fuzzing.check_file_isolated(path)
    assert checked["status"] == "ok", checked
    # with the parent's structural checks relaxed, the child-process guard alone must hold
    relaxed = fuzzing.check_file_isolated(path, relaxed=True)
    assert relaxed["status"] == "ok", relaxed


# ---------------------------------------------------------------------------------- reading back

_TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Co", "Cn"), blacklist_characters="\ufffe\uffff"),
                min_size=1, max_size=30) | st.sampled_from(["１２３", "１，２００个", "😀🎉", "消费扶贫专柜", "=1+1",
                                                             "#DIV/0!", "@SUM(1)", "-3", "  前后空格  "])
_VALUES = st.one_of(
    st.none(),
    st.integers(min_value=-(2 ** 53), max_value=2 ** 53),
    # Excel (and openpyxl's writer, which follows it) keeps 15 significant digits
    st.floats(allow_nan=False, allow_infinity=False).map(lambda f: float(f"{f:.15g}")).filter(
        lambda f: abs(f) < 1e308),
    _TEXT,
    st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(9999, 12, 31)),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(9999, 12, 31)).map(
        lambda d: d.replace(microsecond=0)),
    st.booleans(),
)
_GRIDS = st.integers(1, 6).flatmap(lambda width: st.lists(st.lists(_VALUES, min_size=width, max_size=width),
                                                          min_size=1, max_size=8))


def _write_grid(grid: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "填报"
    for r, row in enumerate(grid, start=1):
        for c, value in enumerate(row, start=1):
            if value is None:
                continue
            cell = sheet.cell(r, c)
            cell.value = value
            if isinstance(value, str):
                cell.data_type = "s"          # text stays text (no formula, no error value)
            elif isinstance(value, dt.datetime):
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _expected(grid: list[list[object]]) -> list[list[object]]:
    """The grid as the reader gives it: from A1, trailing empty rows and columns trimmed."""
    rows = [list(row) for row in grid]
    while rows and all(v is None for v in rows[-1]):
        rows.pop()
    width = max((max((c + 1 for c, v in enumerate(row) if v is not None), default=0) for row in rows), default=0)
    return [row[:width] for row in rows]


def _same(got: object, want: object) -> bool:
    if isinstance(want, bool) or isinstance(got, bool):
        return got is want
    if isinstance(want, dt.datetime):
        if want.time() == dt.time() and type(got) is dt.date:      # calamine gives midnight as the date
            return got == want.date()
        return isinstance(got, dt.datetime) and got == want
    if isinstance(want, dt.date):
        return got == want or (isinstance(got, dt.datetime) and got == dt.datetime.combine(want, dt.time()))
    if isinstance(want, float):
        return isinstance(got, (int, float)) and got == want
    return got == want and type(got) is type(want)


@settings(max_examples=120, deadline=None, suppress_health_check=_QUIET)
@given(grid=_GRIDS)
def test_values_written_with_openpyxl_read_back_equal(reader, grid):
    read = reader.read(fuzzing.received_file("generated.xlsx", _write_grid(grid)))
    raw = read.workbook
    assert isinstance(raw, RawWorkbook), read.issues
    cells = raw.sheet("填报").cells
    want = _expected(grid)
    assert len(cells) == len(want)
    for r, (got_row, want_row) in enumerate(zip(cells, want), start=1):
        padded = got_row + [None] * (len(want_row) - len(got_row))
        for c, (got, expected) in enumerate(zip(padded, want_row), start=1):
            assert _same(got, expected), (r, c, got, expected)
