"""Persistent globals reached as ``module.NAME`` from another module: inside a turn they are the
session's values (read, assigned, deleted), outside one the module's own."""

import importlib
import sys
import textwrap
import uuid

import pytest

import autograms
from autograms import Autogram, load_autogram

SETTINGS = """
from autograms.memory import set_persistent_globals

with set_persistent_globals():
    LANG = "en"
    TAGS = []

def lang():
    return LANG
"""

BOT = """
from autograms import autograms_function
from autograms.functional import reply
from . import settings

@autograms_function()
def chatbot():
    here = settings  # a local holding the module, across every pause
    t = reply(f"start {settings.LANG} {settings.TAGS}")
    settings.LANG = t
    here.TAGS = here.TAGS + [t]
    t = reply(f"set {settings.LANG} {settings.lang()} {getattr(here, 'LANG')} {settings.TAGS}")
    del settings.LANG
    gone = not hasattr(settings, "LANG")
    settings.LANG = t.upper()
    reply(f"again {gone} {settings.lang()} {here.TAGS}")
"""


@pytest.fixture
def bot(tmp_path):
    package = f"pg_{uuid.uuid4().hex[:8]}"
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / package / "settings.py").write_text(textwrap.dedent(SETTINGS))
    (tmp_path / package / "bot.py").write_text(textwrap.dedent(BOT))
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(f"{package}.bot")
    finally:
        sys.path.remove(str(tmp_path))


EXPECTED = ["start en []", "set fr fr fr ['fr']", "again True X ['fr']"]


@pytest.mark.parametrize("round_trip", [False, True], ids=["in_process", "serialized"])
def test_module_attribute_of_a_persistent_global_is_the_sessions_value(bot, round_trip):
    autogram = Autogram(root_function=bot.chatbot, test_mode=True)
    memory = None
    replies = []
    for text in ["hi", "fr", "x"]:
        if round_trip and memory is not None:
            memory = autogram.deserialize(autogram.serialize(memory))
        reply, memory = autogram.reply(text, memory_object=memory)
        replies.append(reply)
    assert replies == EXPECTED


def test_sessions_assigning_module_attributes_never_see_each_other_or_change_the_module(bot):
    autogram = Autogram(root_function=bot.chatbot, test_mode=True)
    _, first = autogram.reply("hi")
    _, first = autogram.reply("fr", memory_object=first)
    second_reply, _ = autogram.reply("hi")
    assert second_reply == "start en []"
    settings = sys.modules[bot.__name__.rsplit(".", 1)[0] + ".settings"]
    assert vars(settings)["LANG"] == "en" and vars(settings)["TAGS"] == []


def test_outside_a_turn_module_attributes_are_the_modules_own(bot):
    settings = sys.modules[bot.__name__.rsplit(".", 1)[0] + ".settings"]
    assert settings.LANG == "en"
    settings.LANG = "de"
    assert settings.lang() == "de" and vars(settings)["LANG"] == "de"
    del settings.LANG
    with pytest.raises(AttributeError, match="has no attribute 'LANG'"):
        settings.LANG  # noqa: B018 - the read is what is tested
    with pytest.raises(AttributeError, match="has no attribute 'LANG'"):
        del settings.LANG


NOTES_BOT = """
from autograms import autograms_function
from autograms.functional import reply
from autograms.memory import set_persistent_globals

with set_persistent_globals():
    NOTES = []

def note(text):
    NOTES.append(text)

@autograms_function()
def chatbot():
    while True:
        note(reply(f"{VERSION} {NOTES}", ADDRESS="ask"))
"""


def test_plain_helpers_of_a_bot_file_run_again_after_an_edit_reach_each_sessions_values(
    tmp_path,
) -> None:

    path = tmp_path / f"notes_{uuid.uuid4().hex[:8]}.py"
    path.write_text("VERSION = 'v1'\n" + NOTES_BOT)
    first, _ = load_autogram(str(path))
    _, before_edit = Autogram(first, test_mode=True).reply()
    _, before_edit = Autogram(first, test_mode=True).reply("a", memory_object=before_edit)
    path.write_text("VERSION = 'v2'\n" + NOTES_BOT + "\n# edited\n")
    edited = Autogram(load_autogram(str(path))[0], test_mode=True)
    _, other = edited.reply()
    text, other = edited.reply("x", memory_object=other)
    assert text == "v2 ['x']"
    text, _ = edited.reply("b", memory_object=before_edit)
    assert text == "v2 ['a', 'b']"
    module = sys.modules[path.stem]
    assert vars(module)["NOTES"] == []  # the module's own value: no session wrote to it


def test_memory_dict_globals_snapshot_shows_and_sets_the_sessions_values_by_name(bot):
    autogram = Autogram(root_function=bot.chatbot, test_mode=True)
    _, memory = autogram.reply("hi")
    _, memory = autogram.reply("fr", memory_object=memory)
    assert memory.memory_dict["globals_snapshot"] == {"LANG": "fr", "TAGS": ["fr"]}
    memory.memory_dict["globals_snapshot"] = {"LANG": "it"}
    memory = autogram.deserialize(autogram.serialize(memory))
    assert memory.memory_dict["globals_snapshot"] == {"LANG": "it", "TAGS": ["fr"]}
    # a copy of memory_dict continues the session with the same values
    copied = Autogram(root_function=bot.chatbot, test_mode=True)
    text, _ = copied.reply("y", memory_dict=dict(memory.memory_dict))
    assert text == "again True Y ['fr']"
    assert memory.memory_dict["version"] == autograms.__version__


NESTED_BOT = """
from autograms import autograms_function
from autograms.functional import reply
from autograms.memory import set_persistent_globals

with set_persistent_globals():
    OWNER = "nobody"

def owners(n):  # a plain generator helper
    for _ in range(n):
        yield OWNER

@autograms_function()
def chatbot():
    global OWNER
    OWNER = reply("who?")
    def rename(new):
        global OWNER
        OWNER = new
    seen = [next(o for o in [OWNER]), (lambda: OWNER)(), *owners(1), *(OWNER for _ in "x")]
    rename(OWNER + "!")
    reply(f"{seen} {OWNER}")
"""


def test_nested_code_and_generator_helpers_see_the_sessions_value(tmp_path):
    path = tmp_path / f"nested_{uuid.uuid4().hex[:8]}.py"
    path.write_text(textwrap.dedent(NESTED_BOT))
    chatbot, _ = load_autogram(str(path))
    module = sys.modules[chatbot.__module__]
    autogram = Autogram(chatbot, test_mode=True)
    _, ann = autogram.reply()
    _, bob = autogram.reply()
    text_ann, _ = autogram.reply("ann", memory_object=autogram.deserialize(autogram.serialize(ann)))
    text_bob, _ = autogram.reply("bob", memory_object=bob)
    assert text_ann == "['ann', 'ann', 'ann', 'ann'] ann!"
    assert text_bob == "['bob', 'bob', 'bob', 'bob'] bob!"
    assert module.OWNER == "nobody"  # outside a turn: the module's own value, never written
