"""Outside tests (s4) of the README's "Driving a bot" table and its transaction claim, on a bot
paused in the middle of its program."""

import copy
import importlib
import pickle
import sys

import pytest

from tests.outside import s4e_support as S


@pytest.fixture
def folder(tmp_path):
    path = str(tmp_path)
    yield path
    if path in sys.path:
        sys.path.remove(path)


BOT = """
    #HEADER
    class Box:
        def __init__(self):
            self.items = []

    @autograms_function()
    def side(x):
        return reply(f"side {x}")

    @autograms_function()
    def chatbot():
        box = Box()
        seen = []
        while True:
            t = reply(f"{seen} {box.items}", data={"n": len(seen)})
            seen.append(t)
            box.items.append(t.upper())
            if t == "boom":
                raise ValueError("boom")
    """


def _paused(folder):
    from autograms import Autogram

    pkg = S.write_package(folder, {"bot": BOT}, "inproc")
    bot = importlib.import_module(pkg + ".bot")
    ag = Autogram(root_function=bot.chatbot, test_mode=True)
    text, memory = ag.reply("hi")
    text, memory = ag.reply("a", memory_object=memory)
    assert text == "['a'] ['A']"
    return ag, memory


def test_a_turn_that_raises_leaves_the_memory_as_it_was(folder):
    ag, memory = _paused(folder)
    with pytest.raises(ValueError):
        ag.reply("boom", memory_object=memory)
    assert ag.pending_frames(memory)[0].locals["seen"] == ["a"]
    text, memory = ag.reply("b", memory_object=memory)
    assert text == "['a', 'b'] ['A', 'B']"
    assert memory.reply_data == {"n": 2}


@pytest.mark.parametrize("how", ["dict", "deepcopy"])
def test_memory_dict_copy_continues_as_a_new_session_leaving_the_old_one(folder, how):
    ag, memory = _paused(folder)
    md = {"dict": dict, "deepcopy": copy.deepcopy}[how](memory.memory_dict)
    text, other = ag.reply("p", memory_dict=md)
    assert text == "['a', 'p'] ['A', 'P']"
    text, memory = ag.reply("b", memory_object=memory)
    assert text == "['a', 'b'] ['A', 'B']"


def test_pickled_memory_dict_continues_the_session(folder):
    ag, memory = _paused(folder)
    md = pickle.loads(pickle.dumps(memory.memory_dict))
    text, other = ag.reply("p", memory_dict=md)
    assert text == "['a', 'p'] ['A', 'P']"


def test_apply_of_a_plain_function_leaves_the_program_paused(folder):
    ag, memory = _paused(folder)
    assert ag.apply(memory_object=memory, func=lambda: "peeked") == "peeked"
    text, memory = ag.reply("b", memory_object=memory)
    assert text == "['a', 'b'] ['A', 'B']"


def test_pickled_memory_dict_loaded_in_use_config_continues_where_it_paused(folder):
    ag, memory = _paused(folder)
    blob = pickle.dumps(memory.memory_dict)
    with ag.use_config():
        md = pickle.loads(blob)
    text, other = ag.reply("p", memory_dict=md)
    assert text == "['a', 'p'] ['A', 'P']"
