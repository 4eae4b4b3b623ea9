"""Undecorated helpers that do more after their pausing call: paused and resumed exactly.

A pause that passes through a plain helper which only returns what its pausing call returns
resumes after the call into it (plain_code.py). A helper that does more (``return
reply(q).strip()``, two replies in a row) must itself be resumed. When a pause first meets
one, the helper is *adopted*: its function is found by module and qualified name, as a new
process will find it again, and analysed where it is -- its code stays its own, so its calls
cost what they did -- then registered like an instrumented function whose normal code is
its original code (`instrument.analyse_in_place`). The values under its paused call are read
from the frame's value stack at the pause, and it resumes through a twin built from its code.
A new process adopts it again when a snapshot names it; if its code changed since, the
snapshot is refused as for a decorated function.

Refused at the pause, naming the helper: a helper that cannot be found again by its module
and qualified name (defined inside a function, or replaced since), one with closures or
cell variables (other than a method's ``__class__`` cell, which zero-argument ``super()``
reads: it comes with the method, found again by its class; and cell variables only
comprehensions read, which are functions of their own before 3.12: see `cells_of`), and a
pause inside a try,
with or except block of the helper, whose handlers would run as the pause unwinds. A GOTO
or RETURNTO sees an adopted helper as plain code.
"""

from __future__ import annotations

import threading
from types import CellType, CodeType, FrameType, FunctionType
from typing import TYPE_CHECKING, Any

from . import callees, plain_code
from .errors import ContinuationError, Reason, SnapshotMismatchError
from .identity import find_function, wrapped_functions
from .memo import remember
from .producers import AnalysisError
from .records import CallSite
from .registry import FunctionInfo

if TYPE_CHECKING:
    from .analysis import Flow

#: One adoption at a time: two threads pausing in the same helper register it once.
_adopting = threading.Lock()


def adopt_frame(frame: FrameType) -> FunctionInfo:
    """Adopt the function the plain frame `frame` runs, or raise ContinuationError naming it
    (reason HELPER_CONTINUES)."""
    code = frame.f_code
    module = frame.f_globals.get("__name__")
    try:
        function = find_function(module, code.co_qualname) if isinstance(module, str) else None
    except SnapshotMismatchError:
        function = None
    function = running(function, code) if function is not None else None
    if function is None:
        raise _refusal(frame, "it cannot be found again by its module and qualified name")
    try:
        return adopt(function)
    except (ContinuationError, AnalysisError) as exc:
        raise _refusal(frame, _why(exc)) from exc


def running(found: FunctionType, code: CodeType) -> FunctionType | None:
    """The function running `code` among `found` (what a module and qualified name find)
    and the functions it wraps (a decorator's wrapper keeps the name of the function it
    wraps, and holds it in ``__wrapped__`` or its closure), or None."""
    for function in wrapped_functions(found):
        if function.__code__ is code:
            return function
    return None


#: id(code) -> (code, its call sites as `analyse_calls` gives them, or None when it cannot
#: be analysed): for plain frames a pause passes through (`called_by_paused_call`).
_calls: dict[int, tuple[CodeType, tuple[Flow, list[CallSite], dict[int, int]] | None]] = {}
_MAX_CODES = 512


def called_by_paused_call(frame: FrameType, callee: FrameType) -> bool:
    """Whether the plain frame `frame` is paused in the call that called `callee` and
    returns what it returns (directly, or through a ``functools.partial``, a bound method,
    an object's ``__call__``: read from the call's operands), so that its caller may be
    given `callee`'s result."""
    if callees.entered_directly(frame, callee):
        return True
    calls = _calls_of(frame.f_code)
    if calls is None:
        return False
    flow, sites, site_map = calls
    index = site_map.get(frame.f_lasti)
    if index is None or sites[index].refusal is not None:
        return False
    target = callees.running_callable(flow, sites[index], frame)
    return target is not callees.UNKNOWN and callees.runs_code(target, callee.f_code)


def _calls_of(code: CodeType) -> tuple[Flow, list[CallSite], dict[int, int]] | None:
    known = _calls.get(id(code))
    if known is None or known[0] is not code:
        from .instrument import analyse_calls  # the analysis, loaded only when needed

        try:
            _, flow, plan, site_map = analyse_calls(code)
            calls: tuple | None = (flow, plan.sites, site_map)
        except AnalysisError:
            calls = None
        known = (code, calls)
        remember(_calls, id(code), known, _MAX_CODES)
    return known[1]


def adopt(function: FunctionType) -> FunctionInfo:
    """Adopt `function` (see the module docstring), or raise ContinuationError or
    AnalysisError saying why it cannot be."""
    code = function.__code__
    free = [name for name in code.co_freevars if name != "__class__"]
    if free:  # a new process finds the function again, and with it the class cell of a
        # method using zero-argument super(); no other cell can be found again
        names = ", ".join(map(repr, free))
        raise ContinuationError(
            f"{function.__qualname__}: it uses closures (the variables {names} of a "
            "function it is defined in)",
            reason=Reason.NESTED_FUNCTION,
        )
    closure = _closure_maker(code)
    if closure is not None:
        names = ", ".join(map(repr, code.co_cellvars))
        raise ContinuationError(
            f"{function.__qualname__}: its variables {names} are closure cells, shared with "
            f"{closure} defined inside it, which may outlive the pause",
            reason=Reason.NESTED_FUNCTION,
        )
    from .instrument import analyse_in_place  # the rewrite, loaded only when needed

    with _adopting:
        return analyse_in_place(function)


#: The code names of comprehensions, which are functions of their own before Python 3.12:
#: made, called and dropped within their expression, so no closure over the helper's cells
#: outlives it.
_COMPREHENSIONS = frozenset({"<listcomp>", "<setcomp>", "<dictcomp>"})


def _closure_maker(code: CodeType) -> str | None:
    """What in `code` makes a closure over its cell variables other than a comprehension (a
    nested function, lambda, generator expression, class, or anything inside a comprehension
    that does), or None. A helper whose cells only comprehensions read is resumed with new
    cells holding their values (`snapshot.capture`)."""
    if not code.co_cellvars:
        return None
    pending = [const for const in code.co_consts if isinstance(const, CodeType)]
    while pending:
        inner = pending.pop()
        if inner.co_freevars and inner.co_name not in _COMPREHENSIONS:
            return f"{inner.co_name} (line {inner.co_firstlineno})"
        pending.extend(const for const in inner.co_consts if isinstance(const, CodeType))
    return None


def cells_of(code: CodeType, current: Any, captured: list[Any]) -> tuple[CellType, ...]:
    """The cells to resume an adopted helper running `code` with (its frame's own cannot be
    read), one per cell variable: the cell of a comprehension function made before the paused
    call (among the `captured` values under it), so it stays shared with that function, else
    a new cell holding the variable's value in `current` (the frame's locals), or an empty
    one."""
    shared: dict[str, CellType] = {}
    for value in captured:
        if type(value) is FunctionType and value.__closure__:
            shared.update(zip(value.__code__.co_freevars, value.__closure__, strict=True))
    cells = []
    for name in code.co_cellvars:
        cell = shared.get(name)
        if cell is None:
            cell = CellType(current[name]) if name in current else CellType()
        cells.append(cell)
    return tuple(cells)


def _why(exc: Exception) -> str:
    if isinstance(exc, AnalysisError):
        return f"its bytecode cannot be analysed ({exc})"
    return str(exc).split(": ", 1)[-1]


def _refusal(frame: FrameType, why: str) -> ContinuationError:
    code = frame.f_code
    name = code.co_qualname
    if plain_code.pause_result(code, frame.f_lasti) is plain_code.SAME:
        # it only returns its paused call's result, but that call reached the pause through
        # C code (map(), sorted(key=...)) rather than calling the pausing function itself
        does = (
            "it returns what its paused call returns, but that call does not call the "
            "function that paused itself (C code such as map() stands between them)"
        )
    else:
        does = "it does more than return the result of its pausing call"
    return ContinuationError(
        f"cannot pause in {name}: it is not instrumented, and must be resumed itself ({does}), "
        f"but {why} ({code.co_filename}:{frame.f_lineno}); instrument {name} too (decorate it "
        "like the function that calls it)",
        qualname=name,
        filename=code.co_filename,
        lineno=frame.f_lineno,
        reason=Reason.HELPER_CONTINUES,
    )
