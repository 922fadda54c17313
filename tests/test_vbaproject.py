"""Tests for the compound file writer and the VBA project builder.

Every container is checked with independent readers: ``olefile`` (strict
mode) for the compound file, oletools' ``decompress_stream`` and
``VBA_Parser`` (olevba) for the VBA structures.
"""

from __future__ import annotations

import importlib.util
import io
import random
import re
import struct
import zipfile
from pathlib import Path

import olefile
import pytest
import xlsxwriter
from hypothesis import given, settings
from hypothesis import strategies as st
from oletools.olevba import VBA_Parser, decompress_stream

from checkers import vba_project
from xf_excel.fronts.excel.cfb import build_compound_file
from xf_excel.fronts.excel.vbaproject import (
    OFFICE_PLATFORMS,
    ModuleKind,
    VbaModule,
    build_vba_project,
    class_module,
    compress,
    decompress,
    document_module,
    load_modules,
    standard_module,
    xlwings_vba_modules,
)

STRICT = olefile.DEFECT_INCORRECT  # raise on anything [MS-CFB] calls incorrect
NOSTREAM = 0xFFFFFFFF


# ---------------------------------------------------------------------------
# Helpers


def ole_open(data: bytes) -> olefile.OleFileIO:
    return olefile.OleFileIO(data, raise_defects=STRICT)


def oletools_decompress(data: bytes) -> bytes:
    return bytes(decompress_stream(bytearray(data)))


def assert_round_trip(data: bytes) -> None:
    """Both decompressors restore ``data``; a raw last chunk may add NUL padding."""
    packed = compress(data)
    restored = decompress(packed)
    assert oletools_decompress(packed) == restored
    tail = len(data) % 4096
    if tail == 0 or tail <= 3640:  # 3640 literals + 455 flag bytes still fit a chunk
        assert restored == data
    else:
        assert restored[: len(data)] == data
        assert restored[len(data) :] == bytes(len(restored) - len(data))


def random_bytes(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def storage_streams(tree: dict, prefix: str = "") -> dict[str, bytes]:
    """Flatten a tree into {'a/b/c': bytes}."""
    flat: dict[str, bytes] = {}
    for name, value in tree.items():
        path = f"{prefix}{name}"
        if isinstance(value, dict):
            flat.update(storage_streams(value, path + "/"))
        else:
            flat[path] = value
    return flat


def assert_same_content(data: bytes, tree: dict) -> None:
    ole = ole_open(data)
    expected = storage_streams(tree)
    listed = {"/".join(parts) for parts in ole.listdir(streams=True, storages=False)}
    assert listed == set(expected)
    for path, content in expected.items():
        assert ole.get_size(path) == len(content)
        assert ole.openstream(path).read() == content


def assert_red_black_trees(data: bytes) -> None:
    """Each storage's children form an ordered, valid red-black tree."""
    ole = ole_open(data)
    entries = ole.direntries

    def key(sid: int) -> tuple[int, str]:
        name = entries[sid].name
        return (len(name), name.upper())

    def black_height(sid: int, parent_red: bool) -> int:
        if sid == NOSTREAM:
            return 1
        entry = entries[sid]
        red = entry.color == 0
        assert not (red and parent_red), f"red entry {entry.name!r} under a red parent"
        for child, smaller in ((entry.sid_left, True), (entry.sid_right, False)):
            if child != NOSTREAM:
                assert (key(child) < key(sid)) == smaller, "sibling tree out of order"
        left = black_height(entry.sid_left, red)
        assert left == black_height(entry.sid_right, red), f"unbalanced at {entry.name!r}"
        return left + (0 if red else 1)

    for entry in entries:
        if entry is not None and entry.entry_type in (olefile.STGTY_ROOT, olefile.STGTY_STORAGE):
            if entry.sid_child != NOSTREAM:
                assert entries[entry.sid_child].color == 1, "sibling tree root must be black"
                black_height(entry.sid_child, parent_red=False)


def dir_records(dir_stream: bytes) -> list[tuple[int, bytes]]:
    """Split an uncompressed VBA ``dir`` stream into (id, payload) records."""
    records = []
    pos = 0
    while pos < len(dir_stream):
        record_id, size = struct.unpack_from("<HI", dir_stream, pos)
        if record_id == 0x0009:  # PROJECTVERSION: Reserved=4 then major u32 + minor u16
            size = 6
        records.append((record_id, dir_stream[pos + 6 : pos + 6 + size]))
        pos += 6 + size
    assert pos == len(dir_stream)
    return records


def ovba_decrypt(hex_text: str) -> tuple[int, int, bytes]:
    """MS-OVBA 2.4.3.3 decryption, written independently: (version, key, data)."""
    raw = bytes.fromhex(hex_text)
    seed, version_enc, key_enc = raw[0], raw[1], raw[2]
    key = seed ^ key_enc
    unencrypted_1, encrypted_1, encrypted_2 = key, key_enc, version_enc
    plain = bytearray()
    for byte in raw[3:]:
        value = byte ^ ((encrypted_2 + unencrypted_1) & 0xFF)
        plain.append(value)
        encrypted_2, encrypted_1, unencrypted_1 = encrypted_1, byte, value
    plain = plain[(seed & 6) // 2 :]
    length = int.from_bytes(plain[:4], "little")
    assert length == len(plain) - 4
    return seed ^ version_enc, key, bytes(plain[4:])


def olevba_sources(data: bytes, filename: str = "vbaProject.bin") -> dict[str, str]:
    parser = VBA_Parser(filename, data=data)
    try:
        return {stream_path: code for _, stream_path, _, code in parser.extract_macros()}
    finally:
        parser.close()


# ---------------------------------------------------------------------------
# Compression


ascii_text = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127), max_size=6000)
repeated_text = st.lists(
    st.tuples(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=12), st.integers(1, 900)),
    max_size=12,
).map(lambda parts: "".join(piece * count for piece, count in parts))
vba_like_text = st.lists(st.one_of(ascii_text, repeated_text), max_size=5).map("".join)


@settings(deadline=None, max_examples=150)
@given(vba_like_text)
def test_compression_round_trips_ascii_text(text: str) -> None:
    assert_round_trip(text.encode("ascii"))


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4095, 4096, 4097, 8192, 8193, 20000])
def test_compression_round_trips_boundary_sizes(size: int) -> None:
    text = "".join(f"Sub S{i}()\r\n    x = {i}\r\nEnd Sub\r\n" for i in range(size // 20 + 1))
    assert_round_trip(text.encode("ascii")[:size])


def test_empty_input_is_just_the_signature_byte() -> None:
    assert compress(b"") == b"\x01"
    assert decompress(b"\x01") == b""


def test_specification_examples() -> None:
    # MS-OVBA 3.2.1 (no compression) and 3.2.3 (maximum compression): exact bytes.
    assert compress(b"abcdefghijklmnopqrstuv.") == bytes.fromhex(
        "0119B000616263646566676800696A6B6C6D6E6F70007172737475762E"
    )
    assert compress(b"a" * 73) == bytes.fromhex("0103B002614500")
    # 3.2.2 (normal compression): the spec's bytes decompress to the spec's text.
    spec_compressed = bytes.fromhex(
        "012FB000236161616263646582660070616768696A013808616B6C00306D6E6F70"
        "0671027004107273747576107778797A003C"
    )
    text = b"#aaabcdefaaaaghijaaaaaklaaamnopqaaaaaaaaaaaarstuvwxyzaaa"
    assert decompress(spec_compressed) == text
    assert decompress(compress(text)) == text


def test_long_repeats_use_full_length_copy_tokens() -> None:
    # With the ms-ovba 0.0.1 "0xFFFF << bits" bug, max lengths are wrong and
    # a 4096-byte run would not collapse to a handful of tokens.
    packed = compress(b"=" * 4096 * 3)
    assert len(packed) < 40
    assert decompress(packed) == b"=" * 4096 * 3


def test_incompressible_full_chunks_are_stored_raw_and_exact() -> None:
    data = random_bytes(4096 * 2 + 100, seed=1)
    packed = compress(data)
    assert packed[1:3] == b"\xff\x3f"  # raw chunk header: size 4098, flag 0
    assert decompress(packed) == data
    assert oletools_decompress(packed) == data


def test_incompressible_partial_last_chunk_is_padded_as_the_spec_says() -> None:
    data = random_bytes(4000, seed=2)
    restored = decompress(compress(data))
    assert restored == data + bytes(96)


def test_decompress_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        decompress(b"\x02\x00")
    with pytest.raises(ValueError, match="before the start"):
        decompress(b"\x01\x03\xb0\x01\x00\x70")  # copy token at position 0


# ---------------------------------------------------------------------------
# Compound file writer


def test_small_compound_file_parses_strictly() -> None:
    tree = {
        "PROJECT": b"ID=1\r\n",
        "Empty": b"",
        "VBA": {"dir": b"d" * 100, "Big": random_bytes(5000, seed=3), "Sub": {"Deep": b"x" * 64}},
    }
    data = build_compound_file(tree)
    assert data[:8] == bytes.fromhex("D0CF11E0A1B11AE1")
    assert len(data) % 512 == 0
    assert_same_content(data, tree)
    assert_red_black_trees(data)


def test_large_compound_file_with_many_streams() -> None:
    sizes = [0, 1, 63, 64, 65, 511, 512, 513, 4095, 4096, 4097, 9000, 30000, 70000]
    tree = {
        "Root1": random_bytes(120_000, seed=4),
        "A": {f"S{i:02d}": random_bytes(size, seed=i) for i, size in enumerate(sizes)},
        "B": {f"Stream{i}": random_bytes(100 + 97 * i, seed=100 + i) for i in range(40)},
        "C": {"Nested": {f"N{i}": random_bytes(3000 * i, seed=200 + i) for i in range(1, 6)}},
    }
    data = build_compound_file(tree)
    assert len(data) > 200 * 1024
    fat_sectors = struct.unpack_from("<I", data, 0x2C)[0]
    assert fat_sectors > 1  # the case ms-ovba 0.0.1 gets wrong
    assert_same_content(data, tree)
    assert_red_black_trees(data)


def test_multi_megabyte_compound_file() -> None:
    tree = {"Huge": random_bytes(3_000_000, seed=5), "Small": b"s" * 10}
    data = build_compound_file(tree)
    assert struct.unpack_from("<I", data, 0x2C)[0] >= 46
    assert_same_content(data, tree)


def test_compound_file_beyond_header_difat_is_refused() -> None:
    with pytest.raises(ValueError, match="too large"):
        build_compound_file({"Huge": bytes(109 * 128 * 512)})


@settings(deadline=None, max_examples=30)
@given(
    st.dictionaries(
        st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789", min_size=1, max_size=31),
        st.integers(0, 9000).map(lambda n: bytes(range(256)) * (n // 256) + bytes(n % 256)),
        max_size=25,
    )
)
def test_random_flat_trees_round_trip(tree: dict[str, bytes]) -> None:
    data = build_compound_file(tree)
    assert_same_content(data, tree)
    assert_red_black_trees(data)


def test_compound_file_is_deterministic() -> None:
    tree = {"A": b"a" * 5000, "B": {"C": b"c"}}
    assert build_compound_file(tree) == build_compound_file(dict(reversed(tree.items())))


@pytest.mark.parametrize(
    "tree",
    [{"Same": b"", "SAME": b""}, {"x" * 32: b""}, {"a/b": b""}, {"": b""}],
)
def test_invalid_entry_names_are_refused(tree: dict) -> None:
    with pytest.raises(ValueError):
        build_compound_file(tree)


# ---------------------------------------------------------------------------
# Modules

XF_MAIN_BAS = (
    'Attribute VB_Name = "XfMain"\r\n'
    "Option Explicit\r\n"
    "\r\n"
    "Sub XfTest()\r\n"
    '    RunPython "import xf_demo; xf_demo.main()"\r\n'
    "End Sub\r\n"
)
# No VB_Name line and LF line endings: the name comes from the file name.
XF_HELPERS_BAS = "Public Function XfAdd(a As Long, b As Long) As Long\n    XfAdd = a + b\nEnd Function\n"
XF_COUNTER_CLS = (
    "VERSION 1.0 CLASS\r\n"
    "BEGIN\r\n"
    "  MultiUse = -1  'True\r\n"
    "END\r\n"
    'Attribute VB_Name = "XfCounter"\r\n'
    "Attribute VB_GlobalNameSpace = False\r\n"
    "Attribute VB_Creatable = False\r\n"
    "Attribute VB_PredeclaredId = False\r\n"
    "Attribute VB_Exposed = True\r\n"
    'Attribute VB_Description = "Counts"\r\n'
    "Private mCount As Long\r\n"
    "Public Sub Bump()\r\n"
    "    mCount = mCount + 1\r\n"
    "End Sub\r\n"
)
XF_COUNTER_STORED = (
    'Attribute VB_Name = "XfCounter"\r\n'
    'Attribute VB_Base = "0{FCFB3D2A-A0FA-1068-A738-08002B3371B5}"\r\n'
    "Attribute VB_GlobalNameSpace = False\r\n"
    "Attribute VB_Creatable = False\r\n"
    "Attribute VB_PredeclaredId = False\r\n"
    "Attribute VB_Exposed = True\r\n"
    "Attribute VB_TemplateDerived = False\r\n"
    "Attribute VB_Customizable = False\r\n"
    'Attribute VB_Description = "Counts"\r\n'
    "Private mCount As Long\r\n"
    "Public Sub Bump()\r\n"
    "    mCount = mCount + 1\r\n"
    "End Sub\r\n"
)
THIS_WORKBOOK_STORED = (
    'Attribute VB_Name = "ThisWorkbook"\r\n'
    'Attribute VB_Base = "0{00020819-0000-0000-C000-000000000046}"\r\n'
    "Attribute VB_GlobalNameSpace = False\r\n"
    "Attribute VB_Creatable = False\r\n"
    "Attribute VB_PredeclaredId = True\r\n"
    "Attribute VB_Exposed = True\r\n"
    "Attribute VB_TemplateDerived = False\r\n"
    "Attribute VB_Customizable = True\r\n"
)


@pytest.fixture
def source_files(tmp_path: Path) -> list[Path]:
    files = {"XfMain.bas": XF_MAIN_BAS, "XfHelpers.bas": XF_HELPERS_BAS, "XfCounter.cls": XF_COUNTER_CLS}
    paths = []
    for name, text in files.items():
        path = tmp_path / name
        path.write_bytes(text.encode("ascii"))
        paths.append(path)
    return paths


@pytest.fixture
def project_modules(source_files: list[Path]) -> list[VbaModule]:
    documents = [document_module("ThisWorkbook"), document_module("Sheet1")]
    return documents + xlwings_vba_modules() + load_modules(source_files)


def test_load_modules_produces_stored_form(source_files: list[Path]) -> None:
    main, helpers, counter = load_modules(source_files)
    assert (main.name, main.kind, main.code) == ("XfMain", ModuleKind.STANDARD, XF_MAIN_BAS)
    assert helpers.name == "XfHelpers"
    assert helpers.code == 'Attribute VB_Name = "XfHelpers"\r\n' + XF_HELPERS_BAS.replace("\n", "\r\n")
    assert (counter.name, counter.kind, counter.code) == ("XfCounter", ModuleKind.CLASS, XF_COUNTER_STORED)
    assert main.origin == str(source_files[0])


def test_document_modules_have_excel_attributes() -> None:
    assert document_module("ThisWorkbook").code == THIS_WORKBOOK_STORED
    sheet = document_module("Sheet1", "Private Sub Worksheet_Activate()\nEnd Sub\n")
    assert sheet.kind is ModuleKind.DOCUMENT
    assert 'Attribute VB_Base = "0{00020820-0000-0000-C000-000000000046}"\r\n' in sheet.code
    assert sheet.code.endswith("Attribute VB_Customizable = True\r\nPrivate Sub Worksheet_Activate()\r\nEnd Sub\r\n")


def test_xlwings_modules_come_from_the_installed_package() -> None:
    modules = xlwings_vba_modules()
    assert [(m.name, m.kind) for m in modules] == [
        ("xlwings", ModuleKind.STANDARD),
        ("Dictionary", ModuleKind.CLASS),
        ("Remote", ModuleKind.STANDARD),
        ("WebHelpers", ModuleKind.STANDARD),
        ("IWebAuthenticator", ModuleKind.CLASS),
        ("WebClient", ModuleKind.CLASS),
        ("WebRequest", ModuleKind.CLASS),
        ("WebResponse", ModuleKind.CLASS),
    ]
    code = {m.name: m.code for m in modules}
    assert re.search(r"^(Public )?Function RunPython\(", code["xlwings"], re.MULTILINE)
    assert re.search(r"^(Public )?Function RunServerPython\(", code["Remote"], re.MULTILINE)
    assert not code["Dictionary"].startswith("VERSION")
    assert [m.name for m in xlwings_vba_modules(remote=False)] == ["xlwings", "Dictionary"]


def test_non_ascii_file_is_refused_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "Bad.bas"
    path.write_text('Attribute VB_Name = "Bad"\r\nSub A()\r\n    MsgBox "caf\u00e9"\r\nEnd Sub\r\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"Bad\.bas, line 3: non-ASCII"):
        load_modules([path])


def test_non_ascii_code_is_refused_with_module_and_line() -> None:
    with pytest.raises(ValueError, match=r"module Greek, line 2: non-ASCII"):
        standard_module("Greek", "Sub A()\n' \u03b1\nEnd Sub\n")


def test_bad_project_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        build_vba_project([standard_module("Same", ""), class_module("SAME", "")])
    with pytest.raises(ValueError, match="invalid module name"):
        standard_module("1bad", "")
    with pytest.raises(ValueError, match="reserved"):
        build_vba_project([standard_module("dir", "")])


# ---------------------------------------------------------------------------
# Whole project


def test_project_container_and_streams(project_modules: list[VbaModule]) -> None:
    data = build_vba_project(project_modules)
    assert build_vba_project(project_modules) == data  # reproducible
    ole = ole_open(data)
    streams = {"/".join(parts) for parts in ole.listdir()}
    assert streams == {"PROJECT", "PROJECTwm", "VBA/_VBA_PROJECT", "VBA/dir"} | {
        f"VBA/{m.name}" for m in project_modules
    }
    assert_red_black_trees(data)

    vba_project = ole.openstream("VBA/_VBA_PROJECT").read()
    assert struct.unpack_from("<HH", vba_project) == (0x61CC, 0xFFFF)  # source only

    for module in project_modules:  # MODULEOFFSET 0: the whole stream is compressed source
        stream = ole.openstream(f"VBA/{module.name}").read()
        assert oletools_decompress(stream) == module.code.encode("ascii")


def test_dir_stream_describes_every_module(project_modules: list[VbaModule]) -> None:
    ole = ole_open(build_vba_project(project_modules, project_name="XfProject"))
    records = dir_records(oletools_decompress(ole.openstream("VBA/dir").read()))
    by_id = {}
    for record_id, payload in records:
        by_id.setdefault(record_id, []).append(payload)
    assert by_id[0x0003] == [struct.pack("<H", 1252)]
    assert by_id[0x0004] == [b"XfProject"]
    assert by_id[0x000F] == [struct.pack("<H", len(project_modules))]
    assert by_id[0x0019] == [m.name.encode() for m in project_modules]
    assert by_id[0x001A] == [m.name.encode() for m in project_modules]
    assert by_id[0x0031] == [bytes(4)] * len(project_modules)  # MODULEOFFSET 0
    types = [rid for rid, _ in records if rid in (0x21, 0x22)]
    assert types == [0x21 if m.kind is ModuleKind.STANDARD else 0x22 for m in project_modules]
    assert records[-1] == (0x0010, b"")


XLWINGS_ADDINS = {"win64": "addin/xlwings.xlam", "win32": "quickstart_addin.xlam"}  # SYSKIND 3 and 1


@pytest.mark.parametrize("platform", ["win64", "win32"])
def test_references_are_the_bytes_excel_wrote_in_xlwings_addins(project_modules, platform) -> None:
    """stdole and Office, as Excel of that bitness writes them: the reference records of the
    add-ins xlwings ships (Excel-saved files) are compared byte for byte."""
    dir_data = vba_project.dir_stream(build_vba_project(project_modules, platform=platform))
    ours = {ref.name: ref for ref in vba_project.references(dir_data)}
    assert list(ours) == ["stdole", "Office"]
    assert vba_project.syskind(dir_data) == OFFICE_PLATFORMS[platform].syskind
    addin = Path(importlib.util.find_spec("xlwings").origin).parent / XLWINGS_ADDINS[platform]
    addin_dir = vba_project.dir_stream(vba_project.vba_project_bytes(addin))
    assert vba_project.syskind(addin_dir) == OFFICE_PLATFORMS[platform].syskind
    theirs = {ref.name: ref for ref in vba_project.references(addin_dir)}
    assert ours["Office"].raw == theirs["Office"].raw
    assert ours["Office"].libid.startswith("*\\G{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}#2.0#0#")
    if "stdole" in theirs:  # the 32-bit quickstart add-in does not reference stdole
        assert ours["stdole"].raw == theirs["stdole"].raw


def test_project_stream_and_projectwm(project_modules: list[VbaModule]) -> None:
    ole = ole_open(build_vba_project(project_modules))
    lines = ole.openstream("PROJECT").read().decode("ascii").split("\r\n")
    assert lines[-1] == ""  # every line ends in CRLF
    project_id = re.fullmatch(r'ID="(\{[0-9A-F-]{36}\})"', lines[0]).group(1)
    assert lines[1:4] == ["Document=ThisWorkbook/&H00000000", "Document=Sheet1/&H00000000", "Module=xlwings"]
    assert "Class=Dictionary" in lines and "Class=XfCounter" in lines and "Module=XfMain" in lines
    assert 'Name="VBAProject"' in lines
    assert "[Host Extender Info]" in lines and "[Workspace]" in lines
    fields = dict(line.split("=", 1) for line in lines if line.startswith(("CMG=", "DPB=", "GC=")))
    expected = {"CMG": bytes(4), "DPB": b"\x00", "GC": b"\xff"}  # unprotected, no password, visible
    for name, plain in expected.items():
        version, key, data = ovba_decrypt(fields[name].strip('"'))
        assert (version, key, data) == (2, sum(project_id.encode()) & 0xFF, plain)

    wm = ole.openstream("PROJECTwm").read()
    expected_wm = b"".join(m.name.encode() + b"\0" + m.name.encode("utf-16-le") + b"\0\0" for m in project_modules)
    assert wm == expected_wm + b"\0\0"


def test_olevba_reads_every_module_byte_exact(project_modules: list[VbaModule]) -> None:
    sources = olevba_sources(build_vba_project(project_modules))
    assert set(sources) == {f"VBA/{m.name}" for m in project_modules}
    for module in project_modules:
        assert sources[f"VBA/{module.name}"] == module.code, module.name


def test_xlwings_source_is_embedded_unchanged(project_modules: list[VbaModule]) -> None:
    sources = olevba_sources(build_vba_project(project_modules))
    installed = Path(importlib.util.find_spec("xlwings").origin).parent
    assert sources["VBA/xlwings"] == (installed / "xlwings.bas").read_bytes().decode("ascii")
    assert sources["VBA/WebHelpers"] == (installed / "addin" / "WebHelpers.bas").read_bytes().decode("ascii")
    dictionary_file = (installed / "addin" / "Dictionary.cls").read_bytes().decode("ascii")
    body = dictionary_file.split("Attribute VB_Exposed = True\r\n", 1)[1]
    assert sources["VBA/Dictionary"].endswith(body)


def test_xlsm_built_with_xlsxwriter_contains_the_macros(
    tmp_path: Path, project_modules: list[VbaModule]
) -> None:
    vba_bin = build_vba_project(project_modules)
    path = tmp_path / "xf_test.xlsm"
    workbook = xlsxwriter.Workbook(str(path))
    worksheet = workbook.add_worksheet()
    workbook.set_vba_name("ThisWorkbook")
    worksheet.set_vba_name("Sheet1")
    worksheet.insert_button("B3", {"macro": "XfTest", "caption": "test"})
    assert workbook.add_vba_project(io.BytesIO(vba_bin), is_stream=True) == 0
    workbook.close()

    with zipfile.ZipFile(path) as archive:
        assert archive.read("xl/vbaProject.bin") == vba_bin
        assert 'codeName="ThisWorkbook"' in archive.read("xl/workbook.xml").decode()
        assert 'codeName="Sheet1"' in archive.read("xl/worksheets/sheet1.xml").decode()
        vml = next(n for n in archive.namelist() if n.startswith("xl/drawings/vmlDrawing"))
        assert "[0]!XfTest" in archive.read(vml).decode()
        assert "macroEnabled" in archive.read("[Content_Types].xml").decode()

    parser = VBA_Parser(str(path))
    try:
        assert parser.detect_vba_macros()
        sources = {stream: code for _, stream, _, code in parser.extract_macros()}
    finally:
        parser.close()
    assert re.search(r"^Sub XfTest\(\)", sources["VBA/XfMain"], re.MULTILINE)
    assert re.search(r"^(Public )?Function RunPython\(", sources["VBA/xlwings"], re.MULTILINE)
    assert re.search(r"^(Public )?Function RunServerPython\(", sources["VBA/Remote"], re.MULTILINE)
    assert sources["VBA/ThisWorkbook"] == THIS_WORKBOOK_STORED
