"""Time `write_forms` for every reporting unit of config.yaml (period 2, with previous values).

Run: .venv/bin/python bench/bench_forms.py [--config config.yaml] [--runs 5]
Prints the median, min and max wall time of the runs (each into a fresh temporary folder).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from xf_excel.config import Config, load_config
from xf_excel.outputs.forms import write_forms

ROOT = Path(__file__).resolve().parents[1]


def previous_values(config: Config) -> dict[str, dict[str, float]]:
    """Plausible last-period figures for every unit and indicator it reports (deterministic)."""
    return {
        unit.code: {ind.id: float((i * 7 + n * 13) % 97) for n, ind in enumerate(config.indicators_for(unit))}
        for i, unit in enumerate(config.reporting_units())
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "config.yaml"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--period", type=int, default=2)
    args = parser.parse_args()

    config = load_config(args.config)
    previous = previous_values(config)
    units = len(config.reporting_units())
    times: list[float] = []
    size = 0
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            paths = write_forms(config, args.period, Path(out), previous)
            times.append(time.perf_counter() - start)
            size = sum(p.stat().st_size for p in paths)
    print(f"write_forms: {units} forms, period {args.period}, with previous values, {args.runs} runs")
    print(f"  median {statistics.median(times):.2f} s  (min {min(times):.2f} s, max {max(times):.2f} s)"
          f"  = {1000 * statistics.median(times) / units:.1f} ms a form; {size / 1e6:.1f} MB in all")


if __name__ == "__main__":
    main()
