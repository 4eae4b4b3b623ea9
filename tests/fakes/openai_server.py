"""A loopback fake of OpenAI-compatible servers, speaking the dialects of several of them.

Real HTTP on 127.0.0.1 (stdlib ThreadingHTTPServer, HTTP/1.1 keep-alive, Nagle off: without
that each call takes ~50 ms). Every request is recorded. Answers come from, in order: the
queue of `Reply` objects given to `script()`, the ``responder`` callable, or defaults:

- embeddings: vectors of `EMBEDDING_DIM` derived from each text, in base64 (float32) when the
  request asks for that encoding (as the openai SDK does unless told otherwise);
- ``response_format`` json_schema / json_object+schema / TGI grammar: the first-choice
  instance of the schema (enum → first value, anyOf → first branch, arrays of one item);
- ``logit_bias`` with ``max_tokens=1`` (dialects that honour it): the most-biased token;
- otherwise ``fake reply #<number of messages> to: <end of the last message>``.

``stream: true`` chat requests get the same content as server-sent events: one
``chat.completion.chunk`` per word (``token_delay`` seconds apart, the first after
``first_token_delay``), a last chunk with the finish reason, a usage chunk when
``stream_options.include_usage`` asks for one, then ``data: [DONE]``. A non-streamed answer
comes as late as its stream would have ended. A `Reply` with ``cut_after=N`` drops the
connection after N words; with ``error_event`` too, it sends that error as an event there
instead (as OpenAI does when an answer fails midway) and ends the stream. ``connections``
counts the connections clients opened.

Dialects (what differs from plain OpenAI):

- ``openai``: json_object needs the word "json" in the messages; usage reports cached tokens.
- ``localai``, ``llama_server``: OpenAI-compatible, usage without token details.
- ``litellm``: requires ``Authorization: Bearer <api_key>``; ``x-litellm-*`` headers.
- ``vllm``: 404 for a model it does not serve; no embeddings (400).
- ``tgi``: structured output only as ``{"type": "json", "value": schema}`` (422 for
  json_schema/json_object); no embeddings (404); logit_bias ignored.
- ``llamacpp`` (llama-cpp-python's server): json_schema → HTTP 500 literal_error;
  list-of-parts content for system/assistant → HTTP 500; json_object + schema works.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DIALECTS = ("openai", "localai", "litellm", "vllm", "tgi", "llamacpp", "llama_server")
EMBEDDING_DIM = 8


@dataclass
class Reply:
    """One scripted answer: a status, a content, a raw body, a delay, extra headers; for a
    streamed answer, the number of words after which the connection drops (or, with
    `error_event`, after which that error message is sent as an event)."""

    content: str | None = None
    status: int = 200
    body: Any = None
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    cut_after: int | None = None
    error_event: str | None = None


@dataclass
class Recorded:
    """One request the server received (header names in lower case)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


class FakeOpenAIServer:
    """Start with `start()` (or as a context manager); ``base_url`` ends in /v1."""

    def __init__(
        self,
        dialect: str = "openai",
        *,
        api_key: str | None = None,
        models: tuple[str, ...] = ("fake",),
        send_usage: bool = True,
        cached_tokens: int = 0,
        responder: Callable[[dict[str, Any]], str | None] | None = None,
        token_delay: float = 0.0,
        first_token_delay: float = 0.0,
    ) -> None:
        if dialect not in DIALECTS:
            raise ValueError(f"unknown dialect {dialect!r}: choose one of {DIALECTS}")
        self.dialect = dialect
        self.api_key = api_key
        self.models = models
        self.send_usage = send_usage
        self.cached_tokens = cached_tokens
        self.responder = responder
        self.token_delay = token_delay
        self.first_token_delay = first_token_delay
        self.requests: list[Recorded] = []
        #: connections clients opened so far
        self.connections = 0
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    # -- lifecycle -----------------------------------------------------------------------
    def start(self, port: int = 0) -> FakeOpenAIServer:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- scripting -----------------------------------------------------------------------
    def script(self, *replies: Reply | str) -> None:
        """Queue answers for the next POST requests (a str is a 200 with that content)."""
        with self._lock:
            self._queue.extend(Reply(r) if isinstance(r, str) else r for r in replies)

    def chat_requests(self) -> list[dict[str, Any]]:
        """Bodies of the chat-completion requests received so far."""
        with self._lock:
            return [r.body for r in self.requests if r.path.endswith("/chat/completions")]

    def _record(self, recorded: Recorded) -> Reply | None:
        with self._lock:
            self.requests.append(recorded)
            return self._queue.popleft() if self._queue else None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    fake: FakeOpenAIServer

    def log_message(self, format: str, *args: Any) -> None:  # silence stderr
        pass

    def handle(self) -> None:
        """Serve the connection's requests until the client closes it. A client that closes
        a kept-alive connection with bytes still unread (a stream it stopped reading at
        ``[DONE]``, a process that exits) makes the kernel reset it: the next read here
        fails with ConnectionResetError. That is the client leaving, not an error."""
        with self.fake._lock:
            self.fake.connections += 1
        try:
            super().handle()
        except (ConnectionResetError, BrokenPipeError):
            self.close_connection = True

    def do_GET(self) -> None:
        self.fake._record(Recorded("GET", self.path, self._headers(), None))
        if self.path.rstrip("/").endswith("/models"):
            data = [{"id": m, "object": "model", "owned_by": "fake"} for m in self.fake.models]
            self._send(200, {"object": "list", "data": data})
        else:
            self._send(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = raw.decode("utf-8", "replace")
        scripted = self.fake._record(Recorded("POST", self.path, self._headers(), body))
        if scripted is not None and scripted.delay:
            time.sleep(scripted.delay)
        try:
            status, payload, headers = self._answer(body, scripted)
            if status == 200 and isinstance(body, dict) and body.get("stream"):
                self._send_stream(body, payload, headers, scripted)
            else:
                if (
                    status == 200
                    and isinstance(payload, dict)
                    and self.path.endswith("/chat/completions")
                ):
                    time.sleep(self._writing_time(payload))
                self._send(status, payload, headers)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _answer(self, body: Any, scripted: Reply | None) -> tuple[int, Any, dict[str, str]]:
        headers = dict(scripted.headers) if scripted else {}
        if scripted is not None and (scripted.status != 200 or scripted.body is not None):
            return scripted.status, scripted.body or _error(scripted.status, "scripted"), headers
        refusal = _dialect_refusal(self.fake, self.path, self._headers(), body)
        if refusal is not None:
            return refusal[0], refusal[1], headers
        if self.dialect == "litellm":
            headers["x-litellm-model-id"] = "fake-deployment"
        if self.path.endswith("/embeddings"):
            return 200, _embeddings(body, self.fake), headers
        if self.path.endswith("/chat/completions"):
            content = scripted.content if scripted else None
            return 200, _completion(body, self.fake, content), headers
        return 404, _error(404, f"no route {self.path}"), headers

    def _headers(self) -> dict[str, str]:
        return {name.lower(): value for name, value in self.headers.items()}

    @property
    def dialect(self) -> str:
        return self.fake.dialect

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode() if not isinstance(payload, bytes) else payload
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _writing_time(self, completion: dict[str, Any]) -> float:
        """How long the answer takes to write at the server's token rate (a non-streamed
        answer comes when its stream would have ended)."""
        words = len(re.findall(r"\S+", completion["choices"][0]["message"]["content"] or ""))
        return self.fake.first_token_delay + self.fake.token_delay * max(words - 1, 0)

    def _send_stream(
        self,
        body: dict[str, Any],
        completion: dict[str, Any],
        headers: dict[str, str],
        scripted: Reply | None,
    ) -> None:
        """The completion as server-sent events (chunked transfer, so keep-alive stays)."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        content = completion["choices"][0]["message"]["content"]
        words = re.findall(r"\s*\S+\s*", content) or [""]
        cut_after = scripted.cut_after if scripted is not None else None
        time.sleep(self.fake.first_token_delay)
        for index, word in enumerate(words):
            if index:  # a break comes as late as the next word would have
                time.sleep(self.fake.token_delay)
            if cut_after is not None and index >= cut_after and scripted.error_event:
                error = _error(500, scripted.error_event, "server_error")
                self._event(error)
                self._write_chunk(b"")
                return
            if cut_after is not None and index >= cut_after:
                self.close_connection = True
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            delta = {"role": "assistant", "content": word} if index == 0 else {"content": word}
            self._event(_chunk(completion, [{"index": 0, "delta": delta, "finish_reason": None}]))
        self._event(_chunk(completion, [{"index": 0, "delta": {}, "finish_reason": "stop"}]))
        if (body.get("stream_options") or {}).get("include_usage") and "usage" in completion:
            self._event(_chunk(completion, [], usage=completion["usage"]))
        self._write_chunk(b"data: [DONE]\n\n")
        self._write_chunk(b"")

    def _event(self, payload: dict[str, Any]) -> None:
        self._write_chunk(f"data: {json.dumps(payload)}\n\n".encode())

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


def _chunk(
    completion: dict[str, Any], choices: list[dict[str, Any]], usage: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "id": completion["id"],
        "object": "chat.completion.chunk",
        "created": completion["created"],
        "model": completion["model"],
        "choices": choices,
        "usage": usage,
    }


def _error(status: int, message: str, kind: str = "invalid_request_error") -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": status}}


def _dialect_refusal(
    fake: FakeOpenAIServer, path: str, headers: dict[str, str], body: Any
) -> tuple[int, Any] | None:
    dialect = fake.dialect
    auth = headers.get("authorization", "")
    if fake.api_key is not None and auth != f"Bearer {fake.api_key}":
        return 401, _error(401, "Authentication Error, invalid api key", "auth_error")
    if not isinstance(body, dict):
        return 400, _error(400, "body is not JSON")
    if dialect == "vllm" and body.get("model") not in fake.models:
        return 404, {
            "object": "error",
            "message": f"The model `{body.get('model')}` does not exist.",
            "type": "NotFoundError",
            "param": None,
            "code": 404,
        }
    if path.endswith("/embeddings"):
        if dialect == "tgi":
            return 404, {"error": "Not Found", "error_type": "not_found"}
        if dialect == "vllm":
            return 400, {
                "object": "error",
                "message": "The model does not support Embeddings API",
                "type": "BadRequestError",
                "param": None,
                "code": 400,
            }
        return None
    return _format_refusal(dialect, body)


def _format_refusal(dialect: str, body: dict[str, Any]) -> tuple[int, Any] | None:
    fmt = body.get("response_format") or {}
    kind = fmt.get("type")
    if dialect == "tgi" and kind in ("json_schema", "json_object"):
        return 422, {
            "error": "Failed to deserialize the JSON body into the target type: "
            f"response_format: unknown variant `{kind}`, expected `json` or `regex`",
            "error_type": "validation",
        }
    if dialect != "tgi" and kind == "json":
        return 400, _error(400, "response_format: unknown type 'json'")
    if dialect == "llamacpp":
        if kind == "json_schema":
            detail = [
                {
                    "type": "literal_error",
                    "loc": ["body", "response_format", "type"],
                    "msg": "Input should be 'text' or 'json_object'",
                    "input": kind,
                }
            ]
            return 500, _error(500, json.dumps(detail), "internal_server_error")
        for message in body.get("messages", []):
            if message.get("role") in ("system", "assistant") and not isinstance(
                message.get("content"), str
            ):
                return 500, _error(
                    500,
                    "20 validation errors for CreateChatCompletionRequest messages",
                    "internal_server_error",
                )
    if (
        dialect == "openai"
        and kind == "json_object"
        and "json" not in json.dumps(body.get("messages", [])).lower()
    ):
        return 400, _error(
            400,
            "'messages' must contain the word 'json' in some form, to use "
            "'response_format' of type 'json_object'.",
        )
    return None


def _completion(
    body: dict[str, Any], fake: FakeOpenAIServer, content: str | None
) -> dict[str, Any]:
    if content is None and fake.responder is not None:
        content = fake.responder(body)
    if content is None:
        content = _default_content(body, fake.dialect)
    n = int(body.get("n") or 1)
    choices = [
        {
            "index": i,
            "message": {"role": "assistant", "content": content},
            "finish_reason": "stop",
            "logprobs": _logprobs(body, content),
        }
        for i in range(n)
    ]
    reply: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": choices,
    }
    if fake.send_usage:
        reply["usage"] = _usage(body, content, fake)
    return reply


def _usage(body: dict[str, Any], content: str, fake: FakeOpenAIServer) -> dict[str, Any]:
    chars = len(json.dumps(body.get("messages", [])))
    usage: dict[str, Any] = {
        "prompt_tokens": chars // 4 + 1,
        "completion_tokens": len(content) // 4 + 1,
    }
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    if fake.dialect in ("openai", "litellm"):
        usage["prompt_tokens_details"] = {"cached_tokens": fake.cached_tokens}
    return usage


def _default_content(body: dict[str, Any], dialect: str) -> str:
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return json.dumps(first_instance(fmt["json_schema"]["schema"]))
    if fmt.get("type") == "json_object":
        return json.dumps(first_instance(fmt["schema"])) if "schema" in fmt else "{}"
    if fmt.get("type") == "json":
        return json.dumps(first_instance(fmt["value"]))
    if body.get("logit_bias") and body.get("max_tokens") == 1 and dialect != "tgi":
        return _biased_token(body)
    messages = body.get("messages") or [{"content": ""}]
    last = messages[-1].get("content") or ""
    if not isinstance(last, str):
        last = " ".join(p.get("text", "") for p in last if isinstance(p, dict))
    return f"fake reply #{len(messages)} to: {last[-40:]}"


def _biased_token(body: dict[str, Any]) -> str:
    from autograms.models.tokens import counter_for_model

    bias = body["logit_bias"]
    token = max(bias, key=lambda k: (bias[k], -list(bias).index(k)))
    return counter_for_model(body.get("model") or "gpt-4o").decode([int(token)])


def _logprobs(body: dict[str, Any], content: str) -> dict[str, Any] | None:
    if not body.get("logprobs"):
        return None
    alternatives = [content]
    if body.get("logit_bias"):
        from autograms.models.tokens import counter_for_model

        counter = counter_for_model(body.get("model") or "gpt-4o")
        alternatives += [counter.decode([int(t)]) for t in body["logit_bias"]]
    unique = list(dict.fromkeys(alternatives))[: int(body.get("top_logprobs") or 1)]
    top = [{"token": t, "logprob": -0.1 - 2.0 * i, "bytes": None} for i, t in enumerate(unique)]
    return {"content": [{"token": content, "logprob": -0.1, "bytes": None, "top_logprobs": top}]}


def _embeddings(body: dict[str, Any], fake: FakeOpenAIServer) -> dict[str, Any]:
    texts = body.get("input")
    texts = [texts] if isinstance(texts, str) else list(texts or [])
    data = []
    for i, text in enumerate(texts):
        rng = random.Random(hashlib.sha256(str(text).encode()).digest())
        vector: Any = [rng.uniform(-1, 1) for _ in range(EMBEDDING_DIM)]
        if body.get("encoding_format") == "base64":  # OpenAI's form: little-endian float32
            vector = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        data.append({"object": "embedding", "index": i, "embedding": vector})
    reply: dict[str, Any] = {"object": "list", "data": data, "model": body.get("model")}
    if fake.send_usage:
        tokens = sum(len(str(t)) // 4 + 1 for t in texts)
        reply["usage"] = {"prompt_tokens": tokens, "total_tokens": tokens}
    return reply


def first_instance(schema: dict[str, Any], root: dict[str, Any] | None = None) -> Any:
    """The first-choice instance of a JSON schema."""
    root = schema if root is None else root
    if "$ref" in schema:
        node: Any = root
        for part in schema["$ref"][2:].split("/"):
            node = node[part]
        return first_instance(node, root)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return first_instance(schema[key][0], root)
    kind = schema.get("type", "string")
    if isinstance(kind, list):
        kind = kind[0]
    if kind == "object":
        return {k: first_instance(v, root) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return [
            first_instance(schema.get("items", {}), root)
            for _ in range(max(1, schema.get("minItems", 1)))
        ]
    return {"string": "x", "integer": 1, "number": 1.0, "boolean": True, "null": None}[kind]
