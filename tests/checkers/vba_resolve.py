"""Every identifier a VBA project uses, resolved: declared in the project, or defined by a
library the project references ("Variable not defined" and "User-defined type not defined"
are what Excel's Debug -> Compile would stop at).

Declarations, from the parse trees of `vba_syntax`: module names; module-level variables,
constants, Types, Enums and their members, Declares, Events, procedures; per procedure its
parameters, Dim/Static/Const and ReDim targets. Public members of standard modules and Public
Enums are project-wide; the rest is module-wide. Uses: the first name of every l-expression
(`a.b.c` -> `a`; what follows a "." belongs to an object), every type name (`As T`, `New T`,
`TypeOf x Is T`, `Implements T`), ReDim targets, For variables, `Debug`. A use resolves
innermost first: procedure, module, project, then the libraries (`vba_libraries`), which
count only if the project can see them: VBA and Excel always, others through its REFERENCE
records. In a module without `Option Explicit` an unknown value is an implicit Variant, yet
a library name whose library is not referenced is still reported: there it would silently
be an Empty variable (msoPicture would be 0, not 13).

`Module.X`, `Me.X` and `v.X` with `v` declared `As <project class>` are checked too: X must
be a member that module exposes.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Optional

from lark import Token, Tree

from . import vba_libraries, vba_syntax
from .vba_libraries import key

CLASS_BASE = "{FCFB3D2A-A0FA-1068-A738-08002B3371B5}"   # VB_Base of a class module
IMPLICIT_VARIANT = "(implicit Variant: no Option Explicit)"
_PROCEDURES = ("sub", "function", "property_get", "property_let_set")
_MODULE_DECLARATIONS = ("var_declaration", "const_declaration", "type_declaration", "enum_declaration",
                        "external_declaration", "event_declaration", "implements_directive")


@dataclass(frozen=True)
class Use:
    name: str
    module: str
    procedure: Optional[str]
    line: int
    kind: str                       # "value" or "type"


@dataclass
class Module:
    name: str
    kind: str                       # standard | class | document
    public: dict[str, str] = field(default_factory=dict)      # key -> what it is
    private: dict[str, str] = field(default_factory=dict)
    locals: dict[str, dict[str, str]] = field(default_factory=dict)   # procedure key -> its names
    types: dict[str, str] = field(default_factory=dict)       # "proc/var" or "/var" -> declared type
    uses: list[Use] = field(default_factory=list)
    member_uses: list[tuple[str, str, Optional[str], int]] = field(default_factory=list)  # head, member, proc, line
    explicit: bool = False


@dataclass(frozen=True)
class Outside:
    """A use that nothing in the project declares: the library it binds to (or None), and
    whether the project can see that library."""

    use: Use
    library: Optional[str]
    ok: bool


@dataclass
class Analysis:
    resolved: int
    outside: list[Outside]
    member_problems: list[str]

    @property
    def unresolved(self) -> list[Outside]:
        return [o for o in self.outside if not o.ok]

    def by_library(self) -> dict[str, set[str]]:
        """Library (or IMPLICIT_VARIANT) -> the keys of the names taken from it."""
        table: dict[str, set[str]] = defaultdict(set)
        for o in self.outside:
            table[o.library or "?"].add(key(o.use.name))
        return dict(table)


def module_kind(code: str) -> str:
    if re.search(r"^\s*VERSION\s+1\.0\s+CLASS", code, re.IGNORECASE | re.MULTILINE):
        return "class"
    base = re.search(r'Attribute\s+VB_Base\s*=\s*"0?(\{[^}]+\})', code, re.IGNORECASE)
    if not base:
        return "standard"
    return "class" if base.group(1).upper() == CLASS_BASE else "document"


def _first_name(tree: Tree) -> Optional[Token]:
    return next((c for c in tree.children if isinstance(c, Token) and c.type == "NAME"), None)


def _scope(tree: Tree) -> Optional[str]:
    return next((str(c.children[0]).lower() for c in tree.children if isinstance(c, Tree) and c.data == "scope"), None)


def _declared_type(node: Tree) -> Optional[str]:
    return next((".".join(str(x) for x in t.children[0].children) for t in node.find_data("type_name")), None)


def collect(name: str, code: str, platform: str) -> Module:
    """The declarations and uses of one module as the compiler of `platform` sees it."""
    module = Module(name, module_kind(code))
    tree = vba_syntax.parse_tree(code, platform)
    body = next(c for c in tree.children if isinstance(c, Tree) and c.data == "module_body")
    module.explicit = any(t.type == "OPTION_EXPLICIT" for o in body.find_data("option_stmt") for t in o.children)
    for declaration in (c for c in body.children if isinstance(c, Tree)):
        if declaration.data in _PROCEDURES:
            _procedure(module, declaration)
        else:
            _module_declaration(module, declaration)
        if declaration.data in _MODULE_DECLARATIONS:
            _collect_uses(declaration, module, None)
    return module


def _module_declaration(module: Module, node: Tree) -> None:
    scope = _scope(node)
    visible = module.public if scope in ("public", "global") else module.private
    if node.data == "var_declaration":
        for variable in node.find_data("var_decl"):
            _declare(visible, _first_name(variable), "variable")
            if _declared_type(variable):
                module.types["/" + key(_first_name(variable))] = _declared_type(variable)
    elif node.data == "const_declaration":
        for item in node.find_data("const_item"):
            _declare(visible, _first_name(item), "constant")
    elif node.data in ("type_declaration", "enum_declaration", "external_declaration", "event_declaration"):
        # Types, Enums, Declares and Events are Public unless declared Private
        target = module.private if scope == "private" else module.public
        _declare(target, _first_name(node), node.data.split("_")[0])
        for member in node.find_data("enum_member"):
            _declare(target, _first_name(member), "enum member")


def _procedure(module: Module, node: Tree) -> None:
    name = _first_name(node)
    _declare(module.private if _scope(node) == "private" else module.public, name, "procedure")
    names: dict[str, str] = {}
    for parameter in node.find_data("param"):
        _declare(names, _first_name(parameter), "parameter")
        if _declared_type(parameter):
            module.types[key(name) + "/" + key(_first_name(parameter))] = _declared_type(parameter)
    for dim in node.find_data("local_dim"):
        for variable in dim.find_data("var_decl"):
            _declare(names, _first_name(variable), "local variable")
            if _declared_type(variable):
                module.types[key(name) + "/" + key(_first_name(variable))] = _declared_type(variable)
    for const in node.find_data("local_const"):
        for item in const.find_data("const_item"):
            _declare(names, _first_name(item), "local constant")
    for redim in node.find_data("redim_item"):   # ReDim declares an array it does not find
        target = _first_name(redim)
        if target is not None:
            names.setdefault(key(target), "ReDim-declared array")
    module.locals[key(name)] = names
    _collect_uses(node, module, str(name))


def _declare(table: dict[str, str], token: Optional[Token], what: str) -> None:
    if token is not None:
        table[key(token)] = what


def _collect_uses(tree: Tree, module: Module, procedure: Optional[str]) -> None:
    def use(token, kind="value", name=None):
        module.uses.append(Use(name or str(token), module.name, procedure, token.line, kind))

    for node in tree.iter_subtrees():
        if node.data == "member" and len(node.children) == 2 and isinstance(node.children[0], Tree):
            head, member = node.children
            member = member.children[0] if isinstance(member, Tree) else member
            if head.data in ("name", "me"):
                head_name = str(head.children[0]) if head.data == "name" else "Me"
                module.member_uses.append((head_name, str(member), procedure, member.line))
        if node.data == "name":
            use(node.children[0])
        elif node.data == "type_name":
            use(node.children[0].children[0], "type")
        elif node.data == "redim_item" and _first_name(node) is not None:
            use(_first_name(node))
        elif node.data == "debug_print":
            use(node.children[0], name="Debug")
        elif node.data == "implements_directive":
            qualified = next(c for c in node.children if isinstance(c, Tree))
            use(qualified.children[0], "type")


def resolve(modules: list[Module], references: list[str]) -> Analysis:
    """Resolve every use of every module; `references` are the REFERENCE names of the dir stream."""
    project = _project_names(modules)
    visible = {library.lower() for library in (*vba_libraries.IMPLICIT, *references)}
    resolved, outside = 0, []
    for module in modules:
        for use in module.uses:
            if _declared(module, use, project):
                resolved += 1
                continue
            library = vba_libraries.library_of(use.name)
            ok = library is not None and library.lower() in visible
            if library is None and not module.explicit and use.kind == "value":
                library, ok = IMPLICIT_VARIANT, True
            outside.append(Outside(use, library, ok))
    return Analysis(resolved, outside, check_members(modules))


def _project_names(modules: list[Module]) -> dict[str, str]:
    project = {key(m.name): f"module {m.name}" for m in modules}
    for module in modules:
        for name, what in module.public.items():
            if module.kind == "standard" or what in ("enum", "enum member"):
                project.setdefault(name, f"{what} in {module.name}")
    return project


def _declared(module: Module, use: Use, project: dict[str, str]) -> bool:
    name = key(use.name)
    local = module.locals.get(key(use.procedure), {}) if use.procedure else {}
    return name in local or name in module.public or name in module.private or name in project


def check_members(modules: list[Module]) -> list[str]:
    """`X.M` where X is a project module, Me, or a variable declared As a project class: M must
    be a member X exposes (Public from another module; any member from its own)."""
    by_name = {key(m.name): m for m in modules}
    problems = []
    for module in modules:
        for head, member, procedure, line in module.member_uses:
            target, same = _member_target(module, by_name, head, procedure)
            if target is None or target.kind == "document":   # documents extend Excel's Workbook/Worksheet
                continue
            names = set(target.public) | (set(target.private) if same else set())
            if key(member) not in names:
                problems.append(f"{module.name}:{line} {head}.{member}: {target.name} has no such "
                                f"{'member' if same else 'Public member'}")
    return problems


def _member_target(module: Module, by_name: dict[str, Module], head: str, procedure: Optional[str]):
    """(module whose members `head.` names, whether that is the using module itself), or (None, False)."""
    name = key(head)
    if name == "me":
        return module, True
    if procedure and name in module.locals.get(key(procedure), {}):
        return _class_of(by_name, module.types.get(key(procedure) + "/" + name)), False
    if name in by_name and name not in module.public and name not in module.private:
        return by_name[name], by_name[name] is module
    return _class_of(by_name, module.types.get("/" + name)), False


def _class_of(by_name: dict[str, Module], declared: Optional[str]) -> Optional[Module]:
    if not declared or "." in declared:
        return None
    target = by_name.get(key(declared))
    return target if target is not None and target.kind != "standard" else None


def analyse(sources: dict[str, str], references: list[str], platform: str) -> Analysis:
    """Collect every module of `sources` (name -> stored code) and resolve it."""
    return resolve([collect(name, code, platform) for name, code in sources.items()], references)
