"""reply_suffix's splice against AutoGRAMS' own: generated answers and suffixes with the reply
AutoGRAMS 0.5.3's post_process_responses made of them (tests/compat/make_suffix_cases.py wrote
the cases by running it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autograms._suffix import splice_suffix

CASES = json.loads(
    (
        Path(__file__).resolve().parents[1] / "compat" / "data" / "reply-suffix-cases.json"
    ).read_text()
)


def test_the_cases_cover_each_outcome():
    """Cut short, completed in place, and the suffix alone all occur among the cases."""
    alone = sum(case["reply"] == case["suffix"] for case in CASES)
    spliced = sum(case["reply"] != case["suffix"] for case in CASES)
    labelled = sum(":" in case["answer"][:80] for case in CASES)
    assert len(CASES) == 1000 and alone > 200 and spliced > 200 and labelled > 200


@pytest.mark.parametrize("batch", range(4))
def test_the_reply_is_autograms_reply(batch):
    for index in range(batch * 250, batch * 250 + 250):
        case = CASES[index]
        got = splice_suffix(case["answer"], case["suffix"])
        assert got == case["reply"], (index, case, got)


def test_a_label_with_nothing_after_it_gives_the_suffix():
    """AutoGRAMS raised IndexError on such an answer; here the answer is empty."""
    assert splice_suffix("Agent:", "Go on") == "Go on"


def test_without_a_suffix_only_the_label_goes():
    assert splice_suffix("Agent: **hi**", "") == "**hi**"
