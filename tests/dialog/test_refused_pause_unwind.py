"""A refused pause reaches the caller of `Autogram.reply`, not the program: the bot's own
handlers (``except Exception``, ``except BaseException``, ``finally``, a ``with`` exit) do not
run for it, a ``finally`` that pauses does not replace it, and the session stays where the
last good turn left it."""

import importlib
import sys
import textwrap
import uuid

import pytest

from autograms import Autogram
from autograms._frames import ContinuationError

BOT = """
import threading

from autograms import autograms_function
from autograms.functional import reply

SEEN = []


class Exit:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        SEEN.append("exit")
        return True  # would swallow anything


@autograms_function()
def caught():
    first = reply("first")
    try:
        lock = threading.Lock()
        reply("refused")  # a lock in a local: this pause cannot be saved
    except Exception as exc:
        SEEN.append(type(exc).__name__)
        reply("handled")
    return first


@autograms_function()
def caught_as_base():
    first = reply("first")
    try:
        lock = threading.Lock()
        reply("refused")
    except BaseException:
        SEEN.append("base")
        raise
    return first


@autograms_function()
def finally_pauses():
    first = reply("first")
    try:
        lock = threading.Lock()
        reply("refused")
    finally:
        SEEN.append("finally")
        reply("from finally")
    return first


@autograms_function()
def exit_swallows():
    first = reply("first")
    with Exit():
        lock = threading.Lock()
        reply("refused")
    reply("after with")
    return first
"""


@pytest.fixture
def bot(tmp_path):
    name = f"refused_unwind_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(BOT))
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(name)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(name, None)


@pytest.mark.parametrize("root", ["caught", "caught_as_base", "finally_pauses", "exit_swallows"])
@pytest.mark.parametrize("round_trip", [False, True], ids=["in_process", "serialized"])
def test_refused_pause_skips_the_programs_handlers(bot, root, round_trip):
    autogram = Autogram(root_function=getattr(bot, root), test_mode=True)
    first, memory = autogram.reply()
    assert first == "first"
    saved = autogram.serialize(memory)
    if round_trip:
        memory = autogram.deserialize(saved)
    with pytest.raises(ContinuationError) as refused:
        autogram.reply("hello", memory_object=memory)
    assert "lock" in str(refused.value), str(refused.value)
    assert bot.SEEN == [], f"the program's handlers saw the refusal: {bot.SEEN}"
    assert autogram.serialize(memory) == saved, "the refused turn changed the session"
