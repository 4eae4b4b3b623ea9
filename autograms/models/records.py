"""Plain records passed between the helpers and the model clients, and the `ChatModel` protocol."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

T = TypeVar("T")

#: kinds of chat request; a model may answer each differently
CHAT_KINDS = ("chat", "decision", "structured")
#: endpoints a request can be routed to
ROLES = ("chatbot", "classifier", "embedding")


@dataclass(frozen=True)
class OutputSpec:
    """The JSON shape a structured request asks for."""

    #: schema name sent to the server (letters, digits, _ and -)
    name: str
    #: JSON schema of the answer (an object at the top level)
    schema: Mapping[str, Any]
    #: ask the server for strict schema adherence (only if the schema allows it)
    strict: bool = True
    #: pydantic model the answer is validated into, if the caller gave one
    pydantic_model: Any = None
    #: schema the answer is validated against when it differs from the one sent (the
    #: caller's original of a schema made strict)
    validation_schema: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ChatRequest:
    """One logical chat-completion call."""

    #: OpenAI-style messages
    messages: Sequence[Mapping[str, Any]]
    #: "chat" (free text), "decision" (pick one of ``choices``) or "structured" (JSON)
    kind: str = "chat"
    #: endpoint to use: "chatbot" or "classifier"
    role: str = "chatbot"
    #: model name (None: the client's default for the role)
    model: str | None = None
    #: request parameters (temperature, max_tokens, logit_bias, logprobs ...)
    params: Mapping[str, Any] = field(default_factory=dict)
    #: JSON shape for structured and json-mode decision requests
    output: OutputSpec | None = None
    #: answer labels of a decision ("Yes"/"No" or "A", "B" ...)
    choices: tuple[str, ...] = ()
    #: seconds one HTTP request may take (None: the client's default)
    timeout: float | None = None
    #: for a decision: the same prompt with the user's words left out, which a model that
    #: scores the labels uses to calibrate them (see `autograms.models.choices`)
    baseline_messages: Sequence[Mapping[str, Any]] | None = None


@dataclass(frozen=True)
class EmbeddingRequest:
    """One logical embeddings call."""

    #: texts to embed
    texts: Sequence[str]
    #: model name (None: the client's default)
    model: str | None = None
    #: seconds one HTTP request may take (None: the client's default)
    timeout: float | None = None
    #: length of the vectors, for models that can shorten them (None: the model's own)
    dimensions: int | None = None


@dataclass(frozen=True)
class ModelCall:
    """What one logical model call cost and returned; plain data for logs and sessions."""

    #: "chat", "decision", "structured" or "embedding"
    kind: str
    #: model name reported by the server (or the one requested)
    model: str
    #: base URL of the server, or "scripted"
    endpoint: str
    #: prompt tokens from the API usage field (estimated if the server sent none)
    prompt_tokens: int | None = None
    #: completion tokens from the API usage field
    completion_tokens: int | None = None
    #: prompt tokens served from the server's cache (None: not reported)
    cached_tokens: int | None = None
    #: True if the token counts were estimated locally because the server sent no usage
    usage_estimated: bool = False
    #: wall-clock seconds of the call, retries included
    latency: float = 0.0
    #: HTTP requests sent (1 when the first one succeeded)
    attempts: int = 1
    #: how structured output was requested: "json_schema", "json_object", "grammar", "prompt"
    output_mode: str | None = None
    #: finish reason of the first choice
    finish_reason: str | None = None
    #: the server's usage fields beyond the three counts (``completion_tokens_details``,
    #: ``prompt_tokens_details`` ...), as plain data (None: it sent none)
    usage_details: Mapping[str, Any] | None = None
    #: summary of the request: message count, characters, parameters
    request: Mapping[str, Any] = field(default_factory=dict)
    #: raw text of the answer (empty for embeddings)
    output: str = ""
    #: the request as the model was asked it (its messages, choices and output schema), for a
    #: log that keeps what each call sent (None: the model did not say); not in `to_dict`
    sent: ChatRequest | None = field(default=None, compare=False, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        # `sent` is for the log entry made at once: a pickled record (an error held in a
        # paused program's locals) leaves it out, with the prompt and any class it names
        return {**self.__dict__, "sent": None}

    def to_dict(self) -> dict[str, Any]:
        """The record as a plain dict (what `dataclasses.asdict` gives, without its
        recursion through every value when they are plain data: every model call is logged),
        without `sent`."""
        record = {name: getattr(self, name) for name in _MODEL_CALL_FIELDS}
        for name, value in record.items():
            if type(value) not in _ATOMS:
                copied = _plain_copy(value)
                if copied is _NOT_PLAIN:
                    record = dataclasses.asdict(dataclasses.replace(self, sent=None))
                    del record["sent"]
                    return record
                record[name] = copied
        return record


_MODEL_CALL_FIELDS = tuple(
    item.name for item in dataclasses.fields(ModelCall) if item.name != "sent"
)
_ATOMS = frozenset({str, int, float, bool, type(None)})
_NOT_PLAIN = object()


def _plain_copy(value: Any) -> Any:
    """A copy of dicts, lists and tuples of plain values (as `dataclasses.asdict` copies
    them), or `_NOT_PLAIN` if `value` holds anything else."""
    kind = type(value)
    if kind in _ATOMS:
        return value
    if kind is dict:
        copied = {}
        for key, item in value.items():
            key, item = _plain_copy(key), _plain_copy(item)
            if key is _NOT_PLAIN or item is _NOT_PLAIN:
                return _NOT_PLAIN
            copied[key] = item
        return copied
    if kind is list or kind is tuple:
        items = [_plain_copy(item) for item in value]
        if any(item is _NOT_PLAIN for item in items):
            return _NOT_PLAIN
        return items if kind is list else tuple(items)
    return _NOT_PLAIN


@dataclass(frozen=True)
class ChatResult:
    """The answer to a `ChatRequest`."""

    #: text of the first choice
    text: str
    #: cost and metadata of the call
    call: ModelCall
    #: (token, logprob) alternatives of the first generated token, if logprobs were asked for
    top_logprobs: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class EmbeddingResult:
    """The answer to an `EmbeddingRequest`."""

    #: one vector per input text, in order
    vectors: list[list[float]]
    #: cost and metadata of the call
    call: ModelCall


@dataclass(frozen=True)
class Result(Generic[T]):
    """What a helper returns: its value plus the model calls it made."""

    #: the helper's answer
    value: T
    #: model calls made, in order (empty when no call was needed)
    calls: tuple[ModelCall, ...] = ()
    #: the last raw model output ("" when no call was made)
    text: str = ""


@runtime_checkable
class ChatModel(Protocol):
    """Anything that answers chat and embedding requests: a real client or a scripted one."""

    def complete(self, request: ChatRequest) -> ChatResult:
        """Answer one chat request."""
        ...

    def embed(self, request: EmbeddingRequest) -> EmbeddingResult:
        """Embed texts."""
        ...


@runtime_checkable
class StreamingChatModel(ChatModel, Protocol):
    """A `ChatModel` that can also hand over a chat answer's text while it is generated."""

    def stream(self, request: ChatRequest, on_text: Callable[[str], None]) -> ChatResult:
        """Answer one chat request as `complete` does, calling ``on_text(piece)`` with each
        piece of the answer's text as it arrives (the pieces joined are the answer's text).
        A request for structured output is answered in one piece. A model whose server
        answers before it writes may say so with ``on_text("")``, before the first piece:
        a consumer can then commit to answering (the HTTP service sends its response's
        status and headers)."""
        ...
