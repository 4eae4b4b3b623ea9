"""Bots written as a user writes them, driven through `Autogram.reply` turn by turn: resumed in
process, after serialize/deserialize, and in a fresh interpreter per turn, each says exactly
what its oracle says -- the same bot run with no pausing machinery, or, for GOTO, the same bot
written with loops."""

from __future__ import annotations

import pytest

from tests.engine.public_harness import MODES, transcript

#: bot -> (its oracle bot, the user's messages)
SAME_AS_ORACLE = {
    "return_through_finally": ("return_through_finally", ["x", "y", "z"]),
}

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bot", sorted(SAME_AS_ORACLE))
def test_resumed_bot_says_what_its_oracle_says(bot: str, mode: str) -> None:
    oracle, script = SAME_AS_ORACLE[bot]
    expected = transcript(oracle, script, "reference")
    assert len(expected) > 2
    assert transcript(bot, script, mode) == expected
