"""The session's window (format 6 on): the conversation's texts are saved beside the snapshot,
escaped once, read back exactly, and refused when damaged (format 7: checked whole, against
the header's CRC-32, before any turn runs)."""

from __future__ import annotations

import json
import random
import zlib

import pytest

from autograms import session
from autograms import (
    Autogram,
    AutogramConfig,
    SessionFormatError,
    SessionSignatureError,
    autograms_function,
)
from autograms.functional import reply, thought

#: characters that need escaping somewhere: dots separate a session's parts, quotes and
#: backslashes are JSON's, the rest are not ASCII (a lone surrogate included)
ALPHABET = 'ab ."\\\n\t\x00é“😀\ud800'


@autograms_function(conv_scope="global")
def remember(message: str) -> None:
    thought(f"noted: {message}")
    reply(f"noted {message}")


@autograms_function()
def chatbot():
    message = reply("start")
    while True:
        remember(message)
        message = reply(f"you said {message}")


def autogram(**config) -> Autogram:
    return Autogram(chatbot, AutogramConfig(**config), test_mode=True, seed=3)


def random_message(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(1, 30)))


def parts(text: str) -> list[str]:
    """magic, header, state, window (which may hold dots), log, signature."""
    magic, header, rest = text.split(".", 2)
    size = json.loads(session._unb64(header))["window"]
    state, rest = rest.split(".", 1)
    log, signature = rest[size + 1 :].rsplit(".", 1)
    return [magic, header, state, rest[:size], log, signature]


@pytest.mark.parametrize("seed", range(3))
def test_random_texts_come_back_exactly_after_every_round_trip(seed: int) -> None:
    rng = random.Random(seed)
    bot, kept = autogram(), autogram()
    _, memory = bot.reply()
    _, oracle = kept.reply()  # the same conversation, never serialized
    text = bot.serialize(memory)
    for _ in range(12):
        message = random_message(rng)
        memory = bot.deserialize(text)
        assert bot.reply(message, memory_object=memory)[0] == kept.reply(message, oracle)[0]
        text = bot.serialize(memory)
        window = parts(text)[3]
        assert ".".join(parts(text)) == text and window.isascii() and "\n" not in window
        loaded = bot.deserialize(text)
        assert loaded.memory_dict["turn_stack"] == oracle.memory_dict["turn_stack"]
        assert loaded.extract_full_conv_history() == oracle.extract_full_conv_history()
        assert list(loaded.memory_dict["model_turns"]) == list(memory.memory_dict["model_turns"])


def test_the_state_part_does_not_grow_with_the_texts_of_the_conversation() -> None:
    bot = autogram()
    _, memory = bot.reply()
    sizes = []
    for number in range(30):
        text = bot.serialize(memory)
        memory = bot.deserialize(text)
        _, memory = bot.reply(f"{number:02d}" + "x" * 2000, memory_object=memory)
        sizes.append((len(parts(text)[2]), len(parts(text)[3])))
    (state_early, window_early), (state_late, window_late) = sizes[1], sizes[-1]
    assert window_late > 40_000 > window_early > 0
    assert state_late < state_early + 2000  # role codes, lengths and checksums: no texts


def test_a_damaged_window_is_refused_when_loaded_before_any_turn_runs() -> None:
    bot = autogram()
    _, memory = bot.reply()
    _, memory = bot.reply("hello there", memory_object=memory)
    pieces = parts(bot.serialize(memory))
    for damage in ("jello there", "hello therf", "hello\\u00e9e"):
        edited = pieces.copy()
        edited[3] = edited[3].replace("hello there", damage[: len("hello there")])
        assert len(edited[3]) == len(pieces[3]) and edited[3] != pieces[3]
        with pytest.raises(SessionFormatError, match="conversation window is damaged") as caught:
            bot.deserialize(".".join(edited))
        assert caught.value.reason == "damaged window"
    pieces[3] = pieces[3][:-2]
    with pytest.raises(SessionFormatError, match="truncated or damaged"):
        bot.deserialize(".".join(pieces))
    assert bot.reply("more", memory_object=memory)[0] == "you said hello there"  # nothing lost


def test_a_window_with_a_character_beyond_ascii_is_refused_as_damaged() -> None:
    bot = autogram()
    _, memory = bot.reply()
    _, memory = bot.reply("hello there", memory_object=memory)
    pieces = parts(bot.serialize(memory))
    pieces[3] = pieces[3].replace("h", "\u0127", 1)
    with pytest.raises(SessionFormatError) as caught:
        bot.deserialize(".".join(pieces))
    assert caught.value.reason == "damaged window"


def test_a_signed_session_refuses_an_edited_window_when_loaded() -> None:
    bot = autogram(session_key="k3y")
    _, memory = bot.reply()
    _, memory = bot.reply("hello there", memory_object=memory)
    pieces = parts(bot.serialize(memory))
    pieces[3] = pieces[3].replace("hello", "jello")
    with pytest.raises(SessionSignatureError, match="does not match"):
        bot.deserialize(".".join(pieces))


def test_the_header_gives_the_window_length() -> None:
    bot = autogram()
    _, memory = bot.reply()
    _, memory = bot.reply("a.b", memory_object=memory)
    pieces = parts(bot.serialize(memory))
    header = json.loads(session._unb64(pieces[1]))
    assert header["format"] == session.FORMAT and header["window"] == len(pieces[3]) > 0
    assert header["window_crc"] == zlib.crc32(pieces[3].encode())


@pytest.mark.parametrize("round_trip", [True, False])
def test_the_window_crc_continued_turn_by_turn_is_the_window_s_own(round_trip: bool) -> None:
    # A turn that only appends to the window continues its CRC from the last checkpoint's;
    # once the window is full (a small budget: every turn drops the oldest texts) it is
    # computed again. Either way the header holds the CRC-32 of the window written.
    bot = autogram(chatbot_max_input_len=40, classifier_max_input_len=1)
    rng = random.Random(5)
    _, memory = bot.reply()
    text = bot.serialize(memory)
    continued = 0
    for _ in range(30):
        if round_trip:
            memory = bot.deserialize(text)
        _, memory = bot.reply(random_message(rng), memory_object=memory)
        continued += memory.checkpoint().window_crc is not None
        text = bot.serialize(memory)
        pieces = parts(text)
        header = json.loads(session._unb64(pieces[1]))
        assert header["window_crc"] == zlib.crc32(pieces[3].encode())
    assert 0 < continued < 30  # both ways were taken
