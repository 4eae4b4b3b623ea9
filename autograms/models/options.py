"""Keyword arguments of the helpers: which ones shape the call and which go to the server.

AutoGRAMS passed every extra keyword straight to the API, so a stray argument failed deep in
the SDK. Here unknown keywords are refused up front, naming the helper and the argument.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..config import AutogramConfig

#: keywords sent to the server as request parameters
REQUEST_PARAMS = frozenset(
    {
        "temperature",
        "max_tokens",
        "max_completion_tokens",
        "top_p",
        "stop",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "extra_body",
        "reasoning_effort",
        "user",
    }
)
#: keywords that shape the call itself
CALL_OPTIONS = frozenset({"model", "timeout", "max_turns", "multi_modal_inputs"})


@dataclass(frozen=True)
class CallOptions:
    """A helper's keyword arguments, sorted."""

    #: model name overriding the config's
    model: str | None = None
    #: seconds one HTTP request may take
    timeout: float | None = None
    #: user turns of history to show (None: all that fit the budget)
    max_turns: int | None = None
    #: content parts (images ...) appended to the last user message
    multi_modal_inputs: Sequence[Mapping[str, Any]] | None = None
    #: request parameters given by the caller
    params: dict[str, Any] = field(default_factory=dict)


def split_kwargs(helper: str, kwargs: Mapping[str, Any]) -> CallOptions:
    """Sort ``kwargs`` of ``helper``; raises TypeError naming any unknown keyword."""
    for name in kwargs:
        if name not in REQUEST_PARAMS and name not in CALL_OPTIONS:
            raise TypeError(
                f"{helper}() got an unexpected keyword argument {name!r}: accepted are "
                f"{sorted(CALL_OPTIONS)} and request parameters {sorted(REQUEST_PARAMS)}"
            )
    return CallOptions(
        model=kwargs.get("model"),
        timeout=kwargs.get("timeout"),
        max_turns=kwargs.get("max_turns"),
        multi_modal_inputs=kwargs.get("multi_modal_inputs"),
        params={k: v for k, v in kwargs.items() if k in REQUEST_PARAMS},
    )


def chat_params(
    config: AutogramConfig, options: CallOptions, *, with_max_tokens: bool = True
) -> dict[str, Any]:
    """Request parameters of a chat or structured call: ``max_tokens``, overridden by the
    config's generation arguments, overridden by the caller's."""
    params: dict[str, Any] = {}
    if with_max_tokens and config.max_tokens is not None:
        params["max_tokens"] = config.max_tokens
    params.update(config.chatbot_generation_args or {})
    params.update(options.params)
    return params
