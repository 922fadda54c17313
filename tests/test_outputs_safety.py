"""Our outputs cannot be turned against the people who open them (issue 8).

Returns carrying hostile strings — formula injection (`=HYPERLINK(…)`, `=cmd|' /C calc'!A0`,
`@SUM(1)`, `+1+1`, `-2+3`), the text `#DIV/0!`, a name with a line break, `|` and HTML — go
through the real pipeline (`intake_inbox`, `consolidate_period`, `write_master_workbook`,
`brief`), placed where a clerk can type them: the header (填报人), the detail sheet's text
columns (专柜名称, 详细地址) and an indicator's value cell. Then:

- in the feedback and master workbooks no cell is a formula or an error value, and the
  hostile strings are there, as text;
- the Markdown briefing has no forged table row and no raw HTML, the Word briefing no markup;
- every file name we write is safe on Windows: no separators, no reserved device names,
  bounded length, and distinct for distinct received files.
"""

from __future__ import annotations

import re
import warnings
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

import fuzzing
from test_intake import mail, parts_xlsx, write
from xf_excel.config import parse_config
from xf_excel.outputs.feedback import feedback_name
from xf_excel.filenames import MAX_NAME_BYTES
from xf_excel.intake.collect import sanitize_filename
from xf_excel.pipeline import brief, consolidate_period, intake_inbox, write_master_workbook

ROOT = Path(__file__).resolve().parent.parent
HYPERLINK = '=HYPERLINK("http://x","点我")'
COMMAND = "=cmd|' /C calc'!A0"
PAYLOADS = (HYPERLINK, COMMAND, "@SUM(1)", "+1+1", "-2+3", "#DIV/0!")
FORGED = "南宁市\n| 伪造 | 999 | 99% | 1 |\n<script>alert(1)</script>"
RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
ACCEPTED, REJECTED, ODD = "450105", "450108", "450107"


def _poison_details(rows: dict[str, list[dict]]) -> None:
    """Hostile text in the detail sheet's free-text columns (every row gets one)."""
    texts = (COMMAND, "@SUM(1)", "#DIV/0!", FORGED, "+1+1", "-2+3")
    for number, row in enumerate(rows["专柜明细"]):
        row["专柜名称"] = texts[number % len(texts)]
        row["详细地址"] = texts[(number + 1) % len(texts)]


def _not_returns() -> list[tuple[str, bytes]]:
    """Workbooks that are no return, under names that are devices or paths (feedback is
    then named after the received file)."""
    return [(name, parts_xlsx(f'<row r="1"><c r="A1" t="inlineStr"><is><t>{i}</t></is></c></row>'))
            for i, name in enumerate(["CON.xlsx", "..\\..\\AUX.xlsx", "a/b/NUL.xlsx", "COM1.tar.xlsx", "x.xlsx"])]


@pytest.fixture(scope="module")
def hostile_week(tmp_path_factory, config):
    """One period through the pipeline: (folder, intake report, master path, briefing)."""
    tmp = tmp_path_factory.mktemp("outputs")
    inbox, forms = tmp / "inbox", tmp / "forms"
    write(inbox, "accepted.xlsx", fuzzing.filled_return(config, ACCEPTED, forms, header={"填报人": HYPERLINK},
                                                         edit=_poison_details))
    write(inbox, "rejected.xlsx", fuzzing.filled_return(config, REJECTED, forms, header={"填报人": "@SUM(1)"},
                                                         values={"建成专柜数": HYPERLINK, "运营专柜数": "#DIV/0!"}))
    write(inbox, "odd.xlsx", fuzzing.filled_return(config, ODD, forms, header={"填报人": "-2+3"},
                                                    values={"建成专柜数": "+1+1", "专柜累计销售额": COMMAND}))
    write(inbox, "devices.eml", mail(_not_returns()))
    write(inbox, "other/x.xlsx", parts_xlsx('<row r="1"><c r="A1"><v>2</v></c></row>'))
    report = intake_inbox(config, inbox, 2, tmp / "xf.sqlite", tmp / "退回")
    consolidation = consolidate_period(config, 2, tmp / "xf.sqlite")
    master = write_master_workbook(consolidation, tmp / "汇总_第2期.xlsx")
    return tmp, report, master, brief(consolidation, tmp / "简报")


def test_the_hostile_returns_went_where_they_should(hostile_week):
    _, report, _, _ = hostile_week
    by_file = {f.display: f for f in report.files}
    assert by_file["accepted.xlsx"].status in ("accepted", "warned")
    assert by_file["rejected.xlsx"].status == "rejected" and by_file["odd.xlsx"].status == "rejected"
    assert by_file["rejected.xlsx"].feedback and by_file["odd.xlsx"].feedback


def _cells(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")           # openpyxl drops the master's data-bar extension: not cells
        book = load_workbook(path)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.value is not None:
                    yield sheet.title, cell


def _sheet_parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {n: archive.read(n) for n in archive.namelist() if n.startswith("xl/worksheets/sheet")}


def _assert_inert(paths: list[Path], expected: tuple[str, ...]) -> None:
    texts = set()
    for path in paths:
        for sheet, cell in _cells(path):
            assert cell.data_type not in ("f", "e"), (path.name, sheet, cell.coordinate, cell.value)
            if isinstance(cell.value, str):
                assert cell.data_type in ("s", "inlineStr"), (path.name, sheet, cell.coordinate)
                texts.add(cell.value)
        for part, xml in _sheet_parts(path).items():      # the same, on the cells' bytes any reader sees
            cells = b"".join(re.findall(rb"<(?:\w+:)?sheetData\b.*?</(?:\w+:)?sheetData>", xml, re.S))
            assert not re.search(rb"<(?:\w+:)?f[\s>/]", cells), (path.name, part)
            assert not re.search(rb"""\bt=["']e["']""", cells), (path.name, part)
    missing = [p for p in expected if not any(p in text for text in texts)]
    assert missing == [], "the hostile strings should be there, as text"


def test_feedback_workbooks_hold_received_strings_as_text_never_formulas(hostile_week):
    tmp, report, _, _ = hostile_week
    written = sorted({f.feedback for f in report.files if f.feedback})
    assert len(written) >= 3
    _assert_inert(written, PAYLOADS)


def test_the_master_workbook_holds_received_strings_as_text_never_formulas(hostile_week):
    _, _, master, _ = hostile_week
    # received strings reach the master through the 校验问题 sheet (值, 说明)
    _assert_inert([master], (HYPERLINK, "#DIV/0!", "+1+1", COMMAND))


def test_written_file_names_are_safe_on_windows(hostile_week):
    tmp, report, master, briefing = hostile_week
    written = [f.feedback for f in report.files if f.feedback] + [master, *briefing.paths]
    for path in written:
        name = path.name
        assert path.parent in (tmp / "退回", tmp, tmp / "简报"), path
        assert not re.search(r'[\\/:*?"<>|\x00-\x1f]', name), name
        assert name.split(".")[0].strip().upper() not in RESERVED, name
        assert len(name) <= 130, name
    names = {f.display: f.feedback.name for f in report.files if f.feedback}
    assert names["devices.eml › _CON.xlsx"] == "退回__CON.xlsx"


def test_distinct_received_files_get_distinct_feedback_workbooks(hostile_week):
    """Two returns with the same base name in one batch never share a feedback workbook."""
    _, report, _, _ = hostile_week
    feedback = [f.feedback for f in report.files if f.feedback]
    assert len(feedback) == len(set(feedback))


# ---- file names, for any name ------------------------------------------------------------------

_NAMES = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300) | st.sampled_from(
    ["CON", "con.xlsx", "NUL.tar.gz", "..\\..\\COM1.xlsx", "/etc/passwd", "\\\\host\\share\\LPT9", " . ", "报" * 300])


@settings(max_examples=300, deadline=None)
@given(raw=_NAMES)
def test_any_received_name_becomes_a_safe_name(raw):
    name = sanitize_filename(raw)
    assert name and not re.search(r'[\\/:*?"<>|\x00-\x1f]', name)
    assert name.split(".")[0].strip().upper() not in RESERVED
    assert len(name.encode("utf-8")) <= MAX_NAME_BYTES and name == name.strip(" .")
    prefixed = feedback_name(None, 2, name, rejected=True)
    assert not re.search(r'[\\/:*?"<>|\x00-\x1f]', prefixed) and prefixed.startswith("退回_")


@settings(max_examples=50, deadline=None)
@given(raw=st.text(st.sampled_from("报表数据南宁市"), min_size=80, max_size=300).map(lambda s: s + ".xlsx"))
def test_any_received_name_fits_a_file_system_entry(raw):
    """Names are bounded in UTF-8 bytes (Linux allows 255), not characters."""
    name = feedback_name(None, 2, sanitize_filename(raw), rejected=True)
    assert len(name.encode("utf-8")) <= 255


def test_a_long_chinese_attachment_name_does_not_stop_the_intake(tmp_path, config):
    write(tmp_path / "inbox", "long.eml", mail([("报" * 200 + ".xlsx", parts_xlsx())]))
    report = intake_inbox(config, tmp_path / "inbox", 2, tmp_path / "xf.sqlite", tmp_path / "退回")
    (outcome,) = report.files
    assert outcome.feedback is not None and outcome.feedback.exists()


# ---- the briefing, with names that try to forge Markdown ----------------------------------------

@pytest.fixture(scope="module")
def forged_briefing(tmp_path_factory):
    """The briefing of a campaign whose city and county names carry a line break, `|`,
    Markdown emphasis and HTML (as a careless or hostile edit of config.yaml would)."""
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    text = text.replace('{code: "450100", name: 南宁市}', '{code: "450100", name: "' + FORGED.replace("\n", "\\n")
                        + '"}')
    text = text.replace("name: 兴宁区,", 'name: "兴宁区*强调*<b>粗</b>\\n| x |",')
    config = parse_config(text)
    assert config.city_names["450100"] == FORGED
    tmp = tmp_path_factory.mktemp("forged")
    for code in (ACCEPTED, REJECTED):
        write(tmp / "inbox", f"{code}.xlsx", fuzzing.filled_return(config, code, tmp / "forms"))
    report = intake_inbox(config, tmp / "inbox", 2, tmp / "xf.sqlite", tmp / "退回")
    assert {f.status for f in report.files} <= {"accepted", "warned"}
    return brief(consolidate_period(config, 2, tmp / "xf.sqlite"), tmp / "简报")


def _unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def test_markdown_briefing_has_no_forged_row_and_no_raw_html(forged_briefing):
    markdown = forged_briefing.markdown.read_text(encoding="utf-8-sig")
    assert "伪造" in markdown                                      # the name is shown …
    table = [line for line in markdown.splitlines() if line.startswith("|")]
    assert table and all(_unescaped_pipes(line) == 5 for line in table), table
    assert not [line for line in markdown.splitlines() if "伪造" in line and not re.search(r"\\\|\s*伪造", line)]
    assert not re.search(r"(?<!\\)<[A-Za-z/!?]", markdown)          # … and no tag is live
    assert "兴宁区\\*强调\\*" in markdown                         # a county that did not report, listed


def test_word_briefing_holds_the_names_as_text(forged_briefing):
    with zipfile.ZipFile(forged_briefing.docx) as archive:
        document = archive.read("word/document.xml").decode("utf-8")
    assert "&lt;script&gt;" in document and "<script>" not in document
    assert "伪造" in document
