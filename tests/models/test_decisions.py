"""yes_or_no, multiple_choice (json and logit modes), TRANSITION's choice; no silent index 0."""

from __future__ import annotations

import math

import pytest

from autograms import _decisions
from autograms._prompts import Conversation
from autograms.config import AutogramConfig
from autograms.models import DecisionError, ModelConfigError, OpenAICompatModel, ScriptedModel

from .conftest import config_for


@pytest.fixture
def setup(server):
    config = config_for(server)
    return server, config, OpenAICompatModel(config)


def test_yes_or_no_reads_the_structured_answer(setup, conversation):
    server, config, model = setup
    server.script('{"answer": "No"}')
    result = _decisions.yes_or_no(model, config, conversation, "Is the user ready?")
    assert result.value is False and len(result.calls) == 1
    body = server.chat_requests()[0]
    assert body["temperature"] == 0
    assert body["response_format"]["json_schema"]["schema"]["properties"]["answer"]["enum"] == [
        "Yes",
        "No",
    ]
    assert (
        body["messages"][-1]["content"]
        == "User: yes, I'm ready\n\nQUESTION: Is the user ready?\n\n (Yes or No)?"
    )
    assert result.calls[0].kind == "decision" and result.calls[0].request["choices"] == [
        "Yes",
        "No",
    ]


def test_decisions_see_one_user_turn_by_default(setup):
    server, config, model = setup
    conv = Conversation(
        "sys",
        [
            {"role": "agent", "content": "a1"},
            {"role": "user", "content": "u1"},
            {"role": "agent", "content": "a2"},
            {"role": "user", "content": "u2"},
        ],
    )
    _decisions.yes_or_no(model, config, conv, "q?")
    _decisions.yes_or_no(model, config, conv, "q?", max_turns=None)
    short, full = server.chat_requests()
    assert len(short["messages"]) == 4 and len(full["messages"]) == 6


def test_multiple_choice_returns_the_index(setup, conversation):
    server, config, model = setup
    server.script('{"answer": "C"}')
    result = _decisions.multiple_choice(
        model, config, conversation, "Which?", ["tea", "coffee", "water"]
    )
    assert result.value == 2
    assert "A. tea\nB. coffee\nC. water" in server.chat_requests()[0]["messages"][-1]["content"]


def test_a_single_choice_needs_no_call(setup, conversation):
    server, config, model = setup
    assert _decisions.multiple_choice(model, config, conversation, "Which?", ["only"]).value == 0
    assert server.requests == []
    with pytest.raises(ValueError, match="at least one choice"):
        _decisions.multiple_choice(model, config, conversation, "Which?", [])


@pytest.mark.parametrize(
    ("output", "index"),
    [
        ("B", 1),
        ("b.", 1),
        ("**B**", 1),
        ("B. coffee", 1),
        ("coffee", 1),
        ('{"answer": "A"}', 0),
        ('```json\n{"answer": "C"}\n```', 2),
    ],
)
def test_answers_are_read_leniently(output, index):
    assert _decisions.read_label(output, ("A", "B", "C"), ("tea", "coffee", "water")) == index


def test_an_unusable_answer_is_repaired_once_then_raises(setup, conversation):
    server, config, model = setup
    server.script('{"answer": "maybe"}', "I am not sure")
    with pytest.raises(DecisionError) as info:
        _decisions.yes_or_no(model, config, conversation, "Is the user ready?")
    error = info.value
    assert error.question == "Is the user ready?" and error.output == "I am not sure"
    assert error.choices == ("Yes", "No") and len(error.calls) == 2
    assert len(server.chat_requests()) == 2


def test_a_repaired_answer_is_accepted(setup, conversation):
    server, config, model = setup
    server.script("hmm", '{"answer": "B"}')
    result = _decisions.multiple_choice(model, config, conversation, "Which?", ["x", "y"])
    assert result.value == 1 and len(result.calls) == 2


def test_classifier_settings_are_used(make_server, conversation):
    chat, judge = make_server(), make_server()
    config = config_for(
        chat,
        classifier_base_url=judge.base_url,
        classifier_path="judge-model",
        default_question_prompt="Answer carefully.",
        exclude_classifier_system_prompt=True,
    )
    _decisions.yes_or_no(OpenAICompatModel(config), config, conversation, "ready?")
    body = judge.chat_requests()[0]
    assert body["model"] == "judge-model" and body["messages"][0]["role"] == "user"
    assert "Answer carefully.\nready?" in body["messages"][-1]["content"]
    assert chat.requests == []


def test_transition_maps_yes_no_keys_and_other_keys(setup, conversation):
    server, config, model = setup
    server.script('{"answer": "No"}', '{"answer": "B"}')
    assert (
        _decisions.decide_transition(
            model, config, conversation, "ready?", {"Yes": "start", "No": "wait"}
        ).value
        == "wait"
    )
    assert (
        _decisions.decide_transition(
            model, config, conversation, "topic?", {"salary": "pay", "role": "job"}
        ).value
        == "job"
    )
    assert (
        _decisions.decide_transition(model, config, conversation, "q", {"only": "there"}).value
        == "there"
    )
    assert len(server.chat_requests()) == 2


def test_transition_context_defaults_to_the_config(server):
    config = config_for(server, default_transition_context=0)
    conv = Conversation(
        "sys", [{"role": "agent", "content": "a"}, {"role": "user", "content": "u"}]
    )
    _decisions.decide_transition(OpenAICompatModel(config), config, conv, "q?", {"yes": 1, "no": 2})
    messages = server.chat_requests()[0]["messages"]
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[-1]["content"].startswith("QUESTION: q?")


def test_logit_mode_biases_the_label_tokens(server, conversation):
    config = config_for(server, chatbot_path="gpt-4o", classifier_mode="logit")
    result = _decisions.multiple_choice(
        OpenAICompatModel(config), config, conversation, "Which?", ["tea", "coffee"]
    )
    body = server.chat_requests()[0]
    assert body["logit_bias"] == {"32": 100, "33": 100}  # o200k ids of "A" and "B"
    assert (body["max_tokens"], body["temperature"]) == (1, 0)
    assert "response_format" not in body
    assert result.value == 0


def test_logit_mode_yes_no_and_a_server_ignoring_the_bias(server, conversation):
    config = config_for(server, chatbot_path="gpt-4o", classifier_mode="logit")
    model = OpenAICompatModel(config)
    assert _decisions.yes_or_no(model, config, conversation, "ready?").value is True
    server.script("Certainly")
    with pytest.raises(DecisionError, match="logit_bias"):
        _decisions.yes_or_no(model, config, conversation, "ready?")


def test_logit_mode_needs_a_known_tokenizer(server, conversation):
    config = config_for(server, chatbot_path="SmolLM2", classifier_mode="logit")
    with pytest.raises(ModelConfigError, match="'SmolLM2'.*classifier_mode='json'") as info:
        _decisions.yes_or_no(OpenAICompatModel(config), config, conversation, "ready?")
    assert info.value.setting == "classifier_mode" and server.requests == []


def test_multiple_choice_logits_returns_one_logprob_per_choice(server, conversation):
    config = config_for(server, chatbot_path="gpt-4o", classifier_mode="logit")
    result = _decisions.multiple_choice_logits(
        OpenAICompatModel(config), config, conversation, "Which?", ["tea", "coffee", "water"]
    )
    assert server.chat_requests()[0]["top_logprobs"] == 20
    assert result.value[0] == pytest.approx(-0.1)
    assert result.value[0] > result.value[1] > result.value[2] > -math.inf


def test_multiple_choice_logits_works_with_the_default_config(conversation):
    result = _decisions.multiple_choice_logits(
        ScriptedModel(), AutogramConfig(), conversation, "Which?", ["a", "b"]
    )
    assert len(result.value) == 2 and all(-math.inf < v < 0 for v in result.value)


def test_multiple_choice_logits_sends_no_bias_for_a_model_tiktoken_does_not_know(
    server, conversation
):
    config = config_for(server, chatbot_path="fake")  # json mode; tiktoken has no "fake"
    result = _decisions.multiple_choice_logits(
        OpenAICompatModel(config), config, conversation, "Which?", ["tea", "coffee"]
    )
    body = server.chat_requests()[0]
    assert "logit_bias" not in body and body["top_logprobs"] == 20 and body["max_tokens"] == 1
    assert len(result.value) == 2


def test_unknown_keywords_are_refused_by_name(setup, conversation):
    _, config, model = setup
    with pytest.raises(
        TypeError, match="yes_or_no\\(\\) got an unexpected keyword argument 'article'"
    ):
        _decisions.yes_or_no(model, config, conversation, "q?", article="text")
