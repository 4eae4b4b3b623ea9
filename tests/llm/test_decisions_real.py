"""Decisions on the real local model, in each decision form: every form answers with one of
the labels, and the calibrated scores ask a question's baseline once. Accuracy is measured by
`python -m benchmarks.decisions`, not asserted here (a 135M model varies)."""

from __future__ import annotations

import pytest

from autograms import _decisions
from autograms._prompts import Conversation

pytestmark = pytest.mark.llm


def conversation(user: str) -> Conversation:
    return Conversation(
        "You are a recruiter.",
        [
            {"role": "agent", "content": "Hi! Are you ready to start?"},
            {"role": "user", "content": user},
        ],
    )


@pytest.mark.parametrize("form", ["scored", "gbnf", "output"])
def test_every_decision_form_answers_with_a_label(llm_server, form):
    config = llm_server.chat_config(request_timeout=300)
    model = llm_server.chat_model(config, decision_form=form)
    first = _decisions.yes_or_no(model, config, conversation("Yes, let's go."), "Ready?")
    second = _decisions.yes_or_no(model, config, conversation("Not yet."), "Ready?")
    assert isinstance(first.value, bool) and isinstance(second.value, bool)
    assert first.calls[0].output_mode == (form if form != "output" else llm_server.output_mode)
    if form == "scored":
        assert first.calls[0].attempts == 2 and second.calls[0].attempts == 1  # one baseline
    choice = _decisions.multiple_choice(
        model, config, conversation("Let's move on."), "Next?", ["another problem", "move on"]
    )
    assert choice.value in (0, 1)
