"""Outside tests (session 4): two bots (two programs) sharing one store, as the README allows:
"Several bots can share one store: each session row names its program". A client-chosen
conversation id (the serve API takes any id the client picks) can meet a session of the other
bot; the other bot's runner and Sessions must not answer, show or delete it.

Seen over HTTP too: `autograms serve` of bot B on bot A's store answers a chat completion
with X-Session-Id of A's conversation with A's stored reply, and DELETE removes A's session.
"""

from __future__ import annotations

import pytest

from autograms import Autogram
from autograms.stores import (
    SessionNotFoundError,
    Sessions,
    StoredSessionError,
    TurnRunner,
    open_store,
)
from tests.outside import s4_other_bot

REFUSED = (StoredSessionError, SessionNotFoundError)


@pytest.fixture
def shared(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'shared.db'}")
    a = Autogram(root_function=s4_other_bot.bot_a, test_mode=True)
    b = Autogram(root_function=s4_other_bot.bot_b, test_mode=True)
    Sessions(a, store).create("chat-1", owner="user-1")
    first = TurnRunner(a, store).run_turn("chat-1", "hi", idempotency_key="k1", owner="user-1")
    assert first.reply == "I am bot A"
    return store, a, b


def test_other_bots_new_message_is_refused_as_other_program(shared):
    store, _, b = shared
    with pytest.raises(StoredSessionError) as info:
        TurnRunner(b, store).run_turn("chat-1", "hello", idempotency_key="k2", owner="user-1")
    assert info.value.reason == "other program" and "chat-1" in str(info.value)


def test_other_bot_does_not_list_the_session(shared):
    store, _, b = shared
    assert [s.id for s in Sessions(b, store).list(owner="user-1")] == []


@pytest.mark.xfail(
    strict=True,
    reason="bot B's TurnRunner replays a turn of bot A's session (same id, key and text): "
    "it returns 'I am bot A' as B's reply instead of refusing the other program",
)
def test_other_bots_runner_never_replays_a_turn_of_another_program(shared):
    store, _, b = shared
    try:
        result = TurnRunner(b, store).run_turn("chat-1", "hi", idempotency_key="k1", owner="user-1")
    except REFUSED:
        return
    assert result.reply != "I am bot A", "bot B answered with bot A's stored reply"


@pytest.mark.xfail(
    strict=True,
    reason="Sessions(bot B).delete() deletes a session of bot A (another program) without a word",
)
def test_other_bots_sessions_cannot_delete_a_session_of_another_program(shared):
    store, a, b = shared
    try:
        Sessions(b, store).delete("chat-1", owner="user-1")
    except REFUSED:
        pass
    assert Sessions(a, store).get("chat-1", owner="user-1").version == 1


@pytest.mark.xfail(
    strict=True,
    reason="Sessions(bot B).get()/log() show a session of bot A (history, where it waits, log) "
    "although list() hides it and a turn refuses it as another program's",
)
def test_other_bots_sessions_do_not_show_a_session_of_another_program(shared):
    store, _, b = shared
    with pytest.raises(REFUSED):
        Sessions(b, store).get("chat-1", owner="user-1")
    with pytest.raises(REFUSED):
        Sessions(b, store).log("chat-1", owner="user-1")
