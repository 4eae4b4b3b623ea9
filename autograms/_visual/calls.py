"""What the calls in one statement mean to the graph: ADDRESS labels, pauses, jumps, calls
into decorated functions."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .model import EdgeKind
from .source import Source
from .spelling import Spelling

PAUSE_NAMES = frozenset({"reply", "reply_instruction", "reply_suffix", "EXIT"})
JUMP_KINDS = {"GOTO": EdgeKind.GOTO, "RETURNTO": EdgeKind.RETURNTO}

# Calls inside these run later or elsewhere, not as part of the statement.
_OPAQUE = (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


@dataclass(frozen=True, slots=True)
class Jump:
    """A GOTO, RETURNTO or TRANSITION call and where it may lead."""

    kind: EdgeKind  #: GOTO, RETURNTO or TRANSITION
    #: (edge label, destination label); the destination is None when computed at run time
    targets: tuple[tuple[str, str | None], ...]


@dataclass(frozen=True, slots=True)
class Facts:
    """The calls of one statement (or compound-statement header) that shape the graph."""

    addresses: tuple[str, ...] = ()  #: ADDRESS= labels, outermost call first
    pause: str | None = None  #: name of the first pausing call
    calls: tuple[str, ...] = ()  #: display names of decorated functions called
    jump: Jump | None = None

    @property
    def starts_node(self) -> bool:
        """Whether the statement begins a node of its own."""
        return bool(self.addresses or self.pause or self.calls or self.jump)


class CallReader:
    """Reads `Facts` from expressions, knowing the module's spelling and decorated functions."""

    def __init__(self, spelling: Spelling, decorated: Mapping[str, str], source: Source) -> None:
        self.spelling = spelling
        self.decorated = decorated  #: simple name -> display name of a decorated function
        self.source = source

    def facts(self, exprs: Iterable[ast.AST]) -> Facts:
        """The facts of every call inside `exprs`, in source order."""
        addresses: list[str] = []
        calls: list[str] = []
        pause = None
        jump = None
        for call in _calls_in(exprs):
            name = self.spelling.name_of(call.func)
            for keyword in call.keywords:
                if keyword.arg == "ADDRESS":
                    addresses.append(self._label(keyword.value))
            if name in PAUSE_NAMES and pause is None:
                pause = name
            elif name in self.decorated and self.decorated[name] not in calls:
                calls.append(self.decorated[name])
            if jump is None and name in JUMP_KINDS:
                destination = _argument(call, 0, "destination")
                jump = Jump(JUMP_KINDS[name], ((name, self._destination(destination)),))
            elif jump is None and name == "TRANSITION":
                jump = Jump(EdgeKind.TRANSITION, self._choices(_argument(call, 1, "transitions")))
        return Facts(tuple(addresses), pause, tuple(calls), jump)

    def _label(self, expr: ast.expr) -> str:
        text = self.spelling.string(expr)
        return text if text is not None else self.source.segment(expr)

    def _destination(self, expr: ast.expr | None) -> str | None:
        return None if expr is None else self.spelling.string(expr)

    def _choices(self, expr: ast.expr | None) -> tuple[tuple[str, str | None], ...]:
        if not isinstance(expr, ast.Dict) or any(key is None for key in expr.keys):
            label = "computed at run time" if expr is None else self.source.segment(expr)
            return ((label, None),)
        return tuple(
            (self._label(key), self.spelling.string(value))
            for key, value in zip(expr.keys, expr.values, strict=True)
        )


def _argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    for item in call.keywords:
        if item.arg == keyword:
            return item.value
    if len(call.args) > position and not isinstance(call.args[position], ast.Starred):
        return call.args[position]
    return None


def _calls_in(exprs: Iterable[ast.AST]) -> list[ast.Call]:
    found = []
    stack = list(exprs)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Call):
            found.append(node)
        children = ast.iter_child_nodes(node)
        stack.extend(child for child in children if not isinstance(child, _OPAQUE))
    return sorted(found, key=lambda call: (call.lineno, call.col_offset))
