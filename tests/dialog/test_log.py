"""The session log: lossless through every round trip, in AutoGRAMS' shape, appended (never
re-encoded) turn by turn, and checked against the session header when it is read."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from autograms import Autogram, AutogramConfig, SessionFormatError, SessionSignatureError
from autograms._log import ConversationLog, EncodedLog, decode
from tests.dialog.bots import simple_example

MESSAGES = ["yes", "tell me about AI", "and the weather?", "thanks", "bye", "what else?"]


def autogram(**config) -> Autogram:
    return Autogram(
        root_function=simple_example.chatbot,
        autogram_config=AutogramConfig(**config),
        test_mode=True,
        seed=5,
    )


def round_trip(bot: Autogram, memory, how: str, tmp_path: Path):
    if how == "serialized":
        return bot.deserialize(bot.serialize(memory))
    if how == "saved":
        bot.save(tmp_path / "session", memory)
        return bot.load(tmp_path / "session")
    return memory


def _timeless(entries: list[dict]) -> list[dict]:
    return [{k: v for k, v in e.items() if k not in ("timestamp", "latency")} for e in entries]


@pytest.mark.parametrize("how", ["in_process", "serialized", "saved"])
def test_the_run_loop_finds_every_log_entry_after_any_round_trip(how: str, tmp_path: Path) -> None:
    bot = autogram()
    reference = autogram()
    _, memory = bot.reply()
    _, expected = reference.reply()
    for message in MESSAGES:
        memory = round_trip(bot, memory, how, tmp_path)
        _, memory = bot.reply(message, memory_object=memory)
        _, expected = reference.reply(message, memory_object=expected)
    memory = round_trip(bot, memory, how, tmp_path)
    turns = memory.memory_dict["model_turns"]
    assert _timeless(turns) == _timeless(json.loads(json.dumps(expected.model_turns)))
    users = [e["user_reply"] for e in turns if e["entry_type"] == "user_reply"]
    assert users == ["", *MESSAGES]
    history = memory.extract_full_conv_history()
    assert [turn["content"] for turn in history if turn["role"] == "user"] == ["", *MESSAGES]
    assert len(history) == len(expected.extract_full_conv_history())


def test_model_entries_carry_token_usage_as_autograms_logs_it() -> None:
    bot = autogram()
    _, memory = bot.reply()
    for message in MESSAGES:
        _, memory = bot.reply(message, memory_object=memory)
    memory = bot.deserialize(bot.serialize(memory))
    calls = [e for e in memory.memory_dict["model_turns"] if "usage_log" in e]
    assert calls and all(e["entry_type"] == "model" for e in calls)
    for entry in calls:
        assert {
            "output",
            "function_name",
            "function_inputs",
            "code_position",
            "usage_log",
            "supervisor_info",
            "timestamp",
        } <= set(entry)
        usage = entry["usage_log"]
        assert usage["model"] == entry["model"]
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    kinds = {e["entry_type"] for e in memory.model_turns}
    assert {"user_reply", "agent_reply", "model"} <= kinds


def test_a_turn_appends_to_the_serialized_log_without_re_encoding_it() -> None:
    bot = autogram()
    _, memory = bot.reply()
    text = bot.serialize(memory)
    for message in MESSAGES:
        memory = bot.deserialize(text)
        _, memory = bot.reply(message, memory_object=memory)
        following = bot.serialize(memory)
        before, after = text.split(".")[-2], following.split(".")[-2]
        assert after.startswith(before + ",") and after.count(",") == before.count(",") + 1
        text = following


def test_serializing_twice_gives_the_same_text_and_reading_the_log_changes_nothing() -> None:
    bot = autogram()
    _, memory = bot.reply()
    _, memory = bot.reply("yes", memory_object=memory)
    memory = bot.deserialize(bot.serialize(memory))
    _, memory = bot.reply("more", memory_object=memory)
    first = bot.serialize(memory)
    assert memory.model_turns  # decodes the log
    assert bot.serialize(memory) == first


def test_a_text_read_twice_in_the_process_that_wrote_it_gives_the_same_session_twice() -> None:
    bot = autogram()
    _, memory = bot.reply()
    for message in MESSAGES[:3]:
        memory = bot.deserialize(bot.serialize(memory))
        _, memory = bot.reply(message, memory_object=memory)
    text = bot.serialize(memory)
    first, second = bot.deserialize(text), bot.deserialize(text)  # the second decodes it all
    assert _timeless(first.model_turns) == _timeless(second.model_turns)
    replies = [bot.reply("more", memory_object=restored) for restored in (first, second)]
    assert replies[0][0] == replies[1][0]
    histories = [after.extract_full_conv_history() for _, after in replies]
    assert histories[0] == histories[1] and histories[0][-1]["content"] == replies[0][0]


def _with_log_part(text: str, change) -> str:
    parts = text.split(".")
    parts[-2] = change(parts[-2])
    return ".".join(parts)


def _edit_first_entry(chunks: str) -> str:
    first, _, rest = chunks.partition(",")
    entries = decode(EncodedLog.from_text(first, None, None))
    entries[0]["user_reply"] = "forged"
    forged = ConversationLog(entries).encode().text
    return f"{forged},{rest}" if rest else forged


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("damage", ["edited", "truncated"])
def test_a_changed_log_is_refused_when_it_is_read(signed: bool, damage: str) -> None:
    bot = autogram(session_key="k3y") if signed else autogram()
    _, memory = bot.reply()
    for message in MESSAGES[:3]:
        memory = bot.deserialize(bot.serialize(memory))
        _, memory = bot.reply(message, memory_object=memory)
    text = bot.serialize(memory)
    change = _edit_first_entry if damage == "edited" else (lambda c: c.rpartition(",")[0])
    restored = bot.deserialize(_with_log_part(text, change))  # the log is read lazily
    error = SessionSignatureError if signed else SessionFormatError
    with pytest.raises(error) as caught:
        restored.extract_full_conv_history()
    assert caught.value.reason == ("tampered" if signed else "damaged")


def test_the_log_of_a_saved_file_is_read_only_up_to_the_session_it_belongs_to(
    tmp_path: Path,
) -> None:
    bot = autogram()
    path = tmp_path / "session"
    _, memory = bot.reply()
    _, memory = bot.reply("yes", memory_object=memory)
    bot.save(path, memory)
    length = len(memory.model_turns)
    loaded = bot.load(path)
    with open(f"{path}.log", "a") as stream:  # a later save that crashed before its session
        stream.write(json.dumps({"entry_type": "user_reply", "user_reply": "ghost"}) + "\n")
    assert len(loaded.model_turns) == length
    _, loaded = bot.reply("more", memory_object=loaded)
    bot.save(path, loaded)
    users = [e["user_reply"] for e in bot.load(path).model_turns if e["entry_type"] == "user_reply"]
    assert users == ["", "yes", "more"]


def _saved_over_several_saves(tmp_path: Path, bot: Autogram) -> Path:
    """A session saved after each of its turns (the first save writes the ``.log``, later
    ones append to it), then loaded and saved once more (the append continues a loaded CRC)."""
    path = tmp_path / "session"
    _, memory = bot.reply()
    for message in MESSAGES[:3]:
        _, memory = bot.reply(message, memory_object=memory)
        bot.save(path, memory)
    _, memory = bot.reply(MESSAGES[3], memory_object=bot.load(path))
    bot.save(path, memory)
    return path


@pytest.mark.parametrize("signed", [False, True])
def test_every_one_byte_change_of_a_saved_files_log_is_refused(
    tmp_path: Path, signed: bool
) -> None:
    bot = autogram(session_key="k3y") if signed else autogram()
    path = _saved_over_several_saves(tmp_path, bot)
    log = Path(f"{path}.log")
    data = log.read_bytes()
    history = bot.load(path).extract_full_conv_history()
    assert [e["content"] for e in history if e["role"] == "user"][-1] == MESSAGES[3]
    rng = random.Random(11)
    for position in rng.sample(range(len(data)), 40):
        byte = data[position]
        changed = b"x" if byte != ord("x") else b"y"
        for edit in (changed, changed + changed):  # the same length, and one byte longer
            log.write_bytes(data[:position] + edit + data[position + 1 :])
            with pytest.raises(
                SessionFormatError if not signed else SessionSignatureError
            ) as caught:
                bot.load(path).extract_full_conv_history()
            assert caught.value.reason == ("tampered" if signed else "damaged log"), position
    log.write_bytes(data)
    assert bot.load(path).extract_full_conv_history() == history


def test_a_log_read_back_in_pieces_equals_the_log_written_whole() -> None:
    rng = random.Random(7)
    for _ in range(50):
        entries = [
            {"entry_type": "user_reply", "user_reply": "é" * rng.randrange(5), "n": i}
            for i in range(rng.randrange(20))
        ]
        log = ConversationLog()
        position = 0
        while position < len(entries):
            step = rng.randrange(1, 5)
            log.extend(entries[position : position + step])
            position += step
            if rng.random() < 0.5:
                encoded = log.encode()
                log = ConversationLog(encoded=encoded)
        encoded = log.encode()
        assert decode(encoded) == entries
        assert ConversationLog(encoded=encoded).entries_from(len(entries)) == []


def _conversation(bot: Autogram):
    _, memory = bot.reply()
    for message in MESSAGES[:3]:
        _, memory = bot.reply(message, memory_object=memory)
    return memory


@pytest.mark.parametrize("key", [None, "k"])
def test_a_file_holding_serialized_text_loads_with_its_log_and_saves_it_whole(tmp_path, key):
    bot = autogram(session_key=key)
    memory = _conversation(bot)
    path = tmp_path / "session.txt"
    path.write_text(bot.serialize(memory))
    loaded = bot.load(path)
    assert _timeless(loaded.model_turns) == _timeless(memory.model_turns)
    _, loaded = bot.reply(MESSAGES[3], memory_object=loaded)
    bot.save(path, loaded)
    again = bot.load(path)
    assert _timeless(again.model_turns) == _timeless(loaded.model_turns)
    assert len(again.model_turns) > len(memory.model_turns)


def test_the_text_of_a_saved_file_is_refused_by_deserialize_naming_its_log_file(tmp_path):
    bot = autogram()
    memory = _conversation(bot)
    bot.save(tmp_path / "session", memory)
    text = (tmp_path / "session").read_text()
    with pytest.raises(SessionFormatError, match=r"\.log file beside it.*Autogram\.load") as info:
        bot.deserialize(text)
    assert info.value.reason == "missing log"
    given = bot.deserialize(text, log=memory.model_turns)
    assert _timeless(given.model_turns) == _timeless(memory.model_turns)
    # a session saved with no log yet is read as it is
    _, fresh = Autogram(root_function=simple_example.chatbot, test_mode=True).reply()
    fresh.replace_log([])
    bot.save(tmp_path / "empty", fresh)
    assert bot.deserialize((tmp_path / "empty").read_text()).model_turns == []
