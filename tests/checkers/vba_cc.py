"""VBA conditional compilation (MS-VBAL 3.4) resolved for one platform.

    resolve(source, platform="win64") -> source with every #If/#ElseIf/#Else/#End If/#Const
    line and every inactive line replaced by an empty line (line numbers are kept, so parse
    errors still point at the original file).

Platforms: "win32" (32-bit Office: VBA7, Win32) and "win64" (64-bit Office: VBA7, Win32 and
Win64 -- Win32 is True on both, per the VBA language reference); "mac" for completeness.
Undefined constants are Empty, i.e. 0/False, as in VBA.
"""
from __future__ import annotations

import re

PLATFORMS = {
    "win32": {"vba6": True, "vba7": True, "win16": False, "win32": True, "win64": False, "mac": False},
    "win64": {"vba6": True, "vba7": True, "win16": False, "win32": True, "win64": True, "mac": False},
    "mac": {"vba6": True, "vba7": True, "win16": False, "win32": False, "win64": False, "mac": True,
            "mac_office_version": 16},
}

DIRECTIVE = re.compile(r"^[ \t]*#[ \t]*(If|ElseIf|Else|End[ \t]*If|Const)\b(.*)$", re.IGNORECASE)
TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"]|"")*")|(?P<num>&H[0-9A-F]+|\d+(?:\.\d+)?)|(?P<op><>|<=|>=|[=<>()+\-*/&])|'
                   r"(?P<id>[A-Za-z_][A-Za-z0-9_]*))", re.IGNORECASE)


class CcError(ValueError):
    pass


def _strip_comment(text: str) -> str:
    out, in_str = [], False
    for ch in text:
        if ch == '"':
            in_str = not in_str
        elif ch == "'" and not in_str:
            break
        out.append(ch)
    return "".join(out).strip()


def _tokens(expr: str) -> list[tuple[str, str]]:
    pos, out = 0, []
    expr = expr.rstrip()
    while pos < len(expr):
        m = TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            raise CcError(f"cannot read conditional expression at {expr[pos:]!r}")
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def evaluate(expr: str, consts: dict[str, object]):
    """Constant expression of #If/#Const: Or, Xor, And, Not, comparisons, + - * / &."""
    toks = _tokens(expr)
    i = 0

    def peek():
        return toks[i] if i < len(toks) else ("eof", "")

    def take():
        nonlocal i
        i += 1
        return toks[i - 1]

    def kw(word):
        k, v = peek()
        return k == "id" and v.lower() == word

    truth = bool

    def p_or():
        v = p_and()
        while kw("or") or kw("xor"):
            op = take()[1].lower()
            r = p_and()
            v = (truth(v) or truth(r)) if op == "or" else (truth(v) != truth(r))
        return v

    def p_and():
        v = p_not()
        while kw("and"):
            take()
            r = p_not()
            v = truth(v) and truth(r)
        return v

    def p_not():
        if kw("not"):
            take()
            return not truth(p_not())
        return p_cmp()

    def p_cmp():
        v = p_add()
        while peek()[0] == "op" and peek()[1] in ("=", "<>", "<", ">", "<=", ">="):
            op = take()[1]
            r = p_add()
            v = {"=": v == r, "<>": v != r, "<": v < r, ">": v > r, "<=": v <= r, ">=": v >= r}[op]
        return v

    def p_add():
        v = p_mul()
        while peek()[0] == "op" and peek()[1] in ("+", "-", "&"):
            op = take()[1]
            r = p_mul()
            v = f"{v}{r}" if op == "&" else (v + r if op == "+" else v - r)
        return v

    def p_mul():
        v = p_atom()
        while peek()[0] == "op" and peek()[1] in ("*", "/"):
            op = take()[1]
            r = p_atom()
            v = v * r if op == "*" else v / r
        return v

    def p_atom():
        k, v = take() if i < len(toks) else ("eof", "")
        if k == "str":
            return v[1:-1].replace('""', '"')
        if k == "num":
            return int(v[2:], 16) if v.lower().startswith("&h") else (float(v) if "." in v else int(v))
        if k == "id":
            low = v.lower()
            if low == "true":
                return True
            if low == "false":
                return False
            return consts.get(low, 0)  # undefined = Empty
        if k == "op" and v == "(":
            r = p_or()
            if take()[1] != ")":
                raise CcError(f"missing ) in {expr!r}")
            return r
        if k == "op" and v == "-":
            return -p_atom()
        raise CcError(f"unexpected {v!r} in {expr!r}")

    result = p_or()
    if i != len(toks):
        raise CcError(f"trailing tokens in {expr!r}")
    return result


def resolve(source: str, platform: str = "win64") -> str:
    consts = dict(PLATFORMS[platform])
    lines = source.split("\n")
    out = []
    # stack of [active_now, any_branch_taken, parent_active]
    stack: list[list[bool]] = []
    active = True
    for number, line in enumerate(lines, 1):
        m = DIRECTIVE.match(line.rstrip("\r"))
        if not m:
            out.append(line if active else ("\r" if line.endswith("\r") else ""))
            continue
        word = re.sub(r"\s+", "", m.group(1)).lower()
        rest = _strip_comment(m.group(2))
        try:
            if word == "const":
                if active:
                    name, _, expr = rest.partition("=")
                    consts[name.strip().lower()] = evaluate(expr, consts)
            elif word == "if":
                cond = rest[:-4].strip() if rest.lower().endswith(" then") else rest
                taken = active and bool(evaluate(cond, consts))
                stack.append([taken, taken, active])
                active = taken
            elif word == "elseif":
                if not stack:
                    raise CcError("#ElseIf without #If")
                frame = stack[-1]
                cond = rest[:-4].strip() if rest.lower().endswith(" then") else rest
                taken = frame[2] and not frame[1] and bool(evaluate(cond, consts))
                frame[0] = taken
                frame[1] = frame[1] or taken
                active = taken
            elif word == "else":
                if not stack:
                    raise CcError("#Else without #If")
                frame = stack[-1]
                taken = frame[2] and not frame[1]
                frame[0], frame[1] = taken, True
                active = taken
            else:  # end if
                if not stack:
                    raise CcError("#End If without #If")
                active = stack.pop()[2]
        except CcError as exc:
            raise CcError(f"line {number}: {exc}") from None
        out.append("\r" if line.endswith("\r") else "")
    if stack:
        raise CcError("#If without #End If at end of module")
    return "\n".join(out)
