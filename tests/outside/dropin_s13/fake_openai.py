"""A loopback OpenAI-compatible server that records request bodies and answers from them.

Answers are derived from a hash of the request's messages, so two libraries sending the same
prompt get the same answer. Structured requests get a value valid under their JSON schema.
Run as a script (``python fake_openai.py PORTFILE``) to serve in its own process.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:8]


def instance(schema: dict, seed: str, defs: dict):
    """A value valid under ``schema``, chosen by ``seed``."""
    if "$ref" in schema:
        return instance(defs[schema["$ref"].split("/")[-1]], seed, defs)
    if "enum" in schema:
        return schema["enum"][int(seed[:6], 16) % len(schema["enum"])]
    if "anyOf" in schema:
        return instance(schema["anyOf"][0], seed, defs)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = kind[0]
    if kind == "object":
        return {
            key: instance(sub, digest([seed, key]), defs)
            for key, sub in schema.get("properties", {}).items()
        }
    if kind == "array":
        return [instance(schema.get("items", {}), digest([seed, i]), defs) for i in range(2)]
    if kind == "integer":
        return int(seed[:2], 16)
    if kind == "number":
        return int(seed[:2], 16) / 4
    if kind == "boolean":
        return int(seed[0], 16) % 2 == 0
    return "v" + seed[:6]


def text_of(content) -> str:
    if isinstance(content, list):  # AutoGRAMS' form: [{"type": "text", "text": ...}]
        return "".join(part.get("text", "") for part in content)
    return content


def answer(body: dict) -> str:
    seed = digest([(m.get("role"), text_of(m.get("content"))) for m in body.get("messages", [])])
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = fmt["json_schema"]["schema"]
        return json.dumps(instance(schema, seed, schema.get("$defs", {})))
    if body.get("logit_bias"):
        return "Yes" if int(seed[0], 16) % 2 else "No"
    return "answer " + seed


USAGE = {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        self.server.bodies.append({"path": self.path, "body": body})
        if self.path.endswith("/embeddings"):
            texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
            data = []
            for i, text in enumerate(texts):
                h = hashlib.sha256(str(text).encode()).digest()
                vec = [b / 255 for b in h[:8]]
                if body.get("encoding_format") == "base64":
                    emb = base64.b64encode(struct.pack(f"<{len(vec)}f", *vec)).decode()
                else:
                    emb = vec
                data.append({"object": "embedding", "index": i, "embedding": emb})
            out = {
                "object": "list",
                "data": data,
                "model": body.get("model", "m"),
                "usage": {"prompt_tokens": 3, "total_tokens": 3},
            }
        else:
            text = answer(body)
            out = {
                "id": "c1",
                "object": "chat.completion",
                "created": 1,
                "model": body.get("model"),
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": text},
                    }
                ],
                "usage": self.server.usage,
            }
        raw = json.dumps(out).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


class FakeServer:
    def __init__(self):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.bodies = []
        self.httpd.usage = dict(USAGE)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def bodies(self) -> list:
        return list(self.httpd.bodies)

    def reset(self):
        self.httpd.bodies.clear()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def set_usage(server: FakeServer, usage: dict) -> None:
    """Answer chat requests with this ``usage`` object from now on."""
    server.httpd.usage = usage


if __name__ == "__main__":
    server = FakeServer()
    with open(sys.argv[1], "w") as fid:
        fid.write(str(server.port))
    server.thread.join()
