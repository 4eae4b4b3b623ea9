"""The typed session state: packed turns behave as a list, the saved form round-trips, and
``memory_dict`` is AutoGRAMS' view of a session (changes made through it are kept)."""

from __future__ import annotations

import json
import pickle
import random
from collections.abc import MutableSequence

import pytest

from autograms import Autogram, ConversationError, SessionFormatError
from autograms._state import Turns, TurnsView, from_saved, new_state, to_saved, trim
from autograms.functional import reply
from autograms.memory import (
    MemoryObject,
    SerializableMemory,
    SimpleMemory,
    clear_memory,
    get_memory,
    set_memory,
    use_memory,
)
from tests.dialog.bots import failing_bot

ROLES = ["user", "agent", "system_instruction", "system_answer"]
ANSWERS = ("agent", "system_answer")


def random_turn(rng: random.Random) -> dict:
    content = "".join(rng.choice("ab é.\n") for _ in range(rng.randrange(12)))
    return {"role": rng.choice(ROLES), "content": content}


def saved_and_loaded(turns: Turns) -> Turns:
    text, saved = turns.packed()
    loaded, end = Turns.from_saved(pickle.loads(pickle.dumps(saved)), f"<{text}>", 1)
    assert end == len(text) + 1
    return loaded


def apply_random_operation(rng: random.Random, turns: Turns, oracle: list) -> Turns:
    """One operation on both; returns the Turns to go on with (maybe saved and reloaded)."""
    operation = rng.randrange(9)
    if operation <= 2:
        turn = random_turn(rng)
        turns.append(turn)
        oracle.append(dict(turn))
    elif operation == 3:
        more = [random_turn(rng) for _ in range(rng.randrange(4))]
        turns.extend(more)
        oracle.extend(dict(turn) for turn in more)
    elif operation == 4 and oracle:
        index = rng.randrange(-len(oracle), len(oracle))
        assert turns[index] == oracle[index]
        del turns[index]
        del oracle[index]
    elif operation == 5 and oracle:
        index = rng.randrange(len(oracle))
        turn = random_turn(rng)
        turns[index] = turn
        oracle[index] = dict(turn)
    elif operation == 6:
        limit, keep = rng.randrange(40), rng.randrange(5)
        trim_oracle(oracle, limit, keep)
        turns.trim(limit, keep)
    elif operation == 7:
        index = rng.randrange(len(oracle) + 1)
        turn = random_turn(rng)
        turns.insert(index, turn)
        oracle.insert(index, dict(turn))
    else:
        turns = saved_and_loaded(turns)
    return turns


def trim_oracle(turns: list, limit: int, keep: int) -> None:
    """The oldest turns over `limit` go, then as many as keep whole exchanges: what stays
    starts after an answer (on to the next such place that still leaves `keep` turns, else
    back to the nearest one, else where the limit put it)."""
    count, total = 0, sum(len(t["content"]) for t in turns)
    while len(turns) - count > keep and total > limit:
        total -= len(turns[count]["content"])
        count += 1
    if count:
        after_answer = [
            n for n in range(1, len(turns) - keep + 1) if turns[n - 1]["role"] in ANSWERS
        ]
        later = [n for n in after_answer if n >= count]
        earlier = [n for n in after_answer if n < count]
        count = later[0] if later else earlier[-1] if earlier else count
    del turns[:count]


def test_packed_turns_behave_as_the_list_they_stand_for() -> None:
    rng = random.Random(11)
    for _ in range(300):
        turns, oracle = Turns(), []
        for _ in range(rng.randrange(40)):
            turns = apply_random_operation(rng, turns, oracle)
            assert len(turns) == len(oracle)
        assert list(turns) == oracle and turns == oracle
        assert list(saved_and_loaded(turns)) == oracle
        if oracle:
            assert turns[-1] == oracle[-1] and turns[0] == oracle[0]
            assert turns[1:3] == oracle[1:3]


def test_loaded_turns_read_one_at_a_time_are_the_turns_saved() -> None:
    rng = random.Random(12)
    for _ in range(200):
        oracle = [random_turn(rng) for _ in range(rng.randrange(1, 30))]
        turns = saved_and_loaded(Turns(oracle))
        read = {}
        for _ in range(rng.randrange(1, 8)):
            index = rng.randrange(-len(oracle), len(oracle))
            assert turns[index] == oracle[index]
            read[index % len(oracle)] = turns[index]
        if rng.random() < 0.5:
            limit, keep = rng.randrange(60), rng.randrange(5)
            before = len(oracle)
            trim_oracle(oracle, limit, keep)
            turns.trim(limit, keep)
            dropped = before - len(oracle)
            read = {index - dropped: turn for index, turn in read.items() if index >= dropped}
        assert list(turns) == oracle
        # a turn read alone is the same dict once all are read
        assert all(turns[index] is turn for index, turn in read.items())


def test_a_damaged_turn_is_refused_when_it_alone_is_read() -> None:
    text, saved = Turns([{"role": "user", "content": f"message {n}"} for n in range(5)]).packed()
    damaged, _ = Turns.from_saved(saved, text.replace("message 3", "massage 3"))
    assert damaged[4] == {"role": "user", "content": "message 4"}  # the others are intact
    with pytest.raises(SessionFormatError, match="damaged") as caught:
        damaged[3]
    assert caught.value.reason == "damaged window"
    short, _ = Turns.from_saved(saved, text[:-3] + "xyz")
    with pytest.raises(SessionFormatError, match="damaged"):
        short[-1]


def test_a_view_of_several_levels_reads_as_their_turns_joined_when_it_was_made() -> None:
    rng = random.Random(13)
    for _ in range(200):
        parts = [[random_turn(rng) for _ in range(rng.randrange(6))] for _ in range(3)]
        levels = [saved_and_loaded(Turns(part)) if rng.random() < 0.7 else part for part in parts]
        view = TurnsView(levels)
        joined = [turn for part in parts for turn in part]
        levels[-1].append({"role": "user", "content": "after the view was made"})
        assert len(view) == len(joined) and list(view) == joined and view == joined
        for _ in range(5):
            if joined:
                index = rng.randrange(-len(joined), len(joined))
                assert view[index] == joined[index]
            start, stop = rng.randrange(-8, 8), rng.randrange(-8, 8)
            assert view[start:stop] == joined[start:stop]
        with pytest.raises(IndexError):
            view[len(joined)]


def test_turns_that_are_not_plain_messages_are_saved_as_they_are() -> None:
    odd = [{"role": "user", "content": "hi", "name": "Ana"}, {"role": "tool", "content": "x"}]
    turns = Turns([{"role": "user", "content": "plain"}, *odd])
    assert list(saved_and_loaded(turns)) == [{"role": "user", "content": "plain"}, *odd]


def test_the_saved_form_is_plain_data_and_round_trips() -> None:
    state = new_state("be brief")
    state["turn_stack"][0]["turns"].extend([{"role": "user", "content": "hi"}] * 3)
    state["user_globals"]["bot"] = {"count": 3}
    state["extra"]["user_reply_to_save"] = "hello"
    saved, window = to_saved(state)
    data = pickle.dumps(saved)
    assert b"autograms" not in data  # no class of the library in a session
    assert b"hi" not in data and window == "hihihi"  # the texts are saved beside the pickle
    assert from_saved(pickle.loads(data), window) == state


def test_trimming_the_saved_form_keeps_the_newest_turns() -> None:
    state = new_state("")
    turns = state["turn_stack"][0]["turns"]
    for number in range(100):
        turns.append({"role": "user", "content": f"{number:03d}" + "x" * 20})
    loaded = from_saved(*to_saved(state))
    trim(loaded, 230)
    kept = [turn["content"][:3] for turn in loaded["turn_stack"][0]["turns"]]
    assert kept == [f"{number:03d}" for number in range(60, 100)]  # MIN_LIVE_TURNS = 40


def test_memory_dict_writes_between_turns_are_saved_with_the_session() -> None:
    bot = Autogram(root_function=failing_bot.chatbot, test_mode=True)
    _, memory = bot.reply()
    memory.memory_dict["user_reply_to_save"] = "draft"  # AutoGRAMS' run_autogram.py does this
    memory.memory_dict["turn_stack"][0]["system_prompt"] = "changed"
    restored = bot.deserialize(bot.serialize(memory))
    assert restored.memory_dict["user_reply_to_save"] == "draft"
    assert restored.memory_dict["turn_stack"][0]["system_prompt"] == "changed"
    text, restored = bot.reply("x", memory_object=restored)
    assert text == "count 1" and restored.memory_dict["user_reply_to_save"] == "draft"


def test_memory_dict_looks_like_autograms_one() -> None:
    bot = Autogram(root_function=failing_bot.chatbot, test_mode=True)
    _, memory = bot.reply()
    _, memory = bot.reply("one", memory_object=memory)
    view = memory.memory_dict
    assert {"turn_stack", "user_globals", "cached_user_reply", "model_turns"} <= set(view)
    # model_turns is a list read as far as it is used (a MutableSequence: an append decodes
    # none of the log); its copies are plain lists
    assert isinstance(view["model_turns"], MutableSequence)
    assert type(view["model_turns"][:]) is list and type(view["turn_stack"][-1]["turns"]) is list
    json.dumps(view["turn_stack"])
    json.dumps(list(view["model_turns"]))
    assert view["cached_user_reply"] == "one"
    view["model_turns"] = view["model_turns"][-2:]
    assert len(bot.deserialize(bot.serialize(memory)).model_turns) == 2
    with pytest.raises(KeyError):
        view["no such key"]


def test_memory_exports_autograms_classes_and_clear_memory() -> None:
    assert issubclass(MemoryObject, SerializableMemory)
    assert issubclass(SimpleMemory, SerializableMemory)
    simple = SimpleMemory()
    token = set_memory(simple)
    try:
        with pytest.raises(ConversationError, match="SimpleMemory"):
            reply("hello")
        clear_memory()
        assert get_memory() is None
    finally:
        set_memory(None)
        del token
    with use_memory(MemoryObject()) as memory:
        assert get_memory() is memory
