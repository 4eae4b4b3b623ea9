"""Sessions as things a team manages: create, get, list by owner, delete, expire, and move
to and from session files (`Autogram.save` / `Autogram.load`)."""

from __future__ import annotations

import os
import uuid
from typing import Any

from .. import session
from .._errors import SessionCodeError
from .._seconds import check_seconds
from ..autogram import Autogram
from ..memory import conversation_history
from . import integrity
from .base import Store
from .history import of_log, shown
from .errors import SessionExistsError, SessionNotFoundError, StoredSessionError
from .inputs import check_count, check_id
from .records import SessionRecord, SessionView, TokenUsage, WaitPoint
from .runner import check_program, restore, verified_head


class Sessions:
    """The sessions of `autogram`'s program kept in `store` (`list` and `expire` leave other
    programs' sessions alone). Methods that take `owner` treat a session of another owner as
    missing (SessionNotFoundError).

    A session that belongs to no program yet -- a schema-1 row whose blob named none (a
    session of release 0.1 that never started) -- is *unclaimed*: `list` and `expire` leave
    it out unless asked for the unclaimed ones, and the first program that runs a turn on it
    (its blob's signature checked, in a signed store) owns it from then on."""

    def __init__(self, autogram: Autogram, store: Store) -> None:
        self.autogram = autogram
        self.store = store
        #: the program its sessions belong to, ``module:qualname`` of the root function
        self.program = session.program_name(autogram.root_function)

    def __repr__(self) -> str:
        return f"<Sessions {self.store.url}>"

    def create(
        self, session_id: str | None = None, *, owner: str | None = None, exist_ok: bool = False
    ) -> SessionRecord:
        """A new session that has not started (its first turn starts the program); a random
        id when none is given. With `exist_ok`, an existing session of `owner` is returned."""
        session_id = _new_id(session_id, owner)
        blob = self.autogram.serialize(self.autogram.init_memory(), include_log=False)
        try:
            return self._stored(session_id, owner, blob, [])
        except SessionExistsError:
            if not exist_ok:
                raise
        return self.record(session_id, owner=owner)

    def record(self, session_id: str, *, owner: str | None = None) -> SessionRecord:
        """The session's row (with its blob); a session of another program is refused
        (StoredSessionError "other program")."""
        record = self.store.load_session(session_id)
        if record is None or (owner is not None and record.owner != owner):
            raise SessionNotFoundError(
                f"no session {session_id!r}", reason="not found", session_id=session_id
            )
        check_program(self.autogram, record)
        return record

    def get(self, session_id: str, *, owner: str | None = None) -> SessionView:
        """The session with its history, where its program waits and its token usage."""
        record = self.record(session_id, owner=owner)
        try:
            memory = restore(self.autogram, self.store, record)
        except StoredSessionError as error:
            if not isinstance(error.__cause__, SessionCodeError):
                raise
            return self._refused_view(record)  # kept for the old code: still viewable
        waiting = [
            WaitPoint(f"{frame.module}.{frame.qualname}", frame.lineno, frame.label)
            for frame in self.autogram.pending_frames(memory)
        ]
        return SessionView(
            id=record.id,
            owner=record.owner,
            version=record.version,
            created_at=record.created_at,
            updated_at=record.updated_at,
            history=shown(memory.extract_full_conv_history()),
            waiting=waiting,
            usage=self._usage(record),
        )

    def _refused_view(self, record: SessionRecord) -> SessionView:
        """The view of a session the code now loaded refuses (a deploy kept it for the old
        code): its history from the log, where it waits from the snapshot's header (nothing
        is unpickled)."""
        envelope = session.decode(record.blob, key=self._key())
        entries = self._checked_log(record)
        history = shown(conversation_history(entries))
        waiting = [
            WaitPoint(f"{frame.module}.{frame.qualname}", frame.lineno, frame.label)
            for frame in session.paused_frames(envelope.snapshot)
        ]
        return SessionView(
            id=record.id,
            owner=record.owner,
            version=record.version,
            created_at=record.created_at,
            updated_at=record.updated_at,
            history=history,
            waiting=waiting,
            usage=TokenUsage.of(entries),
        )

    def log(self, session_id: str, *, owner: str | None = None) -> list[dict[str, Any]]:
        """The session's log (user messages, replies, nodes, model calls), oldest first."""
        record = self.record(session_id, owner=owner)
        integrity.check_seal(self._key(), record)
        return self._checked_log(record)

    def _usage(self, record: SessionRecord) -> TokenUsage:
        """The session's token usage: summed by the database, or in a signed store from the
        log checked against its seal (the token columns are not sealed)."""
        if self._key() is None:
            return self.store.token_usage(record.id)
        return TokenUsage.of(self._checked_log(record))

    def _checked_log(self, record: SessionRecord) -> list[dict[str, Any]]:
        """The log of `record` (whose seal was checked), refused if it was edited."""
        head = verified_head(self._key(), record)
        return self.store.read_log(record.id, record.version, head=head)

    def list(
        self,
        *,
        owner: str | None = None,
        limit: int = 100,
        offset: int = 0,
        unclaimed: bool = False,
    ) -> list[SessionRecord]:
        """This program's sessions of `owner` (of every owner when None), oldest first,
        without blobs; with `unclaimed`, instead the sessions no program owns yet. `limit`
        and `offset` are counts of sessions (TypeError, or InvalidInputError -- a ValueError
        -- when negative or beyond 2**63 - 1)."""
        limit, offset = check_count("limit", limit), check_count("offset", offset)
        return self.store.list_sessions(
            owner, limit, offset, program=self.program, unclaimed=unclaimed
        )

    def delete(self, session_id: str, *, owner: str | None = None) -> None:
        """Delete the session, its turns and its log."""
        self.record(session_id, owner=owner)
        if not self.store.delete_session(session_id):
            raise SessionNotFoundError(
                f"no session {session_id!r}", reason="not found", session_id=session_id
            )

    def expire(self, idle_seconds: float, *, unclaimed: bool = False) -> list[str]:
        """Delete this program's sessions (with `unclaimed`, instead those no program owns
        yet) with no turn for `idle_seconds` (and none running); returns their ids.
        `idle_seconds` must be a positive finite number (TypeError, ValueError otherwise)."""
        idle_seconds = check_seconds("idle_seconds", idle_seconds, positive=True)
        return self.store.delete_idle(idle_seconds, program=self.program, unclaimed=unclaimed)

    def export_file(
        self, session_id: str, path: str | os.PathLike[str], *, owner: str | None = None
    ) -> None:
        """Write the session to a session file (and its log to ``<path>.log``), as
        `Autogram.save` does: `Autogram.load(path)` continues it."""
        record = self.record(session_id, owner=owner)
        try:
            memory = restore(self.autogram, self.store, record)
        except StoredSessionError as error:
            if not isinstance(error.__cause__, SessionCodeError):
                raise
            self._export_refused(record, path)  # kept for the old code: its file, as stored
            return
        self.autogram.save(path, memory)

    def _export_refused(self, record: SessionRecord, path: str | os.PathLike[str]) -> None:
        """The session file of a session the code now loaded refuses, written from its blob
        and log as they are (nothing is unpickled): the old code's `load` continues it."""
        key = self._key()
        envelope = session.decode(record.blob, key=key)
        entries = self._checked_log(record)
        size, crc = session.write_log(path, entries)
        text = session.encode(
            envelope.snapshot,
            key=key,
            program=envelope.program,
            log_file=(len(entries), size),
            log_digest=session.log_digest_of(path, size) if key is not None else None,
            window=envelope.window,
            log_crc=crc,
        )
        session.write_file(path, text)

    def _key(self) -> bytes | None:
        return session.session_key(self.autogram.config.session_key)

    def import_file(
        self,
        path: str | os.PathLike[str],
        session_id: str | None = None,
        *,
        owner: str | None = None,
    ) -> SessionRecord:
        """A new session from a session file saved by `Autogram.save` (its log included);
        it is checked (signature, code) before anything is stored."""
        session_id = _new_id(session_id, owner)
        memory = self.autogram.load(path)
        blob = self.autogram.serialize(memory, include_log=False)
        return self._stored(session_id, owner, blob, memory.model_turns)

    def _stored(
        self, session_id: str, owner: str | None, blob: str, entries: list[dict[str, Any]]
    ) -> SessionRecord:
        """A new row at version 0 (sealed in a signed store), its history digest that of the
        conversation in `entries`."""
        digest = of_log(entries)
        new = SessionRecord(
            session_id,
            owner,
            0,
            0.0,
            0.0,
            program=self.program,
            turns=0,
            history_digest=digest,
        )
        log_head, seal = integrity.sealing(self._key(), new, 0, blob, entries)
        return self.store.create_session(
            session_id,
            owner,
            blob,
            entries,
            program=self.program,
            log_head=log_head,
            seal=seal,
            history_digest=digest,
        )


def _new_id(session_id: str | None, owner: str | None) -> str:
    """The checked id of a session about to be created (a random one when None)."""
    if owner is not None:
        check_id("owner", owner, session_id=session_id)
    return check_id("session_id", session_id if session_id is not None else uuid.uuid4().hex)
