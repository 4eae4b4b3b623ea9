"""Outside tests (session 4): two bots (two programs) sharing one store, as the README allows:
"Several bots can share one store: each session row names its program". A client-chosen
conversation id (the serve API takes any id the client picks) can meet a session of the other
bot; the other bot's runner and Sessions must not answer, show or delete it.

Seen over HTTP too: `autograms serve` of bot B on bot A's store answers a chat completion
with X-Session-Id of A's conversation with A's stored reply, and DELETE removes A's session.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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


def test_other_bots_runner_never_replays_a_turn_of_another_program(shared):
    store, _, b = shared
    try:
        result = TurnRunner(b, store).run_turn("chat-1", "hi", idempotency_key="k1", owner="user-1")
    except REFUSED:
        return
    assert result.reply != "I am bot A", "bot B answered with bot A's stored reply"


def test_other_bots_sessions_cannot_delete_a_session_of_another_program(shared):
    store, a, b = shared
    try:
        Sessions(b, store).delete("chat-1", owner="user-1")
    except REFUSED:
        pass
    assert Sessions(a, store).get("chat-1", owner="user-1").version == 1


def test_other_bots_sessions_do_not_show_a_session_of_another_program(shared):
    store, _, b = shared
    with pytest.raises(REFUSED):
        Sessions(b, store).get("chat-1", owner="user-1")
    with pytest.raises(REFUSED):
        Sessions(b, store).log("chat-1", owner="user-1")


BOT_FILE = """
from autograms import autograms_function
from autograms.functional import reply

@autograms_function()
def chatbot():
    while True:
        reply("I am {name}", ADDRESS="loop")
"""


def _run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    exe = str(Path(sys.executable).parent / "autograms")
    return subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_sessions_check_of_one_bot_passes_on_a_store_shared_with_another_bot(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    for name in ("s4_shared_a", "s4_shared_b"):
        (tmp_path / f"{name}.py").write_text(BOT_FILE.format(name=name))
        script = (
            f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import {name}\n"
            "from autograms import Autogram\n"
            "from autograms.stores import Sessions, TurnRunner, open_store\n"
            f"ag = Autogram(root_function={name}.chatbot, test_mode=True)\n"
            f"st = open_store({url!r})\n"
            f"Sessions(ag, st).create('{name}-chat', owner='u')\n"
            f"TurnRunner(ag, st).run_turn('{name}-chat', 'hi', idempotency_key='k', owner='u')\n"
        )
        made = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
        )
        assert made.returncode == 0, made.stderr
    check = _run_cli("sessions", "check", "s4_shared_a.py", "--store", url, "--json", cwd=tmp_path)
    report = json.loads(check.stdout)
    verdicts = {s["session"]: s["verdict"] for s in report["sessions"]}
    assert verdicts.get("s4_shared_a-chat") == "resumes"
    assert verdicts.get("s4_shared_b-chat") != "refused"
    assert check.returncode == 0, check.stdout
