"""The model layer: clients for OpenAI-compatible servers and the offline scripted model.

A `ChatModel` answers `ChatRequest` and `EmbeddingRequest` records; a `StreamingChatModel`
(both clients here are) also hands over a chat answer's text while it is generated.
`model_from_config` makes the one an Autogram uses: `OpenAICompatModel` normally,
`ScriptedModel` in test mode. No client is created, and no key is needed, until the first
call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config import AutogramConfig
from .errors import (
    DecisionError,
    ModelCallError,
    ModelConfigError,
    ModelError,
    StructuredOutputError,
)
from .records import (
    ChatModel,
    ChatRequest,
    ChatResult,
    EmbeddingRequest,
    EmbeddingResult,
    ModelCall,
    OutputSpec,
    Result,
    StreamingChatModel,
)
from .scripted import ScriptedModel

if TYPE_CHECKING:
    from .openai_compat import OpenAICompatModel

__all__ = [
    "ChatModel",
    "ChatRequest",
    "ChatResult",
    "DecisionError",
    "EmbeddingRequest",
    "EmbeddingResult",
    "ModelCall",
    "ModelCallError",
    "ModelConfigError",
    "ModelError",
    "OpenAICompatModel",
    "OutputSpec",
    "Result",
    "ScriptedModel",
    "StreamingChatModel",
    "StructuredOutputError",
    "model_from_config",
]


def model_from_config(
    config: AutogramConfig, *, test_mode: bool = False, seed: int | None = None
) -> ChatModel:
    """The model an Autogram with ``config`` uses: a `ScriptedModel` (seeded with ``seed``,
    default 0) in test mode, else an `OpenAICompatModel`."""
    if test_mode:
        return ScriptedModel(seed=0 if seed is None else seed)
    from .openai_compat import OpenAICompatModel

    return OpenAICompatModel(config)


def __getattr__(name: str) -> object:
    # The openai SDK takes ~0.5 s to import; test mode never needs it.
    if name == "OpenAICompatModel":
        from .openai_compat import OpenAICompatModel

        return OpenAICompatModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
