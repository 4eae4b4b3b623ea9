"""An ``@autograms_chatbot`` root driven AutoGRAMS' documented way (``with
autogram.use_memory(memory): result = chatbot(user_reply=text)``), whose nested calls have
random ``conv_scope``s, replies and shows the history AutoGRAMS 0.6.0 did for the same bot
(recorded by chatbot_scopes.py in data/chatbot-scopes.json): a "normal" or "local" call's turns
leave the root's history when it returns, a "global" call's stay."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import autograms
from tests.compat.chatbot_scopes import generate_bot, load, run_bot

RECORDED = json.loads((Path(__file__).parent / "data" / "chatbot-scopes.json").read_text())


def as_sent_here(history: list) -> list:
    """AutoGRAMS' history with the one difference the README lists for it: a final
    instruction with no user message before it is ``INSTRUCTION: ...`` here, where AutoGRAMS
    wrote ``\\n\\nINSTRUCTION: ...``."""
    inputs, outputs = history
    last = inputs[-1]
    return [[*inputs[:-1], last[2:] if last.startswith("\n\nINSTRUCTION: ") else last], outputs]


@pytest.mark.parametrize("seed", sorted(RECORDED, key=int))
def test_a_chatbot_root_under_use_memory_shows_autograms_histories(seed, tmp_path):
    case = RECORDED[seed]
    source, messages = generate_bot(int(seed))
    assert messages == case["messages"], "the generator changed: record AutoGRAMS' runs again"
    name = f"chatbot_scopes_{seed}"
    try:
        module = load(source, name, str(tmp_path))
        ran = run_bot(module, messages, autograms)
    finally:
        sys.modules.pop(name, None)
    assert ran["replies"] == case["replies"], f"seed {seed}: the replies differ"
    for number, (ours, theirs) in enumerate(zip(ran["histories"], case["histories"], strict=False)):
        assert ours == as_sent_here(theirs), (
            f"seed {seed}: get_turn_history() number {number} differs"
        )
    assert len(ran["histories"]) == len(case["histories"]), f"seed {seed}"
