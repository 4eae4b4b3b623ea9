"""AutoGRAMS 0.6.0's public surface (data/autograms-0.6.0-surface.json, made by
`make_surface`) and the rules by which this library's signatures are compared with it.

A signature *accepts* the original's calls when every call the original allowed still binds the
same way: each positional-or-keyword parameter keeps its name and position, a parameter that
had a default still has one, keyword-only parameters are still accepted by name, ``*args`` and
``**kwargs`` are still there, and no new parameter is required.
"""

from __future__ import annotations

import importlib
import inspect
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SURFACE_FILE = Path(__file__).resolve().parent / "data" / "autograms-0.6.0-surface.json"

P = inspect.Parameter


def load_surface() -> dict[str, dict[str, Any]]:
    return json.loads(SURFACE_FILE.read_text())


def original_names() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(module, name, description) of every public name of the original."""
    for module, names in load_surface().items():
        for name, entry in names.items():
            yield module, name, entry


def resolve(module: str, name: str) -> Any:
    """Our object for the original's ``module.name`` (AttributeError / ImportError if none)."""
    return getattr(importlib.import_module(module), name)


def signature_problems(ours: Any, theirs: list[list[Any]], *, method: bool = False) -> list[str]:
    """Why a call the original accepted would not bind to `ours` the same way (empty: none)."""
    signature = inspect.signature(ours)
    params = list(signature.parameters.values())
    if method and params and params[0].name == "self":
        params = params[1:]
    by_name = {p.name: p for p in params}
    positional = [p for p in params if p.kind in (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD)]
    has_args = any(p.kind is P.VAR_POSITIONAL for p in params)
    has_kwargs = any(p.kind is P.VAR_KEYWORD for p in params)
    problems: list[str] = []
    index = 0
    for name, kind, has_default in theirs:
        if kind == "VAR_POSITIONAL" and not has_args:
            problems.append(f"no *{name}")
        elif kind == "VAR_KEYWORD" and not has_kwargs:
            problems.append(f"no **{name}")
        elif kind == "KEYWORD_ONLY" and name not in by_name and not has_kwargs:
            problems.append(f"keyword {name!r} refused")
        elif kind == "POSITIONAL_OR_KEYWORD":
            problems += _positional_problems(name, index, has_default, positional, has_args)
            index += 1
    known = {name for name, _, _ in theirs}
    for param in params:
        required = param.default is P.empty and param.kind not in (P.VAR_POSITIONAL, P.VAR_KEYWORD)
        if required and param.name not in known:
            problems.append(f"new required parameter {param.name!r}")
    return problems


def _positional_problems(
    name: str, index: int, has_default: bool, positional: list[P], has_args: bool
) -> list[str]:
    if index >= len(positional):
        return [] if has_args else [f"positional parameter {index} ({name!r}) refused"]
    param = positional[index]
    if param.name != name:
        return [f"positional parameter {index} is {param.name!r}, was {name!r}"]
    if has_default and param.default is P.empty:
        return [f"{name!r} lost its default"]
    return []
