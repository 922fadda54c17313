"""Benchmark: consolidate a full campaign archive and write the master workbook.

The archive holds periods 1–3 for all 111 counties and every reporting member unit (a few
units missing or rejected each period, so carry-forward and reminders are exercised), built
directly with `Archive.record_submission`. Each round consolidates period 3 (which also
consolidates periods 1–2 for 环比 and history) and writes the master workbook.

    .venv/bin/python bench/bench_consolidate.py [--rounds 5]

Prints the median, min and max seconds of each step and of the whole; exits 1 when the
median of the whole is 2 s or more.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from xf_excel.config import load_config
from xf_excel.consolidate import consolidate
from xf_excel.outputs.master import write_master
from xf_excel.archive.store import Archive, NewSubmission

ROOT = Path(__file__).resolve().parent.parent
LIMIT_SECONDS = 2.0


def populate(archive: Archive, config, periods: int = 3, seed: int = 2020) -> int:
    """Fill the archive with plausible cumulative figures; returns the number of submissions."""
    rng = random.Random(seed)
    count = 0
    for period in range(1, periods + 1):
        for unit in config.reporting_units():
            roll = rng.random()
            if roll < 0.04:                       # missing this period
                continue
            values = {ind.id: _figure(ind, rng, period) for ind in config.indicators_for(unit) if ind.numeric}
            archive.record_submission(NewSubmission(
                unit.code, period, accepted=roll >= 0.07, values=values,
                received_at=f"2020-09-{6 + 7 * (period - 1) + rng.randint(0, 2):02d}T{rng.randint(8, 18):02d}:00:00",
                file_name=f"第{period}期_{unit.full_name}.xlsx"))
            count += 1
    return count


def _figure(ind, rng: random.Random, period: int) -> float:
    if ind.kind == "count":
        return float(rng.randint(0, 12) * period)
    return round(rng.uniform(0, 400) * period, 2)


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    config = load_config(ROOT / "config.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        with Archive(tmp_path / "xf.sqlite") as archive:
            submissions, build = _timed(lambda: populate(archive, config))
            print(f"archive: {submissions} submissions, {len(config.reporting_units())} units, built in {build:.2f} s")
            steps: dict[str, list[float]] = {"consolidate": [], "write_master": [], "total": []}
            for n in range(args.rounds):
                c, t_cons = _timed(lambda: consolidate(archive, config, 3))
                path, t_write = _timed(lambda: write_master(c, tmp_path / f"汇总_{n}.xlsx"))
                steps["consolidate"].append(t_cons)
                steps["write_master"].append(t_write)
                steps["total"].append(t_cons + t_write)
            size = path.stat().st_size
    for name, times in steps.items():
        print(f"{name:>13}: median {statistics.median(times):.3f} s  (min {min(times):.3f}, max {max(times):.3f}; "
              f"{len(times)} rounds)")
    print(f"master workbook: {size / 1024:.0f} KB")
    median = statistics.median(steps["total"])
    if median >= LIMIT_SECONDS:
        print(f"FAIL: median {median:.2f} s ≥ {LIMIT_SECONDS} s")
        return 1
    print(f"OK: median {median:.2f} s < {LIMIT_SECONDS} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
