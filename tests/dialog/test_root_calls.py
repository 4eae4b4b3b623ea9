"""AutoGRAMS' ways of driving a program besides ``Autogram.reply``: calling the root function
directly inside ``use_memory``, an ``@autograms_chatbot`` root's ``user_reply``, and plain
helpers that read and write persistent globals."""

from __future__ import annotations

import pytest

from autograms import Autogram, ConversationError, autograms_chatbot, autograms_function
from autograms.functional import EXIT, reply
from autograms.memory import MemoryObject, use_memory
from tests.dialog.bots import failing_bot, globals_bot


@autograms_function()
def interview():
    name = reply("name?")
    age = reply(f"hi {name}, age?")
    if age == "secret":
        EXIT({"reply": "bye", "reason": "secret"})
    return f"{name}:{age}"


@autograms_function()
def other():
    reply("other")


@autograms_chatbot()
def echo(user_reply, prefix="you said"):
    while True:
        reply(f"{prefix} {user_reply!r}")


def test_calling_the_root_inside_use_memory_runs_one_turn_of_that_session() -> None:
    memory = Autogram(root_function=interview, test_mode=True).init_memory()
    with use_memory(memory):
        result = interview()
    assert (result.data, result.func_return, result.memory) == ({"reply": "name?"}, None, memory)
    memory.add_user_reply("Ada")
    with use_memory(memory):
        assert interview().data == {"reply": "hi Ada, age?"}
    memory.add_user_reply("36")
    with use_memory(memory):
        result = interview()
    assert (result.data, result.func_return, memory.is_paused) == ({"reply": None}, "Ada:36", False)


def test_a_root_call_that_exits_returns_the_exit_data() -> None:
    memory = MemoryObject()
    for message in ["Ada", "secret"]:
        with use_memory(memory):
            interview()
        memory.add_user_reply(message)
    with use_memory(memory):
        assert interview().data == {"reply": "bye", "reason": "secret"}


def test_a_root_call_is_a_transaction_and_refuses_another_program() -> None:
    memory = MemoryObject()
    with use_memory(memory):
        failing_bot.chatbot()
    memory.add_user_reply("boom")
    before = memory.serialize()
    with use_memory(memory), pytest.raises(ValueError, match="the bot failed"):
        failing_bot.chatbot()
    assert memory.serialize() == before
    with use_memory(memory), pytest.raises(ConversationError, match="call .*failing_bot.chatbot"):
        other()


def test_decorated_calls_inside_a_turn_or_a_helper_memory_are_ordinary_calls() -> None:
    autogram = Autogram(root_function=failing_bot.chatbot, test_mode=True)
    with autogram.use_config():
        assert globals_bot.add_item("x") == 1  # no session to run a turn of
    _, memory = autogram.reply()
    with autogram.use_memory(memory):
        assert globals_bot.add_item("y") == 1


@pytest.mark.parametrize("how", ["reply", "serialized", "root call"])
def test_an_autograms_chatbot_root_gets_the_current_message_every_turn(how: str) -> None:
    autogram = Autogram(root_function=echo, test_mode=True)
    memory, texts = None, []
    for message in ["first", "second", "third"]:
        if how == "root call":
            memory = memory or MemoryObject()
            with use_memory(memory):
                texts.append(echo(user_reply=message).data["reply"])
            continue
        text, memory = autogram.reply(message, memory_object=memory)
        texts.append(text)
        if how == "serialized":
            memory = autogram.deserialize(autogram.serialize(memory))
    assert texts == ["you said 'first'", "you said 'second'", "you said 'third'"]


def test_an_autograms_chatbot_root_must_take_user_reply() -> None:
    with pytest.raises(TypeError, match="must have a parameter named 'user_reply'"):

        @autograms_chatbot()
        def no_reply():
            reply("x")


def test_plain_helpers_read_and_write_the_sessions_persistent_globals() -> None:
    autogram = Autogram(root_function=globals_bot.chatbot, test_mode=True)
    _, first = autogram.reply()
    _, second = autogram.reply()
    _, first = autogram.reply("tea", memory_object=first)
    first = autogram.deserialize(autogram.serialize(first))
    text, first = autogram.reply("cake", memory_object=first)
    assert "basket ['tea', 'cake'], total 7" in text
    text, second = autogram.reply("pie", memory_object=second)
    assert "basket ['pie'], total 3" in text
    assert (globals_bot.basket, globals_bot.total, globals_bot.summary()) == (
        [],
        0,
        "basket [], total 0",
    )


@autograms_function()
def counting_loop():
    n = 0
    while True:
        n += 1
        reply(f"r{n}")


def _history(memory) -> list[str]:
    return [turn["content"] for turn in memory.extract_full_conv_history()]


def test_the_root_called_inside_autogram_use_memory_runs_a_turn_as_autograms_reply_does() -> None:
    autogram = Autogram(root_function=counting_loop, test_mode=True)
    _, memory = autogram.reply()
    memory.add_user_reply("a")
    with autogram.use_memory(memory) as current:
        assert counting_loop().data == {"reply": "r2"}
        current.memory_dict["after"] = "kept"  # a change after the root's turn is kept too
        current.add_user_reply("b")
        assert counting_loop().data == {"reply": "r3"}
    assert memory.memory_dict["after"] == "kept"
    memory = autogram.deserialize(autogram.serialize(memory))
    text, memory = autogram.reply("c", memory_object=memory)
    assert text == "r4"
    assert _history(memory) == ["", "r1", "a", "r2", "b", "r3", "c", "r4"]


def test_a_failing_autogram_use_memory_block_undoes_the_root_turn_it_ran() -> None:
    autogram = Autogram(root_function=counting_loop, test_mode=True)
    _, memory = autogram.reply()
    before = autogram.serialize(memory)
    with pytest.raises(KeyError), autogram.use_memory(memory):
        counting_loop()
        raise KeyError("after the root's turn")
    assert autogram.serialize(memory) == before
    assert autogram.reply("x", memory_object=memory)[0] == "r2"


def test_inside_autogram_use_memory_reply_and_other_decorated_functions_do_not_pause() -> None:
    autogram = Autogram(root_function=counting_loop, test_mode=True)
    _, memory = autogram.reply()
    with autogram.use_memory(memory), pytest.raises(ConversationError, match="use_memory"):
        reply("not here")
    with autogram.use_memory(memory), pytest.raises(ConversationError, match="use_memory"):
        other()
    assert autogram.reply("x", memory_object=memory)[0] == "r2"
