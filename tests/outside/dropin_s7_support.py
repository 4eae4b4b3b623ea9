"""Bots and a loopback OpenAI-compatible server for test_dropin_s7_outside.py.

The bots are written the way AutoGRAMS 0.6.0's README, docs and examples use the API; they
live in an importable module so sessions can name their root function.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from autograms import autograms_chatbot, autograms_function
from autograms.functional import reply, reply_instruction, thought, yes_or_no
from autograms.memory import init_user_globals, set_persistent_globals

G = init_user_globals()
G["count"] = 0

with set_persistent_globals():
    score = 0


@autograms_function()
def counter_bot():
    """Replies with how many messages it has had: a session's position is visible."""
    reply("hi", ADDRESS="greet")
    n = 0
    while True:
        n += 1
        reply(f"n={n}", ADDRESS="loop")


@autograms_chatbot()
def echo_chatbot(user_reply):
    """An @autograms_chatbot root: it reads the user's message from its argument."""
    reply(f"first:{user_reply}")
    while True:
        reply(f"got:{user_reply}", ADDRESS="loop")


@autograms_function()
def talk_bot():
    """A bot with a thought, a decision and instructed replies, as the docs write them."""
    reply("hello", ADDRESS="greet")
    while True:
        thought("what does the user want?")
        if yes_or_no("does the user want more?"):
            reply_instruction("answer the user", ADDRESS="more")
        reply_instruction("reply to the user", ADDRESS="loop")


def _instance(schema: dict[str, Any], defs: dict[str, Any] | None = None) -> Any:
    """A value matching a JSON schema (the first enum value, one item per array)."""
    defs = defs if defs is not None else schema.get("$defs", {})
    if "$ref" in schema:
        return _instance(defs[schema["$ref"].split("/")[-1]], defs)
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema:
        return _instance(schema["anyOf"][0], defs)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = kind[0]
    if kind == "object":
        return {k: _instance(v, defs) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return [_instance(schema.get("items", {"type": "string"}), defs)]
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    return "fake text"


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._send({"object": "list", "data": [{"id": "m1", "object": "model"}]})

    def do_POST(self) -> None:
        size = int(self.headers.get("Content-Length", 0))
        request = json.loads(self.rfile.read(size) or b"{}")
        request["_auth"] = self.headers.get("Authorization")
        self.server.requests.append((self.path, request))  # type: ignore[attr-defined]
        usage = {
            "prompt_tokens": 11,
            "completion_tokens": 5,
            "total_tokens": 16,
            "prompt_tokens_details": {"cached_tokens": 7, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 3, "audio_tokens": 0},
        }
        if self.path.endswith("/embeddings"):
            texts = request["input"] if isinstance(request["input"], list) else [request["input"]]
            data = [
                {"object": "embedding", "index": i, "embedding": [float(len(t)), 1.0, 0.5]}
                for i, t in enumerate(texts)
            ]
            self._send(
                {"object": "list", "model": request.get("model"), "data": data, "usage": usage}
            )
            return
        form = request.get("response_format") or {}
        if form.get("type") == "json_schema":
            content = json.dumps(_instance(form["json_schema"]["schema"]))
        else:
            content = "fake reply"
        choice = {
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "finish_reason": "stop",
        }
        self._send(
            {
                "id": "c1",
                "object": "chat.completion",
                "created": 1,
                "model": request.get("model"),
                "choices": [choice],
                "usage": usage,
            }
        )


class FakeOpenAI:
    """A loopback OpenAI-compatible server recording every request; a context manager."""

    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.requests = []  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def requests(self) -> list[tuple[str, dict[str, Any]]]:
        return self.server.requests  # type: ignore[attr-defined]

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@autograms_function()
def branch_bot():
    """A yes/no decision per message, each branch replying from its own label."""
    reply("start")
    while True:
        if yes_or_no("does the user want to continue?"):
            reply("yes branch", ADDRESS="yes")
        else:
            reply("no branch", ADDRESS="no")


def _bump() -> None:
    global score
    score += 1
    G["count"] += 1


@autograms_function()
def globals_bot():
    """Counts messages in a persistent global and a user global."""
    reply("hi", ADDRESS="greet")
    while True:
        _bump()
        reply(f"score={score} count={G['count']}", ADDRESS="loop")


@autograms_function()
def data_bot():
    """Replies carrying extra data, as AutoGRAMS' apply() docs describe (an image, a variable)."""
    reply("hi", data={"image": "cat.png"}, ADDRESS="greet")
    while True:
        reply("again", data={"image": "dog.png"}, ADDRESS="loop")


@autograms_function()
def history_bot():
    """Asks with max_turns=-1 (AutoGRAMS' docs: get_turn_history(..., max_turns=-1))."""
    reply("hi")
    while True:
        yes_or_no("did the user say a secret?", max_turns=-1)
        thought("which secret?", max_turns=-1)
        reply("noted", ADDRESS="loop")


def _slow_bump() -> None:
    """Reads, waits (a model call would), then writes the session's globals."""
    global score
    seen_score, seen_count = score, G["count"]
    time.sleep(0.002)
    score = seen_score + 1
    G["count"] = seen_count + 1


@autograms_function()
def tally_bot():
    """Counts each message three ways: a local, a persistent global and a user global."""
    reply("hi", ADDRESS="greet")
    n = 0
    while True:
        n += 1
        _slow_bump()
        reply(f"n={n} score={score} count={G['count']}", ADDRESS="loop")
