"""Test support: `autograms serve` started as a real process on a loopback port, and the fake
model it talks to (replies that depend on the whole conversation, streamed word by word)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx2

from autograms import Autogram, AutogramConfig, load_autogram
from tests.fakes.openai_server import FakeOpenAIServer

ROOT = Path(__file__).resolve().parents[2]
BOTS = Path(__file__).parent / "bots"
STREAMER = BOTS / "streamer.py"
#: one HTTP client for the tests (making one per request costs ~0.1 s: it loads CA files)
HTTP = httpx2.Client(timeout=30)
#: words the fake model adds after its digest, so that a reply streams in several pieces
FILLER = "thanks for asking, here is what I think about it"


def model_reply(body: dict[str, Any]) -> str | None:
    """The fake model's answer: a digest of every message it was sent, then filler words
    (a structured request gets the fake's default answer)."""
    if body.get("response_format"):
        return None
    text = json.dumps(body.get("messages"), sort_keys=True)
    return f"Reply {hashlib.sha256(text.encode()).hexdigest()[:10]}: {FILLER}"


def start_model(token_delay: float = 0.0, first_token_delay: float = 0.0) -> FakeOpenAIServer:
    return FakeOpenAIServer(
        responder=model_reply, token_delay=token_delay, first_token_delay=first_token_delay
    ).start()


def model_config(model: FakeOpenAIServer) -> dict[str, Any]:
    """AutogramConfig fields for a bot talking to `model`: no retry waits, one attempt."""
    return {
        "chatbot_type": "proxy",
        "base_url": model.base_url,
        "chatbot_path": "fake",
        "chatbot_max_tries": 1,
        "chatbot_wait_per_try": 0,
        "classifier_wait_per_try": 0,
        "request_timeout": 20,
    }


def local_autogram(config: dict[str, Any], bot: Path = STREAMER) -> Autogram:
    """The bot in this process, as the service runs it (for replaying its sessions)."""
    chatbot, _ = load_autogram(bot)
    return Autogram(chatbot, AutogramConfig(**config))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServeProcess:
    """``python -m autograms serve BOT ...`` on 127.0.0.1; its stderr goes to `log_path`."""

    def __init__(
        self,
        folder: Path,
        *arguments: str,
        bot: Path | str = STREAMER,
        config: dict[str, Any] | None = None,
        store: str | None = None,
        env: dict[str, str] | None = None,
        port: int | None = None,
    ) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.store = store or f"sqlite:///{folder / 'sessions.db'}"
        self.log_path = folder / f"serve-{self.port}.log"
        command = [sys.executable, "-m", "autograms", "serve", str(bot), "--port", str(self.port)]
        command += ["--store", self.store, *arguments]
        if config is not None:
            config_path = folder / f"config-{self.port}.json"
            config_path.write_text(json.dumps(config))
            command += ["--config", str(config_path)]
        self.command = command
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def start(self, timeout: float = 60) -> ServeProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            self.command, cwd=ROOT, env=self.env, stdout=log, stderr=log, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"autograms serve exited ({self.process.returncode}):\n{self.log}"
                )
            try:
                if HTTP.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx2.HTTPError:
                pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"autograms serve did not answer in {timeout} s:\n{self.log}")

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, then wait for the exit; its status."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        """SIGKILL the whole process group (workers included)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)

    def workers(self) -> list[int]:
        """The pids of the worker processes (``--workers`` > 1)."""
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                fields = stat.rpartition(")")[2].split()
                # uvicorn spawns its workers (multiprocessing's spawn_main); skip its helpers
                if int(fields[1]) == self.process.pid and "spawn_main" in _cmdline(entry):
                    found.append(int(entry.name))
        return found

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_records(self) -> list[dict[str, Any]]:
        """The JSON lines of the log."""
        records = []
        for line in self.log.splitlines():
            if line.startswith("{"):
                records.append(json.loads(line))
        return records


def _cmdline(entry: Path) -> str:
    try:
        return (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
