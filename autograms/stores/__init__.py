"""Session stores: conversations kept in a database, turns run exactly once by any number of
worker processes on any number of machines.

    from autograms.stores import Sessions, TurnRunner, open_store

    store = open_store("sqlite:///sessions.db")          # or "postgresql://..."
    sessions, runner = Sessions(autogram, store), TurnRunner(autogram, store)
    session = sessions.create(owner="team-a")
    result = runner.run_turn(session.id, "hello", idempotency_key="msg-1")
    result.reply

Modules: `base` (the store interface), `sqlite` and `postgres` (the backends), `sql` (their
shared queries), `schema` (tables and migrations), `urls` (opening a store by URL), `runner`
(the turn protocol), `history` (the history digest of a session's turns), `inputs` (the ids
and text a store can keep), `manager` (session management), `records`, `errors`.
"""

from .base import Store
from .errors import (
    IdempotencyKeyReusedError,
    InvalidInputError,
    SessionBusyError,
    SessionExistsError,
    SessionNotFoundError,
    StoredSessionError,
    StoreError,
    StoreSchemaError,
    StoreUnavailableError,
    TurnInProgressError,
    UnstorableReplyError,
)
from .manager import Sessions
from .records import SessionRecord, SessionView, TokenUsage, TurnRecord, TurnResult, WaitPoint
from .runner import POLICIES, TurnRunner
from .schema import SCHEMA_VERSION
from .urls import migrate, open_store

__all__ = [
    "POLICIES",
    "SCHEMA_VERSION",
    "IdempotencyKeyReusedError",
    "InvalidInputError",
    "SessionBusyError",
    "SessionExistsError",
    "SessionNotFoundError",
    "SessionRecord",
    "SessionView",
    "Sessions",
    "Store",
    "StoreError",
    "StoreSchemaError",
    "StoreUnavailableError",
    "StoredSessionError",
    "TokenUsage",
    "TurnInProgressError",
    "TurnRecord",
    "TurnResult",
    "TurnRunner",
    "UnstorableReplyError",
    "WaitPoint",
    "migrate",
    "open_store",
]
