"""The chat requests this library sends are the ones AutoGRAMS 0.6.0 sends for the same bots
and configs (recorded by make_autograms_requests.py against the same fake server): decision
prompts, their parameters (generation arguments in json mode, none of them in logit mode, no
max_tokens in json mode), the schema sentence of structured output on a non-OpenAI server, the
schemas of the built-in structured helpers and chains, the embeddings requests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autograms import Autogram, AutogramConfig, load_autogram
from tests.compat.autograms_requests import CASES, comparable, config_for, embeddings_key
from tests.fakes.openai_server import FakeOpenAIServer

RECORDED = json.loads((Path(__file__).parent / "data" / "autograms-requests.json").read_text())


def our_requests(case: str, tmp_path: Path) -> list[dict]:
    return our_bodies(case, tmp_path)[0]


def our_bodies(case: str, tmp_path: Path) -> tuple[list[dict], list[dict]]:
    """The chat requests (comparable) and embeddings requests this library sends for `case`."""
    bot, _config, messages = CASES[case]
    path = tmp_path / f"requests_{case}_bot.py"
    path.write_text(bot)
    chatbot, _init = load_autogram(str(path))
    with FakeOpenAIServer("openai") as server:
        config = AutogramConfig(base_url=server.base_url, **config_for(case, server.port))
        autogram = Autogram(chatbot, autogram_config=config, api_keys={"openai": "sk-fake"})
        _text, memory = autogram.reply()
        for message in messages:
            _text, memory = autogram.reply(message, memory_object=memory)
        embeddings = [r.body for r in server.requests if r.path.endswith("/embeddings")]
        return [comparable(body) for body in server.chat_requests()], embeddings


@pytest.mark.parametrize("case", ["json", "logit", "proxy"])
def test_decision_and_structured_requests_are_autograms_requests(case, tmp_path):
    ours, theirs = our_requests(case, tmp_path), RECORDED[case]
    assert len(ours) == len(theirs), (ours, theirs)
    for number, (mine, recorded) in enumerate(zip(ours, theirs, strict=True)):
        assert mine == recorded, (case, number)


def test_a_thought_stays_after_the_user_message_that_came_before_it(tmp_path):
    """By design: AutoGRAMS moves the user's message after a thought asked after it (its
    make_prompt bug, reference §4.5); here a prompt shows the conversation in its order."""
    ours, theirs = our_requests("thought", tmp_path), RECORDED["thought"]
    assert ours[0] == theirs[0]  # the thought's own request
    shown = [(m["role"], m["content"]) for m in ours[1]["messages"][1:]]
    assert shown[-3:] == [
        ("user", "User: u1\n\nINSTRUCTION: think about it"),
        ("assistant", shown[-2][1]),
        ("user", "QUESTION: is the user happy?\n\n (Yes or No)?"),
    ]
    theirs_shown = [(m["role"], m["content"]) for m in theirs[1]["messages"][1:]]
    assert theirs_shown[-3][1] == "INSTRUCTION: think about it"
    assert theirs_shown[-1][1] == "User: u1\n\nQUESTION: is the user happy?\n\n (Yes or No)?"
    assert {k: v for k, v in ours[1].items() if k != "messages"} == {
        k: v for k, v in theirs[1].items() if k != "messages"
    }


@pytest.mark.parametrize("case", ["structured", "structured_proxy"])
def test_structured_helpers_send_autograms_schemas(case, tmp_path):
    """thought_chain / decision_chain / thought_decision_chain key the answers by their prompts
    (a decision's worded as AutoGRAMS words it), generate_list and the other built-in helpers
    send AutoGRAMS' schemas, names included; embeddings are asked for as the openai SDK asks
    AutoGRAMS' (base64, decoded by the SDK)."""
    (ours, our_embeddings), theirs = our_bodies(case, tmp_path), RECORDED[case]
    assert len(ours) == len(theirs), (ours, theirs)
    for number, (mine, recorded) in enumerate(zip(ours, theirs, strict=True)):
        if case == "structured_proxy" and "SimpleList Items DynamicDictModel".count(
            recorded["response_format"]["json_schema"]["name"]
        ):
            mine, recorded = pydantic_sentence_apart(mine, recorded)
        assert mine == recorded, (case, number)
    assert our_embeddings == RECORDED[embeddings_key(case)]


def pydantic_sentence_apart(mine: dict, recorded: dict) -> tuple[dict, dict]:
    """By design (README, "Coming from AutoGRAMS"): the schema sentence for a pydantic class
    gives its JSON schema where AutoGRAMS wrote the class's repr. Both without the sentence,
    after checking ours names the schema's fields."""
    sentence = "\nYour output must adhere to the following json schema: "
    my_text, their_text = mine["messages"][-1]["content"], recorded["messages"][-1]["content"]
    assert "<class " in their_text.split(sentence)[1], their_text
    shown = my_text.split(sentence)[1]
    properties = recorded["response_format"]["json_schema"]["schema"]["properties"]
    assert all(repr(field) in shown for field in properties), shown

    def without(body: dict, text: str) -> dict:
        last = {**body["messages"][-1], "content": text.split(sentence)[0]}
        return {**body, "messages": [*body["messages"][:-1], last]}

    return without(mine, my_text), without(recorded, their_text)
