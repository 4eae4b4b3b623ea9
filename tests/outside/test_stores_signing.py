"""Outside tests of issue 13 (README "Sessions in a database"): signed blobs edited by hand.

README: "With a session key configured, stored blobs are signed: a row edited in the database is
refused before anything is unpickled." The issue adds "naming the session".
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stores_outside_support as sup  # noqa: E402

from autograms.stores import StoredSessionError, TurnRunner  # noqa: E402


@pytest.fixture(params=sup.BACKENDS)
def signed_store(request, tmp_path):
    url = sup.new_store_url(request.param, tmp_path)
    store, sessions, runner = sup.open_all(sup.signed, url)
    yield url, store, sessions, runner
    store.close()


def _blob(url, sid):
    return sup.sql(url, "SELECT blob FROM autograms_sessions WHERE id = ?", (sid,))[0][0]


def _set_blob(url, sid, blob):
    sup.sql(url, "UPDATE autograms_sessions SET blob = ? WHERE id = ?", (blob, sid))


def test_blob_with_one_character_changed_is_refused_naming_the_session(signed_store, tmp_path):
    url, store, sessions, runner = signed_store
    sid = sessions.create(owner="bob").id
    runner.run_turn(sid, "hello", "k0")
    runner.run_turn(sid, "first", "k1")
    blob = _blob(url, sid)
    parts = blob.split(".")
    state = parts[2]
    i = len(state) // 2
    parts[2] = state[:i] + ("0" if state[i] != "0" else "1") + state[i + 1 :]
    _set_blob(url, sid, ".".join(parts))
    for call in (
        lambda: runner.run_turn(sid, "second", "k2"),
        lambda: sessions.get(sid),
        lambda: sessions.export_file(sid, tmp_path / "never.session"),
    ):
        with pytest.raises(StoredSessionError) as info:
            call()
        assert info.value.reason == "tampered"
        assert info.value.session_id == sid and sid in str(info.value)
    assert [t.idempotency_key for t in store.turns(sid)] == ["k0", "k1"]
    _set_blob(url, sid, blob)
    assert runner.run_turn(sid, "second", "k2").reply == "2:first|second"


def test_unsigned_blob_is_refused_when_a_key_is_configured(signed_store):
    url, store, sessions, runner = signed_store
    sid = sessions.create().id
    # a worker without the key writes an unsigned blob
    TurnRunner(sup.echo, store).run_turn(sid, "hello", "k0")
    with pytest.raises(StoredSessionError) as info:
        runner.run_turn(sid, "next", "k1")
    assert info.value.reason == "unsigned" and info.value.session_id == sid


def test_blob_copied_from_another_session_is_refused(signed_store):
    url, store, sessions, runner = signed_store
    alice = sessions.create(owner="alice").id
    bob = sessions.create(owner="bob").id
    runner.run_turn(alice, "hello", "k0")
    runner.run_turn(alice, "my card is 4111-1111", "k1")
    runner.run_turn(bob, "hello", "k0")
    _set_blob(url, bob, _blob(url, alice))
    try:
        result = runner.run_turn(bob, "what did I say?", "k1", owner="bob")
    except StoredSessionError as exc:
        assert exc.session_id == bob
    else:
        pytest.fail(f"Bob's edited row was loaded: the reply is {result.reply!r}")


def test_blob_rolled_back_to_an_earlier_one_is_refused(signed_store):
    url, store, sessions, runner = signed_store
    sid = sessions.create().id
    runner.run_turn(sid, "hello", "k0")
    old = _blob(url, sid)
    runner.run_turn(sid, "first", "k1")
    runner.run_turn(sid, "second", "k2")
    _set_blob(url, sid, old)
    try:
        result = runner.run_turn(sid, "third", "k3")
    except StoredSessionError as exc:
        assert exc.session_id == sid
    else:
        pytest.fail(
            f"the rolled-back row was loaded: the reply is {result.reply!r} "
            f"(the committed turns say '3:first|second|third')"
        )
