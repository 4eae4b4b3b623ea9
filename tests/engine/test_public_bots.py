"""Bots written as a user writes them, driven through `Autogram.reply` turn by turn: resumed in
process, after serialize/deserialize, and in a fresh interpreter per turn, each says exactly
what its oracle says -- the same bot run with no pausing machinery, or, for GOTO, the same bot
written with loops."""

from __future__ import annotations

import pytest

from tests.engine.public_harness import MODES, transcript

#: bot -> (its oracle bot, the user's messages)
SAME_AS_ORACLE = {
    "pizza": ("pizza_loops", ["huge", "ok", "medium", "two", "ok", "3", "fine", "bye"]),
    "return_through_finally": ("return_through_finally", ["x", "y", "z"]),
    "introspection": ("introspection", ["a", "b", "c", "d", "e", "boom", "end"]),
    "deep": ("deep", ["x", "y"]),
    "constructor": ("constructor", ["large", "2", "salad", "small", "1", "done"]),
}

#: bot -> (the user's messages, the transcript spelled out)
SPELLED_OUT = {
    "goto_reads_unbound": (
        ["jump"],
        ["start", ["raised", "UnboundLocalError", ""]],
    ),
    "through_map": (["ok", "a1"], ["first", ["raised", "ContinuationError", "indirect call"]]),
    "through_map_first": (["a1"], [["raised", "ContinuationError", "indirect call"]]),
    "class_body": (["ok", "red"], ["first", ["raised", "ContinuationError", "class body"]]),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bot", sorted(SAME_AS_ORACLE))
def test_resumed_bot_says_what_its_oracle_says(bot: str, mode: str) -> None:
    oracle, script = SAME_AS_ORACLE[bot]
    expected = transcript(oracle, script, "reference")
    assert len(expected) > 2
    assert transcript(bot, script, mode) == expected


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bot", sorted(SPELLED_OUT))
def test_resumed_bot_says_the_spelled_out_transcript(bot: str, mode: str) -> None:
    script, expected = SPELLED_OUT[bot]
    assert transcript(bot, script, mode) == expected


def test_pizza_bot_total_after_going_back_twice() -> None:
    said = transcript("pizza", ["huge", "ok", "large", "many", "ok", "2", "fine"], "in_process")
    assert said[-2:] == ["2 x large", "That is 24 dollars. Anything else?"]


@pytest.mark.parametrize("mode", ["in_process", "serialized"])
def test_every_site_of_a_many_site_function_resumes_and_goto_reaches_both_halves(
    mode: str,
) -> None:
    # 24 sites and 12 labels: more than the resume entry and the GOTO dispatch test one by one
    messages = [f"m{k}" for k in range(1, 24)] + ["a20", "x", "y", "z", "a2", "w"]
    expected = ["s0 ", *(f"s{k} m{k}" for k in range(1, 24))]
    expected += ["s20 a20", "s21 x", "s22 y", "s23 z", "s2 a2", "s3 w"]
    assert transcript("many_sites", messages, mode) == expected
