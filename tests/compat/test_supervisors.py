"""Supervisors (``supervisor=`` on any model helper) in supervisor mode and outside it."""

from __future__ import annotations

import pickle

import pytest

from autograms import Autogram, ConversationError, use_config
from autograms.supervisors import SupervisorError, SupervisorReturn, supervisable
from tests.compat.bots import supervised
from tests.compat.driver import converse


@pytest.fixture(autouse=True)
def fresh_counts() -> None:
    supervised.CALLS.clear()
    supervised.RESULTS.clear()


def test_supervisors_supply_the_answers_in_supervisor_mode() -> None:
    autogram = Autogram(supervised.chatbot, test_mode=True, supervisor_mode=True)
    run = converse(autogram, ["hello", "yes"])
    assert run.replies[0] == "Good day to you."
    assert run.replies[1:] == ["True 2 ['alpha', 'beta']"] * 2
    results = supervised.RESULTS
    assert results["summary"].startswith("Summary: ")
    assert results["pair"] == {"left": "LEFT", "right": "RIGHT"}
    assert results["numbers"] == ["0", "1", "2"]


def test_supervised_calls_are_logged_with_their_training_signal() -> None:
    autogram = Autogram(supervised.chatbot, test_mode=True, supervisor_mode=True)
    run = converse(autogram, ["hello"])
    supervised_entries = [e for e in run.entries("model") if e.get("supervisor_info")]
    by_helper = {e["helper"]: e["supervisor_info"] for e in supervised_entries}
    assert by_helper["reply_instruction"] == {
        "score": None,
        "rejected_output": "hey there",
        "tags": ["tone"],
    }
    assert by_helper["silent_thought"]["score"] == 0.9
    assert set(by_helper) >= {
        "yes_or_no",
        "multiple_choice",
        "generate_list",
        "generate_fixed_dict",
        "generate_fixed_list",
    }


def test_a_supervisors_own_thoughts_are_forgotten_after_it_returns() -> None:
    autogram = Autogram(supervised.chatbot, test_mode=True, supervisor_mode=True)
    _, memory = autogram.reply()
    turns = [t["content"] for level in memory.memory_dict["turn_stack"] for t in level["turns"]]
    assert "Private note of the supervisor." not in turns
    assert "Good day to you." in turns


def test_without_supervisor_mode_no_supervisor_runs() -> None:
    run = converse(Autogram(supervised.chatbot, test_mode=True), ["hello", "yes"])
    assert supervised.CALLS == {}
    assert run.replies[0] != "Good day to you."
    assert not [e for e in run.entries("model") if e.get("supervisor_info")]


def test_a_supervisor_may_not_reply() -> None:
    autogram = Autogram(supervised.misbehaving_supervisor_bot, test_mode=True, supervisor_mode=True)
    with pytest.raises(ConversationError, match="replying_supervisor"):
        autogram.reply(which="reply")


def test_a_supervisor_that_returns_nothing_is_named() -> None:
    autogram = Autogram(supervised.misbehaving_supervisor_bot, test_mode=True, supervisor_mode=True)
    with pytest.raises(SupervisorError, match="silent_supervisor") as caught:
        autogram.reply(which="none")
    assert caught.value.helper == "thought"


def test_supervisor_return_keeps_autograms_defaults_and_pickles() -> None:
    verdict = SupervisorReturn("text")
    assert (verdict.output, verdict.score, verdict.rejected_output, verdict.tags) == (
        "text",
        None,
        None,
        [],
    )
    assert pickle.loads(pickle.dumps(verdict)) == verdict
    assert type(verdict).__module__ == "autograms.supervisors"


@supervisable("selection")
def own_classifier(question, choices, _forced_output=None, _supervisor_info=None):
    return _forced_output, _supervisor_info


def test_supervisable_passes_the_forced_output_to_a_function_of_ones_own() -> None:
    pick = lambda question, choices: SupervisorReturn(1, score=1.0)  # noqa: E731
    with use_config(test_mode=True, supervisor_mode=True):
        forced, info = own_classifier("Which?", ["a", "b"], supervisor=pick)
    assert forced == "b" and info == {"score": 1.0, "rejected_output": None, "tags": []}
    with use_config(test_mode=True):
        assert own_classifier("Which?", ["a", "b"], supervisor=pick) == (None, None)
