"""What an uninstrumented frame does after the call it is paused in.

A pause that passes through an uninstrumented function (a plain helper, the library's own
``reply``) resumes *after the call into it*, in the nearest instrumented frame: that call
gets the resume value. This equals plain Python only when the function would return the
paused call's result untouched (``return reply(q)``, ``answer = reply(q); return answer``)
and no handler of its own surrounds the call (its ``finally`` or ``except`` would run during
the unwind, and never at the resume).
"""

from __future__ import annotations

import dis
from types import CodeType

from .versions import CALL_OPS, FAST_LOADS

#: Instructions that do nothing between a call and the return of its result.
_NOTHING = frozenset({"NOP", "CACHE", "EXTENDED_ARG"})


#: id(code) -> (code, {lasti: answer}); the code is kept so its id stays its own. Hashing a
#: code object hashes its bytecode and constants each time, which a pause cannot afford.
_answers: dict[int, tuple[CodeType, dict[int, bool]]] = {}
_MAX_CODES = 512


def returns_call_result(code: CodeType, lasti: int) -> bool:
    """Whether `code`, paused in the call at offset `lasti` (any of its inline-cache units),
    returns that call's result with nothing else done, and no handler around the call."""
    entry = _answers.get(id(code))
    if entry is None or entry[0] is not code:
        if len(_answers) >= _MAX_CODES:
            _answers.clear()
        entry = _answers[id(code)] = (code, {})
    known = entry[1]
    answer = known.get(lasti)
    if answer is None:
        answer = known[lasti] = _returns_call_result(code, lasti)
    return answer


def _returns_call_result(code: CodeType, lasti: int) -> bool:
    instructions = list(dis.get_instructions(code))
    index = _instruction_at(instructions, lasti)
    if index is None or instructions[index].opname not in CALL_OPS:
        return False
    offset = instructions[index].offset
    if any(entry.start <= offset < entry.end for entry in dis.Bytecode(code).exception_entries):
        return False
    return _returns_top(instructions[index + 1 :])


def _instruction_at(instructions: list[dis.Instruction], lasti: int) -> int | None:
    found = None
    for index, instruction in enumerate(instructions):
        if instruction.offset > lasti:
            break
        found = index
    return found


def _returns_top(rest: list[dis.Instruction]) -> bool:
    """Whether `rest` returns the value on top of the stack, at most by way of one local
    (``x = call(); return x``)."""
    stored = None
    for instruction in rest:
        name = instruction.opname
        if name in _NOTHING:
            continue
        if name == "RETURN_VALUE":
            return stored is None
        if name == "STORE_FAST" and stored is None:
            stored = instruction.argval
        elif name in FAST_LOADS and stored is not None and instruction.argval == stored:
            stored = None
        elif name == "STORE_FAST_LOAD_FAST" and stored is None:  # 3.13: both at once
            first, second = instruction.argval
            if first != second:
                return False
        else:
            return False
    return False
