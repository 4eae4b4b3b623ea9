"""Facts about the running CPython's bytecode, and the refusal of versions the engine does not know.

This is the only module of the engine that reads ``sys.version_info``. Everything version-specific
elsewhere is a membership test on the tables below or a feature-named flag, so each porting
decision is written down once, here, with the CPython change that motivates it.
"""

from __future__ import annotations

import sys
from typing import Final

from .errors import Reason, UnsupportedPythonError

SUPPORTED: Final = ((3, 11), (3, 12), (3, 13))

PY_MINOR: Final[tuple[int, int]] = (sys.version_info[0], sys.version_info[1])

if PY_MINOR not in SUPPORTED or sys.implementation.name != "cpython":
    _names = ", ".join(f"{major}.{minor}" for major, minor in SUPPORTED)
    raise UnsupportedPythonError(
        f"{sys.implementation.name} {PY_MINOR[0]}.{PY_MINOR[1]} is not supported by the "
        f"continuation engine (CPython {_names} are); its bytecode layout is unknown to it",
        reason=Reason.UNSUPPORTED_PYTHON,
    )

PY312: Final = PY_MINOR >= (3, 12)
PY313: Final = PY_MINOR >= (3, 13)

# 3.11/3.12 call sequence is [NULL, callable, args]; 3.13 swapped it to [callable, NULL, args]
# (gh-107149 moved the NULL above the callable).
NULL_BELOW_CALLABLE: Final = not PY313
# 3.11 emits PRECALL before every CALL (removed in 3.12, gh-102859).
HAS_PRECALL: Final = not PY312
#: Instructions between a call's arguments (and keyword names) and the call itself.
CALL_PREFIX_OPS: Final = frozenset({"PRECALL"}) if HAS_PRECALL else frozenset()
#: How far before a call its KW_NAMES instruction sits (KW_NAMES [PRECALL] CALL; 3.11/3.12).
KW_NAMES_DISTANCE: Final = 1 + len(CALL_PREFIX_OPS)
# 3.11/3.12 pass keyword names with a KW_NAMES instruction; 3.13 pushes the tuple and uses
# CALL_KW (gh-113570).
KW_NAMES_ON_STACK: Final = PY313
# 3.12 folded LOAD_METHOD into LOAD_ATTR, whose low argument bit asks for the method pair
# (gh-93429); 3.11's LOAD_ATTR takes a plain name.
LOAD_ATTR_HAS_METHOD_FLAG: Final = PY312
# An exhausted 3.11 FOR_ITER pops its iterator and jumps; 3.12+ jumps to END_FOR with
# [iterator, value] still pushed and the interpreter skips the END_FOR (3.13: the POP_TOP
# after it too), so nothing may be inserted at those instructions.
FOR_ITER_EXIT_POPS: Final = not PY312
FOR_ITER_EXIT_SKIPS: Final = 2 if PY313 else 1 if PY312 else 0
# 3.12+ LOAD_FAST does not check for NULL (only LOAD_FAST_CHECK does, gh-93143): restoring a
# frame with a missing local that the compiler proved bound would crash the interpreter.
LOAD_FAST_CHECKS_NULL: Final = not PY312
UNCHECKED_LOAD_OPS: Final = frozenset() if LOAD_FAST_CHECKS_NULL else frozenset({"LOAD_FAST"})
# 3.11 has direction-specific conditional jumps; 3.12+ conditional jumps are forward-only.
COND_JUMP_IF_TRUE: Final = "POP_JUMP_IF_TRUE" if PY312 else "POP_JUMP_FORWARD_IF_TRUE"
COND_JUMP_IF_FALSE: Final = "POP_JUMP_IF_FALSE" if PY312 else "POP_JUMP_FORWARD_IF_FALSE"
# Loading a local that may be unbound without crashing (3.11's LOAD_FAST always checks).
CHECKED_LOAD_FAST: Final = "LOAD_FAST_CHECK" if PY312 else "LOAD_FAST"
# 3.13 superinstructions that `bytecode` 0.19.1 miscompiles when a local index reaches 16
# (its check is `> 16` instead of `>= 16`); the engine splits them into single instructions.
DUAL_LOCAL_OPS: Final = (
    frozenset({"LOAD_FAST_LOAD_FAST", "STORE_FAST_LOAD_FAST", "STORE_FAST_STORE_FAST"})
    if PY313
    else frozenset()
)
# `bytecode` refuses STORE_FAST to a cell slot before 3.13, so the engine stores through a
# placeholder local and patches the oparg after assembly.
CELL_STORE_NEEDS_PATCH: Final = not PY313
# 3.13 compiles LOAD_CLOSURE to LOAD_FAST of the cell slot; before, LOAD_CLOSURE is real.
LOAD_CELL_OBJECT: Final = "LOAD_FAST" if PY313 else "LOAD_CLOSURE"
# A calling frame's f_lasti while its callee runs: the CALL's last inline-cache unit on
# 3.11/3.12, the CALL itself on 3.13. Site maps cover [CALL, next instruction) for both.
# Consequence on 3.13: when the callee raises, the caller's handler is looked up at the unit
# *before* the CALL (exception_unwind uses instr_ptr - 1), so an exception region must cover
# the instruction preceding any call it protects. Compiled code always does; engine code
# placing regions around calls must too.
CALLER_LASTI_AT_LAST_CACHE: Final = not PY313

# How `dis` keys its inline-cache counts: by opcode name on 3.13, by opcode number before.
CACHE_COUNTS_BY_NAME: Final = PY313
# 3.13's local-variable instructions (LOAD_FAST, STORE_FAST ...) also index cells and free
# variables; before, only the *_DEREF/LOAD_CLOSURE family does (see LOAD_CELL_OBJECT).
LOCAL_OPS_INDEX_CELLS: Final = PY313
# 3.13 fuses adjacent local loads/stores into superinstructions (LOAD_FAST_LOAD_FAST ...).
HAS_LOCAL_SUPERINSTRUCTIONS: Final = PY313
# COMPARE_OP's oparg: 3.11 the comparison alone; 3.12 the comparison above a 4-bit mask; 3.13
# the comparison above the mask and bit 4, which asks for a bool result.
COMPARE_ARG_SHIFT: Final = 5 if PY313 else 4 if PY312 else 0
COMPARE_ARG_HAS_BOOL_BIT: Final = PY313

# Where a frame's caller is, in the interpreter's own frame structs (read at a pause to tell a
# frame pushed by its caller's call instruction from one called by C code in between):
# PyFrameObject.f_frame, then in the _PyInterpreterFrame it points to, f_code (3.13:
# f_executable), `previous`, and on 3.11 `is_entry` (set when C code called the frame; 3.12+
# put a shim frame owned by the C stack between them instead, gh-96975). Checked against
# known frames before first use (see callees.py).
FRAME_INTERPRETER_FRAME_OFFSET: Final = 24
INTERPRETER_FRAME_CODE_OFFSET: Final = 0 if PY312 else 32
INTERPRETER_FRAME_PREVIOUS_OFFSET: Final = 8 if PY312 else 48
INTERPRETER_FRAME_IS_ENTRY_OFFSET: Final = None if PY312 else 68
# The function the frame runs: 3.11 `f_func` first, 3.12+ `f_funcobj` after `previous` (a
# function made at run time from another's code runs it with its own globals and closure).
INTERPRETER_FRAME_FUNCTION_OFFSET: Final = 16 if PY312 else 0
# A collected object's PyGC_Head sits right before it: `_gc_next`, then `_gc_prev`, whose
# lowest bit says its finalizer (__del__) has run (PEP 442; the same in 3.11-3.13 default
# builds). Checked on a live object before use (see finalizers.py).
GC_PREV_OFFSET: Final = 8
GC_FINALIZED_FLAG: Final = 1
# _PyInterpreterFrame.f_locals: the frame's own locals dict, which 3.11/3.12's `locals()` and
# `frame.f_locals` refresh and return (NULL until first asked for). 3.13's `frame.f_locals` is a
# view that never writes it for a function's frame (PEP 667), so it is not read there.
INTERPRETER_FRAME_LOCALS_OFFSET: Final = None if PY313 else 40 if PY312 else 24
# _PyInterpreterFrame.localsplus: the locals, cells and free variables, then the value stack
# (after `stacktop` and, 3.12+, `return_offset` and `owner`; 3.11: `is_entry` and `owner`).
INTERPRETER_FRAME_LOCALSPLUS_OFFSET: Final = 72

# Opcode sets, by what they hold.
CALL_OPS: Final = frozenset({"CALL", "CALL_KW", "CALL_FUNCTION_EX"})
RETURN_OPS: Final = frozenset({"RETURN_VALUE", "RETURN_CONST"})
UNCONDITIONAL_JUMP_OPS: Final = frozenset(
    {"JUMP_FORWARD", "JUMP_BACKWARD", "JUMP_BACKWARD_NO_INTERRUPT"}
)
TERMINAL_OPS: Final = RETURN_OPS | frozenset({"RAISE_VARARGS", "RERAISE"})
# Code that only generators and coroutines contain; such functions are refused at decoration.
GENERATOR_OPS: Final = frozenset(
    {
        "YIELD_VALUE",
        "SEND",
        "END_SEND",
        "RETURN_GENERATOR",
        "GET_AWAITABLE",
        "GET_AITER",
        "GET_ANEXT",
        "END_ASYNC_FOR",
        "BEFORE_ASYNC_WITH",
        "ASYNC_GEN_WRAP",
        "CLEANUP_THROW",
        "GET_YIELD_FROM_ITER",
    }
)
# Loads the engine may re-execute on resume instead of saving their value.
RELOADABLE_LOADS: Final = frozenset({"LOAD_CONST", "LOAD_GLOBAL", "PUSH_NULL"})
FAST_LOADS: Final = frozenset({"LOAD_FAST", "LOAD_FAST_CHECK"})
FAST_WRITES: Final = frozenset({"STORE_FAST", "DELETE_FAST", "LOAD_FAST_AND_CLEAR"})
