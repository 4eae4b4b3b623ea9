"""Finding a bot's decorated functions in its module AST, at any nesting."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from .spelling import Spelling

ROOT_NAME = "chatbot"

_FunctionDef = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True, slots=True)
class Decorated:
    """One function decorated with ``@autograms_function`` or ``@autograms_node``."""

    fn_def: ast.FunctionDef | ast.AsyncFunctionDef
    name: str  #: display name: dotted path of classes and functions, ``@line`` if redefined
    decorator: str  #: ``autograms_function`` or ``autograms_node``


def find_decorated(module: ast.Module, spelling: Spelling) -> list[Decorated]:
    """The decorated functions of `module`: the root ``chatbot`` first, then in source order."""
    found: list[Decorated] = []
    seen: set[str] = set()
    pending: list[tuple[ast.AST, tuple[str, ...]]] = [(module, ())]
    while pending:
        scope, path = pending.pop()
        for child in ast.iter_child_nodes(scope):
            if isinstance(child, _FunctionDef | ast.ClassDef):
                pending.append((child, (*path, child.name)))
            if isinstance(child, _FunctionDef) and (kind := spelling.decorator(child)):
                name = ".".join((*path, child.name))
                if name in seen:
                    name = f"{name}@{child.lineno}"
                seen.add(name)
                found.append(Decorated(child, name, kind))
    found.sort(key=lambda item: (item.name != ROOT_NAME, item.fn_def.lineno))
    return found
