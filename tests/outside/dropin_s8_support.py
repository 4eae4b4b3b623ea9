"""Support for test_dropin_s8_outside: a loopback OpenAI-compatible server and bot-file helpers.

The server answers chat completions (plain, json_schema structured outputs, logprobs) and
embeddings, records every request body, and reports token usage the way OpenAI does.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
BOTS = HERE / "dropin_s8_bots"
REPO = HERE.parent.parent


def _schema_value(schema: dict, seed: str):
    """A value matching a JSON schema, derived from seed."""
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object":
        props = schema.get("properties", {})
        return {k: _schema_value(v, seed + k) for k, v in props.items()}
    if kind == "array":
        return [_schema_value(schema.get("items", {"type": "string"}), seed + "0")]
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    return "srv-" + hashlib.sha1(seed.encode()).hexdigest()[:6]


class FakeOpenAI:
    """An OpenAI-compatible chat/embeddings server on 127.0.0.1 recording the requests."""

    def __init__(self, prompt_tokens: int = 11, completion_tokens: int = 7):
        self.requests: list[dict] = []
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        self.replies: list[str] = []
        #: chat requests are answered while `released` is set (clear it to hold them, at most 30 s);
        #: `chat_arrived` is set when one comes in
        self.released = threading.Event()
        self.released.set()
        self.chat_arrived = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
                outer.requests.append({"path": self.path, "body": body})
                if self.path.endswith("/chat/completions"):
                    outer.chat_arrived.set()
                    outer.released.wait(30)
                payload = outer.answer(self.path, body)
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, path: str, body: dict) -> dict:
        usage = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }
        if path.endswith("/embeddings"):
            texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
            data = []
            for i, text in enumerate(texts):
                digest = hashlib.sha256(str(text).encode()).digest()
                data.append(
                    {"object": "embedding", "index": i, "embedding": [b / 255 for b in digest[:8]]}
                )
            return {"object": "list", "data": data, "model": body.get("model", "e"), "usage": usage}
        fmt = body.get("response_format") or {}
        last = json.dumps(body.get("messages", [])[-1:])
        if fmt.get("type") == "json_schema":
            content = json.dumps(_schema_value(fmt["json_schema"]["schema"], last))
        elif self.replies:
            content = self.replies.pop(0)
        else:
            content = "server says " + hashlib.sha1(last.encode()).hexdigest()[:8]
        return {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model", "m"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": usage,
        }

    def chat_requests(self) -> list[dict]:
        return [r["body"] for r in self.requests if r["path"].endswith("/chat/completions")]

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def proxy_config(port: int, **extra):
    """An AutogramConfig in the form AutoGRAMS' run_autogram.py builds for --model_type proxy."""
    from autograms import AutogramConfig

    return AutogramConfig(
        chatbot_type="proxy",
        chatbot_path="fake-model",
        classifier_path="fake-model",
        chatbot_proxy_port=port,
        **extra,
    )


def run_python(
    code: str, cwd: Path, timeout: float = 60, env_extra: dict | None = None
) -> subprocess.CompletedProcess:
    """Run code in a fresh interpreter (a fresh process per step, as a restarted worker would)."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", OPENAI_API_KEY="sk-test")
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
