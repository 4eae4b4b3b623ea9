"""Every exception a user of autograms may catch.

    Exception
     ├── AutogramsError                    base of the dialog layer's own errors
     │    ├── ConversationError            a dialog call made where it cannot work
     │    │                                (reply outside a program, inside @autograms_external)
     │    ├── SupervisorError              a supervisor's output cannot stand in for a helper's
     │    └── SessionError                 a session that cannot be loaded or saved
     │         ├── SessionFormatError      not a session, or a format/library this version refuses
     │         ├── SessionSignatureError   unsigned or tampered, with a key configured
     │         └── SessionCodeError        made by code (or a Python) that no longer matches
     ├── ContinuationError                 the engine cannot pause, save, resume or jump here
     │    (UnpicklableLocalError, SnapshotMismatchError, UnsupportedPythonError)
     ├── ConfigError                       a bad AutogramConfig field
     └── ModelError                        a model call failed (ModelCallError, DecisionError …)

Control signals (pause, jump) are BaseExceptions internal to the engine and never exported.
"""

from __future__ import annotations

import copyreg

from ._frames import (
    ContinuationError,
    SnapshotMismatchError,
    UnpicklableLocalError,
    UnsupportedPythonError,
)
from .config import ConfigError
from .models.errors import (
    DecisionError,
    ModelCallError,
    ModelConfigError,
    ModelError,
    StructuredOutputError,
)


class AutogramsError(Exception):
    """Base class of the dialog layer's errors."""

    def __reduce__(self) -> tuple:
        # Rebuild without calling __init__ (whose arguments .args does not hold), so an
        # instance kept in a paused program's locals survives a session round trip.
        return (copyreg.__newobj__, (type(self),), {**self.__dict__, "args": self.args})


class ConversationError(AutogramsError):
    """A dialog function was called where it cannot do its job."""

    def __init__(
        self, message: str, *, function: str | None = None, reason: str | None = None
    ) -> None:
        super().__init__(message)
        self.function = function
        #: what went wrong, for the cases callers tell apart (e.g. "turn_running")
        self.reason = reason


class SupervisorError(AutogramsError):
    """A supervisor (``supervisor=`` of a helper, in supervisor mode) gave no usable output."""

    def __init__(self, message: str, *, helper: str, output: object = None) -> None:
        super().__init__(message)
        #: the helper whose call was supervised, e.g. "yes_or_no"
        self.helper = helper
        #: what the supervisor returned
        self.output = output


class SessionError(AutogramsError):
    """A session blob or file that cannot be loaded or saved; the previous state is intact."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class SessionFormatError(SessionError):
    """Not a session, or one written by a format or library version this one refuses."""


class SessionSignatureError(SessionError):
    """A session that is unsigned or whose signature does not match, with a key configured."""


class SessionCodeError(SessionError):
    """A session whose paused code no longer matches the loaded code or Python version."""


__all__ = [
    "AutogramsError",
    "ConfigError",
    "ContinuationError",
    "ConversationError",
    "DecisionError",
    "ModelCallError",
    "ModelConfigError",
    "ModelError",
    "SessionCodeError",
    "SessionError",
    "SessionFormatError",
    "SessionSignatureError",
    "SnapshotMismatchError",
    "StructuredOutputError",
    "SupervisorError",
    "UnpicklableLocalError",
    "UnsupportedPythonError",
]
