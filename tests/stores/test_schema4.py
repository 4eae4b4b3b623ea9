"""Schema 4 on SQLite and PostgreSQL: one log row per turn (read entry by entry as before), a
commit that leaves its ticket in the queue for the next claim to sweep, the history digest on
the session row, no index of the sessions by ``updated_at``; and the migration from a schema-3
store (made by the test: written by this release, then taken back to what schema 3 had, sealed
as schema 3 sealed)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace

import pytest

from autograms import session
from autograms.stores import (
    SCHEMA_VERSION,
    Sessions,
    StoredSessionError,
    StoreSchemaError,
    TurnRunner,
    migrate,
    open_store,
)
from autograms.stores import history, integrity
from tests.stores import bots
from tests.stores.conftest import make_autogram
from tests.stores.test_turns import execute_sql

KEY = "schema-4-key"
MESSAGES = ["a", "b", "c"]


def query_sql(store_url: str, statement: str, parameters: tuple = ()) -> list[tuple]:
    """Read the database behind the store's back."""
    if store_url.startswith("sqlite"):
        with sqlite3.connect(store_url.removeprefix("sqlite:///")) as connection:
            return connection.execute(statement, parameters).fetchall()
    import psycopg

    with psycopg.connect(store_url, autocommit=True) as connection:
        return connection.execute(statement.replace("?", "%s"), parameters).fetchall()


def _chat(url: str, key: str | None, sid: str = "chat", root=bots.chain) -> list[str]:
    """A session with a start turn and one turn per message (keys k0, k1, ...); its replies."""
    autogram = make_autogram(root, session_key=key) if key else make_autogram(root)
    store = open_store(url)
    try:
        Sessions(autogram, store).create(sid)
        runner = TurnRunner(autogram, store)
        runner.run_turn(sid, "", "start")
        return [runner.run_turn(sid, m, f"k{i}").reply for i, m in enumerate(MESSAGES)]
    finally:
        store.close()


def back_to_schema_3(url: str, key: str | None) -> None:
    """Undo schemas 5 and 4: the log back to one row per entry, the digest column dropped, the
    index by updated_at and the queue's commit-time sweep back (the trigger dropped), each
    session row sealed as schema 3 sealed it (without its digest)."""
    from tests.stores.old_schemas import back_to_schema_4

    store = open_store(url)
    try:
        records = [store.load_session(row.id) for row in store.list_sessions()]
    finally:
        store.close()
    back_to_schema_4(url)  # (opening the store now would upgrade it again)
    rows = query_sql(url, "SELECT session_id, version, entries FROM autograms_log")
    if url.startswith("sqlite"):
        execute_sql(url, "DROP TRIGGER autograms_queue_sweep")
    integer = "INTEGER" if url.startswith("sqlite") else "BIGINT"
    execute_sql(url, "DROP TABLE autograms_log")
    execute_sql(
        url,
        f"""CREATE TABLE autograms_log (
            session_id TEXT NOT NULL REFERENCES autograms_sessions (id) ON DELETE CASCADE,
            version {integer} NOT NULL, position {integer} NOT NULL, entry_type TEXT NOT NULL,
            prompt_tokens {integer}, completion_tokens {integer}, entry TEXT NOT NULL,
            PRIMARY KEY (session_id, version, position))""",
    )
    for session_id, version, entries in rows:
        for position, text in enumerate(entries.split("\n")):
            entry = json.loads(text)
            kind = entry.get("entry_type", "")
            model = kind == "model"
            execute_sql(
                url,
                "INSERT INTO autograms_log VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    session_id,
                    version,
                    position,
                    kind,
                    entry.get("prompt_tokens") if model else None,
                    entry.get("completion_tokens") if model else None,
                    text,
                ),
            )
    execute_sql(url, "ALTER TABLE autograms_sessions DROP COLUMN history_digest")
    execute_sql(url, "CREATE INDEX autograms_sessions_updated ON autograms_sessions (updated_at)")
    execute_sql(url, "UPDATE autograms_schema SET version = 3")
    for record in records:
        if key is not None:
            legacy = integrity.sealed(
                session.session_key(key),
                replace(record, history_digest=None),
                record.version,
                record.blob,
            )
            execute_sql(
                url, "UPDATE autograms_sessions SET seal = ? WHERE id = ?", (legacy, record.id)
            )


def test_a_turn_writes_one_log_row_read_back_entry_by_entry(store_url) -> None:
    _chat(store_url, None)
    rows = query_sql(
        store_url,
        "SELECT version, entries, model_calls FROM autograms_turns WHERE session_id = 'chat'"
        " ORDER BY version",
    )
    assert [row[0] for row in rows] == [1, 2, 3, 4]  # one per turn (in its turn row: schema 6)
    store = open_store(store_url)
    try:
        entries = Sessions(make_autogram(), store).log("chat")
        assert len(entries) == sum(len(row[1].split("\n")) for row in rows) > len(rows)
        said = [e["user_reply"] for e in entries if e.get("entry_type") == "user_reply"]
        assert said == ["", *MESSAGES]
        turn_2 = store.read_log("chat", turn=2)
        assert [e for e in turn_2 if e.get("entry_type") == "user_reply"][0]["user_reply"] == "a"
    finally:
        store.close()


def test_model_calls_and_tokens_are_summed_per_turn(store_url) -> None:
    _chat(store_url, None, sid="thinking", root=bots.thinker)
    store = open_store(store_url)
    try:
        thinker = make_autogram(bots.thinker)
        usage = Sessions(thinker, store).get("thinking").usage
        logged = Sessions(thinker, store).log("thinking")
        models = [e for e in logged if e.get("entry_type") == "model"]
        assert usage.calls == len(models) > 0
        assert usage.prompt_tokens == sum(e["prompt_tokens"] for e in models)
        assert usage.completion_tokens == sum(e["completion_tokens"] for e in models)
    finally:
        store.close()


def test_the_history_digest_follows_the_turns(store_url) -> None:
    replies = _chat(store_url, None)
    store = open_store(store_url)
    try:
        record = store.load_session("chat")
        turns = store.turns("chat")
        assert record.history_digest == history.of_turns(turns)
        # what a client holds: the user messages and the non-empty replies, stripped
        held = [("user", "")]  # the start turn's message; its reply
        held += [("assistant", turns[0].reply.strip())] if turns[0].reply.strip() else []
        for message, reply in zip(MESSAGES, replies, strict=True):
            held += [("user", message), ("assistant", reply.strip())]
        assert history.of_messages(held) == record.history_digest
        assert history.of_messages(held[:-1]) != record.history_digest
        # a new session's digest is the empty conversation's
        Sessions(make_autogram(), store).create("fresh")
        assert store.load_session("fresh").history_digest == history.EMPTY_DIGEST
    finally:
        store.close()


def test_a_signed_store_binds_the_history_digest_in_the_seal(store_url) -> None:
    _chat(store_url, KEY)
    execute_sql(store_url, "UPDATE autograms_sessions SET history_digest = 'forged'")
    store = open_store(store_url)
    try:
        with pytest.raises(StoredSessionError) as info:
            TurnRunner(make_autogram(session_key=KEY), store).run_turn("chat", "d", "k3")
        assert info.value.reason == "tampered" and info.value.session_id == "chat"
    finally:
        store.close()


def test_a_commit_leaves_its_ticket_and_the_next_claim_sweeps_it(store_url) -> None:
    _chat(store_url, None)
    queued = "SELECT idempotency_key FROM autograms_queue WHERE session_id = 'chat'"
    assert query_sql(store_url, queued) == [("k2",)]  # the last turn's, holding no place
    store = open_store(store_url)
    try:
        runner = TurnRunner(make_autogram(), store, policy="reject")
        assert runner.run_turn("chat", "d", "k3").version == 5  # not busy: k2 is committed
        assert query_sql(store_url, queued) == [("k3",)]  # k2 swept by k3's ticket
        assert runner.run_turn("chat", "c", "k2").replayed  # a retry still replays
        assert query_sql(store_url, queued) == []  # its ticket (which swept k3's) left
        # a finished ticket keeps no session from expiring
        assert Sessions(make_autogram(), store).expire(1e-6) == ["chat"]
    finally:
        store.close()


def test_a_schema_3_store_is_refused_until_migrated_then_continues(store_url) -> None:
    replies = _chat(store_url, None)
    before = open_store(store_url)
    try:
        log_before = before.read_log("chat")
    finally:
        before.close()
    back_to_schema_3(store_url, None)
    with pytest.raises(StoreSchemaError) as info:
        open_store(store_url, create=False)
    assert info.value.reason == "old schema"
    assert migrate(store_url) == SCHEMA_VERSION
    store = open_store(store_url, create=False)
    try:
        assert store.read_log("chat") == log_before
        runner = TurnRunner(make_autogram(), store)
        again = runner.run_turn("chat", "b", "k1")
        assert again.replayed and again.reply == replies[1]
        assert store.load_session("chat").history_digest is None  # computed at its next turn
        assert runner.run_turn("chat", "d", "k3").reply.startswith("4 ")
        assert store.load_session("chat").history_digest == history.of_turns(store.turns("chat"))
        assert Sessions(make_autogram(), store).get("chat").version == 5
    finally:
        store.close()


def test_a_signed_schema_3_store_continues_and_its_log_is_still_checked(store_url) -> None:
    replies = _chat(store_url, KEY)
    back_to_schema_3(store_url, KEY)
    signed = make_autogram(session_key=KEY)
    store = open_store(store_url)  # upgrades the tables on first use: no key needed
    try:
        runner = TurnRunner(signed, store)
        again = runner.run_turn("chat", "b", "k1")
        assert again.replayed and again.reply == replies[1]
        assert runner.run_turn("chat", "d", "k3").version == 5  # its seal now binds the digest
        record = store.load_session("chat")
        assert record.history_digest == history.of_turns(store.turns("chat"))
        execute_sql(
            store_url, "UPDATE autograms_turns SET entries = replace(entries, '\"a\"', '\"z\"')"
        )
        with pytest.raises(StoredSessionError) as info:
            Sessions(signed, store).log("chat")
        assert info.value.reason == "tampered"
    finally:
        store.close()


def test_a_signed_schema_3_row_with_an_edited_turn_is_refused_at_its_first_turn(
    store_url,
) -> None:
    _chat(store_url, KEY)
    back_to_schema_3(store_url, KEY)
    migrate(store_url)
    execute_sql(
        store_url, "UPDATE autograms_turns SET reply = 'forged' WHERE idempotency_key = 'k0'"
    )
    store = open_store(store_url)
    try:
        with pytest.raises(StoredSessionError) as info:  # its digest would fold the forged row
            TurnRunner(make_autogram(session_key=KEY), store).run_turn("chat", "d", "k3")
        assert info.value.reason == "tampered"
    finally:
        store.close()


def test_a_deleted_last_turn_row_is_refused_not_reported_running(store_url) -> None:
    # its ticket is still in the queue (left by the commit): in a signed store the retry is
    # refused as tampered, never told the turn is running nor run a second time
    replies = _chat(store_url, KEY)
    execute_sql(store_url, "DELETE FROM autograms_turns WHERE idempotency_key = 'k2'")
    store = open_store(store_url)
    try:
        runner = TurnRunner(make_autogram(session_key=KEY), store)
        with pytest.raises(StoredSessionError) as info:
            runner.run_turn("chat", MESSAGES[2], "k2")
        assert info.value.reason == "tampered" and info.value.session_id == "chat"
        assert replies[2] not in [t.reply for t in store.turns("chat")]
    finally:
        store.close()
