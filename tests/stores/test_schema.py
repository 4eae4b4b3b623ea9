"""The schema's migration from version 1 (release 0.6) to 2, on a store release 0.6 wrote
(`data/v1-<python>.json`, made by `data/make_v1_store.py`), on SQLite and PostgreSQL: every
row keeps its data and gains its program, each program lists and expires only its own
sessions, the sessions continue, and a signed store seals its old rows once told the key."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograms import Autogram, AutogramConfig, session
from autograms._frames.versions import PY_MINOR
from autograms.stores import (
    SCHEMA_VERSION,
    Sessions,
    StoredSessionError,
    StoreSchemaError,
    TurnRunner,
    migrate,
    open_store,
)
from autograms.stores.schema import statements
from tests.stores import bots
from tests.stores.data.make_v1_store import KEY
from tests.stores.test_turns import execute_sql

FIXTURE = Path(__file__).parent / "data" / f"v1-{PY_MINOR[0]}.{PY_MINOR[1]}.json"


def build_v1_store(url: str) -> None:
    """The tables of schema 1, with the rows release 0.6 wrote."""
    dump = json.loads(FIXTURE.read_text())
    dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
    for statement in _v1_statements(dialect):
        execute_sql(url, statement)
    execute_sql(url, "UPDATE autograms_schema SET version = 1")
    for table in ("autograms_sessions", "autograms_turns", "autograms_log"):
        columns = dump[table]["columns"]
        insert = (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        )
        for row in dump[table]["rows"]:
            execute_sql(url, insert, tuple(row))


def _v1_statements(dialect: str) -> list[str]:
    if dialect == "sqlite":
        from autograms.stores.sqlite import DIALECT
    else:
        from autograms.stores.postgres import DIALECT
    return statements(DIALECT, 1)


def bot(root, key: str | None = None) -> Autogram:
    config = AutogramConfig(session_key=key) if key else AutogramConfig()
    return Autogram(root_function=root, autogram_config=config, test_mode=True)


@pytest.fixture
def v1_url(store_url):
    build_v1_store(store_url)
    return store_url


def test_a_schema_1_store_is_refused_until_migrated(v1_url) -> None:
    with pytest.raises(StoreSchemaError) as info:
        open_store(v1_url, create=False)
    assert info.value.reason == "old schema" and "migrate" in str(info.value)
    assert migrate(v1_url) == SCHEMA_VERSION
    store = open_store(v1_url, create=False)
    try:
        assert store.schema_version() == SCHEMA_VERSION
    finally:
        store.close()


def test_migrated_rows_keep_their_data_and_name_their_program(v1_url) -> None:
    migrate(v1_url)
    store = open_store(v1_url)
    try:
        chain, thinker = bot(bots.chain), bot(bots.thinker)
        listed = {r.id: r for r in Sessions(chain, store).list()}
        assert sorted(listed) == ["chain-1", "chain-2", "chain-idle"]
        assert {r.program for r in listed.values()} == {"tests.stores.bots:chain"}
        assert [r.id for r in Sessions(thinker, store).list(owner="team")] == ["thinker-1"]
        assert [r.id for r in Sessions(chain, store).list(owner="team")] == ["chain-1", "chain-2"]
        view = Sessions(chain, store).get("chain-1")
        contents = [m["content"] for m in view.history]
        assert contents[:3] == ["hello", "ready", "chain-1 says hi"] and len(contents) == 4
        assert view.version == 2 and len(store.turns("chain-1")) == 2
        assert Sessions(thinker, store).get("thinker-1").usage.calls == 1
    finally:
        store.close()


def test_migrated_sessions_continue_where_they_stopped(v1_url) -> None:
    migrate(v1_url)
    store = open_store(v1_url)
    try:
        result = TurnRunner(bot(bots.chain), store).run_turn("chain-2", "again", "k2")
        assert result.reply.startswith("2 ") and result.version == 3
        assert TurnRunner(bot(bots.chain), store).run_turn("chain-idle", "", "k0").reply == "ready"
    finally:
        store.close()


def test_expire_after_the_migration_deletes_only_its_programs_idle_sessions(v1_url) -> None:
    migrate(v1_url)
    store = open_store(v1_url)
    try:
        expired = Sessions(bot(bots.thinker), store).expire(time.time() / 2)
        assert expired == []  # the fixture is younger than that
        expired = Sessions(bot(bots.thinker), store).expire(1e-6)
        assert expired == ["thinker-1"]
        assert len(Sessions(bot(bots.chain), store).list()) == 3
    finally:
        store.close()


def test_a_signed_store_refuses_old_rows_until_migrate_seals_them(v1_url) -> None:
    migrate(v1_url)
    signed = bot(bots.chain, key=KEY)
    store = open_store(v1_url)
    try:
        with pytest.raises(StoredSessionError) as info:
            TurnRunner(signed, store).run_turn("chain-1", "next", "k2")
        assert info.value.reason == "unsigned" and info.value.session_id == "chain-1"
        assert "migrate" in str(info.value)
        assert migrate(v1_url, session_key=KEY) == SCHEMA_VERSION
        assert TurnRunner(signed, store).run_turn("chain-1", "next", "k2").version == 3
        history = Sessions(signed, store).get("chain-1").history
        assert [m["content"] for m in history][-2] == "next"
        # the token counts come from the sealed log, not from the (unsealed) columns
        thinker = Sessions(bot(bots.thinker, key=KEY), store)
        usage = thinker.get("thinker-1").usage
        execute_sql(v1_url, "UPDATE autograms_turns SET prompt_tokens = 999999")
        assert thinker.get("thinker-1").usage == usage and usage.calls == 1
        # the sealed log is now checked
        for table in ("autograms_log", "autograms_turns"):  # the start's entries, the turns'
            execute_sql(v1_url, f"UPDATE {table} SET entries = replace(entries, 'hi', 'HA')")
        with pytest.raises(StoredSessionError) as info:
            Sessions(signed, store).get("chain-1")
        assert info.value.reason == "tampered"
    finally:
        store.close()


def test_migrate_leaves_rows_signed_with_another_key_unsealed(v1_url) -> None:
    migrate(v1_url, session_key="another key")
    store = open_store(v1_url)
    try:
        with pytest.raises(StoredSessionError) as info:
            TurnRunner(bot(bots.chain, key=KEY), store).run_turn("chain-1", "next", "k2")
        assert info.value.reason == "unsigned"
    finally:
        store.close()


def test_the_migrate_command_upgrades_and_seals(v1_url) -> None:
    command = [sys.executable, "-m", "autograms.stores", "migrate", v1_url, "--seal"]
    env = {**os.environ, "AUTOGRAMS_SESSION_KEY": KEY}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"autograms schema {SCHEMA_VERSION}" in done.stdout
    store = open_store(v1_url, create=False)
    try:
        result = TurnRunner(bot(bots.chain, key=KEY), store).run_turn("chain-1", "x", "k2")
        assert result.version == 3
    finally:
        store.close()
    unkeyed = {k: v for k, v in os.environ.items() if k != "AUTOGRAMS_SESSION_KEY"}
    refused = subprocess.run(command, env=unkeyed, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "AUTOGRAMS_SESSION_KEY" in refused.stderr


def _name_no_program(url: str, session_id: str) -> None:
    """Make a schema-1 row's blob name no program, as a never-started session of release 0.1
    does once read (its format names none): re-encoded with its snapshot, signed with `KEY`."""
    table = json.loads(FIXTURE.read_text())["autograms_sessions"]
    columns = table["columns"]
    (row,) = [r for r in table["rows"] if r[columns.index("id")] == session_id]
    envelope = session.decode(row[columns.index("blob")], key=KEY.encode())
    renamed = session.encode(envelope.snapshot, key=KEY.encode(), program=None)
    execute_sql(url, "UPDATE autograms_sessions SET blob = ? WHERE id = ?", (renamed, session_id))


@pytest.fixture
def unnamed_url(store_url):
    """A schema-2 store (migrated, unsealed) whose idle session "chain-idle" names no program."""
    build_v1_store(store_url)
    _name_no_program(store_url, "chain-idle")
    migrate(store_url)
    return store_url


def test_a_session_of_no_program_is_listed_only_as_unclaimed(unnamed_url) -> None:
    store = open_store(unnamed_url)
    try:
        chain, thinker = Sessions(bot(bots.chain), store), Sessions(bot(bots.thinker), store)
        assert [r.id for r in chain.list()] == ["chain-1", "chain-2"]
        assert [r.id for r in thinker.list()] == ["thinker-1"]
        for sessions in (chain, thinker):
            unclaimed = sessions.list(unclaimed=True)
            assert [(r.id, r.program) for r in unclaimed] == [("chain-idle", None)]
        assert thinker.expire(1e-6) == ["thinker-1"]  # its own only
        assert chain.expire(1e-6, unclaimed=True) == ["chain-idle"]
        assert chain.list(unclaimed=True) == [] and len(chain.list()) == 2
    finally:
        store.close()


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
def test_the_first_program_to_run_a_turn_on_an_unclaimed_session_owns_it(
    unnamed_url, signed
) -> None:
    key = KEY if signed else None
    if signed:
        migrate(unnamed_url, session_key=KEY)  # seals every row, the unclaimed one too
    store = open_store(unnamed_url)
    try:
        first = TurnRunner(bot(bots.thinker, key=key), store).run_turn("chain-idle", "", "k0")
        assert first.version == 1
        thinker = Sessions(bot(bots.thinker, key), store)
        chain = Sessions(bot(bots.chain, key), store)
        assert [r.id for r in thinker.list()] == ["chain-idle", "thinker-1"]
        assert chain.list(unclaimed=True) == []
        assert "chain-idle" not in {r.id for r in chain.list()}
        assert thinker.get("chain-idle").version == 1  # the seal names its new program
        with pytest.raises(StoredSessionError) as info:
            TurnRunner(bot(bots.chain, key=key), store).run_turn("chain-idle", "x", "k1")
        assert info.value.reason == "other program" and info.value.session_id == "chain-idle"
    finally:
        store.close()


def test_a_program_whose_key_does_not_verify_the_session_does_not_claim_it(unnamed_url) -> None:
    migrate(unnamed_url, session_key=KEY)
    store = open_store(unnamed_url)
    try:
        with pytest.raises(StoredSessionError):
            TurnRunner(bot(bots.chain, key="another key"), store).run_turn("chain-idle", "", "k0")
        unclaimed = Sessions(bot(bots.chain, KEY), store).list(unclaimed=True)
        assert [r.id for r in unclaimed] == ["chain-idle"]
    finally:
        store.close()


#: sha256 of the statements of migrations 1 to 7 as each dialect writes them, as released
#: (migration 7 is PostgreSQL's claim function, whose body is `postgres._CLAIM_QUERY`: a
#: change of that query needs a migration of its own, or databases made before keep the old)
RELEASED_MIGRATIONS = {
    "sqlite": "68e24abebc2868d55e02ef45a8bba5906bc9c904edc57c72ec514333d32c4626",
    "postgresql": "ae073fbd2d5b169e9fd9ddd8eae2bb8d4319a8483d8df92740d8f490ed8495d4",
}


@pytest.mark.parametrize("dialect_name", sorted(RELEASED_MIGRATIONS))
def test_released_migrations_keep_their_statements(dialect_name) -> None:
    # A database may have run them already: a new one must get the same tables (SQLite keeps
    # each CREATE's text), so a release appends a migration and never rewrites one.
    if dialect_name == "sqlite":
        from autograms.stores.sqlite import DIALECT
    else:
        from autograms.stores.postgres import DIALECT
    texts = [
        statements(DIALECT, version) + statements(DIALECT, version, after_data=True)
        for version in range(1, 8)
    ]
    digest = hashlib.sha256(json.dumps(texts).encode()).hexdigest()
    assert digest == RELEASED_MIGRATIONS[dialect_name], (
        f"the {dialect_name} statements of migrations 1 to 7 changed: {texts}"
    )
