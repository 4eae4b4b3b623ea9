"""The SQLite store: one database file, safe for several processes on one machine.

Standard library only. The file is in WAL mode (readers never block the writer) with
``synchronous=FULL`` (a committed turn survives a power cut). Every write transaction starts
with ``BEGIN IMMEDIATE``: a deferred ``BEGIN`` that reads and then writes fails at once with
"database is locked" when another process wrote in between, whatever the busy timeout, while
``BEGIN IMMEDIATE`` waits for the write lock. The queue's hints (a claim's ticket, a renewed
lease, leaving the queue) are written with ``synchronous=NORMAL``, each as one statement in its
own transaction: their commit is not flushed (losing one in a power cut costs nothing -- a lost
ticket is a retried claim -- and the next durable commit flushes the WAL they are in anyway),
but a checkpoint that such a commit happens to run still flushes the WAL before copying it into
the database and the database before the WAL is reused. ``synchronous=OFF`` would skip those
flushes too, and a power cut after a checkpoint could then lose turns committed durably before
it. (The setting is switched around each hint on the connection that writes everything else: a
second connection would re-read from the WAL every page the other one changed, ~20 reads a
turn.)

WAL needs every process on the same host: do not put the file on a network filesystem.
Each thread gets its own connection; a forked child opens its own.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from typing import Any

from .errors import StoreError, StoreSchemaError, StoreUnavailableError
from .schema import Dialect
from .sql import SQLStore

DIALECT = Dialect(
    name="sqlite",
    integer="INTEGER",
    real="REAL",
    serial_key="INTEGER PRIMARY KEY",
    migration_lock=None,
    table_exists="SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
    keyed_table=" WITHOUT ROWID",
    # The claim takes its ticket with one statement, its own transaction: the sweep rides
    # along in a trigger (the pages it changes are the ones the new ticket writes). Expired:
    # abandoned by a dead worker; committed: left by its commit.
    queue_sweep="""CREATE TRIGGER autograms_queue_sweep AFTER INSERT ON autograms_queue
        BEGIN
            DELETE FROM autograms_queue
            WHERE session_id = NEW.session_id AND idempotency_key <> NEW.idempotency_key AND (
                lease_until < (julianday('now') - 2440587.5) * 86400.0
                OR EXISTS (SELECT 1 FROM autograms_turns f
                    WHERE f.session_id = autograms_queue.session_id
                    AND f.idempotency_key = autograms_queue.idempotency_key));
        END""",
    drop_queue_sweep="DROP TRIGGER IF EXISTS autograms_queue_sweep",
)


class SQLiteStore(SQLStore):
    """Sessions in the SQLite database file `path` (created when missing)."""

    dialect = DIALECT

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 30.0) -> None:
        self.path = os.fspath(path)
        self.url = f"sqlite:///{self.path}"
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"<SQLiteStore {self.path}>"

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for connection in self._opened:
                connection.close()
            self._opened.clear()

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreUnavailableError(f"{self.url} is closed", reason="closed")
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            local.connection = self._connect()
            local.pid = os.getpid()
        return local.connection

    def _connect(self) -> sqlite3.Connection:
        try:
            connection = sqlite3.connect(
                self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
            )
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = FULL")
            connection.execute("PRAGMA foreign_keys = ON")
            # Every lock is taken by `_retrying` (see there): no statement waits in SQLite.
            connection.execute("PRAGMA busy_timeout = 0")
        except sqlite3.Error as exc:
            raise StoreUnavailableError(
                f"cannot open the SQLite store {self.path}: {exc}", reason="unavailable"
            ) from exc
        with self._lock:
            self._opened.append(connection)
        return connection

    def _transaction(self, durable: bool = True) -> _Transaction:
        return _Transaction(self, self._connection(), "BEGIN IMMEDIATE", durable=durable)

    def _reading(self) -> _Transaction:
        # the read snapshot is taken by its first statement: a reader is refused while a
        # connection recovers the WAL after a crash, or the last one to close removes it
        return _Transaction(self, self._connection(), "BEGIN", "PRAGMA schema_version")

    def _write_hint(self, query: str, parameters: tuple) -> list[tuple]:
        # one statement, its own transaction: no BEGIN and COMMIT to send
        connection = self._connection()
        try:
            connection.execute("PRAGMA synchronous = NORMAL")
            try:
                return self._retrying(connection, query, parameters).fetchall()
            finally:
                connection.execute("PRAGMA synchronous = FULL")
        except sqlite3.OperationalError as exc:
            raise self._failure(exc) from exc

    def _read_row(self, query: str, parameters: tuple) -> tuple | None:
        try:
            # read to the end, so that the statement ends and its snapshot with it
            rows = self._retrying(self._connection(), query, parameters).fetchall()
        except sqlite3.OperationalError as exc:
            raise self._failure(exc) from exc
        return rows[0] if rows else None

    def _retrying(
        self, connection: sqlite3.Connection, statement: str, parameters: tuple = ()
    ) -> sqlite3.Cursor:
        """Run `statement`, the one that takes a transaction's lock (or a statement that is
        a transaction by itself), again every millisecond or so while the database is
        locked, until `busy_timeout`.

        The connection's own busy timeout is 0: SQLite's busy handler sleeps up to 100 ms
        between tries, so with several processes committing a waiter would often sleep long
        after the lock was free. Once a transaction holds its locks, no later statement of it
        waits for one (in WAL mode a commit takes none, and its checkpoint skips busy pages).
        """
        deadline = 0.0
        delay = 0.0005
        while True:
            try:
                return connection.execute(statement, parameters)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc):
                    raise
                now = time.monotonic()
                deadline = deadline or now + self.busy_timeout
                if now > deadline:
                    raise
            time.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, 0.004)

    def _failure(self, exc: sqlite3.OperationalError) -> StoreError:
        """The store's error for a failed statement."""
        if "no such table" in str(exc):
            return StoreSchemaError(
                f"the SQLite store {self.path} has no autograms tables; open it with "
                "create=True or run autograms.stores.migrate()",
                reason="no schema",
            )
        if "no such column" in str(exc):
            return StoreSchemaError(
                f"the SQLite store {self.path} lacks a column of autograms schema "
                f"(altered by hand?): {exc}",
                reason="damaged schema",
            )
        return StoreUnavailableError(
            f"the SQLite store {self.path} failed: {exc}", reason="unavailable"
        )


class _Transaction:
    """One transaction on a connection, as a context manager giving a cursor: begun (its lock
    taken by `first`, retried while the database is locked), committed when the block ends
    normally and rolled back otherwise; a failed statement raises the store's error. Not
    `durable`: its commit is not flushed. (A class, not a generator: a turn's commit enters
    one, and three nested generators cost ~15 us.)"""

    __slots__ = ("store", "connection", "begin", "first", "durable")

    def __init__(
        self,
        store: SQLiteStore,
        connection: sqlite3.Connection,
        begin: str,
        first: str = "",
        *,
        durable: bool = True,
    ) -> None:
        self.store, self.connection, self.begin, self.first = store, connection, begin, first
        self.durable = durable

    def __enter__(self) -> sqlite3.Cursor:
        connection = self.connection
        try:
            if not self.durable:
                connection.execute("PRAGMA synchronous = NORMAL")
            try:
                if self.first:
                    connection.execute(self.begin)
                    try:
                        self.store._retrying(connection, self.first)
                    except BaseException:
                        connection.execute("ROLLBACK")
                        raise
                else:
                    self.store._retrying(connection, self.begin)
            except BaseException:
                self._durable_again()
                raise
        except sqlite3.OperationalError as exc:
            raise self.store._failure(exc) from exc
        return connection.cursor()

    def __exit__(self, kind: type | None, error: BaseException | None, traceback: Any) -> None:
        connection = self.connection
        try:
            try:
                if kind is None:
                    connection.execute("COMMIT")
                    return
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
            finally:
                self._durable_again()
        except sqlite3.OperationalError as exc:
            raise self.store._failure(exc) from exc
        if isinstance(error, sqlite3.OperationalError):
            raise self.store._failure(error) from error

    def _durable_again(self) -> None:
        """The connection back to flushing every commit (after a transaction that did not)."""
        if not self.durable:
            self.connection.execute("PRAGMA synchronous = FULL")
