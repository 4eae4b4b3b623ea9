"""``autograms debug BOT --store URL SESSION_ID`` (SQLite and PostgreSQL): every random
trajectory starts from the stored session, where its program waits, with the log read from
the store; the store is left as it was; a store or session that cannot be opened exits 2."""

from __future__ import annotations

import re

import pytest

from autograms.cli.__main__ import main
from autograms.stores import Sessions, TurnRunner, open_store
from tests.stores import bots
from tests.stores.conftest import make_autogram
from tests.stores.test_turns import execute_sql

BOT = bots.__file__


@pytest.fixture
def stored(store_url):
    """A session of `bots.thinker` (it replies with the length of the history it reads) after
    two turns: its history holds four messages."""
    store = open_store(store_url)
    autogram = make_autogram(bots.thinker)
    session_id = Sessions(autogram, store).create(owner="team").id
    runner = TurnRunner(autogram, store)
    replies = [runner.run_turn(session_id, text, text).reply for text in ("a", "b")]
    assert replies == ["history 1", "history 3"]
    yield store, session_id
    store.close()


def debug(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(["debug", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_every_run_starts_from_the_stored_session_with_its_log(capsys, store_url, stored):
    store, session_id = stored
    argv = [BOT, "--store", store_url, session_id, "--runs", "3", "--turns", "2", "--transcripts"]
    status, out, err = debug(capsys, *argv)
    assert status == 0, out + err
    assert f"every run starts from session {session_id!r}" in out and "(version 2)" in out
    assert "3 run(s), 6 turn(s)" in out
    # each run's first reply counts the stored history (4 messages) and its own message:
    # the program read the log from the store; no opening turn was run
    replies = re.findall(r"agent: '([^']*)'", out)
    assert replies == ["history 5", "history 7"] * 3
    # nothing was written to the store
    assert [t.version for t in store.turns(session_id)] == [1, 2]
    assert store.load_session(session_id).version == 2


def test_a_missing_session_or_store_exits_2_naming_it(capsys, store_url, stored, tmp_path):
    status, _, err = debug(capsys, BOT, "--store", store_url, "nobody", "--runs", "1")
    assert status == 2 and "'nobody'" in err and "no session" in err
    missing = f"sqlite:///{tmp_path / 'none.db'}"
    status, _, err = debug(capsys, BOT, "--store", missing, "x", "--runs", "1")
    assert status == 2 and "no SQLite store" in err
    assert not (tmp_path / "none.db").exists()


def test_a_session_edited_in_a_signed_store_is_refused_before_any_run(
    capsys, store_url, monkeypatch
):
    monkeypatch.setenv("AUTOGRAMS_SESSION_KEY", "debug-key")
    store = open_store(store_url)
    try:
        autogram = make_autogram(bots.thinker)
        session_id = Sessions(autogram, store).create().id
        TurnRunner(autogram, store).run_turn(session_id, "a", "k1")
    finally:
        store.close()
    execute_sql(
        store_url, "UPDATE autograms_turns SET entries = replace(entries, '\"a\"', '\"z\"')"
    )
    status, out, err = debug(capsys, BOT, "--store", store_url, session_id, "--runs", "1")
    assert status == 2 and "tampered" in err and session_id in err
    assert "run(s)" not in out
