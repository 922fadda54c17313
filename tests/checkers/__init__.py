"""Independent checks of the files xf-excel writes, used by the test suite.

Nothing here is imported by the package: these are the test suite's own readers and
validators, written or chosen to share no code with the writers they check.

- `vba_project`: a built workbook's VBA project read back (olevba for the modules, the
  `dir` stream for the references).
- `vba_cc`, `vba.lark`, `vba_syntax`: conditional compilation and our own grammar (fast).
- `vba_antlr`: grammars-v4's vba7_1 grammar as published on PyPI (antlr4-vba), the
  independent one; slow, so results are cached by content.
- `vba_resolve`, `vba_libraries`: every identifier resolved against the project and the
  libraries it references.
- `ooxml_sdk`, `ooxml_xsd`, `ooxml_package`: Microsoft's Open XML SDK validator, the
  ISO/IEC 29500 schemas (when given), and package checks no schema expresses.
"""
