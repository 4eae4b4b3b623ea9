"""Outside tests (session 4): what happens to a turn in flight (its program running, no lock
held) when its session is deleted, expired, or deleted and created again under the same id
(client-chosen ids: the serve API takes any id the client picks, e.g. a user's id).
"""

from __future__ import annotations

import threading
import time

import pytest

from autograms import Autogram
from autograms.stores import SessionNotFoundError, Sessions, TurnRunner, open_store
from tests.outside import s4_slow_bot


@pytest.fixture
def store(tmp_path):
    return open_store(f"sqlite:///{tmp_path / 's.db'}")


def _in_flight(store, action):
    """Start a 1.5 s turn on a session with one turn, run `action(sessions, sid)` while it
    runs, and give (the turn's result or exception, sessions, sid)."""
    autogram = Autogram(root_function=s4_slow_bot.chatbot, test_mode=True)
    sessions, runner = Sessions(autogram, store), TurnRunner(autogram, store)
    sid = sessions.create("user-42", owner="o").id
    runner.run_turn(sid, "first", idempotency_key="k0", owner="o")
    time.sleep(1.1)
    out: dict = {}

    def turn():
        try:
            out["result"] = runner.run_turn(sid, "slow message", idempotency_key="k1", owner="o")
        except Exception as exc:  # noqa: BLE001 -- the test looks at what it is
            out["result"] = exc

    thread = threading.Thread(target=turn)
    thread.start()
    time.sleep(0.5)  # the program is running
    action(sessions, sid)
    thread.join(20)
    return out["result"], sessions, sid


def test_a_turn_in_flight_when_its_session_is_deleted_fails_not_found(store):
    result, sessions, sid = _in_flight(store, lambda s, sid: s.delete(sid, owner="o"))
    assert isinstance(result, SessionNotFoundError)
    with pytest.raises(SessionNotFoundError):
        sessions.get(sid, owner="o")


def test_a_running_turn_keeps_its_session_from_expiring(store):
    expired: list = []
    result, sessions, sid = _in_flight(store, lambda s, sid: expired.extend(s.expire(1.0)))
    assert sid not in expired and result.version == 2


def test_a_message_of_a_deleted_conversation_never_lands_in_a_new_one_with_the_same_id(store):
    def clear_chat(sessions, sid):
        sessions.delete(sid, owner="o")
        sessions.create(sid, owner="o")

    result, sessions, sid = _in_flight(store, clear_chat)
    assert isinstance(result, SessionNotFoundError), result
    view = sessions.get(sid, owner="o")
    assert view.version == 0 and view.history == []
