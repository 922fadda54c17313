"""One measurement, run for several rounds inside this (child) process.

    python bench/measure.py NAME --work DIR --counties N --rounds R

`bench/run.py` starts one such child per measurement and size, so that each gets its own
peak-memory figure (see memory.py), and reads the last line of its stdout: a JSON object
`{"times": [seconds per round], "info": {...}}`. Set-up (imports, the config, an archive to
consolidate) happens before the clock starts; each round does the whole of its work again
(into fresh folders and a fresh archive where it writes).

Every measurement is a function `name(workload, rounds) -> (times, info)` registered in
`MEASUREMENTS`; add one there and a row in run.py's `ROWS`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from workload import Workload  # noqa: E402

Result = tuple[list[float], dict[str, Any]]


def _rounds(rounds: int, work: Callable[[int], Any]) -> tuple[list[float], Any]:
    """Time `work(round)` `rounds` times; return the times and the last result."""
    times, result = [], None
    for n in range(rounds):
        start = time.perf_counter()
        result = work(n)
        times.append(time.perf_counter() - start)
    return times, result


def _config(workload: Workload):
    from xf_excel.config import load_config

    return load_config(workload.config_path)


# ---- references on the clean files -------------------------------------------------------

def unzip(workload: Workload, rounds: int) -> Result:
    import readers

    files = workload.clean_files()
    times, inflated = _rounds(rounds, lambda n: readers.unzip(files))
    return times, {"files": len(files), "bytes": inflated}


def expat(workload: Workload, rounds: int) -> Result:
    import readers

    files = workload.clean_files()
    times, parsed = _rounds(rounds, lambda n: readers.unzip_expat(files))
    return times, {"files": len(files), "xml_bytes": parsed}


def calamine(workload: Workload, rounds: int) -> Result:
    import readers

    files = workload.clean_files()
    times, cells = _rounds(rounds, lambda n: readers.calamine_raw(files))
    return times, {"files": len(files), "cells": cells}


def openpyxl(workload: Workload, rounds: int) -> Result:
    import readers

    files = workload.clean_files()
    times, cells = _rounds(rounds, lambda n: readers.openpyxl_full(files))
    return times, {"files": len(files), "cells": cells}


def peer(workload: Workload, rounds: int) -> Result:
    """The naive peer's whole week (peer.py): read every file with pandas, sum, write a master
    with openpyxl and a Word document with python-docx."""
    import peer as naive

    config, files = _config(workload), workload.clean_files()
    import docx, openpyxl, pandas  # noqa: F401,E401  (imports are not part of a round, as for the product)

    scratch = Path(tempfile.mkdtemp(prefix="xf-bench-peer-"))
    try:
        times, totals = _rounds(rounds, lambda n: naive.peer_week(files, config, scratch / str(n)))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return times, {"files": len(files), "totals": totals}


# ---- the product -------------------------------------------------------------------------

def read_validate(workload: Workload, rounds: int) -> Result:
    """The product's safe reading and validation alone, no archive: collect the inbox, check
    and parse every file in the worker processes, read by label, validate."""
    from xf_excel.checks.read import read_return
    from xf_excel.checks.validate import validate_return
    from xf_excel.intake.collect import collect_inbox
    from xf_excel.intake.workbooks import WorkbookReader

    config = _config(workload)

    def work(n: int) -> dict[str, int]:
        counts = {"files": 0, "accepted": 0, "rejected": 0, "unread": 0}
        with WorkbookReader() as reader:
            reader.start()                     # as intake_inbox does: workers start while the inbox is collected
            files, _ = collect_inbox(workload.inbox_clean)
            for received, read in reader.read_many(files):
                counts["files"] += 1
                if read.workbook is None:
                    counts["unread"] += 1
                    continue
                reading = read_return(read.workbook, config)
                if reading.form is None:
                    counts["unread"] += 1
                    continue
                checked = validate_return(reading.form, config, workload.period, None, {})
                counts["accepted" if checked.accepted else "rejected"] += 1
        return counts

    times, counts = _rounds(rounds, work)
    return times, counts


def product(workload: Workload, rounds: int) -> Result:
    """The product's whole week on the clean files, in process, as the peer does its own:
    `pipeline.run_week` (read, check, archive, consolidate, master workbook, briefing with
    charts) into a fresh archive and output folder. Returns the totals for the comparison."""
    import peer as naive
    from xf_excel.pipeline import run_week
    from xf_excel.outputs import briefing, charts, feedback, master  # noqa: F401  (imports are not part of a round)
    import docxtpl, matplotlib.figure  # noqa: F401,E401

    config = _config(workload)
    scratch = Path(tempfile.mkdtemp(prefix="xf-bench-"))

    def work(n: int):
        folder = scratch / str(n)
        return run_week(config, workload.inbox_clean, workload.period, folder / "xf.sqlite", folder / "out")

    try:
        times, week = _rounds(rounds, work)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    charts_drawn = sum(1 for p in week.briefing.paths if str(p).endswith(".png"))
    return times, {**week.intake.summary(), "charts": charts_drawn, "notes": week.briefing.notes,
                   "totals": naive.product_totals(week.consolidation)}


def forms(workload: Workload, rounds: int) -> Result:
    """`write_forms` for every reporting unit, period 2, pre-filled (bench_forms.py's inputs)."""
    from bench_forms import previous_values
    from xf_excel.outputs.forms import write_forms

    config = _config(workload)
    previous = previous_values(config)
    scratch = Path(tempfile.mkdtemp(prefix="xf-bench-"))
    try:
        times, paths = _rounds(rounds, lambda n: write_forms(config, 2, scratch / str(n), previous))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return times, {"forms": len(paths)}


def _populated_archive(workload: Workload, folder: Path):
    """An archive of periods 1–3 for every unit (bench_consolidate.populate), opened."""
    from bench_consolidate import populate
    from xf_excel.archive.store import Archive

    archive = Archive(folder / "xf.sqlite")
    archive.__enter__()
    submissions = populate(archive, _config(workload))
    return archive, submissions


def consolidate_master(workload: Workload, rounds: int) -> Result:
    """Consolidate period 3 from a full archive and write the master workbook (bench_consolidate.py)."""
    from xf_excel.consolidate import consolidate
    from xf_excel.outputs.master import write_master

    config = _config(workload)
    scratch = Path(tempfile.mkdtemp(prefix="xf-bench-"))
    split: dict[str, list[float]] = {"consolidate": [], "write_master": []}

    def work(n: int) -> Path:
        start = time.perf_counter()
        c = consolidate(archive, config, 3)
        middle = time.perf_counter()
        path = write_master(c, scratch / f"汇总_{n}.xlsx")
        split["consolidate"].append(middle - start)
        split["write_master"].append(time.perf_counter() - middle)
        return path

    archive, submissions = _populated_archive(workload, scratch)
    try:
        times, path = _rounds(rounds, work)
        size = path.stat().st_size
    finally:
        archive.__exit__(None, None, None)
        shutil.rmtree(scratch, ignore_errors=True)
    return times, {"submissions": submissions, "master_kb": round(size / 1024),
                   **{f"{k}_median": sorted(v)[len(v) // 2] for k, v in split.items()}}


def briefing(workload: Workload, rounds: int) -> Result:
    """One briefing render (context, charts, .docx, .md) of period 3, as bench_report.py
    times it, on the consolidation of a full archive (bench_consolidate.populate); the first
    render in the process, with its imports and font look-up, is reported apart."""
    from xf_excel.consolidate import consolidate
    from xf_excel.outputs.briefing import render_briefing

    scratch = Path(tempfile.mkdtemp(prefix="xf-bench-"))
    archive, _ = _populated_archive(workload, scratch)
    try:
        consolidation = consolidate(archive, _config(workload), 3)
        first = time.perf_counter()
        render_briefing(consolidation, scratch / "first")
        first = time.perf_counter() - first
        times, _ = _rounds(rounds, lambda n: render_briefing(consolidation, scratch / str(n)))
    finally:
        archive.__exit__(None, None, None)
        shutil.rmtree(scratch, ignore_errors=True)
    return times, {"first_in_process": round(first, 3)}


def server(workload: Workload, rounds: int) -> Result:
    """The 汇总 button round trip on the warm server (bench_server.py): a full week's inbox of
    this size taken in, consolidated, the master written and read back into the book's JSON,
    each round into a fresh archive."""
    import bench_server

    return bench_server.measure(workload, rounds)


MEASUREMENTS: dict[str, Callable[[Workload, int], Result]] = {
    f.__name__: f for f in (unzip, expat, calamine, openpyxl, peer, read_validate, product, forms,
                            consolidate_master, briefing, server)
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=sorted(MEASUREMENTS))
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--counties", type=int, required=True)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    workload = Workload(args.counties, args.work / str(args.counties))
    times, info = MEASUREMENTS[args.name](workload, args.rounds)
    print(json.dumps({"times": times, "info": info}, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
