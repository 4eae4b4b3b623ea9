"""Support for test_dropin_s11_outside.py: one fake OpenAI-compatible server that records bodies.

The server is standard library only, so the same file also serves a scratch comparison run of
AutoGRAMS 0.6.0 (outside this project) against the very same fake model.

Answers are a function of the request, never of how many requests came before (AutoGRAMS sends
a request up to ``chatbot_max_tries`` times):

- ``rules`` (POST /rules, a list of ``[substring, answer]``): the first rule whose substring occurs
  in the request's JSON text gives the answer text;
- otherwise a structured-output request gets its schema's first enum value (``{"answer": ...}``)
  or an object of placeholder values, a ``logit_bias`` request the first biased label it was
  told about (``labels`` rule) or "A", and a chat request ``"fake answer"``.

GET /requests returns every recorded body, POST /reset forgets them (rules stay).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _placeholder(schema: dict[str, Any], defs: dict[str, Any]) -> Any:
    """A value valid for a simple JSON schema (enum: first value; object: each property)."""
    if "$ref" in schema:
        return _placeholder(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema:
        return _placeholder(schema["anyOf"][0], defs)
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {name: _placeholder(sub, defs) for name, sub in props.items()}
    if kind == "array":
        return [_placeholder(schema.get("items", {"type": "string"}), defs)]
    if kind in ("integer", "number"):
        return 1
    if kind == "boolean":
        return True
    return "text"


def _schema_of(body: dict[str, Any]) -> dict[str, Any] | None:
    fmt = body.get("response_format")
    if not isinstance(fmt, dict):
        return None
    if fmt.get("type") == "json_schema":
        return fmt.get("json_schema", {}).get("schema")
    if fmt.get("type") == "json":
        return fmt.get("value")
    return None


class FakeModel:
    """What the fake server knows: its rules and the bodies it received."""

    def __init__(self) -> None:
        self.rules: list[list[str]] = []
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def answer(self, body: dict[str, Any]) -> str:
        text = json.dumps(body, ensure_ascii=False)
        for needle, reply in self.rules:
            if needle in text:
                return reply
        schema = _schema_of(body)
        if schema is not None:
            return json.dumps(_placeholder(schema, schema.get("$defs", {})))
        if body.get("response_format"):
            return json.dumps({"answer": "Yes"})
        if body.get("logit_bias"):
            return "A"
        return "fake answer"


def _handler(model: FakeModel) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/requests"):
                with model.lock:
                    self._send(200, model.requests)
            elif self.path.rstrip("/").endswith("/models"):
                self._send(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})
            else:
                self._send(404, {"error": {"message": "not here"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            path = self.path.rstrip("/")
            if path.endswith("/reset"):
                with model.lock:
                    model.requests.clear()
                self._send(200, {})
            elif path.endswith("/rules"):
                with model.lock:
                    model.rules = [list(rule) for rule in body]
                self._send(200, {})
            elif path.endswith("/chat/completions"):
                with model.lock:
                    model.requests.append({"path": "chat", "body": body})
                    text = model.answer(body)
                if body.get("stream"):
                    self._stream(body, text)
                else:
                    self._send(200, _completion(body, text))
            elif path.endswith("/embeddings"):
                with model.lock:
                    model.requests.append({"path": "embeddings", "body": body})
                inputs = body.get("input")
                inputs = [inputs] if isinstance(inputs, str) else inputs
                data = [
                    {"object": "embedding", "index": i, "embedding": _vector(str(item))}
                    for i, item in enumerate(inputs)
                ]
                usage = {"prompt_tokens": 1, "total_tokens": 1}
                self._send(200, {"object": "list", "data": data, "model": "e", "usage": usage})
            else:
                self._send(404, {"error": {"message": "not here"}})

        def _stream(self, body: dict[str, Any], text: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            words = text.split(" ")
            pieces = [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]
            for piece in pieces:
                chunk = {
                    "id": "c1",
                    "object": "chat.completion.chunk",
                    "created": 1,
                    "model": body.get("model", "fake"),
                    "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
                }
                self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
                self.wfile.flush()
            last = {
                "id": "c1",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": body.get("model", "fake"),
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
            }
            self.wfile.write(b"data: " + json.dumps(last).encode() + b"\n\n")
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
            self.close_connection = True

    return Handler


def _vector(text: str) -> list[float]:
    values = [float((sum(map(ord, text)) * (k + 3)) % 17 + 1) for k in range(8)]
    return values


def _completion(body: dict[str, Any], text: str) -> dict[str, Any]:
    return {
        "id": "c1",
        "object": "chat.completion",
        "created": 1,
        "model": body.get("model", "fake"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
    }


def serve(port: int = 0) -> tuple[ThreadingHTTPServer, FakeModel]:
    """Start the fake server on 127.0.0.1 in a thread; returns the server and its model."""
    model = FakeModel()
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(model))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, model


class FakeServer:
    """The fake server in this process: ``url``, ``port``, ``requests()``, ``rules(...)``."""

    def __init__(self) -> None:
        self.server, self.model = serve()
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"

    def requests(self, path: str = "chat") -> list[dict[str, Any]]:
        with self.model.lock:
            return [r["body"] for r in self.model.requests if r["path"] == path]

    def reset(self) -> None:
        with self.model.lock:
            self.model.requests.clear()

    def set_rules(self, rules: list[tuple[str, str]]) -> None:
        with self.model.lock:
            self.model.rules = [list(rule) for rule in rules]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen | None = None, timeout: float = 60.0) -> None:
    """Wait until ``url`` answers (any status), failing with what was seen."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError as exc:
            last = repr(exc)
        time.sleep(0.05)
    raise AssertionError(f"{url} did not answer in {timeout} s: {last}")


if __name__ == "__main__":
    server, _ = serve(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    print(server.server_address[1], flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        os._exit(0)
