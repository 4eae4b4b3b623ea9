"""A session whose log is kept elsewhere (a database): restored with the log supplied from
outside and read only when something looks at it; each turn says exactly what it appended."""

from __future__ import annotations

import pytest

from autograms import Autogram, autograms_function
from autograms.functional import extract_full_conv_history, reply
from tests.dialog.bots import failing_bot, simple_example


@autograms_function()
def history_bot():
    while True:
        reply(f"seen {len(extract_full_conv_history())} messages")


def run(bot, messages, memory=None):
    for message in messages:
        _, memory = bot.reply(message, memory_object=memory)
    return memory


def test_each_turn_reports_exactly_the_entries_it_appended() -> None:
    bot = Autogram(root_function=simple_example.chatbot, test_mode=True, seed=3)
    memory = run(bot, [""])
    seen = list(memory.last_turn_log)
    for message in ["yes", "tell me more", "thanks"]:
        before = len(memory.model_turns)
        _, memory = bot.reply(message, memory_object=memory)
        assert memory.last_turn_log == memory.model_turns[before:]
        seen += memory.last_turn_log
    assert seen == memory.model_turns
    assert memory.last_turn_log[0]["entry_type"] == "user_reply"


def test_a_log_supplied_as_a_callable_is_not_read_by_a_turn_that_does_not_need_it() -> None:
    bot = Autogram(root_function=simple_example.chatbot, test_mode=True, seed=3)
    memory = run(bot, ["", "yes"])
    calls = []

    def stored_log():
        calls.append(1)
        return memory.model_turns

    restored = bot.deserialize(bot.serialize(memory), log=stored_log)
    text, restored = bot.reply("more", memory_object=restored)
    assert calls == []
    assert restored.last_turn_log[0] == {**restored.last_turn_log[0], "user_reply": "more"}
    assert restored.model_turns == memory.model_turns + restored.last_turn_log
    assert calls == [1]


def test_a_program_reading_the_history_gets_the_supplied_log() -> None:
    bot = Autogram(root_function=history_bot, test_mode=True)
    memory = run(bot, ["", "a", "b"])
    text, entries = bot.serialize(memory), memory.model_turns
    assert bot.reply("c", memory_object=memory)[0] == "seen 7 messages"
    restored = bot.deserialize(text, log=lambda: entries)
    assert bot.reply("c", memory_object=restored)[0] == "seen 7 messages"
    empty = bot.deserialize(text, log=[])
    assert bot.reply("c", memory_object=empty)[0] == "seen 1 messages"


def test_a_failed_turn_leaves_last_turn_log_and_the_supplied_log_alone() -> None:
    bot = Autogram(root_function=failing_bot.chatbot, test_mode=True)
    memory = run(bot, ["", "one"])
    entries = memory.model_turns
    restored = bot.deserialize(bot.serialize(memory), log=lambda: list(entries))
    _, restored = bot.reply("two", memory_object=restored)
    appended = restored.last_turn_log
    with pytest.raises(ValueError, match="the bot failed"):
        bot.reply("boom", memory_object=restored)
    assert restored.last_turn_log == appended
    assert restored.model_turns == entries + appended
