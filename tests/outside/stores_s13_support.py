"""Support for test_stores_s13_outside: bots, a worker process, a PostgreSQL cluster, a fake model.

Written from the README, docs/stores.md and serving.md only (outside tester, session 13).

The worker is a real process that keeps one ``TurnRunner`` for its life (so an optimistic
runner keeps its copies between commands) and reads one JSON command a line on stdin:
``{"op": "turn", "sid": ..., "text": ..., "key": ..., "owner": ...}``, ``{"op": "create", ...}``,
``{"op": "batch", "jobs": [[sid, text, key], ...]}`` (acknowledges each turn on its own line).
Each answer is one JSON line on stdout.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import pathlib
import queue
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

from autograms import Autogram, AutogramConfig, autograms_function
from autograms.functional import reply, reply_instruction

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODULE = "tests.outside.stores_s13_support"


def chain_digest(previous: str, text: str) -> str:
    """The digest the chain bot folds over the messages it has seen."""
    return hashlib.sha256(f"{previous}\n{text}".encode()).hexdigest()[:10]


_PAUSED: set[str] = set()


def _maybe_pause(text: str) -> None:
    """Lets a test stop a worker inside its turn: a GATE message writes a marker and waits."""
    delay = float(os.environ.get("S13_MAX_DELAY", "0") or 0)
    if delay:
        time.sleep(random.random() * delay)
    gate = os.environ.get("S13_GATE")
    if gate and text.startswith("GATE") and text not in _PAUSED:
        _PAUSED.add(text)  # once per process: a turn that runs again does not stop again
        pathlib.Path(gate).write_text(text)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and pathlib.Path(gate).exists():
            time.sleep(0.01)


def _revive() -> Probe:
    marker = os.environ.get("S13_UNPICKLED")
    if marker:
        with open(marker, "a") as handle:
            handle.write("unpickled\n")
    return Probe()


class Probe:
    """Held by every chain session: unpickling one writes to $S13_UNPICKLED when it is set."""

    def __reduce__(self):
        return (_revive, ())


@autograms_function()
def chain_bot():
    """Replies with its turn count, the message and a digest of every message before it."""
    probe = Probe()  # noqa: F841 -- saved with the session, so a load unpickles it
    count = 0
    digest = ""
    text = reply("ready", ADDRESS="start")
    while True:
        _maybe_pause(text)
        count += 1
        digest = chain_digest(digest, text)
        if text == "boom":  # after changing its locals: a failed turn must leave no trace
            raise RuntimeError("the bot failed on purpose")
        if text == "odd?" and count % 2:  # fails or not by the state it runs on
            raise RuntimeError(f"turn {count} is odd")
        text = reply(f"{count}:{text}:{digest}", ADDRESS="loop")


@autograms_function()
def model_bot():
    """Counts its turns and asks the model for each reply (the fake server answers)."""
    count = 0
    text = reply("ready", ADDRESS="start")
    while True:
        count += 1
        answer = reply_instruction(f"Answer turn {count}: {text}", ADDRESS="ask")
        text = answer


def expected_chain(messages: list[str]) -> list[str]:
    """The replies of the chain bot to ``messages`` run one after the other (plain Python)."""
    replies, count, digest = [], 0, ""
    for index, text in enumerate(messages):
        if index == 0:
            replies.append("ready")
            continue
        count += 1
        digest = chain_digest(digest, text)
        replies.append(f"{count}:{text}:{digest}")
    return replies


def make_autogram(bot: str, session_key: str | None = None, base_url: str | None = None):
    """The Autogram a worker and the test share for one of the bots above.

    ``file:FOLDER:MODULE`` imports MODULE from FOLDER and uses its ``chatbot`` (a deploy test
    rewrites that file).
    """
    if bot.startswith("file:"):
        import importlib

        _, folder, module = bot.split(":")
        sys.path.insert(0, folder)
        root = importlib.import_module(module).chatbot
        config = AutogramConfig(session_key=session_key) if session_key else None
        return Autogram(root_function=root, autogram_config=config, test_mode=True)
    if bot == "model":
        config = AutogramConfig(
            chatbot_type="proxy",
            base_url=base_url,
            chatbot_path="fake",
            api_key="unused",
            chatbot_max_tries=1,
            chatbot_wait_per_try=0,
            request_timeout=5,
            session_key=session_key,
        )
        return Autogram(root_function=model_bot, autogram_config=config)
    config = AutogramConfig(session_key=session_key) if session_key else None
    return Autogram(root_function=chain_bot, autogram_config=config, test_mode=True)


# ----------------------------------------------------------------------------- worker process


def _error(exc: BaseException) -> dict:
    return {
        "error": type(exc).__name__,
        "reason": getattr(exc, "reason", None),
        "message": str(exc),
    }


def _serve(argv: list[str]) -> None:
    from autograms.stores import Sessions, TurnRunner, open_store

    url, bot, optimistic, policy = argv[0], argv[1], argv[2] == "1", argv[3]
    key = os.environ.get("S13_KEY") or None
    autogram = make_autogram(bot, key, os.environ.get("S13_BASE_URL"))
    store = open_store(url)
    lease = float(os.environ.get("S13_LEASE", "30"))
    runner = TurnRunner(
        autogram, store, policy=policy, optimistic=optimistic, wait_seconds=60, lease_seconds=lease
    )
    sessions = Sessions(autogram, store)

    def turn(sid, text, k, owner=None):
        try:
            result = runner.run_turn(sid, text, k, owner=owner)
        except Exception as exc:  # the test reads every error
            return _error(exc)
        return {
            "ok": True,
            "sid": sid,
            "key": k,
            "reply": result.reply,
            "version": result.version,
            "replayed": result.replayed,
        }

    print(json.dumps({"ready": os.getpid()}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        op = command["op"]
        if op == "turn":
            out = turn(command["sid"], command["text"], command["key"], command.get("owner"))
        elif op == "create":
            try:
                record = sessions.create(command["sid"], owner=command.get("owner"), exist_ok=True)
                out = {"ok": True, "version": record.version}
            except Exception as exc:
                out = _error(exc)
        elif op == "batch":
            retried = ("TurnInProgressError", "SessionBusyError", "StoreUnavailableError")
            for sid, text, k in command["jobs"]:
                deadline = time.monotonic() + 90
                while True:  # the client's retry with the same key
                    out = turn(sid, text, k)
                    if out.get("error") not in retried or time.monotonic() > deadline:
                        break
                    time.sleep(0.05)
                print(json.dumps(out), flush=True)
            out = {"done": True}
        elif op == "exit":
            return
        else:
            out = {"error": "unknown op"}
        print(json.dumps(out), flush=True)


class Worker:
    """A worker process driven over stdin/stdout (kill it with ``kill``)."""

    def __init__(self, url, bot="chain", optimistic=False, policy="enqueue", env=None, wait=True):
        full_env = dict(os.environ)
        full_env.update(env or {})
        full_env["PYTHONPATH"] = str(ROOT)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", MODULE, "serve", url, bot, "1" if optimistic else "0", policy],
            cwd=str(ROOT),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=full_env,
        )
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        if wait:
            self.wait_ready()

    def wait_ready(self) -> Worker:
        ready = self.read(timeout=90)
        assert "ready" in ready, f"worker did not start: {ready}"
        return self

    def send(self, **command) -> None:
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()

    def _pump(self) -> None:
        # a thread reads the lines: select() on a buffered pipe misses lines already buffered
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def read(self, timeout=60.0) -> dict:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"worker {self.proc.pid} said nothing in {timeout} s") from None
        if line is None:
            self.proc.wait(timeout=30)
            return {"eof": True, "stderr": self.proc.stderr.read()[-3000:]}
        return json.loads(line)

    def turn(self, sid, text, key, owner=None, timeout=60.0) -> dict:
        self.send(op="turn", sid=sid, text=text, key=key, owner=owner)
        return self.read(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except Exception:
                pass


class LocalWorker:
    """A runner in the test process answering as a Worker does (its kept copies are its own)."""

    def __init__(self, autogram, store, **options) -> None:
        from autograms.stores import TurnRunner

        self.runner = TurnRunner(autogram, store, **options)

    def turn(self, sid, text, key, owner=None, timeout=None) -> dict:
        try:
            result = self.runner.run_turn(sid, text, key, owner=owner)
        except Exception as exc:
            return _error(exc)
        return {
            "ok": True,
            "sid": sid,
            "key": key,
            "reply": result.reply,
            "version": result.version,
            "replayed": result.replayed,
        }


# ----------------------------------------------------------------------------- PostgreSQL


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """A throwaway PostgreSQL 15 cluster run as the postgres user on a loopback port."""

    def __init__(self) -> None:
        bindir = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, check=True
        ).stdout.strip()
        self.bindir = bindir
        self.folder = tempfile.mkdtemp(prefix="s13pg-")
        os.chmod(self.folder, 0o755)
        self.data = os.path.join(self.folder, "data")
        self.sock = os.path.join(self.folder, "sock")
        os.mkdir(self.sock)
        shutil.chown(self.folder, "postgres")
        shutil.chown(self.sock, "postgres")
        self.port = free_port()
        # stops the cluster and removes its folder if the test process dies without its
        # teardown (kill -9), from before initdb on
        script = (
            f"while kill -0 {os.getpid()} 2>/dev/null; do sleep 1; done; "
            f"runuser -u postgres -- {bindir}/pg_ctl -D {self.data} -m immediate stop; "
            f"rm -rf {self.folder}"
        )
        # its own session: a kill of the test's process group (timeout, Ctrl-C) spares it
        self.watchdog = subprocess.Popen(
            ["sh", "-c", script],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._as_postgres([f"{bindir}/initdb", "-D", self.data, "-A", "trust", "-U", "postgres"])
        self._as_postgres(
            [
                f"{bindir}/pg_ctl",
                "-D",
                self.data,
                "-l",
                os.path.join(self.folder, "log"),
                "-o",
                f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 -c fsync=off",
                "-w",
                "start",
            ]
        )
        self.count = 0

    def _as_postgres(self, cmd: list[str]) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *cmd],
            check=True,
            capture_output=True,
            cwd=self.folder,
        )

    def admin_url(self, db: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def new_database(self) -> str:
        import psycopg

        self.count += 1
        name = f"s13_{os.getpid()}_{self.count}"
        with psycopg.connect(self.admin_url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.admin_url(name)

    def kill_server(self) -> None:
        """SIGKILLs the postmaster and its backends, waits until they are gone, starts again."""
        import signal

        pid = int(pathlib.Path(self.data, "postmaster.pid").read_text().split()[0])
        children = []
        for entry in pathlib.Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == pid:
                    children.append(int(entry.name))
        for victim in [pid, *children]:
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 30
        while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
            time.sleep(0.02)  # a zombie postmaster keeps postmaster.pid live (serving.md)
        self._as_postgres(
            [
                f"{self.bindir}/pg_ctl",
                "-D",
                self.data,
                "-l",
                os.path.join(self.folder, "log"),
                "-o",
                f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 -c fsync=off",
                "-w",
                "start",
            ]
        )

    def stop(self) -> None:
        try:
            self._as_postgres([f"{self.bindir}/pg_ctl", "-D", self.data, "-m", "immediate", "stop"])
        finally:
            self.watchdog.kill()
            self.watchdog.wait()
            shutil.rmtree(self.folder, ignore_errors=True)


def sql(url: str, statement: str, params: tuple = ()) -> list[tuple]:
    """Runs one statement on the store's database as a DBA would (sqlite3 or psycopg)."""
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url[len("sqlite:///") :], timeout=30)
        try:
            cur = conn.execute(statement, params)
            rows = cur.fetchall()
            conn.commit()
            return rows
        finally:
            conn.close()
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        cur = (
            conn.execute(statement.replace("?", "%s"), params)
            if params
            else conn.execute(statement)
        )
        return cur.fetchall() if cur.description else []


# ----------------------------------------------------------------------------- fake model


class FakeModel:
    """A loopback OpenAI-compatible server: ``fail`` set makes every call answer 500."""

    def __init__(self) -> None:
        self.fail = False
        self.calls = 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                owner.calls += 1
                if owner.fail:
                    self.send_response(500)
                    self.send_header("Content-Type", "application/json")
                    payload = b'{"error": {"message": "down"}}'
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                # the answer names the whole prompt: a prompt that differs shows in the reply
                prompt = json.dumps(body.get("messages"), sort_keys=True)
                text = f"model says {hashlib.sha256(prompt.encode()).hexdigest()[:8]}"
                payload = json.dumps(
                    {
                        "id": "x",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body.get("model", "fake"),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": text},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


if __name__ == "__main__":
    # run under the module's own name, so the bots' program names match the test's
    from tests.outside import stores_s13_support

    if sys.argv[1] == "serve":
        stores_s13_support._serve(sys.argv[2:])
