"""The PostgreSQL store: sessions shared by workers on many machines.

Needs psycopg 3 and psycopg_pool (``pip install 'autograms[postgres]'``). Connections come
from a pool and are held only for the length of one transaction, never while a program runs.
A turn's commit is durable (``synchronous_commit`` as configured on the server, ``on`` by
default); the queue's hints are written with ``synchronous_commit = off``. Claims of one
session take a transaction-scoped advisory lock (keyed by the session's id) before they read,
so tickets are handed out in arrival order.

After the server restarts, the pool replaces its broken connections: one taken from the pool
after sitting idle for a second or more is checked first (a round trip), one in use a moment
ago is not (under load that round trip costs as much as a statement, three times a turn). A
transaction that fails because the server is or was down raises StoreUnavailableError (nothing
of it was written, or all of it), the pool drops that connection, and a turn retried with the
same idempotency key is then applied once.
A store opened before its process forks gives each child its own pool at its first use.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import time
import weakref
from collections.abc import Iterator
from typing import Any

from .errors import StoreError, StoreSchemaError, StoreUnavailableError
from .records import Claim, SessionRecord, Ticket, TurnRecord
from .schema import Dialect
from .sql import LIVE_TICKET, TURNS_QUERY, UNCLAIMED_CONDITION, SQLStore, turn_log
from .urls import hide_password

#: the database's clock, in seconds since the epoch (the statement's start: one instant for
#: every comparison and stamp of a statement)
_CLOCK = "EXTRACT(EPOCH FROM statement_timestamp())::float8"

#: a ticket that holds no place: its lease ran out, or its turn is committed (``OFFSET 0``
#: keeps the test a look-up of the turns' key for the ticket: without it the planner may make
#: it a join over all the session's turns, or a hash of every turn of the table, on statistics
#: taken while the tables were small -- 0.15 ms of a claim's 0.3 ms measured on the server)
_DEAD_TICKET = f"""(q.lease_until < {_CLOCK} OR EXISTS (
        SELECT 1 FROM autograms_turns f
        WHERE f.session_id = q.session_id AND f.idempotency_key = q.idempotency_key
        OFFSET 0))"""

# The claim's query: the session, the turn committed with this key, the oldest live ticket (all
# as before this claim), and this claim's ticket: renewed, new, or this key's expired one
# taken over (0 when this key's ticket is live: its turn is running). A new ticket takes the
# row of one of the session's tickets that hold no place (``spare``: in the common case the
# previous turn's, which its commit left) -- an UPDATE of its key, number and lease, where an
# INSERT and a DELETE would write a WAL record more and check the session's foreign key --
# or, when there is none or it changed meanwhile (a renewal by a worker past its lease, a
# release), a new row (a plain INSERT, not ON CONFLICT, whose speculative insertion writes
# two WAL records more: the advisory lock, taken by the statement before, keeps any other
# claim of the session from inserting meanwhile). The session's other tickets that hold no
# place are swept.
_CLAIM_QUERY = f"""
WITH s AS (
    SELECT id, owner, version, created_at, updated_at, blob, program, log_head, seal, turns,
        history_digest
    FROM autograms_sessions WHERE id = p_session),
done AS (
    SELECT session_id, idempotency_key, version, user_text, reply, created_at, seal
    FROM autograms_turns WHERE session_id = p_session AND idempotency_key = p_key),
oldest AS (
    SELECT MIN(ticket) AS ticket FROM autograms_queue q
    WHERE session_id = p_session AND NOT {_DEAD_TICKET}),
mine AS (
    SELECT ticket FROM autograms_queue
    WHERE session_id = p_session AND idempotency_key = p_key),
spare AS (
    SELECT idempotency_key FROM autograms_queue q
    WHERE session_id = p_session AND idempotency_key <> p_key AND {_DEAD_TICKET}
        AND EXISTS (SELECT 1 FROM s) AND NOT EXISTS (SELECT 1 FROM done)
        AND NOT EXISTS (SELECT 1 FROM mine)
    LIMIT 1),
swept AS (
    DELETE FROM autograms_queue q
    WHERE session_id = p_session AND idempotency_key <> p_key
        AND idempotency_key NOT IN (SELECT idempotency_key FROM spare) AND {_DEAD_TICKET}),
renewed AS (
    UPDATE autograms_queue SET lease_until = {_CLOCK} + p_lease
    WHERE session_id = p_session AND idempotency_key = p_key AND ticket = p_number
        AND EXISTS (SELECT 1 FROM s) AND NOT EXISTS (SELECT 1 FROM done)
    RETURNING ticket),
reused AS (
    UPDATE autograms_queue q SET idempotency_key = p_key, lease_until = {_CLOCK} + p_lease,
        ticket = (SELECT COALESCE(MAX(ticket), 0) + 1 FROM autograms_queue
            WHERE session_id = p_session)
    WHERE session_id = p_session AND idempotency_key IN (SELECT idempotency_key FROM spare)
        AND {_DEAD_TICKET}
    RETURNING ticket),
taken AS (
    INSERT INTO autograms_queue (session_id, idempotency_key, ticket, lease_until)
    SELECT id, p_key, (
        SELECT COALESCE(MAX(ticket), 0) + 1 FROM autograms_queue WHERE session_id = p_session),
        {_CLOCK} + p_lease FROM s
    WHERE NOT EXISTS (SELECT 1 FROM done) AND NOT EXISTS (SELECT 1 FROM mine)
        AND NOT EXISTS (SELECT 1 FROM reused)
    RETURNING ticket),
taken_over AS (
    UPDATE autograms_queue SET lease_until = {_CLOCK} + p_lease
    WHERE session_id = p_session AND idempotency_key = p_key AND lease_until < {_CLOCK}
        AND EXISTS (SELECT 1 FROM s) AND NOT EXISTS (SELECT 1 FROM done)
        AND NOT EXISTS (SELECT 1 FROM renewed)
    RETURNING ticket)
SELECT s.id, s.owner, s.version, s.created_at, s.updated_at, s.blob,
    done.session_id, done.idempotency_key, done.version, done.user_text, done.reply,
    done.created_at, oldest.ticket,
    COALESCE((SELECT ticket FROM renewed), (SELECT ticket FROM reused),
        (SELECT ticket FROM taken), (SELECT ticket FROM taken_over), 0),
    s.program, s.log_head, s.seal, s.turns, done.seal, s.history_digest
FROM s CROSS JOIN oldest LEFT JOIN done ON TRUE
"""

# The claim, one call of a function (one statement, one round trip): it takes the session's
# advisory lock, then runs `_CLAIM_QUERY`, whose snapshot -- a volatile PL/pgSQL function's
# query takes its own -- is taken after the lock is granted, so it sees what the previous
# holder committed. An advisory lock, not the session row's: it writes nothing (a row lock
# cost the claim a WAL record and a page dirtied) and waits for no commit in flight (a claim
# that reads before that commit finds its ticket live and waits in the queue as for any
# running turn). The first key (a constant) keeps these locks apart from the single-number
# advisory locks other code of the database may take. The transaction's commit is not waited
# for (``set_config``: the queue's rows are hints). The function is made by migration 7: a
# release that changes it replaces it in a migration of its own.
_CLAIM_FUNCTION = f"""
CREATE FUNCTION autograms_claim(p_session text, p_key text, p_lease float8, p_number bigint)
RETURNS TABLE (session_row_id text, session_owner text, session_version bigint,
    session_created_at float8, session_updated_at float8, session_blob text,
    done_session_id text, done_key text, done_version bigint, done_user_text text,
    done_reply text, done_created_at float8, oldest_ticket bigint, taken_ticket bigint,
    session_program text, session_log_head text, session_seal text, session_turns bigint,
    done_seal text, session_history_digest text)
LANGUAGE plpgsql AS $claim$
#variable_conflict use_column
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true),
        pg_advisory_xact_lock(4711, hashtext(p_session));
    RETURN QUERY {_CLAIM_QUERY};
END
$claim$"""
_CLAIM = "SELECT * FROM autograms_claim(%s::text, %s::text, %s::float8, %s::bigint)"
# A hint written in a transaction of its own, whose commit is not waited for. (``set_config``,
# not SET LOCAL, which warns outside a BEGIN block: `_one_round_trip` sends none.)
_NOT_FLUSHED = "SELECT set_config('synchronous_commit', 'off', true)"


# One statement (so one round trip, one transaction): the version-checked update and, only if
# it updated the row, the turn row with its log entries. The turn's ticket is left in the
# queue (the next claim on the session sweeps it: `sql.LIVE_TICKET`).
_COMMIT = f"""
WITH updated AS (
    UPDATE autograms_sessions SET blob = %s::text, version = version + 1,
        updated_at = {_CLOCK}, log_head = %s::text, seal = %s::text, turns = %s::bigint,
        history_digest = %s::text, program = COALESCE(program, %s::text)
    WHERE id = %s::text AND version = %s::bigint RETURNING id),
turn AS (
    INSERT INTO autograms_turns (session_id, idempotency_key, version, user_text, reply,
        created_at, seal, entries, model_calls, prompt_tokens, completion_tokens)
    SELECT id, %s::text, %s::bigint, %s::text, %s::text, {_CLOCK}, %s::text, %s::text,
        %s::bigint, %s::bigint, %s::bigint FROM updated)
SELECT COUNT(*) FROM updated
"""
# The same for a turn run without a claim (`Store.commit`'s `unclaimed`): four parameters more
# after the base version, the kept copy's created_at, owner and program, and the turn's key.
_UNCLAIMED_COMMIT = _COMMIT.replace(
    "version = %s::bigint RETURNING id",
    "version = %s::bigint"
    + UNCLAIMED_CONDITION.format(
        created_at="%s::float8",
        same="IS NOT DISTINCT FROM",
        owner="%s::text",
        program="%s::text",
        live=LIVE_TICKET.format(now=_CLOCK),
        key="%s::text",
    )
    + " RETURNING id",
)


DIALECT = Dialect(
    name="postgresql",
    integer="BIGINT",
    real="DOUBLE PRECISION",
    serial_key="BIGSERIAL PRIMARY KEY",
    # any constant: two workers starting at once must not both create the tables
    migration_lock="SELECT pg_advisory_xact_lock(4711200601)",
    table_exists=(
        "SELECT 1 FROM information_schema.tables"
        " WHERE table_schema = current_schema() AND table_name = ?"
    ),
    claim_function=_CLAIM_FUNCTION,
)


#: a pooled connection idle for longer than this is checked (a round trip) before it is used
CHECK_AFTER_IDLE_SECONDS = 1.0


class PostgresStore(SQLStore):
    """Sessions in the PostgreSQL database at `url` (a libpq URL or connection string)."""

    dialect = DIALECT
    holds_nul = False
    # Workers on many machines: their clocks may differ, the database's is one.
    clock = _CLOCK

    def __init__(
        self, url: str, *, min_size: int = 1, max_size: int = 4, timeout: float = 10.0
    ) -> None:
        try:
            import psycopg
            import psycopg_pool
        except ImportError as exc:
            raise StoreError(
                "the PostgreSQL store needs psycopg 3 and psycopg_pool; "
                "install them with: pip install 'autograms[postgres]'",
                reason="missing dependency",
            ) from exc
        self.url = hide_password(url)
        self._psycopg = psycopg
        _try_connecting(psycopg, url, self.url, timeout)
        self._pool_errors = (psycopg.OperationalError, psycopg_pool.PoolTimeout)
        self._new_pool = functools.partial(
            psycopg_pool.ConnectionPool,
            url,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            kwargs={"autocommit": True},
            check=self._check_if_idle,
            name="autograms",
            open=False,
        )
        #: when each pooled connection was last given back (to check only the idle ones)
        self._returned: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
        self._check_connection = psycopg_pool.ConnectionPool.check_connection
        self._pool = self._opened_pool()
        self._pid = os.getpid()
        self._forking = threading.Lock()
        #: pools a forked process inherited: their connections are the parent's sockets
        self._inherited: list[Any] = []

    def __repr__(self) -> str:
        return f"<PostgresStore {self.url}>"

    def close(self) -> None:
        if self._pid == os.getpid():
            self._pool.close()

    @contextlib.contextmanager
    def _connection(self) -> Iterator[Any]:
        """A connection of this process's pool. A process forked after the store was opened
        (gunicorn --preload, multiprocessing) opens its own pool the first time: the one it
        inherited holds its parent's sockets, so it is kept unused and never closed here."""
        if self._pid != os.getpid():
            with self._forking:
                if self._pid != os.getpid():
                    self._inherited.append(self._pool)
                    self._pool = self._opened_pool()
                    self._pid = os.getpid()
        with self._pool.connection() as connection:
            try:
                yield connection
            finally:
                self._returned[connection] = time.monotonic()

    def _check_if_idle(self, connection: Any) -> None:
        """The pool's check of a connection it hands out: a round trip, unless the connection
        was in use less than `CHECK_AFTER_IDLE_SECONDS` ago."""
        returned = self._returned.get(connection)
        if returned is None or time.monotonic() - returned > CHECK_AFTER_IDLE_SECONDS:
            self._check_connection(connection)

    def _opened_pool(self) -> Any:
        pool = self._new_pool()
        pool.open()
        return pool

    # -- the turn's two transactions, one statement and one round trip each -----------------

    def claim(
        self,
        session_id: str,
        key: str,
        lease_seconds: float,
        ticket: Ticket | None = None,
        *,
        turns: bool = False,
    ) -> Claim:
        parameters = (session_id, key, float(lease_seconds), 0 if ticket is None else ticket.number)
        with self._errors(), self._connection() as connection:
            try:
                if turns:  # in the same round trip, after the claim's lock
                    statements = [(_CLAIM, parameters), (_placeholders(TURNS_QUERY), (session_id,))]
                    claimed, read = _one_round_trip(connection, statements)
                else:
                    claimed = connection.execute(_CLAIM, parameters)
            except self._psycopg.errors.ForeignKeyViolation:
                # the session was deleted after the claim read it: nothing was written
                return Claim()
            row = claimed.fetchone()
            committed = [TurnRecord(*turn) for turn in read] if turns else None
        if row is None:
            return Claim()
        session = SessionRecord(*row[:6], *row[14:18], row[19])
        if row[6] is not None:
            done = TurnRecord(*row[6:12], row[18])
            return Claim(done=done, session=session, turns=committed)
        oldest_live, taken = row[12], row[13]
        if not taken:
            return Claim(session=session, running=True, turns=committed)
        first = oldest_live is None or taken <= oldest_live
        mine = Ticket(session_id, key, taken)
        return Claim(session=session, ticket=mine, first=first, turns=committed)

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
        query, parameters = (
            _COMMIT,
            [
                *(blob, log_head, seal, turns, history_digest, program, session_id, base_version),
                *(turn.idempotency_key, turn.version, turn.user_text, turn.reply, turn.seal),
                *turn_log(entries),
            ],
        )
        if unclaimed is not None:
            query = _UNCLAIMED_COMMIT
            kept = [unclaimed.created_at, unclaimed.owner, unclaimed.program]
            parameters[8:8] = [*kept, turn.idempotency_key]
        with self._errors(), self._connection() as connection:
            try:
                (updated,) = connection.execute(query, parameters).fetchone()
            except self._psycopg.errors.UniqueViolation:
                return False  # this key was committed meanwhile: the claim will find it
        return updated == 1

    def _write_hint(self, query: str, parameters: tuple) -> list[tuple]:
        with self._errors(), self._connection() as connection:
            statements = [(_NOT_FLUSHED, ()), (_placeholders(query), parameters)]
            written = _one_round_trip(connection, statements)[-1]
            return [] if written.description is None else written.fetchall()

    # -- connections ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(self, durable: bool = True) -> Iterator[_Cursor]:
        with self._errors(), self._connection() as connection:
            with connection.transaction():
                cursor = _Cursor(connection.cursor())
                if not durable:
                    cursor.execute("SET LOCAL synchronous_commit = off")
                yield cursor

    @contextlib.contextmanager
    def _reading(self) -> Iterator[_Cursor]:
        # No BEGIN/COMMIT around it: every read is one statement, a consistent snapshot by
        # itself in autocommit mode, so one round trip instead of three.
        with self._errors(), self._connection() as connection:
            yield _Cursor(connection.cursor())

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except self._psycopg.errors.UndefinedTable as exc:
            raise StoreSchemaError(
                f"the database at {self.url} has no autograms tables; open it with "
                "create=True or run autograms.stores.migrate()",
                reason="no schema",
            ) from exc
        except (
            self._psycopg.errors.UndefinedColumn,
            self._psycopg.errors.UndefinedFunction,
        ) as exc:
            raise StoreSchemaError(
                f"the database at {self.url} lacks a column or function of the autograms "
                f"schema (altered by hand?): {exc}",
                reason="damaged schema",
            ) from exc
        except self._pool_errors as exc:
            raise StoreUnavailableError(
                f"the PostgreSQL store at {self.url} is unavailable: {exc}", reason="unavailable"
            ) from exc


#: what libpq says when the server answers but will not take these credentials or database
_REFUSALS = ("does not exist", "authentication failed", "no pg_hba.conf entry")


def _try_connecting(psycopg: Any, url: str, shown: str, timeout: float) -> None:
    """Connect once, so that a database that refuses (no such database, a wrong password)
    is reported as such at once, not as a pool that times out."""
    try:
        psycopg.connect(url, connect_timeout=max(1, int(timeout)), autocommit=True).close()
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        if not any(refusal in str(exc) for refusal in _REFUSALS):  # down or starting: retry
            raise StoreUnavailableError(
                f"the PostgreSQL store at {shown} is unavailable: {reason}", reason="unavailable"
            ) from exc
        raise StoreError(
            f"the PostgreSQL server at {shown} refused the connection: {reason}",
            reason="refused",
        ) from exc


def _one_round_trip(connection: Any, statements: list[tuple[str, Any]]) -> list[Any]:
    """Run `statements` in one transaction, sent as one pipeline with a single sync: one round
    trip. Returns the cursor of each statement; a failure rolls the transaction back.

    No BEGIN or COMMIT is sent: on a connection in autocommit mode, the statements of a
    pipeline up to its sync are one implicit transaction, which the sync commits (or, after a
    failure, rolls back) -- the protocol's, PostgreSQL's "Pipelining" in the frontend/backend
    protocol. Each statement still takes its own snapshot (READ COMMITTED)."""
    cursors = [connection.cursor() for _ in statements]
    try:
        with connection.pipeline():
            for cursor, (query, parameters) in zip(cursors, statements, strict=True):
                cursor.execute(query, parameters)
    except BaseException:
        with contextlib.suppress(Exception):  # a broken connection: the pool drops it
            connection.rollback()
        raise
    return cursors


class _Cursor:
    """A psycopg cursor that takes the ``?`` placeholders the shared queries use."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def execute(self, query: str, parameters: tuple = ()) -> Any:
        return self._cursor.execute(_placeholders(query), parameters)

    def executemany(self, query: str, rows: list[tuple]) -> None:
        self._cursor.executemany(_placeholders(query), rows)


@functools.lru_cache(maxsize=256)
def _placeholders(query: str) -> str:
    return query.replace("?", "%s")
