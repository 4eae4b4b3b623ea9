"""Which server, key and model each kind of call goes to, resolved from an `AutogramConfig`.

Resolution happens at call time, not at construction, so building an Autogram never needs a
key; a call without a usable endpoint raises `ModelConfigError` naming the setting to fix.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..config import AutogramConfig
from .errors import ModelConfigError
from .retry import RetryPolicy

#: the OpenAI API
OPENAI_BASE_URL = "https://api.openai.com/v1"
#: key sent to servers that need none (AutoGRAMS sent the same)
PLACEHOLDER_KEY = "default"


@dataclass(frozen=True)
class Endpoint:
    """A resolved server for one role."""

    #: "chatbot", "classifier" or "embedding"
    role: str
    #: base URL ending in /v1 (or wherever the server's OpenAI routes are)
    base_url: str
    #: key sent as the bearer token
    api_key: str = field(repr=False)
    #: "openai", "proxy" or "huggingface_tgi": decides the structured-output request form
    dialect: str
    #: default model name for this role
    model: str
    #: retry policy of this role
    policy: RetryPolicy
    #: the config fields that name this server (for error hints)
    settings: str = "base_url / chatbot_proxy_port"


def resolve_endpoint(
    config: AutogramConfig, role: str, environ: Mapping[str, str] = os.environ
) -> Endpoint:
    """The `Endpoint` for ``role`` ("chatbot", "classifier" or "embedding")."""
    if role == "chatbot":
        dialect, url, port, key = (
            config.chatbot_type,
            config.base_url,
            config.chatbot_proxy_port,
            config.api_key,
        )
        model = config.chatbot_path
    elif role == "classifier":
        dialect, url, port, key = _classifier_route(config)
        model = config.resolved_classifier_path
    elif role == "embedding":
        dialect, url, port, key = _embedding_route(config)
        model = config.embedding_path
    else:
        raise ValueError(f"unknown model role {role!r}: use chatbot, classifier or embedding")
    base_url, api_key = _url_and_key(dialect, url, port, key, role, environ)
    own = role != "chatbot" and (url, port) != (config.base_url, config.chatbot_proxy_port)
    settings = f"{role}_base_url / {role}_proxy_port" if own else Endpoint.settings
    policy = _policy(config, role)
    return Endpoint(role, base_url.rstrip("/"), api_key, dialect, model, policy, settings)


def _classifier_route(config: AutogramConfig) -> tuple[str, str | None, int | None, str | None]:
    dialect = config.resolved_classifier_type
    url, port = config.classifier_base_url, config.classifier_proxy_port
    key = config.classifier_api_key
    if url is None and port is None and dialect == config.chatbot_type:
        return dialect, config.base_url, config.chatbot_proxy_port, key or config.api_key
    return dialect, url, port if port is not None else config.chatbot_proxy_port, key


def _embedding_route(config: AutogramConfig) -> tuple[str, str | None, int | None, str | None]:
    url, port = config.embedding_base_url, config.embedding_proxy_port
    key = config.embedding_api_key
    if url is not None or port is not None:
        return config.embedding_type or "proxy", url, port, key or config.api_key
    default = {"openai": "openai", "proxy": "proxy"}.get(config.chatbot_type)
    dialect = config.embedding_type or default
    if dialect is None:
        raise ModelConfigError(
            "embedding_base_url",
            f"no embeddings endpoint: chatbot_type {config.chatbot_type!r} has no embeddings; "
            "set embedding_base_url, embedding_proxy_port or embedding_type='openai'",
        )
    if dialect == config.chatbot_type:
        return dialect, config.base_url, config.chatbot_proxy_port, key or config.api_key
    return dialect, None, config.chatbot_proxy_port, key


def _url_and_key(
    dialect: str,
    url: str | None,
    port: int | None,
    key: str | None,
    role: str,
    environ: Mapping[str, str],
) -> tuple[str, str]:
    if url is None:
        url = (
            environ.get("OPENAI_BASE_URL") or OPENAI_BASE_URL
            if dialect == "openai"
            else f"http://localhost:{port}/v1"
        )
        is_openai = dialect == "openai"
    else:
        is_openai = urlsplit(url).hostname == urlsplit(OPENAI_BASE_URL).hostname
    if key is not None:
        return url, key
    if not is_openai:
        return url, PLACEHOLDER_KEY
    env_key = environ.get("OPENAI_API_KEY")
    if not env_key:
        raise ModelConfigError(
            "OPENAI_API_KEY",
            f"no API key for the {role} endpoint {url}: set the OPENAI_API_KEY environment "
            "variable or AutogramConfig(api_key=...); for a local OpenAI-compatible server set "
            "AutogramConfig(chatbot_type='proxy', base_url='http://HOST:PORT/v1')",
        )
    return url, env_key


def _policy(config: AutogramConfig, role: str) -> RetryPolicy:
    if role == "classifier":
        return RetryPolicy(config.classifier_max_tries, config.classifier_wait_per_try)
    return RetryPolicy(config.chatbot_max_tries, config.chatbot_wait_per_try)
