"""Support for the s10 drop-in outside tests: a loopback fake OpenAI server that records what
it is sent, and helpers to write a bot file and drive it the way AutoGRAMS' run loops do."""

import hashlib
import json
import os
import random
import subprocess
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

USAGE = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}


def _schema_instance(schema, defs):
    """The first instance of a JSON schema (enum -> first value, object -> each property)."""
    if "$ref" in schema:
        return _schema_instance(defs[schema["$ref"].split("/")[-1]], defs)
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema:
        return _schema_instance(schema["anyOf"][0], defs)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = kind[0]
    if kind == "object":
        props = schema.get("properties", {})
        return {k: _schema_instance(v, defs) for k, v in props.items()}
    if kind == "array":
        return [_schema_instance(schema.get("items", {"type": "string"}), defs)]
    return {"integer": 1, "number": 1.0, "boolean": True, "null": None}.get(kind, "x")


class FakeOpenAI:
    """A loopback OpenAI-compatible server: chat completions (text or json_schema) and
    embeddings; every request body is kept in ``requests`` (path, body)."""

    def __init__(self, texts=None):
        self.texts = list(texts or [])  # canned answers for plain (non-JSON) chat requests
        self.requests = []
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_GET(self):
                self._send({"object": "list", "data": [{"id": "fake", "object": "model"}]})

            def do_POST(self):
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with owner.lock:
                    owner.requests.append((self.path, body))
                if self.path.endswith("/embeddings"):
                    texts = body["input"]
                    texts = [texts] if isinstance(texts, str) else texts
                    data = []
                    for i, text in enumerate(texts):
                        seed = hashlib.sha256(str(text).encode()).hexdigest()
                        rng = random.Random(seed)
                        vec = [rng.uniform(-1, 1) for _ in range(8)]
                        data.append({"object": "embedding", "index": i, "embedding": vec})
                    usage = {"prompt_tokens": 3, "total_tokens": 3}
                    self._send({"object": "list", "data": data, "model": "e", "usage": usage})
                    return
                self._send(owner.chat_response(body))

            def _send(self, payload):
                raw = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def chat_response(self, body):
        fmt = body.get("response_format") or {}
        if fmt.get("type") == "json_schema":
            schema = fmt["json_schema"]["schema"]
            content = json.dumps(_schema_instance(schema, schema.get("$defs", {})))
        elif fmt.get("type") == "json_object":
            content = "{}"
        elif self.texts:
            content = self.texts.pop(0)
        else:
            last = body["messages"][-1]["content"]
            if isinstance(last, list):
                last = " ".join(p.get("text", "") for p in last)
            content = f"fake reply {len(body['messages'])}: {str(last)[-30:]}"
        message = {"role": "assistant", "content": content}
        choice = {"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}
        return {
            "id": "c1",
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model", "fake"),
            "choices": [choice],
            "usage": dict(USAGE),
        }

    def chat_bodies(self):
        with self.lock:
            return [b for p, b in self.requests if p.endswith("/chat/completions")]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def write_bot(folder, name, source):
    """Write a bot module NAME.py into FOLDER (dedented) and return its path."""
    path = os.path.join(str(folder), f"{name}.py")
    with open(path, "w") as fid:
        fid.write(textwrap.dedent(source))
    return path


def run_python(code, cwd, timeout=120, env=None):
    """Run CODE in a fresh interpreter (this venv) in CWD; return the CompletedProcess."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = str(cwd)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=str(cwd),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )
