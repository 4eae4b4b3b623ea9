"""Helpers for the outside tests of `autograms serve` (issue 14, README "Serving a bot").

Only public surfaces: the `autograms serve` command, HTTP on loopback, and `create_app` for an
app a test mounts itself. Every server a test starts runs in its own process group and is
stopped (SIGTERM, then SIGKILL) when the test ends.
"""

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests import chat_page

AUTOGRAMS = str(Path(sys.executable).with_name("autograms"))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def write_bot(folder, name, source):
    path = Path(folder) / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    return path


# A bot whose turns are cheap and deterministic: it echoes with a counter.
ECHO_BOT = """
    import time
    from autograms import autograms_function
    from autograms.functional import reply

    def nap(text):
        if text.startswith("slow"):
            time.sleep(1.5)

    @autograms_function()
    def chatbot():
        n = 0
        text = reply("hello")
        while True:
            nap(text)
            n += 1
            text = reply(f"turn {n}: {text}")
"""

# A bot whose replies come from the model (streamed through the turn).
MODEL_BOT = """
    from autograms import autograms_function
    from autograms.functional import reply, reply_instruction, thought

    @autograms_function()
    def chatbot():
        text = reply("hello")
        while True:
            if text == "think":
                thought("Think privately first.")
            text = reply_instruction("Answer the user.")
"""


def request(method, url, body=None, headers=None, timeout=30):
    """One HTTP request on a fresh connection: (status, lower-cased headers, body bytes)."""
    assert url.startswith("http://")
    hostport, _, path = url[len("http://") :].partition("/")
    host, _, port = hostport.rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            headers = {"content-type": "application/json", **(headers or {})}
        if isinstance(body, str):
            body = body.encode("utf-8", "surrogatepass")
        conn.request(method, "/" + path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def sse_events(raw):
    """(event, data) pairs of a server-sent-event body (event None when not named)."""
    out = []
    for block in raw.decode().split("\n\n"):
        event, data = None, []
        for line in block.splitlines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if data:
            out.append((event, "\n".join(data)))
    return out


class Server:
    """`autograms serve BOT ...` on a free loopback port, stopped when the `with` ends
    (or any `argv` that starts uvicorn on --port 0, e.g. an app that mounts create_app)."""

    def __init__(
        self,
        bot,
        *args,
        folder=None,
        store=None,
        env=None,
        port=None,
        wait=True,
        argv=None,
        ready_path="/healthz",
    ):
        self.ready_path = ready_path
        self.folder = Path(folder or tempfile.mkdtemp(prefix="serve-outside-"))
        # --port 0 lets the system pick a free port (no race with other tests); the real one
        # is read from uvicorn's "running on" line.
        self.port = 0 if port is None else port
        self.base = f"http://127.0.0.1:{self.port}"
        self.store = store or f"sqlite:///{self.folder / 'sessions.db'}"
        self.argv = argv or [
            AUTOGRAMS,
            "serve",
            str(bot),
            "--port",
            str(self.port),
            "--store",
            self.store,
            *args,
        ]
        self.env = {**os.environ, **(env or {})}
        self.wait = wait
        self.err_path = self.folder / f"serve-{self.port}.err"
        self.proc = None

    def __enter__(self):
        self.err_file = open(self.err_path, "wb")
        self.proc = subprocess.Popen(
            self.argv,
            cwd=self.folder,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self.err_file,
            start_new_session=True,
        )
        if self.wait:
            try:
                self.wait_ready()
            except BaseException:
                self.__exit__(None, None, None)
                raise
        return self

    def wait_ready(self, timeout=90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}: {self.stderr()[-2000:]}")
            if self.port == 0:
                found = re.search(r"running on http://127\.0\.0\.1:(\d+)", self.stderr())
                if not found:
                    time.sleep(0.05)
                    continue
                self.port = int(found.group(1))
                self.base = f"http://127.0.0.1:{self.port}"
            try:
                status, _, _ = request("GET", self.base + self.ready_path, timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server not ready in {timeout} s: {self.stderr()[-2000:]}")

    def stderr(self):
        self.err_file.flush()
        return self.err_path.read_text(errors="replace")

    def stderr_lines(self, wanted, timeout=10):
        """The stderr lines `wanted` accepts, waiting (bounded) until there is one: the server
        writes a request's log line after the client has read the whole response."""
        deadline = time.monotonic() + timeout
        while True:
            lines = [x for x in self.stderr().splitlines() if wanted(x)]
            if lines or time.monotonic() > deadline:
                return lines
            time.sleep(0.02)

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def stop(self, timeout=30):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(10)

    def __exit__(self, *exc):
        try:
            self.stop()
        finally:
            # Whatever is left of the group (workers of --workers N) goes too.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.err_file.close()

    # --- conveniences -------------------------------------------------------------------------
    def chat(self, messages, session=None, stream=False, extra=None, headers=None, timeout=60):
        body = {"model": "any", "messages": messages, "stream": stream, **(extra or {})}
        hdrs = dict(headers or {})
        if session is not None:
            hdrs["X-Session-Id"] = session
        return request("POST", self.base + "/v1/chat/completions", body, hdrs, timeout=timeout)

    def chat_text(self, messages, session=None, **kw):
        status, headers, body = self.chat(messages, session, **kw)
        assert status == 200, (status, body[:500])
        return json.loads(body)["choices"][0]["message"]["content"]

    def session(self, sid, headers=None):
        status, _, body = request("GET", f"{self.base}/v1/sessions/{sid}", headers=headers)
        assert status == 200, (status, body[:300])
        return json.loads(body)

    def metrics(self):
        status, _, body = request("GET", self.base + "/metrics")
        assert status == 200
        values = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                values[name] = float(value)
        return values


def converse(server, session, user_messages):
    """Run turns through chat completions; return the history as the client holds it."""
    history = []
    for text in user_messages:
        history.append({"role": "user", "content": text})
        history.append({"role": "assistant", "content": server.chat_text(history, session)})
    return history


def start(server, sid):
    """First turn (a fixed reply) of a conversation; returns the history with a new message."""
    history = [{"role": "user", "content": "hi"}]
    history.append({"role": "assistant", "content": server.chat_text(history, sid)})
    return history + [{"role": "user", "content": "tell me"}]


def open_stream(server, sid, messages):
    body = json.dumps({"model": "m", "messages": messages, "stream": True}).encode()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.sendall(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nX-Session-Id: "
        + sid.encode()
        + b"\r\nContent-Length: %d\r\n\r\n" % len(body)
        + body
    )
    return sock


def read_until(sock, predicate, timeout=30):
    got = b""
    deadline = time.monotonic() + timeout
    while not predicate(got) and time.monotonic() < deadline:
        data = sock.recv(65536)
        if not data:
            break
        got += data
    return got


def retry_until_done(server, sid, messages, timeout=40):
    """The client's retry of the same request, while the service says the turn still runs."""
    deadline = time.monotonic() + timeout
    while True:
        status, headers, raw = server.chat(messages, sid)
        if status != 409 or time.monotonic() > deadline:
            return status, raw
        time.sleep(min(float(headers.get("retry-after", 1)), 2))


class FakeModel:
    """A loopback OpenAI-compatible chat model: each answer is `words` words, one every `delay`
    seconds when streamed. Words name the request (r<N>w<i>) so two answers never match.
    `script` holds the behaviour of the next requests: "ok", "status:503", "cut:K" (stream K
    words, then end the response without finish_reason or [DONE])."""

    def __init__(self, words=6, delay=0.0, prompt_tokens=11):
        self.words, self.delay, self.prompt_tokens = words, delay, prompt_tokens
        self.script = []
        self.count = 0
        self.lock = threading.Lock()
        model = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _json(self, status, obj):
                body = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                self._json(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})

            def do_POST(self):
                length = int(self.headers.get("content-length") or 0)
                req = json.loads(self.rfile.read(length) or b"{}")
                with model.lock:
                    mode = model.script.pop(0) if model.script else "ok"
                    model.count += 1
                    n = model.count
                if mode.startswith("status:"):
                    self._json(
                        int(mode[7:]), {"error": {"message": "down", "type": "server_error"}}
                    )
                    return
                cut = int(mode[4:]) if mode.startswith("cut:") else None
                words = [f"r{n}w{i}" for i in range(model.words)]
                usage = {
                    "prompt_tokens": model.prompt_tokens,
                    "completion_tokens": model.words,
                    "total_tokens": model.prompt_tokens + model.words,
                }
                base = {"id": f"cmpl-{n}", "created": 0, "model": "fake"}
                if not req.get("stream"):
                    time.sleep(model.delay * model.words)
                    self._json(
                        200,
                        dict(
                            base,
                            object="chat.completion",
                            usage=usage,
                            choices=[
                                {
                                    "index": 0,
                                    "message": {"role": "assistant", "content": " ".join(words)},
                                    "finish_reason": "stop",
                                }
                            ],
                        ),
                    )
                    return
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("connection", "close")
                self.end_headers()
                self.close_connection = True

                def send(obj):
                    data = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
                    self.wfile.write(b"data: " + data + b"\n\n")
                    self.wfile.flush()

                try:
                    for i, word in enumerate(words):
                        if cut is not None and i >= cut:
                            return  # the response ends here: no finish_reason, no [DONE]
                        send(
                            dict(
                                base,
                                object="chat.completion.chunk",
                                choices=[
                                    {
                                        "index": 0,
                                        "delta": {"content": (" " if i else "") + word},
                                        "finish_reason": None,
                                    }
                                ],
                            )
                        )
                        time.sleep(model.delay)
                    send(
                        dict(
                            base,
                            object="chat.completion.chunk",
                            choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}],
                        )
                    )
                    if (req.get("stream_options") or {}).get("include_usage"):
                        send(dict(base, object="chat.completion.chunk", choices=[], usage=usage))
                    send(b"[DONE]")
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@contextlib.contextmanager
def chromium_page():
    """A fresh headless Debian chromium (never a Playwright download) and one page."""
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        import pytest

        pytest.skip("Debian's chromium is not installed")
    user_data = tempfile.mkdtemp(prefix="serve-outside-chromium-")
    env_before = os.environ.get("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD")
    os.environ["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"
    try:
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                user_data,
                executable_path=CHROMIUM,
                headless=True,
                args=CHROMIUM_ARGS,
                timeout=60_000,
            )
            try:
                page = context.new_page()
                page.set_default_timeout(20_000)
                yield page
            finally:
                context.close()
    finally:
        if env_before is None:
            os.environ.pop("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", None)
        shutil.rmtree(user_data, ignore_errors=True)


def wait_text(page, selector, predicate, timeout=30.0):
    """Poll the text of `selector` from Python (the page's CSP forbids Playwright's
    string-evaluated wait_for_function) until predicate(text); returns the text."""
    text = wait_for(
        lambda: (lambda t: t if predicate(t) else None)(page.inner_text(selector)),
        timeout=timeout,
        step=0.1,
    )
    assert text, f"{selector} never matched in {timeout:g} s; {chat_page.describe(page)}"
    return text


def wait_for(predicate, timeout=20.0, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()
