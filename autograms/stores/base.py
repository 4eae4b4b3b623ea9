"""The store interface: what the turn runner and session management need from a database.

A store keeps sessions, their committed turns, their append-only log and the queue of turns
waiting for them. It knows nothing of programs or of the session blob's contents: the turn
runner (`autograms.stores.runner`) owns the protocol, a store only offers the transactions it
needs. Every method is one transaction; none holds a lock when it returns.
"""

from __future__ import annotations

import abc
from typing import Any

from .history import EMPTY_DIGEST
from .records import Claim, SessionRecord, Ticket, TokenUsage, TurnRecord


class Store(abc.ABC):
    """A database holding sessions; open one with `autograms.stores.open_store(url)`."""

    #: the URL it was opened with, password hidden
    url: str
    #: whether its text columns can hold NUL characters (PostgreSQL's cannot)
    holds_nul: bool = True

    # -- the schema -----------------------------------------------------------------------------

    @abc.abstractmethod
    def migrate(self) -> int:
        """Create or upgrade the tables to this release's schema; returns its version."""

    @abc.abstractmethod
    def require_schema(self, create: bool) -> None:
        """Refuse (StoreSchemaError) a database without this release's schema; create or
        upgrade it first when `create`."""

    @abc.abstractmethod
    def schema_version(self) -> int:
        """The schema version of the database (0 when it has no autograms tables)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Close the store's connections (it cannot be used afterwards)."""

    # -- sessions -------------------------------------------------------------------------------

    @abc.abstractmethod
    def create_session(
        self,
        session_id: str,
        owner: str | None,
        blob: str,
        entries: list[dict[str, Any]],
        *,
        program: str | None = None,
        log_head: str | None = None,
        seal: str | None = None,
        history_digest: str = EMPTY_DIGEST,
    ) -> SessionRecord:
        """Add a session at version 0 with its log `entries` (SessionExistsError if taken);
        `program` defaults to the one the blob's header names; `log_head` and `seal` are a
        signed store's (`integrity`); `history_digest` that of the conversation `entries`
        hold (`autograms.stores.history`)."""

    @abc.abstractmethod
    def load_session(self, session_id: str) -> SessionRecord | None:
        """The session's row with its blob, or None."""

    @abc.abstractmethod
    def list_sessions(
        self,
        owner: str | None = None,
        limit: int = 100,
        offset: int = 0,
        *,
        program: str | None = None,
        unclaimed: bool = False,
    ) -> list[SessionRecord]:
        """Sessions of `owner` and of `program` (all when None), oldest first, without their
        blobs; with `unclaimed`, only the sessions that belong to no program yet (`commit`)."""

    @abc.abstractmethod
    def replace_blob(
        self, session_id: str, version: int, blob: str, *, seal: str | None = None
    ) -> bool:
        """Replace the session's blob (and seal) if it is still at `version`, adding no turn
        (a deploy moving it to the new code) but moving it to the next version, so that a
        turn that read the old blob cannot commit over the rewrite; False (and nothing
        written) when a turn committed first or the session is gone."""

    @abc.abstractmethod
    def seal_session(self, session_id: str, version: int, log_head: str, seal: str) -> bool:
        """Set the row's `log_head` and `seal` if it is still at `version` (sealing the rows
        written before a key or before schema 2); False when it moved on or is gone."""

    @abc.abstractmethod
    def delete_session(self, session_id: str) -> bool:
        """Delete a session with its turns and log; False when there was none."""

    @abc.abstractmethod
    def delete_idle(
        self, idle_seconds: float, *, program: str | None = None, unclaimed: bool = False
    ) -> list[str]:
        """Delete the sessions (of `program`; all when None; with `unclaimed`, only those of
        no program) last changed more than `idle_seconds` ago, by the store's clock, that no
        live turn is running on; returns their ids."""

    # -- turns ----------------------------------------------------------------------------------

    @abc.abstractmethod
    def claim(
        self,
        session_id: str,
        key: str,
        lease_seconds: float,
        ticket: Ticket | None = None,
        *,
        turns: bool = False,
    ) -> Claim:
        """Find the committed turn with idempotency key `key`; else queue the turn (or renew
        its `ticket`) with a lease, and read the session. With `turns`, the session's
        committed turns too (`Claim.turns`), read in the same transaction and round trip.
        Never durable: a lost ticket is only a lost hint."""

    @abc.abstractmethod
    def renew(self, ticket: Ticket, lease_seconds: float) -> bool:
        """Extend the ticket's lease to `lease_seconds` from now (not durable: a hint); False
        when the ticket is gone (its lease ended and a commit swept it)."""

    @abc.abstractmethod
    def release(self, ticket: Ticket) -> None:
        """Leave the queue (a turn that failed or was refused)."""

    @abc.abstractmethod
    def commit(
        self,
        session_id: str,
        base_version: int,
        blob: str,
        turn: TurnRecord,
        entries: list[dict[str, Any]],
        ticket: Ticket | None,
        *,
        log_head: str | None = None,
        seal: str | None = None,
        program: str | None = None,
        turns: int | None = None,
        history_digest: str | None = None,
        unclaimed: SessionRecord | None = None,
    ) -> bool:
        """In one durable transaction: replace the blob (with `log_head`, `seal`, the
        session's number of `turns`, this one's row included, and its `history_digest`
        after this turn) if the session is still at `base_version`, add the turn row and
        its log `entries`; the turn's ticket holds no place in the queue once its turn is
        committed (the next ticket taken on the session sweeps it); with `program`, a
        session that belongs to no program (a schema-1 row whose blob named none) then
        belongs to it (None: the session has one already). False (and nothing written) when
        another turn committed first.

        `unclaimed` (the copy of the session the turn ran on) commits a turn that ran without
        a claim (``TurnRunner(optimistic=True)``): it also needs the session to be the one
        created at the copy's ``created_at``, still with the copy's owner and program, no live
        ticket in its queue (a turn running or waiting goes first) and no turn committed with
        this idempotency key; False (nothing written) otherwise."""

    @abc.abstractmethod
    def turns(self, session_id: str) -> list[TurnRecord]:
        """The session's committed turns, oldest first."""

    @abc.abstractmethod
    def count_turns(self, session_id: str, up_to_version: int) -> int:
        """How many turn rows the session has up to `up_to_version` (a session's version is
        its number of turns: fewer means a row was deleted)."""

    @abc.abstractmethod
    def seal_turns(self, session_id: str, seals: dict[int, str]) -> None:
        """Set the seals of the session's turn rows, by version (sealing the rows written
        before a key or before schema 3)."""

    @abc.abstractmethod
    def read_log(
        self,
        session_id: str,
        up_to_version: int | None = None,
        *,
        head: str | None = None,
        turn: int | None = None,
    ) -> list[dict[str, Any]]:
        """The session's log entries, oldest first (those of turns up to `up_to_version`);
        with `head`, refused (StoredSessionError "tampered") unless their chain ends there;
        with `turn`, only the entries of the turn of that version (the chain still checked
        over all of them)."""

    @abc.abstractmethod
    def log_head(self, session_id: str, up_to_version: int) -> str:
        """The chain's head over the session's log rows up to `up_to_version` as stored."""

    @abc.abstractmethod
    def token_usage(self, session_id: str) -> TokenUsage:
        """Model calls and tokens of the session, summed from its log."""
