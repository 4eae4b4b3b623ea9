"""Concurrent calls from threads, with separate and with shared model objects."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pydantic

from autograms import _decisions, _generation
from autograms._prompts import Conversation
from autograms.models import OpenAICompatModel

from .conftest import config_for

THREADS = 8
CALLS = 5


class Item(pydantic.BaseModel):
    name: str


def session(model, config, worker):
    """A worker's calls; returns what it got back."""
    answers = []
    for call in range(CALLS):
        conv = Conversation("sys", [{"role": "user", "content": f"worker {worker} call {call}"}])
        answers.append(_generation.chat_reply(model, config, conv, "echo").value)
    answers.append(_decisions.yes_or_no(model, config, Conversation(), "ok?").value)
    answers.append(_generation.generate_object(model, config, Conversation(), "x", Item).value)
    return answers


def check(results):
    for worker, answers in enumerate(results):
        for call in range(CALLS):
            assert answers[call].endswith(f"worker {worker} call {call}\n\nINSTRUCTION: echo"[-40:])
        assert answers[CALLS] is True and answers[CALLS + 1] == Item(name="x")


def test_threads_with_separate_models(server):
    config = config_for(server)
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(
            pool.map(lambda w: session(OpenAICompatModel(config), config, w), range(THREADS))
        )
    check(results)
    assert len(server.chat_requests()) == THREADS * (CALLS + 2)


def test_threads_sharing_one_model_and_its_fallback_memory(make_server):
    server = make_server("llamacpp")
    config = config_for(server)
    model = OpenAICompatModel(config)
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(lambda w: session(model, config, w), range(THREADS)))
    check(results)
    assert model.output_mode() == "json_object"
    kinds = [(b.get("response_format") or {}).get("type") for b in server.chat_requests()]
    assert kinds.count("json_object") == 2 * THREADS
    # at most every thread's first structured call tried json_schema (strict, then not)
    assert kinds.count("json_schema") <= 2 * THREADS
