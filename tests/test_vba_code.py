"""The VBA of the master workbook, as Excel's compiler would see it on 32- and 64-bit Office:
every module parses (our grammar and grammars-v4's independent one), every identifier is
declared in the project or defined by a library the project references, and each check
rejects what it should (negative controls)."""

from __future__ import annotations

import re

import pytest

from checkers import vba_antlr, vba_libraries, vba_project, vba_resolve, vba_syntax

PLATFORMS = vba_syntax.PLATFORMS

BASE = "\n".join([
    'Attribute VB_Name = "T"',
    "Option Explicit",
    "Public Sub A(ByVal x As Long)",
    "    Dim i As Long",
    "    If x > 0 Then",
    "        For i = 1 To x",
    '            Debug.Print i; " ok"',
    "        Next i",
    "    End If",
    "End Sub",
    "",
])

# (label, module, platforms it must fail on)
BROKEN = [
    ("missing End If", BASE.replace("    End If\n", ""), PLATFORMS),
    ("Next without For", BASE.replace("        For i = 1 To x\n", ""), PLATFORMS),
    ("End Function closes a Sub", BASE.replace("End Sub", "End Function"), PLATFORMS),
    ("unbalanced parenthesis", BASE.replace("If x > 0 Then", "If (x > 0 Then"), PLATFORMS),
    ("missing Then", BASE.replace("If x > 0 Then", "If x > 0"), PLATFORMS),
    ("doubled operator", BASE.replace("If x > 0 Then", "If x > > 0 Then"), PLATFORMS),
    ("Dim without a name", BASE.replace("Dim i As Long", "Dim As Long"), PLATFORMS),
    ("unterminated string", BASE.replace('" ok"', '" ok'), PLATFORMS),
    ("two statements, no separator", BASE.replace("Dim i As Long", "Dim i As Long i = 1"), PLATFORMS),
    ("keyword as a variable", BASE.replace("Dim i As Long", "Dim Then As Long"), PLATFORMS),
    ("statement outside a procedure", BASE + "x = 1\n", PLATFORMS),
    ("#If without #End If", BASE.replace("    If x > 0 Then", "#If VBA7 Then\n    If x > 0 Then"), PLATFORMS),
    ("Sub without End Sub", BASE.replace("End Sub\n", ""), PLATFORMS),
    ("Select without End Select", BASE.replace("    End If\n", "    End If\n    Select Case x\n    Case 1\n"),
     PLATFORMS),
    ("broken #If Win64 branch", BASE.replace(
        "    Dim i As Long", "#If Win64 Then\n    Dim i As LongLong =\n#Else\n    Dim i As Long\n#End If"), ("win64",)),
    ("broken #Else (32-bit) branch", BASE.replace(
        "    Dim i As Long", "#If Win64 Then\n    Dim i As LongLong\n#Else\n    Dim i As\n#End If"), ("win32",)),
]

VALID = [
    ("single-line If with Else and colons", BASE.replace("Dim i As Long", "Dim i As Long: If x Then i = 1: x = 2 Else i = 3")),
    ("With block and a with-member call", BASE.replace(
        "Dim i As Long", 'Dim i As Long\n    With Application\n        .StatusBar = False\n        .Run "m", 1, , 3\n    End With')),
    ("On Error, a label, Resume", BASE.replace(
        "Dim i As Long", "Dim i As Long\n    On Error GoTo fail\n    Exit Sub\nfail:\n    Resume Next")),
    ("line continuation", BASE.replace("Dim i As Long", "Dim i As Long, _\n        s As String")),
]


def broken_real_modules(module: str) -> list[tuple[str, str]]:
    """A real module with one defect each (every mutation must change the text)."""
    mutations = [
        ("one End If deleted", re.sub(r"(?m)^[ \t]*End If[ \t]*\r?$\n?", "", module, count=1)),
        ("one Then deleted", module.replace(" Then\r\n", "\r\n", 1)),
        ("Dim misspelt Dimm", module.replace("    Dim ", "    Dimm ", 1)),
        ("End Function -> End Sub", module.replace("End Function", "End Sub", 1)),
        ("the ) of a procedure declaration deleted",
         re.sub(r"(?m)^([ \t]*(?:Public |Private )?(?:Sub|Function) \w+\([^)\r\n]*)\)", r"\1", module, count=1)),
    ]
    assert all(text != module for _, text in mutations)
    return mutations


@pytest.fixture(scope="module")
def modules(master_xlsm) -> dict[str, str]:
    return vba_project.stored_modules(master_xlsm)


@pytest.fixture(scope="module")
def references(master_xlsm) -> list[str]:
    return [ref.name for ref in vba_project.project_references(master_xlsm)]


# ---- our grammar ---------------------------------------------------------------------------------

@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_stored_module_parses_with_our_grammar(modules, platform):
    failures = {name: error for name, code in modules.items() if (error := vba_syntax.check(code, platform))}
    assert not failures


@pytest.mark.parametrize("label, code, fails_on", BROKEN, ids=[b[0] for b in BROKEN])
def test_our_grammar_rejects_a_broken_module(label, code, fails_on):
    failed = tuple(p for p in PLATFORMS if vba_syntax.check(code, p))
    assert failed == fails_on


@pytest.mark.parametrize("label, code", VALID, ids=[v[0] for v in VALID])
def test_our_grammar_accepts_tricky_valid_code(label, code):
    assert [vba_syntax.check(code, p) for p in PLATFORMS] == [None, None]


def test_our_grammar_rejects_real_modules_with_one_defect(modules):
    remote = modules["Remote"]
    assert vba_syntax.check(remote, "win64") is None
    passed = [label for label, text in broken_real_modules(remote) if vba_syntax.check(text, "win64") is None]
    assert not passed


# ---- the independent grammar (grammars-v4 vba7_1, antlr4-vba) ------------------------------------------

@pytest.fixture(scope="module")
def antlr(modules) -> dict[tuple[str, str], list[str]]:
    """One run over every stored module and every control, on both platforms (cached by content)."""
    controls = {f"broken: {label}": code for label, code, _ in BROKEN}
    controls |= {f"valid: {label}": code for label, code in VALID}
    controls |= {f"XfButtons, {label}": code for label, code in broken_real_modules(modules["XfButtons"])}
    return vba_antlr.check({**modules, **controls}, PLATFORMS)


@pytest.mark.slow
@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_stored_module_parses_with_the_independent_grammar(antlr, modules, platform):
    assert {name: antlr[name, platform] for name in modules if antlr[name, platform]} == {}


@pytest.mark.slow
@pytest.mark.parametrize("label, code, fails_on", BROKEN, ids=[b[0] for b in BROKEN])
def test_the_independent_grammar_rejects_a_broken_module(antlr, label, code, fails_on):
    assert tuple(p for p in PLATFORMS if antlr[f"broken: {label}", p]) == fails_on


@pytest.mark.slow
def test_the_independent_grammar_accepts_the_tricky_valid_code_and_rejects_real_modules_with_one_defect(antlr, modules):
    assert {label: antlr[f"valid: {label}", p] for label, _ in VALID for p in PLATFORMS if antlr[f"valid: {label}", p]} == {}
    passed = [label for label, _ in broken_real_modules(modules["XfButtons"]) if not antlr[f"XfButtons, {label}", "win64"]]
    assert not passed


def test_stored_class_modules_get_the_exported_header_the_grammar_reads(modules):
    text, offset = vba_antlr.exported_form(modules["Dictionary"])
    lines = text.split("\n")
    assert lines[:4] == vba_antlr.EXPORTED_CLASS_HEADER and offset == 4
    assert lines[4] == 'Attribute VB_Name = "Dictionary"'
    assert not any(line.startswith(("Attribute VB_Base", "Attribute VB_Description")) for line in lines[4:14])
    assert len(lines) == len(modules["Dictionary"].replace("\r\n", "\n").split("\n")) + 4   # line numbers kept
    assert vba_antlr.exported_form(modules["XfButtons"])[1] == 0                                # standard: as it is


# ---- identifiers ------------------------------------------------------------------------------------

def test_the_project_references_stdole_and_office(references):
    assert references == ["stdole", "Office"]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_identifier_is_declared_or_defined_by_a_referenced_library(modules, references, platform):
    analysis = vba_resolve.analyse(modules, references, platform)
    assert [(o.use.name, o.use.module, o.use.line, o.library) for o in analysis.unresolved] == []
    assert analysis.member_problems == []
    assert analysis.resolved > 3000      # the resolver saw the project, not an empty parse


@pytest.mark.parametrize("platform", PLATFORMS)
def test_library_names_used_are_exactly_the_table_kept_here(modules, references, platform):
    used = vba_resolve.analyse(modules, references, platform).by_library()
    listed = {library: names for library, names in vba_libraries.listed().items() if names}
    # xlwings' sql() uses K undeclared: legal, its module has no Option Explicit
    assert used == {**listed, vba_resolve.IMPLICIT_VARIANT: {"k"}}


@pytest.mark.parametrize("platform", PLATFORMS)
def test_without_the_office_reference_mso_picture_is_caught(modules, platform):
    analysis = vba_resolve.analyse(modules, ["stdole"], platform)
    assert [(o.use.name, o.use.module, o.use.line, o.library) for o in analysis.unresolved] == [
        ("msoPicture", "Remote", 172, "Office")]


def _mutated(modules: dict[str, str], module: str, old: str, new: str) -> dict[str, str]:
    assert old in modules[module], (module, old)
    return {**modules, module: modules[module].replace(old, new, 1)}


RESOLVER_CONTROLS = [
    ("undeclared variable under Option Explicit", "XfButtons", 'XfRun "validate"', "XfRun valdate"),
    ("misspelt project procedure", "XfButtons", "RunServerPython XfServerUrl()", "RunServerPyton XfServerUrl()"),
    ("misspelt member of a standard module", "WebClient", "WebHelpers.LogError", "WebHelpers.LogEror"),
    ("Private member used from another module", "WebHelpers", "Public Sub LogRequest(", "Private Sub LogRequest("),
    ("a Scripting type without a Scripting reference", "XfButtons", "Dim url As String", "Dim url As FileSystemObject"),
]


@pytest.mark.parametrize("label, module, old, new", RESOLVER_CONTROLS, ids=[c[0] for c in RESOLVER_CONTROLS])
def test_the_resolver_catches(modules, references, label, module, old, new):
    analysis = vba_resolve.analyse(_mutated(modules, module, old, new), references, "win64")
    assert analysis.unresolved or analysis.member_problems


def test_an_unreferenced_library_name_is_caught_even_without_option_explicit(modules):
    # there VBA would not stop: msoPicture would silently be an Empty variable (0, not 13)
    code = modules["xlwings"].replace("Dim i As Integer", "Dim i As Integer\r\n    i = msoPicture", 1)
    analysis = vba_resolve.analyse({**modules, "xlwings": code}, ["stdole"], "win64")
    assert {(o.use.name, o.use.module) for o in analysis.unresolved} == {("msoPicture", "Remote"), ("msoPicture", "xlwings")}
