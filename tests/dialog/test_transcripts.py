"""Every bot, resumed at every turn -- in process, after serialize/deserialize, and in a fresh
interpreter per turn -- says exactly what the same bot says in a reference run where reply()
simply blocks, and ends in the same conversation state."""

from __future__ import annotations

import json

import pytest

from tests.dialog.harness import reference_run, resumed_run

SCRIPTS = {
    "simple_example": ["yes I'd love to", "tell me more", "and then?", "bye"],
    "fibonacci": ["yes", "yes", "y", "no", "ok"],
    "recruiter": ["yes", "no", "ready", "CS degree", "5 years", "python", "120k", "maybe", "ok"],
    "scopes": ["r1", "g1", "n1", "l1"],
    "lazy_scopes": ["note", "x", "y", "z", "again", "back", "plain", "x", "y", "z", "fine"],
    "returnto_bot": ["quiz", "4", "menu", "quiz", "2", "4", "fine", "whatever", "yes", "chat", "x"],
    "globals_bot": ["tea", "cake", "done"],
    "routed_nested_bot": ["ann", "bob", "end"],
    "nodes_bot": ["red", "blue", "again", "green", "pink", "stop"],
    "external_bot": [],
    "methods_bot": ["a1", "a2"],
    "exit_bot": ["Ada", "hello again", "x"],
}
MODES = ["in_process", "serialized", "fresh_process"]


def normalized(run: dict) -> dict:
    return json.loads(json.dumps(run, default=repr))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bot", sorted(SCRIPTS))
def test_resumed_bot_matches_reference(bot: str, mode: str) -> None:
    expected = normalized(reference_run(bot, SCRIPTS[bot]))
    assert len(expected["transcript"]) > 1 or bot == "external_bot"
    assert normalized(resumed_run(bot, SCRIPTS[bot], mode)) == expected
