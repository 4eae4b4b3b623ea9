"""The tables of a session store, and the migrations that create and upgrade them.

Schema version 7 (version 1 lacked the sessions' ``program``, ``log_head`` and ``seal``;
version 2 the sessions' ``turns`` and the turns' ``seal``, and had an index of the queue by
session and ticket, which cost every claim and commit a page and served no query the queue's
unique index does not; version 3 kept one log row per entry, had an index of the sessions by
``updated_at`` and no ``history_digest``; version 4 keyed the queue by a serial ticket, with
a unique index by session and idempotency key; version 5 kept each turn's log entries in a
log row of their own; version 6 claimed on PostgreSQL with two statements in a pipeline):

================== ==========================================================================
autograms_schema   one row: the schema version the tables follow
autograms_sessions one row per session: id, owner, program (``module:qualname`` of the root
                   function it belongs to), version (= its number of committed turns), blob
                   (the `Autogram.serialize` text, signed when a key is configured),
                   created_at, updated_at (seconds since the epoch), turns (its number of
                   turn rows: version less the deploys' rewrites; NULL for a row of an older
                   schema until its next turn), history_digest (the digest of its turns'
                   messages and replies, `history`; NULL for a row of schema 3 or older
                   until its next turn); in a signed store, log_head (the digest chain over
                   its log rows) and seal (an HMAC binding the blob to program, id, owner,
                   version, log_head, turns and history_digest: `integrity`)
autograms_turns    one row per committed turn, keyed by (session_id, idempotency_key) and
                   unique by (session_id, version): the user's message and the reply; the
                   turn's part of the append-only conversation log: its entries (user
                   messages, replies, nodes, model calls), each as compact JSON, one a line
                   (NULL when it appended none), with its model calls and their token counts
                   as columns; in a signed store, seal (an HMAC binding the row's key, message
                   and reply to its session and version: `integrity`)
autograms_log      the log's part a session starts with (version 0: the entries of a session
                   created or imported), in the same form; the log is these rows and the
                   turn rows' entries, by version; a turn adds a row, never changes one
autograms_queue    the turns waiting for or running on a session, keyed by (session_id,
                   idempotency_key), in arrival order (ticket: numbered per session),
                   each with a lease (and a committed turn's ticket, which holds no place,
                   until the next ticket taken on the session sweeps it); a hint that saves
                   wasted model calls, not a lock that correctness rests on (the version
                   check in the commit is)
================== ==========================================================================

A release that changes the tables appends a migration to `MIGRATIONS` (and, when rows must be
rewritten, a step to `sql.SQLStore`'s data migrations); `migrate` applies the missing ones in
one transaction, and a database written by a newer release is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

#: the schema version this release writes
SCHEMA_VERSION = 7
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
    #: what ends the CREATE TABLE of a table stored as its primary key's b-tree alone
    #: (SQLite's ``WITHOUT ROWID``: one b-tree written per row instead of two)
    keyed_table: str = ""
    #: a statement (a trigger) that makes each ticket taken sweep the session's tickets that
    #: hold no place any more; empty when the claim's statement does it itself
    queue_sweep: str = ""
    #: the statement that drops that trigger (before a table its body names is replaced)
    drop_queue_sweep: str = ""
    #: a statement that creates the function a claim calls (empty: the claim's statements
    #: are sent as they are)
    claim_function: str = ""


#: a turn row's columns as schema 1 made its table (the text is part of the schema SQLite
#: keeps: a new database's tables must read as those made by earlier releases)
_FIRST_TURN_ROW = """
            session_id TEXT NOT NULL REFERENCES autograms_sessions (id) ON DELETE CASCADE,
            idempotency_key TEXT NOT NULL,
            version {integer} NOT NULL,
            user_text TEXT NOT NULL,
            reply TEXT,
            created_at {real} NOT NULL"""
#: and as schema 4 made it (schema 6 made it again with the log entries)
_TURN_ROW = (
    _FIRST_TURN_ROW
    + """,
            seal TEXT"""
)

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
        "CREATE TABLE autograms_turns ("
        + _FIRST_TURN_ROW
        + """,
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
    (
        # one page less per commit: expiry scans the sessions instead (it runs rarely)
        "DROP INDEX autograms_sessions_updated",
        # left NULL for the rows written before: the next turn of each session computes it
        "ALTER TABLE autograms_sessions ADD COLUMN history_digest TEXT",
        # the turn rows moved to a table stored as its key's b-tree (on SQLite)
        "CREATE TABLE autograms_turns_4 ("
        + _TURN_ROW
        + """,
            PRIMARY KEY (session_id, idempotency_key),
            UNIQUE (session_id, version)){keyed_table}""",
        "INSERT INTO autograms_turns_4 (session_id, idempotency_key, version, user_text, reply,"
        " created_at, seal) SELECT session_id, idempotency_key, version, user_text, reply,"
        " created_at, seal FROM autograms_turns",
        "DROP TABLE autograms_turns",
        "ALTER TABLE autograms_turns_4 RENAME TO autograms_turns",
        # a commit leaves its ticket in the queue (it writes no page of it): the next ticket
        # taken on the session sweeps it (`sql.LIVE_TICKET`)
        "{queue_sweep}",
        # one log row per turn: filled from the rows per entry by the data step (sql.py);
        # a table with rowids: appended at its end, a turn's row (often over the 1 KB a
        # key-ordered table keeps in its leaf) writes fewer pages than in key order
        """CREATE TABLE autograms_log_4 (
            session_id TEXT NOT NULL REFERENCES autograms_sessions (id) ON DELETE CASCADE,
            version {integer} NOT NULL,
            entries TEXT NOT NULL,
            model_calls {integer} NOT NULL,
            prompt_tokens {integer} NOT NULL,
            completion_tokens {integer} NOT NULL,
            PRIMARY KEY (session_id, version))""",
    ),
    (
        # the queue keyed by (session, idempotency key), the key every claim looks a ticket
        # up by: a claim writes one b-tree (SQLite) or index (PostgreSQL) instead of two;
        # `ticket` is now a number that orders the session's tickets, unique per session
        """CREATE TABLE autograms_queue_5 (
            session_id TEXT NOT NULL REFERENCES autograms_sessions (id) ON DELETE CASCADE,
            idempotency_key TEXT NOT NULL,
            ticket {integer} NOT NULL,
            lease_until {real} NOT NULL,
            CONSTRAINT autograms_queue_key PRIMARY KEY (session_id, idempotency_key)
            ){keyed_table}""",
        "INSERT INTO autograms_queue_5 (session_id, idempotency_key, ticket, lease_until)"
        " SELECT session_id, idempotency_key, ticket, lease_until FROM autograms_queue",
        "DROP TABLE autograms_queue",
        "ALTER TABLE autograms_queue_5 RENAME TO autograms_queue",
        "{queue_sweep}",
    ),
    (
        # each turn's log entries in its turn row: a commit inserts one row where it inserted
        # a turn row and a log row (a b-tree and its index less on SQLite, a heap tuple and
        # an index entry less on PostgreSQL); the log table keeps what a session starts with
        # (version 0: created or imported). On SQLite the turns get rowids again: a row with
        # its entries is often over the ~1 KB a table kept in its key's b-tree holds in a leaf.
        "{drop_queue_sweep}",
        "CREATE TABLE autograms_turns_6 ("
        + _TURN_ROW
        + """,
            entries TEXT,
            model_calls {integer} NOT NULL DEFAULT 0,
            prompt_tokens {integer} NOT NULL DEFAULT 0,
            completion_tokens {integer} NOT NULL DEFAULT 0,
            CONSTRAINT autograms_turns_key PRIMARY KEY (session_id, idempotency_key),
            CONSTRAINT autograms_turns_version UNIQUE (session_id, version))""",
        "INSERT INTO autograms_turns_6 (session_id, idempotency_key, version, user_text, reply,"
        " created_at, seal, entries, model_calls, prompt_tokens, completion_tokens)"
        " SELECT t.session_id, t.idempotency_key, t.version, t.user_text, t.reply,"
        " t.created_at, t.seal, l.entries, COALESCE(l.model_calls, 0),"
        " COALESCE(l.prompt_tokens, 0), COALESCE(l.completion_tokens, 0)"
        " FROM autograms_turns t LEFT JOIN autograms_log l"
        " ON l.session_id = t.session_id AND l.version = t.version",
        # (a log row of no turn -- none is written so -- stays, and is read as before)
        "DELETE FROM autograms_log WHERE EXISTS (SELECT 1 FROM autograms_turns_6 t"
        " WHERE t.session_id = autograms_log.session_id AND t.version = autograms_log.version)",
        "DROP TABLE autograms_turns",
        "ALTER TABLE autograms_turns_6 RENAME TO autograms_turns",
        "{queue_sweep}",
    ),
    (
        # PostgreSQL: a claim took its lock and read in two statements of a pipeline, where
        # one call of a function is one statement (`postgres.py`)
        "{claim_function}",
    ),
)

#: statements run after a migration's data step (`sql.SQLStore.migrate`), by version
AFTER_DATA: dict[int, tuple[str, ...]] = {
    4: ("DROP TABLE autograms_log", "ALTER TABLE autograms_log_4 RENAME TO autograms_log"),
}


def statements(dialect: Dialect, version: int, *, after_data: bool = False) -> list[str]:
    """The statements of the migration to `version`, written for `dialect` (with
    `after_data`, those that run after its data step)."""
    texts = AFTER_DATA.get(version, ()) if after_data else MIGRATIONS[version - 1]
    written = [
        text.format(
            integer=dialect.integer,
            real=dialect.real,
            serial_key=dialect.serial_key,
            keyed_table=dialect.keyed_table,
            queue_sweep=dialect.queue_sweep,
            drop_queue_sweep=dialect.drop_queue_sweep,
            claim_function=dialect.claim_function,
        )
        for text in texts
    ]
    return [text for text in written if text]
