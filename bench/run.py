"""The xf-excel benchmark: speed and memory at one province's scale and at national scale,
side by side with the alternatives, in one run (issue 9). See bench/README.md.

    ./run bench                         all three sizes (111, 1,110, 2,844 counties)
    ./run bench --sizes 111 --rounds 3
    ./run bench --quick --sizes 12      a smoke run: one round, robustness once each

Prints one table (medians over the rounds, with min and max; peak memory of each
measurement's process tree; ratios; each target with ✓/✗) and writes the same as JSON to
bench/results/latest.json. Exit status 1 when a measurement failed or the naive peer
pipeline's totals differ from the product's; missed targets are shown, not fatal.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import memory  # noqa: E402
import peer as naive  # noqa: E402
import robustness  # noqa: E402
import workload as workloads  # noqa: E402

DEFAULT_WORK = Path(tempfile.gettempdir()) / "xf-excel-bench"
LAUNCHER: memory.Launcher   # started first thing in main(), while this process is small
RESULTS = BENCH / "results" / "latest.json"
ROBUSTNESS_RUNS = 20

# (measurement, label) measured at every size, in table order
PER_SIZE = [
    ("job", "whole weekly job: xf-excel run, fresh process, charts included"),
    ("read_validate", "read + validate (product, in-process)"),
    ("calamine", "  floor: python-calamine, every sheet raw"),
    ("unzip", "  unzip of the same bytes, nothing parsed"),
    ("expat", "  unzip + expat, no handlers"),
    ("openpyxl", "  openpyxl, every cell"),
    ("product", "product whole week, in process (run_week)"),
    ("peer", "  naive peer whole week: pandas, openpyxl master, python-docx"),
]
# measured once, at the smallest size chosen
COMPONENTS = [
    ("forms", "forms for all units (write_forms)"),
    ("consolidate_master", "consolidate + master workbook"),
    ("briefing", "one briefing render (charts, docx, md)"),
    ("server", "汇总 button round trip, warm server, full week's inbox"),
]
JOB_TARGET_111 = 1.2          # seconds, the fresh-process weekly job at 111 (issue 20)
LINEAR_LIMIT = 30             # × the 111 time at 2,844
PEAK_LIMIT_MB = 300


@dataclass
class Row:
    """One line of the table (and of the JSON)."""

    id: str
    label: str
    size: Optional[int]
    times: list[float] = field(default_factory=list)
    peak_mb: Optional[float] = None
    value: Optional[str] = None          # a ratio or a count, shown instead of times
    target: str = ""
    ok: Optional[bool] = None            # None: no target, or not measurable
    info: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    @property
    def median(self) -> Optional[float]:
        if not self.times and "summary" in self.info:   # a helper that reports only its summary
            return self.info["summary"]["median"]
        return statistics.median(self.times) if self.times else None

    @property
    def low(self) -> Optional[float]:
        return self.info["summary"]["min"] if not self.times and "summary" in self.info else min(self.times, default=None)

    @property
    def high(self) -> Optional[float]:
        return self.info["summary"]["max"] if not self.times and "summary" in self.info else max(self.times, default=None)

    @property
    def rounds(self) -> int:
        return self.info["summary"]["rounds"] if not self.times and "summary" in self.info else len(self.times)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label.strip(), "size": self.size, "rounds": self.rounds,
                "median_s": _round(self.median), "min_s": _round(self.low),
                "max_s": _round(self.high), "times_s": [_round(t) for t in self.times],
                "peak_mb": _round(self.peak_mb, 1), "value": self.value, "target": self.target,
                "ok": self.ok, "info": self.info, "error": self.error}


def _round(value: Optional[float], digits: int = 3) -> Optional[float]:
    return None if value is None else round(value, digits)


def default_rounds(size: int) -> int:
    """5 rounds at one province's scale, fewer for the large sizes."""
    return 5 if size <= 111 else 3 if size <= 1110 else 2


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# ---- measuring ---------------------------------------------------------------------------------

def measure_in_child(name: str, workload: workloads.Workload, rounds: int) -> tuple[list[float], dict, float]:
    """Run bench/measure.py NAME in a child; its times, info and peak memory (MB)."""
    command = [sys.executable, str(BENCH / "measure.py"), name, "--work", str(workload.folder.parent),
               "--counties", str(workload.counties), "--rounds", str(rounds)]
    child = LAUNCHER.run(command)
    if child.returncode != 0:
        raise RuntimeError(_last_lines(child.stderr) or f"exit status {child.returncode}")
    result = json.loads(child.stdout.strip().splitlines()[-1])
    return result["times"], result["info"], child.peak_mb


def measure_job(workload: workloads.Workload, rounds: int) -> tuple[list[float], dict, float]:
    """The weekly job in a fresh process per round (wall time incl. interpreter start-up),
    each into a fresh archive and output folder."""
    times, peak, summary = [], 0.0, {}
    scratch = Path(tempfile.mkdtemp(prefix="xf-bench-job-"))
    try:
        for n in range(rounds):
            job = robustness.Job(workload, scratch / str(n))
            job.folder.mkdir(parents=True)
            child = LAUNCHER.run(job.command())
            failure = robustness.finished(child.returncode, child.stdout, child.stderr)
            if failure:
                raise RuntimeError(failure)
            times.append(child.wall)
            peak = max(peak, child.peak_mb)
            answer = json.loads(child.stdout)
            summary = {**answer["intake"]["summary"], "charts": sum(1 for p in answer["briefing"] if p.endswith(".png")),
                       "notes": answer.get("notes", [])}
            shutil.rmtree(job.folder, ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return times, summary, peak


def _last_lines(text: str, lines: int = 12) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _measured(row: Row, measure: Callable[[], tuple[list[float], dict, float]]) -> Row:
    """Fill `row` from `measure()`; a failure is recorded on the row, never raised."""
    try:
        row.times, row.info, row.peak_mb = measure()
    except Exception as error:   # one broken piece must not stop the other measurements
        row.error = f"{type(error).__name__}: {error}"
        log(f"    ✗ {row.id}: {row.error.splitlines()[-1] if row.error.splitlines() else row.error}")
        if not isinstance(error, (RuntimeError, ImportError)):
            log(traceback.format_exc(limit=3))
    else:
        log(f"    {row.id}: median {row.median:.3f} s over {row.rounds} rounds, peak {row.peak_mb:.0f} MB")
    return row


# ---- ratios and targets ------------------------------------------------------------------------

def _by_id(rows: list[Row]) -> dict[str, Row]:
    return {r.id: r for r in rows}


def _ratio(rows: dict[str, Row], top: str, bottom: str) -> Optional[float]:
    a, b = rows.get(top), rows.get(bottom)
    if a is None or b is None or a.median is None or not b.median:
        return None
    return a.median / b.median


def _ratio_row(rows: dict[str, Row], id: str, label: str, size: Optional[int], top: str, bottom: str,
               target: str = "", test: Optional[Callable[[float], bool]] = None) -> Row:
    ratio = _ratio(rows, top, bottom)
    row = Row(id, label, size, value=None if ratio is None else f"{ratio:.1f}×", target=target)
    if ratio is not None:
        row.info["ratio"] = round(ratio, 3)
        if test is not None:
            row.ok = test(ratio)
    return row


def _judge(row: Optional[Row], target: str, test: Callable[[Row], bool]) -> None:
    if row is not None and row.median is not None and not row.error:
        row.target, row.ok = target, test(row)
    elif row is not None:
        row.target = target


def size_ratios(rows: dict[str, Row], size: int) -> list[Row]:
    """The ratios of one size, as rows placed after its measurements."""
    s = f"@{size}"
    floor_limit = 4 if size <= 111 else 3
    return [
        _ratio_row(rows, f"read_validate/calamine{s}", "  ratio read+validate ÷ floor (calamine raw)", size,
                   f"read_validate{s}", f"calamine{s}", f"≤ {floor_limit}×", lambda r: r <= floor_limit),
        _ratio_row(rows, f"read_validate/unzip{s}", "  ratio read+validate ÷ unzip", size,
                   f"read_validate{s}", f"unzip{s}"),
        _ratio_row(rows, f"read_validate/expat{s}", "  ratio read+validate ÷ unzip + expat", size,
                   f"read_validate{s}", f"expat{s}"),
        _ratio_row(rows, f"openpyxl/read_validate{s}", "  ratio openpyxl ÷ read+validate (issue 3)", size,
                   f"openpyxl{s}", f"read_validate{s}"),
        _ratio_row(rows, f"peer/product{s}", "  ratio peer ÷ product, whole week (product is N× faster)", size,
                   f"peer{s}", f"product{s}", "≥ 10×", lambda r: r >= 10),
    ]


def check_totals(rows: dict[str, Row], size: int, config_path: Path) -> Row:
    """The naive peer pipeline must give the product's totals exactly; a row saying so."""
    from xf_excel.config import load_config

    row = Row(f"totals{size and '@' + str(size)}", "  peer totals = product totals (every city, region)", size,
              target="all equal")
    product, peer = rows.get(f"product@{size}"), rows.get(f"peer@{size}")
    if product is None or peer is None or product.error or peer.error:
        return row
    ids = naive.summed_indicator_ids(load_config(config_path))
    problems = naive.compare_totals(product.info.pop("totals"), peer.info.pop("totals"), ids)
    row.ok = not problems
    row.value = "equal" if not problems else f"{len(problems)} differ"
    row.info["indicators"] = len(ids)
    if problems:
        row.info["differences"] = problems[:20]
        log("\n".join(["✗ TOTALS DIFFER between the product and the naive peer pipeline:", *problems[:20]]))
    return row


def apply_targets(rows: list[Row]) -> list[Row]:
    """Mark the per-row targets; return the cross-size rows (linearity)."""
    by_id = _by_id(rows)
    _judge(by_id.get("job@111"), f"≤ {JOB_TARGET_111} s with charts",
           lambda r: r.median <= JOB_TARGET_111 and r.info.get("charts", 0) > 0)
    for size in (1110, 2844):
        for name in ("job", "read_validate"):
            _judge(by_id.get(f"{name}@{size}"), f"peak ≤ {PEAK_LIMIT_MB} MB", lambda r: (r.peak_mb or 0) <= PEAK_LIMIT_MB)
    _judge(by_id.get("read_validate@111"), "< 3 s (issue 3)", lambda r: r.median < 3)
    _judge(by_id.get("forms@111"), "≤ 1 s", lambda r: r.median <= 1)
    _judge(by_id.get("consolidate_master@111"), "< 2 s (issue 4)", lambda r: r.median < 2)
    _judge(by_id.get("briefing@111"), "< 3 s (issue 5)", lambda r: r.median < 3)
    _judge(by_id.get("server@111"), "≤ 1 s", lambda r: r.median <= 1)
    extra = []
    for name, what in (("job", "whole job"), ("read_validate", "read + validate")):
        for size, label, limit in ((1110, "1,110", 10), (2844, "2,844", LINEAR_LIMIT)):
            top, bottom = f"{name}@{size}", f"{name}@111"
            if top in by_id and bottom in by_id:
                extra.append(_ratio_row(by_id, f"{top}/{bottom}", f"{what} {label} ÷ 111 (linear: ≤ {limit}×)", None,
                                        top, bottom, f"≤ {limit}×", lambda r, limit=limit: r <= limit))
    return extra


# ---- robustness -----------------------------------------------------------------------------------

def robustness_row(kind: str, label: str, runs: int, work: Path) -> Row:
    row = Row(f"robustness_{kind}", label, robustness.COUNTIES, target=f"{runs}/{runs}")
    try:
        batch = robustness.run_trials(kind, runs, work)
    except Exception as error:
        row.error = f"{type(error).__name__}: {error}"
        log(f"    ✗ {row.id}: {_last_lines(row.error, 3)}")
        return row
    row.value, row.ok, row.info = f"{batch.passed}/{batch.runs} passed", batch.passed == batch.runs, batch.to_dict()
    log(f"    {row.id}: {row.value} in {batch.seconds:.0f} s")
    return row


# ---- the table ------------------------------------------------------------------------------------

_COLUMNS = ("measurement", "size", "median", "min", "max", "n", "peak MB", "target", "")


def render_table(rows: list[Row]) -> str:
    """One plain-text table: a line per row; ratios and counts in the median column."""
    lines = []
    for r in rows:
        if r.error:
            median, low, high = "failed", "", ""
        elif r.value is not None:
            median, low, high = r.value, "", ""
        elif r.median is not None:
            median, low, high = f"{r.median:.3f} s", f"{r.low:.3f}", f"{r.high:.3f}"
        else:
            median, low, high = "–", "", ""
        mark = "" if r.ok is None else ("✓" if r.ok else "✗")
        lines.append((r.label, f"{r.size:,}" if r.size else "", median, low, high,
                      str(r.rounds) if r.rounds else "", f"{r.peak_mb:.0f}" if r.peak_mb else "", r.target, mark))
    widths = [max(_width(str(c)) for c in column) for column in zip(_COLUMNS, *lines)]
    aligns = ["<", ">", ">", ">", ">", ">", ">", "<", "<"]

    def fmt(cells) -> str:
        return "  ".join(_pad(str(c), w, a) for c, w, a in zip(cells, widths, aligns)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(_COLUMNS), rule, *[fmt(line) for line in lines]])


def _width(text: str) -> int:
    """Display width: CJK and ✓/✗ count as the terminal shows them."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, align: str) -> str:
    gap = " " * (width - _width(text))
    return text + gap if align == "<" else gap + text


# ---- main -----------------------------------------------------------------------------------------

def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=None,
                        help="county counts, comma-separated (default 111,1110,2844; with --quick 111)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="rounds of every measurement (default 5 at ≤111 counties, 3 at ≤1,110, 2 above)")
    parser.add_argument("--quick", action="store_true", help="one round each, robustness trials once each")
    parser.add_argument("--robustness-runs", type=int, default=None,
                        help=f"trials of each robustness check (default {ROBUSTNESS_RUNS}; 1 with --quick; 0 skips)")
    parser.add_argument("--only", default=None, help="measure only these (comma-separated names, e.g. job,read_validate)")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK,
                        help=f"where generated inboxes are kept between runs (default {DEFAULT_WORK})")
    parser.add_argument("--json-out", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    args = parser.parse_args(argv)
    args.sizes = [int(s) for s in (args.sizes or ("111" if args.quick else "111,1110,2844")).split(",")]
    if args.quick and args.rounds is None:
        args.rounds = 1
    if args.robustness_runs is None:
        args.robustness_runs = 1 if args.quick else ROBUSTNESS_RUNS
    args.only = set(args.only.split(",")) if args.only else None
    return args


def main(argv: Optional[list[str]] = None) -> int:
    global LAUNCHER
    args = parse_args(argv)
    with memory.Launcher() as LAUNCHER:
        return _main(args)


def _main(args: argparse.Namespace) -> int:
    wanted = lambda name: args.only is None or name in args.only   # noqa: E731
    rows: list[Row] = []
    workloads_info = {}
    for size in sorted(args.sizes):
        rounds = args.rounds or default_rounds(size)
        log(f"== {size:,} counties ({rounds} rounds)")
        workload = workloads.prepare(args.work, size, log=log)
        workloads_info[size] = workload.describe()
        block = []
        for name, label in PER_SIZE:
            if wanted(name):
                row = Row(f"{name}@{size}", label, size)
                runner = (lambda w=workload, r=rounds: measure_job(w, r)) if name == "job" else \
                         (lambda n=name, w=workload, r=rounds: measure_in_child(n, w, r))
                block.append(_measured(row, runner))
        by_id = _by_id(block)
        if size == min(args.sizes):
            for name, label in COMPONENTS:
                if wanted(name):
                    block.append(_measured(Row(f"{name}@{size}", label, size),
                                           lambda n=name, w=workload, r=rounds: measure_in_child(n, w, r)))
        rows += block
        ratios = [r for r in size_ratios(by_id, size) if r.value is not None]
        totals = [check_totals(by_id, size, workload.config_path)] if wanted("product") and wanted("peer") else []
        at = next((i for i, r in enumerate(rows) if r.id == f"peer@{size}"), len(rows) - 1) + 1
        rows[at:at] = ratios + totals
    rows += apply_targets(rows)
    if args.robustness_runs and (args.only is None or args.only & {"robustness", "kill", "concurrent"}):
        log(f"== robustness ({args.robustness_runs} trials each)")
        rows.append(robustness_row("kill", "kill mid-intake/mid-save, then rerun", args.robustness_runs, args.work))
        rows.append(robustness_row("concurrent", "two runs at once", args.robustness_runs, args.work))

    table = render_table(rows)
    print(table)
    write_json(args, rows, workloads_info, table)
    failed = [r for r in rows if r.error] + [r for r in rows if r.id.startswith("totals") and r.ok is False]
    if failed:
        log(f"{len(failed)} row(s) failed: {', '.join(r.id for r in failed)}")
    return 1 if failed else 0


def write_json(args: argparse.Namespace, rows: list[Row], workloads_info: dict, table: str) -> None:
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "generated": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "arguments": {"sizes": args.sizes, "rounds": args.rounds, "quick": args.quick,
                      "robustness_runs": args.robustness_runs},
        "workloads": workloads_info,
        "rows": [r.to_dict() for r in rows],
        "table": table.splitlines(),
    }
    args.json_out.write_text(json.dumps(payload, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    log(f"written {args.json_out}")


if __name__ == "__main__":
    sys.exit(main())
