"""Where one streamed turn's time goes inside `autograms serve`.

One client, in a process of its own, sends sequential turns of the streamer bot to the app
served in this process (uvicorn in a thread, as ``autograms serve`` runs it), the fake model
writing in a third process; after each turn the client sends the same turn of a second
conversation straight to the model, so the model's own figures are taken under the same
conditions. Each turn is timestamped at every step -- the app wrapped as an ASGI app, its
store, model and autogram wrapped by the names their methods have in the code (the library is
not edited), the client's steps by the client, on the same monotonic clock
(``time.perf_counter``, system-wide on Linux) -- and the median of each step is printed:

    python -m benchmarks.serve.spans [--store sqlite|postgresql] [--turns 40]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx2
import openai

from autograms import Autogram, AutogramConfig, load_autogram
from autograms.serve import create_app
from benchmarks.serve.cli import Conversation, Turn, _sdk, _timed
from benchmarks.serve.environment import model_and_store, served_in_thread
from tests.serve.server import ROOT, STREAMER

#: the steps of a turn, in order: (mark, what the time since the previous mark is)
STEPS = (
    ("sent", ""),
    (
        "request made",
        "the client's SDK makes the request (it walks every message it resends: the model's "
        "own TTFT pays the same)",
    ),
    ("arrived", "the client connects and sends it, uvicorn reads it, the app is called"),
    ("claiming", "the route reads the body and messages; the hop to a turn thread"),
    ("claimed", "the store's claim: queue ticket, blob and version, and the session's turns"),
    ("checked", "the history checked against those turns"),
    ("loaded", "the session restored (deserialize)"),
    ("model called", "the program runs up to the model call"),
    ("model sent", "the model client builds the request (the openai SDK) and starts sending"),
    ("model answering", "the model's response begins (the service then starts its own)"),
    ("model piece", "the model's first piece reaches the service"),
    ("piece sent", "the service writes it (thread to event loop, SSE chunk)"),
    ("client piece", "the client reads it (the SDK parses the chunk)"),
    ("model done", "the rest of the answer streams"),
    ("serializing", "the program finishes the turn and pauses"),
    ("commit", "the session serialized (and sealed)"),
    ("committed", "the store's commit (durable)"),
    ("end sent", "the service writes the last chunks and [DONE] (thread to event loop)"),
    ("done", "the client reads them"),
)


class Marks:
    """Timestamps of the service's steps, one dict per turn (the first of each step counts);
    a turn's dict begins when its request arrives."""

    def __init__(self) -> None:
        self.turns: list[dict[str, float]] = []

    def __call__(self, step: str) -> None:
        now = time.perf_counter()
        if step == "arrived":
            self.turns.append({})
        if self.turns:
            self.turns[-1].setdefault(step, now)

    def wrap(self, owner: Any, name: str, before: str | None, after: str | None) -> None:
        method = getattr(owner, name)

        @functools.wraps(method)
        def marked(*args: Any, **kwargs: Any) -> Any:
            if before:
                self(before)
            try:
                return method(*args, **kwargs)
            finally:
                if after:
                    self(after)

        setattr(owner, name, marked)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.serve.spans", description=__doc__)
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--turns", type=int, default=40)
    parser.add_argument("--token-ms", type=float, default=10.0)
    parser.add_argument("--client", nargs=2, metavar=("URL", "MODEL_URL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.client:
        client(*args.client, args.turns)
        return
    with model_and_store(args.store, args.token_ms) as (model_url, store):
        steps, own, served = measure(model_url, store, args.turns)
    print(report(args.store, steps, own, served))


def measure(
    model_url: str, store_url: str, turns: int
) -> tuple[dict[str, list[float]], list[Any], list[Any]]:
    """Per step, the times of every turn; the direct and the served turns' TTFT and total."""
    chatbot, _ = load_autogram(STREAMER)
    config = AutogramConfig(
        chatbot_type="proxy", base_url=model_url, chatbot_path="fake", chatbot_max_tries=1
    )
    autogram = Autogram(chatbot, config)
    marks = Marks()
    sending_request = httpx2.HTTPTransport.handle_request
    app = create_app(autogram, store_url)
    store = app.state.service.store
    marks.wrap(store, "claim", "claiming", "claimed")
    marks.wrap(store, "commit", "commit", "committed")
    marks.wrap(autogram, "deserialize", "checked", "loaded")
    marks.wrap(autogram, "serialize", "serializing", None)
    marks.wrap(httpx2.HTTPTransport, "handle_request", "model sent", None)
    model_class = type(autogram.model)
    streaming = model_class.stream

    def marked(text: str) -> None:  # an empty piece: the model's answer has begun
        marks("model piece" if text else "model answering")

    def stream(self: Any, request: Any, on_text: Callable[[str], None]) -> Any:
        marks("model called")
        try:
            return streaming(self, request, lambda text: (marked(text), on_text(text)))
        finally:
            marks("model done")

    model_class.stream = stream  # type: ignore[method-assign]

    async def arriving(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/v1/chat/completions":
            await app(scope, receive, send)
            return
        marks("arrived")

        async def sending(message: Any) -> None:
            await send(message)
            if message["type"] == "http.response.body" and message.get("body"):
                marks("end sent" if b"[DONE]" in message["body"] else "piece sent")

        await app(scope, receive, sending)

    try:
        with served_in_thread(arriving) as port:
            return _turns(f"http://127.0.0.1:{port}/v1", model_url, marks, turns)
    finally:
        model_class.stream = streaming  # type: ignore[method-assign]
        httpx2.HTTPTransport.handle_request = sending_request  # type: ignore[method-assign]


def _turns(
    url: str, model_url: str, marks: Marks, turns: int
) -> tuple[dict[str, list[float]], list[Any], list[Any]]:
    """Run the client process and put its marks and the service's together, turn by turn."""
    command = [sys.executable, "-m", "benchmarks.serve.spans", "--client", url, model_url,
               "--turns", str(turns)]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise SystemExit(f"the client failed:\n{done.stderr}")
    measured = [json.loads(line) for line in done.stdout.splitlines()]
    steps: dict[str, list[float]] = {}
    own, served = [], []
    # the service's first request is the client's untimed first turn
    for turn, service in zip(measured, marks.turns[1:], strict=True):
        own.append(Turn(turn["own_ttft"], turn["own_total"], True))
        served.append(Turn(turn["ttft"], turn["total"], True))
        client_steps = ("sent", "request made", "client piece", "done")
        times = {**service, **{step: turn[step] for step in client_steps}}
        previous = None
        for step, _ in STEPS:
            if step in times and previous is not None:
                steps.setdefault(step, []).append(times[step] - times[previous])
            previous = step if step in times else previous
    return steps, own, served


def client(url: str, model_url: str, turns: int) -> None:
    """The client process: `turns` timed turns through the service at `url`, each followed by
    the same turn straight with the model; one JSON line of times per turn on stdout."""
    made: list[float] = []  # when the client's HTTP transport was handed each request
    handing = httpx2.HTTPTransport.handle_request

    def handed(self: Any, request: Any) -> Any:
        made.append(time.perf_counter())
        return handing(self, request)

    httpx2.HTTPTransport.handle_request = handed  # type: ignore[method-assign]
    sdk, direct = _sdk(url), Conversation(_sdk(model_url))
    headers = {"X-Session-Id": uuid.uuid4().hex}
    messages = [{"role": "user", "content": "hi"}]
    messages.append({"role": "assistant", "content": _timed(sdk, messages, headers).text})
    direct.turn("hi")
    for number in range(turns):
        text = f"question {number}"
        messages.append({"role": "user", "content": text})
        made.clear()
        times = _client_turn(sdk, messages, headers)
        times["request made"] = made[0]
        messages.append({"role": "assistant", "content": times.pop("text")})
        own = direct.turn(text)
        times.update(own_ttft=own.ttft, own_total=own.total)
        sys.stdout.write(json.dumps(times) + "\n")


def _client_turn(sdk: openai.OpenAI, messages: list[dict], headers: dict) -> dict[str, Any]:
    start = time.perf_counter()
    stream = sdk.chat.completions.create(
        model="bot", messages=messages, stream=True, extra_headers=headers
    )
    text = []
    first = None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            first = first or time.perf_counter()
            text.append(chunk.choices[0].delta.content)
    end = time.perf_counter()
    return {
        "sent": start,
        "client piece": first or end,
        "done": end,
        "ttft": (first or end) - start,
        "total": end - start,
        "text": "".join(text),
    }


def report(store: str, steps: dict[str, list[float]], own: list[Any], served: list[Any]) -> str:
    def ms(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:.2f}" if values else "-"

    lines = [
        f"**{store}**, {len(served)} turns (1-minute load average {os.getloadavg()[0]:.1f} at "
        "the end): the model's own TTFT p50 "
        f"{ms([t.ttft for t in own])} ms, total {ms([t.total for t in own])} ms; through the "
        f"service TTFT {ms([t.ttft for t in served])} ms, total {ms([t.total for t in served])} "
        "ms.",
        "",
        "| step | p50 ms | what |",
        "|---|---|---|",
    ]
    for step, what in STEPS[1:]:
        lines.append(f"| {step} | {ms(steps.get(step, []))} | {what} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
