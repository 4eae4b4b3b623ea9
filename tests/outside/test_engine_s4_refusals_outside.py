"""Outside tests (s4) of the README's "What is refused": each construct is refused with a
ContinuationError naming the function, line and reason, at the pause (after a resume too), with
``exc.reason`` a code to test -- the same code on every Python -- and the session stays at its
last good state.
"""

import importlib
import sys

import pytest

from tests.outside import s4e_support as S


@pytest.fixture
def folder(tmp_path):
    path = str(tmp_path)
    yield path
    if path in sys.path:
        sys.path.remove(path)


PRE = """
#HEADER
import asyncio

@autograms_function()
def ask(q):
    return reply(q)

class K:
    def __init__(self):
        self.v = ask("init")

class Prop:
    @property
    def p(self):
        return ask("prop")

    def __add__(self, o):
        return ask("add")

class It:
    def __iter__(self):
        return self

    def __next__(self):
        return ask("next")

class CM:
    @autograms_function()
    def __enter__(self):
        return ask("enter")

    def __exit__(self, *a):
        return False

def gen():
    yield ask("gen")

async def _co():
    return ask("co")

@autograms_function()
def chatbot():
    first = reply("first")
    if first == "bad":
        BODY
    else:
        x = "fine"
    reply(f"{x} {first}")
"""

CASES = {
    "set_comprehension": ("x = {ask(c) for c in 'ab'}", "comprehension", "set comprehension"),
    "lambda": ("x = (lambda: ask('l'))()", "lambda frame", "lambda"),
    "generator_expression": ("x = list(ask(c) for c in 'ab')", "generator frame", "generator"),
    "generator": ("x = next(gen())", "generator frame", "gen"),
    "coroutine": ("x = asyncio.run(_co())", "generator frame", "coroutine _co"),
    "sorted_key": ("x = sorted('ab', key=ask)", "indirect call", "sorted()"),
    "map": ("x = list(map(ask, 'ab'))", "indirect call", "ask"),
    "class_body": ("class C:\n            a = ask('c')\n        x = C", "class body", "C"),
    "constructor": ("x = K()", "constructor", "K.__init__"),
    "property": ("x = Prop().p", "not a call", "attribute access"),
    "operator": ("x = Prop() + 1", "not a call", "operator"),
    "for_loop_iterator": ("for x in It():\n            break", "not a call", "iteration"),
    "with_enter": ("with CM() as x:\n            pass", "with statement", "__enter__"),
}


def _run(folder, body):
    from autograms import Autogram

    pkg = S.write_package(folder, {"bot": PRE.replace("BODY", body)}, "inproc")
    bot = importlib.import_module(pkg + ".bot")
    ag = Autogram(root_function=bot.chatbot, test_mode=True)
    text, memory = ag.reply("hi")
    memory = ag.deserialize(ag.serialize(memory))
    with pytest.raises(Exception) as info:
        ag.reply("bad", memory_object=memory)
    return ag, memory, info.value


@pytest.mark.parametrize("case", sorted(CASES))
def test_refusal_after_a_resume_names_function_line_and_reason_and_the_session_goes_on(
    folder, case
):
    from autograms import ContinuationError

    body, reason, words = CASES[case]
    ag, memory, err = _run(folder, body)
    assert isinstance(err, ContinuationError), repr(err)
    assert err.reason == reason, (err.reason, str(err))
    assert words in str(err), str(err)
    assert err.lineno is not None and "bot.py:" in str(err), str(err)
    text, memory = ag.reply("good", memory_object=memory)
    assert text == "fine good"


def test_pause_in_an_iterator_a_comprehension_runs_over_has_one_reason_on_every_python(folder):
    ag, memory, err = _run(folder, "x = [0 for _ in It()]")
    assert err.reason == "not a call", (err.reason, str(err))


def test_goto_to_an_unknown_label_names_the_line_of_the_goto(folder):
    ag, memory, err = _run(folder, "x = 1\n        GOTO('nope')")
    assert err.reason == "unknown label"
    assert err.lineno == 48 and "bot.py:48" in str(err), (err.lineno, str(err))
