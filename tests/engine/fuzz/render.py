"""Render a `Program` as Python source, in one of two flavours.

* ``engine`` -- the program as a user writes it: ``autograms`` imports, GOTO/RETURNTO,
  ``ADDRESS=`` labels. Run through `Autogram`.
* ``reference`` -- the same program for the oracle (`oracle`): imports from the oracle's
  stand-ins, regions as loops (`reference`), pauses the engine must refuse marked so the
  oracle raises ContinuationError there.

A pause the engine must refuse is written ``__refused__reply(...)`` in the model; it renders
as ``reply(...)`` in the engine flavour and ``refused_reply(...)`` in the reference.
"""

from __future__ import annotations

import re

from . import prelude, reference
from .model import Compound, Node, Program, Region, Stmt, walk

ENGINE = "engine"
REFERENCE = "reference"
REFUSED_MARK = "__refused__reply("

#: where each name a program may use comes from, per flavour
_ENGINE_IMPORTS = {
    "autograms": ["autograms_function"],
    "autograms.functional": ["GOTO", "RETURNTO", "reply"],
    "autograms.memory": ["init_user_globals", "set_persistent_globals"],
}
ORACLE_MODULE = "tests.engine.fuzz.oracle"
_REFERENCE_NAMES = [
    "GOTO",
    "Jump",
    "RETURNTO",
    "autograms_function",
    "init_user_globals",
    "refused_reply",
    "reply",
    "set_persistent_globals",
]

_PAD = "    "


def render(program: Program, flavor: str = ENGINE) -> str:
    """The program as a module's source."""
    body = "\n".join(render_block(program.body, 0, flavor))
    body = _substitute(body, flavor)
    support_imports, support = prelude.support_for(body)
    support = _substitute(support, flavor)
    used = body + "\n" + support
    parts = [_imports(used, flavor), support_imports, support, body]
    return "\n\n\n".join(part for part in parts if part) + "\n"


def _substitute(text: str, flavor: str) -> str:
    if flavor == ENGINE:
        return text.replace(REFUSED_MARK, "reply(")
    return reference.strip_address(text.replace(REFUSED_MARK, "refused_reply("))


def _uses(text: str, name: str) -> bool:
    return re.search(rf"(?<![\w.]){name}\b", text) is not None


def _imports(text: str, flavor: str) -> str:
    if flavor == ENGINE:
        lines = []
        for module, names in _ENGINE_IMPORTS.items():
            used = [name for name in names if _uses(text, name)]
            if used:
                lines.append(f"from {module} import {', '.join(used)}")
        return "\n".join(lines)
    used = [name for name in _REFERENCE_NAMES if _uses(text, name)]
    return f"from {ORACLE_MODULE} import {', '.join(used)}" if used else ""


def engine_imports_to_reference(source: str) -> str:
    """An engine-flavour module with no region and no refused pause, turned into its
    reference: only the imports differ (and ``ADDRESS=`` keywords go)."""
    names: list[str] = []
    kept: list[str] = []
    for line in source.splitlines():
        if line.startswith("from autograms"):
            names += [name.strip() for name in line.split(" import ", 1)[1].split(",")]
        else:
            kept.append(line)
    header = f"from {ORACLE_MODULE} import {', '.join(sorted(names))}" if names else ""
    return reference.strip_address(header + "\n" + "\n".join(kept) + "\n")


def render_block(body: list[Node], depth: int, flavor: str) -> list[str]:
    """The lines of a statement list at indentation `depth`."""
    if not body:
        return [_PAD * depth + "pass"]
    lines: list[str] = []
    for index, node in enumerate(body):
        if index and _needs_blank_lines(node, body[index - 1]):
            lines += [""] * (2 if depth == 0 else 1)
        lines += _render_node(node, depth, flavor)
    return lines


def _is_definition(node: Node) -> bool:
    if not isinstance(node, Compound):
        return False
    header = node.clauses[0].header.splitlines()[-1]
    return header.startswith(("def ", "class "))


def _needs_blank_lines(node: Node, previous: Node) -> bool:
    return _is_definition(node) or _is_definition(previous)


def _render_node(node: Node, depth: int, flavor: str) -> list[str]:
    pad = _PAD * depth
    if isinstance(node, Stmt):
        return [pad + line if line else "" for line in node.text.splitlines()]
    if isinstance(node, Region):
        if flavor == ENGINE:
            return render_block(node.body, depth, flavor)
        inner = render_block(node.body, depth + 2, flavor)
        return reference.wrap_region(node.label, inner, pad)
    lines: list[str] = []
    for clause in node.clauses:
        lines += [pad + line for line in clause.header.splitlines()]
        lines += render_block(clause.body, depth + 1, flavor)
    return lines


def needs_own_reference(program: Program) -> bool:
    """Whether the reference differs from the engine flavour beyond its imports (a region
    or a pause the engine must refuse)."""
    return any(isinstance(node, Region) for node in walk(program.body)) or (
        "refused_reply(" in render(program, REFERENCE)
    )
