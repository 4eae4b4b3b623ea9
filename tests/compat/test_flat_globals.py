"""``memory_dict['user_globals']`` in AutoGRAMS' flat layout (one dict of names for the whole
session) over the per-module user globals kept here, and AutoGRAMS' ``globals_snapshot``."""

from __future__ import annotations

import copy
import json
import pickle

from autograms import Autogram
from tests.compat.bots import flat_globals as bot
from tests.compat.bots import flat_globals_helper as helper


def _after(turns: int):
    autogram = Autogram(root_function=bot.chatbot, test_mode=True)
    _, memory = autogram.reply()
    text = None
    for i in range(turns):
        memory = autogram.deserialize(autogram.serialize(memory))
        text, memory = autogram.reply(f"m{i}", memory_object=memory)
    return autogram, memory, text


def test_the_view_holds_every_modules_names_in_one_dict():
    _, memory, text = _after(2)
    assert text == "count=2 score=2 seen=2 label=a"
    flat = memory.memory_dict["user_globals"]
    assert flat == {"count": 2, "label": "a", "seen": 2}
    assert json.loads(json.dumps(flat)) == {"count": 2, "label": "a", "seen": 2}
    assert flat[bot.__name__] == {"count": 2, "label": "a"}  # the per-module key still works


def test_an_edit_goes_to_the_module_holding_the_name():
    autogram, memory, _ = _after(1)
    flat = memory.memory_dict["user_globals"]
    flat["count"] = 10
    flat.update(seen=20)
    text, _ = autogram.reply("x", memory_object=memory)
    assert text == "count=11 score=2 seen=21 label=a"


def test_assigning_replaces_the_names_given_in_their_modules():
    autogram, memory, _ = _after(1)
    memory.memory_dict["user_globals"] = {"count": 50, "label": "b", "seen": 7}
    text, _ = autogram.reply("x", memory_object=memory)
    assert text == "count=51 score=2 seen=8 label=b"


def test_assigning_the_view_back_changes_nothing():
    autogram, memory, _ = _after(1)
    memory.memory_dict["user_globals"] = memory.memory_dict["user_globals"]
    assert autogram.reply("x", memory_object=memory)[0] == "count=2 score=2 seen=2 label=a"


def test_copies_of_memory_dict_continue_with_the_globals():
    autogram, memory, _ = _after(2)
    for state in (
        copy.deepcopy(memory.memory_dict),
        pickle.loads(pickle.dumps(memory.memory_dict)),
        dict(memory.memory_dict),
    ):
        text, _ = autogram.reply("x", memory_dict=state)
        assert text == "count=3 score=3 seen=3 label=a"
    assert autogram.reply("y", memory_object=memory)[0] == "count=3 score=3 seen=3 label=a"


def test_an_autograms_memory_dict_gives_its_flat_values_to_the_modules_using_them():
    autogram = Autogram(root_function=bot.chatbot, test_mode=True)
    state = {
        "turn_stack": [{"scope": "global", "turns": [], "system_prompt": ""}],
        "user_globals": {"count": 4, "seen": 9},  # label: not given, the default
        "globals_snapshot": {"score": 6},
    }
    text, memory = autogram.reply("", memory_dict=state)
    assert text == "hi"
    memory = autogram.deserialize(autogram.serialize(memory))
    text, _ = autogram.reply("x", memory_object=memory)
    assert text == "count=5 score=7 seen=10 label=a"
    assert helper.H.get("seen") == 0 and bot.G["count"] == 0  # the modules' own defaults


def test_a_new_name_set_before_any_module_used_the_globals_waits_for_one():
    autogram = Autogram(root_function=bot.chatbot, test_mode=True)
    memory = autogram.init_memory()
    memory.memory_dict["user_globals"]["label"] = "z"
    memory.memory_dict["user_globals"]["other"] = 1
    _, memory = autogram.reply("", memory_object=memory)
    text, memory = autogram.reply("x", memory_object=memory)
    assert text == "count=1 score=1 seen=1 label=z"
    assert memory.memory_dict["user_globals"]["other"] == 1
