"""Readable listings of an instrumented function, for debugging the engine.

`format_instrumented(fn)` prints, as `dis` would, the function's call sites (what a pause at
each must rebuild, or why it is refused), its instrumented code and its resume twin. Line
numbers count from the ``def`` line (+0), so a listing does not change when the function
moves in its file. Each call instruction is tagged with its site; a twin's resume-stub calls
are tagged ``stub``.

    python -c "import mybot; from autograms._frames.listing import format_instrumented; \\
               print(format_instrumented(mybot.chatbot))"
"""

from __future__ import annotations

import dis
import re
from collections.abc import Callable
from types import CodeType
from typing import Any

from .records import CallSite, Recipe, RecipeKind
from .registry import FunctionInfo, lookup
from .code_cache import twin_of


def format_instrumented(function: Callable[..., Any], *, twin: bool = True) -> str:
    """The call sites, instrumented code and (with `twin`) resume twin of `function`."""
    info = _info_of(function)
    parts = [
        f"{info.module}.{info.qualname} ({info.filename}, def at line {_first_line(info)})",
        "",
        "call sites:",
        *[_format_site(info, site) for site in info.sites],
        "",
        f"instrumented code ({_locals_note(info, info.normal_code)}):",
        *_format_code(info, info.normal_code, info.site_map, frozenset()),
    ]
    if twin:
        built = twin_of(info)
        parts += [
            "",
            f"resume twin ({_locals_note(info, built.code)}):",
            *_format_code(info, built.code, built.site_map, built.stub_offsets),
        ]
    return "\n".join(parts) + "\n"


def _info_of(function: Any) -> FunctionInfo:
    function = getattr(function, "__func__", function)  # methods, staticmethod, classmethod
    info = lookup(getattr(function, "__code__", None))
    if info is None:
        raise TypeError(f"{function!r} is not an instrumented function")
    return info


def _first_line(info: FunctionInfo) -> int:
    return info.original_code.co_firstlineno


def _relative(info: FunctionInfo, line: int | None) -> str:
    if line is None or line < 0:
        return ""
    return f"+{line - _first_line(info)}"


def _format_site(info: FunctionInfo, site: CallSite) -> str:
    head = f"  site {site.index:<3} line {_relative(info, site.lineno):<5}"
    if site.label is not None:
        head += f" ADDRESS {site.label!r}"
    if site.refusal is not None:
        return f"{head} refused ({site.refusal.reason}): {site.refusal.problem}"
    items = ", ".join(_format_recipe(info, recipe) for recipe in site.recipes) or "nothing"
    text = f"{head} rebuilds {items}"
    if site.label is not None and site.goto_refusal is not None:
        text += f"; not a jump target: {site.goto_refusal.problem}"
    return text


def _format_recipe(info: FunctionInfo, recipe: Recipe) -> str:
    if recipe.kind is RecipeKind.SPILL:
        return f"[{recipe.slot}] {recipe.name}"
    if recipe.kind is RecipeKind.EXCEPT_STATE:
        return f"[{recipe.slot}] except {recipe.name}"
    if recipe.kind is RecipeKind.NULL:
        return f"[{recipe.slot}] PUSH_NULL"
    load = info.flow.instrs[recipe.load]
    inner = ", ".join(_format_recipe(info, part) for part in recipe.inputs)
    argument = "" if load.name == "PUSH_NULL" else f" {_argument_text(load.name, load.arg)}"
    width = f"..{recipe.slot + recipe.width - 1}" if recipe.width > 1 else ""
    return f"[{recipe.slot}{width}] {load.name}{argument}" + (f" of ({inner})" if inner else "")


def _argument_text(name: str, argument: Any) -> str:
    if name == "LOAD_CONST":
        return _ADDRESS.sub("", repr(argument))
    if isinstance(argument, tuple) and isinstance(argument[0], bool):
        return str(argument[-1])  # a flagged name
    return str(getattr(argument, "name", argument))  # a name, a local, a cell


def _locals_note(info: FunctionInfo, code: CodeType) -> str:
    own = len(info.original_code.co_varnames)
    hidden = code.co_varnames[own:]
    return f"hidden locals: {', '.join(hidden)}" if hidden else "no hidden locals"


_ADDRESS = re.compile(r" at 0x[0-9a-f]+")
_JUMPS = frozenset(dis.hasjrel) | frozenset(dis.hasjabs)


def _argument_repr(instruction: dis.Instruction) -> str:
    """`dis`'s text for the argument (the number where it has none), without the memory
    addresses of the engine's function constants, so listings compare across runs."""
    if instruction.opcode in _JUMPS:
        return f"to {instruction.argval}"  # an offset on every version (3.13's dis says L<n>)
    text = instruction.argrepr
    if not text and instruction.arg is not None:
        text = str(instruction.arg)
    return _ADDRESS.sub("", text)


def _format_code(
    info: FunctionInfo, code: CodeType, site_map: dict[int, int], stubs: frozenset[int]
) -> list[str]:
    lines = []
    line = None
    for instruction in dis.get_instructions(code):
        if instruction.opname == "CACHE":
            continue
        new_line = instruction.positions.lineno if instruction.positions else None
        shown = _relative(info, new_line) if new_line != line and new_line is not None else ""
        line = new_line if new_line is not None else line
        target = ">>" if instruction.is_jump_target else ""
        tag = ""
        if instruction.offset in site_map:
            tag = "stub " if instruction.offset in stubs else "site "
            tag += str(site_map[instruction.offset])
        lines.append(
            f"  {shown:>5} {target:>2} {instruction.offset:>5} {instruction.opname:<24} "
            f"{_argument_repr(instruction):<30} {tag}".rstrip()
        )
    lines.append("  exception table:")
    for entry in dis.Bytecode(code).exception_entries:
        lasti = " lasti" if entry.lasti else ""
        lines.append(f"    {entry.start} to {entry.end} -> {entry.target} [{entry.depth}]{lasti}")
    return lines
