"""Every file type xf-excel writes, checked by readers that share no code with the writers:
Microsoft's Open XML SDK validator, the ISO/IEC 29500 transitional schemas (when a copy is
given), and package checks no schema expresses. Each check also fails mutated copies
(negative controls), so a pass means something. Accepted deviations are listed, with the
reason, in `checkers.ooxml_sdk.ACCEPTED_DEVIATIONS` and `checkers.ooxml_xsd.ACCEPTED_DEVIATIONS`."""

from __future__ import annotations

import json
import platform
import re
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from lxml import etree

from checkers import ooxml_package, ooxml_sdk, ooxml_xsd
from xf_excel.demo.run import run_demo
from xf_excel.pipeline import summarize

pytestmark = pytest.mark.slow
TESTS = Path(__file__).resolve().parent
FILE_TYPES = ("return form", "feedback workbook", "master workbook", "master .xlsm", "briefing", "campaign-end report")


@pytest.fixture(scope="module")
def outputs(config, master_xlsm, tmp_path_factory) -> dict[str, list[Path]]:
    """A small campaign of two periods through the real pipeline, plus `xf-excel workbook`'s .xlsm
    and the campaign-end report of the second period's figures."""
    out = tmp_path_factory.mktemp("outputs")
    periods = run_demo(config, out, seed=11, periods=[1, 2], units=6)
    summary = summarize(periods[-1].consolidation, out / "活动总结")
    found = {
        "return form": sorted(out.glob("第*期/1_填报表/*.xlsx")),
        "feedback workbook": sorted(out.glob("第*期/3_退回/*.xlsx")),
        "master workbook": [p.master for p in periods],
        "master .xlsm": [master_xlsm],
        "briefing": [p.briefing.docx for p in periods],
        "campaign-end report": [summary.docx],
    }
    assert all(found[kind] for kind in FILE_TYPES), {k: len(v) for k, v in found.items()}
    return found


# ---- negative controls: one defect a writer could introduce, in a copy of a real output --------

def _mutate(source: Path, target: Path, part: str, change) -> Path:
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == part:
                changed = change(data.decode("utf-8")).encode("utf-8")
                assert changed != data, f"the mutation of {part} changed nothing"
                data = changed
            zout.writestr(item, data)
    return target


XLSX_MUTATIONS = {
    "worksheet children out of order": ("xl/worksheets/sheet1.xml", lambda t: re.sub(
        r"(<sheetFormatPr[^>]*/>)(.*?)(<sheetData>|<sheetData/>)", r"\3\2\1", t, count=1, flags=re.S)),
    "unknown attribute on a cell": ("xl/worksheets/sheet1.xml", lambda t: t.replace("<c ", '<c bogus="1" ', 1)),
    "a cell type outside the enumeration": ("xl/worksheets/sheet1.xml",
                                            lambda t: re.sub(r'<c ([^>]*?)t="\w+"', r'<c \1t="zz"', t, count=1)),
    "styles: fonts after fills": ("xl/styles.xml", lambda t: re.sub(
        r"(<fonts.*?</fonts>)(<fills.*?</fills>)", r"\2\1", t, count=1, flags=re.S)),
}
DOCX_MUTATIONS = {
    "run before the paragraph properties": ("word/document.xml", lambda t: re.sub(
        r"(<w:p\b[^>]*>)(<w:pPr>.*?</w:pPr>)(<w:r\b.*?</w:r>)", r"\1\3\2", t, count=1, flags=re.S)),
    "unknown element in the body": ("word/document.xml", lambda t: t.replace("<w:body>", "<w:body><w:bogus/>", 1)),
    "a foreign element that is not ignorable": ("word/document.xml", lambda t: t.replace(
        "<w:body>", '<w:body><q:x xmlns:q="urn:not-understood"/>', 1)),
}


@pytest.fixture(scope="module")
def controls(outputs, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("controls")
    made = {}
    for index, (label, (part, change)) in enumerate(XLSX_MUTATIONS.items()):
        made[label] = _mutate(outputs["master workbook"][0], folder / f"x{index}.xlsx", part, change)
    for index, (label, (part, change)) in enumerate(DOCX_MUTATIONS.items()):
        made[label] = _mutate(outputs["briefing"][0], folder / f"d{index}.docx", part, change)
    return made


# ---- Microsoft's Open XML SDK ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sdk(outputs, controls) -> dict:
    """One run of the validator (in a subprocess: one .NET runtime per process) over every output
    and every control."""
    if platform.system() != "Linux" or platform.machine() != "x86_64":
        pytest.skip(f"the Open XML SDK runs here from a linux-x64 .NET bundle; this is {platform.machine()}")
    files = [str(p) for paths in outputs.values() for p in paths] + [str(p) for p in controls.values()]
    run = subprocess.run([sys.executable, "-m", "checkers.ooxml_sdk", *files], cwd=TESTS, capture_output=True,
                         text=True, timeout=1800)
    assert run.returncode == 0, f"the Open XML SDK did not start: {run.stderr[-2000:]}"
    return json.loads(run.stdout)


@pytest.mark.parametrize("kind", FILE_TYPES)
def test_every_file_type_passes_the_open_xml_sdk(sdk, outputs, kind):
    assert sdk["versions"]["sdk"].startswith("3.5.1")
    errors = {Path(f).name: [(e["part"], e["path"], e["description"][:200]) for e in sdk["results"][str(f)]
                             if e["kind"] == "error"] for f in outputs[kind]}
    assert {name: found for name, found in errors.items() if found} == {}


def test_only_openpyxl_files_need_the_accepted_deviation(sdk, outputs):
    accepted = Counter((kind, e["id"]) for kind in FILE_TYPES for f in outputs[kind]
                       for e in sdk["results"][str(f)] if e["kind"] == "accepted")
    assert {kind for kind, _ in accepted} <= {"return form", "feedback workbook"}   # written by openpyxl
    assert {error_id for _, error_id in accepted} <= {"Sch_UnexpectedElementContentExpectingComplex"}


@pytest.mark.parametrize("label", [*XLSX_MUTATIONS, *DOCX_MUTATIONS])
def test_the_open_xml_sdk_catches(sdk, controls, label):
    assert any(e["kind"] == "error" for e in sdk["results"][str(controls[label])])


# ---- ISO/IEC 29500 transitional schemas (only where a copy is given) --------------------------------

@pytest.fixture(scope="module")
def schemas():
    folder = ooxml_xsd.schema_folder()
    if folder is None:
        pytest.skip("ISO/IEC 29500 的 XSD 不随本项目提供（没有许可可用的软件包）：把一份副本所在的文件夹设为 "
                    f"OOXML_SCHEMA_DIR 即可运行（需要 {', '.join(ooxml_xsd.REQUIRED)}）")
    compiled = ooxml_xsd.SchemaSet(folder)
    yield compiled
    compiled.close()


@pytest.mark.parametrize("kind", FILE_TYPES)
def test_every_file_type_passes_the_iso_schemas(schemas, outputs, kind):
    errors = [(Path(f.package).name, f.part, f.line, f.message[:200]) for path in outputs[kind]
              for f in ooxml_xsd.validate_package(path, schemas) if f.kind == "error"]
    assert errors == []


@pytest.mark.parametrize("label", [*XLSX_MUTATIONS, *DOCX_MUTATIONS])
def test_the_iso_schemas_catch(schemas, controls, label):
    assert any(f.kind == "error" for f in ooxml_xsd.validate_package(controls[label], schemas))


def test_markup_compatibility_keeps_what_is_understood_and_drops_what_is_ignorable():
    root = etree.fromstring(
        '<r xmlns="urn:a" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
        'xmlns:x="urn:x" mc:Ignorable="x" x:attr="1"><x:gone/><kept/>'
        '<mc:AlternateContent><mc:Choice Requires="x"><x:new/></mc:Choice>'
        '<mc:Fallback><old/></mc:Fallback></mc:AlternateContent></r>')
    processed = ooxml_xsd.mce_process(root, {"urn:a"})
    assert [etree.QName(c).localname for c in processed] == ["kept", "old"]
    assert dict(processed.attrib) == {}


# ---- what no schema says -------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", FILE_TYPES)
def test_every_file_type_passes_the_package_checks(outputs, kind):
    findings = {p.name: ooxml_package.check(p) for p in outputs[kind]}
    assert {name: found for name, found in findings.items() if found} == {}


def test_the_package_checks_catch_python_docx_leftovers(tmp_path):
    from docx import Document

    document = Document()
    document.add_paragraph("x").runs[0].font.name = "仿宋_GB2312"
    document.save(str(tmp_path / "default.docx"))
    kinds = {f.kind for f in ooxml_package.check(tmp_path / "default.docx")}
    assert kinds == {"font-table", "zoom-percent", "stale-part", "thumbnail", "core-properties", "app-properties"}


def test_the_package_checks_catch_a_broken_relationship(outputs, tmp_path):
    broken = _mutate(outputs["master workbook"][0], tmp_path / "broken.xlsx", "xl/_rels/workbook.xml.rels",
                     lambda t: t.replace('Target="worksheets/sheet1.xml"', 'Target="worksheets/sheet99.xml"', 1))
    assert {f.kind for f in ooxml_package.check(broken)} >= {"rel-target", "orphan-part"}
