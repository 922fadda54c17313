"""The names the workbook's VBA modules take from type libraries, by the library that
defines them (as the VBE's Object Browser shows them), kept exactly: `test_vba_code` fails
when a module starts using a name that is not listed here (add it under the library that
defines it, and make sure the project references that library) and when a listed name is
no longer used (remove it).

    VBA     Visual Basic For Applications (VBE7.DLL)          implicit in every project
    Excel   Microsoft Excel 16.0 Object Library (EXCEL.EXE)   implicit in an Excel project
    stdole  OLE Automation (stdole2.tlb)                      REFERENCE "stdole"
    Office  Microsoft Office 16.0 Object Library (MSO.DLL)    REFERENCE "Office"

`Scripting.Dictionary` and `FileSystemObject` are late-bound (`CreateObject("...")`), so the
Scripting runtime is not needed; stdole is referenced (as Excel always does) but no name of it
is used. A name defined by two libraries binds to the first in VBA's order: VBA, Excel, then
the references in the order of the project (stdole, Office).
"""

from __future__ import annotations

import re

IMPLICIT = ("VBA", "Excel")     # the host's libraries: never REFERENCE records in the dir stream

USED = {
    "VBA": """
        Array Asc Boolean Byte CDate Choose Chr CInt Collection CreateObject CStr Date DateDiff DateSerial
        Debug Dir Double Environ EOF Err FileCopy Format FreeFile GetAttr Hex IIf InStr InStrRev Int Integer
        IsEmpty IsMissing IsNull Kill LBound LCase Left Len Long LongPtr Mid MkDir MsgBox Now Object Randomize
        Replace RGB Right Rnd Split String StrPtr Timer TimeSerial Trim UBound UCase Val Variant VarPtr VBA
        vbBack vbCr vbCritical vbCrLf vbDirectory vbFormFeed vbFromUnicode vbLf vbNewLine vbNullString
        vbObjectError vbString vbTab vbUnicode
    """,
    "Excel": """
        ActiveSheet ActiveWorkbook Application ListObject Name Picture Range Selection Shape Workbook
        Worksheet WorksheetFunction Worksheets xlDeleteShiftDirection xlDown xlInsertShiftDirection xlYesNoGuess
    """,
    "stdole": "",
    "Office": "msoPicture",
}
PRIORITY = ("VBA", "Excel", "stdole", "Office")

_SUFFIX = re.compile(r"[$%&!#@]$")


def key(name: str) -> str:
    """VBA names ignore case and a trailing type character (Left$ is Left)."""
    return _SUFFIX.sub("", name).lower()


_DEFINED_BY = {key(name): library for library in reversed(PRIORITY) for name in USED[library].split()}


def library_of(name: str) -> str | None:
    """The library that defines `name` (one of PRIORITY), or None if none of the table does."""
    return _DEFINED_BY.get(key(name))


def listed() -> dict[str, set[str]]:
    """Library -> the keys of its listed names."""
    return {library: {key(name) for name in USED[library].split()} for library in PRIORITY}
