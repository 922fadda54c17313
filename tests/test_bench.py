"""The benchmark script cannot silently rot: a smoke run writes every row, and its scaled
configs and totals comparison behave. (No timings are asserted: speed belongs in bench/.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from xf_excel.config import parse_config

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import peer  # noqa: E402
import run as bench  # noqa: E402
import workload  # noqa: E402

SMOKE_SIZE = 12   # the smallest inbox that still has every kind of delivery; keeps the run well under a minute


@pytest.mark.slow
def test_quick_run_writes_every_row(tmp_path: Path):
    out = tmp_path / "latest.json"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--sizes", str(SMOKE_SIZE),
                           "--work", str(tmp_path / "work"), "--json-out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {row["id"]: row for row in json.loads(out.read_text(encoding="utf-8"))["rows"]}
    s = f"@{SMOKE_SIZE}"
    measured = [f"{name}{s}" for name, _ in bench.PER_SIZE + bench.COMPONENTS]
    derived = [f"read_validate/calamine{s}", f"read_validate/unzip{s}", f"read_validate/expat{s}",
               f"openpyxl/read_validate{s}",
               f"peer/product{s}", f"totals{s}", "robustness_kill", "robustness_concurrent"]
    assert sorted(rows) == sorted(measured + derived)
    for row_id in measured:
        assert rows[row_id]["error"] == "" and rows[row_id]["rounds"] == 1 and rows[row_id]["median_s"] > 0, row_id
        assert rows[row_id]["peak_mb"] > 10, row_id
    assert rows[f"totals{s}"]["ok"] is True
    assert rows[f"job{s}"]["info"]["charts"] == 2 and rows[f"product{s}"]["info"]["charts"] == 2
    week = [p for p in (tmp_path / "work" / str(SMOKE_SIZE) / "inbox_week").rglob("*") if p.is_file()]
    assert rows[f"server{s}"]["info"]["inbox_files"] == len(week) and "收取完成" in rows[f"server{s}"]["info"]["message"]
    assert rows["robustness_kill"]["value"] == "1/1 passed"
    assert rows["robustness_concurrent"]["value"] == "1/1 passed"
    # the table printed is the table stored
    assert done.stdout.strip().splitlines() == json.loads(out.read_text(encoding="utf-8"))["table"]


@pytest.mark.parametrize("counties", [12, 111, 1110, 2844])
def test_scaled_config_has_exactly_that_many_distinct_counties(counties: int):
    import yaml

    data = workload.scaled_config_data(counties)
    config = parse_config(yaml.safe_dump(data, allow_unicode=True))
    county_units = [u for u in config.units.values() if u.kind == "county"]
    assert len(county_units) == counties
    assert len({u.code for u in county_units}) == len({u.full_name for u in county_units}) == counties
    assert {u.city_code for u in county_units} == {c.code for c in config.cities}


def test_no_clone_name_contains_another_name():
    """The reader identifies a unit by the county name in a file name: a clone's name must
    not contain any other county's name, or its returns would be ambiguous."""
    names = {c["name"] for c in workload.scaled_config_data(1110)["counties"]}
    clones = [n for n in names if "第" in n]
    assert len(clones) == 999
    assert [(a, b) for b in clones for a in names if a != b and a in b] == []


def test_scaled_config_scales_region_targets_but_not_rates():
    base = {t["indicator"]: t["value"] for t in workload.scaled_config_data(111)["targets"]}
    ten = {t["indicator"]: t["value"] for t in workload.scaled_config_data(1110)["targets"]}
    assert ten["counters_operating"] == 10 * base["counters_operating"]
    assert ten["union_purchases"] == 10 * base["union_purchases"]
    assert ten["product_listing_rate"] == base["product_listing_rate"]
    assert ten["voucher_per_member"] == base["voucher_per_member"]     # a cap per member, not a sum


def test_clone_names_do_not_contain_each_other():
    assert workload._numbered("兴宁区", 0) == "兴宁区"
    assert workload._numbered("兴宁区", 1) == "兴宁第2区"
    assert "兴宁第2区" not in "兴宁第12区" and "兴宁区" not in "兴宁第2区"
    assert workload._clone_code("450102", 3) == "480102"


def test_compare_totals_reports_a_one_cent_difference():
    product = {"南宁市": {"counter_sales": 78.5, "halls_operating": None}}
    assert peer.compare_totals(product, {"南宁市": {"counter_sales": 78.5, "halls_operating": None}},
                               ["counter_sales", "halls_operating"]) == []
    assert peer.compare_totals(product, {"南宁市": {"counter_sales": 78.51, "halls_operating": 0.0}},
                               ["counter_sales", "halls_operating"]) == [
        "南宁市 counter_sales: product 78.5 ≠ peer 78.51", "南宁市 halls_operating: product None ≠ peer 0.0"]


_SHARED = """
import os, time
block = bytearray(os.urandom(1 << 20)) * 150          # 150 MB, every page touched
if os.fork() == 0:                                    # a forked helper: shares the pages, writes none
    time.sleep(1.5)
    os._exit(0)
time.sleep(1.5)
os.wait()
"""


@pytest.mark.skipif(not Path("/proc/self/smaps_rollup").exists(), reason="需要 Linux 的 /proc/PID/smaps_rollup")
def test_the_memory_meter_counts_pages_a_forked_helper_shares_once():
    """A job that forks a helper (the weekly job's chart helper) holds the shared pages once:
    the meter sums proportional sizes, where summed resident sets would count them twice."""
    import memory

    child = memory.run_child([sys.executable, "-c", _SHARED], interval=0.05)
    assert child.returncode == 0, child.stderr
    assert 150 <= child.tree_mb < 225, child.tree_mb      # counted twice it would be over 300
