"""The conversation levels as AutoGRAMS 0.6.0 has them (issue 16): ``memory_dict['turn_stack']``
starts with the root's level, whatever the root's shape; the root returning takes its
conversation out of the next run's prompts; ``extract_full_conv_history()`` lists every user
message, the opening ``""`` included. Generated runs checked against plain Python's account."""

from __future__ import annotations

import random

import pytest

from autograms import Autogram, AutogramConfig, autograms_chatbot, autograms_function
from autograms.functional import get_turn_history, reply

#: what each bot's last get_turn_history() gave: the user-side texts it saw
SEEN: dict[str, list[str]] = {}


def _ask_until_stop(name: str) -> str:
    """Reply until the user says "stop"; the prompts' user texts are kept in SEEN."""
    count = 0
    while True:
        inputs, _, _ = get_turn_history()
        SEEN[name] = inputs
        message = reply(f"{name} {count}")
        if message == "stop":
            return "done"
        count += 1


@autograms_function()
def global_root():
    return _ask_until_stop("global_root")


@autograms_function(conv_scope="normal")
def normal_root():
    return _ask_until_stop("normal_root")


@autograms_function(conv_scope="local")
def local_root():
    return _ask_until_stop("local_root")


@autograms_chatbot()
def chatbot_root(user_reply):
    return _ask_until_stop("chatbot_root")


ROOTS = [global_root, normal_root, local_root, chatbot_root]


def _said(inputs: list[str]) -> list[str]:
    """The user messages a prompt's inputs quote ("User: <text>" lines)."""
    return [line[6:] for text in inputs for line in text.split("\n\n") if line.startswith("User: ")]


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("root", ROOTS, ids=lambda root: root.__name__)
def test_the_roots_level_is_the_whole_turn_stack_and_restarts_afresh(root, seed) -> None:
    rng = random.Random(seed)
    autogram = Autogram(root_function=root, test_mode=True)
    opening = rng.choice(["", "hello"])
    text, memory = autogram.reply(opening)
    since_start = [opening] if opening else []  # the messages of the program's current run
    history = [("user", opening), ("assistant", text)]
    for turn in range(rng.randint(3, 12)):
        if rng.random() < 0.3:
            memory = autogram.deserialize(autogram.serialize(memory))
        message = "stop" if rng.random() < 0.25 else f"m{turn}"
        text, memory = autogram.reply(message, memory_object=memory)
        history += [("user", message)] + ([("assistant", text)] if text is not None else [])
        levels = memory.memory_dict["turn_stack"]
        if text is None:  # the root returned: AutoGRAMS popped its level
            assert levels == []
            since_start = []
            continue
        since_start.append(message)
        assert _said(SEEN[root.__name__]) == since_start  # a restart's prompts start afresh
        assert [level["function"] for level in levels] == [root.__name__]
        assert levels[0]["scope"] == root.__autograms_scope__
        users = [t["content"] for t in levels[0]["turns"] if t["role"] == "user"]
        assert users == since_start
    assert [(t["role"], t["content"]) for t in memory.extract_full_conv_history()] == history


def test_a_new_session_has_no_level_and_a_turn_stack_set_through_the_view_continues() -> None:
    autogram = Autogram(root_function=global_root, test_mode=True)
    assert autogram.init_memory().memory_dict["turn_stack"] == []
    _, memory = autogram.reply()
    _, memory = autogram.reply("one", memory_object=memory)
    levels = memory.memory_dict["turn_stack"]
    levels[0]["turns"] = [turn for turn in levels[0]["turns"] if turn["content"] != "one"]
    memory.memory_dict["turn_stack"] = levels
    assert [level["function"] for level in memory.memory_dict["turn_stack"]] == ["global_root"]
    _, memory = autogram.reply("two", memory_object=memory)
    assert _said(SEEN["global_root"]) == ["two"]
    # an AutoGRAMS-shaped copy (no level 0 while it is empty) continues the same way
    copied = autogram.init_memory(dict(memory.memory_dict))
    _, copied = autogram.reply("three", memory_object=copied)
    assert _said(SEEN["global_root"]) == ["two", "three"]
    assert [level["function"] for level in copied.memory_dict["turn_stack"]] == ["global_root"]


@autograms_function()
def long_talker():
    while True:
        inputs, outputs, _ = get_turn_history()
        SEEN["long_talker"], SEEN["long_talker_outputs"] = inputs, outputs
        reply(f"reply {len(outputs)} " + "r" * (len(outputs) % 5) * 20)


@pytest.mark.parametrize("seed", range(4))
def test_a_long_conversation_is_whole_in_get_turn_history_and_turn_stack(seed) -> None:
    """A small prompt budget makes the live window let old turns go within a few turns: the
    program's get_turn_history() and memory_dict['turn_stack'] still give every turn."""
    rng = random.Random(seed)
    config = AutogramConfig(chatbot_max_input_len=40, classifier_max_input_len=40)
    autogram = Autogram(root_function=long_talker, autogram_config=config, test_mode=True)
    text, memory = autogram.reply()
    turns = [("agent", text)]
    for turn in range(rng.randint(60, 90)):
        if rng.random() < 0.3:
            memory = autogram.deserialize(autogram.serialize(memory))
        message = f"m{turn} " + "x" * rng.randint(0, 60)
        text, memory = autogram.reply(message, memory_object=memory)
        before = turns + [("user", message)]  # what the program had seen when it replied
        turns = before + [("agent", text)]
        assert SEEN["long_talker_outputs"] == [c for role, c in before if role == "agent"]
        assert _said(SEEN["long_talker"]) == [c for role, c in before if role == "user"]
        if rng.random() < 0.1:  # reading the view puts the turns back until the next pause
            levels = memory.memory_dict["turn_stack"]
            assert [(t["role"], t["content"]) for t in levels[0]["turns"]] == turns
    assert memory.state["turn_stack"][1]["turns"].trimmed > 0  # the live window is small
    levels = memory.memory_dict["turn_stack"]
    assert [(t["role"], t["content"]) for t in levels[0]["turns"]] == turns
