"""Outside round 12 on issue 16: an AutoGRAMS 0.6.0 team's bots, side by side with AutoGRAMS.

Each expected value below was observed by running AutoGRAMS 0.6.0 (its own tree, in a scratch
venv outside this project) and this library against the same fake OpenAI-compatible server
(``dropin_s11_support.FakeServer``, which records request bodies), the same bot and the same
user messages. No AutoGRAMS code is used here: the tests hold what AutoGRAMS was seen to send,
return and log, as data. Round 11's file covers decisions' wording, per-call settings, the
generated bots of silent thoughts / decisions / scopes, reply_suffix; this file goes elsewhere.

Every turn goes through ``serialize``/``deserialize``.
"""

from __future__ import annotations

import pytest

from autograms import Autogram, AutogramConfig, autograms_function
from autograms.functional import (
    local_thought,
    multiple_choice,
    reply,
    set_system_prompt,
    yes_or_no,
)

from .dropin_s11_support import FakeServer

# --------------------------------------------------------------------------- fixtures / driving


@pytest.fixture(scope="module")
def fake():
    server = FakeServer()
    yield server
    server.close()


@pytest.fixture
def server(fake):
    fake.reset()
    fake.set_rules([])
    return fake


def proxy_config(server: FakeServer, **settings) -> AutogramConfig:
    """AutoGRAMS' own way to reach a local OpenAI-compatible server (chatbot_type="proxy")."""
    base = dict(chatbot_type="proxy", chatbot_proxy_port=server.port, chatbot_max_tries=1)
    base.update(settings)
    return AutogramConfig(**base)


def run_turns(root, messages, config, **autogram_kwargs):
    """Run ``messages`` through ``root`` with a serialize/deserialize round trip every turn."""
    autogram = Autogram(root_function=root, autogram_config=config, **autogram_kwargs)
    memory = None
    replies = []
    for message in messages:
        text, memory = autogram.reply(message, memory_object=memory)
        replies.append(text)
        memory = autogram.deserialize(autogram.serialize(memory))
    return autogram, memory, replies


def text_of(content) -> str:
    if isinstance(content, list):  # AutoGRAMS' form: [{"type": "text", "text": ...}]
        return "".join(part.get("text", "") for part in content)
    return content


def messages_of(body: dict) -> list[tuple[str, str]]:
    return [(m["role"], text_of(m["content"])) for m in body["messages"]]


# --------------------------------------------------------------------------- long messages

DOCUMENT = (
    "dragon at the start. " + " ".join(["alpha beta gamma delta"] * 700) + " the dragon sleeps"
)


@autograms_function()
def document_bot():
    reply("Paste your document.")
    yes_or_no("Does the document mention a dragon?")
    multiple_choice("What is it about?", ["war", "peace"])
    reply("ok")


def test_decision_on_a_long_message_sends_it_whole(server):
    run_turns(document_bot, ["", DOCUMENT], proxy_config(server))
    bodies = [b for b in server.requests() if "response_format" in b]
    assert len(bodies) == 2, bodies
    head = [
        ("system", "You are an agent."),
        ("user", "INSTRUCTION: Reply to the user."),
        ("assistant", "Paste your document."),
    ]
    yes_no = (
        "User: " + DOCUMENT + "\n\nQUESTION: Does the document mention a dragon?\n\n (Yes or No)?"
    )
    choice = "User: " + DOCUMENT + "\n\nQUESTION: What is it about?\n\nA. war\nB. peace\n"
    assert messages_of(bodies[0]) == head + [("user", yes_no)], "yes_or_no's prompt differs"
    assert messages_of(bodies[1]) == head + [("user", choice)], "multiple_choice's prompt differs"


# --------------------------------------------------------------------------- local_thought


@autograms_function()
def local_thought_bot():
    set_system_prompt("bot prompt")
    reply("Hello?")
    local_thought("one shot")
    local_thought("two shot", system_prompt="S", model="gpt-4o-mini", temperature=0.3)
    reply("done")


def test_local_thought_sends_the_instruction_as_written(server):
    run_turns(local_thought_bot, ["", "hi"], proxy_config(server))
    first, second = server.requests()
    assert messages_of(first)[-1] == ("user", "one shot"), first
    assert messages_of(second) == [("system", "S"), ("user", "two shot")], second
    assert (second["model"], second["temperature"]) == ("gpt-4o-mini", 0.3), second
