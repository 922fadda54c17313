"""Microsoft's Open XML SDK validator (DocumentFormat.OpenXml 3.5.1) on Linux, without a .NET install.

The PyPI wheel python-redlines-docxodus ships a self-contained linux-x64 .NET 10 application
that carries the runtime (libhostfxr, libcoreclr, the framework) and the SDK's assemblies;
pythonnet starts that runtime in-process through hostfxr's command-line API, so the SDK's
assemblies resolve from the application's own list (the application itself never runs).
A process can host one CLR only, so tests run this module as a script in a subprocess:

    python -m checkers.ooxml_sdk [--format Microsoft365] FILE...     (prints JSON)

Exit status: 0 checked (the JSON says what was found), 2 the runtime cannot start here
(not x86_64 Linux, packages missing): the tests skip with the message on stderr.

Every finding carries a `kind`: "error", or "accepted" when it matches an entry of
ACCEPTED_DEVIATIONS, each of which says why the file is right and the validator is not.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import re
import shutil
import sys
import tarfile
from pathlib import Path

from .cache import cache_dir

S_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_FONT_CHILDREN = ("b", "i", "strike", "condense", "extend", "outline", "shadow", "u", "vertAlign", "sz", "color",
                  "name", "family", "charset", "scheme", "rFont")

# (id, predicate on a finding, why the file is right). Listed in the README's verification notes.
ACCEPTED_DEVIATIONS = [
    ("openpyxl-font-order",
     lambda f: f["id"] == "Sch_UnexpectedElementContentExpectingComplex"
     and bool(re.search(r"/x:(font|rPr)\[\d+\]$", f["path"] or ""))
     and any(f"'{S_MAIN}:{c}'" in f["description"] for c in _FONT_CHILDREN),
     "openpyxl writes the children of <font> (styles.xml) as name, charset, family, b, ..., color, sz. "
     "ISO/IEC 29500-1 §18.8.22 (sml.xsd CT_Font, CT_RPrElt) declares them an xsd:choice in any order; "
     "the SDK checks Office's own writing order as a sequence (Open-XML-SDK#737). Excel opens these "
     "files without a repair prompt."),
]


def accepted_as(finding: dict) -> str | None:
    return next((name for name, matches, _ in ACCEPTED_DEVIATIONS if matches(finding)), None)


def runtime_dir() -> Path:
    """The application folder (redline.dll beside libhostfxr.so), unpacked once from the wheel."""
    spec = importlib.util.find_spec("python_redlines_docxodus")
    if spec is None or spec.origin is None:
        raise RuntimeError("python-redlines-docxodus is not installed (it carries the .NET runtime and the SDK)")
    archive = Path(spec.origin).parent / "_binaries" / "linux-x64.tar.gz"
    target = cache_dir("docxodus") / f"{archive.stat().st_size}"
    if not (target / "redline.dll").is_file():
        scratch = target.with_name(f"{target.name}.{os.getpid()}.part")   # several test runs may unpack at once
        with tarfile.open(archive) as tar:
            tar.extractall(scratch, filter="data")
        try:
            scratch.rename(target)
        except OSError:                                                   # another run got there first
            shutil.rmtree(scratch, ignore_errors=True)
    return target


def start_runtime() -> None:
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        raise RuntimeError(f"the bundled .NET runtime is linux-x64 only (this is {platform.system()} {platform.machine()})")
    for module in ("pythonnet", "clr_loader"):
        if importlib.util.find_spec(module) is None:
            raise RuntimeError(f"{module} is not installed")
    root = runtime_dir()
    if not any(Path(p).glob("libicuuc.so.*") for p in ("/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib")):
        os.environ.setdefault("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT", "1")   # no ICU: run culture-invariant
    from clr_loader import get_coreclr
    from pythonnet import set_runtime

    set_runtime(get_coreclr(entry_dll=str(root / "redline.dll"), dotnet_root=str(root)))
    import clr

    clr.AddReference("DocumentFormat.OpenXml.Framework")
    clr.AddReference("DocumentFormat.OpenXml")


def versions() -> dict[str, str]:
    import System
    from System.Reflection import Assembly

    return {"dotnet": str(System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription),
            "sdk": str(Assembly.Load("DocumentFormat.OpenXml").GetName().Version)}


def validate(path: Path, file_format: str) -> list[dict]:
    """The SDK's findings for one package (an exception from Open() is a finding too)."""
    from DocumentFormat.OpenXml import FileFormatVersions
    from DocumentFormat.OpenXml.Packaging import SpreadsheetDocument, WordprocessingDocument
    from DocumentFormat.OpenXml.Validation import OpenXmlValidator

    opener = WordprocessingDocument if path.suffix.lower() in (".docx", ".docm", ".dotx") else SpreadsheetDocument
    validator = OpenXmlValidator(getattr(FileFormatVersions, file_format))
    validator.MaxNumberOfErrors = 500
    try:
        document = opener.Open(str(path), False)
    except Exception as exc:  # the SDK refuses packages it cannot read at all
        return [{"id": "OpenFailed", "part": None, "path": None, "description": f"{type(exc).__name__}: {exc}",
                 "kind": "error"}]
    findings = []
    try:
        for error in validator.Validate(document):
            finding = {"id": str(error.Id), "part": str(error.Part.Uri) if error.Part is not None else None,
                       "path": error.Path.XPath if error.Path is not None else None,
                       "description": str(error.Description)}
            finding["kind"] = "accepted" if accepted_as(finding) else "error"
            findings.append(finding)
    finally:
        document.Dispose()
    return findings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Open XML SDK validation (JSON on stdout)")
    parser.add_argument("--format", default="Microsoft365")
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    try:
        start_runtime()
        info = versions()
    except Exception as exc:  # cannot run here: the caller skips
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    results = {str(path): validate(path, args.format) for path in args.files}
    json.dump({"versions": info, "format": args.format, "results": results}, sys.stdout, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
