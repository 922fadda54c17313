"""Benchmark: the 汇总 button's round trip on the warm server, in-process over HTTP, with a
full week's inbox (issue 20).

The server is the one `xf-excel serve` runs (`fronts/excel/server.create_app`), created once:
its imports and first request are paid before the clock starts, as on a server that has been
running since Monday. Each round is one click of 汇总 as staff make it on Friday: the inbox
folder named on 首页 holds the whole batch of the week (`workload.inbox_week`: every unit's
return with typing quirks, a mail, a zip, a duplicate, returns with errors, a stray PDF) and
the archive is fresh, so the round reads, checks and archives every file, writes the
feedback workbooks, consolidates, writes the master, reads it back and answers with the
actions JSON — plus HTTP and JSON (de)serialisation of the full master payload xlwings'
VBA client posts (every sheet of the book, values from A1, as filled by the warm-up click).

    .venv/bin/python bench/bench_server.py [--counties 111] [--rounds 5] [--work DIR]

Prints the median, min and max seconds; exits 1 when the median is over 1 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(BENCH))

import workload as workloads  # noqa: E402

LIMIT_SECONDS = 1.0
INBOX, OUTPUT, ARCHIVE = "收件箱", "输出", "data/xf.sqlite"   # the workbook's default folders


def measure(workload: workloads.Workload, rounds: int) -> tuple[list[float], dict[str, Any]]:
    """(seconds per round, info) of the 汇总 round trip with `workload`'s week inbox."""
    from excel_front import apply_actions, set_cell
    from fastapi.testclient import TestClient
    from xlwings_payload import vba_payload

    from xf_excel.config import load_config
    from xf_excel.fronts.excel.server import create_app
    from xf_excel.fronts.excel.workbook import build_workbook

    config = load_config(workload.config_path)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        shutil.copy(workload.config_path, root / "config.yaml")
        shutil.copytree(workload.inbox_week, root / INBOX)
        payload = vba_payload(build_workbook(config, root / "xf-excel.xlsm"))
        set_cell(payload, "首页", 4, 2, workload.period)
        client = TestClient(create_app("config.yaml", ARCHIVE, root=root), client=("127.0.0.1", 50000))
        first = _click(client, payload)            # warm-up: imports, and the filled book is what we post
        payload = apply_actions(payload, first["actions"])
        times, answer = [], first
        for _ in range(rounds):
            _fresh_archive(root)
            start = time.perf_counter()
            answer = _click(client, payload)
            times.append(time.perf_counter() - start)
        alert = next((a["args"][0] for a in answer["actions"] if a["func"] == "alert"), "")
        cities = sum(1 for s in payload["sheets"] if s["name"] in {c.name for c in config.cities})
        info = {"inbox_files": len(workload.week_files()), "sheets": len(payload["sheets"]), "city_sheets": cities,
                "actions": len(answer["actions"]), "message": alert.splitlines()[0] if alert else "",
                "first_click_s": round(first["seconds"], 3)}
    return times, info


def _click(client, payload: dict[str, Any]) -> dict[str, Any]:
    """POST 汇总; the answer's JSON (with its wall time). Raises unless the master was refreshed."""
    start = time.perf_counter()
    response = client.post("/xlwings/consolidate", json=payload)
    seconds = time.perf_counter() - start
    if response.status_code != 200 or "汇总已刷新" not in response.text:
        raise RuntimeError(f"汇总 failed: {response.status_code} {response.text[:500]}")
    return {**response.json(), "seconds": seconds}


def _fresh_archive(root: Path) -> None:
    """No archive and no outputs, so that the click takes the whole inbox in again."""
    for path in (root / ARCHIVE).parent.glob("xf.sqlite*"):
        path.unlink()
    shutil.rmtree(root / OUTPUT, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counties", type=int, default=111)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "xf-excel-bench")
    args = parser.parse_args()
    workload = workloads.prepare(args.work, args.counties, log=print)
    times, info = measure(workload, args.rounds)
    median = statistics.median(times)
    print(f"汇总 round trip on the warm server: {info['inbox_files']} files in the inbox, {info['sheets']} sheets "
          f"({info['city_sheets']} city sheets), {info['actions']} actions back; {info['message']}")
    print(f"  median {median:.3f} s   min {min(times):.3f} s   max {max(times):.3f} s   ({args.rounds} rounds)")
    print(f"  target ≤ {LIMIT_SECONDS:.1f} s: {'met' if median <= LIMIT_SECONDS else 'MISSED'}")
    return 0 if median <= LIMIT_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
