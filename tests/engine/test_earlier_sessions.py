"""Sessions written by an earlier release (aff806f, 0.6.1), paused with loads under the paused
call that it read again on resume instead of saving them (a bare global, a method call's
callable, a module attribute chain): they load, and continue with the replies that release
gave (tests/engine/make_earlier_sessions.py wrote them)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from autograms import Autogram
from tests.engine.bots import loads_under_a_call

DATA = (
    Path(__file__).parent
    / "data"
    / "earlier_release"
    / f"py{sys.version_info[0]}.{sys.version_info[1]}"
)
MANIFEST = json.loads((DATA / "manifest.json").read_text())


@pytest.mark.parametrize("session", MANIFEST["sessions"], ids=lambda s: s["file"])
def test_session_of_an_earlier_release_continues_as_that_release_did(session: dict) -> None:
    autogram = Autogram(root_function=loads_under_a_call.chatbot, test_mode=True)
    memory = autogram.deserialize((DATA / session["file"]).read_text())
    replies = []
    for message in session["next"]:
        text, memory = autogram.reply(message, memory_object=memory)
        replies.append(text)
    assert replies == session["replies"]


def test_session_of_an_earlier_release_saved_again_names_the_values_it_lacked() -> None:
    autogram = Autogram(root_function=loads_under_a_call.chatbot, test_mode=True)
    memory = autogram.deserialize((DATA / "paused-2.txt").read_text())
    again = autogram.deserialize(autogram.serialize(memory))
    text, _ = autogram.reply("bb", memory_object=again)
    assert text == "third?"
