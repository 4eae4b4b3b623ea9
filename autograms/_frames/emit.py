"""Version-aware builders for the short instruction sequences the engine inserts.

Each builder returns a list of `bytecode.Instr`. Calls always pass a function object as a
constant, so the engine's inserted code reads no global and cannot be shadowed by user names.
Conditional jumps are forward-only (3.12+ has no backward ones); callers lay code out so that
dispatch chains come before their targets and stubs jump back with `jump_backward`.
"""

from __future__ import annotations

from typing import Any

from bytecode import Compare, Instr, Label
from bytecode.instr import InstrLocation

from .versions import (
    CHECKED_LOAD_FAST,
    COND_JUMP_IF_FALSE,
    COND_JUMP_IF_TRUE,
    HAS_PRECALL,
    NULL_BELOW_CALLABLE,
    PY312,
)

Location = InstrLocation | None


_NO_ARG: Any = object()


def instr(name: str, arg: Any = _NO_ARG, location: Location = None) -> Instr:
    if arg is _NO_ARG:
        return Instr(name, location=location)
    return Instr(name, arg, location=location)


def call(
    function: Any, arguments: list[Instr], count: int, location: Location = None
) -> list[Instr]:
    """Call `function` (a constant) with `count` arguments pushed by `arguments`.

    Inside `arguments`, items that were on the stack before the call sit two deeper
    (under the callable and its NULL).
    """
    return call_loaded([instr("LOAD_CONST", function, location)], arguments, count, location)


def call_loaded(
    load: list[Instr], arguments: list[Instr], count: int, location: Location = None
) -> list[Instr]:
    """Call the callable that `load` pushes (one item) with `count` arguments."""
    null = instr("PUSH_NULL", location=location)
    head = [null, *load] if NULL_BELOW_CALLABLE else [*load, null]
    return head + arguments + call_only(count, location)


def call_only(count: int, location: Location = None) -> list[Instr]:
    """The call instruction(s) for a callable pair and `count` arguments already pushed."""
    tail = [instr("PRECALL", count, location)] if HAS_PRECALL else []
    return tail + [instr("CALL", count, location)]


def load_attr(name: str, location: Location = None) -> Instr:
    """Replace the object on top of the stack by its attribute `name`."""
    return instr("LOAD_ATTR", (False, name) if PY312 else name, location)


def jump_if_true(target: Label, location: Location = None) -> Instr:
    """Pop a bool and jump forward to `target` if it is True."""
    return instr(COND_JUMP_IF_TRUE, target, location)


def jump_if_false(target: Label, location: Location = None) -> Instr:
    """Pop a bool and jump forward to `target` if it is False."""
    return instr(COND_JUMP_IF_FALSE, target, location)


def jump_forward(target: Label, location: Location = None) -> Instr:
    return instr("JUMP_FORWARD", target, location)


def jump_backward(target: Label, location: Location = None) -> Instr:
    return instr("JUMP_BACKWARD", target, location)


def load_local_checked(name: str, location: Location = None) -> Instr:
    """Load a local that a stub expects bound; raises instead of crashing if it is not."""
    return instr(CHECKED_LOAD_FAST, name, location)


#: Cases a dispatch tests one after the other; a dispatch on more halves them first, so that
#: resuming a function with hundreds of call sites costs a few comparisons, not hundreds.
LINEAR_CASES = 8


def dispatch_on_int(cases: list[tuple[int, Label]], location: Location = None) -> list[Instr]:
    """With an int on top of the stack, jump to the label of the matching case.

    The int stays on the stack on every path; falls through when nothing matches.
    """
    if len(cases) <= LINEAR_CASES:
        return _test_each(cases, location)
    end = Label()
    return [*_bisect(sorted(cases, key=lambda case: case[0]), end, location), end]


def _bisect(cases: list[tuple[int, Label]], end: Label, location: Location) -> list[Instr]:
    """Dispatch on `cases` (sorted by value): below the middle value, the lower half's
    dispatch; else a forward jump to the upper half's. Both reach `end` when nothing matches
    (all jumps are forward: the lower half's code comes first)."""
    if len(cases) <= LINEAR_CASES:
        return [*_test_each(cases, location), jump_forward(end, location)]
    middle = len(cases) // 2
    upper = Label()
    return [
        instr("COPY", 1, location),
        instr("LOAD_CONST", cases[middle][0], location),
        instr("COMPARE_OP", Compare.LT, location),
        jump_if_false(upper, location),
        *_bisect(cases[:middle], end, location),
        upper,
        *_bisect(cases[middle:], end, location),
    ]


def _test_each(cases: list[tuple[int, Label]], location: Location) -> list[Instr]:
    code: list[Instr] = []
    for value, target in cases:
        code += [
            instr("COPY", 1, location),
            instr("LOAD_CONST", value, location),
            instr("COMPARE_OP", Compare.EQ, location),
            jump_if_true(target, location),
        ]
    return code
