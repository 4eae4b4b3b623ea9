"""`last_node` in the log names the node a reply was made in, and only that reply, as
AutoGRAMS' ``with memory.set_node(...)`` around a node call gives it: for an
``@autograms_node`` function and `nodes.as_node`, replying in the node or not."""

from __future__ import annotations

from autograms import Autogram, autograms_function, autograms_node
from autograms.functional import reply
from autograms.nodes import as_node


@autograms_node
def greet(name):
    reply(f"hello {name}")


@autograms_node
def note(text):
    return text.upper()


def quiet():
    return "quiet"


def say_it():
    reply("as node reply")


@autograms_function()
def bot():
    reply("start")
    greet("ada", ADDRESS="greeting")
    note("x", ADDRESS="noting")
    reply("after note")
    as_node(quiet, ADDRESS="quiet_node")
    reply("after quiet")
    as_node(say_it, ADDRESS="replying_node")
    reply("end")


def test_only_the_reply_made_in_a_node_names_it():
    autogram = Autogram(root_function=bot, test_mode=True)
    memory = None
    for message in ["", "a", "b", "c", "d"]:
        _, memory = autogram.reply(message, memory_object=memory)
        memory = autogram.deserialize(autogram.serialize(memory))
    replies = [
        (e["reply"], e["last_node"])
        for e in memory.memory_dict["model_turns"]
        if e["entry_type"] == "agent_reply"
    ]
    assert replies == [
        ("start", None),
        ("hello ada", "greeting"),
        ("after note", None),
        ("after quiet", None),
        ("as node reply", "replying_node"),
    ], replies
