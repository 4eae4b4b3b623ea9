"""The history digest (`autograms.stores.history`) is the SHA-256 chain its docstring defines
-- each step over the previous digest, a newline and ``json.dumps([role, text],
ensure_ascii=False)`` -- for any text: checked against that definition on generated ones."""

from __future__ import annotations

import hashlib
import json
import random

from autograms.stores import history

#: characters a generated text is drawn from: JSON's escapes, controls, non-ASCII, astral
ALPHABET = 'ab \\"/\n\r\t\x00\x01\x1f\x7f\u00e9\u2028\u2029\u4e2d\U0001f600'


def _by_definition(messages: list[tuple[str, str]]) -> str:
    digest = ""
    for role, text in messages:
        step = digest + "\n" + json.dumps([role, text], ensure_ascii=False)
        digest = hashlib.sha256(step.encode()).hexdigest()
    return digest


def test_the_digest_is_the_chain_of_its_definition_for_generated_texts():
    rng = random.Random(8)
    for _ in range(300):
        messages = [
            (
                rng.choice(["user", "assistant"]),
                "".join(rng.choices(ALPHABET, k=rng.randint(0, 30))),
            )
            for _ in range(rng.randint(0, 6))
        ]
        assert history.of_messages(messages) == _by_definition(messages)
        split = rng.randint(0, len(messages))
        start = history.of_messages(messages[:split])
        assert history.extend(start, messages[split:]) == _by_definition(messages)


def test_a_known_digest_is_unchanged():
    """Digests stored on rows by earlier releases must still match."""
    expected = hashlib.sha256(b'\n["user", "hi"]').hexdigest()
    assert history.of_messages([("user", "hi")]) == expected
