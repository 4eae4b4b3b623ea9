"""Turns on one session never overlap: two threads' replies on one MemoryObject run one after
the other, and a turn started from inside a running turn of the same session is refused
(AutoGRAMS ran both from the same state, and the later commit silently dropped the other)."""

from __future__ import annotations

import threading

import pytest

from autograms import Autogram, autograms_external, autograms_function
from autograms.functional import reply
from autograms.memory import get_memory
from autograms._errors import ConversationError

#: per-test hooks of the bot below (set and cleared by each test)
HOOKS: dict = {}


@autograms_function()
def counting_bot():
    reply("hi")
    n = 0
    while True:
        n += 1
        if "during_turn" in HOOKS:  # (not kept in a local: the pause saves the locals)
            HOOKS["during_turn"]()
        reply(f"n={n}")


@pytest.fixture(autouse=True)
def _clear_hooks():
    HOOKS.clear()
    yield
    HOOKS.clear()


def _started() -> tuple[Autogram, object]:
    autogram = Autogram(root_function=counting_bot, test_mode=True)
    _, memory = autogram.reply()
    return autogram, memory


def test_a_reply_from_another_thread_waits_for_the_running_turn():
    autogram, memory = _started()
    inside, release = threading.Event(), threading.Event()
    HOOKS["during_turn"] = lambda: (inside.set(), release.wait(10))
    answers: dict[str, str] = {}

    def first() -> None:
        answers["first"] = autogram.reply("a", memory_object=memory)[0]

    def second() -> None:
        HOOKS.pop("during_turn", None)
        answers["second"] = autogram.reply("b", memory_object=memory)[0]

    one = threading.Thread(target=first)
    one.start()
    assert inside.wait(10)
    two = threading.Thread(target=second)
    two.start()
    two.join(0.3)
    assert two.is_alive()  # waiting for the running turn, not running from the same state
    release.set()
    one.join(10)
    two.join(10)
    assert answers == {"first": "n=1", "second": "n=2"}
    assert autogram.reply("c", memory_object=memory)[0] == "n=3"
    users = [t["content"] for t in memory.extract_full_conv_history() if t["role"] == "user"]
    assert users[-3:] == ["a", "b", "c"]


def test_reply_on_the_working_memory_inside_apply_is_refused():
    autogram, memory = _started()
    before = memory.log_length()

    @autograms_external()
    def reenter():
        return autogram.reply("inner", memory_object=get_memory())[0]

    with pytest.raises(ConversationError) as refused:
        autogram.apply(memory_object=memory, func=reenter)
    assert refused.value.reason == "turn_running"
    assert memory.log_length() == before  # nothing of the refused turn was kept
    assert autogram.reply("next", memory_object=memory)[0] == "n=1"


def test_reply_on_the_same_memory_inside_use_memory_is_refused():
    autogram, memory = _started()
    with pytest.raises(ConversationError) as refused:
        with autogram.use_memory(memory):
            autogram.reply("inner", memory_object=memory)
    assert refused.value.reason == "turn_running"
    assert autogram.reply("next", memory_object=memory)[0] == "n=1"


def test_reply_on_the_session_from_inside_its_own_program_is_refused():
    autogram, memory = _started()
    HOOKS["during_turn"] = lambda: autogram.reply("inner", memory_object=memory)
    with pytest.raises(ConversationError) as refused:
        autogram.reply("outer", memory_object=memory)
    assert refused.value.reason == "turn_running"
    HOOKS.clear()
    assert autogram.reply("next", memory_object=memory)[0] == "n=1"


def test_a_refused_turn_leaves_the_lock_free_for_other_threads():
    autogram, memory = _started()
    with pytest.raises(ConversationError):
        with autogram.use_memory(memory):
            autogram.reply("inner", memory_object=memory)
    done: list[str] = []
    worker = threading.Thread(
        target=lambda: done.append(autogram.reply("x", memory_object=memory)[0])
    )
    worker.start()
    worker.join(10)
    assert done == ["n=1"]
