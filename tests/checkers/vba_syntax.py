"""Syntax check of one VBA module with our own Lark grammar (`vba.lark`), per platform.

Conditional compilation is resolved first (`vba_cc`), so a module is checked as the VBA
compiler of that platform sees it: `check(code, "win32")` and `check(code, "win64")` can
differ when an `#If Win64` branch is broken. About 5 s for every module of the workbook on
both platforms: fast enough for every run. It is our own reading of [MS-VBAL]; the
independent grammar is `vba_antlr`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Optional

from lark import Lark, Tree
from lark.exceptions import LarkError, UnexpectedInput

from . import vba_cc

PLATFORMS = ("win32", "win64")


@lru_cache(maxsize=1)
def parser() -> Lark:
    grammar = Path(__file__).with_name("vba.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer="contextual", maybe_placeholders=False, propagate_positions=True)


def prepare(code: str, platform: str) -> str:
    """LF line ends, conditional compilation resolved (inactive lines blanked, so line numbers
    stay those of the module), and a final newline."""
    text = vba_cc.resolve(code.replace("\r\n", "\n").replace("\r", "\n"), platform)
    return text if text.endswith("\n") else text + "\n"


def check(code: str, platform: str = "win64") -> Optional[str]:
    """None if the module parses on `platform`, else one line: where and what was expected."""
    try:
        source = prepare(code, platform)
    except vba_cc.CcError as exc:
        return f"conditional compilation: {exc}"
    try:
        _parse(source)
    except UnexpectedInput as exc:
        line = source.split("\n")[exc.line - 1].strip() if exc.line and exc.line > 0 else ""
        expected = sorted(getattr(exc, "expected", None) or getattr(exc, "allowed", None) or [])[:8]
        return f"{exc.line}:{exc.column}: {type(exc).__name__} near {line[:70]!r}, expected {expected}"
    except LarkError as exc:
        return f"{type(exc).__name__}: {str(exc)[:200]}"
    return None


def parse_tree(code: str, platform: str = "win64") -> Tree:
    return _parse(prepare(code, platform))


@lru_cache(maxsize=256)
def _parse(source: str) -> Tree:
    """Parse trees are kept: the syntax check and the resolver read the same modules."""
    return parser().parse(source)
