"""Persistent globals reached as ``module.NAME`` from another module: inside a turn they are the
session's values (read, assigned, deleted), outside one the module's own."""

import importlib
import sys
import textwrap
import uuid

import pytest

from autograms import Autogram

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
