"""A fake OpenAI-compatible server for the drop-in (issue 16) outside tests: records every
request's path, body and headers; answers chat completions with `answer(request)` and
embeddings with a vector parsed from the text ("name:1,2" -> [1.0, 2.0])."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _vector(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(":", 1)[1].split(",")]
    except (IndexError, ValueError):
        return [0.0, 0.0]


class FakeOpenAI:
    def __init__(self, answer="fake answer"):
        self.requests: list[tuple[str, dict, dict]] = []
        self.answer = answer
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, obj):
                body = json.dumps(obj).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                self._send(
                    {
                        "object": "list",
                        "data": [{"id": "m", "object": "model", "created": 0, "owned_by": "x"}],
                    }
                )

            def do_POST(self):
                size = int(self.headers.get("Content-Length", 0))
                req = json.loads(self.rfile.read(size) or b"{}")
                fake.requests.append(
                    (self.path, req, {k.lower(): v for k, v in self.headers.items()})
                )
                if self.path.endswith("/embeddings"):
                    texts = req.get("input")
                    texts = [texts] if isinstance(texts, str) else texts
                    self._send(
                        {
                            "object": "list",
                            "model": req.get("model"),
                            "data": [
                                {"object": "embedding", "index": i, "embedding": _vector(t)}
                                for i, t in enumerate(texts)
                            ],
                            "usage": {"prompt_tokens": 1, "total_tokens": 1},
                        }
                    )
                    return
                content = fake.answer(req) if callable(fake.answer) else fake.answer
                self._send(
                    {
                        "id": "c1",
                        "object": "chat.completion",
                        "created": 0,
                        "model": req.get("model", "m"),
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "logprobs": None,
                                "message": {"role": "assistant", "content": content},
                            }
                        ],
                        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
                    }
                )

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _first_enum(node):
    if isinstance(node, dict):
        if isinstance(node.get("enum"), list) and node["enum"]:
            return node["enum"][0]
        for value in node.values():
            found = _first_enum(value)
            if found is not None:
                return found
    elif isinstance(node, list):
        for value in node:
            found = _first_enum(value)
            if found is not None:
                return found
    return None


def decision_answer(req):
    """Answer a decision with the first label its schema allows, plain text otherwise."""
    if req.get("response_format"):
        return json.dumps({"answer": _first_enum(req["response_format"]) or "Yes"})
    return "fake answer"
