"""Helpers for the first-hour outside tests: a fake OpenAI-compatible server and the CLI."""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

AUTOGRAMS = str(Path(sys.executable).parent / "autograms")


def cli_env(home: Path) -> dict[str, str]:
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(home),
        "TERM": "dumb",
        "PYTHONDONTWRITEBYTECODE": "1",
        "LANG": "C.UTF-8",
    }
    return env


class FakeServer:
    """An OpenAI-compatible chat server on loopback.

    mode: "ok" answers everything; "hang" accepts and never answers (until closed);
    "500" answers 500; "400schema" answers 400 to response_format json_schema.
    """

    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.requests: list[dict] = []
        self._stop = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # noqa: ARG002
                pass

            def do_GET(self):  # noqa: N802
                self._send(200, {"object": "list", "data": [{"id": "m", "object": "model"}]})

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                request = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append(request)
                if fake.mode == "hang":
                    fake._stop.wait(30)
                    return
                if fake.mode == "500":
                    self._send(500, {"error": {"message": "boom"}})
                    return
                form = (request.get("response_format") or {}).get("type")
                if fake.mode == "400schema" and form == "json_schema":
                    self._send(400, {"error": {"message": "json_schema is not supported"}})
                    return
                content = json.dumps({"answer": "Yes"}) if form else "Yes"
                self._send(
                    200,
                    {
                        "id": "x",
                        "object": "chat.completion",
                        "created": 0,
                        "model": "m",
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "message": {"role": "assistant", "content": content},
                            }
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    },
                )

            def _send(self, code, obj):
                body = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def forms(self) -> list:
        return [(r.get("response_format") or {}).get("type") for r in self.requests]

    def close(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)


DECISIONS_BOT = """\
from autograms import autograms_function
from autograms.functional import reply, yes_or_no


@autograms_function()
def chatbot():
    reply("hello")
    a = yes_or_no("Is the user happy?")
    b = yes_or_no("Is the user tall?")
    c = yes_or_no("Is the user hungry?")
    return reply(f"{a} {b} {c}")
"""

NAME_BOT = """\
from autograms import autograms_function
from autograms.functional import reply


@autograms_function()
def chatbot():
    name = reply("Hi! What is your name?")
    x = reply(f"Hello {name}. Number?", ADDRESS="num")
    if x == "boom":
        raise ValueError("kaboom")
    return reply(f"got {x}")
"""


def python_in(folder: Path, code: str, home: Path, timeout: float = 20):
    import subprocess

    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=folder,
        env=cli_env(home) | {"PYTHONPATH": str(folder)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
