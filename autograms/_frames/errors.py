"""Exceptions of the continuation engine.

    Exception
     └── ContinuationError              a pause, save, resume or jump that cannot be done
          ├── UnsupportedPythonError    the running CPython is not one the engine knows
          ├── UnpicklableLocalError     a value live at the pause cannot be saved
          └── SnapshotMismatchError     a snapshot does not fit the code now loaded

    BaseException
     ├── PauseSignal                    internal: unwinds the stack after a snapshot was taken
     └── JumpSignal                     internal: carries GOTO/RETURNTO to the target frame

The two signals are BaseExceptions so that a user's ``except Exception`` never sees them; the
engine also routes them past the user's handlers. They are never exported.

Every ContinuationError carries a `Reason` (``.reason``): what went wrong, as a code a caller
can test (``exc.reason is Reason.INDIRECT_CALL``); the message says it in words.
"""

from __future__ import annotations

import copyreg
from enum import Enum
from typing import Any


class Reason(str, Enum):  # noqa: UP042 - StrEnum is 3.11+; see the docstring
    """Why the engine refused (a ContinuationError's ``.reason``). Values are stable strings,
    and a reason compares, prints and formats as its value (enum.StrEnum's behaviour; spelled
    out because this module must import on any Python, to refuse the unsupported ones)."""

    __str__ = str.__str__
    __format__ = str.__format__

    # -- decorating a function
    #: not a Python function
    NOT_A_FUNCTION = "not a function"
    #: a generator, coroutine or async generator
    GENERATOR = "generator"
    #: a lambda
    LAMBDA = "lambda"
    #: defined inside another function (a new process could not find it)
    NESTED_FUNCTION = "nested function"
    #: two calls with the same ADDRESS label in one function
    DUPLICATE_LABEL = "duplicate label"
    #: bytecode of a shape the engine does not model, or a labelled call it cannot rewrite
    UNSUPPORTED_BYTECODE = "unsupported bytecode"

    # -- pausing
    #: pause() called with no program running under run()/resume()
    NO_DRIVER = "no driver"
    #: a pause inside a list, set or dict comprehension
    COMPREHENSION = "comprehension"
    #: a pause inside a generator expression or a generator
    GENERATOR_FRAME = "generator frame"
    #: a pause inside a lambda
    LAMBDA_FRAME = "lambda frame"
    #: a pause in code no instrumented function calls, or through an uninstrumented function
    #: between two instrumented ones
    NOT_INSTRUMENTED = "not instrumented"
    #: an uninstrumented function that does more after its pausing call than return its
    #: result cannot be resumed itself (see helpers.py: not found again by its name, uses
    #: closures, or pauses inside a try/with/except block of its own)
    HELPER_CONTINUES = "helper continues"
    #: the pause was reached through an operator, attribute access or iteration, not a call
    NOT_A_CALL = "not a call"
    #: the pausing function was called by C code (a built-in such as map or sorted)
    INDIRECT_CALL = "indirect call"
    #: the pausing function is an uninstrumented __init__ (or a __new__) of an instance
    #: being constructed
    CONSTRUCTOR = "constructor"
    #: a pause inside the __enter__ or __exit__ that a with statement calls
    WITH_STATEMENT = "with statement"
    #: a pause inside a class body
    CLASS_BODY = "class body"
    #: the paused call runs in cleanup code while an exception unwinds
    UNWINDING = "unwinding"
    #: a value under the paused call cannot be saved (a NULL, a loop value, a split method)
    UNSAVED_VALUE = "unsaved value"
    #: the paused function's module and qualified name, under which a snapshot saves its
    #: frame, lead to another function or none (a decorator's wrapper renamed after the
    #: function it wraps, bound under no name of its own)
    NOT_FOUND_AGAIN = "not found again"
    #: saving the program exceeded the recursion limit
    TOO_DEEP = "too deep"
    #: a local (or a hidden value-stack item) cannot be pickled
    UNPICKLABLE = "unpicklable"
    #: the caller's attachment cannot be pickled
    ATTACHMENT = "attachment"

    # -- loading and resuming a snapshot
    #: not a snapshot of this engine
    UNKNOWN_FORMAT = "unknown snapshot format"
    #: the header (which frames are paused where) cannot be read
    BAD_HEADER = "bad header"
    #: truncated or altered bytes
    DAMAGED = "damaged"
    #: the saved values cannot be unpickled
    UNREADABLE = "unreadable"
    #: the module of a paused function cannot be imported
    MODULE_NOT_IMPORTABLE = "module not importable"
    #: a paused function no longer exists
    FUNCTION_NOT_FOUND = "function not found"
    #: a paused function is no longer instrumented
    NOT_RESUMABLE = "not resumable"
    #: the code of a paused function changed and no ADDRESS label marks the paused call
    CODE_CHANGED = "code changed"
    #: a plain helper the program paused in (not resumed: its caller resumes after its
    #: call) has been decorated since
    HELPER_DECORATED = "helper decorated"
    #: saved by another Python version and no ADDRESS label marks the paused call
    OTHER_PYTHON = "other Python version"
    #: the ADDRESS label of the paused call is gone from the changed code
    LABEL_REMOVED = "label removed"
    #: the values under the labelled call differ in the changed code
    VALUE_STACK_CHANGED = "value stack changed"
    #: the changed code reads locals the snapshot does not have
    MISSING_LOCALS = "missing locals"
    #: saved code (a closure's) comes from another Python version, which cannot run here
    CODE_FROM_OTHER_PYTHON = "code from another Python"
    #: a module-level object the snapshot refers to by name no longer exists
    MODULE_OBJECT_NOT_FOUND = "module-level object not found"
    #: a remap names an ADDRESS label no function on the paused stack has
    MAPPED_LABEL_NOT_FOUND = "mapped label not found"
    #: a loaded snapshot was resumed twice
    REUSED = "reused"
    #: the snapshot holds no paused program
    NOT_PAUSED = "not paused"

    # -- GOTO and RETURNTO
    #: GOTO/RETURNTO with no instrumented function to jump in
    NO_FRAME = "no frame"
    #: no function in reach has that ADDRESS label
    UNKNOWN_LABEL = "unknown label"
    #: the jump would enter a loop, with, try or except block from outside
    JUMP_INTO_BLOCK = "jump into block"
    #: the jump would leave a with or finally block without running it
    JUMP_SKIPS_CLEANUP = "jump skips cleanup"
    #: the labelled call cannot be re-executed (see the message)
    UNSUITABLE_TARGET = "unsuitable target"
    #: the jump was raised outside a call of the target frame
    NOT_AT_A_CALL = "not at a call"
    #: the jump reached no frame that owns the label
    LOST_JUMP = "lost jump"

    # -- the interpreter
    #: the running Python is not one the engine knows
    UNSUPPORTED_PYTHON = "unsupported Python version"
    #: this Python's dict or set iterators are laid out in a way the engine does not know
    UNKNOWN_ITERATOR_LAYOUT = "unknown iterator layout"
    #: this Python's weak references are laid out in a way the engine does not know
    UNKNOWN_WEAKREF_LAYOUT = "unknown weakref layout"
    #: this Python's garbage collector header is laid out in a way the engine does not know
    UNKNOWN_GC_LAYOUT = "unknown gc layout"
    #: the engine built inconsistent code (a bug: please report it)
    INTERNAL = "internal error"


class ContinuationError(Exception):
    """A construct that cannot be paused, saved, resumed or jumped to.

    The message names the function, the line and the reason; the same facts are kept as
    attributes (`reason` a `Reason`) so callers and tests need not parse prose.
    """

    Reason = Reason

    def __reduce__(self) -> tuple:
        # Rebuild without calling __init__ (whose arguments .args does not hold), so an
        # instance kept in a paused program's locals survives a session round trip.
        return (copyreg.__newobj__, (type(self),), {**self.__dict__, "args": self.args})

    def __init__(
        self,
        message: str,
        *,
        qualname: str | None = None,
        filename: str | None = None,
        lineno: int | None = None,
        reason: Reason | str,
    ) -> None:
        super().__init__(message)
        self.qualname = qualname
        self.filename = filename
        self.lineno = lineno
        self.reason = _as_reason(reason)


def _as_reason(reason: Reason | str) -> Reason | str:
    """`reason` as a Reason (given by its value or itself). An unknown value is kept as it is
    rather than lose the error it belongs to; a test keeps the engine free of them."""
    try:
        return Reason(reason)
    except ValueError:
        return reason


class UnsupportedPythonError(ContinuationError):
    """The running interpreter's bytecode is not one the engine can rewrite."""


class UnpicklableLocalError(ContinuationError):
    """A local (or a hidden value-stack item) live at the pause cannot be serialized."""

    def __init__(self, message: str, *, local_name: str, type_name: str, **where: Any) -> None:
        super().__init__(message, reason=Reason.UNPICKLABLE, **where)
        self.local_name = local_name
        self.type_name = type_name


class SnapshotMismatchError(ContinuationError):
    """A snapshot that does not fit the code (or the Python) now loaded, or damaged bytes.

    `module` names the module of the frame at fault, when one is.
    """

    def __init__(self, message: str, *, module: str | None = None, **details: Any) -> None:
        super().__init__(message, **details)
        self.module = module


class PauseSignal(BaseException):
    """Unwinds every frame after `pause()` serialized the snapshot, or refused to.

    A refused pause unwinds the same way, carrying the refusal (`refused`) for the driver to
    raise: the program's own handlers (``except Exception``, ``finally``) must not see an
    error that plain Python would never raise there, nor pause again while it passes.
    """

    def __init__(
        self, snapshot: bytes | None, payload: Any, refused: ContinuationError | None = None
    ) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.payload = payload
        self.refused = refused


class JumpSignal(BaseException):
    """Carries a GOTO or RETURNTO to `frame`, which continues at call site `site`."""

    def __init__(self, frame: Any, site: int, label: str) -> None:
        super().__init__(label)
        self.frame = frame
        self.site = site
        self.label = label
