"""Memory the way AutoGRAMS' README and docs use it: the run loop reading
``memory.memory_dict['model_turns']``, ``MemoryObject.serialize/save``, the memory classes,
``with use_memory(m): chatbot()``, persistent globals in plain helpers, ``autograms_chatbot``.
"""

from __future__ import annotations

from pathlib import Path


from autograms import Autogram, AutogramConfig, autograms_chatbot, autograms_function
from autograms.functional import get_system_prompt, reply, reply_instruction, set_system_prompt
from autograms.memory import get_memory, set_persistent_globals, use_memory
from tests.compat.driver import converse
from tests.fakes.openai_server import FakeOpenAIServer

with set_persistent_globals():
    visits = 0


def visits_seen_by_a_plain_helper() -> int:
    return visits


@autograms_function()
def chatbot():
    global visits
    reply("Hello! What is your name?")
    while True:
        visits += 1
        reply_instruction("Chat with the user.", max_tokens=50)
        reply(f"visits: {visits}, seen by a helper: {visits_seen_by_a_plain_helper()}")


def server_config(server: FakeOpenAIServer) -> AutogramConfig:
    return AutogramConfig(
        chatbot_type="proxy", base_url=server.base_url, chatbot_path="fake", request_timeout=10
    )


def test_the_run_loop_reads_model_turns_with_token_usage(server: FakeOpenAIServer) -> None:
    autogram = Autogram(chatbot, server_config(server))
    run = converse(autogram, ["Ada", "hi", "more", "bye"])
    model_turns = run.memory.memory_dict["model_turns"]
    usage = [entry["usage_log"] for entry in model_turns if "usage_log" in entry]
    assert len(usage) == 2
    assert all(log["prompt_tokens"] > 0 and log["completion_tokens"] > 0 for log in usage)
    assert all(log["model"] for log in usage)


def test_the_conversation_history_survives_round_trips() -> None:
    run = converse(Autogram(chatbot, test_mode=True), ["Ada", "hi", "more", "bye"])
    history = run.memory.extract_full_conv_history()
    assert [turn["role"] for turn in history] == ["user", "assistant"] * 5
    assert [turn["content"] for turn in history if turn["role"] == "user"] == [
        "",
        "Ada",
        "hi",
        "more",
        "bye",
    ]


def test_a_memory_serializes_and_saves_itself(tmp_path: Path) -> None:
    autogram = Autogram(chatbot, test_mode=True)
    _, memory = autogram.reply()
    text, _ = autogram.reply("Ada", memory_object=autogram.deserialize(memory.serialize()))
    assert text
    memory.save(tmp_path / "session")
    text, _ = autogram.reply("Ada", memory_object=autogram.load(tmp_path / "session"))
    assert text


def test_the_memory_classes_and_clear_memory() -> None:
    from autograms.memory import SerializableMemory, SimpleMemory, clear_memory

    memory = SimpleMemory(AutogramConfig())
    assert isinstance(memory, SerializableMemory)
    with use_memory(memory):
        set_system_prompt("Be brief.")
        assert get_system_prompt() == "Be brief."
        clear_memory()
        assert get_memory() is None


def test_calling_the_root_inside_use_memory_runs_a_turn() -> None:
    memory = Autogram(chatbot, test_mode=True).init_memory()
    with use_memory(memory):
        chatbot()
    assert memory.extract_full_conv_history()[-1]["content"] == "Hello! What is your name?"


def test_persistent_globals_are_the_sessions_in_plain_helpers() -> None:
    run = converse(Autogram(chatbot, test_mode=True), ["Ada", "hi", "more", "again"])
    assert run.replies[-1] == "visits: 2, seen by a helper: 2"
    assert visits == 0


@autograms_chatbot()
def echo_chatbot(user_reply):
    while True:
        reply(f"you said {user_reply!r}")


def test_autograms_chatbot_receives_each_new_user_reply() -> None:
    run = converse(Autogram(echo_chatbot, test_mode=True), ["hi", "there"])
    assert run.replies == ["you said ''", "you said 'hi'", "you said 'there'"]


HELPER_BOT = """
from autograms import autograms_function
from autograms.functional import reply
from autograms.memory import set_persistent_globals

with set_persistent_globals():
    count = 0


def bump():
    global count
    count += 1


@autograms_function()
def chatbot():
    bump()
    reply(f"count {count}")
"""


def test_plain_helpers_write_the_sessions_globals_when_the_root_is_called_in_use_memory(
    tmp_path: Path,
) -> None:
    # a module no earlier turn has seen: its helpers are routed by this first way in
    from autograms import load_autogram

    (tmp_path / "helper_globals_bot.py").write_text(HELPER_BOT)
    root, _ = load_autogram(tmp_path / "helper_globals_bot.py")
    memory = Autogram(root, test_mode=True).init_memory()
    with use_memory(memory):
        root()
    assert memory.extract_full_conv_history()[-1]["content"] == "count 1"
    assert root.__globals__["count"] == 0  # the module's own value is never the session's
