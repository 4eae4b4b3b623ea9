"""Support for the session-7 outside tests of stores and serving (issues 13 and 14).

A throwaway PostgreSQL 15 cluster, a counting bot whose replies name every message it has seen
(so a transcript shows a lost, doubled or reordered turn), a worker process for the store tests,
an `autograms serve` launcher, and the invariant checks of serving.md written from outside.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")
HAVE_PG = (PG_BIN / "pg_ctl").exists()
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
BOT_DIR = HERE / "s7b13_bots"
BOT_FILE = BOT_DIR / "s7b13bot.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """A PostgreSQL cluster of our own, run as the postgres user on a loopback port."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="autograms-pg-s7b13-"))
        self.data = self.dir / "data"
        self.sock = self.dir / "sock"
        self.port = free_port()
        self.sock.mkdir()
        shutil.chown(self.dir, "postgres", "postgres")
        shutil.chown(self.sock, "postgres", "postgres")
        self._as_pg(
            [str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"],
            timeout=120,
        )
        self.start()

    def _as_pg(self, argv: list[str], timeout: float) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["runuser", "-u", "postgres", "--", *argv],
            check=True,
            capture_output=True,
            timeout=timeout,
        )

    def start(self) -> None:
        opts = (
            f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 -c fsync=on "
            "-c max_connections=200"
        )
        self._as_pg(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-o",
                opts,
                "-l",
                str(self.dir / "log"),
                "-w",
                "-t",
                "60",
                "start",
            ],
            timeout=90,
        )

    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def kill9(self) -> None:
        """SIGKILL the postmaster and every backend, and wait until they are gone."""
        pid = self.postmaster_pid()
        children = subprocess.run(
            ["pgrep", "-P", str(pid)], capture_output=True, text=True
        ).stdout.split()
        for p in [pid, *map(int, children)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(
            Path(f"/proc/{p}").exists() for p in [pid, *map(int, children)]
        ):
            time.sleep(0.05)

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def new_db(self) -> str:
        name = f"b13_{os.getpid()}_{int(time.monotonic() * 1e6)}"
        self._as_pg(
            [str(PG_BIN / "createdb"), "-h", str(self.sock), "-p", str(self.port), name],
            timeout=60,
        )
        return self.url(name)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._as_pg(
                [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                timeout=60,
            )
        shutil.rmtree(self.dir, ignore_errors=True)


def sql(url: str, query: str, params: tuple = ()) -> list[tuple]:
    """Run one statement on the store's database directly (what a DBA or an attacker would)."""
    if url.startswith("sqlite:///"):
        con = sqlite3.connect(url[len("sqlite:///") :], timeout=30)
        try:
            cur = con.execute(query, params)
            rows = cur.fetchall()
            con.commit()
            return rows
        finally:
            con.close()
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        cur = con.execute(query.replace("?", "%s"), params)
        return cur.fetchall() if cur.description else []


def expected_reply(messages: list[str]) -> str:
    """The counting bot's reply after these user messages (the first turn's '' excluded)."""
    return f"{len(messages)}|" + "/".join(messages)


def check_store(url: str, acked: dict[str, dict[str, tuple[str, str]]]) -> list[str]:
    """serving.md's invariants 1-4 over every session of the store; returns the violations.

    `acked` maps session id -> idempotency key -> (message, reply the client was given).
    """
    problems: list[str] = []
    sessions = sql(url, "SELECT id, version FROM autograms_sessions")
    versions = dict(sessions)
    for sid in acked:
        if sid not in versions:
            problems.append(f"{sid}: acknowledged session missing")
    for sid, version in sessions:
        rows = sql(
            url,
            "SELECT version, idempotency_key, user_text, reply FROM autograms_turns "
            "WHERE session_id = ? ORDER BY version",
            (sid,),
        )
        if len(rows) != version:
            problems.append(f"{sid}: version {version} but {len(rows)} turn rows")
        if [r[0] for r in rows] != list(range(1, len(rows) + 1)):
            problems.append(f"{sid}: turn versions not contiguous: {[r[0] for r in rows]}")
        keys = [r[1] for r in rows]
        if len(set(keys)) != len(keys):
            problems.append(f"{sid}: a key twice")
        seen: list[str] = []
        for n, (_, _key, text, rep) in enumerate(rows):
            if n == 0:
                want = "hello"
            else:
                seen.append(text)
                want = expected_reply(seen)
            if text.startswith(("instr", "think", "llm", "suffix")):
                continue  # a model's reply: any text
            if rep != want:
                problems.append(f"{sid}: turn {n + 1} replied {rep!r}, sequential run {want!r}")
                break
        by_key = {r[1]: (r[2], r[3]) for r in rows}
        for key, (text, rep) in acked.get(sid, {}).items():
            if key not in by_key:
                problems.append(f"{sid}: acknowledged turn {key} ({text!r}) lost")
            elif by_key[key] != (text, rep):
                problems.append(f"{sid}: {key} acked {(text, rep)} stored {by_key[key]}")
    return problems


def python() -> str:
    return sys.executable


def env_for_children(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(BOT_DIR), str(ROOT), env.get("PYTHONPATH", "")])
    env.update(extra)
    return env


class Server:
    """`autograms serve` in a process group of its own, on a free loopback port."""

    def __init__(
        self,
        bot: Path | str,
        store: str,
        *args: str,
        env: dict[str, str] | None = None,
        test_mode: bool = True,
    ):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.err_path = Path(tempfile.mkstemp(prefix="b13-serve-", suffix=".log")[1])
        exe = Path(sys.executable).with_name("autograms")
        argv = [str(exe), "serve", str(bot), "--store", store]
        if test_mode:
            argv.append("--test-mode")
        argv += ["--port", str(self.port), *args]
        self._err = open(self.err_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            argv,
            stdout=subprocess.DEVNULL,
            stderr=self._err,
            env=env_for_children(**(env or {})),
            start_new_session=True,
        )
        self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.err_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"server not ready: {self.err_path.read_text()[-2000:]}")

    def log(self) -> str:
        return self.err_path.read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self._err.close()
        self.err_path.unlink(missing_ok=True)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def cluster_or_skip():
    import pytest

    if not HAVE_PG:
        pytest.skip("PostgreSQL 15 is not installed")
    cluster = Cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


class FakeModel:
    """A loopback OpenAI-compatible chat model that streams `tokens` words `delay` apart.

    `mode` can be switched by the test: "ok", "down" (503 at once), "cut" (closes the
    connection after half the tokens).
    """

    def __init__(self, tokens: int = 8, delay: float = 0.1) -> None:
        import http.server
        import json as _json
        import threading

        self.tokens, self.delay, self.mode = tokens, delay, "ok"
        self.calls = 0
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                length = int(self.headers.get("content-length", 0))
                body = _json.loads(self.rfile.read(length) or b"{}")
                fake.calls += 1
                if fake.mode == "down":
                    data = b'{"error": {"message": "overloaded"}}'
                    self.send_response(503)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                last = str((body.get("messages") or [{}])[-1].get("content"))
                stem = "secret" if "XYZZY" in last else "w"
                words = [f"{stem}{i} " for i in range(fake.tokens)]
                if not body.get("stream"):
                    data = _json.dumps(
                        {
                            "id": "c1",
                            "object": "chat.completion",
                            "created": 0,
                            "model": "fake",
                            "choices": [
                                {
                                    "index": 0,
                                    "message": {"role": "assistant", "content": "".join(words)},
                                    "finish_reason": "stop",
                                }
                            ],
                            "usage": {
                                "prompt_tokens": 3,
                                "completion_tokens": fake.tokens,
                                "total_tokens": 3 + fake.tokens,
                            },
                        }
                    ).encode()
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("connection", "close")
                self.end_headers()
                self.close_connection = True

                def send(obj: object) -> None:
                    self.wfile.write(b"data: " + _json.dumps(obj).encode() + b"\n\n")
                    self.wfile.flush()

                for i, word in enumerate(words):
                    if fake.mode == "cut" and i == len(words) // 2:
                        return
                    send(
                        {
                            "id": "c1",
                            "object": "chat.completion.chunk",
                            "created": 0,
                            "model": "fake",
                            "choices": [
                                {"index": 0, "delta": {"content": word}, "finish_reason": None}
                            ],
                        }
                    )
                    time.sleep(fake.delay)
                send(
                    {
                        "id": "c1",
                        "object": "chat.completion.chunk",
                        "created": 0,
                        "model": "fake",
                        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                        "usage": {
                            "prompt_tokens": 3,
                            "completion_tokens": fake.tokens,
                            "total_tokens": 3 + fake.tokens,
                        },
                    }
                )
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
