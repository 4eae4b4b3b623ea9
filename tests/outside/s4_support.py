"""Helpers of the session-4 outside tests: a fake model server that trickles, `autograms serve`
started and stopped by pid, a throwaway PostgreSQL cluster. Every wait is bounded."""

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
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AUTOGRAMS = str(Path(sys.executable).parent / "autograms")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TrickleModelServer:
    """An OpenAI-compatible endpoint that answers 200 at once, then sends one byte of its body
    every `interval` seconds for `seconds` seconds and closes: a server that never finishes."""

    def __init__(self, seconds: float = 6.0, interval: float = 0.2):
        self.seconds, self.interval = seconds, interval
        self.requests = 0
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        with contextlib.closing(conn):
            try:
                conn.settimeout(5)
                data = b""
                while b"\r\n\r\n" not in data:
                    more = conn.recv(65536)
                    if not more:
                        return
                    data += more
                self.requests += 1
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 100000\r\nConnection: close\r\n\r\n"
                )
                end = time.monotonic() + self.seconds
                while time.monotonic() < end and not self._stop.is_set():
                    conn.sendall(b" ")
                    time.sleep(self.interval)
            except OSError:
                return


def http(method: str, url: str, body=None, headers=None, timeout: float = 30.0):
    """(status, headers, parsed JSON or text) of one request; never raises on an HTTP status."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, hdrs, raw = resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        status, hdrs, raw = err.code, dict(err.headers), err.read()
    try:
        return status, hdrs, json.loads(raw or b"null")
    except ValueError:
        return status, hdrs, raw.decode("utf-8", "replace")


@contextlib.contextmanager
def serve(bot: str, *args: str, cwd: Path, env: dict | None = None, ready_seconds: float = 40):
    """`autograms serve BOT ARGS` on a free loopback port; yields (base URL, Popen). Stopped by
    its pid (SIGTERM, then SIGKILL of its process group) whatever happens."""
    port = free_port()
    log = open(cwd / f"serve-{port}.log", "w+")
    proc = subprocess.Popen(
        [AUTOGRAMS, "serve", bot, "--port", str(port), *args],
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_seconds
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"serve exited {proc.returncode}: {log.read()[-2000:]}")
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("serve did not become healthy")
            time.sleep(0.1)
        yield base, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        log.close()


def _pg_bindir() -> Path | None:
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10)
        path = Path(out.stdout.strip())
        if (path / "initdb").exists():
            return path
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin")):
        if (candidate / "initdb").exists():
            return candidate
    return None


@contextlib.contextmanager
def postgres_cluster():
    """A throwaway PostgreSQL cluster on a loopback port (run as the postgres user when root);
    yields its URL; stopped (immediate) and removed afterwards. Raises RuntimeError if none."""
    bindir = _pg_bindir()
    if bindir is None:
        raise RuntimeError("no PostgreSQL binaries")
    base = Path(tempfile.mkdtemp(prefix="ag-s4-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    run_as: list[str] = []
    if os.geteuid() == 0:
        run_as = ["runuser", "-u", "postgres", "--"]
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
    port = free_port()

    def pg(*cmd, timeout=60):
        return subprocess.run(run_as + list(cmd), capture_output=True, text=True, timeout=timeout)

    try:
        out = pg(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres")
        if out.returncode:
            raise RuntimeError(out.stderr)
        opts = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off"
        out = pg(
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            opts,
            "-l",
            str(base / "log"),
            "-w",
            "start",
        )
        if out.returncode:
            raise RuntimeError(out.stderr)
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        if (data / "postmaster.pid").exists():
            pg(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)
