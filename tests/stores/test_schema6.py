"""Schema 6 on SQLite and PostgreSQL: each turn's log entries in its turn row (the log table
keeps what a session starts with), read back entry by entry as before; and the migration from
a schema-5 store (made by the test: written by this release, then its turns' entries moved
back to log rows of their own), plain and signed."""

from __future__ import annotations

import pytest

from autograms.stores import (
    SCHEMA_VERSION,
    Sessions,
    StoredSessionError,
    StoreSchemaError,
    TurnRunner,
    migrate,
    open_store,
)
from tests.stores import bots
from tests.stores.checks import replay
from tests.stores.conftest import make_autogram
from tests.stores.old_schemas import back_to_schema_5
from tests.stores.test_schema4 import KEY, MESSAGES, _chat, query_sql
from tests.stores.test_turns import execute_sql

LOGGED = "SELECT version FROM autograms_log WHERE session_id = ? ORDER BY version"


def test_a_turn_writes_its_entries_in_its_turn_row_and_a_start_stays_in_the_log(
    store_url, tmp_path
) -> None:
    autogram = make_autogram()
    _, memory = replay(autogram, ["", "a"])
    autogram.save(tmp_path / "saved.session", memory)
    store = open_store(store_url)
    try:
        sessions, runner = Sessions(autogram, store), TurnRunner(autogram, store)
        sessions.import_file(tmp_path / "saved.session", "imported")
        runner.run_turn("imported", "b", "k-b")
        assert query_sql(store_url, LOGGED, ("imported",)) == [(0,)]  # what it started with
        (row,) = query_sql(
            store_url,
            "SELECT version, entries FROM autograms_turns WHERE session_id = 'imported'",
        )
        assert row[0] == 1 and '"b"' in row[1]
        said = [e["user_reply"] for e in sessions.log("imported") if "user_reply" in e]
        assert said == ["", "a", "b"]  # the start's entries, then the turn's, in order
        started = [e["user_reply"] for e in store.read_log("imported", turn=0) if "user_reply" in e]
        assert started == ["", "a"]
    finally:
        store.close()


@pytest.mark.parametrize("key", [None, KEY])
def test_a_schema_5_store_is_refused_until_migrated_then_continues(store_url, key) -> None:
    replies = _chat(store_url, key, sid="thinking", root=bots.thinker)
    thinker = make_autogram(bots.thinker, session_key=key) if key else make_autogram(bots.thinker)
    store = open_store(store_url)
    try:
        log_before = Sessions(thinker, store).log("thinking")
        usage_before = Sessions(thinker, store).get("thinking").usage
    finally:
        store.close()
    back_to_schema_5(store_url)
    assert query_sql(store_url, LOGGED, ("thinking",)) == [(1,), (2,), (3,), (4,)]
    with pytest.raises(StoreSchemaError) as info:
        open_store(store_url, create=False)
    assert info.value.reason == "old schema"
    assert migrate(store_url) == SCHEMA_VERSION
    assert query_sql(store_url, LOGGED, ("thinking",)) == []  # moved into the turn rows
    store = open_store(store_url, create=False)
    try:
        sessions, runner = Sessions(thinker, store), TurnRunner(thinker, store)
        assert sessions.log("thinking") == log_before
        assert sessions.get("thinking").usage == usage_before and usage_before.calls == 4
        again = runner.run_turn("thinking", MESSAGES[1], "k1")
        assert again.replayed and again.reply == replies[1]
        assert runner.run_turn("thinking", "d", "k3").version == 5
        assert sessions.get("thinking").usage.calls == 5
        if key is not None:  # the migrated entries are still under the sealed chain
            execute_sql(
                store_url,
                "UPDATE autograms_turns SET entries = replace(entries, '\"b\"', '\"z\"')"
                " WHERE version = 3",
            )
            with pytest.raises(StoredSessionError) as refused:
                sessions.log("thinking")
            assert refused.value.reason == "tampered"
    finally:
        store.close()
