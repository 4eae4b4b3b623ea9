"""The bots and configs whose model requests are compared with AutoGRAMS 0.6.0's: decisions
(yes_or_no, multiple_choice, TRANSITION) in json and logit mode with generation arguments, and
structured output on a non-OpenAI server. `make_autograms_requests.py` records AutoGRAMS'
requests; `test_autograms_requests.py` sends this library's to the same fake server."""

from __future__ import annotations

from typing import Any

DECISIONS_BOT = """
from autograms import autograms_function
from autograms.functional import reply, yes_or_no, multiple_choice, TRANSITION, generate_object

SCHEMA = {"type": "json_schema", "json_schema": {"name": "thing", "strict": True, "schema": {
    "type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"],
    "additionalProperties": False}}}

@autograms_function()
def chatbot():
    reply("start")
    yes_or_no("is the user happy?")
    multiple_choice("which colour?", ["red", "blue", "green"])
    generate_object("fill it", SCHEMA)
    reply("mid")
    TRANSITION("does the user want more?", {"yes": "a", "no": "b"})
    reply("end a", ADDRESS="a")
    reply("end b", ADDRESS="b")
"""

#: a thought after a user message, then a decision in the same turn (AutoGRAMS shows the
#: user's message after the thought)
THOUGHT_BOT = """
from autograms import autograms_function
from autograms.functional import reply, thought, yes_or_no

@autograms_function()
def chatbot():
    reply("start")
    thought("think about it")
    yes_or_no("is the user happy?")
    reply("end")
"""

#: every built-in structured helper and the embeddings (the pydantic variants last: AutoGRAMS
#: raises on them when an answer does not parse)
STRUCTURED_BOT = """
from autograms import autograms_function
from autograms.functional import (
    reply, thought_chain, decision_chain, thought_decision_chain, generate_list,
    generate_list_of_choices, generate_fixed_list, generate_fixed_dict, generate_list_of_dicts,
    get_batch_embeddings, get_single_embedding, generate_fixed_list_obj, generate_fixed_dict_obj,
    generate_list_obj)

@autograms_function()
def chatbot():
    reply("start")
    thought_chain("think in steps", ["what does the user want?", 'is it "urgent"?\\nsay why'])
    decision_chain("decide", [
        {"question": "is the user happy?", "choices": ["yes", "no"]},
        {"question": "which colour?", "choices": ["red", "blue", "green"]}])
    thought_decision_chain("mixed", [
        {"type": "thought", "prompt": "summarise"},
        {"type": "decision", "question": "go on?", "choices": ["No", "Yes"]}])
    generate_list("list things")
    generate_list_of_choices("pick colours", ["red", "blue"])
    generate_fixed_list("three things", 3)
    generate_fixed_dict("a person", ["name", "age"])
    generate_list_of_dicts("people", ["name", "age"])
    get_batch_embeddings(["a", "b"])
    get_single_embedding("c")
    generate_fixed_list_obj("two things", 2)
    generate_fixed_dict_obj("a pet", ["kind"])
    generate_list_obj("list more")
    reply("end")
"""

GENERATION_ARGS = {"temperature": 0.5, "top_p": 0.9, "frequency_penalty": 0.5}

#: case -> (bot source, AutogramConfig keywords (PORT stands for the fake server's port), messages)
CASES: dict[str, tuple[str, dict[str, Any], list[str]]] = {
    "json": (
        DECISIONS_BOT,
        {"classifier_mode": "json", "chatbot_generation_args": GENERATION_ARGS},
        ["u1", "u2"],
    ),
    "logit": (
        DECISIONS_BOT,
        {"classifier_mode": "logit", "chatbot_generation_args": GENERATION_ARGS},
        ["u1", "u2"],
    ),
    "proxy": (
        DECISIONS_BOT,
        {"chatbot_type": "proxy", "chatbot_proxy_port": "PORT", "chatbot_path": "llama"},
        ["u1", "u2"],
    ),
    "thought": (THOUGHT_BOT, {"classifier_mode": "json"}, ["u1"]),
    "structured": (STRUCTURED_BOT, {}, ["u1"]),
    "structured_proxy": (
        STRUCTURED_BOT,
        {"chatbot_type": "proxy", "chatbot_proxy_port": "PORT", "chatbot_path": "llama"},
        ["u1"],
    ),
}


def config_for(case: str, port: int) -> dict[str, Any]:
    """The case's AutogramConfig keywords for a fake server on `port`."""
    return {k: port if v == "PORT" else v for k, v in CASES[case][1].items()}


def comparable(body: dict[str, Any]) -> dict[str, Any]:
    """A chat request as both libraries mean it: message contents as text (AutoGRAMS sends
    lists of parts), without delivery details and defaults (``stream: false``, ``n: 1``)."""
    out = {k: v for k, v in body.items() if k not in ("stream", "n")}
    out["messages"] = [
        {**m, "content": "".join(p["text"] for p in m["content"])}
        if isinstance(m["content"], list)
        else m
        for m in body["messages"]
    ]
    return out


def embeddings_key(case: str) -> str:
    """Where the recording keeps a case's embeddings requests."""
    return f"{case}/embeddings"


def once_each(bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """AutoGRAMS' requests without its repeats (it sends each one chatbot_max_tries times)."""
    return [b for i, b in enumerate(bodies) if i == 0 or b != bodies[i - 1]]
