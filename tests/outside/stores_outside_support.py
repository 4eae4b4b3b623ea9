"""Helpers of the outside tests of session stores (tests/outside/test_stores_*.py).

Bots, a throwaway PostgreSQL 15 cluster per test process, direct SQL on the store's tables (the
"edit stored data by hand" tests) and bounded helpers to pause a turn inside its program.
Only the public API of autograms is used.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import pytest

from autograms import Autogram, AutogramConfig, autograms_function
from autograms.functional import reply
from autograms.stores import Sessions, TurnRunner, open_store

HERE = os.path.dirname(os.path.abspath(__file__))

# --------------------------------------------------------------------------------------------
# Bots

#: a file path; while it exists, a message starting with "block" waits inside the program
BLOCK = {"flag": None}
#: how many times the program ran a message starting with "count"
RUNS = {"count": 0}


def _hook(text):
    if isinstance(text, str) and text.startswith("count"):
        RUNS["count"] += 1
    if isinstance(text, str) and text.startswith("block") and BLOCK["flag"]:
        flag = BLOCK["flag"]
        with open(flag + ".in", "w"):
            pass
        t0 = time.monotonic()
        while os.path.exists(flag) and time.monotonic() - t0 < 30:
            time.sleep(0.01)
    if isinstance(text, str) and text.startswith("boom"):
        raise RuntimeError("boom in the bot")
    if isinstance(text, str) and text.startswith("sysexit"):
        raise SystemExit(3)


@autograms_function()
def echo_bot():
    """Replies "ready", then "N:m1|m2|...|mN" with every message after the first."""
    seen = []
    text = reply("ready", ADDRESS="start")
    while True:
        _hook(text)
        seen.append(text)
        text = reply(f"{len(seen)}:" + "|".join(seen), ADDRESS="loop")


@autograms_function()
def other_bot():
    while True:
        reply("other", ADDRESS="other")


SESSION_KEY = "outside-tests-session-key"

echo = Autogram(root_function=echo_bot, test_mode=True)
signed = Autogram(
    root_function=echo_bot, autogram_config=AutogramConfig(session_key=SESSION_KEY), test_mode=True
)
other = Autogram(root_function=other_bot, test_mode=True)


def expected_reply(texts):
    """The reply echo_bot gives after the committed messages `texts` (the first starts it)."""
    rest = list(texts[1:])
    return "ready" if not rest else f"{len(rest)}:" + "|".join(rest)


def plain_replies(autogram, texts):
    """The replies of Autogram.reply (no store) to `texts`."""
    out, memory = [], None
    for text in texts:
        answer, memory = autogram.reply(text, memory_object=memory)
        out.append(answer)
    return out


# --------------------------------------------------------------------------------------------
# PostgreSQL


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin(name):
    path = shutil.which(name)
    if path:
        return path
    for version in ("17", "16", "15"):
        candidate = f"/usr/lib/postgresql/{version}/bin/{name}"
        if os.path.exists(candidate):
            return candidate
    return None


class PGCluster:
    """A throwaway PostgreSQL cluster on a loopback port and a private socket folder."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="outside-stores-pg-")
        self.data = os.path.join(self.root, "data")
        self.sock = os.path.join(self.root, "sock")
        os.mkdir(self.sock)
        self.port = _free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.sock, "postgres")
        self._run(
            [_pg_bin("initdb"), "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync"]
        )
        self.start()
        self.admin_url = self.url("postgres")
        self._n = 0

    def _run(self, argv, check=True):
        if self.as_root:
            argv = ["runuser", "-u", "postgres", "--"] + argv
        return subprocess.run(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=check, timeout=120
        )

    def start(self):
        opts = (
            f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 "
            f"-c fsync=off -c max_connections=200"
        )
        self._run(
            [
                _pg_bin("pg_ctl"),
                "-D",
                self.data,
                "-l",
                os.path.join(self.root, "log"),
                "-o",
                opts,
                "-w",
                "-t",
                "60",
                "start",
            ]
        )

    def postmaster_pid(self):
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            return int(f.readline())

    def kill9(self):
        """kill -9 the postmaster (its backends exit when they notice)."""
        os.kill(self.postmaster_pid(), signal.SIGKILL)
        time.sleep(0.5)

    def restart_after_kill(self, timeout=60):
        """Start again once the killed postmaster's backends are gone (until then the shared
        memory block is still in use and the start fails)."""
        t0 = time.monotonic()
        while True:
            try:
                self.start()
                return
            except subprocess.CalledProcessError:
                if time.monotonic() - t0 > timeout:
                    raise
                time.sleep(0.5)

    def stop(self):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            self._run(
                [_pg_bin("pg_ctl"), "-D", self.data, "-m", "immediate", "-w", "stop"], check=False
            )
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, db):
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def new_database(self):
        import psycopg

        self._n += 1
        name = f"outside_{os.getpid()}_{self._n}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


_cluster = None
_lock = threading.Lock()


def pg_available():
    if _pg_bin("initdb") is None or _pg_bin("pg_ctl") is None:
        return False
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError:
        return False
    return True


def pg_cluster():
    """The test process's cluster, started on first use and stopped when the process exits."""
    global _cluster
    if not pg_available():
        pytest.skip("PostgreSQL 15 (initdb, pg_ctl) or psycopg is not installed")
    with _lock:
        if _cluster is None:
            _cluster = PGCluster()
            atexit.register(_cluster.stop)
        return _cluster


def new_store_url(backend, tmp_path):
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / ('s-' + uuid.uuid4().hex[:8] + '.db')}"
    return pg_cluster().new_database()


BACKENDS = ["sqlite", "postgresql"]


# --------------------------------------------------------------------------------------------
# Direct SQL (the store's tables, as a DBA sees them)


def sql(url, statement, params=()):
    """Run one statement on the database at `url` (rows for a SELECT)."""
    if url.startswith("sqlite:///"):
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
        cur = conn.execute(statement.replace("?", "%s"), params)
        return cur.fetchall() if cur.description else []


# --------------------------------------------------------------------------------------------
# A turn paused inside its program


class PausedTurn:
    """Runs `runner.run_turn(sid, "block-<key>", key)` in a thread and holds it inside the
    program until `release()`."""

    def __init__(self, runner, sid, key, tmp_path):
        self.flag = str(tmp_path / f"flag-{uuid.uuid4().hex[:8]}")
        with open(self.flag, "w"):
            pass
        BLOCK["flag"] = self.flag
        self.result = []
        self.text = f"block-{key}"

        def run():
            try:
                self.result.append(runner.run_turn(sid, self.text, key))
            except BaseException as exc:  # noqa: BLE001 - handed to the test
                self.result.append(exc)

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        t0 = time.monotonic()
        while not os.path.exists(self.flag + ".in"):
            if time.monotonic() - t0 > 30 or not self.thread.is_alive():
                self.release()
                raise AssertionError(f"the turn never reached the program: {self.result}")
            time.sleep(0.01)

    def release(self):
        if os.path.exists(self.flag):
            os.remove(self.flag)
        self.thread.join(30)
        assert not self.thread.is_alive(), "the paused turn did not finish"
        BLOCK["flag"] = None
        return self.result[0] if self.result else None


def open_all(autogram, url, **runner_options):
    store = open_store(url)
    return store, Sessions(autogram, store), TurnRunner(autogram, store, **runner_options)


def worker_env():
    """Environment of a worker subprocess: it imports this module by the same name."""
    env = dict(os.environ)
    env["PYTHONPATH"] = HERE + os.pathsep + env.get("PYTHONPATH", "")
    return env


PY = sys.executable


# --------------------------------------------------------------------------------------------
# Worker processes


def worker_main(argv=None):
    """python -c 'import stores_outside_support as s; s.worker_main()' URL FIRST LAST SIDS PREFIX

    Sends messages FIRST..LAST-1 (message i goes to session i % len(SIDS), text PREFIX-m<i>, key
    PREFIX-k<i>), retrying what the README says to retry with the same key; prints "ready", then
    "<i> <version>" for every acknowledged message."""
    import logging

    from autograms.stores import (
        SessionBusyError,
        StoreUnavailableError,
        TurnInProgressError,
        TurnRunner,
        open_store,
    )

    logging.disable(logging.CRITICAL)
    url, first, last, sids, prefix = argv or sys.argv[1:]
    first, last, sids = int(first), int(last), sids.split(",")
    store = open_store(url)
    runner = TurnRunner(echo, store, lease_seconds=1.0, wait_seconds=30)
    print("ready", flush=True)
    deadline = time.monotonic() + 120
    for i in range(first, last):
        sid = sids[i % len(sids)]
        while True:
            try:
                result = runner.run_turn(sid, f"{prefix}-m{i}", f"{prefix}-k{i}")
                break
            except (TurnInProgressError, StoreUnavailableError, SessionBusyError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        print(i, result.version, flush=True)
    store.close()


def start_worker(url, first, last, sids, prefix):
    code = "import stores_outside_support as s; s.worker_main()"
    return subprocess.Popen(
        [PY, "-c", code, url, str(first), str(last), ",".join(sids), prefix],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=worker_env(),
    )


def check_store(store, sessions, sids, acked):
    """Every acknowledged message is committed once; version == number of turns; the replies
    are those of the messages replayed in commit order without any store."""
    for sid in sids:
        turns = store.turns(sid)
        keys = [t.idempotency_key for t in turns]
        assert len(keys) == len(set(keys)), f"a message was applied twice in {sid}"
        assert sessions.record(sid).version == len(turns)
        assert [t.version for t in turns] == list(range(1, len(turns) + 1))
        texts = [t.user_text for t in turns]
        assert [t.reply for t in turns] == plain_replies(echo, texts)
        missing = {k for s, k in acked if s == sid} - set(keys)
        assert not missing, f"acknowledged turns lost in {sid}: {sorted(missing)}"


# --------------------------------------------------------------------------------------------
# A model server (OpenAI chat completions) that reports token usage, or fails on demand


def start_model_server():
    """A local OpenAI-compatible server: every answer is "model says hi" with 7 prompt and 3
    completion tokens; with `server.fail = True` it answers HTTP 400. Stop with
    `server.shutdown(); server.server_close()`."""
    import http.server
    import json

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            length = int(self.headers.get("content-length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            if self.server.fail:
                data = b'{"error": {"message": "bad request"}}'
                self.send_response(400)
            else:
                usage = {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
                data = json.dumps(
                    {
                        "id": "x",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body.get("model", "m"),
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "message": {"role": "assistant", "content": "model says hi"},
                            }
                        ],
                        "usage": usage,
                    }
                ).encode()
                self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.fail = False
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@autograms_function()
def model_bot():
    from autograms.functional import reply_instruction

    text = reply("ready", ADDRESS="start")
    while True:
        text = reply_instruction(f"answer {text}", ADDRESS="ask")


def model_autogram(port):
    config = AutogramConfig(
        chatbot_type="proxy",
        base_url=f"http://127.0.0.1:{port}/v1",
        chatbot_path="local",
        api_key="none",
        chatbot_max_tries=1,
    )
    return Autogram(root_function=model_bot, autogram_config=config)
