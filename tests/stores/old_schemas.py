"""Stores taken back to the tables of an older schema (by this release's tests, which then
migrate them): each undoes one migration, after undoing the later ones."""

from __future__ import annotations

from autograms.stores.sqlite import DIALECT as SQLITE
from tests.stores.test_schema4 import query_sql
from tests.stores.test_turns import execute_sql


def back_to_schema_6(url: str) -> None:
    """Undo schema 7: on PostgreSQL, the claim's function dropped (on SQLite schema 7
    changed nothing but the version)."""
    if not url.startswith("sqlite"):
        execute_sql(url, "DROP FUNCTION autograms_claim")
    execute_sql(url, "UPDATE autograms_schema SET version = 6")


def back_to_schema_5(url: str) -> None:
    """Undo schema 6 (after undoing schema 7): each turn's log entries back from its turn row
    to a log row of their own, the turn rows back in a table without them (on SQLite stored as
    their key's b-tree), the queue's sweep (whose body names the turns) dropped and made again
    around it."""
    back_to_schema_6(url)
    sqlite = url.startswith("sqlite")
    integer, real = ("INTEGER", "REAL") if sqlite else ("BIGINT", "DOUBLE PRECISION")
    logged = query_sql(
        url,
        "SELECT session_id, version, entries, model_calls, prompt_tokens, completion_tokens"
        " FROM autograms_turns WHERE entries IS NOT NULL",
    )
    turns = query_sql(
        url,
        "SELECT session_id, idempotency_key, version, user_text, reply, created_at, seal"
        " FROM autograms_turns",
    )
    if sqlite:
        execute_sql(url, "DROP TRIGGER autograms_queue_sweep")
    execute_sql(url, "DROP TABLE autograms_turns")
    execute_sql(
        url,
        f"""CREATE TABLE autograms_turns (
            session_id TEXT NOT NULL REFERENCES autograms_sessions (id) ON DELETE CASCADE,
            idempotency_key TEXT NOT NULL, version {integer} NOT NULL,
            user_text TEXT NOT NULL, reply TEXT, created_at {real} NOT NULL, seal TEXT,
            PRIMARY KEY (session_id, idempotency_key),
            UNIQUE (session_id, version)){" WITHOUT ROWID" if sqlite else ""}""",
    )
    for row in turns:
        execute_sql(url, "INSERT INTO autograms_turns VALUES (?, ?, ?, ?, ?, ?, ?)", row)
    for row in logged:
        execute_sql(url, "INSERT INTO autograms_log VALUES (?, ?, ?, ?, ?, ?)", row)
    if sqlite:
        execute_sql(url, SQLITE.queue_sweep)
    execute_sql(url, "UPDATE autograms_schema SET version = 5")


def back_to_schema_4(url: str) -> None:
    """Undo schema 5: the queue back to a table with a serial ticket as its key and a unique
    index by (session, idempotency key), its rows in their order (after undoing schema 6)."""
    back_to_schema_5(url)
    rows = query_sql(
        url, "SELECT session_id, idempotency_key, lease_until FROM autograms_queue ORDER BY ticket"
    )
    sqlite = url.startswith("sqlite")
    execute_sql(url, "DROP TABLE autograms_queue")
    execute_sql(
        url,
        f"""CREATE TABLE autograms_queue (
            ticket {"INTEGER PRIMARY KEY" if sqlite else "BIGSERIAL PRIMARY KEY"},
            session_id TEXT NOT NULL REFERENCES autograms_sessions (id) ON DELETE CASCADE,
            idempotency_key TEXT NOT NULL,
            lease_until {"REAL" if sqlite else "DOUBLE PRECISION"} NOT NULL,
            UNIQUE (session_id, idempotency_key))""",
    )
    if sqlite:
        execute_sql(url, SQLITE.queue_sweep)
    for row in rows:
        execute_sql(
            url,
            "INSERT INTO autograms_queue (session_id, idempotency_key, lease_until)"
            " VALUES (?, ?, ?)",
            row,
        )
    execute_sql(url, "UPDATE autograms_schema SET version = 4")
