"""`ScriptedModel`: an offline, deterministic model for tests and trajectory debugging.

Every answer is derived from the seed and the request's content (never from a hidden call
counter), so the same program run with the same seed gives the same answers even when each
turn runs in a new process.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .records import ChatRequest, ChatResult, EmbeddingRequest, EmbeddingResult

# The records, schemas and token counting a call needs are imported by the first call: test
# mode makes a ScriptedModel for every Autogram's first turn, which may call no model.

#: handler signature: return the raw answer text (dicts and lists are sent as JSON), or
#: None to let the scripted model answer
Handler = Callable[["ChatRequest"], "str | dict[str, Any] | list[Any] | None"]

DEFAULT_EMBEDDING_DIM = 1536
#: the pieces `ScriptedModel.stream` hands over: words with the spaces around them
_WORDS = re.compile(r"\s*\S+\s*|\s+")
#: writes what seeds an answer (one encoder: json.dumps with options builds one per call)
_SEED_ENCODER = json.JSONEncoder(sort_keys=True, default=str)


class ScriptedModel:
    """Answers every request without a network.

    ``handler(request)`` may answer any request itself (return text, or a dict/list for
    structured requests); when it returns None, or when there is no handler:

    - chat requests get ``"[scripted reply <n>]"``, n derived from the seed and prompt;
    - decisions pick one of ``request.choices`` at random (seeded);
    - structured requests get a random instance of the schema (seeded);
    - embeddings are unit vectors derived from the seed and the text.

    `stream` hands the same answers over in pieces, a word at a time.
    """

    def __init__(
        self,
        handler: Handler | None = None,
        seed: int = 0,
        *,
        embedding_dim: int = DEFAULT_EMBEDDING_DIM,
    ) -> None:
        self.handler = handler
        self.seed = seed
        self.embedding_dim = embedding_dim

    def __repr__(self) -> str:
        return f"ScriptedModel(handler={self.handler!r}, seed={self.seed})"

    def complete(self, request: ChatRequest) -> ChatResult:
        """Answer one chat request."""
        from .records import ChatResult, ModelCall
        from .usage import request_summary

        start = time.perf_counter()
        answer = self.handler(request) if self.handler is not None else None
        if answer is None:
            answer = self._default_answer(request)
        text = answer if isinstance(answer, str) else json.dumps(answer)
        top = self._top_logprobs(request) if request.params.get("logprobs") else ()
        call = ModelCall(
            kind=request.kind,
            model=request.model or "scripted",
            endpoint="scripted",
            prompt_tokens=0,
            completion_tokens=0,
            cached_tokens=0,
            latency=time.perf_counter() - start,
            output_mode="json_schema" if request.output is not None else None,
            finish_reason="stop",
            request=request_summary(request),
            output=text,
            sent=request,
        )
        return ChatResult(text=text, call=call, top_logprobs=top)

    def stream(self, request: ChatRequest, on_text: Callable[[str], None]) -> ChatResult:
        """Answer as `complete` does, handing the text to ``on_text`` a word at a time."""
        result = self.complete(request)
        for piece in _WORDS.findall(result.text):
            on_text(piece)
        return result

    def embed(self, request: EmbeddingRequest) -> EmbeddingResult:
        """Embed texts as seeded unit vectors (equal texts give equal vectors)."""
        from .records import EmbeddingResult, ModelCall

        size = request.dimensions or self.embedding_dim
        vectors = [self._vector(text, size) for text in request.texts]
        call = ModelCall(
            kind="embedding",
            model=request.model or "scripted",
            endpoint="scripted",
            prompt_tokens=0,
            completion_tokens=0,
            request={"texts": len(request.texts)},
        )
        return EmbeddingResult(vectors=vectors, call=call)

    def _rng(self, *parts: Any) -> random.Random:
        text = _SEED_ENCODER.encode([self.seed, *parts])
        return random.Random(hashlib.sha256(text.encode()).digest())

    def _default_answer(self, request: ChatRequest) -> str | dict[str, Any]:
        rng = self._rng(request.kind, request.messages, request.choices)
        if request.output is not None:
            from .structured import sample_instance

            return sample_instance(request.output.schema, rng)
        if request.choices:
            return rng.choice(request.choices)
        return f"[scripted reply {rng.randrange(10000)}]"

    def _top_logprobs(self, request: ChatRequest) -> tuple[tuple[str, float], ...]:
        rng = self._rng("logprobs", request.messages, request.choices)
        weights = [rng.random() + 1e-6 for _ in request.choices]
        total = sum(weights)
        pairs = [
            (label, math.log(weight / total))
            for label, weight in zip(request.choices, weights, strict=True)
        ]
        return tuple(sorted(pairs, key=lambda pair: -pair[1]))

    def _vector(self, text: str, size: int) -> list[float]:
        rng = self._rng("embedding", text)
        values = [rng.gauss(0.0, 1.0) for _ in range(size)]
        norm = math.sqrt(sum(v * v for v in values)) or 1.0
        return [v / norm for v in values]
