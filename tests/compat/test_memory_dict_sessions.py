"""A session carried the ways AutoGRAMS' Autogram API takes it: ``memory_dict=`` on
``reply``/``apply``/``use_memory``, ``init_memory(memory_dict)``, ``apply`` on the root, the
log under ``memory_dict['model_turns']`` (appended to by the run loop, filled by
``parallel_wrapper``) -- each turn after a serialize/deserialize round trip, in test mode."""

from __future__ import annotations

import copy
import pickle
import random

import pytest

from autograms import Autogram, autograms_function
from autograms.functional import get_memory, parallel_wrapper, reply, thought
from autograms.memory import MemoryObject

TURNS = 6


@autograms_function()
def counting_bot(start=0):
    count = start
    message = reply(f"start {count}")
    while True:
        count += 1
        thought(f"the user said {message}")
        message = reply(f"{count}: {message}")


def summarize(topic):
    return thought(f"summarize {topic}")


@autograms_function()
def parallel_bot():
    reply("topics?")
    while True:
        summaries = parallel_wrapper(summarize, [{"topic": "a"}, {"topic": "b"}])
        reply(f"{len(summaries)} summaries")


def _round_trip(autogram: Autogram, memory: MemoryObject) -> MemoryObject:
    return autogram.deserialize(autogram.serialize(memory))


def _through_memory_object(autogram, memory, message):
    return autogram.reply(message, memory_object=memory)


def _through_memory_dict(autogram, memory, message):
    return autogram.reply(message, memory_dict=memory.memory_dict)


def _through_a_copied_dict(autogram, memory, message):
    # run_subprocess style: the dict itself travels (a deep copy, pickled)
    carried = pickle.loads(pickle.dumps(copy.deepcopy(memory.memory_dict)))
    return autogram.reply(message, memory_object=autogram.init_memory(carried))


def _through_the_pickled_view(autogram, memory, message):
    # AutoGRAMS style: the view itself pickled by the run loop, loaded with no session current
    carried = pickle.loads(pickle.dumps(memory.memory_dict))
    assert type(carried) is dict
    return autogram.reply(message, memory_dict=carried)


def _through_use_memory(autogram, memory, message):
    with autogram.use_memory(memory_dict=memory.memory_dict) as current:
        pass
    return autogram.reply(message, memory_object=current)


def _through_apply(autogram, memory, message):
    result = autogram.apply(user_reply=message, memory_object=memory, func=counting_bot)
    return result.data["reply"], result.memory


def _through_apply_by_default(autogram, memory, message):
    result = autogram.apply(user_reply=message, memory_object=memory)
    return result.reply, result.memory


WAYS = [
    _through_memory_object,
    _through_memory_dict,
    _through_a_copied_dict,
    _through_the_pickled_view,
    _through_use_memory,
    _through_apply,
    _through_apply_by_default,
]


def _transcript(ways) -> tuple[list[str], MemoryObject, Autogram]:
    autogram = Autogram(root_function=counting_bot, test_mode=True, seed=3)
    text, memory = autogram.reply(start=10)
    replies = [text]
    for turn, way in enumerate(ways):
        memory = _round_trip(autogram, memory)
        text, memory = way(autogram, memory, f"m{turn}")
        replies.append(text)
    return replies, _round_trip(autogram, memory), autogram


@pytest.mark.parametrize("way", WAYS, ids=lambda way: way.__name__.removeprefix("_through_"))
def test_every_way_of_passing_the_session_continues_it(way):
    replies, memory, _ = _transcript([way] * TURNS)
    assert replies == ["start 10"] + [f"{11 + turn}: m{turn}" for turn in range(TURNS)]
    turns = memory.memory_dict["model_turns"]
    users = [e["user_reply"] for e in turns if e["entry_type"] == "user_reply" and e["user_reply"]]
    assert users == [f"m{turn}" for turn in range(TURNS)]


def test_mixing_the_ways_at_random_gives_the_transcript_and_log_of_the_plain_loop():
    plain, plain_memory, _ = _transcript([_through_memory_object] * TURNS)
    generator = random.Random(16)
    for _ in range(4):
        ways = [generator.choice(WAYS) for _ in range(TURNS)]
        replies, memory, _ = _transcript(ways)
        assert replies == plain, [way.__name__ for way in ways]
        kinds = [e["entry_type"] for e in memory.memory_dict["model_turns"]]
        assert kinds == [e["entry_type"] for e in plain_memory.memory_dict["model_turns"]]


def test_a_session_continued_from_its_memory_dict_leaves_the_original_as_it_was():
    autogram = Autogram(root_function=counting_bot, test_mode=True)
    _text, memory = autogram.reply()
    before = autogram.serialize(memory)
    text, other = autogram.reply("x", memory_dict=memory.memory_dict)
    assert text == "1: x" and other is not memory
    assert autogram.serialize(memory) == before
    assert autogram.reply("y", memory_object=memory)[0] == "1: y"


def test_keys_changed_in_a_copied_memory_dict_are_the_continued_sessions():
    autogram = Autogram(root_function=counting_bot, test_mode=True)
    _text, memory = autogram.reply()
    carried = copy.deepcopy(memory.memory_dict)
    carried["user_reply_to_save"] = "draft"
    continued = _round_trip(autogram, autogram.init_memory(carried))
    assert continued.memory_dict["user_reply_to_save"] == "draft"
    assert autogram.reply("x", memory_object=continued)[0] == "1: x"


@autograms_function()
def view_keeping_bot():
    view = get_memory().memory_dict
    message = reply("first")
    while True:
        view["last"] = message
        message = reply(f"kept {get_memory().memory_dict['last']}")


def test_a_memory_dict_kept_in_a_local_stays_the_view_of_the_session_that_loads_it():
    autogram = Autogram(root_function=view_keeping_bot, test_mode=True)
    _text, memory = autogram.reply()
    for message in ("a", "b"):
        memory = _round_trip(autogram, memory)
        text, memory = autogram.reply(message, memory_object=memory)
        assert text == f"kept {message}"
    assert memory.memory_dict["last"] == "b"


def test_a_pickled_memory_dict_loads_as_the_same_copy_inside_another_session():
    autogram = Autogram(root_function=counting_bot, test_mode=True)
    _text, memory = autogram.reply(start=4)
    blob = pickle.dumps(memory.memory_dict)
    with autogram.use_config():
        carried = pickle.loads(blob)
    assert autogram.reply("x", memory_dict=carried)[0] == "5: x"


def test_a_stack_autograms_saved_is_refused_rather_than_restarted():
    autogram = Autogram(root_function=counting_bot, test_mode=True)
    foreign = {"stack": [{"function_name": "chatbot", "line_number": 3, "locals": {}}]}
    with pytest.raises(Exception, match="stack") as caught:
        autogram.init_memory(foreign)
    assert type(caught.value).__name__ == "ConversationError"


def test_entries_the_run_loop_appends_to_model_turns_stay_in_the_log():
    autogram = Autogram(root_function=counting_bot, test_mode=True)
    _text, memory = autogram.reply()
    for turn in range(3):
        memory = _round_trip(autogram, memory)
        memory.memory_dict["model_turns"].append({"entry_type": "note", "turn": turn})
        _text, memory = autogram.reply(f"m{turn}", memory_object=memory)
    memory = _round_trip(autogram, memory)
    turns = memory.memory_dict["model_turns"]
    assert [e["turn"] for e in turns if e["entry_type"] == "note"] == [0, 1, 2]
    turns.remove(turns[0])  # any other change replaces the log
    assert len(_round_trip(autogram, memory).memory_dict["model_turns"]) == len(turns)


def test_model_calls_made_by_parallel_wrapper_runs_are_logged_with_their_usage():
    autogram = Autogram(root_function=parallel_bot, test_mode=True)
    _text, memory = autogram.reply()
    for turn in range(3):
        text, memory = autogram.reply(f"m{turn}", memory_object=_round_trip(autogram, memory))
        assert text == "2 summaries"
    calls = [
        e for e in _round_trip(autogram, memory).memory_dict["model_turns"] if "usage_log" in e
    ]
    assert len(calls) == 6
    assert all(call["helper"] == "thought" and call["usage_log"] for call in calls)
    assert {call["function_name"] for call in calls} == {"call_model"}  # AutoGRAMS' name


def test_a_memory_dict_read_inside_use_memory_starts_a_session_from_there():
    autogram = Autogram(root_function=counting_bot, test_mode=True)
    _text, memory = autogram.reply()
    with autogram.use_memory(memory) as current:
        current.memory_dict["user_reply_to_save"] = "draft"
        continued = autogram.init_memory(current.memory_dict)
    continued = _round_trip(autogram, continued)
    assert continued.memory_dict["user_reply_to_save"] == "draft"
    assert autogram.reply("x", memory_object=continued)[0] == "1: x"
    assert len(continued.memory_dict["model_turns"]) > len(memory.memory_dict["model_turns"])
