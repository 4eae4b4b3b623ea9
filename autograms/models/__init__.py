"""The model layer: clients for OpenAI-compatible servers and the offline scripted model.

A `ChatModel` answers `ChatRequest` and `EmbeddingRequest` records; a `StreamingChatModel`
(both clients here are) also hands over a chat answer's text while it is generated.
`model_from_config` makes the one an Autogram uses: `OpenAICompatModel` normally,
`ScriptedModel` in test mode. No client is created, and no key is needed, until the first
call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names
from .errors import (
    DecisionError,
    ModelCallError,
    ModelConfigError,
    ModelError,
    StructuredOutputError,
)

if TYPE_CHECKING:
    from ..config import AutogramConfig
    from .openai_compat import OpenAICompatModel
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

#: Names imported from their module on first use: importing autograms (a fresh worker before
#: its first turn, issue 11) does not pay for the records and clients a turn may never use,
#: and the openai SDK takes ~0.5 s to import.
_LAZY = {
    **dict.fromkeys(
        (
            "ChatModel",
            "ChatRequest",
            "ChatResult",
            "EmbeddingRequest",
            "EmbeddingResult",
            "ModelCall",
            "OutputSpec",
            "Result",
            "StreamingChatModel",
        ),
        "records",
    ),
    "ScriptedModel": "scripted",
    "OpenAICompatModel": "openai_compat",
}

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
        from .scripted import ScriptedModel

        return ScriptedModel(seed=0 if seed is None else seed)
    from .openai_compat import OpenAICompatModel

    return OpenAICompatModel(config)


__getattr__, __dir__ = lazy_names(globals(), _LAZY)
