"""`OpenAICompatModel`: talks to OpenAI or any OpenAI-compatible server through the openai SDK.

One instance per config; it owns its SDK clients (made lazily, one per distinct server and
key). The SDK's own retries are switched off: retries happen here, on transient failures only,
and stop at the first success.

A server's refusal of a structured-output form (HTTP 400/422/500/501 naming the form) is not
transient: it is remembered for that server and model by every instance in the process
(`FormMemory`), so the refused form is sent once, not once per call or per Autogram. A refusal
of strict mode alone keeps ``json_schema`` without ``strict``. A caller that knows the form a
server accepts says so up front (``output_modes=``), and nothing is refused at all.

`stream` asks for the answer as server-sent events and hands each piece of text on as it
arrives; a failure before the first piece is retried like any call, one after it is not (the
pieces were handed on already). The SDK sends the request (auth, timeout, status errors); the
events are read here as plain JSON (`_events`), not as one SDK object per chunk, and to the
end of the response, so that the connection goes back to the pool.

Structured output request forms, tried in order until a server accepts one:

- ``json_schema``: OpenAI's ``response_format`` (strict when the schema allows it, then
  non-strict), accepted by OpenAI, vLLM, LocalAI, LiteLLM and llama.cpp's llama-server;
- ``json_object``: ``{"type": "json_object", "schema": ...}`` plus the schema in the prompt,
  the form of llama-cpp-python's server;
- ``prompt``: the schema in the prompt only;
- ``grammar``: TGI's ``{"type": "json", "value": schema}``, tried first for
  ``chatbot_type="huggingface_tgi"``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..config import AutogramConfig
from .choices import DECISION_FORMS, TOP_LOGPROBS, calibrated_choice, label_grammar, label_logprobs
from .endpoints import Endpoint, resolve_endpoint
from .errors import ModelCallError
from .records import (
    ChatRequest,
    ChatResult,
    EmbeddingRequest,
    EmbeddingResult,
    ModelCall,
    OutputSpec,
)
from .retry import Failure, RetriesExhausted, call_with_retry, is_transient_status
from .structured import schema_instruction, with_instruction
from .tokens import counter_for_model
from .usage import call_record, usage_counts

if TYPE_CHECKING:
    import openai

logger = logging.getLogger("autograms")


def _sdk() -> Any:
    """The openai SDK, imported by the first call that needs it: importing it takes ~0.45 s,
    which a fresh worker's first turn should pay only if it calls a model (issue 11)."""
    import openai

    return openai


#: structured-output request forms per dialect, in the order they are tried
OUTPUT_MODES = {
    "openai": ("json_schema", "json_object", "prompt"),
    "proxy": ("json_schema", "json_object", "prompt"),
    "huggingface_tgi": ("grammar", "prompt"),
}
#: texts in an error body that show the server refused the response_format itself
_FORMAT_REJECTION_MARKERS = ("response_format", "json_schema", "grammar")
#: model-name prefixes of OpenAI reasoning models (max_completion_tokens, no temperature)
_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")
#: texts per embeddings request
EMBEDDING_BATCH = 256
#: baseline scores of decisions kept per model object (one per question and agent message)
PRIORS_KEPT = 256


class OpenAICompatModel:
    """A `ChatModel` backed by OpenAI-compatible HTTP servers, configured by an AutogramConfig."""

    def __init__(
        self,
        config: AutogramConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        output_modes: Mapping[str, str] | None = None,
        decision_forms: Mapping[str, str] | None = None,
    ) -> None:
        """`output_modes` maps a server's base URL to the structured-output form it accepts
        (one of `OUTPUT_MODES`), `decision_forms` to the way its decisions are held to
        their options (one of `choices.DECISION_FORMS`; default ``output``), for servers
        whose abilities the caller knows."""
        self.config = config
        self._sleep = sleep
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], openai.OpenAI] = {}
        weakref.finalize(self, _let_go, self._clients)
        self._preset = {url.rstrip("/"): mode for url, mode in (output_modes or {}).items()}
        self._decision_forms = {
            url.rstrip("/"): _checked_form(form) for url, form in (decision_forms or {}).items()
        }
        #: (base URL, model, baseline messages as JSON) -> label scores, at most PRIORS_KEPT
        self._priors: dict[tuple[str, str, str], dict[str, float]] = {}

    def __repr__(self) -> str:
        return f"OpenAICompatModel(chatbot_type={self.config.chatbot_type!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.config, self._preset, self._decision_forms))

    def warm_up(self) -> None:
        """Load the openai SDK and make the chatbot's client now, so that the first call does
        not wait for them (a server does this before its first user comes)."""
        from openai.types import CompletionUsage  # noqa: F401  (what the calls use, loaded now)
        from openai.types.chat import ChatCompletion  # noqa: F401

        self._client(resolve_endpoint(self.config, "chatbot"))

    def close(self) -> None:
        """Close the HTTP connections (the model stays usable; they reopen on demand)."""
        with self._lock:
            clients = list(self._clients.values())
            self._clients.clear()
        for client in clients:
            client.close()

    def output_mode(self, role: str = "chatbot", model: str | None = None) -> str:
        """The structured-output form currently used for ``role``'s server (and `model`,
        default: the role's)."""
        endpoint = resolve_endpoint(self.config, role)
        return OUTPUT_MODES[endpoint.dialect][self._first_mode(endpoint, model or endpoint.model)]

    def _first_mode(self, endpoint: Endpoint, model: str) -> int:
        """Index in `OUTPUT_MODES` of the first form to try for `endpoint` and `model`."""
        modes = OUTPUT_MODES[endpoint.dialect]
        learnt = min(FORMS.first(endpoint.base_url, model), len(modes) - 1)
        preset = self._preset.get(endpoint.base_url)
        return max(learnt, modes.index(preset)) if preset in modes else learnt

    def decision_form(self, role: str = "classifier") -> str:
        """How decisions sent to ``role``'s server are held to their options."""
        endpoint = resolve_endpoint(self.config, role)
        return self._decision_forms.get(endpoint.base_url, "output")

    def complete(self, request: ChatRequest) -> ChatResult:
        """Answer one chat request (retrying transient failures)."""
        endpoint = resolve_endpoint(self.config, request.role)
        model = request.model or endpoint.model
        start = time.perf_counter()
        form = self._decision_forms.get(endpoint.base_url, "output")
        if request.kind == "decision" and request.choices and form != "output":
            decided = self._decide(endpoint, request, model, form)
            if decided is not None:
                response, attempts, text = decided
                return _chat_result(
                    response,
                    request,
                    endpoint,
                    model,
                    form,
                    attempts,
                    time.perf_counter() - start,
                    text=text,
                )
        if request.output is None:
            response, attempts = self._send(endpoint, request, _chat_params(request, model), None)
            mode = None
        else:
            response, attempts, mode = self._send_structured(
                endpoint, request, request.output, model
            )
        return _chat_result(
            response, request, endpoint, model, mode, attempts, time.perf_counter() - start
        )

    def stream(self, request: ChatRequest, on_text: Callable[[str], None]) -> ChatResult:
        """Answer one chat request as `complete` does, calling ``on_text(piece)`` with each
        piece of the answer's text as the server sends it. Structured output comes in one
        piece."""
        if request.output is not None:
            result = self.complete(request)
            on_text(result.text)
            return result
        endpoint = resolve_endpoint(self.config, request.role)
        model = request.model or endpoint.model
        params = {
            **_chat_params(request, model),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        client = self._client(endpoint)
        timeout = request.timeout if request.timeout is not None else self.config.request_timeout
        pieces = _Pieces(on_text)
        start = time.perf_counter()

        def send() -> Any:
            deadline = _deadline(timeout)
            response = _post_chat(client, params, timeout)
            try:
                on_text("")  # the server accepted the request: its answer follows
                return pieces.read(_events(response, deadline))
            finally:
                response.close()

        def classify(exc: Exception) -> Failure | None:
            failure = _classify(exc, None)
            if failure is not None and pieces.handed_on:
                return Failure(transient=False)  # part of this answer was handed on
            return failure

        try:
            summary, attempts = call_with_retry(
                send,
                endpoint.policy,
                classify,
                sleep=self._sleep,
                what=f"{endpoint.role} call to {endpoint.base_url}",
            )
        except RetriesExhausted as exhausted:
            error = _call_error(exhausted, endpoint, model, timeout)
            if pieces.handed_on:
                error = _broken_stream_error(error, len(pieces.texts))
            raise error from exhausted.error
        text = "".join(pieces.texts)
        counts = usage_counts(summary.usage, request.messages, text, counter_for_model(model))
        call = call_record(
            request,
            counts,
            model=summary.model or model,
            endpoint=endpoint.base_url,
            latency=time.perf_counter() - start,
            attempts=attempts,
            output_mode=None,
            finish_reason=summary.finish_reason,
            output=text,
        )
        return ChatResult(text=text, call=call)

    def embed(self, request: EmbeddingRequest) -> EmbeddingResult:
        """Embed texts, in batches of `EMBEDDING_BATCH`."""
        endpoint = resolve_endpoint(self.config, "embedding")
        model = request.model or endpoint.model
        start = time.perf_counter()
        vectors: list[list[float]] = []
        attempts = prompt_tokens = 0
        texts = list(request.texts)
        for first in range(0, len(texts), EMBEDDING_BATCH):
            # no encoding_format: the openai SDK then asks for base64 and decodes it, as
            # AutoGRAMS' requests did (a quarter of the bytes of JSON floats)
            params = {"model": model, "input": texts[first : first + EMBEDDING_BATCH]}
            if request.dimensions is not None:
                params["dimensions"] = request.dimensions
            response, tries = self._call(endpoint, "embeddings", params, request.timeout, None)
            attempts += tries
            vectors += [item.embedding for item in sorted(response.data, key=lambda d: d.index)]
            usage = getattr(response, "usage", None)
            prompt_tokens += getattr(usage, "prompt_tokens", 0) or 0
        call = ModelCall(
            kind="embedding",
            model=model,
            endpoint=endpoint.base_url,
            prompt_tokens=prompt_tokens,
            completion_tokens=0,  # an embedding writes no tokens: its usage totals its input
            latency=time.perf_counter() - start,
            attempts=max(attempts, 1),
            request={"texts": len(texts)},
        )
        return EmbeddingResult(vectors=vectors, call=call)

    def _decide(
        self, endpoint: Endpoint, request: ChatRequest, model: str, form: str
    ) -> tuple[Any, int, str | None] | None:
        """A decision in `form` ("gbnf" or "scored"): (response, attempts, the label chosen,
        or None to read it from the response); None when the server gave no label scores
        (the caller then asks in the ``output`` form)."""
        params = _chat_params(replace(request, output=None), model)
        if form == "gbnf":
            extra = dict(params.get("extra_body") or {})
            extra["grammar"] = label_grammar(request.choices)
            params["extra_body"] = extra
            response, attempts = self._send(endpoint, request, params, None)
            return response, attempts, None
        params.update(max_tokens=1, temperature=0, logprobs=True, top_logprobs=TOP_LOGPROBS)
        params.pop("max_completion_tokens", None)
        response, attempts = self._send(endpoint, request, params, None)
        scores = _label_scores(response, request.choices)
        if scores is None:
            logger.info("%s gave no scores for %s; asking for output", endpoint.base_url, model)
            return None
        baseline, tries = self._prior(endpoint, request, params)
        return response, attempts + tries, calibrated_choice(scores, baseline)

    def _prior(
        self, endpoint: Endpoint, request: ChatRequest, params: dict[str, Any]
    ) -> tuple[dict[str, float] | None, int]:
        """The label scores of the request's baseline messages (kept), and requests sent."""
        if request.baseline_messages is None:
            return None, 0
        key = (
            endpoint.base_url,
            str(params.get("model")),
            json.dumps(request.baseline_messages, sort_keys=True, default=str),
        )
        with self._lock:
            known = self._priors.get(key)
        if known is not None:
            return known, 0
        baseline = {**params, "messages": list(request.baseline_messages)}
        response, attempts = self._send(endpoint, request, baseline, None)
        scores = _label_scores(response, request.choices)
        if scores is not None:
            with self._lock:
                if len(self._priors) >= PRIORS_KEPT:
                    self._priors.pop(next(iter(self._priors)))
                self._priors[key] = scores
        return scores, attempts

    def _send_structured(
        self, endpoint: Endpoint, request: ChatRequest, spec: OutputSpec, model: str
    ) -> tuple[Any, int, str]:
        modes = OUTPUT_MODES[endpoint.dialect]
        index = self._first_mode(endpoint, model)
        attempts = 0
        while True:
            mode = modes[index]
            try:
                response, tries = self._send_mode(endpoint, request, spec, model, mode)
                return response, attempts + tries, mode
            except _FormatRejected as rejected:
                # "prompt", the last form, sends no response_format and is never rejected
                attempts += rejected.attempts
                index += 1
                FORMS.refused(endpoint.base_url, model, index)
                logger.warning(
                    "%s rejected structured output form %s for model %s (HTTP %s); "
                    "using %s from now on",
                    endpoint.base_url,
                    mode,
                    model,
                    rejected.error.status_code,
                    modes[index],
                )

    def _send_mode(
        self, endpoint: Endpoint, request: ChatRequest, spec: OutputSpec, model: str, mode: str
    ) -> tuple[Any, int]:
        params = _chat_params(request, model)
        if mode in ("json_object", "prompt"):
            params["messages"] = with_instruction(params["messages"], schema_instruction(spec))
        if mode == "prompt":
            return self._send(endpoint, request, params, None)
        strict = spec.strict and mode == "json_schema" and FORMS.strict(endpoint.base_url, model)
        try:
            params["response_format"] = _response_format(mode, spec, strict=strict)
            return self._send(endpoint, request, params, mode)
        except _FormatRejected as rejected:
            if not (strict and rejected.names_strict):
                raise
            FORMS.strict_refused(endpoint.base_url, model)
            params["response_format"] = _response_format(mode, spec, strict=False)
            try:
                response, tries = self._send(endpoint, request, params, mode)
            except _FormatRejected as again:
                again.attempts += rejected.attempts
                raise
            return response, tries + rejected.attempts

    def _send(
        self, endpoint: Endpoint, request: ChatRequest, params: dict[str, Any], mode: str | None
    ) -> tuple[Any, int]:
        return self._call(endpoint, "chat", params, request.timeout, mode)

    def _call(
        self,
        endpoint: Endpoint,
        api: str,
        params: dict[str, Any],
        timeout: float | None,
        mode: str | None,
    ) -> tuple[Any, int]:
        client = self._client(endpoint)
        timeout = timeout if timeout is not None else self.config.request_timeout

        def send() -> Any:
            if api == "chat":
                deadline = _deadline(timeout)
                return _completion(_post_chat(client, params, timeout), deadline)
            return client.embeddings.create(**params, timeout=timeout)

        try:
            return call_with_retry(
                send,
                endpoint.policy,
                lambda exc: _classify(exc, mode),
                sleep=self._sleep,
                what=f"{endpoint.role} call to {endpoint.base_url}",
            )
        except RetriesExhausted as exhausted:
            error = _call_error(exhausted, endpoint, params.get("model"), timeout)
            if exhausted.failure is _REJECTED:
                raise _FormatRejected(error, exhausted.attempts) from exhausted.error
            raise error from exhausted.error

    def _client(self, endpoint: Endpoint) -> openai.OpenAI:
        key = (endpoint.base_url, endpoint.api_key)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = _sdk().OpenAI(
                    base_url=endpoint.base_url,
                    api_key=endpoint.api_key,
                    max_retries=0,
                    timeout=self.config.request_timeout,
                )
                self._clients[key] = client
            return client


def _let_go(clients: dict[tuple[str, str], openai.OpenAI]) -> None:
    """Close and drop a model's SDK clients, when it is collected or at interpreter exit at
    the latest: one collected after the interpreter has torn its modules down fails in its
    ``__del__`` (the SDK's httpx wrapper reads a module global that is None by then) and
    prints "Exception ignored" on the way out."""
    held = list(clients.values())
    clients.clear()
    for client in held:
        client.close()


def _post_chat(client: openai.OpenAI, params: Mapping[str, Any], timeout: float | None) -> Any:
    """``client.chat.completions.create(**params, timeout=timeout)`` without the SDK's typed
    transform of the request body, which walks every message against the SDK's TypedDicts
    to rename and format fields that plain chat parameters do not have: it cost more than
    the rest of the turn (and grew with the conversation). `params` is plain JSON already;
    the SDK still sends it (auth, timeout, status errors) and returns the response unread:
    its body is read here (`_events`, `_completion`), within the call's deadline.
    ``extra_body``, ``extra_headers`` and ``extra_query`` mean what they mean to
    ``create``."""
    from openai.types.chat import ChatCompletion, ChatCompletionChunk

    body = dict(params)
    options: dict[str, Any] = {"timeout": timeout}
    body.update(body.pop("extra_body", None) or {})
    if "extra_headers" in body:
        options["headers"] = body.pop("extra_headers")
    if "extra_query" in body:
        options["params"] = body.pop("extra_query")
    options["headers"] = {**options.get("headers", {}), **_UNREAD_RESPONSE}
    return client.post(
        "/chat/completions",
        body=body,
        cast_to=ChatCompletion,
        options=options,  # type: ignore[arg-type]
        stream=bool(body.get("stream")),
        stream_cls=_sdk().Stream[ChatCompletionChunk],
    )


class _FormatRejected(Exception):
    """Internal: the server refused the structured-output form."""

    def __init__(self, error: ModelCallError, attempts: int) -> None:
        self.error = error
        self.attempts = attempts
        super().__init__(str(error))

    @property
    def names_strict(self) -> bool:
        """Whether the refusal is about strict mode (then the form itself may do)."""
        return "strict" in str(self.error).lower()


class FormMemory:
    """The structured-output forms servers refused, per (base URL, model), for the whole
    process: a refusal is a property of the server, not of one client or one session.
    Entries only grow (a form once refused is not tried again), under a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._first: dict[tuple[str, str], int] = {}
        self._no_strict: set[tuple[str, str]] = set()

    def first(self, base_url: str, model: str) -> int:
        """Index of the first form worth trying (0 until one was refused)."""
        with self._lock:
            return self._first.get((base_url, model), 0)

    def refused(self, base_url: str, model: str, next_index: int) -> None:
        """The forms before `next_index` were refused."""
        key = (base_url, model)
        with self._lock:
            self._first[key] = max(self._first.get(key, 0), next_index)

    def strict(self, base_url: str, model: str) -> bool:
        """Whether strict json_schema is still worth asking for."""
        with self._lock:
            return (base_url, model) not in self._no_strict

    def strict_refused(self, base_url: str, model: str) -> None:
        """Strict json_schema was refused (the form without strict may still do)."""
        with self._lock:
            self._no_strict.add((base_url, model))


#: what this process learnt about the servers it talked to
FORMS = FormMemory()


def _rebuild(
    config: AutogramConfig, preset: Mapping[str, str], forms: Mapping[str, str]
) -> OpenAICompatModel:
    return OpenAICompatModel(config, output_modes=preset, decision_forms=forms)


def _checked_form(form: str) -> str:
    if form not in DECISION_FORMS:
        raise ValueError(f"unknown decision form {form!r}: expected one of {DECISION_FORMS}")
    return form


def _label_scores(response: Any, labels: Sequence[str]) -> dict[str, float] | None:
    choices = getattr(response, "choices", None)
    if not choices:
        return None
    return label_logprobs(_top_logprobs(choices[0]), labels)


_REJECTED = Failure(transient=False)


@dataclass(frozen=True, slots=True)
class _StreamSummary:
    """What a streamed answer said besides its text."""

    model: str | None
    finish_reason: str | None
    usage: Any


#: the request header that makes the SDK return a response unread (the one its
#: ``with_streaming_response`` sets)
_UNREAD_RESPONSE = {"X-Stainless-Raw-Response": "stream"}


def _deadline(timeout: float | None) -> float | None:
    """When a call started now must be over: `timeout` bounds the whole request, not only
    each read (a server that trickles bytes would hold a read timeout off forever)."""
    return None if timeout is None else time.monotonic() + timeout


def _body(response: Any, deadline: float | None) -> Iterator[bytes]:
    """The body of the SDK's unread `response` as it arrives, ended at `deadline`. Errors
    are the SDK's: APITimeoutError past the deadline or a read timeout, APIConnectionError
    for a broken connection."""
    import httpx2  # the openai SDK's HTTP client, loaded with it

    openai = _sdk()
    request = response.http_response.request
    try:
        for chunk in response.http_response.iter_bytes():
            if deadline is not None and time.monotonic() > deadline:
                raise openai.APITimeoutError(request=request)
            yield chunk
    except httpx2.TimeoutException as exc:
        raise openai.APITimeoutError(request=request) from exc
    except httpx2.RequestError as exc:
        raise openai.APIConnectionError(request=request) from exc


def _completion(response: Any, deadline: float | None) -> Any:
    """The ChatCompletion of a call answered in one piece (read within `deadline`); a body
    that is not a JSON object is the SDK's APIResponseValidationError."""
    from openai.types.chat import ChatCompletion

    try:
        body = b"".join(_body(response, deadline))
    finally:
        response.close()
    data = _json(body, response)
    if not isinstance(data, Mapping):
        raise _sdk().APIResponseValidationError(
            response.http_response, data, message="the answer is not a JSON object"
        )
    return ChatCompletion.construct(**data)


def _json(text: str | bytes, response: Any) -> Any:
    """`text` parsed; text that is not JSON is the SDK's APIResponseValidationError."""
    try:
        return json.loads(text)
    except ValueError as exc:
        shown = text[:200].decode(errors="replace") if isinstance(text, bytes) else text[:200]
        raise _sdk().APIResponseValidationError(
            response.http_response, shown, message=f"the answer is not JSON: {shown!r}"
        ) from exc


def _events(response: Any, deadline: float | None = None) -> Iterator[dict[str, Any]]:
    """The JSON events of a streamed answer (`response`: the SDK's unread response), read
    within `deadline`.

    Errors are the SDK's own, as its ``Stream`` raises them: an event carrying ``error``
    raises APIError, a timeout APITimeoutError, a broken connection APIConnectionError. The
    body is read to its end after ``[DONE]`` (servers end it right there), so the connection
    is kept for the next call instead of being reset; a failure in that rest is ignored, the
    answer being whole."""
    openai = _sdk()
    data: list[str] = []
    done = False
    try:
        for line in _lines(_body(response, deadline)):
            if done:
                continue
            if line.startswith("data:"):
                data.append(line[6:] if line.startswith("data: ") else line[5:])
            elif not line and data:
                payload, data = "\n".join(data), []
                if payload.startswith("[DONE]"):
                    done = True
                    continue
                event = _json(payload, response)
                if isinstance(event, Mapping) and event.get("error"):
                    raise openai.APIError(
                        _stream_error(event["error"]),
                        response.http_response.request,
                        body=event["error"],
                    )
                yield event
    except (openai.APITimeoutError, openai.APIConnectionError):
        if not done:
            raise


def _lines(chunks: Iterator[bytes]) -> Iterator[str]:
    """The lines of a body (without their ``\\n`` or ``\\r\\n``), as they arrive."""
    rest = b""
    for chunk in chunks:
        rest += chunk
        *lines, rest = rest.split(b"\n")
        for line in lines:
            yield line.removesuffix(b"\r").decode()
    if rest:
        yield rest.removesuffix(b"\r").decode()


def _stream_error(error: Any) -> str:
    message = error.get("message") if isinstance(error, Mapping) else None
    return message if isinstance(message, str) and message else "An error occurred during streaming"


class _Pieces:
    """The text pieces of one streamed answer, handed on to `on_text` as they come."""

    def __init__(self, on_text: Callable[[str], None]) -> None:
        self.on_text = on_text
        self.texts: list[str] = []

    @property
    def handed_on(self) -> bool:
        return bool(self.texts)

    def read(self, events: Iterator[dict[str, Any]]) -> _StreamSummary:
        """Read the chunks of one attempt (an attempt that fails before its first piece
        leaves nothing behind)."""
        model = finish_reason = usage = None
        for chunk in events:
            model = model or chunk.get("model")
            usage = chunk.get("usage") or usage
            for choice in chunk.get("choices") or ():
                if choice.get("index", 0) != 0:
                    continue
                text = (choice.get("delta") or {}).get("content")
                if text:
                    self.texts.append(text)
                    self.on_text(text)
                finish_reason = choice.get("finish_reason") or finish_reason
        if finish_reason is None:
            raise _BrokenOff
        from openai.types import CompletionUsage

        counted = CompletionUsage.construct(**usage) if isinstance(usage, Mapping) else None
        return _StreamSummary(model, finish_reason, counted)


class _BrokenOff(Exception):
    """A streamed answer that ended without a finish reason: the server closed the stream
    mid-answer, so its text is not the whole answer."""


def _classify(exc: Exception, mode: str | None) -> Failure | None:
    if isinstance(exc, _BrokenOff):
        return Failure(transient=True)
    openai = _sdk()
    if isinstance(exc, openai.APIStatusError):
        if mode is not None and exc.status_code in (400, 422, 500, 501):
            text = f"{exc} {exc.body}".lower()
            if any(marker in text for marker in _FORMAT_REJECTION_MARKERS):
                return _REJECTED
        return Failure(is_transient_status(exc.status_code), _retry_after(exc.response.headers))
    if isinstance(exc, openai.APIConnectionError):
        return Failure(transient=True)
    if isinstance(exc, openai.APIResponseValidationError):
        return Failure(transient=False)
    if isinstance(exc, openai.APIError):  # an error event in a streamed answer
        return Failure(transient=True)
    return None


def _retry_after(headers: Mapping[str, str]) -> float | None:
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is not None:
            try:
                return float(value) * scale
            except ValueError:
                return None
    return None


def _call_error(
    exhausted: RetriesExhausted, endpoint: Endpoint, model: Any, timeout: float | None
) -> ModelCallError:
    exc = exhausted.error
    where = f"{endpoint.role} call to {endpoint.base_url}"
    openai = _sdk()
    status = getattr(exc, "status_code", None)
    if isinstance(exc, _BrokenOff):
        detail = "the streamed answer ended without a finish reason (the server closed it)"
    elif isinstance(exc, openai.APITimeoutError):
        detail = f"timed out after {timeout} s; raise request_timeout if the model is slow"
    elif isinstance(exc, openai.APIConnectionError):
        detail = (
            f"cannot connect ({exc.__cause__ or exc}); is the server running? "
            f"check {endpoint.settings}"
        )
    elif status is None and isinstance(exc, openai.APIError):
        detail = f"the server sent an error in the stream: {exc.message}"
    else:
        detail = f"HTTP {status}: {_error_text(exc)}{_status_hint(status, model, endpoint.role)}"
    return ModelCallError(
        f"{where} failed after {exhausted.attempts} attempt(s): {detail}",
        endpoint=endpoint.base_url,
        status_code=status,
        attempts=exhausted.attempts,
        transient=exhausted.failure.transient,
    )


def _broken_stream_error(error: ModelCallError, pieces: int) -> ModelCallError:
    return ModelCallError(
        f"{error} (the answer broke off after {pieces} streamed piece(s); not retried)",
        endpoint=error.endpoint,
        status_code=error.status_code,
        attempts=error.attempts,
        transient=True,
    )


def _error_text(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, Mapping):
        body = body.get("message") or body.get("error") or body
    return str(body if body else exc)[:300]


def _status_hint(status: int | None, model: Any, role: str) -> str:
    if status in (401, 403):
        return "; check api_key (or OPENAI_API_KEY for OpenAI)"
    if status == 404:
        setting = {"classifier": "classifier_path", "embedding": "embedding_path"}.get(
            role, "chatbot_path"
        )
        return f"; does the server serve model {model!r}? set {setting}"
    return ""


def _chat_params(request: ChatRequest, model: str) -> dict[str, Any]:
    params = {"model": model, "messages": list(request.messages), **request.params}
    if model.startswith(_REASONING_PREFIXES):
        params.pop("temperature", None)
        if "max_tokens" in params:
            params["max_completion_tokens"] = params.pop("max_tokens")
    return {key: value for key, value in params.items() if value is not None}


def _response_format(mode: str, spec: OutputSpec, *, strict: bool) -> dict[str, Any]:
    schema = dict(spec.schema)
    if mode == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": spec.name, "schema": schema, "strict": strict},
        }
    if mode == "json_object":
        return {"type": "json_object", "schema": schema}
    return {"type": "json", "value": schema}


def _chat_result(
    response: Any,
    request: ChatRequest,
    endpoint: Endpoint,
    model: str,
    mode: str | None,
    attempts: int,
    latency: float,
    *,
    text: str | None = None,
) -> ChatResult:
    if not response.choices:
        raise ModelCallError(
            f"{endpoint.role} call to {endpoint.base_url} returned no choices",
            endpoint=endpoint.base_url,
            attempts=attempts,
        )
    choice = response.choices[0]
    if text is None:
        text = choice.message.content or ""
    counts = usage_counts(
        getattr(response, "usage", None), request.messages, text, counter_for_model(model)
    )
    call = call_record(
        request,
        counts,
        model=getattr(response, "model", None) or model,
        endpoint=endpoint.base_url,
        latency=latency,
        attempts=attempts,
        output_mode=mode,
        finish_reason=choice.finish_reason,
        output=text,
    )
    return ChatResult(text=text, call=call, top_logprobs=_top_logprobs(choice))


def _top_logprobs(choice: Any) -> tuple[tuple[str, float], ...]:
    content = getattr(getattr(choice, "logprobs", None), "content", None)
    if not content:
        return ()
    return tuple((alt.token, alt.logprob) for alt in content[0].top_logprobs or ())
