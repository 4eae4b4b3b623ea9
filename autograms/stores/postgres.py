"""The PostgreSQL store: sessions shared by workers on many machines.

Needs psycopg 3 and psycopg_pool (``pip install 'autograms[postgres]'``). Connections come
from a pool and are held only for the length of one transaction, never while a program runs.
A turn's commit is durable (``synchronous_commit`` as configured on the server, ``on`` by
default); the queue's hints are written with ``synchronous_commit = off``. Claims lock the
session's row (``SELECT ... FOR UPDATE``) so tickets are handed out in arrival order.

After the server restarts, the pool replaces its broken connections (each is checked when it
is taken from the pool); a transaction that fails because the server is down raises
StoreUnavailableError, and a turn retried with the same idempotency key is then applied once.
Open the store in each worker process (a pool does not survive a fork).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any

from .errors import StoreError, StoreSchemaError, StoreUnavailableError
from .schema import Dialect
from .sql import SQLStore
from .urls import hide_password

DIALECT = Dialect(
    name="postgresql",
    integer="BIGINT",
    real="DOUBLE PRECISION",
    serial_key="BIGSERIAL PRIMARY KEY",
    lock_row=" FOR UPDATE OF s",
    # any constant: two workers starting at once must not both create the tables
    migration_lock="SELECT pg_advisory_xact_lock(4711200601)",
    table_exists=(
        "SELECT 1 FROM information_schema.tables"
        " WHERE table_schema = current_schema() AND table_name = ?"
    ),
)


class PostgresStore(SQLStore):
    """Sessions in the PostgreSQL database at `url` (a libpq URL or connection string)."""

    dialect = DIALECT

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
        self._pool_errors = (psycopg.OperationalError, psycopg_pool.PoolTimeout)
        self._pool = psycopg_pool.ConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            kwargs={"autocommit": True},
            check=psycopg_pool.ConnectionPool.check_connection,
            name="autograms",
            open=False,
        )
        self._pool.open()

    def __repr__(self) -> str:
        return f"<PostgresStore {self.url}>"

    def close(self) -> None:
        self._pool.close()

    @contextlib.contextmanager
    def _transaction(self, durable: bool = True) -> Iterator[_Cursor]:
        with self._errors(), self._pool.connection() as connection:
            with connection.transaction():
                cursor = _Cursor(connection.cursor())
                if not durable:
                    cursor.execute("SET LOCAL synchronous_commit = off")
                yield cursor

    @contextlib.contextmanager
    def _reading(self) -> Iterator[_Cursor]:
        with self._errors(), self._pool.connection() as connection:
            with connection.transaction():
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
        except self._pool_errors as exc:
            raise StoreUnavailableError(
                f"the PostgreSQL store at {self.url} is unavailable: {exc}", reason="unavailable"
            ) from exc


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
