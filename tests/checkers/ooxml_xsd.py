"""Every XML part of a package validated against the ISO/IEC 29500 transitional schemas
(and the OPC schemas of part 2) with lxml, when a copy of them is given.

No registry carries these schemas under terms the project can use, so they are not
installed: set OOXML_SCHEMA_DIR to a folder holding them (for example ECMA-376 part 4's
transitional schema zip and part 2's OPC schema zip, unpacked into one folder; any layout:
files are found by name) and the test runs; without it, it skips and says so.
Dublin Core, which opc-coreProperties.xsd imports by URL, is replaced by our minimal
stand-ins (`xsd_stubs/`).

Per part: its content type comes from [Content_Types].xml; the root element must be the
one that content type implies; markup compatibility (ISO/IEC 29500-3) is applied first
(mc:AlternateContent takes the first Choice whose namespaces are understood, else the
Fallback; elements and attributes of ignorable namespaces not understood are removed);
then the part is validated against one schema importing the whole set. VML parts are not
schema material (legacy VML never validates) and are listed as not checked.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import zipfile
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from lxml import etree

from .ooxml_package import extension

MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
CT = "http://schemas.openxmlformats.org/package/2006/content-types"
XML_NS = "http://www.w3.org/XML/1998/namespace"
S = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
A = "http://schemas.openxmlformats.org/drawingml/2006/main"
OFFICE = "application/vnd.openxmlformats-officedocument."
ROOT_FOR_CONTENT_TYPE = {
    OFFICE + "spreadsheetml.sheet.main+xml": f"{{{S}}}workbook",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml": f"{{{S}}}workbook",
    OFFICE + "spreadsheetml.worksheet+xml": f"{{{S}}}worksheet",
    OFFICE + "spreadsheetml.styles+xml": f"{{{S}}}styleSheet",
    OFFICE + "spreadsheetml.sharedStrings+xml": f"{{{S}}}sst",
    OFFICE + "spreadsheetml.comments+xml": f"{{{S}}}comments",
    OFFICE + "spreadsheetml.calcChain+xml": f"{{{S}}}calcChain",
    OFFICE + "spreadsheetml.table+xml": f"{{{S}}}table",
    OFFICE + "drawing+xml": "{http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing}wsDr",
    OFFICE + "drawingml.chart+xml": "{http://schemas.openxmlformats.org/drawingml/2006/chart}chartSpace",
    OFFICE + "theme+xml": f"{{{A}}}theme",
    OFFICE + "wordprocessingml.document.main+xml": f"{{{W}}}document",
    OFFICE + "wordprocessingml.styles+xml": f"{{{W}}}styles",
    OFFICE + "wordprocessingml.settings+xml": f"{{{W}}}settings",
    OFFICE + "wordprocessingml.webSettings+xml": f"{{{W}}}webSettings",
    OFFICE + "wordprocessingml.fontTable+xml": f"{{{W}}}fonts",
    OFFICE + "wordprocessingml.numbering+xml": f"{{{W}}}numbering",
    OFFICE + "wordprocessingml.footer+xml": f"{{{W}}}ftr",
    OFFICE + "wordprocessingml.header+xml": f"{{{W}}}hdr",
    OFFICE + "customXmlProperties+xml": "{http://schemas.openxmlformats.org/officeDocument/2006/customXml}datastoreItem",
    "application/vnd.openxmlformats-package.core-properties+xml":
        "{http://schemas.openxmlformats.org/package/2006/metadata/core-properties}coreProperties",
    OFFICE + "extended-properties+xml": "{http://schemas.openxmlformats.org/officeDocument/2006/extended-properties}Properties",
    OFFICE + "custom-properties+xml": "{http://schemas.openxmlformats.org/officeDocument/2006/custom-properties}Properties",
    "application/vnd.openxmlformats-package.relationships+xml":
        "{http://schemas.openxmlformats.org/package/2006/relationships}Relationships",
}
REQUIRED = ("sml.xsd", "wml.xsd", "dml-main.xsd", "shared-commonSimpleTypes.xsd", "opc-contentTypes.xsd",
            "opc-relationships.xsd", "opc-coreProperties.xsd")
# Errors of the schemas, not of the files: (pattern on "part|message", why).
ACCEPTED_DEVIATIONS = [
    (r"\{%s\}t', attribute '\{%s\}space': The attribute .* is not allowed" % (re.escape(S), re.escape(XML_NS)),
     "sml.xsd types <t> (CT_Rst, ST_Xstring) as a simple type, so xml:space=\"preserve\", which Excel itself "
     "writes to keep leading and trailing blanks, cannot validate"),
]


@dataclass(frozen=True)
class Finding:
    package: str
    part: str
    line: int
    message: str
    kind: str           # error | accepted | not-checked


def schema_folder() -> Optional[Path]:
    """OOXML_SCHEMA_DIR if it holds the schemas this validator needs, else None."""
    folder = os.environ.get("OOXML_SCHEMA_DIR")
    if not folder or not Path(folder).is_dir():
        return None
    found = {p.name for p in Path(folder).rglob("*.xsd")}
    return Path(folder) if all(name in found for name in REQUIRED) else None


class SchemaSet:
    """One schema importing the whole transitional + OPC set, compiled in a scratch folder."""

    def __init__(self, folder: Path):
        self._tmp = Path(tempfile.mkdtemp(prefix="ooxml-xsd-"))
        for xsd in folder.rglob("*.xsd"):
            text = xsd.read_text(encoding="utf-8-sig")
            text = re.sub(r'schemaLocation="http://dublincore\.org/schemas/xmls/qdc/[0-9/]+/(dc|dcterms)\.xsd"',
                          r'schemaLocation="\1.xsd"', text)
            text = re.sub(r'schemaLocation="(?:\.\./)+[^"/]+/([^"/]+\.xsd)"', r'schemaLocation="\1"', text)
            (self._tmp / xsd.name).write_text(text, encoding="utf-8")
        for stub in Path(__file__).with_name("xsd_stubs").glob("*.xsd"):
            shutil.copy(stub, self._tmp / stub.name)
        imports, self.namespaces = [], set()
        for xsd in sorted(self._tmp.glob("*.xsd")):
            namespace = etree.parse(str(xsd)).getroot().get("targetNamespace")
            if namespace and namespace not in self.namespaces:
                self.namespaces.add(namespace)
                imports.append(f'<xs:import namespace="{namespace}" schemaLocation="{xsd.name}"/>')
        umbrella = self._tmp / "umbrella.xsd"
        umbrella.write_text('<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">' + "".join(imports)
                            + "</xs:schema>", encoding="utf-8")
        self.schema = etree.XMLSchema(etree.parse(str(umbrella)))
        # "understood" in the sense of ISO/IEC 29500-3: the ISO vocabularies; Microsoft's
        # extensions (w14, x14ac, ...) are not part of the standard and are treated as ignorable
        self.understood = {ns for ns in self.namespaces if "schemas.microsoft.com" not in ns} | {MC, XML_NS}

    def close(self) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)


def mce_process(root: etree._Element, understood: set[str]) -> etree._Element:
    """ISO/IEC 29500-3 processing of a copy of `root`: AlternateContent resolved, elements and
    attributes of ignorable namespaces that are not understood removed, mc:* attributes dropped."""
    root = deepcopy(root)
    for alternate in reversed(list(root.iter(f"{{{MC}}}AlternateContent"))):
        chosen = next((b for b in alternate if b.tag == f"{{{MC}}}Choice"
                       and all(b.nsmap.get(p) in understood for p in (b.get("Requires") or "").split())
                       and (b.get("Requires") or "").split()), None)
        chosen = chosen if chosen is not None else next((b for b in alternate if b.tag == f"{{{MC}}}Fallback"), None)
        parent, at = alternate.getparent(), alternate.getparent().index(alternate)
        for offset, child in enumerate(list(chosen) if chosen is not None else []):
            parent.insert(at + offset, child)
        parent.remove(alternate)

    def walk(element: etree._Element, ignorable: frozenset) -> None:
        prefixes = element.get(f"{{{MC}}}Ignorable")
        if prefixes:
            ignorable = ignorable | {element.nsmap.get(p) for p in prefixes.split()} - understood
        for name in list(element.attrib):
            if etree.QName(name).namespace in ignorable | {MC}:
                del element.attrib[name]
        for child in [c for c in element if isinstance(c.tag, str)]:
            if etree.QName(child).namespace in ignorable:
                element.remove(child)
            else:
                walk(child, ignorable)

    walk(root, frozenset())
    return root


def content_types(archive: zipfile.ZipFile) -> dict[str, str]:
    """Part name (no leading slash) -> its content type ('' if none)."""
    types = etree.fromstring(archive.read("[Content_Types].xml"))
    defaults = {(d.get("Extension") or "").lower(): d.get("ContentType") for d in types.iter(f"{{{CT}}}Default")}
    overrides = {(o.get("PartName") or "").lstrip("/"): o.get("ContentType") for o in types.iter(f"{{{CT}}}Override")}
    return {name: overrides.get(name) or defaults.get(extension(name), "")
            for name in archive.namelist() if not name.endswith("/") and name != "[Content_Types].xml"}


def validate_package(path: Path, schemas: SchemaSet) -> list[Finding]:
    findings: list[Finding] = []
    with zipfile.ZipFile(path) as archive:
        parts = [("[Content_Types].xml", "")] + sorted(content_types(archive).items())
        for part, content_type in parts:
            expected = f"{{{CT}}}Types" if part == "[Content_Types].xml" else ROOT_FOR_CONTENT_TYPE.get(content_type)
            if expected is None:
                if part.endswith((".xml", ".vml", ".rels")):
                    findings.append(Finding(str(path), part, 0, f"not checked: content type {content_type!r}",
                                            "not-checked"))
                continue
            root = etree.fromstring(archive.read(part))
            if root.tag != expected:
                findings.append(Finding(str(path), part, root.sourceline or 0,
                                        f"root {root.tag} does not fit content type {content_type}", "error"))
            if not schemas.schema.validate(mce_process(root, schemas.understood)):
                findings += [Finding(str(path), part, e.line, e.message, _kind(part, e.message))
                             for e in schemas.schema.error_log]
    return findings


def _kind(part: str, message: str) -> str:
    return "accepted" if any(re.search(p, f"{part}|{message}") for p, _ in ACCEPTED_DEVIATIONS) else "error"
