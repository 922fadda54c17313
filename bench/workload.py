"""The benchmark's inputs: a campaign config scaled to N counties, and inboxes made by the
demo generator (`xf_excel.demo.simulate`) for it.

Sizes are county counts: 111 (Guangxi as configured), 1,110 (ten provinces' worth) and
2,844 (every county-level unit in China). A larger size clones the real county list under
new codes and names — copy k of 南宁市 is 南宁第k市, of 兴宁区 兴宁第k区, so no clone's
name contains another's (the reader identifies units by name too) — and scales the
region-wide count and money targets by the same factor, so each simulated county return
carries as much data as at one province's scale. The member units stay as configured.

Two inboxes per size, both written by the demo generator:

- `inbox_week`: what arrives in the office in batch 1 of period 1 (`demo.write_inbox`):
  returns with typing quirks, a mail, a zip, a duplicate, deliberate errors, a stray PDF.
  The weekly job (`xf-excel run`) reads this one.
- `inbox_clean`: every reporting unit's correct return, one .xlsx each, no quirks
  (`demo.fill_form` with the true figures). Readers are compared on these files, and the
  naive peer pipeline must reproduce the product's totals from them exactly.

Returns come back saved by Excel or WPS, which store a cached result for every formula.
The demo generator edits the form's XML without computing the 校验提示 hint formulas, so
its files look "saved by a non-Excel writer" (each would get a no-cached-values warning
and a feedback workbook). `as_saved_by_excel` gives each such formula the cached result
Excel stores for a correct return — an empty text, `t="str"` with `<v></v>` — on every
plain .xlsx of both inboxes (returns inside a mail or zip are left as generated).

Generating 2,844 returns takes a minute or two, so a prepared workload is kept in its
folder and reused while its parameters (size, seed, period and the product's config and
demo code) are unchanged.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
BASE_CONFIG = ROOT / "config.yaml"
BASE_COUNTIES = 111
SIZES = (111, 1110, 2844)
PERIOD = 1
SEED = 2020
_SCALED_KINDS = ("count", "money")


# ---- the scaled config -------------------------------------------------------------------

def scaled_config_data(counties: int, base: Path = BASE_CONFIG) -> dict[str, Any]:
    """config.yaml as data, with its county list cloned (and cut) to `counties` units."""
    data = yaml.safe_load(base.read_text(encoding="utf-8"))
    originals, cities = data["counties"], data["cities"]
    copies = -(-counties // len(originals))
    data["counties"] = [_clone_county(c, k) for k in range(copies) for c in originals][:counties]
    used_cities = {c["city"] for c in data["counties"]}
    data["cities"] = [city for k in range(copies) for city in (_clone_city(c, k) for c in cities)
                      if city["code"] in used_cities]
    factor = counties / len(originals)
    kinds = {i["id"]: i["kind"] for i in data["indicators"]}
    for target in data["targets"]:
        if target["op"] == ">=" and target.get("scope", "region") == "region" and kinds[target["indicator"]] in _SCALED_KINDS:
            target["value"] = round(target["value"] * factor)
    return data


def _clone_code(code: str, k: int) -> str:
    """450102 → 450102 (k=0), 460102 (k=1), …: a new province prefix per copy."""
    return code if k == 0 else f"{int(code[:2]) + k:02d}{code[2:]}"


def _numbered(name: str, k: int) -> str:
    """兴宁区 → 兴宁第2区 (k=1): the stem, 第n, then the administrative suffix."""
    return name if k == 0 else f"{name[:-1]}第{k + 1}{name[-1]}"


def _clone_county(county: dict[str, Any], k: int) -> dict[str, Any]:
    clone = copy.deepcopy(county)
    clone["code"], clone["city"] = _clone_code(county["code"], k), _clone_code(county["city"], k)
    clone["name"] = _numbered(county["name"], k)
    clone.pop("note", None)
    return clone


def _clone_city(city: dict[str, Any], k: int) -> dict[str, Any]:
    return {"code": _clone_code(city["code"], k), "name": _numbered(city["name"], k)}


def write_config(path: Path, counties: int) -> Path:
    """Write the scaled config for `counties` units to `path` (YAML, loadable by `load_config`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(scaled_config_data(counties), allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    return path


# ---- a prepared workload -------------------------------------------------------------------

@dataclass(frozen=True)
class Workload:
    """Everything one size needs, on disk under `folder`."""

    counties: int
    folder: Path
    period: int = PERIOD
    seed: int = SEED

    @property
    def config_path(self) -> Path:
        return self.folder / "config.yaml"

    @property
    def forms_dir(self) -> Path:
        return self.folder / "forms"

    @property
    def inbox_week(self) -> Path:
        return self.folder / "inbox_week"

    @property
    def inbox_clean(self) -> Path:
        return self.folder / "inbox_clean"

    def clean_files(self) -> list[Path]:
        """The clean returns, sorted (one per reporting unit)."""
        return sorted(self.inbox_clean.glob("*.xlsx"))

    def week_files(self) -> list[Path]:
        return sorted(p for p in self.inbox_week.rglob("*") if p.is_file())

    def describe(self) -> dict[str, Any]:
        """Counts and sizes of the two inboxes (for the table's notes and the JSON)."""
        clean, week = self.clean_files(), self.week_files()
        return {"counties": self.counties, "clean_files": len(clean),
                "clean_mb": round(sum(p.stat().st_size for p in clean) / 1e6, 2),
                "week_files": len(week), "week_mb": round(sum(p.stat().st_size for p in week) / 1e6, 2)}


def _fingerprint(counties: int, period: int, seed: int) -> str:
    """Changes whenever what the workload is made from changes."""
    digest = hashlib.sha256(f"{counties}|{period}|{seed}".encode())
    for path in (BASE_CONFIG, ROOT / "src/xf_excel/demo/simulate.py", ROOT / "src/xf_excel/outputs/forms.py", Path(__file__)):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def prepare(work_dir: Path, counties: int, period: int = PERIOD, seed: int = SEED,
            log=lambda text: None) -> Workload:
    """The workload for `counties` under `work_dir/<counties>/`, generated unless already there."""
    workload = Workload(counties, Path(work_dir) / str(counties), period, seed)
    stamp = workload.folder / "fingerprint"
    fingerprint = _fingerprint(counties, period, seed)
    if stamp.is_file() and stamp.read_text() == fingerprint:
        return workload
    log(f"生成 {counties} 个县的测试数据（演示数据生成器）…")
    if workload.folder.exists():
        shutil.rmtree(workload.folder)
    _generate(workload)
    stamp.write_text(fingerprint)
    (workload.folder / "workload.json").write_text(json.dumps(workload.describe(), ensure_ascii=False, indent=2))
    return workload


def _generate(workload: Workload) -> None:
    from xf_excel.demo import simulate as demo
    from xf_excel.config import load_config
    from xf_excel.outputs.forms import write_forms

    write_config(workload.config_path, workload.counties)
    config = load_config(workload.config_path)
    sim = demo.simulate(config, seed=workload.seed)
    write_forms(config, workload.period, workload.forms_dir)
    demo.write_inbox(sim, workload.period, 1, workload.forms_dir, workload.inbox_week)
    write_clean_inbox(sim, workload.period, workload.forms_dir, workload.inbox_clean)
    for path in [*workload.inbox_week.rglob("*.xlsx"), *workload.inbox_clean.glob("*.xlsx")]:
        as_saved_by_excel(path)


def write_clean_inbox(sim, period: int, forms_dir: Path, inbox: Path) -> list[Path]:
    """Every simulated unit's correct return for `period`, filled by label with the true
    figures and detail rows and no typing quirks (`demo.fill_form`)."""
    from xf_excel.demo import simulate as demo
    from xf_excel.outputs.forms import form_filename

    config = sim.config
    inbox.mkdir(parents=True, exist_ok=True)
    written = []
    for unit in sim.units:
        values, details, header = demo.correct_entries(sim, unit, period)
        name = form_filename(config, unit, period)
        written.append(demo.fill_form(forms_dir / name, inbox / name, values, details, header))
    return written


# ---- as Excel saves it ----------------------------------------------------------------------

_UNCACHED_FORMULA = re.compile(rb'<c ((?:(?!\bt=)[^>])*?)><f>(.*?)</f>(?:<v/>|<v></v>)?</c>', re.S)
_SHEET_PART = re.compile(r"xl/worksheets/[^/]+\.xml")


def as_saved_by_excel(path: Path) -> bool:
    """Give every formula without a cached value the cached empty-text result Excel stores
    for a hint that has nothing to say. Keeps the file's modification time (the arrival
    time intake reads). True when the file changed."""
    stat = path.stat()
    with zipfile.ZipFile(path) as source:
        parts = [(info, source.read(info)) for info in source.infolist()]
    changed = False
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in parts:
            if _SHEET_PART.fullmatch(info.filename):
                data, count = _UNCACHED_FORMULA.subn(rb'<c \1 t="str"><f>\2</f><v></v></c>', data)
                changed = changed or count > 0
            target.writestr(info, data)
    if changed:
        path.write_bytes(buffer.getvalue())
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    return changed
