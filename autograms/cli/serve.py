"""``autograms serve BOT``: serve a bot over HTTP -- to the OpenAI SDK, chat UIs, ``curl``,
and a browser (a chat page at ``/``).

BOT is an example's name (``autograms serve recruiter``) or the path of a bot file, as for
``autograms run``, and the model flags are run's: with no usable endpoint, the embedded local
model is started on 127.0.0.1 (once, for every worker) and stopped with the server. Sessions
live in the store ``--store`` names (a SQLite file by default; ``postgresql://...`` for workers
on several machines); ``--workers N`` runs N processes on it. Needs the ``serve`` extra:
``pip install 'autograms[serve]'``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import gc
import ipaddress
import json
import logging
import os
import pickle
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Iterator, Sequence
from typing import Any

from .._seconds import seconds_flag
from ..autogram import Autogram
from ..config import AutogramConfig
from ..models import ChatModel
from ..stores import StoreError
from ._bots import Bot, import_bot, require_bot
from ._common import CliError, bot_failed, make_config, read_config_file, report
from ._parent_watch import stop_with_parent
from .run import check_gguf, local_model, needs_local_model, read_api_key

#: the configuration and model of a local model server this command started
LocalModel = tuple[AutogramConfig, ChatModel]

COMMAND = "serve"
#: where a worker process finds what the command was asked (``--workers`` > 1)
WORKER_ENVIRONMENT = "AUTOGRAMS_SERVE_WORKER"
#: a worker's exit status when it cannot start (uvicorn's: its supervisor then stops)
STARTUP_FAILURE = 3
#: API keys may come from the environment (comma-separated) instead of the command line
KEYS_ENVIRONMENT = "AUTOGRAMS_API_KEYS"
DEFAULT_STORE = "sqlite:///autograms-sessions.db"

EPILOG = f"""\
routes:
  GET  /                          the chat page
  POST /v1/chat/completions       OpenAI chat completions (stream or not); the session is the
                                  X-Session-Id header, else the body's "user", else a new one
  GET  /v1/models                 the bot, as a model
  POST /v1/sessions               create a session; GET lists them
  GET  /v1/sessions/ID            history, where the program waits, token usage; DELETE it
  POST /v1/sessions/ID/messages   send {{"content": ...}} with an Idempotency-Key header
  GET  /healthz, /metrics         health (is the store reachable) and Prometheus metrics

security: with --api-key (repeatable) or ${KEYS_ENVIRONMENT} (comma-separated), every request
needs "Authorization: Bearer KEY" and sees only the sessions its key created. Without keys the
service listens on loopback only; a public --host is refused unless --insecure.

model: as for autograms run. --test-mode uses an offline scripted model; --gguf FILE serves
that model file on the local server; otherwise an OpenAI key (OPENAI_API_KEY, --api-key-file
or the config) or --base-url selects that endpoint. With neither, the embedded local model
(SmolLM2-135M, a toy) and local embeddings are started on 127.0.0.1 for all workers, and
stopped with the server. A model request may take --timeout seconds (default: the config's
request_timeout; 120 on the local model).

exit status: 0 after a clean shutdown (SIGTERM, Ctrl-C); 1 when the bot fails to import, the
local model does not start or the server fails; 2 for a usage error (unknown bot, bad
--config, a --store URL no store takes, public host without keys, missing serve extra, no
model available).
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``serve`` arguments to `parser`."""
    parser.add_argument(
        "bot",
        metavar="BOT",
        help="an example's name (e.g. recruiter) or the path of a bot's .py file",
    )
    parser.add_argument(
        "--store",
        metavar="URL",
        default=DEFAULT_STORE,
        help=f"session store: sqlite:///FILE or postgresql://... (default {DEFAULT_STORE})",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=8000,
        help="port to listen on (default 8000; 0: a free one, named in the first line printed)",
    )
    parser.add_argument(
        "--workers", type=int, default=1, metavar="N", help="worker processes (default 1)"
    )
    parser.add_argument(
        "--api-key",
        action="append",
        default=[],
        metavar="KEY",
        dest="api_keys",
        help="an API key clients must send (repeat for several)",
    )
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="allow a public --host without API keys (anyone who reaches it reads every chat)",
    )
    parser.add_argument(
        "--policy",
        choices=("enqueue", "reject"),
        default="enqueue",
        help="a message for a session busy with another: run it after (enqueue) or refuse it",
    )
    parser.add_argument(
        "--lease-seconds",
        type=seconds_flag(positive=True),
        default=30.0,
        metavar="S",
        help="how long a turn whose worker died holds its session (default 30)",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=1_000_000,
        metavar="N",
        help="largest request body in bytes (default 1000000)",
    )
    parser.add_argument(
        "--drain-seconds",
        type=seconds_flag(positive=False),
        default=20.0,
        metavar="S",
        help="at shutdown, how long running turns may still take (default 20)",
    )
    add_model_arguments(parser)


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """The model flags, as ``autograms run`` spells them."""
    parser.add_argument(
        "--model",
        metavar="NAME",
        help="model name for replies and decisions (AutogramConfig.chatbot_path)",
    )
    parser.add_argument(
        "--base-url",
        metavar="URL",
        help="base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1",
    )
    parser.add_argument(
        "--api-key-file",
        metavar="FILE",
        help='file holding the model\'s API key: the key alone, or JSON {"openai": "sk-..."}',
    )
    parser.add_argument(
        "--gguf",
        metavar="FILE",
        help="serve this GGUF model file on the local server instead of the embedded one",
    )
    parser.add_argument("--config", metavar="FILE", help="JSON object of AutogramConfig fields")
    parser.add_argument(
        "--timeout",
        type=seconds_flag(positive=True),
        metavar="SECONDS",
        help="seconds one model request may take (default: the config's; 120 for a local model)",
    )
    parser.add_argument(
        "--seed", type=int, metavar="N", help="seed of the test-mode model's answers"
    )
    parser.add_argument(
        "--test-mode",
        action="store_true",
        help="no network, no key: a scripted model answers offline",
    )


def run(args: argparse.Namespace) -> int:
    """Serve as `args` (from `add_arguments`) ask; the exit status."""
    try:
        with _stopping_is_success():
            return _serve(args)
    except CliError as exc:
        report(COMMAND, exc.message)
        return exc.status
    except (KeyboardInterrupt, _Stopped):
        return 0


class _Stopped(Exception):
    """SIGTERM arrived (uvicorn passes it on once it has shut down gracefully)."""


@contextlib.contextmanager
def _stopping_is_success() -> Iterator[None]:
    """Make SIGTERM end the command with status 0, as Ctrl-C does: uvicorn catches the
    signal, shuts down, then raises it again for the handler that was there before."""

    def stop(signum: int, frame: object) -> None:
        raise _Stopped

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _serve(args: argparse.Namespace) -> int:
    keys = api_keys(args.api_keys)
    check_host(args.host, keys, insecure=args.insecure)
    if args.workers < 1:
        raise CliError(f"--workers must be at least 1: got {args.workers}")
    if not 0 <= args.port <= 65535:
        raise CliError(f"--port must be 0 to 65535: got {args.port}")
    if args.max_body_bytes < 1:
        raise CliError(f"--max-body-bytes must be at least 1: got {args.max_body_bytes}")
    check_gguf(args.gguf, test_mode=args.test_mode, base_url=args.base_url)
    check_store_url(args.store)
    uvicorn = _require_serve_extra()
    source = require_bot(args.bot)
    check_store_reachable(args.store)
    config = config_from_arguments(args)
    args.port = free_port(args.host) if args.port == 0 else args.port
    options = dict(
        host=args.host,
        port=args.port,
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=int(args.drain_seconds) + 5,
    )
    _log_to_stderr()
    arguments = {name: value for name, value in vars(args).items() if name != "handler"}
    try:
        with _local_model(config, args) as local:
            _announce(source.name, args)
            if args.workers == 1:
                try:
                    app = build_app(arguments, keys, local)
                except StoreError as exc:  # it answered a moment ago
                    raise CliError(f"--store: {exc}", status=1) from exc
                uvicorn.run(app, **options)
            else:
                with _worker_environment(arguments, keys, local) as failures:
                    uvicorn.run(
                        f"{__name__}:worker_app", factory=True, workers=args.workers, **options
                    )
                    _check_workers_started(failures)
    except SystemExit as exc:
        # uvicorn exits with its own codes (3: it could not start, e.g. the port is taken),
        # having logged why; this command's status for a server that failed is 1
        if exc.code in (0, None):
            raise
        raise CliError("the server failed (see above)", status=1) from exc
    return 0


def config_from_arguments(args: argparse.Namespace) -> AutogramConfig:
    """The configuration the model flags ask for."""
    fields = read_config_file(args.config) if args.config else {}
    return make_config(
        fields,
        source=args.config or "the options",
        chatbot_path=args.model,
        base_url=args.base_url,
        api_key=read_api_key(args.api_key_file) if args.api_key_file else None,
        request_timeout=args.timeout,
    )


def api_keys(given: Sequence[str], environ: dict[str, str] | None = None) -> list[str]:
    """The API keys of the command line plus those of ``$AUTOGRAMS_API_KEYS``. An empty
    ``--api-key`` (``--api-key "$KEY"`` with KEY unset) is refused: taken as no key, it would
    serve every conversation without authentication."""
    if any(not key.strip() for key in given):
        raise CliError(
            '--api-key was given an empty key (an unset variable in --api-key "$KEY"?); '
            "give the key, or leave --api-key out to serve without keys"
        )
    environ = os.environ if environ is None else environ
    from_environment = environ.get(KEYS_ENVIRONMENT, "").split(",")
    return [key.strip() for key in [*given, *from_environment] if key.strip()]


def check_host(host: str, keys: Sequence[str], *, insecure: bool) -> None:
    """Refuse a host other than loopback when no API key protects the service."""
    if keys or insecure or is_loopback(host):
        return
    raise CliError(
        f"refusing to listen on {host} without API keys: anyone who can reach it could read "
        f"and write every conversation; give --api-key KEY (or set {KEYS_ENVIRONMENT}), "
        "or --insecure to serve anyway"
    )


def check_store_url(url: str) -> None:
    """Refuse a --store URL no store takes before anything starts (a usage error)."""
    from ..stores import StoreError
    from ..stores.urls import check_url

    try:
        check_url(url)
    except StoreError as exc:
        raise CliError(f"--store: {exc}") from exc


def check_store_reachable(url: str) -> None:
    """Open the store once (and close it) before serving: one it cannot reach is an error
    now, not a worker failing at every start."""
    from ..stores import open_store

    try:
        open_store(url).close()
    except StoreError as exc:
        raise CliError(f"--store: {exc}", status=1) from exc


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@contextlib.contextmanager
def _local_model(config: AutogramConfig, args: argparse.Namespace) -> Iterator[LocalModel | None]:
    """The local model's configuration and model, started as ``autograms run`` starts it
    (and stopped at the end), when ``--gguf`` asks for it or no endpoint is usable; else
    None."""
    if args.gguf is None and not needs_local_model(config, args.test_mode):
        yield None
        return
    with local_model(
        config, gguf=args.gguf, model_name=args.model, timeout=args.timeout
    ) as started:
        yield started


def build_app(
    arguments: dict[str, Any], keys: Sequence[str], local: LocalModel | None = None
) -> Any:
    """The app the command serves: the bot imported, its Autogram made (on the `local`
    model's configuration and model when one was started), ``init_chatbot()`` run, on the
    store it names."""
    from ..serve import create_app

    namespace = argparse.Namespace(**arguments)
    bot = import_bot(require_bot(namespace.bot))
    if local is None:
        config, model = config_from_arguments(namespace), None
    else:
        config, model = local
    autogram = Autogram(
        bot.chatbot, config, test_mode=namespace.test_mode, seed=namespace.seed, model=model
    )
    if bot.init_chatbot is not None:
        _init(autogram, bot)
    app = create_app(
        autogram,
        namespace.store,
        name=bot.source.name,
        api_keys=keys,
        policy=namespace.policy,
        lease_seconds=namespace.lease_seconds,
        max_body_bytes=namespace.max_body_bytes,
        drain_seconds=namespace.drain_seconds,
    )
    # what is loaded now (the bot, the SDK, the engine's indexes) lives as long as the
    # process: kept out of the garbage collector's sight, its full collections no longer
    # walk it while turns run
    gc.freeze()
    return app


def worker_app() -> Any:
    """The app of one worker process (``--workers`` > 1), built from what the command put in
    ``$AUTOGRAMS_SERVE_WORKER``."""
    _log_to_stderr()
    settings = json.loads(os.environ[WORKER_ENVIRONMENT])
    stop_with_parent(settings["parent"])
    local = settings["local"] and pickle.loads(base64.b64decode(settings["local"]))
    try:
        return build_app(settings["arguments"], settings["keys"], local)
    except StoreError as exc:
        # the store answered when the service started: it may be back for the next start
        report(COMMAND, f"--store: {exc}")
        raise SystemExit(1) from exc
    except Exception as exc:
        # a worker that cannot start would fail the same way at every restart: uvicorn stops
        # on this status, and the command reports the message once
        message = exc.message if isinstance(exc, CliError) else f"the app failed to start: {exc!r}"
        report(COMMAND, message)
        with open(os.path.join(settings["failures"], str(os.getpid())), "w") as note:
            note.write(message)
        raise SystemExit(STARTUP_FAILURE) from exc


def _check_workers_started(failures: str) -> None:
    """Raise the first failure a worker noted, if any (the service then did not serve)."""
    notes = sorted(os.listdir(failures))
    if notes:
        with open(os.path.join(failures, notes[0])) as note:
            message = note.read()
        raise CliError(f"a worker could not start: {message}", status=1)


def _init(autogram: Autogram, bot: Bot) -> None:
    try:
        with autogram.use_config():
            bot.init_chatbot()
    except Exception as exc:
        raise bot_failed("init_chatbot()", exc) from exc


def _require_serve_extra() -> Any:
    try:
        import prometheus_client  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn
    except ImportError as exc:
        raise CliError(f"autograms serve needs {exc.name}: pip install 'autograms[serve]'") from exc
    return uvicorn


@contextlib.contextmanager
def _worker_environment(
    arguments: dict[str, Any], keys: Sequence[str], local: LocalModel | None
) -> Iterator[str]:
    """What worker processes read: the command's arguments, the local model this process
    started (pickled: its configuration and model, which talk to the running server), this
    process's id (they stop when it dies), a folder where each writes its metrics
    (prometheus_client's multiprocess mode) and one where a worker that cannot start notes
    why (yielded)."""
    metrics = tempfile.mkdtemp(prefix="autograms-metrics-")
    failures = tempfile.mkdtemp(prefix="autograms-workers-")
    pickled = base64.b64encode(pickle.dumps(local)).decode() if local is not None else None
    settings = {
        "arguments": arguments,
        "keys": list(keys),
        "local": pickled,
        "parent": os.getpid(),
        "failures": failures,
    }
    saved = {
        name: os.environ.get(name) for name in (WORKER_ENVIRONMENT, "PROMETHEUS_MULTIPROC_DIR")
    }
    os.environ[WORKER_ENVIRONMENT] = json.dumps(settings)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics
    try:
        yield failures
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(metrics, ignore_errors=True)
        shutil.rmtree(failures, ignore_errors=True)


def _log_to_stderr() -> None:
    """Every log record of the library and of uvicorn as one JSON line on stderr."""
    from ..serve.logs import JsonFormatter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def free_port(host: str) -> int:
    """A port the system has free on host, for `--port 0`.

    Chosen here rather than by uvicorn so that the banner (and every worker) names the port the
    service listens on; were another program to take it in the moment between, uvicorn's start
    fails with "address already in use", never silently elsewhere.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def _announce(name: str, args: argparse.Namespace) -> None:
    host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{host}:{args.port}"
    workers = f", {args.workers} workers" if args.workers > 1 else ""
    sys.stderr.write(
        f"autograms serve: {name} at {url}/ (OpenAI base URL {url}/v1; store "
        f"{_hidden(args.store)}{workers})\n"
    )
    sys.stderr.flush()


def _hidden(url: str) -> str:
    from ..stores.urls import hide_password

    return hide_password(url)
