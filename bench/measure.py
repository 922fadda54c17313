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
import contextlib
import io
import json
import re
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

def floor(workload: Workload, rounds: int) -> Result:
    import readers

    files = workload.clean_files()
    times, parsed = _rounds(rounds, lambda n: readers.floor(files))
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
    """The naive pandas pipeline, end to end: read every file, concat, group, sum."""
    import peer as naive

    config, files = _config(workload), workload.clean_files()
    import pandas  # noqa: F401  (the import is not part of a round)

    times, totals = _rounds(rounds, lambda n: naive.peer_totals(files, config))
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
        files, _ = collect_inbox(workload.inbox_clean)
        with WorkbookReader() as reader:
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
    """The product end to end on the clean files, as the peer does it: intake (read, check,
    archive) into a fresh archive, then consolidate. Returns the totals for the comparison."""
    import peer as naive
    from xf_excel.pipeline import consolidate_period, intake_inbox

    config = _config(workload)
    scratch = Path(tempfile.mkdtemp(prefix="xf-bench-"))

    def work(n: int):
        folder = scratch / str(n)
        report = intake_inbox(config, workload.inbox_clean, workload.period, folder / "xf.sqlite", folder / "退回")
        return report, consolidate_period(config, workload.period, folder / "xf.sqlite")

    try:
        times, (report, consolidation) = _rounds(rounds, work)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return times, {**report.summary(), "totals": naive.product_totals(consolidation)}


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


_SUMMARY = re.compile(r"median ([0-9.]+) s\s+min ([0-9.]+) s\s+max ([0-9.]+) s\s+\((\d+) rounds\)")


def server(workload: Workload, rounds: int) -> Result:
    """The 汇总 button round trip on the server with the full master payload (14 city
    sheets of config.yaml, whatever the size), by bench_server.py.

    Uses its `measure(rounds) -> (times, info)` when it has one; otherwise runs its main()
    and reads the median, min and max it prints (info["summary"])."""
    import bench_server

    if hasattr(bench_server, "measure"):
        return bench_server.measure(rounds)
    printed = io.StringIO()
    argv, sys.argv = sys.argv, ["bench_server.py", "--rounds", str(rounds)]
    try:
        with contextlib.redirect_stdout(printed):
            bench_server.main()
    finally:
        sys.argv = argv
    found = _SUMMARY.search(printed.getvalue())
    if found is None:
        raise RuntimeError(f"bench_server.py printed no summary: {printed.getvalue()[-500:]}")
    median, low, high, n = found.groups()
    return [], {"summary": {"median": float(median), "min": float(low), "max": float(high), "rounds": int(n)},
                "printed": printed.getvalue().strip().splitlines()[0]}


MEASUREMENTS: dict[str, Callable[[Workload, int], Result]] = {
    f.__name__: f for f in (floor, calamine, openpyxl, peer, read_validate, product, forms,
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
