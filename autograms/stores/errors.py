"""The errors of session stores and the turn runner.

    AutogramsError
     └── StoreError                 .reason, .session_id
          ├── SessionNotFoundError  no such session (or not the caller's)    "not found"
          ├── SessionExistsError    create() with an id already taken        "exists"
          ├── SessionBusyError      policy "reject" and a turn is running    "busy"
          ├── TurnInProgressError   this idempotency key's turn runs now     "in progress"
          ├── IdempotencyKeyReusedError  the key came with another message   "key reused"
          ├── StoredSessionError    a stored blob that cannot be loaded      the cause's reason
          │                         (edited in the database, code changed)   ("tampered" ...)
          ├── InvalidInputError     an id, key or message the store cannot   "too long",
          │                         keep (also a ValueError)                 "nul character" ...
          ├── UnstorableReplyError  the program's reply is such text         "not unicode" ...
          ├── StoreUnavailableError the database cannot be reached now       "unavailable"
          └── StoreSchemaError      the schema is missing, old or newer      "no schema" ...

An HTTP layer maps them to 400 (invalid input), 404, 409 (exists, busy, in progress), 422 (key
reused), 500 (a reply it cannot keep, a stored session refused) and 503.
"""

from __future__ import annotations

from .._errors import AutogramsError


class StoreError(AutogramsError):
    """Base class of the store's errors; the stored data is left as it was."""

    def __init__(self, message: str, *, reason: str, session_id: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.session_id = session_id


class SessionNotFoundError(StoreError):
    """No session with this id (for this owner)."""


class SessionExistsError(StoreError):
    """A session with this id exists already."""


class SessionBusyError(StoreError):
    """Another turn of the session is running and the policy is "reject"."""


class TurnInProgressError(StoreError):
    """A turn with this idempotency key is running now; retry later with the same key."""


class IdempotencyKeyReusedError(StoreError):
    """The idempotency key was already used for another message of this session."""


class InvalidInputError(StoreError, ValueError):
    """An id, owner, idempotency key or message the store cannot keep (too long, a lone
    surrogate, a NUL character where the database has none), or a listing's limit or offset
    out of range; nothing ran or was written."""


class UnstorableReplyError(StoreError):
    """The turn's reply (the program's, or its model's) is text the store cannot keep: a lone
    surrogate, or a NUL character where the database has none. Nothing was committed; the
    caller's input was not at fault."""


class StoredSessionError(StoreError):
    """A stored session that cannot be loaded; `__cause__` is the SessionError behind it."""


class StoreUnavailableError(StoreError):
    """The database could not be reached; nothing was committed unless a retry with the same
    idempotency key says so."""


class StoreSchemaError(StoreError):
    """The database has no autograms schema (and creating it was not asked for), or one
    written by a newer release."""
