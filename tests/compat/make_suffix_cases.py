"""Write data/reply-suffix-cases.json: random model answers and required suffixes with the reply
AutoGRAMS makes of them (its post_process_responses, as its reply_suffix calls it).

Run with the python of a venv holding the original package (AutoGRAMS 0.5.3 from PyPI; the
function is the same in 0.6.0), from a directory where this project is not importable:

    cd /tmp && ~/.cache/autograms/bench/autograms-py3.12.1/bin/python \
        /work/main/tests/compat/make_suffix_cases.py

The file is committed; tests/models/test_reply_suffix.py compares `splice_suffix` with it.
Answers on which the original raises (an answer that is empty after its "Label:") are left out.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "data" / "reply-suffix-cases.json"
CASES = 1000
WORDS = "the what is your name age why how do you a I am fine thanks Hello there job".split()
SUFFIXES = [
    "What is your name?",
    "What is your expected salary range?",
    "Have a nice day!",
    "Go on",
    "?",
    "Ok",
    "Could you tell me more about the last project you worked on and what your role was?",
    "Is there anything else I can help you with today, or shall we wrap up here for now?",
]


def random_suffix(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return rng.choice(SUFFIXES)
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 14))) + rng.choice("?.!")


def fragment(rng: random.Random, suffix: str) -> str:
    """A piece of the suffix as a model might echo it: whole, cut, bold, or re-cased."""
    start = rng.randint(0, len(suffix) // 2) if rng.random() < 0.4 else 0
    end = rng.randint(start, len(suffix)) if rng.random() < 0.4 else len(suffix)
    piece = suffix[start:end]
    if rng.random() < 0.2:
        piece = piece.lower()
    if rng.random() < 0.5:
        piece = f"**{piece}**"
    return piece


def random_answer(rng: random.Random, suffix: str) -> str:
    parts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 25)))]
    if rng.random() < 0.7:
        parts.append(fragment(rng, suffix))
    if rng.random() < 0.4:
        parts.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 12))) + ".")
    answer = rng.choice([" ", "\n", ". ", ""]).join(p for p in parts if p)
    if rng.random() < 0.3:
        answer = rng.choice(["Agent: ", "Here is my reply:", "Reply:\n", "  A:"]) + answer
    if rng.random() < 0.2:
        at = rng.randint(0, len(answer))
        answer = answer[:at] + ":" + answer[at:]
    if rng.random() < 0.1:
        answer = " " * rng.randint(1, 3) + answer
    return answer


def main() -> None:
    from autograms.autogram_utils.post_process_utils import post_process_responses

    rng = random.Random(20261207)
    cases = []
    while len(cases) < CASES:
        suffix = random_suffix(rng)
        answer = random_answer(rng, suffix)
        try:
            reply, _passed = post_process_responses([answer], suffix)
        except IndexError:
            continue  # the original fails on "Label:" with nothing after it
        cases.append({"answer": answer, "suffix": suffix, "reply": reply})
    lines = ",\n".join(json.dumps(case, ensure_ascii=False) for case in cases)
    OUT.write_text(f"[\n{lines}\n]\n")  # a case a line
    print(f"{len(cases)} cases -> {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
