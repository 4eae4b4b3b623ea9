"""The store on a SQL database: the queries SQLite and PostgreSQL share.

A backend supplies the connection handling (`_transaction`) and its `Dialect`; every query
here is written once, with ``?`` placeholders (the PostgreSQL backend rewrites them).
"""

from __future__ import annotations

import abc
import contextlib
import itertools
import json
import logging
import time
from typing import Any

from .. import session
from .._entry_codec import from_stored, to_stored
from .._errors import SessionError
from .base import Store
from .errors import SessionExistsError, StoredSessionError, StoreSchemaError
from .integrity import check_log, next_head, stored_text
from .history import EMPTY_DIGEST
from .records import Claim, SessionRecord, Ticket, TokenUsage, TurnRecord
from .schema import SCHEMA_VERSION, TABLES, Dialect, statements

logger = logging.getLogger("autograms")

_SESSION_COLUMNS = "id, owner, version, created_at, updated_at"
#: every column of a session row, in `SessionRecord`'s order
_RECORD_COLUMNS = f"{_SESSION_COLUMNS}, blob, program, log_head, seal, turns, history_digest"
_TURN_COLUMNS = "session_id, idempotency_key, version, user_text, reply, created_at, seal"
#: a turn row's part of the log: its entries (NULL: it appended none), their model calls and
#: tokens
_TURN_LOG_COLUMNS = "entries, model_calls, prompt_tokens, completion_tokens"
#: the log's rows of a session (version, entries): what it started with (version 0, in
#: autograms_log) and each turn's (in its turn row); two parameters, the session's id twice,
#: and a condition on the version ({bound}) applied to both
_LOG_ROWS = (
    "SELECT version, entries FROM autograms_log WHERE session_id = ?{bound} UNION ALL"
    " SELECT version, entries FROM autograms_turns WHERE session_id = ?{bound}"
    " AND entries IS NOT NULL ORDER BY version"
)
#: a ticket ``q`` of the queue that still holds its place: its lease (first parameter: now)
#: has not run out and its turn is not committed (a finished turn's ticket is left in the
#: queue by the commit, so that the commit writes no page of it; the next ticket taken on
#: the session sweeps it)
LIVE_TICKET = (
    "q.lease_until >= {now} AND NOT EXISTS (SELECT 1 FROM autograms_turns f"
    " WHERE f.session_id = q.session_id AND f.idempotency_key = q.idempotency_key)"
)
# The session, the turn already committed with this key (if any), and the oldest live ticket.
_CLAIM_READ = (
    "SELECT s.id, s.owner, s.version, s.created_at, s.updated_at, s.blob,"
    " t.session_id, t.idempotency_key, t.version, t.user_text, t.reply, t.created_at,"
    " (SELECT MIN(q.ticket) FROM autograms_queue q WHERE q.session_id = s.id"
    f" AND {LIVE_TICKET.format(now='?')}), s.program, s.log_head, s.seal, s.turns, t.seal,"
    " s.history_digest"
    " FROM autograms_sessions s LEFT JOIN autograms_turns t"
    " ON t.session_id = s.id AND t.idempotency_key = ? WHERE s.id = ?"
)
#: a session's committed turns, oldest first (one parameter: the session's id)
TURNS_QUERY = f"SELECT {_TURN_COLUMNS} FROM autograms_turns WHERE session_id = ? ORDER BY version"
# A ticket at the end of the session's queue (numbered after the session's others), or this
# key's expired one taken over (keeping its number, so its place).
_TAKE_TICKET = (
    "INSERT INTO autograms_queue (session_id, idempotency_key, ticket, lease_until)"
    " SELECT id, ?, (SELECT COALESCE(MAX(ticket), 0) + 1 FROM autograms_queue"
    " WHERE session_id = autograms_sessions.id), ? FROM autograms_sessions WHERE id = ?"
    " ON CONFLICT (session_id, idempotency_key) DO UPDATE SET lease_until ="
    " excluded.lease_until WHERE autograms_queue.lease_until < ? RETURNING ticket"
)
#: the row of a ticket (three parameters: its session, key and number)
TICKET_ROW = "session_id = ? AND idempotency_key = ? AND ticket = ?"
_UPDATE_SESSION = (
    "UPDATE autograms_sessions SET blob = ?, version = version + 1, updated_at = ?,"
    " log_head = ?, seal = ?, turns = ?, history_digest = ? WHERE id = ? AND version = ?"
)
#: the same, for a session that may belong to no program yet (a schema-1 row)
_UPDATE_UNCLAIMED_SESSION = _UPDATE_SESSION.replace(
    " WHERE", ", program = COALESCE(program, ?) WHERE"
)
#: what a turn run without a claim also needs of the session it commits to (`Store.commit`'s
#: `unclaimed`; parameters: the kept copy's created_at, owner and program, now, the turn's
#: key): the same session, still of that owner and program (an edit of either in the
#: database is for the claim to see), no live ticket in its queue, no turn committed with
#: the key. `same`: the dialect's equality that holds for two NULLs.
UNCLAIMED_CONDITION = (
    " AND created_at = {created_at} AND owner {same} {owner} AND program {same} {program}"
    " AND NOT EXISTS (SELECT 1 FROM autograms_queue q"
    " WHERE q.session_id = autograms_sessions.id AND {live}) AND NOT EXISTS (SELECT 1"
    " FROM autograms_turns k WHERE k.session_id = autograms_sessions.id"
    " AND k.idempotency_key = {key})"
)
_INSERT_LOG = (
    "INSERT INTO autograms_log (session_id, version, entries, model_calls, prompt_tokens,"
    " completion_tokens) VALUES (?, ?, ?, ?, ?, ?)"
)


class SQLStore(Store):
    """A `Store` on a SQL database; subclasses connect."""

    dialect: Dialect
    #: SQL for the database's clock in seconds since the epoch, which the writes that stamp a
    #: time (created, changed, a lease) and the reads that compare with one use; empty: the
    #: process's clock, given as a parameter (a database on one machine, where it is the same)
    clock = ""

    def _now(self) -> tuple[str, tuple[float, ...]]:
        """The SQL for "now" and its parameters."""
        return (self.clock, ()) if self.clock else ("?", (time.time(),))

    @abc.abstractmethod
    def _transaction(self, durable: bool = True) -> contextlib.AbstractContextManager[Any]:
        """A cursor inside one write transaction, committed when the block ends normally.
        `durable=False` may skip the flush to disk (for the queue's hints only)."""

    @abc.abstractmethod
    def _reading(self) -> contextlib.AbstractContextManager[Any]:
        """A cursor for reads that each run as one statement (each a consistent snapshot;
        the reads here never need two statements to agree)."""

    def _write_hint(self, query: str, parameters: tuple) -> list[tuple]:
        """Run one statement that writes the queue's hints in a transaction of its own (not
        durable), and return the rows it returns."""
        with self._transaction(durable=False) as cursor:
            result = cursor.execute(query, parameters)
            return [] if result.description is None else result.fetchall()

    def _read_row(self, query: str, parameters: tuple) -> tuple | None:
        """The first row of one read statement (a consistent snapshot by itself)."""
        with self._reading() as cursor:
            return cursor.execute(query, parameters).fetchone()

    # -- the schema -----------------------------------------------------------------------------

    def migrate(self) -> int:
        with self._transaction() as cursor:
            if self.dialect.migration_lock:
                cursor.execute(self.dialect.migration_lock)
            current = self._check_version(_version_in(cursor, self.dialect))
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for statement in statements(self.dialect, version):
                    cursor.execute(statement)
                if version == 2:
                    _fill_programs(cursor)
                if version == 4:
                    _group_log(cursor)
                for statement in statements(self.dialect, version, after_data=True):
                    cursor.execute(statement)
                cursor.execute("UPDATE autograms_schema SET version = ?", (version,))
            self._check_tables(cursor)
        return SCHEMA_VERSION

    def _check_tables(self, cursor: Any) -> None:
        """Refuse a database whose schema version is this release's but which lacks one of
        its tables (dropped by hand): migrating cannot bring it back."""
        for table in TABLES:
            if cursor.execute(self.dialect.table_exists, (table,)).fetchone() is None:
                raise StoreSchemaError(
                    f"the database at {self.url} has autograms schema {SCHEMA_VERSION} but no "
                    f"table {table} (dropped by hand?); restore it from a backup",
                    reason="damaged schema",
                )

    def schema_version(self) -> int:
        with self._reading() as cursor:
            return _version_in(cursor, self.dialect)

    def require_schema(self, create: bool) -> None:
        """Check the schema is this release's; create or upgrade it first when `create`."""
        version = self.migrate() if create else self._check_version(self.schema_version())
        if version < SCHEMA_VERSION:
            raise StoreSchemaError(
                f"the database at {self.url} has autograms schema {version}, this release "
                f"needs {SCHEMA_VERSION}; run autograms.stores.migrate({self.url!r})",
                reason="no schema" if version == 0 else "old schema",
            )

    def _check_version(self, version: int) -> int:
        if version > SCHEMA_VERSION:
            raise StoreSchemaError(
                f"the database at {self.url} has autograms schema {version}, written by a "
                f"newer release; this one knows schemas up to {SCHEMA_VERSION}: upgrade autograms",
                reason="newer schema",
            )
        return version

    # -- sessions -------------------------------------------------------------------------------

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
        if program is None:
            program = program_of(blob)
        now_sql, now = self._now()
        with self._transaction() as cursor:
            added = cursor.execute(
                "INSERT INTO autograms_sessions (id, owner, version, blob, created_at, updated_at,"
                " program, log_head, seal, turns, history_digest)"
                f" SELECT ?, ?, 0, ?, t.now, t.now, ?, ?, ?, 0, ? FROM (SELECT {now_sql} AS now) t"
                " WHERE TRUE ON CONFLICT (id) DO NOTHING RETURNING created_at",
                (session_id, owner, blob, program, log_head, seal, history_digest, *now),
            ).fetchall()
            if not added:
                raise SessionExistsError(
                    f"session {session_id!r} exists already", reason="exists", session_id=session_id
                )
            now = added[0][0]
            _append_log(cursor, session_id, 0, entries)
        return SessionRecord(
            session_id, owner, 0, now, now, blob, program, log_head, seal, 0, history_digest
        )

    def load_session(self, session_id: str) -> SessionRecord | None:
        with self._reading() as cursor:
            row = cursor.execute(
                f"SELECT {_RECORD_COLUMNS} FROM autograms_sessions WHERE id = ?", (session_id,)
            ).fetchone()
        return None if row is None else SessionRecord(*row)

    def list_sessions(
        self,
        owner: str | None = None,
        limit: int = 100,
        offset: int = 0,
        *,
        program: str | None = None,
        unclaimed: bool = False,
    ) -> list[SessionRecord]:
        conditions, parameters = _belonging(owner, program, unclaimed)
        with self._reading() as cursor:
            rows = cursor.execute(
                f"SELECT {_SESSION_COLUMNS}, program FROM autograms_sessions{conditions}"
                " ORDER BY created_at, id LIMIT ? OFFSET ?",
                (*parameters, limit, offset),
            ).fetchall()
        return [SessionRecord(*row[:5], program=row[5]) for row in rows]

    def replace_blob(
        self, session_id: str, version: int, blob: str, *, seal: str | None = None
    ) -> bool:
        now_sql, now = self._now()
        with self._transaction() as cursor:
            replaced = cursor.execute(
                "UPDATE autograms_sessions SET blob = ?, seal = ?, version = version + 1,"
                f" updated_at = {now_sql} WHERE id = ? AND version = ?",
                (blob, seal, *now, session_id, version),
            )
            return replaced.rowcount == 1

    def seal_session(self, session_id: str, version: int, log_head: str, seal: str) -> bool:
        with self._transaction() as cursor:
            sealed = cursor.execute(
                "UPDATE autograms_sessions SET log_head = ?, seal = ? WHERE id = ? AND version = ?",
                (log_head, seal, session_id, version),
            )
            return sealed.rowcount == 1

    def delete_session(self, session_id: str) -> bool:
        with self._transaction() as cursor:
            deleted = cursor.execute("DELETE FROM autograms_sessions WHERE id = ?", (session_id,))
            return deleted.rowcount == 1

    def delete_idle(
        self, idle_seconds: float, *, program: str | None = None, unclaimed: bool = False
    ) -> list[str]:
        conditions, parameters = _belonging(None, program, unclaimed)
        conditions = " AND" + conditions[len(" WHERE") :] if conditions else ""
        now_sql, now = self._now()
        with self._transaction() as cursor:
            rows = cursor.execute(
                f"DELETE FROM autograms_sessions WHERE updated_at < {now_sql} - ? AND NOT EXISTS"
                " (SELECT 1 FROM autograms_queue q WHERE q.session_id ="
                f" autograms_sessions.id AND {LIVE_TICKET.format(now=now_sql)}){conditions}"
                " RETURNING id",
                (*now, idle_seconds, *now, *parameters),
            ).fetchall()
        return sorted(row[0] for row in rows)

    # -- turns ----------------------------------------------------------------------------------

    def claim(
        self,
        session_id: str,
        key: str,
        lease_seconds: float,
        ticket: Ticket | None = None,
        *,
        turns: bool = False,
    ) -> Claim:
        # Take (or renew) the ticket, then read, each its own transaction. Read after
        # queueing, the session is at least as new as it was when the ticket was taken, and
        # the oldest live ticket counts this one.
        now = time.time()
        taken = self._queue(session_id, key, now, now + lease_seconds, ticket)
        committed = None
        if turns:  # read with the session, in one snapshot
            with self._reading() as cursor:
                row = cursor.execute(_CLAIM_READ, (now, key, session_id)).fetchone()
                committed = _turn_records(cursor, session_id)
        else:
            row = self._read_row(_CLAIM_READ, (now, key, session_id))
        if row is None:
            return Claim()  # no such session: no ticket was taken (nor kept: ON DELETE CASCADE)
        session = SessionRecord(*row[:6], *row[13:17], row[18])
        if row[6] is not None:  # committed: the runner leaves the queue if a ticket was taken
            done = TurnRecord(*row[6:12], row[17])
            return Claim(done=done, session=session, ticket=taken, turns=committed)
        if taken is None:
            return Claim(session=session, running=True, turns=committed)
        first = row[12] in (None, taken.number)  # the oldest live ticket
        return Claim(session=session, ticket=taken, first=first, turns=committed)

    def renew(self, ticket: Ticket, lease_seconds: float) -> bool:
        now_sql, now = self._now()
        renewed = self._write_hint(
            f"UPDATE autograms_queue SET lease_until = {now_sql} + ? WHERE {TICKET_ROW}"
            " RETURNING ticket",
            (*now, lease_seconds, *ticket_row(ticket)),
        )
        return bool(renewed)

    def release(self, ticket: Ticket) -> None:
        self._write_hint(f"DELETE FROM autograms_queue WHERE {TICKET_ROW}", ticket_row(ticket))

    def _queue(
        self, session_id: str, key: str, now: float, until: float, ticket: Ticket | None
    ) -> Ticket | None:
        """Renew `ticket`, or take a new one (or this key's expired one) if the session
        exists; None when a live ticket has this key already (or there is no session)."""
        if ticket is not None and self.renew(ticket, until - now):
            return ticket
        taken = self._write_hint(_TAKE_TICKET, (key, until, session_id, now))
        return Ticket(session_id, key, taken[0][0]) if taken else None

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
        # Naming the program only when it is given spares the program index a rewrite.
        update = _UPDATE_SESSION
        parameters: tuple = (blob, turn.created_at, log_head, seal, turns, history_digest)
        if program is not None:
            update, parameters = _UPDATE_UNCLAIMED_SESSION, (*parameters, program)
        parameters = (*parameters, session_id, base_version)
        if unclaimed is not None:
            now_sql, now = self._now()
            update += UNCLAIMED_CONDITION.format(
                created_at="?",
                same="IS",
                owner="?",
                program="?",
                live=LIVE_TICKET.format(now=now_sql),
                key="?",
            )
            kept = (unclaimed.created_at, unclaimed.owner, unclaimed.program)
            parameters = (*parameters, *kept, *now, turn.idempotency_key)
        with self._transaction() as cursor:
            updated = cursor.execute(update, parameters).rowcount
            if updated != 1:
                return False  # another turn committed first: nothing is written
            cursor.execute(
                f"INSERT INTO autograms_turns ({_TURN_COLUMNS}, {_TURN_LOG_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session_id,
                    turn.idempotency_key,
                    turn.version,
                    turn.user_text,
                    turn.reply,
                    turn.created_at,
                    turn.seal,
                    *turn_log(entries),
                ),
            )
            # The ticket stays: a committed turn's ticket holds no place (`LIVE_TICKET`), and
            # the next ticket taken on the session sweeps it with those abandoned by dead
            # workers, in the claim's transaction, whose queue pages it writes anyway.
        return True

    def turns(self, session_id: str) -> list[TurnRecord]:
        with self._reading() as cursor:
            return _turn_records(cursor, session_id)

    def count_turns(self, session_id: str, up_to_version: int) -> int:
        with self._reading() as cursor:
            (count,) = cursor.execute(
                "SELECT COUNT(*) FROM autograms_turns WHERE session_id = ? AND version <= ?",
                (session_id, up_to_version),
            ).fetchone()
        return int(count)

    def seal_turns(self, session_id: str, seals: dict[int, str]) -> None:
        with self._transaction() as cursor:
            for version, seal in seals.items():
                cursor.execute(
                    "UPDATE autograms_turns SET seal = ? WHERE session_id = ? AND version = ?",
                    (seal, session_id, version),
                )

    def read_log(
        self,
        session_id: str,
        up_to_version: int | None = None,
        *,
        head: str | None = None,
        turn: int | None = None,
    ) -> list[dict[str, Any]]:
        if head is None and turn is not None:  # nothing to check: only that turn's rows
            rows = self._log_rows(session_id, turn, only=True)
        else:
            rows = self._log_rows(session_id, up_to_version)
        if head is not None:
            check_log(session_id, head, rows)
        if turn is not None:
            rows = [row for row in rows if row[0] == turn]
        return [_log_entry(session_id, *row) for row in rows]

    def log_head(self, session_id: str, up_to_version: int) -> str:
        return next_head(None, self._log_rows(session_id, up_to_version))

    def _log_rows(
        self, session_id: str, up_to_version: int | None, *, only: bool = False
    ) -> list[tuple[int, int, str]]:
        """The log's entries ``(version, position, text)`` up to `up_to_version` (all when
        None; `only`: of that version), each turn's row split into its entries."""
        bound = f" AND version {'=' if only else '<='} ?" if up_to_version is not None else ""
        parameters = (session_id,) if up_to_version is None else (session_id, up_to_version)
        with self._reading() as cursor:
            rows = cursor.execute(_LOG_ROWS.format(bound=bound), parameters * 2).fetchall()
        return [
            (int(version), position, text)
            for version, entries in rows
            for position, text in enumerate(entries.split(ENTRY_SEPARATOR))
        ]

    def token_usage(self, session_id: str) -> TokenUsage:
        with self._reading() as cursor:
            calls, prompt, completion = cursor.execute(
                "SELECT COALESCE(SUM(model_calls), 0), COALESCE(SUM(prompt_tokens), 0),"
                " COALESCE(SUM(completion_tokens), 0) FROM (SELECT model_calls, prompt_tokens,"
                " completion_tokens FROM autograms_log WHERE session_id = ? UNION ALL"
                " SELECT model_calls, prompt_tokens, completion_tokens FROM autograms_turns"
                " WHERE session_id = ?) AS counted",
                (session_id, session_id),
            ).fetchone()
        return TokenUsage(int(calls), int(prompt), int(completion))


def ticket_row(ticket: Ticket) -> tuple[str, str, int]:
    """The parameters of `TICKET_ROW` for `ticket`."""
    return ticket.session_id, ticket.idempotency_key, ticket.number


def _version_in(cursor: Any, dialect: Dialect) -> int:
    if cursor.execute(dialect.table_exists, ("autograms_schema",)).fetchone() is None:
        return 0
    row = cursor.execute("SELECT version FROM autograms_schema").fetchone()
    if row is not None and (isinstance(row[0], bool) or not isinstance(row[0], int)):
        raise StoreSchemaError(
            f"the table autograms_schema holds {row[0]!r}, not a schema version number "
            "(edited by hand?): the schema version of the autograms tables is unknown; put "
            f"the right number back (UPDATE autograms_schema SET version = {SCHEMA_VERSION} "
            "if the tables are this release's)",
            reason="damaged schema",
        )
    if row is None:
        raise StoreSchemaError(
            "the table autograms_schema is empty (edited by hand?): the schema version of "
            "the autograms tables is unknown; put its row back (INSERT INTO autograms_schema "
            f"VALUES ({SCHEMA_VERSION}) if the tables are this release's)",
            reason="damaged schema",
        )
    return int(row[0])


def _belonging(
    owner: str | None, program: str | None, unclaimed: bool = False
) -> tuple[str, tuple[str, ...]]:
    """The WHERE clause (with its parameters) of the sessions of `owner` and of `program`
    (None: any), or with `unclaimed` of no program. A session whose program is unknown (a
    schema-1 row whose blob named none: a session of release 0.1 that never started) is
    listed by no program until one runs its first turn (the commit names it): its blob would
    start under any of them, and listing it under each would show it to bots it never met."""
    conditions, parameters = [], []
    if owner is not None:
        conditions.append("owner = ?")
        parameters.append(owner)
    if unclaimed:
        conditions.append("program IS NULL")
    elif program is not None:
        conditions.append("program = ?")
        parameters.append(program)
    where = " WHERE " + " AND ".join(conditions) if conditions else ""
    return where, tuple(parameters)


def program_of(blob: str) -> str | None:
    """The program a blob's header names (None: it names none, or cannot be read)."""
    try:
        return session.decode(blob, key=None).program
    except SessionError:
        return None


def _fill_programs(cursor: Any) -> None:
    """Schema 2's data step: each session's program, read from its blob's header."""
    rows = cursor.execute("SELECT id, blob FROM autograms_sessions").fetchall()
    unnamed = 0
    for session_id, blob in rows:
        program = program_of(blob)
        unnamed += program is None
        cursor.execute(
            "UPDATE autograms_sessions SET program = ? WHERE id = ?", (program, session_id)
        )
    if unnamed:
        logger.warning(
            "%d of %d sessions name no program (never started, saved by release 0.1): "
            "Sessions.list(unclaimed=True) lists them; the first program to run a turn on "
            "one owns it",
            unnamed,
            len(rows),
        )


def _log_entry(session_id: str, version: int, position: int, entry: str) -> dict[str, Any]:
    """One log row's entry; a row that is not a JSON object is refused naming it."""
    try:
        value = json.loads(entry)
    except ValueError as exc:
        value = exc
    if not isinstance(value, dict):
        raise StoredSessionError(
            f"stored session {session_id!r} refused: its log row (version {version}, position "
            f"{position}) is not a JSON object (edited in the database?)",
            reason="damaged log",
            session_id=session_id,
        )
    try:
        return from_stored(value)
    except SessionError as exc:
        raise StoredSessionError(
            f"stored session {session_id!r} refused: its log row (version {version}, position "
            f"{position}): {exc}",
            reason=exc.reason,
            session_id=session_id,
        ) from exc


def _append_log(cursor: Any, session_id: str, version: int, entries: list[dict[str, Any]]) -> None:
    """Insert the log row of the entries a session starts with (none when there is none; a
    turn's entries go in its turn row)."""
    if entries:
        cursor.execute(_INSERT_LOG, (session_id, version, *turn_log(entries)))


def _turn_records(cursor: Any, session_id: str) -> list[TurnRecord]:
    """The session's committed turns, oldest first."""
    rows = cursor.execute(TURNS_QUERY, (session_id,)).fetchall()
    return [TurnRecord(*row) for row in rows]


#: what separates a turn's entries in its log row: compact JSON never holds a raw line break
ENTRY_SEPARATOR = "\n"


def turn_log(entries: list[dict[str, Any]]) -> tuple[str | None, int, int, int]:
    """A turn's `entries` as its row keeps them: their stored texts one a line (None when
    there is none), the turn's model calls and their tokens (read from the stored forms: an
    entry a program appended may not be a dict, or hold its fields pickled)."""
    texts, calls, prompt, completion = [], 0, 0, 0
    for entry in entries:
        stored = to_stored(entry)
        texts.append(stored_text(stored))
        if stored.get("entry_type") == "model":
            calls += 1
            prompt += _tokens(stored.get("prompt_tokens"))
            completion += _tokens(stored.get("completion_tokens"))
    return (ENTRY_SEPARATOR.join(texts) if texts else None, calls, prompt, completion)


def _tokens(value: Any) -> int:
    """A model entry's token count as summed (a count a program wrote that is not a whole
    number counts none)."""
    return value if type(value) is int else 0


def _group_log(cursor: Any) -> None:
    """Schema 4's data step: the log rows of each turn (one per entry) joined into one row
    of the new table, their texts as stored, in their order."""
    rows = cursor.execute(
        "SELECT session_id, version, entry, entry_type, prompt_tokens, completion_tokens"
        " FROM autograms_log ORDER BY session_id, version, position"
    ).fetchall()
    for (session_id, version), group in itertools.groupby(rows, key=lambda row: row[:2]):
        texts, calls, prompt, completion = [], 0, 0, 0
        for _, _, text, kind, prompt_tokens, completion_tokens in group:
            if ENTRY_SEPARATOR in text:  # never written so: refused rather than split wrongly
                raise StoreSchemaError(
                    f"a log row of session {session_id!r} (version {version}) holds a line "
                    "break outside its JSON strings (edited by hand?); the log cannot be "
                    "migrated to schema 4 until it is mended",
                    reason="damaged log",
                )
            texts.append(text)
            if kind == "model":
                calls += 1
                prompt += _tokens(prompt_tokens)
                completion += _tokens(completion_tokens)
        cursor.execute(
            "INSERT INTO autograms_log_4 (session_id, version, entries, model_calls,"
            " prompt_tokens, completion_tokens) VALUES (?, ?, ?, ?, ?, ?)",
            (session_id, version, ENTRY_SEPARATOR.join(texts), calls, prompt, completion),
        )
