"""What one streamed turn costs the service process in CPU time, part by part.

The same set-up as `benchmarks.serve.spans` (one client in a process of its own, sequential
turns of the streamer bot, the fake model in a third process, the app served by uvicorn in a
thread of this process, logging as ``autograms serve`` sets it up), but every part is measured
with the CPU time of the thread it runs on (`time.thread_time`), not the wall clock: time a
thread spends waiting -- for the model, for a CPU on a loaded machine, for a disk flush -- is
not counted, so the figures mean something on a shared machine. Each part is a function of
the service wrapped by its name (the library is not edited); its *own* time excludes the parts
called inside it, so the parts of one thread add up to that thread's time per turn, and the
rest ("loop, other", "turn thread, other") is what no wrapped function covers.

The client process measures its own CPU time for a turn through the service and for the same
turn straight with the model (the benchmark's "added" compares those two).

    python -m benchmarks.serve.cpu [--store sqlite|postgresql] [--turns 40]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import inspect
import io
import json
import logging
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any


from autograms import Autogram, AutogramConfig, load_autogram
from autograms.models import openai_compat
from autograms.serve import create_app, openai_api
from autograms.serve.logs import JsonFormatter, RequestLog
from autograms.serve.metrics import Metrics
from autograms.serve.service import Service
from autograms.serve.streaming import TurnStream
from benchmarks.serve.environment import model_and_store, served_in_thread
from tests.serve.server import ROOT, STREAMER

#: the parts, in the order the report lists them: (name, thread, what)
PARTS = (
    ("request read", "loop", "the body read and parsed (JSON), the messages read"),
    ("turn launch", "loop", "TurnStream made, the turn handed to a worker thread"),
    ("piece arrives", "loop", "a piece posted by the turn thread taken on the event loop"),
    ("framing", "loop", "SSE chunks encoded (pieces and the end)"),
    ("socket send", "loop", "uvicorn's send: the chunk written to the socket"),
    ("request log", "loop", "the access log line and the request metrics"),
    ("loop, other", "loop", "uvicorn (HTTP parsing), Starlette routing, middleware, the "
     "response's generators, the event loop itself"),
    ("claim", "turn", "the store's claim: ticket, session row, committed turns"),
    ("history check", "turn", "the request's messages against the committed turns"),
    ("deserialize", "turn", "the session restored"),
    ("model request", "turn", "the model layer builds and sends the request (openai SDK)"),
    ("model stream", "turn", "the model layer reads and parses the streamed answer"),
    ("piece post", "turn", "each piece tidied and posted to the event loop"),
    ("program", "turn", "the engine runs the turn (outside the model call)"),
    ("serialize", "turn", "the session serialized (and sealed)"),
    ("commit", "turn", "the store's commit (this process's part of it)"),
    ("turn end", "turn", "the result posted to the event loop, the turn counted"),
    ("turn thread, other", "turn", "the runner, the worker thread's start and end"),
)  # fmt: skip


#: what the report's tables come under in benchmarks/results/serve.md
HEADING = (
    "## What a streamed turn costs the service in CPU time\n\n"
    "The same single client as above, each part of the service measured with the CPU time of "
    "the thread it runs on (waiting -- for the model, the disk, a CPU on a loaded machine -- "
    "is not counted), the access log on as `autograms serve` has it "
    "(`python -m benchmarks.serve.cpu`). *Own* time: the parts called inside a part count "
    "for themselves; *other* is what no measured part covers."
)


class Regions:
    """CPU time per part and turn: each wrapped call's own thread time (the time of the
    parts called inside it goes to those), summed per part for the current turn."""

    def __init__(self) -> None:
        self.turns: list[dict[str, float]] = []
        self._local = threading.local()

    def begin_turn(self) -> None:
        self.turns.append({})

    def _add(self, part: str, seconds: float) -> None:
        if self.turns:
            turn = self.turns[-1]
            turn[part] = turn.get(part, 0.0) + seconds

    def _stack(self) -> list[list[float]]:
        stack = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack

    @contextlib.contextmanager
    def region(self, part: str) -> Any:
        stack = self._stack()
        frame = [time.thread_time(), 0.0]  # start, time of the parts inside
        stack.append(frame)
        try:
            yield
        finally:
            stack.pop()
            inclusive = time.thread_time() - frame[0]
            self._add(part, inclusive - frame[1])
            if stack:
                stack[-1][1] += inclusive

    def wrap(self, owner: Any, name: str, part: str) -> Callable[[], None]:
        """Count `owner.name`'s own time as `part`; returns what undoes it."""
        method = inspect.getattr_static(owner, name)
        function = method.__func__ if isinstance(method, staticmethod | classmethod) else method
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def counted(*args: Any, **kwargs: Any) -> Any:
                with self.region(part):
                    return await function(*args, **kwargs)

        else:

            @functools.wraps(function)
            def counted(*args: Any, **kwargs: Any) -> Any:
                with self.region(part):
                    return function(*args, **kwargs)

        setattr(owner, name, counted)
        return lambda: setattr(owner, name, method)


def measure(model_url: str, store_url: str, turns: int, logs: bool = True) -> dict[str, Any]:
    """Per part, the CPU seconds of every turn; the per-thread and process totals; the
    client's CPU seconds per turn through the service and straight with the model."""
    chatbot, _ = load_autogram(STREAMER)
    config = AutogramConfig(
        chatbot_type="proxy", base_url=model_url, chatbot_path="fake", chatbot_max_tries=1
    )
    autogram = Autogram(chatbot, config)
    regions = Regions()
    app = create_app(autogram, store_url)
    store = app.state.service.store
    model_class = type(autogram.model)
    undo = [
        regions.wrap(openai_api, "read_json", "request read"),
        regions.wrap(openai_api, "read_messages", "request read"),
        regions.wrap(Service, "start_turn", "turn launch"),
        regions.wrap(TurnStream, "_arrived", "piece arrives"),
        regions.wrap(openai_api._Reply, "_delta", "framing"),
        regions.wrap(openai_api._Reply, "_end", "framing"),
        regions.wrap(RequestLog, "_record", "request log"),
        regions.wrap(Service, "_turn", "turn thread, other"),
        regions.wrap(type(store), "claim", "claim"),
        regions.wrap(openai_api._Continued, "vet", "history check"),
        regions.wrap(Autogram, "deserialize", "deserialize"),
        regions.wrap(Autogram, "reply", "program"),
        regions.wrap(openai_compat, "_post_chat", "model request"),
        regions.wrap(model_class, "stream", "model stream"),
        regions.wrap(TurnStream, "write", "piece post"),
        regions.wrap(Autogram, "serialize", "serialize"),
        regions.wrap(type(store), "commit", "commit"),
        regions.wrap(TurnStream, "finish", "turn end"),
        regions.wrap(Metrics, "turn_done", "turn end"),
    ]
    threads: dict[str, int] = {}
    clients: list[Any] = []  # the client address of each request (a new port: a new connection)
    ends: list[tuple[float, float]] = []  # per served turn: process CPU, loop thread CPU

    async def arriving(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/v1/chat/completions":
            await app(scope, receive, send)
            return
        threads["loop"] = threading.get_ident()
        regions.begin_turn()
        clients.append(scope.get("client"))

        async def sending(message: Any) -> None:
            with regions.region("socket send"):
                await send(message)

        await app(scope, receive, sending)
        ends.append((time.process_time(), time.thread_time()))

    handler = None
    if logs:  # as `autograms serve` logs: JSON lines, INFO (the access log on)
        handler = logging.StreamHandler(io.StringIO())
        handler.setFormatter(JsonFormatter())
        logging.getLogger().addHandler(handler)
        logging.getLogger().setLevel(logging.INFO)
    try:
        with served_in_thread(arriving) as port:
            client = _client(f"http://127.0.0.1:{port}/v1", model_url, turns)
    finally:
        for undone in undo:
            undone()
        if handler is not None:
            logging.getLogger().removeHandler(handler)
    # the first served turn is the client's untimed one; per turn, the process's and the
    # loop thread's CPU time since the end of the turn before
    process = [b[0] - a[0] for a, b in zip(ends, ends[1:], strict=False)]
    loop = [b[1] - a[1] for a, b in zip(ends, ends[1:], strict=False)]
    parts = regions.turns[1:]
    for turn, loop_total in zip(parts, loop, strict=False):
        covered = sum(turn.get(name, 0.0) for name, where, _ in PARTS if where == "loop")
        turn["loop, other"] = loop_total - covered
    connections = len(set(map(tuple, clients[1:])))
    return {
        "parts": parts,
        "process": process,
        "loop": loop,
        "client": client,
        "connections": connections,
    }


def _client(url: str, model_url: str, turns: int) -> list[dict[str, float]]:
    command = [sys.executable, "-m", "benchmarks.serve.cpu", "--client", url, model_url,
               "--turns", str(turns)]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    if done.returncode:
        raise SystemExit(f"the client failed:\n{done.stderr}")
    return [json.loads(line) for line in done.stdout.splitlines()]


def client(url: str, model_url: str, turns: int) -> None:
    """The client process: each turn through the service then the same turn straight with
    the model, with this process's CPU time for each (one JSON line per turn)."""
    from benchmarks.serve.cli import Conversation, _sdk, _timed

    sdk, direct = _sdk(url), Conversation(_sdk(model_url))
    headers = {"X-Session-Id": os.urandom(8).hex()}
    messages = [{"role": "user", "content": "hi"}]
    messages.append({"role": "assistant", "content": _timed(sdk, messages, headers).text})
    direct.turn("hi")
    for number in range(turns):
        text = f"question {number}"
        messages.append({"role": "user", "content": text})
        start = time.process_time()
        served = _timed(sdk, messages, headers)
        middle = time.process_time()
        direct.turn(text)
        end = time.process_time()
        messages.append({"role": "assistant", "content": served.text})  # type: ignore[attr-defined]
        sys.stdout.write(json.dumps({"served": middle - start, "direct": end - middle}) + "\n")


def report(store: str, measured: dict[str, Any]) -> str:
    def us(values: list[float]) -> str:
        return f"{statistics.median(values) * 1e6:.0f}" if values else "-"

    parts = measured["parts"]
    turn_thread = [
        sum(v for k, v in turn.items() if dict((n, w) for n, w, _ in PARTS).get(k) == "turn")
        for turn in parts
    ]
    client = measured["client"]
    lines = [
        f"**{store}**, {len(parts)} turns, CPU time per turn in µs (median; 1-minute load "
        f"average {os.getloadavg()[0]:.1f} at the end). Service process: "
        f"{us(measured['process'])} (event loop thread {us(measured['loop'])}, turn thread "
        f"{us(turn_thread)}). Client process: {us([c['served'] for c in client])} per turn "
        f"through the service, {us([c['direct'] for c in client])} straight with the model. "
        f"The client's {len(parts)} requests came on {measured['connections']} connection(s).",
        "",
        "| part | thread | CPU µs | what |",
        "|---|---|---|---|",
    ]
    for name, where, what in PARTS:
        lines.append(f"| {name} | {where} | {us([t.get(name, 0.0) for t in parts])} | {what} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.serve.cpu", description=__doc__)
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--turns", type=int, default=40)
    parser.add_argument("--token-ms", type=float, default=10.0)
    parser.add_argument("--no-logs", action="store_true", help="without the access log")
    parser.add_argument("--json", help="also write the per-turn figures to this file")
    parser.add_argument("--client", nargs=2, metavar=("URL", "MODEL_URL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.client:
        client(*args.client, args.turns)
        return
    with model_and_store(args.store, args.token_ms) as (model_url, store):
        measured = measure(model_url, store, args.turns, logs=not args.no_logs)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(measured, out)
    print(report(args.store, measured))


if __name__ == "__main__":
    main()
