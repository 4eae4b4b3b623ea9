"""The Autogram API: construction, test mode, apply, use_memory, EXIT, reply data, errors."""

from __future__ import annotations

import pytest

from autograms import (
    Autogram,
    AutogramConfig,
    ConversationError,
    autograms_function,
    load_autogram,
)
from autograms.functional import reply, yes_or_no
from autograms.models import ModelConfigError
from tests.dialog.bots import external_bot, failing_bot, recruiter


def plain():
    return 1


@autograms_function()
def asks_with_data():
    answer = reply("hello", data={"buttons": ["yes", "no"]})
    return reply(f"got {answer}")


@autograms_function()
def decides():
    return reply(f"decision {yes_or_no('is it raining?')}")


def test_root_must_be_decorated() -> None:
    with pytest.raises(TypeError, match="must be decorated with @autograms_function"):
        Autogram(root_function=plain)


def test_construction_needs_no_key_and_a_model_call_names_the_missing_setting(monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    bot = Autogram(root_function=decides)
    with pytest.raises(ModelConfigError, match="OPENAI_API_KEY"):
        bot.reply()


def test_test_mode_is_deterministic_per_seed() -> None:
    def transcript(seed: int) -> list[str]:
        bot = Autogram(root_function=recruiter.chatbot, test_mode=True, seed=seed)
        text, memory = bot.reply()
        texts = [text]
        for message in ["yes", "ready", "a", "b", "c", "100k", "maybe"]:
            text, memory = bot.reply(message, memory_object=memory)
            texts.append(text)
        return texts

    assert transcript(3) == transcript(3)
    assert any(transcript(seed) != transcript(3) for seed in range(4, 10))


def test_reply_data_reaches_the_caller() -> None:
    bot = Autogram(root_function=asks_with_data, test_mode=True)
    text, memory = bot.reply()
    assert (text, memory.reply_data) == ("hello", {"buttons": ["yes", "no"]})
    text, memory = bot.reply("yes", memory_object=memory)
    assert (text, memory.reply_data) == ("got yes", None)


def test_apply_runs_inside_the_session_and_keeps_the_program_paused() -> None:
    bot = Autogram(root_function=failing_bot.chatbot, test_mode=True)
    _, memory = bot.reply()
    result = bot.apply(memory_object=memory, func=external_bot.compute, value=5)
    assert result == 10 + len("You are an agent.")
    assert bot.apply(memory_object=memory, function=lambda: "ok") == "ok"
    with pytest.raises(ConversationError, match="inside Autogram.apply"):
        bot.apply(memory_object=memory, func=lambda: reply("no"))
    assert bot.reply("next", memory_object=memory)[0] == "count 1"


def test_apply_without_a_function_runs_a_turn_of_the_root_like_reply() -> None:
    bot = Autogram(root_function=failing_bot.chatbot, test_mode=True)
    _, memory = bot.reply()
    result = bot.apply(user_reply="next", memory_object=memory)
    assert (result.reply, result.data, result.memory) == ("count 1", {"reply": "count 1"}, memory)
    assert bot.reply("again", memory_object=memory)[0] == "count 2"


def test_use_memory_commits_changes_only_without_error() -> None:
    bot = Autogram(root_function=failing_bot.chatbot, test_mode=True)
    _, memory = bot.reply()
    with bot.use_memory(memory) as session:
        session.memory_dict["user_globals"]["note"] = {"seen": True}
    assert memory.memory_dict["user_globals"]["note"] == {"seen": True}
    with pytest.raises(RuntimeError), bot.use_memory(memory) as session:
        session.memory_dict["user_globals"]["note"] = {"seen": False}
        raise RuntimeError
    assert memory.memory_dict["user_globals"]["note"] == {"seen": True}
    assert bot.reply("x", memory_object=memory)[0] == "count 1"


def test_pending_frames_name_where_the_program_waits() -> None:
    bot = Autogram(root_function=failing_bot.chatbot, test_mode=True)
    _, memory = bot.reply()
    _, memory = bot.reply("a", memory_object=memory)
    [frame] = bot.pending_frames(memory)
    assert frame.qualname == "chatbot" and frame.locals["count"] == 1


def test_load_autogram_returns_chatbot_and_init(tmp_path) -> None:
    path = tmp_path / "tiny_bot.py"
    path.write_text(
        "from autograms import autograms_function\n"
        "from autograms.functional import reply\n"
        "@autograms_function()\n"
        "def chatbot():\n"
        "    reply('hi')\n"
        "def init_chatbot():\n"
        "    return 'ready'\n"
    )
    chatbot, init = load_autogram(path)
    assert init() == "ready"
    assert Autogram(root_function=chatbot, test_mode=True).reply()[0] == "hi"
    assert load_autogram(path)[0] is chatbot
    with pytest.raises(FileNotFoundError):
        load_autogram(tmp_path / "missing.py")


def test_config_rejects_unknown_fields() -> None:
    with pytest.raises(Exception, match="unknown"):
        AutogramConfig(not_a_field=1)


@pytest.mark.parametrize("given_as", ["memory_object", "memory_dict"])
def test_reply_refuses_the_session_of_another_program_and_leaves_it_usable(given_as) -> None:
    theirs, ours = Autogram(asks_with_data, test_mode=True), Autogram(decides, test_mode=True)
    _, memory = theirs.reply()
    given = memory if given_as == "memory_object" else memory.memory_dict
    with pytest.raises(ConversationError, match="asks_with_data.*decides") as caught:
        ours.reply("hi", **{given_as: given})
    assert caught.value.reason == "other program"
    with pytest.raises(ConversationError, match="other program|asks_with_data"):
        with ours.use_memory(memory):
            pass
    text, memory = theirs.reply("yes", memory_object=memory)
    assert text == "got yes"


def test_reply_continues_a_session_of_the_same_program_made_anew(tmp_path) -> None:
    bot_file = tmp_path / "remade_bot.py"
    bot_file.write_text(
        "from autograms import autograms_function\n"
        "from autograms.functional import reply\n\n"
        "@autograms_function()\n"
        "def chatbot():\n"
        "    reply('first', ADDRESS='first')\n"
        "    reply('second')\n"
    )
    first, _ = load_autogram(str(bot_file))
    _, memory = Autogram(first, test_mode=True).reply()
    bot_file.write_text(bot_file.read_text() + "\n# edited: the file runs again\n")
    again, _ = load_autogram(str(bot_file))
    assert again is not first
    text, _ = Autogram(again, test_mode=True).reply("ok", memory_object=memory)
    assert text == "second"


@autograms_function()
def other_bot():
    reply("other bot speaking")
    return reply("other bot again")


@pytest.mark.parametrize(
    "given",
    ["dict copy", "deep copy"],
)
def test_a_copy_of_the_memory_dict_of_another_programs_paused_session_is_refused(given) -> None:
    import copy

    other = Autogram(root_function=other_bot, test_mode=True)
    _, memory = other.reply()
    forms = {
        "dict copy": {"memory_dict": dict(memory.memory_dict)},
        "deep copy": {"memory_dict": copy.deepcopy(memory.memory_dict)},
    }
    ours = Autogram(root_function=asks_with_data, test_mode=True)
    with pytest.raises(
        ConversationError, match="belongs to the program .*other_bot.*asks_with_data"
    ):
        ours.reply("hi", **forms[given])
    # nothing was lost: the session continues with its own program
    assert other.reply("x", **forms[given])[0] == "other bot again"
