"""Support for the s9 outside tests of `autograms serve`: a server, a PostgreSQL cluster and a
fake streaming model, all on loopback, each stopped by its context manager."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

BOT_DIR = Path(__file__).parent / "serve_s9_bots"
BOT = BOT_DIR / "s9bot.py"
AUTOGRAMS = Path(sys.executable).parent / "autograms"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
CHROMIUM = Path("/usr/bin/chromium")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children(pid: int) -> list[int]:
    """The ids of a process's children, read from /proc."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                kids.append(int(stat.parent.name))
    return kids


def u(text: str) -> dict:
    return {"role": "user", "content": text}


def a(text: str) -> dict:
    return {"role": "assistant", "content": text}


class Server:
    """`autograms serve BOT` on a loopback port; killed (its whole process group) on exit."""

    def __init__(
        self,
        store: str,
        *args: str,
        bot: Path = BOT,
        test_mode: bool = True,
        env: dict | None = None,
        wait: bool = True,
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.store = store
        self.cmd = [str(AUTOGRAMS), "serve", str(bot), "--store", store, "--port", str(self.port)]
        self.cmd += [*(["--test-mode"] if test_mode else []), *args]
        self.env = {**os.environ, **(env or {})}
        self.wait = wait
        self.log = tempfile.NamedTemporaryFile(prefix="s9serve-", suffix=".log", delete=False)
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        self.proc = subprocess.Popen(
            self.cmd,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=self.env,
            start_new_session=True,
        )
        if self.wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited {self.proc.returncode}: {self.output()}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.base + "/healthz", timeout=5).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError("serve did not start: " + self.output())

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-4000:]

    def worker_pids(self) -> list[int]:
        """The supervisor's child processes (the workers)."""
        return children(self.proc.pid)

    def stop(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=15)

    def __exit__(self, *exc) -> None:
        self.stop()
        self.log.close()
        with contextlib.suppress(OSError):
            os.unlink(self.log.name)

    # -- clients ---------------------------------------------------------------------------
    def chat(self, sid: str | None, messages: list, **kw) -> requests.Response:
        headers = dict(kw.pop("headers", {}))
        if sid is not None:
            headers["X-Session-Id"] = sid
        return requests.post(
            self.base + "/v1/chat/completions",
            json={"messages": messages, **kw},
            headers=headers,
            timeout=90,
        )

    def stream(self, sid: str, messages: list, **kw) -> tuple[int, list[str]]:
        """A streamed chat request: its status and its `data:` payloads, in order."""
        headers = {"X-Session-Id": sid, **kw.pop("headers", {})}
        with requests.post(
            self.base + "/v1/chat/completions",
            json={"messages": messages, "stream": True, **kw},
            headers=headers,
            stream=True,
            timeout=90,
        ) as resp:
            return resp.status_code, [
                line[6:]
                for line in resp.iter_lines(decode_unicode=True)
                if line.startswith("data: ")
            ]

    def session(self, sid: str, **kw) -> dict:
        resp = requests.get(f"{self.base}/v1/sessions/{sid}", timeout=60, **kw)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def send(self, sid: str, content, key: str, **kw) -> requests.Response:
        headers = {"Idempotency-Key": key, **kw.pop("headers", {})}
        return requests.post(
            f"{self.base}/v1/sessions/{sid}/messages",
            json={"content": content, **kw},
            headers=headers,
            timeout=90,
        )


def reply_of(resp: requests.Response) -> str:
    assert resp.status_code == 200, resp.text
    return resp.json()["choices"][0]["message"]["content"]


def streamed_text(payloads: list[str]) -> str:
    text = []
    for p in payloads:
        if p == "[DONE]":
            continue
        chunk = json.loads(p)
        for choice in chunk.get("choices") or []:
            text.append(choice.get("delta", {}).get("content") or "")
    return "".join(text)


# -- PostgreSQL ------------------------------------------------------------------------------
class Cluster:
    """A throwaway PostgreSQL 15 cluster: run as the postgres user, loopback port, own socket
    folder, trust authentication; `new_db()` gives a fresh database's URL."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="s9pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.count = 0

    def _as_postgres(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["runuser", "-u", "postgres", "--", *cmd],
            capture_output=True,
            text=True,
            timeout=120,
            check=check,
        )

    def __enter__(self) -> Cluster:
        os.chmod(self.root, 0o755)
        shutil.chown(self.root, "postgres", "postgres")
        self._as_postgres(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        )
        self.start()
        return self

    def start(self) -> None:
        opts = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=200"
        )
        self._as_postgres(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            opts,
            "-l",
            str(self.root / "log"),
            "-w",
            "-t",
            "60",
            "start",
        )

    def kill9(self) -> None:
        """SIGKILL the postmaster, then its backends (by the ids read from /proc)."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        backends = children(pid)
        os.kill(pid, signal.SIGKILL)
        for child in backends:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        deadline = time.monotonic() + 30
        for gone in (pid, *backends):
            while Path(f"/proc/{gone}").exists() and time.monotonic() < deadline:
                time.sleep(0.05)

    def new_db(self) -> str:
        import psycopg

        self.count += 1
        name = f"s9db{self.count}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def url(self, db: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def __exit__(self, *exc) -> None:
        self._as_postgres(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-m",
            "immediate",
            "-w",
            "stop",
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def have_postgres() -> bool:
    return (PG_BIN / "initdb").exists() and shutil.which("runuser") is not None


# -- a fake OpenAI-compatible model that streams -------------------------------------------
class FakeModel:
    """Answers /v1/chat/completions with `tokens` (streamed one by one, `delay` apart) and a
    usage of `prompt_tokens` / `completion_tokens`; counts the calls it got."""

    def __init__(
        self,
        tokens: list[str],
        delay: float = 0.0,
        prompt_tokens: int = 7,
        completion_tokens: int = 5,
    ) -> None:
        self.tokens = tokens
        self.delay = delay
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        self.calls = 0
        self.cut_after: int | None = None  # a streamed answer breaks off after this many tokens
        self.bodies: list[dict] = []
        model = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                self._json({"object": "list", "data": [{"id": "fake", "object": "model"}]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                model.calls += 1
                model.bodies.append(body)
                usage = {
                    "prompt_tokens": model.prompt_tokens,
                    "completion_tokens": model.completion_tokens,
                    "total_tokens": model.prompt_tokens + model.completion_tokens,
                }
                if not body.get("stream"):
                    self._json(
                        {
                            "id": "x",
                            "object": "chat.completion",
                            "created": 0,
                            "model": "fake",
                            "choices": [
                                {
                                    "index": 0,
                                    "finish_reason": "stop",
                                    "message": {
                                        "role": "assistant",
                                        "content": "".join(model.tokens),
                                    },
                                }
                            ],
                            "usage": usage,
                        }
                    )
                    return
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("connection", "close")
                self.end_headers()
                chunks = [{"role": "assistant", "content": t} for t in model.tokens]
                for i, delta in enumerate(chunks):
                    if model.cut_after is not None and i == model.cut_after:
                        self.close_connection = True
                        return
                    self._event(
                        {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]}, i
                    )
                    time.sleep(model.delay)
                self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}, 0)
                self._event({"choices": [], "usage": usage}, 0)
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

            def _event(self, chunk: dict, _i: int) -> None:
                chunk = {
                    "id": "x",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": "fake",
                    **chunk,
                }
                self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
                self.wfile.flush()

            def _json(self, obj: dict) -> None:
                data = json.dumps(obj).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> FakeModel:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def model_args(model: FakeModel) -> list[str]:
    return ["--base-url", model.base_url, "--model", "fake"]
