"""The processes of ``autograms serve``: workers stop when their supervisor is killed (so a
restarted service can bind the port), and a service that cannot start -- a store it cannot
reach, a bot its workers cannot load -- exits with one clear error instead of restarting its
workers forever."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.serve.server import ROOT, ServeProcess, free_port


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_stop_when_their_supervisor_is_killed_and_the_port_is_free_again(tmp_path):
    service = ServeProcess(tmp_path, "--workers", "2", "--test-mode").start()
    workers: list[int] = []
    try:
        workers += service.workers()
        assert len(workers) == 2
        os.kill(service.process.pid, signal.SIGKILL)
        service.process.wait(30)
        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in workers)
        # the same port: free once the workers are gone
        again = ServeProcess(tmp_path, "--test-mode", store=service.store, port=service.port)
        again.start()
        assert again.stop() == 0
    finally:
        service.kill()
        for pid in workers:  # orphans if they outlived their supervisor (not their children now)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _serve(*arguments: str, timeout: float = 60) -> tuple[int | None, str]:
    command = [sys.executable, "-m", "autograms", "serve", *arguments]
    command += ["--port", str(free_port()), "--test-mode"]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        output, _ = process.communicate(timeout=timeout)
        return process.returncode, output
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate(timeout=30)
        return None, output


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_store_it_cannot_reach_is_one_clear_error(workers):
    url = f"postgresql://127.0.0.1:{free_port()}/nowhere"
    status, output = _serve("recruiter", "--store", url, "--workers", workers)
    assert status == 1, output[-2000:]
    assert "Traceback" not in output
    assert f"--store: the PostgreSQL store at {url} is unavailable" in output
    assert "Started" not in output  # no worker was started


def test_workers_that_cannot_load_the_bot_stop_the_service(tmp_path):
    bot = tmp_path / "broken_at_import.py"
    bot.write_text(
        "import os\n"
        "from autograms import autograms_function\n"
        "from autograms.functional import reply\n"
        "if os.environ.get('AUTOGRAMS_SERVE_WORKER'):\n"
        "    raise RuntimeError('this bot breaks in a worker')\n"
        "@autograms_function()\n"
        "def chatbot():\n"
        "    reply('hi')\n"
    )
    store = f"sqlite:///{tmp_path / 'sessions.db'}"
    status, output = _serve(str(bot), "--store", store, "--workers", "2")
    assert status == 1, output[-3000:]
    assert "a worker could not start" in output
    assert "this bot breaks in a worker" in output
