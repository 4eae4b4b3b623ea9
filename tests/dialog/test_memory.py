"""Conversation memory: the scope table, system-prompt scoping and what model calls see."""

from __future__ import annotations

import random

import pytest

from autograms import AutogramConfig, ConversationError, MemoryObject, use_config
from autograms.functional import reply, thought
from autograms.memory import get_memory, init_user_globals, use_memory


def contents(memory: MemoryObject) -> list[str]:
    return [turn["content"] for turn in memory.conversation().turns]


@pytest.mark.parametrize(
    ("scope", "child_sees", "parent_keeps"),
    [
        ("global", ["root says", "child says"], ["root says", "child says"]),
        ("normal", ["root says", "child says"], ["root says"]),
        ("local", ["child says"], ["root says"]),
    ],
)
def test_scope_table(scope: str, child_sees: list[str], parent_keeps: list[str]) -> None:
    memory = MemoryObject(AutogramConfig(default_prompt="base"))
    memory.push_scope("global", "root")
    memory.log_chat_turn("root says")
    memory.push_scope(scope, "child")
    memory.log_chat_turn("child says")
    assert contents(memory) == child_sees
    memory.pop_scope()
    assert contents(memory) == parent_keeps


def test_system_prompt_is_scoped_to_the_call_and_inherited() -> None:
    memory = MemoryObject(AutogramConfig(default_prompt="base"))
    memory.push_scope("global")
    memory.set_system_prompt("root")
    memory.push_scope("normal")
    assert memory.get_system_prompt() == "root"
    memory.append_system_prompt("extra")
    assert memory.conversation().system_prompt == "root\nextra"
    memory.pop_scope()
    assert memory.get_system_prompt() == "root"


def test_last_user_reply_survives_an_agent_reply_not_an_empty_message() -> None:
    memory = MemoryObject()
    memory.add_user_reply("hello")
    memory.log_chat_turn("hi there")
    assert memory.extract_last_user_reply() == "hello"
    memory.add_user_reply("")  # AutoGRAMS: the last submitted reply was empty
    assert memory.extract_last_user_reply() is None


def test_thoughts_stay_in_history_in_order() -> None:
    with use_config(test_mode=True) as memory:
        memory.add_user_reply("I am Ana")
        answer = thought("note the name")
        memory.log_chat_turn("Nice to meet you")
    roles = [turn["role"] for turn in memory.conversation().turns]
    assert roles == ["user", "system_instruction", "system_answer", "agent"]
    assert memory.conversation().turns[2]["content"] == answer


def test_reply_outside_a_conversation_is_a_clear_error() -> None:
    with pytest.raises(ConversationError, match="needs a running conversation"):
        reply("hello")
    with use_config(test_mode=True), pytest.raises(ConversationError, match="use_config"):
        reply("hello")


USER = init_user_globals()
USER["count"] = 10


def test_user_globals_default_then_per_memory() -> None:
    first, second = MemoryObject(), MemoryObject()
    with use_memory(first):
        USER["count"] += 1
    with use_memory(second):
        assert USER["count"] == 10
    with use_memory(first):
        assert USER["count"] == 11
    assert USER["count"] == 10 and get_memory() is None


@pytest.fixture
def bonus_default():
    """A default the module gains after sessions took the others (as a deploy adds one)."""

    def add() -> None:
        USER["bonus"] = 5

    yield add
    if "bonus" in USER:
        del USER["bonus"]


def test_a_default_added_after_a_session_took_the_others_is_taken_at_its_next_use(
    bonus_default,
) -> None:
    memory = MemoryObject()
    with use_memory(memory):
        USER["count"] += 1
    bonus_default()
    with use_memory(memory):
        assert (USER["count"], USER["bonus"]) == (11, 5)
        USER["bonus"] += 1
    with use_memory(memory):
        assert USER["bonus"] == 6


def test_a_default_the_session_deleted_stays_deleted_when_another_is_added(
    bonus_default,
) -> None:
    memory = MemoryObject()
    with use_memory(memory):
        del USER["count"]
    bonus_default()
    with use_memory(memory):
        assert "count" not in USER and USER["bonus"] == 5


def test_a_session_that_recorded_no_defaults_took_those_it_has(bonus_default) -> None:
    memory = MemoryObject(memory_dict={"user_globals": {__name__: {"count": 3}}})
    bonus_default()
    with use_memory(memory):
        assert (USER["count"], USER["bonus"]) == (3, 5)


def test_live_turns_stay_bounded_and_the_log_keeps_everything() -> None:
    from autograms.memory import LIVE_CHARS_PER_TOKEN, MIN_LIVE_TURNS

    memory = MemoryObject(AutogramConfig(chatbot_max_input_len=1000, classifier_max_input_len=50))
    for number in range(500):
        memory.add_user_reply(f"user message {number:04d} " + "x" * 20)
        memory.log_chat_turn(f"agent message {number:04d} " + "y" * 20)
    state = memory.live_state()
    kept = state["turn_stack"][0]["turns"]
    assert MIN_LIVE_TURNS < len(kept) < 1000
    assert sum(len(turn["content"]) for turn in kept) <= LIVE_CHARS_PER_TOKEN * 1000
    assert kept[-1]["content"].startswith("agent message 0499")
    history = memory.extract_full_conv_history()
    assert len(history) == 1000 and history[0]["content"].startswith("user message 0000")


def test_trimming_keeps_the_longest_suffix_within_the_budget() -> None:
    from autograms.memory import LIVE_CHARS_PER_TOKEN

    memory = MemoryObject(AutogramConfig(chatbot_max_input_len=100, classifier_max_input_len=10))
    for number in range(300):
        memory.add_user_reply("u" * (number % 7 + 1))
        memory.log_chat_turn("a" * (number % 5 + 1))
    kept = memory.live_state()["turn_stack"][0]["turns"]
    full = [turn["content"] for turn in memory.extract_full_conv_history()]
    limit = LIVE_CHARS_PER_TOKEN * 100
    assert full[-len(kept) :] == [turn["content"] for turn in kept]
    assert sum(map(len, full[-len(kept) :])) <= limit
    assert sum(map(len, full[-len(kept) - 1 :])) > limit


def test_trimming_never_keeps_fewer_than_the_minimum_of_turns() -> None:
    from autograms.memory import MIN_LIVE_TURNS

    memory = MemoryObject(AutogramConfig(chatbot_max_input_len=10, classifier_max_input_len=10))
    for number in range(100):
        memory.add_user_reply(f"{number:03d}" + "x" * 500)
    kept = memory.live_state()["turn_stack"][0]["turns"]
    assert len(kept) == MIN_LIVE_TURNS
    assert kept[0]["content"].startswith(f"{100 - MIN_LIVE_TURNS:03d}")


@pytest.mark.parametrize("seed", range(5))
def test_conversation_as_text_lists_every_message_of_the_history(seed: int) -> None:
    rng = random.Random(seed)
    memory = MemoryObject(AutogramConfig())
    expected = ""
    for number in range(rng.randint(0, 30)):
        user_text = f"u{number} " + rng.choice(["", "x" * rng.randint(1, 50), "two\nlines"])
        agent_text = f"a{number} " + "y" * rng.randint(0, 50)
        memory.add_user_reply(user_text)
        memory.log_chat_turn(agent_text)
        expected += f"user: {user_text}\n\nassistant: {agent_text}\n\n"
    assert memory.extract_conv_history_str() == expected
