"""Calls of decorated functions that start outside any turn run their original code when the
instrumentation would change nothing for them (``_call_modes``): they behave as before, in
ordinary code and around turns, and the functions still pause and resume inside turns."""

from __future__ import annotations

import types

import pytest

from autograms import Autogram, ContinuationError, autograms_function
from autograms._frames import Reason
from autograms.functional import reply


class Boom(Exception):
    pass


@autograms_function(conv_scope="normal")
def fails_on(value):
    if value == "boom":
        raise Boom(value)
    return value.upper()


@autograms_function()
def guarded_bot():
    while True:
        answer = reply("say something")
        try:
            reply(f"heard {fails_on(answer)}")
        except Boom:
            reply("that exploded")


def test_a_call_that_raises_outside_a_turn_leaves_the_turns_after_it_unchanged() -> None:
    with pytest.raises(Boom):
        fails_on("boom")
    autogram = Autogram(guarded_bot, test_mode=True)
    texts = []
    text, memory = autogram.reply()
    for message in ["boom", "ok", "hi", "boom"]:
        with pytest.raises(Boom):
            fails_on("boom")  # between turns, in ordinary code
        memory = autogram.deserialize(autogram.serialize(memory))
        text, memory = autogram.reply(message, memory_object=memory)
        texts.append(text)
        text, memory = autogram.reply("next", memory_object=memory)
        texts.append(text)
    assert texts == [
        "that exploded",
        "say something",
        "heard OK",
        "say something",
        "heard HI",
        "say something",
        "that exploded",
        "say something",
    ]


@autograms_function()
def asks_twice():
    first = reply("first?")
    second = reply(f"got {fails_on(first)}; second?")
    return f"{first}+{second}"


@autograms_function()
def host(messages):
    """Runs whole turns of another program from inside its own (plain-mode) call."""
    autogram = Autogram(asks_twice, test_mode=True)
    texts = []
    text, memory = autogram.reply()
    texts.append(text)
    for message in messages:
        memory = autogram.deserialize(autogram.serialize(memory))
        text, memory = autogram.reply(message, memory_object=memory)
        texts.append(text)
    return texts


def test_turns_run_from_inside_a_call_made_outside_any_turn_pause_and_resume() -> None:
    assert host(["a", "b"]) == ["first?", "got A; second?", None]


def no_address(number):
    return number + 1


@autograms_function()
def labelled_call_to_a_plain_callee(number):
    return no_address(number, ADDRESS="step")


def test_outside_a_turn_a_labelled_call_still_keeps_address_from_callees_without_it() -> None:
    assert labelled_call_to_a_plain_callee(1) == 2


@autograms_function()
def twice_decorated(value):
    return reply(f"twice {value}")


@autograms_function()
def calls_twice_decorated():
    return twice_decorated(reply("start"))


def test_a_function_decorated_again_outside_a_turn_stays_resumable() -> None:
    assert autograms_function()(twice_decorated) is twice_decorated
    autogram = Autogram(calls_twice_decorated, test_mode=True)
    _, memory = autogram.reply()
    text, memory = autogram.reply("x", memory_object=memory)
    memory = autogram.deserialize(autogram.serialize(memory))
    assert text == "twice x"
    assert autogram.reply("y", memory_object=memory)[0] is None


@autograms_function()
def asker():
    return reply("asker asks")


#: made outside any turn, so from the original code (no call sites, no hooks) of `asker`
asker_copy = types.FunctionType(asker.__code__, asker.__globals__, "asker_copy")


@autograms_function()
def calls_the_copy():
    return asker_copy()


def test_a_pause_in_a_function_copied_from_original_code_is_refused_not_misplaced() -> None:
    autogram = Autogram(calls_the_copy, test_mode=True)
    with pytest.raises(ContinuationError) as caught:
        autogram.reply()
    assert caught.value.reason is Reason.NOT_A_CALL
