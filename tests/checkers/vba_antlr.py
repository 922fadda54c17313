"""grammars-v4's VBA grammar (vba/vba7_1, derived from MS-VBAL) as published on PyPI: the
parser antlr4-vba generated with ANTLR 4.13.1. It shares nothing with our own grammar, so a
module both accept has been read by two independent readings of the language.

The grammar reads modules as exported (.bas/.cls); a stored class or document module gets
the exported header back (`VERSION 1.0 CLASS` ... `END`) and loses the module attributes the
grammar's `classAttr` lacks (VB_Base, VB_TemplateDerived, VB_Description, which Excel stores
and export drops). Conditional compilation is resolved first, per platform (`vba_cc`).

The Python ANTLR runtime is slow with this grammar (minutes for xlwings' 3,200-line
WebHelpers), so verdicts are cached by the content parsed, in `.cache/vba-antlr/` (see
`cache`): a module is parsed again only when its text, the platform's resolution of it or the
grammar package changes. Distinct texts are parsed once (most modules resolve the same on
Win32 and Win64), largest first, in parallel worker processes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from concurrent.futures import ProcessPoolExecutor
from importlib import metadata
from typing import Iterable

from . import vba_cc
from .cache import cache_dir

EXPORTED_CLASS_HEADER = ["VERSION 1.0 CLASS", "BEGIN", "  MultiUse = -1  'True", "END"]
_NOT_IN_CLASS_ATTR = re.compile(r"^Attribute\s+VB_(Base|TemplateDerived|Description)\s*=", re.IGNORECASE)


def grammar_version() -> str:
    return f"antlr4-vba {metadata.version('antlr4-vba')}, antlr4-python3-runtime {metadata.version('antlr4-python3-runtime')}"


def exported_form(code: str) -> tuple[str, int]:
    """(text the grammar reads, lines added in front): stored class and document modules as exported."""
    lines = code.replace("\r\n", "\n").split("\n")
    if not any(line.startswith("Attribute VB_Base") for line in lines[:3]):
        return "\n".join(lines), 0
    header_end = next((i for i, line in enumerate(lines) if not line.startswith("Attribute ")), len(lines))
    header = [("" if _NOT_IN_CLASS_ATTR.match(line) else line) for line in lines[:header_end]]
    return "\n".join(EXPORTED_CLASS_HEADER + header + lines[header_end:]), len(EXPORTED_CLASS_HEADER)


def prepare(code: str, platform: str) -> tuple[str, int]:
    """(CRLF text with conditional compilation resolved, line offset to subtract in messages)."""
    text, offset = exported_form(code)
    text = vba_cc.resolve(text, platform).replace("\n", "\r\n")
    return (text if text.endswith("\r\n") else text + "\r\n"), offset


def parse_errors(text: str) -> list[str]:
    """The lexer's and parser's syntax errors for one module ("line:column message")."""
    from antlr4 import CommonTokenStream, InputStream
    from antlr4.error.ErrorListener import ErrorListener
    from antlr4_vba.vbaLexer import vbaLexer
    from antlr4_vba.vbaParser import vbaParser

    class Collect(ErrorListener):
        def __init__(self) -> None:
            self.errors: list[str] = []

        def syntaxError(self, recognizer, symbol, line, column, message, error) -> None:  # noqa: N802 (ANTLR's API)
            self.errors.append(f"{line}:{column} {message}")

    errors = Collect()
    lexer = vbaLexer(InputStream(text))
    lexer.removeErrorListeners()
    lexer.addErrorListener(errors)
    parser = vbaParser(CommonTokenStream(lexer))
    parser.removeErrorListeners()
    parser.addErrorListener(errors)
    parser.startRule()
    return errors.errors


def check(modules: dict[str, str], platforms: Iterable[str], *, workers: int | None = None) -> dict[tuple[str, str], list[str]]:
    """(module, platform) -> syntax errors (line numbers as in the module; [] when it parses)."""
    prepared, refused = {}, {}
    for name, code in modules.items():
        for platform in platforms:
            try:
                prepared[name, platform] = prepare(code, platform)
            except vba_cc.CcError as exc:     # no text to parse: the #If structure itself is broken
                refused[name, platform] = [f"conditional compilation: {exc}"]
    texts = {text for text, _ in prepared.values()}
    verdicts = _cached_verdicts(texts)
    todo = sorted(texts - set(verdicts), key=len, reverse=True)
    if todo:
        count = max(1, min(workers or os.cpu_count() or 1, len(todo)))
        with ProcessPoolExecutor(count) as pool:
            for text, errors in zip(todo, pool.map(parse_errors, todo)):
                verdicts[text] = errors
                _store(text, errors)
    return refused | {key: [_shift(e, offset) for e in verdicts[text]] for key, (text, offset) in prepared.items()}


def _shift(error: str, offset: int) -> str:
    line, _, rest = error.partition(":")
    return f"{int(line) - offset}:{rest}" if offset and line.isdigit() else error


def _digest(text: str) -> str:
    return hashlib.sha256(f"{grammar_version()}\0{text}".encode("utf-8")).hexdigest()


def _cached_verdicts(texts: set[str]) -> dict[str, list[str]]:
    found = {}
    for text in texts:
        path = cache_dir("vba-antlr") / f"{_digest(text)}.json"
        if path.is_file():
            found[text] = json.loads(path.read_text(encoding="utf-8"))
    return found


def _store(text: str, errors: list[str]) -> None:
    path = cache_dir("vba-antlr") / f"{_digest(text)}.json"
    scratch = path.with_suffix(f".{os.getpid()}.tmp")
    scratch.write_text(json.dumps(errors), encoding="utf-8")
    os.replace(scratch, path)
