"""The tables of a session store, and the migrations that create and upgrade them.

Schema version 3 (version 1 lacked the sessions' ``program``, ``log_head`` and ``seal``;
version 2 the sessions' ``turns`` and the turns' ``seal``, and had an index of the queue by
session and ticket, which cost every claim and commit a page and served no query the queue's
unique index does not):

================== ==========================================================================
autograms_schema   one row: the schema version the tables follow
autograms_sessions one row per session: id, owner, program (``module:qualname`` of the root
                   function it belongs to), version (= its number of committed turns), blob
                   (the `Autogram.serialize` text, signed when a key is configured),
                   created_at, updated_at (seconds since the epoch), turns (its number of
                   turn rows: version less the deploys' rewrites; NULL for a row of an older
                   schema until its next turn); in a signed store, log_head (the digest
                   chain over its log rows) and seal (an HMAC binding the blob to program,
                   id, owner, version, log_head and turns: `integrity`)
autograms_turns    one row per committed turn, keyed by (session_id, idempotency_key) and
                   unique by (session_id, version): the user's message and the reply; in a
                   signed store, seal (an HMAC binding the row's key, message and reply to
                   its session and version: `integrity`)
autograms_log      the append-only conversation log: (session_id, version, position) -> one
                   entry as JSON (user messages, replies, nodes, model calls), with the model
                   calls' token counts as columns; a turn adds rows, never changes one
autograms_queue    the turns waiting for or running on a session, in arrival order (ticket),
                   each with a lease; a hint that saves wasted model calls, not a lock that
                   correctness rests on (the version check in the commit is)
================== ==========================================================================

A release that changes the tables appends a migration to `MIGRATIONS` (and, when rows must be
rewritten, a step to `sql.SQLStore`'s data migrations); `migrate` applies the missing ones in
one transaction, and a database written by a newer release is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

#: the schema version this release writes
SCHEMA_VERSION = 3
#: the tables of that schema
TABLES = (
    "autograms_schema",
    "autograms_sessions",
    "autograms_turns",
    "autograms_log",
    "autograms_queue",
)


@dataclass(frozen=True, slots=True)
class Dialect:
    """What differs between the SQL of two databases."""

    name: str
    #: column types
    integer: str
    real: str
    serial_key: str
    #: a statement that serializes concurrent migrations (None: transactions already do)
    migration_lock: str | None
    #: a query returning one row when table ? exists
    table_exists: str


#: statements of each migration, in order; MIGRATIONS[n - 1] brings a database to version n
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        "CREATE TABLE autograms_schema (version {integer} NOT NULL)",
        "INSERT INTO autograms_schema (version) VALUES (0)",
        """CREATE TABLE autograms_sessions (
            id TEXT PRIMARY KEY,
            owner TEXT,
            version {integer} NOT NULL,
            blob TEXT NOT NULL,
            created_at {real} NOT NULL,
            updated_at {real} NOT NULL)""",
        "CREATE INDEX autograms_sessions_owner ON autograms_sessions (owner, created_at)",
        "CREATE INDEX autograms_sessions_updated ON autograms_sessions (updated_at)",
        """CREATE TABLE autograms_turns (
            session_id TEXT NOT NULL REFERENCES autograms_sessions (id) ON DELETE CASCADE,
            idempotency_key TEXT NOT NULL,
            version {integer} NOT NULL,
            user_text TEXT NOT NULL,
            reply TEXT,
            created_at {real} NOT NULL,
            PRIMARY KEY (session_id, idempotency_key),
            UNIQUE (session_id, version))""",
        """CREATE TABLE autograms_log (
            session_id TEXT NOT NULL REFERENCES autograms_sessions (id) ON DELETE CASCADE,
            version {integer} NOT NULL,
            position {integer} NOT NULL,
            entry_type TEXT NOT NULL,
            prompt_tokens {integer},
            completion_tokens {integer},
            entry TEXT NOT NULL,
            PRIMARY KEY (session_id, version, position))""",
        """CREATE TABLE autograms_queue (
            ticket {serial_key},
            session_id TEXT NOT NULL REFERENCES autograms_sessions (id) ON DELETE CASCADE,
            idempotency_key TEXT NOT NULL,
            lease_until {real} NOT NULL,
            UNIQUE (session_id, idempotency_key))""",
        "CREATE INDEX autograms_queue_session ON autograms_queue (session_id, ticket)",
    ),
    (
        # filled from each blob's header by the data step of this migration (sql.py)
        "ALTER TABLE autograms_sessions ADD COLUMN program TEXT",
        "ALTER TABLE autograms_sessions ADD COLUMN log_head TEXT",
        "ALTER TABLE autograms_sessions ADD COLUMN seal TEXT",
        "CREATE INDEX autograms_sessions_program ON autograms_sessions"
        " (program, owner, created_at)",
    ),
    (
        # left NULL for the rows written before: a signed store sealed them without it
        "ALTER TABLE autograms_sessions ADD COLUMN turns {integer}",
        "ALTER TABLE autograms_turns ADD COLUMN seal TEXT",
        "DROP INDEX autograms_queue_session",
    ),
)


def statements(dialect: Dialect, version: int) -> list[str]:
    """The statements of the migration to `version`, written for `dialect`."""
    return [
        text.format(integer=dialect.integer, real=dialect.real, serial_key=dialect.serial_key)
        for text in MIGRATIONS[version - 1]
    ]
