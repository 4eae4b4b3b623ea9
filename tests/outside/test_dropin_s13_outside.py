"""Outside round 13 on issue 16: an AutoGRAMS 0.6.0 team's bots, side by side with AutoGRAMS.

The expected values were observed by running AutoGRAMS 0.6.0 (its own tree, in a scratch venv
outside this project) and this library against the same fake OpenAI-compatible server
(``dropin_s13/fake_openai.py``: answers derived from the prompt), the same bot and messages.
No AutoGRAMS code runs here: the tests hold what AutoGRAMS was seen to send, return and log.
Earlier rounds (s10-s12) cover decision wording, per-call settings, jumps, EXIT, reply_suffix;
this one goes to prompt budgets, config switches, chains and structured helpers in scopes.
Every turn goes through ``serialize``/``deserialize``.
"""

from __future__ import annotations


import pytest

from autograms import Autogram, AutogramConfig, autograms_function
from autograms.functional import (
    get_turn_history,
    reply,
    reply_instruction,
    silent_thought,
)

from .dropin_s13.fake_openai import FakeServer

# --------------------------------------------------------------------------- fixtures / driving


@pytest.fixture(scope="module")
def fake():
    server = FakeServer()
    yield server
    server.close()


@pytest.fixture
def server(fake):
    fake.reset()
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


def sent(server: FakeServer) -> list[list[tuple[str, str]]]:
    """The messages of each chat request, as (role, text) pairs."""
    return [
        [(m["role"], text_of(m["content"])) for m in b["body"]["messages"]]
        for b in server.bodies()
        if b["path"].endswith("/chat/completions")
    ]


# --------------------------------------------------------------------------- prompt budget

LONG = "Be kind and precise. " * 60
OUT: list = []


@autograms_function()
def long_instruction_bot():
    reply("Hello?")
    reply_instruction("Answer the user. " + LONG)
    OUT.append(silent_thought("Think. " + LONG))
    reply("bye")


@pytest.mark.xfail(
    strict=True,
    reason="silent: with chatbot_max_input_len=200, a prompt whose last turn (the user's message "
    "and the instruction) is longer than the budget is sent cut from the left, mid-word: the "
    "model gets ' and precise. Be kind ...' without the 'User: I would like a pizza ...' message "
    "or the start of the instruction. AutoGRAMS 0.6.0 drops the earlier turns and sends the last "
    "one whole ('User: I would like a pizza with olives please\\n\\nINSTRUCTION: Answer the "
    "user. Be kind ...', 1,337 characters)",
)
def test_a_last_turn_over_the_budget_keeps_the_users_message(server):
    run_turns(
        long_instruction_bot,
        ["", "I would like a pizza with olives please", "and a drink"],
        proxy_config(server, chatbot_max_input_len=200),
    )
    reply_request, thought_request = sent(server)
    assert reply_request == [
        ("system", "You are an agent."),
        (
            "user",
            "User: I would like a pizza with olives please\n\nINSTRUCTION: Answer the user. "
            + LONG,
        ),
    ], reply_request
    assert thought_request == [
        ("system", "You are an agent."),
        ("user", "User: and a drink\n\nINSTRUCTION: Think. " + LONG),
    ], thought_request


# --------------------------------------------------------------------------- system_prompt_in_turns

HISTORIES: list = []


@autograms_function()
def history_bot():
    reply("Hello?")
    HISTORIES.append(get_turn_history())
    reply_instruction("Answer.")
    HISTORIES.append(get_turn_history(instruction="Now"))
    reply("bye")


@pytest.mark.xfail(
    strict=True,
    reason="silent: with system_prompt_in_turns=True, get_turn_history() returns the system "
    "prompt glued to the first input turn ('You are an agent.\\n\\nINSTRUCTION: Reply to the "
    "user.') and again as its third element, so a bot building its own messages from it "
    "(call_chat_completion) sends the system prompt twice. AutoGRAMS 0.6.0 returns the turns "
    "without it (first input 'INSTRUCTION: Reply to the user.'); only the request puts it in "
    "the first turn (both libraries send the same request)",
)
def test_turn_history_with_system_prompt_in_turns_is_the_plain_history(server):
    HISTORIES.clear()
    run_turns(
        history_bot, ["", "hi there", "more"], proxy_config(server, system_prompt_in_turns=True)
    )
    assert sent(server)[0][0] == ("user", "You are an agent.\n\nINSTRUCTION: Reply to the user.")
    assert HISTORIES == [
        (
            ["INSTRUCTION: Reply to the user.", "User: hi there\n\nINSTRUCTION: "],
            ["Hello?"],
            "You are an agent.",
        ),
        (
            [
                "INSTRUCTION: Reply to the user.",
                "User: hi there\n\nINSTRUCTION: Reply to the user.",
                "User: more\n\nINSTRUCTION: Now",
            ],
            ["Hello?", "answer 443d27d7"],
            "You are an agent.",
        ),
    ], "as AutoGRAMS 0.6.0 returned them"
