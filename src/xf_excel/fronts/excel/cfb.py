"""Minimal writer for Compound File Binary files ([MS-CFB], version 3).

A compound file is a small file system inside one file: storages (folders)
hold streams (files) and other storages.  Office uses it for
``vbaProject.bin``.  This module only *writes* such files, from a nested
mapping::

    build_compound_file({"PROJECT": b"...", "VBA": {"dir": b"..."}})

Scope, chosen to stay small and verifiable:

* version 3 layout (512-byte sectors, 64-byte mini sectors);
* streams shorter than 4096 bytes go to the mini stream, the rest to
  regular sectors;
* the FAT may span several sectors, but all of them must be listed in the
  header's 109-entry DIFAT (about 6.8 MB of file); larger input raises
  :class:`ValueError` instead of silently writing a DIFAT chain;
* output is deterministic: CLSIDs, state bits and timestamps are zero, and
  entries are laid out in a fixed order, so equal input gives equal bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Union

__all__ = ["Storage", "build_compound_file"]

#: A storage maps entry names to stream contents (bytes) or sub-storages.
Storage = Mapping[str, Union[bytes, "Storage"]]

SECTOR_SIZE = 512
MINI_SECTOR_SIZE = 64
MINI_STREAM_CUTOFF = 4096
ENTRY_SIZE = 128
IDS_PER_SECTOR = SECTOR_SIZE // 4  # FAT / mini FAT entries per sector
ENTRIES_PER_SECTOR = SECTOR_SIZE // ENTRY_SIZE
HEADER_DIFAT_SLOTS = 109

FREESECT = 0xFFFFFFFF
ENDOFCHAIN = 0xFFFFFFFE
FATSECT = 0xFFFFFFFD
NOSTREAM = 0xFFFFFFFF

TYPE_STORAGE = 1
TYPE_STREAM = 2
TYPE_ROOT = 5
COLOR_RED = 0
COLOR_BLACK = 1

SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")
MAX_NAME_CHARS = 31  # 32 UTF-16 code units including the terminating NUL
FORBIDDEN_NAME_CHARS = set("/\\:!")


@dataclass
class _Entry:
    """One directory entry while the file is being laid out."""

    name: str
    kind: int
    data: bytes = b""
    children: list[int] = field(default_factory=list)
    left: int = NOSTREAM
    right: int = NOSTREAM
    child: int = NOSTREAM
    color: int = COLOR_BLACK
    start: int = ENDOFCHAIN
    size: int = 0


def build_compound_file(root: Storage) -> bytes:
    """Return the bytes of a version-3 compound file holding ``root``.

    ``root`` maps names to ``bytes`` (a stream) or to another mapping (a
    storage).  Names are at most 31 characters, must not contain ``/ \\ : !``
    and must be unique per storage, ignoring case (as [MS-CFB] compares
    names case-insensitively).
    """
    entries = _flatten(root)
    for entry in entries:
        if entry.children:
            entry.child = _link_siblings(entries, entry.children)
    mini_stream, mini_fat = _pack_mini_stream(entries)
    return _write_file(entries, mini_stream, mini_fat)


# --------------------------------------------------------------------------
# Directory tree


def _flatten(root: Storage) -> list[_Entry]:
    """List all entries, root first, each storage's children in CFB order."""
    entries = [_Entry("Root Entry", TYPE_ROOT)]
    _add_children(entries, 0, root)
    return entries


def _add_children(entries: list[_Entry], parent: int, storage: Storage) -> None:
    names = list(storage)
    for name in names:
        _check_name(name)
    folded = [name.upper() for name in names]
    if len(set(folded)) != len(folded):
        raise ValueError(f"duplicate entry names (ignoring case): {sorted(names)}")
    for name in sorted(names, key=_name_order):
        value = storage[name]
        index = len(entries)
        entries[parent].children.append(index)
        if isinstance(value, Mapping):
            entries.append(_Entry(name, TYPE_STORAGE))
            _add_children(entries, index, value)
        elif isinstance(value, (bytes, bytearray, memoryview)):
            data = bytes(value)
            entries.append(_Entry(name, TYPE_STREAM, data=data, size=len(data)))
        else:
            raise TypeError(f"entry {name!r}: expected bytes or a mapping, got {type(value).__name__}")


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name:
        raise ValueError(f"entry name must be a non-empty string: {name!r}")
    if len(name.encode("utf-16-le")) // 2 > MAX_NAME_CHARS:
        raise ValueError(f"entry name longer than {MAX_NAME_CHARS} characters: {name!r}")
    if FORBIDDEN_NAME_CHARS & set(name):
        raise ValueError(f"entry name contains one of / \\ : ! : {name!r}")


def _name_order(name: str) -> tuple[int, str]:
    # [MS-CFB] 2.6.4: shorter names sort first, then an uppercase comparison.
    return (len(name.encode("utf-16-le")), name.upper())


def _link_siblings(entries: list[_Entry], ids: list[int]) -> int:
    """Make ``ids`` (already sorted) a balanced red-black tree; return its root.

    Splitting at the middle fills every level but the deepest, so painting
    exactly the deepest level red gives each path the same number of black
    nodes and never puts a red node under a red node.
    """
    deepest = len(ids).bit_length() - 1  # depth of the last level
    return _link_range(entries, ids, 0, deepest)


def _link_range(entries: list[_Entry], ids: list[int], depth: int, deepest: int) -> int:
    if not ids:
        return NOSTREAM
    middle = len(ids) // 2
    node = entries[ids[middle]]
    node.left = _link_range(entries, ids[:middle], depth + 1, deepest)
    node.right = _link_range(entries, ids[middle + 1 :], depth + 1, deepest)
    node.color = COLOR_RED if depth == deepest and depth > 0 else COLOR_BLACK
    return ids[middle]


# --------------------------------------------------------------------------
# Mini stream


def _pack_mini_stream(entries: list[_Entry]) -> tuple[bytes, list[int]]:
    """Place small streams in the mini stream; return it and its mini FAT."""
    mini_stream = bytearray()
    mini_fat: list[int] = []
    for entry in entries:
        if entry.kind != TYPE_STREAM or not 0 < entry.size < MINI_STREAM_CUTOFF:
            continue
        first = len(mini_fat)
        count = _ceil_div(entry.size, MINI_SECTOR_SIZE)
        mini_fat.extend(_chain(first, count))
        mini_stream += entry.data.ljust(count * MINI_SECTOR_SIZE, b"\0")
        entry.start = first
    return bytes(mini_stream), mini_fat


# --------------------------------------------------------------------------
# Sector layout and serialisation


def _write_file(entries: list[_Entry], mini_stream: bytes, mini_fat: list[int]) -> bytes:
    dir_sectors = _ceil_div(len(entries), ENTRIES_PER_SECTOR)
    mini_fat_sectors = _ceil_div(len(mini_fat), IDS_PER_SECTOR)
    mini_stream_sectors = _ceil_div(len(mini_stream), SECTOR_SIZE)
    big_streams = [e for e in entries if e.kind == TYPE_STREAM and e.size >= MINI_STREAM_CUTOFF]
    data_sectors = (
        dir_sectors
        + mini_fat_sectors
        + mini_stream_sectors
        + sum(_ceil_div(e.size, SECTOR_SIZE) for e in big_streams)
    )
    fat_sectors = _fat_sector_count(data_sectors)

    # Layout: FAT, directory, mini FAT, mini stream, then large streams.
    fat = [FREESECT] * (fat_sectors * IDS_PER_SECTOR)
    fat[:fat_sectors] = [FATSECT] * fat_sectors
    body = bytearray()
    next_sector = fat_sectors

    def place(data: bytes) -> int:
        nonlocal next_sector
        if not data:
            return ENDOFCHAIN
        count = _ceil_div(len(data), SECTOR_SIZE)
        start = next_sector
        fat[start : start + count] = _chain(start, count)
        body.extend(data.ljust(count * SECTOR_SIZE, b"\0"))
        next_sector += count
        return start

    dir_start = next_sector
    next_sector += dir_sectors  # directory bytes are written last (start sectors unknown yet)
    fat[dir_start : dir_start + dir_sectors] = _chain(dir_start, dir_sectors)
    body.extend(bytes(dir_sectors * SECTOR_SIZE))
    mini_fat_padded = mini_fat + [FREESECT] * (mini_fat_sectors * IDS_PER_SECTOR - len(mini_fat))
    mini_fat_start = place(_pack_ids(mini_fat_padded))
    entries[0].start = place(mini_stream)
    entries[0].size = len(mini_stream)
    for entry in big_streams:
        entry.start = place(entry.data)

    directory = b"".join(_pack_entry(e) for e in entries)
    directory = directory.ljust(dir_sectors * SECTOR_SIZE, b"\0")
    directory = _fill_unused_entries(directory, len(entries))
    body[: len(directory)] = directory  # the directory is the first block of ``body``

    header = _pack_header(fat_sectors, dir_start, mini_fat_start, mini_fat_sectors)
    return header + _pack_ids(fat) + bytes(body)


def _fat_sector_count(data_sectors: int) -> int:
    """Smallest FAT that can map itself plus ``data_sectors`` sectors."""
    fat_sectors = 1
    while fat_sectors * IDS_PER_SECTOR < fat_sectors + data_sectors:
        fat_sectors += 1
    if fat_sectors > HEADER_DIFAT_SLOTS:
        raise ValueError(
            f"compound file too large: needs {fat_sectors} FAT sectors, "
            f"this writer supports at most {HEADER_DIFAT_SLOTS} (about 6.8 MB)"
        )
    return fat_sectors


def _pack_header(fat_sectors: int, dir_start: int, mini_fat_start: int, mini_fat_sectors: int) -> bytes:
    difat = list(range(fat_sectors)) + [FREESECT] * (HEADER_DIFAT_SLOTS - fat_sectors)
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        SIGNATURE,
        bytes(16),  # header CLSID
        0x003E,  # minor version
        0x0003,  # major version 3 = 512-byte sectors
        0xFFFE,  # byte order mark: little endian
        9,  # sector shift: 2**9 = 512
        6,  # mini sector shift: 2**6 = 64
        bytes(6),  # reserved
        0,  # number of directory sectors: must be 0 in version 3
        fat_sectors,
        dir_start,
        0,  # transaction signature
        MINI_STREAM_CUTOFF,
        mini_fat_start,
        mini_fat_sectors,
        ENDOFCHAIN,  # first DIFAT sector: none, the header holds them all
        0,  # number of DIFAT sectors
    )
    header += _pack_ids(difat)
    assert len(header) == SECTOR_SIZE
    return header


def _pack_entry(entry: _Entry) -> bytes:
    name = (entry.name + "\0").encode("utf-16-le")
    return struct.pack(
        "<64sHBBIII16sIQQIQ",
        name,
        len(name),
        entry.kind,
        entry.color,
        entry.left,
        entry.right,
        entry.child,
        bytes(16),  # CLSID
        0,  # state bits
        0,  # creation time
        0,  # modification time
        entry.start if entry.kind != TYPE_STORAGE else 0,
        entry.size,
    )


def _fill_unused_entries(directory: bytes, used: int) -> bytes:
    """Mark padding entries as unallocated: zeros, but sibling/child IDs NOSTREAM."""
    unused = bytearray(ENTRY_SIZE)
    struct.pack_into("<III", unused, 68, NOSTREAM, NOSTREAM, NOSTREAM)
    total = len(directory) // ENTRY_SIZE
    return directory[: used * ENTRY_SIZE] + bytes(unused) * (total - used)


def _chain(start: int, count: int) -> list[int]:
    """FAT entries for ``count`` consecutive sectors starting at ``start``."""
    return [start + i + 1 for i in range(count - 1)] + [ENDOFCHAIN] if count else []


def _pack_ids(ids: list[int]) -> bytes:
    return struct.pack(f"<{len(ids)}I", *ids)


def _ceil_div(value: int, divisor: int) -> int:
    return -(-value // divisor)
