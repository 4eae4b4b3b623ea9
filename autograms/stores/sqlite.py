"""The SQLite store: one database file, safe for several processes on one machine.

Standard library only. The file is in WAL mode (readers never block the writer) with
``synchronous=FULL`` (a committed turn survives a power cut). Every write transaction starts
with ``BEGIN IMMEDIATE``: a deferred ``BEGIN`` that reads and then writes fails at once with
"database is locked" when another process wrote in between, whatever the busy timeout, while
``BEGIN IMMEDIATE`` waits for the write lock. The queue's hints are written with
``synchronous=NORMAL``: their commit is not flushed (losing one in a power cut costs nothing;
the next durable commit flushes the WAL they are in anyway), but a checkpoint that such a
commit happens to run still flushes the WAL before copying it into the database and the
database before the WAL is reused. ``synchronous=OFF`` would skip those flushes too, and a
power cut after a checkpoint could then lose turns committed durably before it.

WAL needs every process on the same host: do not put the file on a network filesystem.
Each thread gets its own connection; a forked child opens its own.
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import threading
import time
from collections.abc import Iterator

from .errors import StoreSchemaError, StoreUnavailableError
from .schema import Dialect
from .sql import SQLStore

DIALECT = Dialect(
    name="sqlite",
    integer="INTEGER",
    real="REAL",
    serial_key="INTEGER PRIMARY KEY",
    lock_row="",  # BEGIN IMMEDIATE already holds the database's write lock
    migration_lock=None,
    table_exists="SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
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

    @contextlib.contextmanager
    def _transaction(self, durable: bool = True) -> Iterator[sqlite3.Cursor]:
        connection = self._connection()
        with self._errors():
            if not durable:
                connection.execute("PRAGMA synchronous = NORMAL")
            try:
                self._retrying(connection, "BEGIN IMMEDIATE")
                with self._in(connection) as cursor:
                    yield cursor
            finally:
                if not durable:
                    connection.execute("PRAGMA synchronous = FULL")

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Cursor]:
        connection = self._connection()
        with self._errors():
            connection.execute("BEGIN")
            with self._in(connection) as cursor:
                # the read snapshot, taken now: a reader is refused while a connection
                # recovers the WAL after a crash, or the last one to close removes it
                self._retrying(connection, "PRAGMA schema_version")
                yield cursor

    def _retrying(self, connection: sqlite3.Connection, statement: str) -> None:
        """Run `statement`, the one that takes a transaction's lock, again every millisecond
        or so while the database is locked, until `busy_timeout`.

        The connection's own busy timeout is 0: SQLite's busy handler sleeps up to 100 ms
        between tries, so with several processes committing a waiter would often sleep long
        after the lock was free. Once a transaction holds its locks, no later statement of it
        waits for one (in WAL mode a commit takes none, and its checkpoint skips busy pages).
        """
        deadline = 0.0
        delay = 0.0005
        while True:
            try:
                connection.execute(statement)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc):
                    raise
                now = time.monotonic()
                deadline = deadline or now + self.busy_timeout
                if now > deadline:
                    raise
            time.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, 0.004)

    @staticmethod
    @contextlib.contextmanager
    def _in(connection: sqlite3.Connection) -> Iterator[sqlite3.Cursor]:
        """A cursor in the transaction the connection has begun, committed when the block ends
        normally and rolled back otherwise."""
        try:
            yield connection.cursor()
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                raise StoreSchemaError(
                    f"the SQLite store {self.path} has no autograms tables; open it with "
                    "create=True or run autograms.stores.migrate()",
                    reason="no schema",
                ) from exc
            if "no such column" in str(exc):
                raise StoreSchemaError(
                    f"the SQLite store {self.path} lacks a column of autograms schema "
                    f"(altered by hand?): {exc}",
                    reason="damaged schema",
                ) from exc
            raise StoreUnavailableError(
                f"the SQLite store {self.path} failed: {exc}", reason="unavailable"
            ) from exc
