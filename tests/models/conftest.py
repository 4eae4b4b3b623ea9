"""Fixtures of the model-layer tests: fake servers on 127.0.0.1 and configs pointing at them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from autograms._prompts import Conversation
from autograms.config import AutogramConfig
from tests.fakes.openai_server import FakeOpenAIServer


@pytest.fixture(autouse=True)
def no_openai_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach api.openai.com or pick up a developer's key."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def make_server() -> Iterator[Any]:
    servers: list[FakeOpenAIServer] = []

    def make(dialect: str = "openai", **options: Any) -> FakeOpenAIServer:
        server = FakeOpenAIServer(dialect, **options).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def server(make_server: Any) -> FakeOpenAIServer:
    return make_server("openai")


def config_for(server: FakeOpenAIServer, **overrides: Any) -> AutogramConfig:
    """A config whose every role talks to ``server``, with no waits between retries."""
    settings: dict[str, Any] = dict(
        chatbot_type="proxy",
        base_url=server.base_url,
        chatbot_path="fake",
        chatbot_wait_per_try=0,
        classifier_wait_per_try=0,
        request_timeout=10,
    )
    settings.update(overrides)
    return AutogramConfig(**settings)


@pytest.fixture
def conversation() -> Conversation:
    return Conversation(
        system_prompt="You are a recruiter.",
        turns=[
            {"role": "agent", "content": "Hi! Are you ready to start?"},
            {"role": "user", "content": "yes, I'm ready"},
        ],
    )
