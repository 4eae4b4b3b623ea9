"""What an uninstrumented frame does after the call it is paused in.

A pause that passes through an uninstrumented function (a plain helper, the library's own
``reply``) resumes *after the call into it*, in the nearest instrumented frame, which gets
what the helper would have returned. That is plain Python's result when the helper, after
the paused call, only returns: the call's result untouched (``return reply(q)``, ``answer =
reply(q); return answer``), or a constant whatever the call gave (``reply(q)`` as the
helper's last statement returns None) -- and when no handler of its own surrounds the call
(its ``finally`` or ``except`` would run during the unwind, and never at the resume).
"""

from __future__ import annotations

import dis
from types import CodeType
from typing import Any, Final

from .._record import Record
from .memo import remember
from .versions import CALL_OPS, FAST_LOADS


class Constant(Record):
    """A helper returns `value`, whatever its paused call returns."""

    __slots__ = ("value",)

    value: Any

    def __init__(self, value: Any) -> None:
        self.value = value


#: A helper returns what its paused call returns.
SAME: Final = object()

#: Instructions that do nothing between a call and the return of its result.
_NOTHING = frozenset({"NOP", "CACHE", "EXTENDED_ARG"})

#: id(code) -> (code, {lasti: result}); the code is kept so its id stays its own. Hashing a
#: code object hashes its bytecode and constants each time, which a pause cannot afford.
_results: dict[int, tuple[CodeType, dict[int, Any]]] = {}
_MAX_CODES = 512


def pause_result(code: CodeType, lasti: int) -> Any:
    """What `code`, paused in the call at offset `lasti` (any of its inline-cache units),
    returns once that call returns: `SAME`, a `Constant`, or None when it does anything
    else first, or a handler of its own surrounds the call."""
    entry = _results.get(id(code))
    if entry is None or entry[0] is not code:
        entry = (code, {})
        remember(_results, id(code), entry, _MAX_CODES)
    known = entry[1]
    if lasti not in known:
        known[lasti] = _pause_result(code, lasti)
    return known[lasti]


def _pause_result(code: CodeType, lasti: int) -> Any:
    instructions = [i for i in dis.get_instructions(code) if i.opname not in _NOTHING]
    index = _instruction_at(instructions, lasti)
    if index is None or instructions[index].opname not in CALL_OPS:
        return None
    offset = instructions[index].offset
    if any(entry.start <= offset < entry.end for entry in dis.Bytecode(code).exception_entries):
        return None
    rest = [(i.opname, i.argval) for i in instructions[index + 1 : index + 4]]
    return _result_of(rest)


def _instruction_at(instructions: list[dis.Instruction], lasti: int) -> int | None:
    found = None
    for index, instruction in enumerate(instructions):
        if instruction.offset > lasti:
            break
        found = index
    return found


def _result_of(rest: list[tuple[str, Any]]) -> Any:
    """What the instructions `rest`, run with the call's result on top, return."""
    first = rest[0] if rest else ("", None)
    if first[0] == "RETURN_VALUE":
        return SAME
    if first[0] == "POP_TOP":
        return _constant_return(rest[1:])
    if first[0] == "STORE_FAST_LOAD_FAST" and first[1][0] == first[1][1]:  # 3.13
        return SAME if rest[1:2] == [("RETURN_VALUE", None)] else None
    if first[0] == "STORE_FAST" and len(rest) >= 3:
        loaded, returned = rest[1], rest[2]
        if loaded[0] in FAST_LOADS and loaded[1] == first[1] and returned[0] == "RETURN_VALUE":
            return SAME
    return None


def _constant_return(rest: list[tuple[str, Any]]) -> Constant | None:
    if rest and rest[0][0] == "RETURN_CONST":
        return Constant(rest[0][1])
    if len(rest) >= 2 and rest[0][0] == "LOAD_CONST" and rest[1][0] == "RETURN_VALUE":
        return Constant(rest[0][1])
    return None
