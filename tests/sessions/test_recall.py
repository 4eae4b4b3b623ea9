"""`autograms._recall.holds`: a text's part compared in place with pieces joined by a
separator, as the memos of session parts read back what this process wrote."""

from __future__ import annotations

import itertools
import random

import pytest

from autograms._recall import holds


@pytest.mark.parametrize("separator", ["", ",", "::"])
def test_holds_agrees_with_joining_the_pieces(separator: str) -> None:
    rng = random.Random(11)
    alphabet = "ab,:"
    for _ in range(3000):
        pieces = tuple(
            "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 4)))
            for _ in range(rng.randrange(0, 5))
        )
        joined = separator.join(pieces)
        # the joined text itself, within surroundings, and near misses of it
        candidates = [joined, joined[:-1], joined + ",", joined[1:]]
        candidates += ["".join(rng.choice(alphabet) for _ in range(len(joined)))]
        for middle in candidates:
            before, after = rng.choice(["", "x", ",:"]), rng.choice(["", "y", ":,"])
            text = before + middle + after
            start, end = len(before), len(before) + len(middle)
            assert holds(text, start, end, pieces, separator) == (middle == joined)


def test_holds_never_reads_past_the_end_it_is_given() -> None:
    for pieces in itertools.product(["", "a"], repeat=3):
        text = ",".join(pieces)
        for end in range(len(text)):
            assert not holds(text + ",a,a", 0, end, pieces, ",")
