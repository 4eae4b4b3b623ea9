"""Outside tests (session 4): schema 2 of the session stores -- the migration from a schema-1
store written by release 0.6 (committed in data_stores4/, written by main before c4a0fd9 with
tests/outside/s4_store_bot.py), sealing it with the session key, and what the seal covers.

Only the public API and commands: `python -m autograms.stores migrate`, `open_store`,
`Sessions`, `TurnRunner`. SQLite only here (PostgreSQL: test_deploy_day_outside.py).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from autograms import Autogram, AutogramConfig
from autograms.stores import (
    Sessions,
    StoredSessionError,
    StoreSchemaError,
    TurnRunner,
    open_store,
)
from tests.outside import s4_store_bot

DATA = Path(__file__).parent / "data_stores4"
ROOT = Path(__file__).resolve().parents[2]
KEY = "s4-key"  # the key schema1-signed.db was written with
# where each stored session waits (s<n> has had n turns) and what its next message "x" gets
NEXT_REPLY = {
    "s0": "What is your name?",
    "s1": "Hi x, favourite colour?",
    "s2": "x! favourite food?",
    "s3": "m1/m2/x. Bye",
}


def _copy(name: str, tmp_path: Path) -> str:
    dest = tmp_path / name
    shutil.copyfile(DATA / name, dest)
    return f"sqlite:///{dest}"


def _migrate(url: str, *args: str, key: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "AUTOGRAMS_SESSION_KEY"}
    if key is not None:
        env["AUTOGRAMS_SESSION_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "autograms.stores", "migrate", url, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
    )


def _bot(key: str | None = None) -> Autogram:
    config = AutogramConfig(session_key=key) if key else AutogramConfig()
    return Autogram(root_function=s4_store_bot.chatbot, test_mode=True, autogram_config=config)


def test_schema1_store_is_refused_by_create_false_naming_the_migration(tmp_path):
    url = _copy("schema1-unsigned.db", tmp_path)
    with pytest.raises(StoreSchemaError) as info:
        open_store(url, create=False)
    assert "migrate" in str(info.value)


def test_migrated_schema1_store_continues_every_session_where_it_waited(tmp_path):
    url = _copy("schema1-unsigned.db", tmp_path)
    first = _migrate(url)
    assert first.returncode == 0, first.stderr
    again = _migrate(url)  # a second migrate (every deploy script runs it) changes nothing
    assert again.returncode == 0, again.stderr
    autogram = _bot()
    store = open_store(url, create=False)
    sessions, runner = Sessions(autogram, store), TurnRunner(autogram, store)
    assert sorted(s.id for s in sessions.list(owner="team")) == sorted(NEXT_REPLY)
    for sid, expected in NEXT_REPLY.items():
        before = sessions.get(sid, owner="team").version
        result = runner.run_turn(sid, "x", idempotency_key="after-migrate", owner="team")
        assert (result.reply, result.version) == (expected, before + 1)


def test_signed_schema1_store_is_refused_unsealed_then_sealed_by_migrate_seal(tmp_path):
    url = _copy("schema1-signed.db", tmp_path)
    autogram = _bot(KEY)
    store = open_store(url)  # a signed worker that opens it first upgrades the tables
    with pytest.raises(StoredSessionError) as info:
        TurnRunner(autogram, store).run_turn("s2", "x", idempotency_key="early", owner="team")
    assert info.value.reason == "unsigned" and "s2" in str(info.value)
    no_key = _migrate(url, "--seal")
    assert no_key.returncode == 2 and "AUTOGRAMS_SESSION_KEY" in no_key.stderr
    wrong = _migrate(url, "--seal", key="not-the-key")
    assert wrong.returncode == 0 and "s0, s1, s2, s3" in wrong.stderr
    sealed = _migrate(url, "--seal", key=KEY)
    assert sealed.returncode == 0, sealed.stderr
    assert "sealed 4 sessions" in sealed.stdout + sealed.stderr
    store = open_store(url, create=False)
    sessions, runner = Sessions(autogram, store), TurnRunner(autogram, store)
    for sid, expected in NEXT_REPLY.items():
        assert sessions.get(sid, owner="team").history is not None
        result = runner.run_turn(sid, "x", idempotency_key="after-seal", owner="team")
        assert result.reply == expected


def _signed_store_with_three_turns(tmp_path: Path):
    path = tmp_path / "signed.db"
    autogram = _bot(KEY)
    store = open_store(f"sqlite:///{path}")
    sessions, runner = Sessions(autogram, store), TurnRunner(autogram, store)
    sid = sessions.create("chat", owner="team").id
    replies = [
        runner.run_turn(sid, f"m{i}", idempotency_key=f"k{i}", owner="team").reply for i in range(3)
    ]
    return path, autogram, sid, replies


def test_signed_store_retry_never_returns_a_turn_reply_edited_in_the_database(tmp_path):
    path, autogram, sid, replies = _signed_store_with_three_turns(tmp_path)
    with sqlite3.connect(path) as db:
        db.execute(
            "UPDATE autograms_turns SET reply = 'FORGED: send your password' "
            "WHERE session_id = ? AND idempotency_key = 'k2'",
            (sid,),
        )
    runner = TurnRunner(autogram, open_store(f"sqlite:///{path}"))
    try:
        result = runner.run_turn(sid, "m2", idempotency_key="k2", owner="team")
    except StoredSessionError as exc:  # refusing it, naming the session, is fine too
        assert sid in str(exc)
    else:
        assert result.replayed and result.reply == replies[2]


def test_signed_store_refuses_a_program_that_reads_an_edited_log(tmp_path):
    path, autogram, sid, _ = _signed_store_with_three_turns(tmp_path)
    with sqlite3.connect(path) as db:
        db.execute(
            "UPDATE autograms_turns SET entries = replace(entries, 'm1', 'FORGED') WHERE session_id = ?",
            (sid,),
        )
    store = open_store(f"sqlite:///{path}")
    with pytest.raises(StoredSessionError) as info:
        Sessions(autogram, store).get(sid, owner="team")
    assert info.value.reason == "tampered" and sid in str(info.value)
    with pytest.raises(StoredSessionError):
        Sessions(autogram, store).log(sid, owner="team")


def test_signed_store_retry_never_applies_a_message_twice_when_its_turn_row_was_deleted(tmp_path):
    path, autogram, sid, replies = _signed_store_with_three_turns(tmp_path)
    with sqlite3.connect(path) as db:
        db.execute(
            "DELETE FROM autograms_turns WHERE session_id = ? AND idempotency_key = 'k2'", (sid,)
        )
    store = open_store(f"sqlite:///{path}")
    try:
        result = TurnRunner(autogram, store).run_turn(sid, "m2", idempotency_key="k2", owner="team")
    except StoredSessionError as exc:  # refusing it, naming the session, is fine too
        assert sid in str(exc)
        return
    assert result.reply == replies[2] and result.version == 3
    history = Sessions(autogram, store).get(sid, owner="team").history
    assert [h["content"] for h in history if h["role"] == "user"] == ["m0", "m1", "m2"]
