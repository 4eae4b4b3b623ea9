"""Decision forms (`autograms.models.choices`): calibrated label scores (the baseline asked once
per question), a GBNF grammar of the labels, and the structured-output form when a server
gives no scores."""

from __future__ import annotations

import math
import pickle

import pytest

from autograms import _decisions
from autograms.models import OpenAICompatModel
from autograms.models.choices import calibrated_choice, label_grammar, label_logprobs
from autograms.models.local_server import LocalModelServer
from tests.fakes.openai_server import Reply

from .conftest import config_for


def scores_reply(**logprobs: float) -> Reply:
    """A completion of one token whose top alternatives are `logprobs`."""
    top = [{"token": token, "logprob": value, "bytes": None} for token, value in logprobs.items()]
    first = max(logprobs, key=logprobs.get)
    return Reply(
        body={
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": "fake",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": first},
                    "finish_reason": "length",
                    "logprobs": {
                        "content": [
                            {"token": first, "logprob": logprobs[first], "bytes": None,
                             "top_logprobs": top}
                        ]
                    },
                }
            ],
        }
    )  # fmt: skip


@pytest.fixture
def scored(server):
    config = config_for(server)
    return server, config, OpenAICompatModel(config, decision_forms={server.base_url: "scored"})


def test_the_label_whose_score_rose_most_over_the_baseline_wins(scored, conversation):
    server, config, model = scored
    # asked plainly the model prefers No; without the user's words it prefers No even more
    server.script(scores_reply(Yes=-2.0, No=-1.0), scores_reply(Yes=-2.6, No=-0.9))
    result = _decisions.yes_or_no(model, config, conversation, "Is the user ready?")
    assert result.value is True
    decision, baseline = server.chat_requests()
    assert decision["max_tokens"] == 1 and decision["logprobs"] is True
    assert decision["top_logprobs"] == 20 and "response_format" not in decision
    assert "User: yes, I'm ready" in decision["messages"][-1]["content"]
    assert "User: N/A" in baseline["messages"][-1]["content"]
    assert result.calls[0].output_mode == "scored" and result.calls[0].attempts == 2
    assert result.text == "Yes"


def test_the_baseline_of_a_question_is_asked_once(scored, conversation):
    server, config, model = scored
    server.script(
        scores_reply(Yes=-1.0, No=-2.0),
        scores_reply(Yes=-1.5, No=-1.5),
        scores_reply(Yes=-3.0, No=-1.0),
    )
    assert _decisions.yes_or_no(model, config, conversation, "Ready?").value is True
    other = type(conversation)(
        conversation.system_prompt,
        [*conversation.turns[:-1], {"role": "user", "content": "not yet"}],
    )
    assert _decisions.yes_or_no(model, config, other, "Ready?").value is False
    assert len(server.chat_requests()) == 3  # two decisions, one baseline


def test_without_a_user_message_the_raw_scores_decide(scored, conversation):
    server, config, model = scored
    server.script(scores_reply(Yes=-2.0, No=-1.0))
    agent_only = type(conversation)(conversation.system_prompt, conversation.turns[:1])
    assert _decisions.yes_or_no(model, config, agent_only, "Ready?").value is False
    assert len(server.chat_requests()) == 1  # nothing to leave out: no baseline asked


def test_multiple_choice_scores_its_letters(scored, conversation):
    server, config, model = scored
    server.script(scores_reply(A=-1.0, B=-1.2, C=-4.0), scores_reply(A=-0.5, B=-1.5, C=-4.0))
    result = _decisions.multiple_choice(model, config, conversation, "Mood?", ["x", "y", "z"])
    assert result.value == 1  # B rose by 0.3, A fell by 0.5


def test_without_scores_the_decision_is_asked_for_as_structured_output(scored, conversation):
    server, config, model = scored
    server.script("Well, maybe.", '{"answer": "No"}')  # no logprobs at all
    assert _decisions.yes_or_no(model, config, conversation, "Ready?").value is False
    first, second = server.chat_requests()
    assert first["logprobs"] is True and "response_format" not in first
    assert second["response_format"]["type"] == "json_schema"


def test_a_gbnf_grammar_allows_only_the_labels(server, conversation):
    config = config_for(server)
    model = OpenAICompatModel(config, decision_forms={server.base_url: "gbnf"})
    server.script("No")
    assert _decisions.yes_or_no(model, config, conversation, "Ready?").value is False
    (body,) = server.chat_requests()
    assert body["grammar"] == 'root ::= "Yes" | "No"'
    assert "response_format" not in body
    assert model.decision_form() == "gbnf"


def test_decision_forms_survive_pickling_and_unknown_ones_are_refused(server):
    config = config_for(server)
    model = OpenAICompatModel(config, decision_forms={server.base_url: "scored"})
    assert pickle.loads(pickle.dumps(model)).decision_form() == "scored"
    assert OpenAICompatModel(config).decision_form() == "output"
    with pytest.raises(ValueError, match="unknown decision form 'magic'"):
        OpenAICompatModel(config, decision_forms={server.base_url: "magic"})


def test_label_scores_and_their_calibration():
    top = [(" yes", -1.0), ("Yes", -1.5), ("no", -2.0), ("maybe", -0.1)]
    assert label_logprobs(top, ["Yes", "No"]) == {"Yes": -1.0, "No": -2.0}
    assert label_logprobs([("maybe", -0.1)], ["Yes", "No"]) is None
    assert label_logprobs([("A", -1.0)], ["A", "B"]) == {"A": -1.0, "B": -30.0}
    assert calibrated_choice({"Yes": -1.0, "No": -2.0}, None) == "Yes"
    assert calibrated_choice({"Yes": -1.0, "No": -2.0}, {"Yes": -0.5, "No": -2.5}) == "No"
    assert calibrated_choice({"A": -1.0, "B": -1.0}, {"A": -1.0, "B": -1.0}) == "A"  # a tie
    assert calibrated_choice({"A": -math.inf, "B": -3.0}, None) == "B"
    assert label_grammar(["Yes", 'say "hi"', "café"]) == (
        'root ::= "Yes" | "say \\"hi\\"" | "café"'
    )


def test_the_local_model_decides_by_autograms_json_mode_request():
    """AutoGRAMS asks every server but OpenAI's in json mode: so does the local model (worded
    as AutoGRAMS words decisions, it scored best so: benchmarks/results/decisions.md)."""
    assert LocalModelServer.decision_form == "output"
