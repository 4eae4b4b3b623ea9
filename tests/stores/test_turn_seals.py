"""Schema 3 on SQLite and PostgreSQL: a signed store seals each turn row and binds the number
of turn rows in the session's seal, so a retry never replays an edited or swapped row nor runs
again a message whose row was deleted; and the migration from a schema-2 store (made by the
test: written by this release, then taken back to what schema 2 had and sealed as 2 sealed)."""

from __future__ import annotations

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
from autograms.stores import integrity
from tests.stores.conftest import make_autogram
from tests.stores.test_schema4 import back_to_schema_3
from tests.stores.test_turns import execute_sql

KEY = "turn-seal-key"
MESSAGES = ["a", "b", "c"]


def _chat(url: str, key: str | None, sid: str = "chat") -> list[str]:
    """A session with a start turn and one turn per message (keys k0, k1, ...); its replies."""
    autogram = make_autogram(session_key=key) if key else make_autogram()
    store = open_store(url)
    try:
        Sessions(autogram, store).create(sid)
        runner = TurnRunner(autogram, store)
        runner.run_turn(sid, "", "start")
        return [runner.run_turn(sid, m, f"k{i}").reply for i, m in enumerate(MESSAGES)]
    finally:
        store.close()


def _back_to_schema_2(url: str, key: str | None) -> None:
    """Undo schemas 4 and 3: schema 3's two columns dropped, the queue's index back, each
    session row sealed as schema 2 sealed it (without its number of turns)."""
    store = open_store(url)
    try:
        records = [store.load_session(row.id) for row in store.list_sessions()]
    finally:
        store.close()
    back_to_schema_3(url, key)
    execute_sql(url, "ALTER TABLE autograms_turns DROP COLUMN seal")
    execute_sql(url, "ALTER TABLE autograms_sessions DROP COLUMN turns")
    execute_sql(url, "CREATE INDEX autograms_queue_session ON autograms_queue (session_id, ticket)")
    execute_sql(url, "UPDATE autograms_schema SET version = 2")
    for record in records:
        if key is not None:
            legacy = integrity.sealed(
                session.session_key(key),
                replace(record, turns=None, history_digest=None),
                record.version,
                record.blob,
            )
            execute_sql(
                url, "UPDATE autograms_sessions SET seal = ? WHERE id = ?", (legacy, record.id)
            )


def test_a_schema_2_store_is_refused_until_migrated_then_continues(store_url) -> None:
    replies = _chat(store_url, None)
    _back_to_schema_2(store_url, None)
    with pytest.raises(StoreSchemaError) as info:
        open_store(store_url, create=False)
    assert info.value.reason == "old schema"
    assert migrate(store_url) == SCHEMA_VERSION
    store = open_store(store_url, create=False)
    try:
        runner = TurnRunner(make_autogram(), store)
        again = runner.run_turn("chat", "b", "k1")
        assert again.replayed and again.reply == replies[1]
        assert store.load_session("chat").turns is None  # counted at its next turn
        assert runner.run_turn("chat", "d", "k3").reply.startswith("4 ")
        assert store.load_session("chat").turns == len(store.turns("chat")) == 5
    finally:
        store.close()


def test_a_signed_schema_2_store_replays_old_turns_once_migrate_seals_them(store_url) -> None:
    replies = _chat(store_url, KEY)
    _back_to_schema_2(store_url, KEY)
    signed = make_autogram(session_key=KEY)
    store = open_store(store_url)  # upgrades the tables on first use, without the key
    try:
        runner = TurnRunner(signed, store)
        with pytest.raises(StoredSessionError) as info:
            runner.run_turn("chat", "b", "k1")
        assert info.value.reason == "unsigned" and "migrate" in str(info.value)
        assert migrate(store_url, session_key=KEY) == SCHEMA_VERSION
        again = runner.run_turn("chat", "b", "k1")
        assert again.replayed and again.reply == replies[1]
        assert runner.run_turn("chat", "d", "k3").version == 5  # its seal now binds 5 turns
        execute_sql(store_url, "DELETE FROM autograms_turns WHERE idempotency_key = 'k0'")
        with pytest.raises(StoredSessionError) as info:
            runner.run_turn("chat", "e", "k4")
        assert info.value.reason == "tampered" and info.value.session_id == "chat"
    finally:
        store.close()


@pytest.mark.parametrize(
    "edit",
    [
        "UPDATE autograms_turns SET reply = 'forged' WHERE idempotency_key = 'k1'",
        "UPDATE autograms_turns SET user_text = 'b', reply = 'forged' WHERE idempotency_key = 'k1'",
        # the keys of two turns swapped: each row's message and reply are still its turn's
        "UPDATE autograms_turns SET idempotency_key = 'swap' WHERE idempotency_key = 'k0';"
        "UPDATE autograms_turns SET idempotency_key = 'k0' WHERE idempotency_key = 'k1';"
        "UPDATE autograms_turns SET idempotency_key = 'k1' WHERE idempotency_key = 'swap'",
        "UPDATE autograms_turns SET seal = NULL WHERE idempotency_key = 'k1'",
    ],
    ids=["reply", "message-and-reply", "swapped-keys", "seal-removed"],
)
def test_a_signed_store_never_replays_an_edited_turn_row(store_url, edit) -> None:
    _chat(store_url, KEY)
    for statement in edit.split(";"):
        execute_sql(store_url, statement)
    store = open_store(store_url)
    try:
        with pytest.raises(StoredSessionError) as info:
            TurnRunner(make_autogram(session_key=KEY), store).run_turn("chat", "b", "k1")
        assert info.value.session_id == "chat"
        assert info.value.reason in ("tampered", "unsigned")
        assert store.load_session("chat").version == 4  # nothing ran again
    finally:
        store.close()


@pytest.mark.parametrize("edit", ["DELETE", "ADD"])
def test_a_signed_store_refuses_a_session_whose_turn_rows_were_deleted_or_added(
    store_url, edit
) -> None:
    _chat(store_url, KEY)
    if edit == "DELETE":
        execute_sql(store_url, "DELETE FROM autograms_turns WHERE idempotency_key = 'k1'")
    else:  # a row made up (the count would hide a deleted one)
        execute_sql(
            store_url,
            "INSERT INTO autograms_turns (session_id, idempotency_key, version, user_text, reply,"
            " created_at) VALUES ('chat', 'made-up', 0, 'x', 'y', 0)",
        )
    store = open_store(store_url)
    try:
        runner = TurnRunner(make_autogram(session_key=KEY), store)
        with pytest.raises(StoredSessionError) as info:
            runner.run_turn("chat", "b", "k1") if edit == "DELETE" else runner.run_turn(
                "chat", "d", "k3"
            )
        assert info.value.reason == "tampered" and "turn rows" in str(info.value)
        assert store.load_session("chat").version == 4
    finally:
        store.close()


def test_an_unsigned_store_counts_its_turns_and_seals_nothing(store_url) -> None:
    _chat(store_url, None)
    store = open_store(store_url)
    try:
        assert store.load_session("chat").turns == 4
        assert all(turn.seal is None for turn in store.turns("chat"))
        assert store.load_session("chat").seal is None
    finally:
        store.close()
