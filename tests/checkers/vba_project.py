"""A built workbook's VBA project read back without the writer's code: the modules through
oletools (what Excel will see: stored form, CRLF, attributes) and the references from the
decompressed `VBA/dir` stream, record by record ([MS-OVBA] 2.3.4.2)."""

from __future__ import annotations

import io
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import olefile
from oletools.olevba import VBA_Parser, decompress_stream

REFERENCE_RECORDS = {0x000D: "registered", 0x000E: "project", 0x002F: "control", 0x0033: "original"}


@dataclass(frozen=True)
class DirReference:
    """One PROJECTREFERENCE: its name, kind, LibId (for a registered one) and its exact bytes."""

    name: str
    kind: str
    libid: str
    raw: bytes


def vba_project_bytes(path: Path) -> bytes:
    """The vbaProject.bin of an .xlsm/.xlam (or the file itself if it is one)."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            name = next(n for n in archive.namelist() if n.lower().endswith("vbaproject.bin"))
            return archive.read(name)
    return Path(path).read_bytes()


def dir_stream(project: bytes) -> bytes:
    ole = olefile.OleFileIO(io.BytesIO(project))
    try:
        return bytes(decompress_stream(bytearray(ole.openstream("VBA/dir").read())))
    finally:
        ole.close()


def dir_records(data: bytes) -> list[tuple[int, bytes, bytes]]:
    """(id, payload, raw bytes) of every record up to the terminator."""
    records, pos = [], 0
    while pos + 6 <= len(data):
        record_id, size = struct.unpack_from("<HI", data, pos)
        if record_id == 0x0009:  # PROJECTVERSION: Reserved=4, then MajorVersion u32 + MinorVersion u16
            size = 6
        records.append((record_id, data[pos + 6 : pos + 6 + size], data[pos : pos + 6 + size]))
        pos += 6 + size
        if record_id == 0x0010:  # dir stream terminator
            break
    return records


def references(data: bytes) -> list[DirReference]:
    """The PROJECTREFERENCES of a dir stream: each REFERENCENAME (0x0016 + 0x003E) starts one."""
    found: list[dict] = []
    for record_id, payload, raw in dir_records(data):
        if record_id == 0x000F:  # PROJECTMODULES: the references are over
            break
        if record_id == 0x0016:
            found.append({"name": payload.decode("cp1252"), "kind": "", "libid": "", "raw": raw})
        elif found and record_id == 0x003E:
            found[-1]["raw"] += raw
        elif found and (record_id in REFERENCE_RECORDS or record_id == 0x0030):
            found[-1]["raw"] += raw
            found[-1]["kind"] = found[-1]["kind"] or REFERENCE_RECORDS.get(record_id, "control")
            if record_id == 0x000D:
                size = struct.unpack_from("<I", payload)[0]
                found[-1]["libid"] = payload[4 : 4 + size].decode("cp1252")
    return [DirReference(**ref) for ref in found]


def syskind(data: bytes) -> int:
    return next(struct.unpack("<I", payload)[0] for rid, payload, _ in dir_records(data) if rid == 0x0001)


def project_references(path: Path) -> list[DirReference]:
    return references(dir_stream(vba_project_bytes(path)))


def stored_modules(path: Path) -> dict[str, str]:
    """Module name -> stored source, as olevba reads it from the file."""
    parser = VBA_Parser(str(path))
    try:
        return {stream.split("/")[-1]: code if isinstance(code, str) else code.decode("cp1252")
                for _, stream, _, code in parser.extract_macros()}
    finally:
        parser.close()
