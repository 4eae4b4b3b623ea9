"""ScriptedModel: offline, deterministic for a seed, answers every kind of request."""

from __future__ import annotations

import math

import pydantic

from autograms import _decisions, _generation
from autograms._prompts import Conversation
from autograms.config import AutogramConfig
from autograms.models import ChatModel, ChatRequest, ScriptedModel, model_from_config

CONFIG = AutogramConfig()


class Plan(pydantic.BaseModel):
    steps: list[str]
    urgent: bool


def trajectory(model, conv):
    """Every helper once; the answers of a scripted run."""
    return (
        _generation.chat_reply(model, CONFIG, conv, "greet").value,
        _decisions.yes_or_no(model, CONFIG, conv, "ready?").value,
        _decisions.multiple_choice(model, CONFIG, conv, "which?", list("abcdef")).value,
        _generation.generate_list(model, CONFIG, conv, "list").value,
        _generation.generate_object(model, CONFIG, conv, "plan", Plan).value,
        _generation.thought_chain(model, CONFIG, conv, "think", ["a?", "b?"]).value,
        _generation.embed_text(model, CONFIG, "hello").value[:3],
    )


def test_it_is_a_chat_model():
    assert isinstance(ScriptedModel(), ChatModel)


def test_same_seed_same_answers_in_new_instances(conversation):
    first = trajectory(model_from_config(CONFIG, test_mode=True, seed=5), conversation)
    second = trajectory(model_from_config(CONFIG, test_mode=True, seed=5), conversation)
    assert first == second
    assert isinstance(first[4], Plan)


def test_different_seeds_give_different_trajectories(conversation):
    runs = {repr(trajectory(ScriptedModel(seed=seed), conversation)) for seed in range(5)}
    assert len(runs) == 5


def test_answers_depend_on_the_request_not_on_call_order():
    model = ScriptedModel(seed=1)
    conv_a = Conversation("", [{"role": "user", "content": "a"}])
    conv_b = Conversation("", [{"role": "user", "content": "b"}])
    first_a = _generation.chat_reply(model, CONFIG, conv_a, "x").value
    _generation.chat_reply(model, CONFIG, conv_b, "x")
    assert _generation.chat_reply(model, CONFIG, conv_a, "x").value == first_a


def test_random_decisions_cover_every_choice():
    model = ScriptedModel(seed=0)
    picks = {
        _decisions.multiple_choice(
            model,
            CONFIG,
            Conversation("", [{"role": "user", "content": str(i)}]),
            "which?",
            ["a", "b", "c"],
        ).value
        for i in range(40)
    }
    assert picks == {0, 1, 2}


def test_a_handler_scripts_answers_and_may_defer():
    seen = []

    def handler(request: ChatRequest):
        seen.append(request.kind)
        if request.kind == "decision":
            return "no"
        if request.kind == "structured":
            return {"data": ["from handler"]}
        return None

    model = ScriptedModel(handler, seed=2)
    conv = Conversation()
    assert _decisions.yes_or_no(model, CONFIG, conv, "ok?").value is False
    assert _generation.generate_list(model, CONFIG, conv, "x").value == ["from handler"]
    assert _generation.chat_reply(model, CONFIG, conv, "x").value.startswith("[scripted reply")
    assert seen == ["decision", "structured", "chat"]


def test_embeddings_are_unit_vectors_equal_for_equal_texts():
    model = ScriptedModel(seed=3, embedding_dim=16)
    vectors = _generation.embed_texts(model, CONFIG, ["x", "y", "x"]).value
    assert len(vectors[0]) == 16 and vectors[0] == vectors[2] != vectors[1]
    assert math.isclose(sum(v * v for v in vectors[1]), 1.0)
    assert _generation.embed_text(model, CONFIG, "x").value == vectors[0]
    assert len(_generation.embed_text(model, CONFIG, "x", dimensions=4).value) == 4


def test_logit_decisions_get_log_probabilities():
    config = AutogramConfig(classifier_mode="logit")
    result = _decisions.multiple_choice_logits(
        ScriptedModel(seed=4), config, Conversation(), "which?", ["a", "b", "c"]
    )
    assert len(result.value) == 3 and all(v < 0 for v in result.value)
    assert math.isclose(sum(math.exp(v) for v in result.value), 1.0)
