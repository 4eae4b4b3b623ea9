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
"""

from __future__ import annotations

import copyreg

from typing import Any


class ContinuationError(Exception):
    """A construct that cannot be paused, saved, resumed or jumped to.

    The message names the function, the line and the reason; the same facts are kept as
    attributes so callers and tests need not parse prose.
    """

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
        reason: str | None = None,
    ) -> None:
        super().__init__(message)
        self.qualname = qualname
        self.filename = filename
        self.lineno = lineno
        self.reason = reason if reason is not None else message


class UnsupportedPythonError(ContinuationError):
    """The running interpreter's bytecode is not one the engine can rewrite."""


class UnpicklableLocalError(ContinuationError):
    """A local (or a hidden value-stack item) live at the pause cannot be serialized."""

    def __init__(self, message: str, *, local_name: str, type_name: str, **where: Any) -> None:
        super().__init__(message, **where)
        self.local_name = local_name
        self.type_name = type_name


class SnapshotMismatchError(ContinuationError):
    """A snapshot was taken from code (or a Python version) different from what is loaded."""


class PauseSignal(BaseException):
    """Unwinds every frame after `pause()` serialized the snapshot."""

    def __init__(self, snapshot: bytes, payload: Any) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.payload = payload


class JumpSignal(BaseException):
    """Carries a GOTO or RETURNTO to `frame`, which continues at call site `site`."""

    def __init__(self, frame: Any, site: int, label: str) -> None:
        super().__init__(label)
        self.frame = frame
        self.site = site
        self.label = label
