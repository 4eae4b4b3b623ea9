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
import random
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import zlib
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
        self.hashed = False  # chat answers "answer N", N from the last message (see chat_answer)

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
        return chat_answer(body) if self.hashed else "fake answer"


def chat_answer(body: dict[str, Any]) -> str:
    """An answer that depends on the last message (blank-line differences aside)."""
    messages = body.get("messages") or []
    last = _text(messages[-1]["content"]) if messages else ""
    last = last.lstrip("\n").replace("\n\n\n\n", "\n\n")
    return f"answer {zlib.crc32(last.encode()) % 1000}"


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content)


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
            elif path.endswith("/hashed"):
                model.hashed = bool(body)
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


WORDS = "apple river stone cloud quick brown lazy fox jumps over happy tiger piano rocket".split()


def _words(rng: random.Random, count: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(count))


def _settings(rng: random.Random, decision: bool) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    if rng.random() < 0.3:
        settings["max_tokens"] = rng.randint(5, 900)
    if rng.random() < 0.3:
        settings["temperature"] = round(rng.uniform(0, 1.5), 2)
    if rng.random() < 0.2:
        settings["model"] = rng.choice(["gpt-4o-mini", "gpt-4.1"])
    if rng.random() < 0.2:
        settings["top_p"] = round(rng.uniform(0.1, 1), 2)
    if not decision and rng.random() < 0.2:
        settings["max_turns"] = rng.randint(1, 3)
    return settings


def _plain_step(rng: random.Random, kind: str, kw: Any) -> str:
    if kind == "silent":
        return f"silent_thought({_words(rng, 3)!r}{kw(_settings(rng, False))})"
    if kind == "yn":
        return f"yes_or_no({_words(rng, 3) + '?'!r}{kw(_settings(rng, True))})"
    if kind == "mc":
        options = [_words(rng, 1) for _ in range(rng.randint(2, 4))]
        return f"multiple_choice({_words(rng, 2)!r}, {options!r}{kw(_settings(rng, True))})"
    if kind == "sys":
        return f"set_system_prompt({_words(rng, 4)!r})"
    if kind == "app":
        return f"append_system_prompt({_words(rng, 2)!r})"
    return "HISTORY.append(get_turn_history())"


def generate_bot(seed: int) -> tuple[str, list[str]]:
    """A random AutoGRAMS-style bot (no thought(): its history order differs) and its messages.

    Turns of silent thoughts, decisions, system prompts, get_turn_history() and nested
    @autograms_function calls of every conv_scope, ending in reply / reply_instruction, each
    model call with random per-call settings.
    """
    rng = random.Random(seed)
    funcs: list[tuple[str, str, list[str]]] = []

    def kw(settings: dict[str, Any]) -> str:
        return "".join(f", {k}={v!r}" for k, v in settings.items())

    def reply_line() -> str:
        if rng.random() < 0.5:
            return f"reply({_words(rng, 3)!r})"
        return f"reply_instruction({_words(rng, 3)!r}{kw(_settings(rng, False))})"

    def steps(depth: int, prefix: str) -> list[str]:
        lines = []
        for _ in range(rng.randint(0, 3)):
            kind = rng.choice(["silent", "yn", "mc", "sys", "app", "nested", "hist"])
            if kind != "nested":
                lines.append(_plain_step(rng, kind, kw))
            elif depth < 2:
                name = f"{prefix}_n{len(funcs)}"
                scope = rng.choice(["global", "normal", "local"])
                body = steps(depth + 1, name)
                if rng.random() < 0.5:
                    body.append(reply_line())
                body.append("return 1")
                funcs.append((name, scope, body))
                lines.append(f"{name}()")
        return lines

    turns = rng.randint(2, 6)
    root: list[str] = []
    for turn in range(turns):
        root += steps(0, f"f{turn}")
        root.append(reply_line())
    source = [
        "from autograms import autograms_function",
        "from autograms.functional import *  # noqa: F403",
        "",
        "HISTORY = []",
        "",
    ]
    for name, scope, body in funcs:
        source += [f"@autograms_function(conv_scope={scope!r})", f"def {name}():"]
        source += ["    " + line for line in body] + [""]
    source += ["@autograms_function()", "def chatbot():"]
    source += ["    " + line for line in root] + ["    reply('the end')"]
    messages = [""] + [_words(rng, rng.randint(1, 4)) for _ in range(turns + 2)]
    return "\n".join(source) + "\n", messages


def normalized_request(body: dict[str, Any]) -> dict[str, Any]:
    """A chat request with the differences already tested elsewhere taken out.

    Content parts become text; the opening turn's leading blank lines go; a decision keeps its
    messages and model with the wording normalised (test_decision_prompt_wording_is_autograms); a
    structured output keeps messages and model without AutoGRAMS' schema sentence.
    """
    body = dict(body)
    for key in ("stream", "n"):
        body.pop(key, None)
    messages = []
    for message in body.pop("messages"):
        text = _text(message["content"])
        if message["role"] == "user":
            text = text.lstrip("\n").replace("\n\n\n\nINSTRUCTION:", "\n\nINSTRUCTION:")
        messages.append({"role": message["role"], "content": text})
    schema = _schema_of(body)
    if schema is None:
        return {"kind": "chat", "settings": body, "messages": messages}
    answer = schema.get("properties", {}).get("answer", {})
    if "enum" in answer:
        last = messages[-1]["content"].replace("\n\n (Yes or No)?", "\n\nAnswer Yes or No.")
        last = last.replace("\nAnswer with the letter of the best option.", "")
        if last.startswith("INSTRUCTION: "):
            last = "QUESTION: " + last[len("INSTRUCTION: ") :]
        messages[-1]["content"] = last
        return {"kind": "decision", "settings": {"model": body.get("model")}, "messages": messages}
    messages[-1]["content"] = messages[-1]["content"].split("\nYour output must adhere")[0]
    return {"kind": "structured", "settings": {"model": body.get("model")}, "messages": messages}


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
