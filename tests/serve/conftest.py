"""Fixtures of the service tests: a fake model on loopback and `autograms serve` processes
talking to it (one per test module where the tests can share it)."""

from __future__ import annotations

import pytest

from tests.serve.server import ServeProcess, model_config, start_model


@pytest.fixture(autouse=True)
def no_openai_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach api.openai.com or pick up a developer's key."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AUTOGRAMS_API_KEYS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def model():
    """The fake model: replies depend on the whole conversation, streamed word by word."""
    server = start_model(token_delay=0.002)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def config(model):
    return model_config(model)


@pytest.fixture(scope="module")
def service(tmp_path_factory, config):
    """`autograms serve` with the streaming bot on SQLite, no API keys."""
    process = ServeProcess(tmp_path_factory.mktemp("serve"), config=config).start()
    yield process
    process.stop()
