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
reads: it comes with the method, found again by its class), and a pause inside a try,
with or except block of the helper, whose handlers would run as the pause unwinds. A GOTO
or RETURNTO sees an adopted helper as plain code.
"""

from __future__ import annotations

import threading
from types import FrameType, FunctionType

from .producers import AnalysisError
from .errors import ContinuationError, Reason, SnapshotMismatchError
from .identity import find_function
from .registry import FunctionInfo

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
    if function is None or function.__code__ is not code:
        raise _refusal(frame, "it cannot be found again by its module and qualified name")
    try:
        return adopt(function)
    except (ContinuationError, AnalysisError) as exc:
        raise _refusal(frame, _why(exc)) from exc


def adopt(function: FunctionType) -> FunctionInfo:
    """Adopt `function` (see the module docstring), or raise ContinuationError or
    AnalysisError saying why it cannot be."""
    code = function.__code__
    if set(code.co_freevars) - {"__class__"} or code.co_cellvars:
        # a new process finds the function again, and with it the class cell of a method
        # using zero-argument super(); no other cell can be found again
        raise ContinuationError(
            f"{function.__qualname__} uses closures", reason=Reason.NESTED_FUNCTION
        )
    from .instrument import analyse_in_place  # the rewrite, loaded only when needed

    with _adopting:
        return analyse_in_place(function)


def _why(exc: Exception) -> str:
    if isinstance(exc, AnalysisError):
        return f"its bytecode cannot be analysed ({exc})"
    reason = getattr(exc, "reason", None)
    if reason is Reason.NESTED_FUNCTION:
        return "it is defined inside another function or uses closures"
    return str(exc).split(": ", 1)[-1]


def _refusal(frame: FrameType, why: str) -> ContinuationError:
    code = frame.f_code
    name = code.co_qualname
    return ContinuationError(
        f"cannot pause in {name}: it is not instrumented, and must be resumed itself (it does "
        "more than return the result of its pausing call, or calls a helper that does), but "
        f"{why} ({code.co_filename}:{frame.f_lineno}); instrument {name} too (decorate it like "
        "the function that calls it)",
        qualname=name,
        filename=code.co_filename,
        lineno=frame.f_lineno,
        reason=Reason.HELPER_CONTINUES,
    )
