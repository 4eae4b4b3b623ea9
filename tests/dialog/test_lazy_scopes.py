"""Decorated calls open their conversation scope only when they record or pause (the
transcripts of ``bots/lazy_scopes`` against the eager reference are in test_transcripts):
no scope is left half-open by a pause, an exception or a call outside a turn."""

from __future__ import annotations

import pytest

from autograms import Autogram, autograms_function, use_config
from autograms import _frames
from autograms.functional import get_system_prompt, reply, set_system_prompt
from tests.dialog.bots import lazy_scopes


def open_gates(functions) -> list[str]:
    """The functions whose leave hook still runs on return (a frame of theirs owns a level)."""
    gates = [(f.__qualname__, _frames.lookup(f.__code__).hooks.leave_gate) for f in functions]
    return [name for name, gate in gates if gate.is_open]


@autograms_function(conv_scope="normal")
def inner_asks():
    set_system_prompt("inner prompt")
    return reply("inner asks")


@autograms_function(conv_scope="local")
def middle():
    return inner_asks()


@autograms_function()
def deep_bot():
    while True:
        middle()
        reply(f"root asks under {get_system_prompt()!r}")


def test_no_gate_stays_open_after_turns_that_pause_deep_inside() -> None:
    autogram = Autogram(deep_bot, test_mode=True)
    text, memory = autogram.reply()
    for message in ["a", "b", "c", "d"]:
        text, memory = autogram.reply(message, memory_object=memory)
        assert open_gates([deep_bot, middle, inner_asks]) == [], message
    assert text == "inner asks"
    # the three decorated calls' levels (as in AutoGRAMS, no empty level under the root's)
    assert [level["function"] for level in memory.memory_dict["turn_stack"]] == [
        "deep_bot",
        "middle",
        "inner_asks",
    ]


@autograms_function(conv_scope="normal")
def prompt_then_fail():
    set_system_prompt("failing prompt")
    raise ValueError("boom")


@autograms_function()
def fails_after_a_reply():
    reply("first")
    prompt_then_fail()


def test_a_failed_turn_leaves_no_gate_open_and_the_memory_as_it_was() -> None:
    autogram = Autogram(fails_after_a_reply, test_mode=True)
    _, memory = autogram.reply()
    before = autogram.serialize(memory)
    with pytest.raises(ValueError, match="boom"):
        autogram.reply("go", memory_object=memory)
    assert open_gates([fails_after_a_reply, prompt_then_fail]) == []
    assert autogram.serialize(memory) == before


@autograms_function(conv_scope="normal")
def prompt_in_a_call(text):
    set_system_prompt(text)
    return get_system_prompt()


def test_outside_a_turn_a_call_s_system_prompt_reverts_when_it_returns() -> None:
    with use_config() as memory:
        memory.set_system_prompt("outer")
        assert prompt_in_a_call("inner") == "inner"
        assert memory.get_system_prompt() == "outer"
    assert open_gates([prompt_in_a_call]) == []


def test_a_decorated_call_outside_any_session_runs_as_plain_python() -> None:
    assert lazy_scopes.doubled(21) == 42
    with pytest.raises(Exception, match="reply"):
        lazy_scopes.deep_inner(1)
