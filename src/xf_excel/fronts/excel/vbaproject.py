"""Build an Excel ``vbaProject.bin`` from VBA source text, without Excel.

The result is a *source-only* VBA project ([MS-OVBA]): every module stream
holds just the compressed source (MODULEOFFSET 0) and ``_VBA_PROJECT``
declares version 0xFFFF, which tells Office to ignore any compiled cache and
recompile from source when the workbook is opened.  XlsxWriter embeds the
bytes with ``workbook.add_vba_project(io.BytesIO(data), is_stream=True)``.

Layout written (a compound file, see :mod:`xf_excel.cfb`)::

    PROJECT          text: module list, name, protection fields
    PROJECTwm        module names in MBCS and UTF-16
    VBA/_VBA_PROJECT version header, 0xFFFF = source only
    VBA/dir          compressed project information, the references (stdole and
                     Office, as Excel writes them) and the module records
    VBA/<module>     compressed source of each module

Source must be ASCII: the project is declared as code page 1252, and ASCII
is the subset where that choice cannot change the meaning of any byte.
"""

from __future__ import annotations

import enum
import importlib.util
import re
import struct
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .cfb import build_compound_file

__all__ = [
    "OFFICE_PLATFORMS",
    "ModuleKind",
    "OfficePlatform",
    "Reference",
    "VbaModule",
    "build_vba_project",
    "class_module",
    "compress",
    "decompress",
    "document_module",
    "load_modules",
    "standard_module",
    "xlwings_vba_modules",
]

CODE_PAGE = 1252
LCID_US_ENGLISH = 0x0409
VBA_PROJECT_SOURCE_ONLY = bytes.fromhex("CC61FFFF000100")  # reserved 0x61CC, version 0xFFFF, 0x00, 0x0001
VISIBLE = b"\xff"  # ProjectVisibilityState: project shown in the VBE
HOST_EXTENDER = "&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000"


@dataclass(frozen=True)
class Reference:
    """A type library the project references (MS-OVBA 2.3.4.2.2: REFERENCENAME followed by
    REFERENCEREGISTERED). VBA and the host's own library (Excel) are implicit and never listed.

    ``libid`` is the LibidReference string (2.1.1.8): ``*\\G{GUID}#major.minor#lcid#path#description``.
    Office binds a reference by GUID and version through the registry; the path and the
    description are what the saving machine had, so they follow the platform written."""

    name: str
    libid: str


@dataclass(frozen=True)
class OfficePlatform:
    """SYSKIND and the references as Excel of that bitness writes them (the bytes of
    xlwings' own add-ins: ``addin/xlwings.xlam`` for 64-bit, ``quickstart_addin.xlam`` for 32-bit)."""

    syskind: int
    references: tuple[Reference, ...]


_STDOLE = "*\\G{00020430-0000-0000-C000-000000000046}#2.0#0#C:\\Windows\\%s\\stdole2.tlb#OLE Automation"
# The Microsoft Office 16.0 Object Library (MSO.DLL): Remote.bas (RunServerPython) uses its msoPicture.
_OFFICE = ("*\\G{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}#2.0#0#C:\\%s\\Common Files\\Microsoft Shared"
           "\\OFFICE16\\MSO.DLL#Microsoft Office 16.0 Object Library")
OFFICE_PLATFORMS = {
    # SYSKIND 3 as in xlwings' add-in and quickstart_standalone.xlsm; Office recompiles
    # source-only projects and rebinds references by GUID, so one file serves both bitnesses.
    "win64": OfficePlatform(3, (Reference("stdole", _STDOLE % "System32"), Reference("Office", _OFFICE % "Program Files"))),
    # 32-bit Office on 64-bit Windows, as Excel writes it there
    "win32": OfficePlatform(1, (Reference("stdole", _STDOLE % "SysWOW64"),
                                Reference("Office", _OFFICE % "Program Files (x86)"))),
}

# VB_Base class IDs Excel writes into the stored source of each module kind.
CLASS_BASE = "0{FCFB3D2A-A0FA-1068-A738-08002B3371B5}"
WORKBOOK_BASE = "0{00020819-0000-0000-C000-000000000046}"
WORKSHEET_BASE = "0{00020820-0000-0000-C000-000000000046}"

IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,30}\Z")
ATTRIBUTE_LINE = re.compile(r'Attribute\s+(VB_\w+)\s*=\s*(.*)\Z', re.IGNORECASE)

# Files of the installed xlwings package that make up its standalone VBA
# (the set ``xlwings release`` imports into a workbook).
XLWINGS_CORE_FILES = ("xlwings.bas", "addin/Dictionary.cls")  # RunPython, config, Dictionary
XLWINGS_REMOTE_FILES = (  # RunServerPython / RunRemotePython and the VBA-Web HTTP client
    "addin/Remote.bas",
    "addin/WebHelpers.bas",
    "addin/IWebAuthenticator.cls",
    "addin/WebClient.cls",
    "addin/WebRequest.cls",
    "addin/WebResponse.cls",
)


class ModuleKind(enum.Enum):
    """The three module kinds an Excel project can hold without forms."""

    STANDARD = "standard"  # .bas
    CLASS = "class"  # .cls
    DOCUMENT = "document"  # ThisWorkbook, Sheet1, ... bound to workbook objects


@dataclass(frozen=True)
class VbaModule:
    """One module: its name, kind and *stored* source.

    ``code`` is the text exactly as it is stored in the project, starting
    with the ``Attribute VB_Name`` line; use :func:`standard_module`,
    :func:`class_module`, :func:`document_module` or :func:`load_modules`
    to get it right.  ``origin`` names the source file for error messages.
    """

    name: str
    kind: ModuleKind
    code: str
    origin: str = ""

    def __post_init__(self) -> None:
        _check_identifier(self.name, "module name")
        _check_ascii(self.code, self.origin or f"module {self.name}")


# --------------------------------------------------------------------------
# MS-OVBA compression (2.4.1)

CHUNK_SIZE = 4096
MAX_COMPRESSED_CHUNK_BODY = 4096  # chunk size field is 12 bits: at most 4098 with the header
CHUNK_SIGNATURE = 0b011 << 12
CHUNK_COMPRESSED = 0x8000
MATCH_CANDIDATES = 64  # candidates tried per position; bounds time, not correctness


def compress(data: bytes) -> bytes:
    """Compress ``data`` into an MS-OVBA CompressedContainer.

    Every 4096-byte chunk is compressed independently.  A chunk whose
    compressed form would not fit is stored raw; the format requires raw
    chunks to hold exactly 4096 bytes, so a raw *last* chunk is padded with
    NULs (2.4.1.3.10) and :func:`decompress` then returns those NULs too.
    That only happens for an almost incompressible tail of 3641+ bytes.
    """
    out = bytearray(b"\x01")  # SignatureByte
    for start in range(0, len(data), CHUNK_SIZE):
        out += _compress_chunk(data[start : start + CHUNK_SIZE])
    return bytes(out)


def decompress(container: bytes) -> bytes:
    """Inverse of :func:`compress`; follows MS-OVBA 2.4.1.3.1 strictly."""
    if not container or container[0] != 0x01:
        raise ValueError("not an MS-OVBA compressed container (signature byte != 1)")
    out = bytearray()
    pos = 1
    while pos < len(container):
        if pos + 2 > len(container):
            raise ValueError("truncated chunk header")
        header = int.from_bytes(container[pos : pos + 2], "little")
        if header & 0x7000 != CHUNK_SIGNATURE:
            raise ValueError(f"bad chunk signature at offset {pos}")
        end = min(pos + (header & 0x0FFF) + 3, len(container))
        pos += 2
        if header & CHUNK_COMPRESSED:
            _decompress_tokens(container, pos, end, out)
            pos = end
        else:
            raw = container[pos : pos + CHUNK_SIZE]
            if len(raw) != CHUNK_SIZE:
                raise ValueError("raw chunk shorter than 4096 bytes")
            out += raw
            pos += CHUNK_SIZE
    return bytes(out)


def _compress_chunk(chunk: bytes) -> bytes:
    body = _compress_tokens(chunk)
    if len(body) <= MAX_COMPRESSED_CHUNK_BODY:
        header = CHUNK_COMPRESSED | CHUNK_SIGNATURE | (len(body) + 2 - 3)
        return header.to_bytes(2, "little") + body
    header = CHUNK_SIGNATURE | 0x0FFF  # raw chunk: size field is always 4098 - 3
    return header.to_bytes(2, "little") + chunk.ljust(CHUNK_SIZE, b"\0")


def _compress_tokens(chunk: bytes) -> bytes:
    """Encode one chunk as TokenSequences: a flag byte, then up to 8 tokens."""
    out = bytearray()
    seen: dict[bytes, list[int]] = {}  # 3-byte prefix -> earlier positions
    pos = 0
    while pos < len(chunk):
        flag_at = len(out)
        out.append(0)
        for bit in range(8):
            if pos >= len(chunk):
                break
            offset, length = _longest_match(chunk, pos, seen)
            if length:
                out += _pack_copy_token(pos, offset, length)
                out[flag_at] |= 1 << bit
            else:
                length = 1
                out.append(chunk[pos])
            for covered in range(pos, pos + length):
                seen.setdefault(chunk[covered : covered + 3], []).append(covered)
            pos += length
    return bytes(out)


def _longest_match(chunk: bytes, pos: int, seen: dict[bytes, list[int]]) -> tuple[int, int]:
    """Return (offset, length) of the best earlier match, or (0, 0)."""
    candidates = seen.get(chunk[pos : pos + 3])
    if not candidates or pos + 3 > len(chunk):
        return 0, 0
    limit = min(_max_copy_length(pos), len(chunk) - pos)
    best_offset = best_length = 0
    for start in reversed(candidates[-MATCH_CANDIDATES:]):  # nearest first
        length = 3
        while length < limit and chunk[start + length] == chunk[pos + length]:
            length += 1
        if length > best_length:
            best_offset, best_length = pos - start, length
            if length == limit:
                break
    return best_offset, best_length


def _copy_token_bits(position_in_chunk: int) -> int:
    """Offset bit count for a CopyToken (2.4.1.3.19.1): max(ceil(log2 d), 4)."""
    return max((position_in_chunk - 1).bit_length(), 4)


def _max_copy_length(position_in_chunk: int) -> int:
    # 2.4.1.3.19.1: (0xFFFF >> BitCount) + 3 -- ms-ovba 0.0.1 shifts left here.
    return (0xFFFF >> _copy_token_bits(position_in_chunk)) + 3


def _pack_copy_token(pos: int, offset: int, length: int) -> bytes:
    bits = _copy_token_bits(pos)
    token = ((offset - 1) << (16 - bits)) | (length - 3)
    return token.to_bytes(2, "little")


def _decompress_tokens(container: bytes, pos: int, end: int, out: bytearray) -> None:
    chunk_start = len(out)
    while pos < end:
        flags = container[pos]
        pos += 1
        for bit in range(8):
            if pos >= end:
                break
            if not flags >> bit & 1:
                out.append(container[pos])
                pos += 1
                continue
            if pos + 2 > end:
                raise ValueError("truncated copy token")
            token = int.from_bytes(container[pos : pos + 2], "little")
            pos += 2
            bits = _copy_token_bits(len(out) - chunk_start)
            length = (token & (0xFFFF >> bits)) + 3
            source = len(out) - ((token >> (16 - bits)) + 1)
            if source < chunk_start:
                raise ValueError("copy token reaches before the start of its chunk")
            for index in range(source, source + length):  # may overlap: copy byte by byte
                out.append(out[index])


# --------------------------------------------------------------------------
# Modules


def standard_module(name: str, code: str, origin: str = "") -> VbaModule:
    """A standard (.bas) module; adds the ``Attribute VB_Name`` line if missing."""
    attributes, body = _split_attributes(_prepare(code, origin or f"module {name}"))
    attributes.pop("VB_Name", None)
    header = [f'Attribute VB_Name = "{name}"'] + [f"Attribute {k} = {v}" for k, v in attributes.items()]
    return VbaModule(name, ModuleKind.STANDARD, _join(header, body), origin)


def class_module(name: str, code: str, origin: str = "") -> VbaModule:
    """A class module from exported (.cls) or bare code, in Excel's stored form.

    Exported files start with ``VERSION 1.0 CLASS`` / ``BEGIN`` ... ``END``;
    that block is dropped.  Excel stores classes with the VB_Base,
    VB_TemplateDerived and VB_Customizable attributes, which export omits,
    so they are added with Excel's default values.
    """
    attributes, body = _split_attributes(_strip_class_header(_prepare(code, origin or f"module {name}")))
    defaults = {
        "VB_Base": f'"{CLASS_BASE}"',
        "VB_GlobalNameSpace": "False",
        "VB_Creatable": "False",
        "VB_PredeclaredId": "False",
        "VB_Exposed": "False",
        "VB_TemplateDerived": "False",
        "VB_Customizable": "False",
    }
    return VbaModule(name, ModuleKind.CLASS, _join(_stored_header(name, defaults, attributes), body), origin)


def document_module(name: str, code: str = "", *, workbook: bool | None = None) -> VbaModule:
    """A document module (``ThisWorkbook``, ``Sheet1``...) with Excel's attributes.

    ``workbook`` defaults to ``name == "ThisWorkbook"``; otherwise the module
    is bound to a worksheet.  The name must equal the code name given to
    XlsxWriter's ``set_vba_name``.
    """
    is_workbook = name == "ThisWorkbook" if workbook is None else workbook
    attributes, body = _split_attributes(_prepare(code, f"module {name}"))
    defaults = {
        "VB_Base": f'"{WORKBOOK_BASE if is_workbook else WORKSHEET_BASE}"',
        "VB_GlobalNameSpace": "False",
        "VB_Creatable": "False",
        "VB_PredeclaredId": "True",
        "VB_Exposed": "True",
        "VB_TemplateDerived": "False",
        "VB_Customizable": "True",
    }
    return VbaModule(name, ModuleKind.DOCUMENT, _join(_stored_header(name, defaults, attributes), body))


def load_modules(paths: Iterable[str | Path]) -> list[VbaModule]:
    """Read ``.bas`` (standard) and ``.cls`` (class) files, in the given order.

    The module name is the file's ``Attribute VB_Name`` if present, else the
    file name without suffix.  Non-ASCII content raises :class:`ValueError`
    naming the file and line.
    """
    modules = []
    for path in map(Path, paths):
        text = _read_ascii(path)
        name = _declared_name(text) or path.stem
        if path.suffix.lower() == ".bas":
            modules.append(standard_module(name, text, str(path)))
        elif path.suffix.lower() == ".cls":
            modules.append(class_module(name, text, str(path)))
        else:
            raise ValueError(f"{path}: expected a .bas or .cls file")
    return modules


def xlwings_vba_modules(*, remote: bool = True) -> list[VbaModule]:
    """The VBA modules of the installed xlwings package.

    Always: ``xlwings`` (RunPython, GetConfig, ...) and ``Dictionary``.  With
    ``remote``: ``Remote`` (RunServerPython), ``WebHelpers`` and the classes
    ``IWebAuthenticator``, ``WebClient``, ``WebRequest``, ``WebResponse``.
    Read at call time so the sources always match the installed version.
    """
    spec = importlib.util.find_spec("xlwings")  # locate without importing xlwings
    if spec is None or spec.origin is None:
        raise RuntimeError("xlwings is not installed; it provides the VBA sources")
    root = Path(spec.origin).parent
    files = XLWINGS_CORE_FILES + (XLWINGS_REMOTE_FILES if remote else ())
    missing = [name for name in files if not (root / name).is_file()]
    if missing:
        raise RuntimeError(f"xlwings at {root} lacks VBA files: {', '.join(missing)}")
    return load_modules(root / name for name in files)


def _read_ascii(path: Path) -> str:
    data = path.read_bytes().removeprefix(b"\xef\xbb\xbf")  # editors add BOMs; not part of the code
    _check_ascii(data.decode("utf-8", errors="replace"), str(path))
    return data.decode("ascii")


def _check_ascii(text: str, where: str) -> None:
    match = re.search(r"[^\x00-\x7f]", text)
    if match:
        line = text.count("\n", 0, match.start()) + 1
        raise ValueError(
            f"{where}, line {line}: non-ASCII character {match.group()!r}; "
            "VBA source must be ASCII (the project uses code page 1252)"
        )


def _check_identifier(name: str, what: str) -> None:
    if not IDENTIFIER.match(name):
        raise ValueError(f"invalid {what} {name!r}: use a letter, then letters, digits or _, max 31")


def _prepare(code: str, where: str) -> str:
    """Check the code as given (so line numbers match the caller's text), then normalize."""
    _check_ascii(code, where)
    return _normalize_newlines(code)


def _normalize_newlines(code: str) -> str:
    """VBA stores lines ending in CRLF; accept any convention on input."""
    lines = code.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return "".join(line + "\r\n" for line in lines)


def _strip_class_header(code: str) -> str:
    """Drop the ``VERSION 1.0 CLASS`` + ``BEGIN``...``END`` block of an export."""
    lines = code.split("\r\n")
    if not lines[0].strip().upper().startswith("VERSION "):
        return code
    try:
        end = next(i for i, line in enumerate(lines) if line.strip().upper() == "END")
    except StopIteration:
        raise ValueError("class file has VERSION/BEGIN but no END line") from None
    return "\r\n".join(lines[end + 1 :])


def _split_attributes(code: str) -> tuple[dict[str, str], str]:
    """Split leading ``Attribute VB_x = v`` lines from the rest of the code."""
    attributes: dict[str, str] = {}
    lines = code.split("\r\n")
    index = 0
    while index < len(lines) and (match := ATTRIBUTE_LINE.match(lines[index].strip())):
        attributes[_canonical_attribute(match.group(1))] = match.group(2).strip()
        index += 1
    return attributes, "\r\n".join(lines[index:])


def _canonical_attribute(key: str) -> str:
    known = ("VB_Name", "VB_Base", "VB_GlobalNameSpace", "VB_Creatable", "VB_PredeclaredId",
             "VB_Exposed", "VB_TemplateDerived", "VB_Customizable", "VB_Description")
    return next((k for k in known if k.lower() == key.lower()), key)


def _declared_name(code: str) -> str | None:
    match = re.search(r'^\s*Attribute\s+VB_Name\s*=\s*"([^"]*)"', code, re.IGNORECASE | re.MULTILINE)
    return match.group(1) if match else None


def _stored_header(name: str, defaults: dict[str, str], attributes: dict[str, str]) -> list[str]:
    """Excel's attribute order: VB_Name, the fixed set, then any others."""
    attributes = dict(attributes)
    attributes.pop("VB_Name", None)
    fixed = {key: attributes.pop(key, value) for key, value in defaults.items()}
    lines = [f'Attribute VB_Name = "{name}"']
    lines += [f"Attribute {key} = {value}" for key, value in {**fixed, **attributes}.items()]
    return lines


def _join(header: list[str], body: str) -> str:
    return "".join(line + "\r\n" for line in header) + body


# --------------------------------------------------------------------------
# Project


def build_vba_project(modules: list[VbaModule], project_name: str = "VBAProject", *,
                      platform: str = "win64") -> bytes:
    """Return the bytes of a source-only ``vbaProject.bin`` holding ``modules``.

    Module order is kept.  The project ID is derived from the project name,
    so equal input gives byte-identical output.  ``platform`` (a key of
    ``OFFICE_PLATFORMS``) sets SYSKIND and the references' LibIds.
    """
    _check_identifier(project_name, "project name")
    _check_unique(modules)
    office = OFFICE_PLATFORMS[platform]
    project_id = "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"xf-excel:vba:{project_name}")).upper() + "}"
    vba = {module.name: compress(_mbcs(module.code)) for module in modules}
    vba["_VBA_PROJECT"] = VBA_PROJECT_SOURCE_ONLY
    vba["dir"] = compress(_dir_stream(modules, project_name, office))
    return build_compound_file(
        {
            "PROJECT": _project_stream(modules, project_name, project_id),
            "PROJECTwm": _project_wm_stream(modules),
            "VBA": vba,
        }
    )


def _check_unique(modules: list[VbaModule]) -> None:
    names = [module.name.lower() for module in modules]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"duplicate module names (VBA ignores case): {duplicates}")
    reserved = {"dir", "_vba_project"} & set(names)  # would collide with streams in VBA/
    if reserved:
        raise ValueError(f"module name reserved by the file format: {sorted(reserved)}")


def _mbcs(text: str) -> bytes:
    return text.encode("cp1252")


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-le")


def _record(record_id: int, payload: bytes = b"") -> bytes:
    """A dir stream record: Id (u16), Size (u32), payload."""
    return struct.pack("<HI", record_id, len(payload)) + payload


def _u16(value: int) -> bytes:
    return struct.pack("<H", value)


def _u32(value: int) -> bytes:
    return struct.pack("<I", value)


def _dir_stream(modules: list[VbaModule], project_name: str, office: OfficePlatform) -> bytes:
    """The uncompressed ``VBA/dir`` stream (MS-OVBA 2.3.4.2)."""
    information = b"".join(
        [
            _record(0x0001, _u32(office.syskind)),
            _record(0x0002, _u32(LCID_US_ENGLISH)),
            _record(0x0014, _u32(LCID_US_ENGLISH)),  # LCIDINVOKE
            _record(0x0003, _u16(CODE_PAGE)),
            _record(0x0004, _mbcs(project_name)),
            _record(0x0005) + _record(0x0040),  # doc string, MBCS + UTF-16
            _record(0x0006) + _record(0x003D),  # help file path, twice
            _record(0x0007, _u32(0)),  # help context
            _record(0x0008, _u32(0)),  # lib flags
            struct.pack("<HIIH", 0x0009, 4, 1, 0),  # version: Reserved=4, major, minor
            _record(0x000C) + _record(0x003C),  # conditional compilation constants
        ]
    )
    references = b"".join(_reference_records(reference) for reference in office.references)
    module_records = _record(0x000F, _u16(len(modules))) + _record(0x0013, _u16(0xFFFF))
    module_records += b"".join(_module_record(module) for module in modules)
    terminator = _record(0x0010)  # Id 0x0010 + Reserved u32 0: the bytes of an empty record
    return information + references + module_records + terminator


def _reference_records(reference: Reference) -> bytes:
    """REFERENCENAME (name in MBCS and UTF-16) + REFERENCEREGISTERED (LibId, two reserved zeros)."""
    name = _record(0x0016, _mbcs(reference.name)) + _record(0x003E, _utf16(reference.name))
    libid = reference.libid.encode("ascii")
    return name + _record(0x000D, _u32(len(libid)) + libid + _u32(0) + _u16(0))


def _module_record(module: VbaModule) -> bytes:
    name = _mbcs(module.name)
    module_type = 0x0021 if module.kind is ModuleKind.STANDARD else 0x0022
    return b"".join(
        [
            _record(0x0019, name),
            _record(0x0047, _utf16(module.name)),
            _record(0x001A, name) + _record(0x0032, _utf16(module.name)),  # stream name
            _record(0x001C) + _record(0x0048),  # doc string
            _record(0x0031, _u32(0)),  # MODULEOFFSET: source starts at byte 0
            _record(0x001E, _u32(0)),  # help context
            _record(0x002C, _u16(0xFFFF)),  # cookie
            _record(module_type),  # Id + Reserved u32 0, same bytes as an empty record
            _record(0x002B),  # terminator
        ]
    )


def _project_stream(modules: list[VbaModule], project_name: str, project_id: str) -> bytes:
    """The ``PROJECT`` text stream (MS-OVBA 2.3.1)."""
    lines = [f'ID="{project_id}"']
    for module in modules:
        if module.kind is ModuleKind.DOCUMENT:
            lines.append(f"Document={module.name}/&H00000000")
        elif module.kind is ModuleKind.CLASS:
            lines.append(f"Class={module.name}")
        else:
            lines.append(f"Module={module.name}")
    lines += [
        f'Name="{project_name}"',
        'HelpContextID="0"',
        'VersionCompatible32="393222000"',
        f'CMG="{_encrypt(project_id, _u32(0))}"',  # protection state: none
        f'DPB="{_encrypt(project_id, bytes(1))}"',  # password: none
        f'GC="{_encrypt(project_id, VISIBLE)}"',  # visibility: visible
        "",
        "[Host Extender Info]",
        HOST_EXTENDER,
        "",
        "[Workspace]",
    ]
    lines += [f"{module.name}=0, 0, 0, 0, C" for module in modules]
    return _mbcs("".join(line + "\r\n" for line in lines))


def _project_wm_stream(modules: list[VbaModule]) -> bytes:
    """``PROJECTwm``: each name in MBCS and UTF-16, NUL-terminated (2.3.3)."""
    names = b"".join(_mbcs(m.name) + b"\0" + _utf16(m.name) + b"\0\0" for m in modules)
    return names + b"\0\0"


def _encrypt(project_id: str, data: bytes, seed: int = 0x00) -> str:
    """MS-OVBA 2.4.3.2 data encryption, with a fixed seed for reproducibility.

    Seed 0 means no "ignored" filler bytes ((seed & 6) / 2 == 0).
    """
    version = 2
    project_key = sum(project_id.encode("ascii")) & 0xFF
    out = bytearray([seed, seed ^ version, seed ^ project_key])
    unencrypted_1, encrypted_1, encrypted_2 = project_key, out[2], out[1]
    for byte in bytes((seed & 6) // 2) + _u32(len(data)) + data:
        encrypted = byte ^ ((encrypted_2 + unencrypted_1) & 0xFF)
        out.append(encrypted)
        encrypted_2, encrypted_1, unencrypted_1 = encrypted_1, encrypted, byte
    return out.hex().upper()
