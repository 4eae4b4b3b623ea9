"""Data-flow stack effects: which value-stack items an instruction replaces, and with what.

`dis.stack_effect` (through ``Instr.stack_effect``) gives only the net change. The analysis
needs more: how many items an instruction *consumes* and how many *new* items it produces, so
that an item it merely peeks at (the exception under CHECK_EXC_MATCH, the iterator under
FOR_ITER, the list under LIST_APPEND) keeps its producer. Every instruction here produces
`outputs` items and consumes ``outputs - net``; the table lists the output counts that differ
from the default of one. COPY and SWAP are handled by the analysis itself.

`bytecode`'s own pre/post effects cannot be used for this: they report LOAD_METHOD,
BEFORE_WITH and friends as pure pushes (docs/engine.md, pitfall P4).
"""

from __future__ import annotations

from typing import Final

from bytecode import Instr

from .versions import (
    FOR_ITER_EXIT_POPS,
    HAS_PRECALL,
    LOAD_ATTR_HAS_METHOD_FLAG,
    NULL_BELOW_CALLABLE,
)

#: The item is an object.
OBJECT: Final = 1
#: The item is NULL (pushed by PUSH_NULL or a NULL-flagged load).
NULL: Final = 2
#: Either; only a run-time check could tell, so it can be neither saved nor copied.
MAYBE_NULL: Final = OBJECT | NULL

# Instructions that push nothing (consumed = -net).
_NO_OUTPUT: Final = frozenset(
    {
        "NOP",
        "RESUME",
        "CACHE",
        "EXTENDED_ARG",
        "MAKE_CELL",
        "COPY_FREE_VARS",
        "KW_NAMES",
        "PRECALL",
        "SETUP_ANNOTATIONS",
        "POP_TOP",
        "STORE_FAST",
        "STORE_DEREF",
        "STORE_GLOBAL",
        "STORE_NAME",
        "STORE_ATTR",
        "STORE_SUBSCR",
        "STORE_SLICE",
        "DELETE_FAST",
        "DELETE_DEREF",
        "DELETE_GLOBAL",
        "DELETE_NAME",
        "DELETE_ATTR",
        "DELETE_SUBSCR",
        "POP_JUMP_IF_TRUE",
        "POP_JUMP_IF_FALSE",
        "POP_JUMP_IF_NONE",
        "POP_JUMP_IF_NOT_NONE",
        "POP_JUMP_FORWARD_IF_TRUE",
        "POP_JUMP_FORWARD_IF_FALSE",
        "POP_JUMP_FORWARD_IF_NONE",
        "POP_JUMP_FORWARD_IF_NOT_NONE",
        "POP_JUMP_BACKWARD_IF_TRUE",
        "POP_JUMP_BACKWARD_IF_FALSE",
        "POP_JUMP_BACKWARD_IF_NONE",
        "POP_JUMP_BACKWARD_IF_NOT_NONE",
        "JUMP_IF_TRUE_OR_POP",
        "JUMP_IF_FALSE_OR_POP",
        "JUMP_FORWARD",
        "JUMP_BACKWARD",
        "JUMP_BACKWARD_NO_INTERRUPT",
        "RETURN_VALUE",
        "RETURN_CONST",
        "RAISE_VARARGS",
        "RERAISE",
        "POP_EXCEPT",
        "LIST_APPEND",
        "SET_ADD",
        "MAP_ADD",
        "LIST_EXTEND",
        "SET_UPDATE",
        "DICT_UPDATE",
        "DICT_MERGE",
        "IMPORT_STAR",
        "PRINT_EXPR",
        "END_FOR",
        "EXIT_INIT_CHECK",
    }
)

# Instructions that always push two items.
_TWO_OUTPUTS: Final = frozenset({"LOAD_METHOD", "BEFORE_WITH", "PUSH_EXC_INFO", "CHECK_EG_MATCH"})

# Loads whose low argument bit asks for a second, NULL-or-self item.
_FLAGGED_PAIR_LOADS: Final = frozenset({"LOAD_GLOBAL", "LOAD_ATTR", "LOAD_SUPER_ATTR"})

# Instructions that push as many items as their argument says (they consume exactly one).
_UNPACKERS: Final = frozenset({"UNPACK_SEQUENCE", "UNPACK_EX"})


def net_effect(instr: Instr, jump: bool) -> int:
    """Net change of stack depth when `instr` falls through (jump=False) or jumps."""
    if HAS_PRECALL:
        # 3.11's dis charges the popped arguments to PRECALL and only the callable pair to
        # CALL; in data-flow terms PRECALL touches nothing and CALL takes everything.
        if instr.name == "PRECALL":
            return 0
        if instr.name == "CALL":
            return -(instr.arg + 1)
    return instr.stack_effect(jump=jump)


def has_pair_flag(instr: Instr) -> bool:
    """Whether a flagged load pushes a second item (NULL, self or the method)."""
    if instr.name not in _FLAGGED_PAIR_LOADS or not isinstance(instr.arg, tuple):
        return False
    if instr.name == "LOAD_ATTR" and not LOAD_ATTR_HAS_METHOD_FLAG:
        return False
    return bool(instr.arg[0])


def output_count(instr: Instr, jump: bool) -> int:
    """How many new items `instr` pushes on the given edge."""
    name = instr.name
    if name in _UNPACKERS:
        return 1 + net_effect(instr, jump)
    if name == "FOR_ITER":
        # Exhausted: 3.11 pops the iterator; 3.12+ jumps to END_FOR with [iter, next], a
        # bookkeeping pair END_FOR discards (the interpreter itself skips END_FOR).
        return 0 if jump and FOR_ITER_EXIT_POPS else 1
    if name in ("JUMP_IF_TRUE_OR_POP", "JUMP_IF_FALSE_OR_POP"):
        return 0
    if name in _NO_OUTPUT:
        return 0
    if name in _TWO_OUTPUTS or has_pair_flag(instr):
        return 2
    return 1


def consumed_count(instr: Instr, jump: bool) -> int:
    """How many items `instr` removes from the top of the stack on the given edge."""
    return output_count(instr, jump) - net_effect(instr, jump)


def output_nullness(instr: Instr, count: int) -> tuple[int, ...]:
    """Nullness of each output, deepest first."""
    name = instr.name
    if name == "PUSH_NULL":
        return (NULL,)
    if name == "LOAD_FAST_AND_CLEAR":
        return (MAYBE_NULL,)
    if count == 2 and name == "LOAD_GLOBAL":
        return (NULL, OBJECT) if NULL_BELOW_CALLABLE else (OBJECT, NULL)
    if count == 2 and name in ("LOAD_ATTR", "LOAD_METHOD", "LOAD_SUPER_ATTR"):
        # [method | NULL, self | attribute] before 3.13, [attribute | method, NULL | self] on 3.13
        return (MAYBE_NULL, OBJECT) if NULL_BELOW_CALLABLE else (OBJECT, MAYBE_NULL)
    return (OBJECT,) * count


def is_pair_load(instr: Instr) -> bool:
    """A load whose two outputs (callable and NULL/self) must be re-created together."""
    return instr.name == "LOAD_METHOD" or has_pair_flag(instr)
