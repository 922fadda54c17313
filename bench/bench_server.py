"""Benchmark: the 汇总 button's round trip on the server, in-process over HTTP.

The payload is the one xlwings' VBA client would post for the master .xlsm after a
consolidation (all 14 city sheets, every member-unit sheet, 报送情况, 校验问题 …, values from
A1), built from the workbook `xf-excel workbook` writes. The archive holds the simulated
campaign's periods 1–2 for every unit (demo.simulate); the inbox is empty, so each round
measures what every click pays: consolidation, the master file, reading it back and the
actions JSON, plus HTTP and JSON (de)serialisation.

    .venv/bin/python bench/bench_server.py [--rounds 5]

Prints the median, min and max seconds; exits 1 when the median is 1 s or more.
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

os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from excel_front import PERIOD, apply_actions, seed_archive, set_cell  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from xlwings_payload import vba_payload  # noqa: E402

from xf_excel.config import load_config  # noqa: E402
from xf_excel.fronts.excel.server import create_app  # noqa: E402
from xf_excel.fronts.excel.workbook import build_workbook  # noqa: E402

LIMIT_SECONDS = 1.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    config = load_config(ROOT / "config.yaml")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        shutil.copy(ROOT / "config.yaml", root / "config.yaml")
        seed_archive(config, root / "data" / "xf.sqlite")
        (root / "收件箱").mkdir()
        payload = vba_payload(build_workbook(config, root / "xf-excel.xlsm"))
        set_cell(payload, "首页", 4, 2, PERIOD)
        client = TestClient(create_app("config.yaml", "data/xf.sqlite", root=root), client=("127.0.0.1", 50000))
        first = client.post("/xlwings/consolidate", json=payload)   # warm-up; the filled book is what we time
        payload = apply_actions(payload, first.json()["actions"])
        cities = sum(1 for s in payload["sheets"] if s["name"] in {c.name for c in config.cities})
        size = len(first.request.content)
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            response = client.post("/xlwings/consolidate", json=payload)
            times.append(time.perf_counter() - start)
            assert response.status_code == 200 and "汇总已刷新" in response.text, response.text[:500]
        actions = len(response.json()["actions"])
    median = statistics.median(times)
    print(f"汇总 round trip on the server: {len(payload['sheets'])} sheets ({cities} city sheets), "
          f"request {size / 1024:.0f} KB, {actions} actions back")
    print(f"  median {median:.3f} s   min {min(times):.3f} s   max {max(times):.3f} s   ({rounds} rounds)")
    print(f"  target < {LIMIT_SECONDS:.1f} s: {'met' if median < LIMIT_SECONDS else 'MISSED'}")
    return 0 if median < LIMIT_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
