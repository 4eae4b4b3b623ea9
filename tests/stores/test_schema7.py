"""Schema 7: on PostgreSQL a claim is one call of the function the migration creates; the
migration from a schema-6 store (made by the test: written by this release, then the function
dropped), which then goes on as before; a claim whose function was dropped by hand names the
damaged schema. On SQLite schema 7 changes only the version."""

from __future__ import annotations

import os

import pytest

from autograms.stores import (
    SCHEMA_VERSION,
    Sessions,
    StoreSchemaError,
    TurnRunner,
    migrate,
    open_store,
)
from tests.stores.conftest import make_autogram
from tests.stores.old_schemas import back_to_schema_6
from tests.stores.test_schema4 import KEY, MESSAGES, _chat, query_sql
from tests.stores.test_turns import execute_sql


@pytest.fixture
def postgres_url(postgres_cluster) -> str:
    schema = f"t_{os.urandom(6).hex()}"
    postgres_cluster.create_schema(schema)
    return postgres_cluster.url_for_schema(schema)


@pytest.mark.parametrize("key", [None, KEY])
def test_a_schema_6_store_is_refused_until_migrated_then_continues(store_url, key) -> None:
    replies = _chat(store_url, key)
    back_to_schema_6(store_url)
    with pytest.raises(StoreSchemaError) as info:
        open_store(store_url, create=False)
    assert info.value.reason == "old schema"
    assert migrate(store_url) == SCHEMA_VERSION
    if not store_url.startswith("sqlite"):
        functions = (
            "SELECT count(*) FROM pg_proc WHERE proname = 'autograms_claim'"
            " AND pronamespace = current_schema()::regnamespace"
        )
        assert query_sql(store_url, functions) == [(1,)]
    autogram = make_autogram(session_key=key) if key else make_autogram()
    store = open_store(store_url, create=False)
    try:
        runner = TurnRunner(autogram, store)
        again = runner.run_turn("chat", MESSAGES[1], "k1")
        assert again.replayed and again.reply == replies[1]
        assert runner.run_turn("chat", "next", "k-next").version == len(MESSAGES) + 2
        said = [e["user_reply"] for e in Sessions(autogram, store).log("chat") if "user_reply" in e]
        assert said == ["", *MESSAGES, "next"]
    finally:
        store.close()


def test_a_claim_whose_function_was_dropped_names_the_damaged_schema(postgres_url) -> None:
    store = open_store(postgres_url)
    try:
        Sessions(make_autogram(), store).create("chat")
        execute_sql(postgres_url, "DROP FUNCTION autograms_claim")
        with pytest.raises(StoreSchemaError) as info:
            TurnRunner(make_autogram(), store).run_turn("chat", "hello", "k1")
        assert info.value.reason == "damaged schema" and "autograms_claim" in str(info.value)
    finally:
        store.close()
