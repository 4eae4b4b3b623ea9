"""Run the serve load benchmark and write benchmarks/results/serve.{md,json}.

Every configuration (store x workers x bot) starts ``autograms serve`` afresh; N client
threads then each hold one conversation of at most M turns through the openai SDK, streaming
with ``include_usage``, for at most ``--seconds`` (a client starts no turn after that). Per
turn: time to the first piece of reply (TTFT), time to ``[DONE]`` (total), whether the turn
called the model (its usage). For the streamer bot every client also holds a second
conversation straight with the fake model, one turn there after each turn through the
service: the model's own figures are taken at the same time, under the same load, and what
the service adds is the difference of the two medians of that run.

Bots: ``recruiter`` (the example: most turns are a model-written comment, not streamed,
then a fixed question -- the reply arrives whole when the model is done) and ``streamer``
(tests/serve/bots/streamer.py: every turn's reply is the model's answer, streamed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import openai

from benchmarks.stores.environment import postgres_version, start_cluster
from tests.serve.server import ROOT, STREAMER, free_port

RESULTS = ROOT / "benchmarks" / "results"
#: what the candidate says, turn after turn (the texts of environment.md's baseline driver)
RECRUITER_TEXTS = (
    "yes, I'm ready",
    "I have 5 years of experience in biotech research.",
    "I worked on protein folding assays and led a team of 3.",
    "Mostly wet-lab work, some Python data analysis.",
    "What is the budgeted salary range for this position?",
    "That works for me.",
    "Sounds good, thanks!",
)


@dataclass
class Turn:
    ttft: float
    total: float
    model: bool
    #: time to the last piece of reply text (what a reader sees; the end marker comes after)
    last: float = 0.0


@dataclass
class Row:
    store: str
    workers: int
    bot: str
    turns: int = 0
    errors: int = 0
    seconds: float = 0.0
    samples: list[Turn] = field(default_factory=list)
    #: the same clients' turns straight with the model, taken alternately with the others
    own: list[Turn] = field(default_factory=list)
    #: the machine's 1-minute load average when the configuration started, and when it ended
    load: tuple[float, float] = (0.0, 0.0)

    def summary(self) -> dict:
        model = [t for t in self.samples if t.model]
        plain = [t for t in self.samples if not t.model]
        own_ttft = _ms(_pct([t.ttft for t in self.own], 50))
        own_total = _ms(_pct([t.total for t in self.own], 50))
        model_ttft = _ms(_pct([t.ttft for t in model], 50))
        model_total = _ms(_pct([t.total for t in model], 50))
        own_last = _ms(_pct([t.last for t in self.own], 50))
        model_last = _ms(_pct([t.last for t in model], 50))
        return {
            "store": self.store,
            "workers": self.workers,
            "bot": self.bot,
            "turns": self.turns,
            "errors": self.errors,
            "turns_per_second": self.turns / self.seconds if self.seconds else 0.0,
            "ttft_p50_ms": _ms(_pct([t.ttft for t in self.samples], 50)),
            "ttft_p99_ms": _ms(_pct([t.ttft for t in self.samples], 99)),
            "total_p50_ms": _ms(_pct([t.total for t in self.samples], 50)),
            "total_p99_ms": _ms(_pct([t.total for t in self.samples], 99)),
            "model_turns": len(model),
            "model_ttft_p50_ms": _ms(_pct([t.ttft for t in model], 50)),
            "model_total_p50_ms": _ms(_pct([t.total for t in model], 50)),
            "plain_total_p50_ms": _ms(_pct([t.total for t in plain], 50)),
            "own_turns": len(self.own),
            "own_ttft_p50_ms": own_ttft,
            "own_total_p50_ms": own_total,
            "added_ttft_p50_ms": _minus(model_ttft, own_ttft),
            "added_total_p50_ms": _minus(model_total, own_total),
            "own_last_p50_ms": own_last,
            "model_last_p50_ms": model_last,
            "added_last_p50_ms": _minus(model_last, own_last),
            "load": [round(value, 2) for value in self.load],
        }


def _minus(value: float | None, base: float | None) -> float | None:
    return None if value is None or base is None else round(value - base, 2)


def _pct(values: list[float], percent: int) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(percent / 100 * (len(ordered) - 1)))]


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 2)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.serve", description=__doc__)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--turns", type=int, default=12, help="at most, per client")
    parser.add_argument(
        "--seconds", type=float, default=15.0, help="per configuration: no turn starts later"
    )
    parser.add_argument("--token-ms", type=float, default=10.0, help="fake model's token rate")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--stores", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--bots", nargs="+", default=["recruiter", "streamer"])
    parser.add_argument(
        "--span-turns", type=int, default=30,
        help="turns of one client timed step by step per store (benchmarks.serve.spans); 0: none",
    )  # fmt: skip
    parser.add_argument(
        "--cpu-turns", type=int, default=30,
        help="turns of one client measured in CPU time per part per store "
        "(benchmarks.serve.cpu); 0: none",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=RESULTS / "serve")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    model_port = free_port()
    token_seconds = str(args.token_ms / 1000)
    model = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.serve.model", str(model_port), token_seconds],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    cluster = start_cluster() if "postgresql" in args.stores else None
    try:
        assert model.stdout.readline().strip() == "ready"
        base_url = f"http://127.0.0.1:{model_port}/v1"
        rows = []
        for store in args.stores:
            for workers in args.workers:
                for bot in args.bots:
                    url = _store_url(store, cluster)
                    row = run_configuration(base_url, store, url, workers, bot, args)
                    rows.append(row.summary())
                    sys.stderr.write(f"{json.dumps(rows[-1])}\n")
        steps = _spans(base_url, cluster, args)
        costs = _cpu(base_url, cluster, args)
    finally:
        model.kill()
        if cluster is not None:
            cluster.remove()
    write(args, rows, steps, (load_before, os.getloadavg()), costs)


def _spans(base_url: str, cluster, args: argparse.Namespace) -> list[str]:  # noqa: ANN001
    """The step-by-step tables of benchmarks.serve.spans, one per store."""
    from benchmarks.serve import spans  # it builds on this module

    tables = []
    for store in args.stores if args.span_turns > 0 else ():
        measured = spans.measure(base_url, _store_url(store, cluster), args.span_turns)
        tables.append(spans.report(store, *measured))
    return tables


def _cpu(base_url: str, cluster, args: argparse.Namespace) -> list[str]:  # noqa: ANN001
    """The CPU tables of benchmarks.serve.cpu, one per store."""
    from benchmarks.serve import cpu  # it builds on this module

    tables = []
    for store in args.stores if args.cpu_turns > 0 else ():
        measured = cpu.measure(base_url, _store_url(store, cluster), args.cpu_turns)
        tables.append(cpu.report(store, measured))
    return tables


def _store_url(store: str, cluster) -> str:  # noqa: ANN001
    if store == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp(prefix='bench-serve-')}/sessions.db"
    schema = f"b_{uuid.uuid4().hex[:10]}"
    cluster.create_schema(schema)
    return cluster.url_for_schema(schema)


def _timed(sdk: openai.OpenAI, messages: list[dict], headers: dict) -> Turn:
    start = time.perf_counter()
    first = None
    model = False
    text = []
    stream = sdk.chat.completions.create(
        model="bot",
        messages=messages,
        stream=True,
        stream_options={"include_usage": True},
        extra_headers=headers,
    )
    last = None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            last = time.perf_counter()
            first = first or last
            text.append(chunk.choices[0].delta.content)
        if chunk.usage is not None and chunk.usage.total_tokens:
            model = True
    end = time.perf_counter()
    turn = Turn((first or end) - start, end - start, model, (last or end) - start)
    turn.text = "".join(text)  # type: ignore[attr-defined]
    return turn


def run_configuration(
    base_url: str, store: str, url: str, workers: int, bot: str, args: argparse.Namespace
) -> Row:
    folder = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    config = folder / "config.json"
    config.write_text(json.dumps({
        "chatbot_type": "proxy", "base_url": base_url, "chatbot_path": "fake",
        "chatbot_max_tries": 1, "request_timeout": 60,
    }))  # fmt: skip
    port = free_port()
    command = [sys.executable, "-m", "autograms", "serve", _bot(bot), "--port", str(port),
               "--store", url, "--workers", str(workers), "--config", str(config)]  # fmt: skip
    log = open(folder / "serve.log", "wb")  # noqa: SIM115
    server = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=log)
    row = Row(store, workers, bot)
    try:
        _wait_ready(f"http://127.0.0.1:{port}", server, folder)
        own_url = base_url if bot == "streamer" else None
        started = os.getloadavg()[0]
        row = _load(f"http://127.0.0.1:{port}/v1", row, bot, args, own_url)
        row.load = (started, os.getloadavg()[0])
    finally:
        server.terminate()
        server.wait(60)
        log.close()
    return row


def _bot(bot: str) -> str:
    return str(STREAMER) if bot == "streamer" else bot


def _wait_ready(url: str, server: subprocess.Popen, folder: Path) -> None:
    deadline = time.monotonic() + 120
    with httpx2.Client(timeout=2) as http:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise SystemExit((folder / "serve.log").read_text())
            try:
                if http.get(f"{url}/healthz").status_code == 200:
                    return
            except httpx2.HTTPError:
                pass
            time.sleep(0.1)
    raise SystemExit(f"autograms serve did not start: {folder / 'serve.log'}")


def _load(
    base_url: str, row: Row, bot: str, args: argparse.Namespace, own_url: str | None = None
) -> Row:
    """N clients, each one conversation: a first (untimed) turn, then at most M timed turns
    for at most ``args.seconds``; with `own_url` (the model), each turn is followed by the
    same turn of a second conversation held straight with the model."""
    lock = threading.Lock()
    times: list[float] = []  # the start and the deadline, set when every client is ready
    ready = threading.Barrier(
        args.clients + 1,
        action=lambda: times.extend((time.perf_counter(), time.perf_counter() + args.seconds)),
    )

    def client() -> None:
        sdk = _sdk(base_url)
        own = Conversation(_sdk(own_url)) if own_url else None
        headers = {"X-Session-Id": uuid.uuid4().hex}
        messages = [{"role": "user", "content": "hi"}]
        try:
            first = _timed(sdk, messages, headers)
            messages.append({"role": "assistant", "content": first.text})
            if own is not None:
                own.turn("hi")
        finally:
            ready.wait()
        for number in range(args.turns):
            if time.perf_counter() > times[1]:
                return
            text = RECRUITER_TEXTS[number % len(RECRUITER_TEXTS)] if bot == "recruiter" else (
                f"question {number}")  # fmt: skip
            messages.append({"role": "user", "content": text})
            try:
                turn = _timed(sdk, messages, headers)
                own_turn = own.turn(text) if own is not None else None
            except openai.APIError as exc:
                sys.stderr.write(f"error: {exc}\n")
                with lock:
                    row.errors += 1
                return
            messages.append({"role": "assistant", "content": turn.text})
            with lock:
                row.samples.append(turn)
                row.turns += 1
                if own_turn is not None:
                    row.own.append(own_turn)

    threads = [threading.Thread(target=client) for _ in range(args.clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    for thread in threads:
        thread.join()
    row.seconds = time.perf_counter() - times[0]
    return row


def _sdk(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key="x", max_retries=0, timeout=60)


class Conversation:
    """A conversation held straight with the model: the history grows as the service's
    does (the same user messages, the model's answers)."""

    def __init__(self, sdk: openai.OpenAI) -> None:
        self.sdk = sdk
        self.messages: list[dict] = []

    def turn(self, text: str) -> Turn:
        self.messages.append({"role": "user", "content": text})
        turn = _timed(self.sdk, self.messages, {})
        self.messages.append({"role": "assistant", "content": turn.text})  # type: ignore[attr-defined]
        return turn


def write(
    args: argparse.Namespace,
    rows: list[dict],
    spans: list[str],
    load: tuple[tuple, tuple],
    costs: list[str] = (),
) -> None:
    """`load`: the machine's load averages (1, 5, 15 min) before and after the run; `costs`:
    the CPU tables of benchmarks.serve.cpu."""
    environment = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "postgres": postgres_version(),
        "clients": args.clients,
        "turns_per_client": args.turns,
        "seconds_per_configuration": args.seconds,
        "token_ms": args.token_ms,
        "date": time.strftime("%Y-%m-%d"),
        "load_before": [round(value, 2) for value in load[0]],
        "load_after": [round(value, 2) for value in load[1]],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    data = {"environment": environment, "rows": rows}
    args.out.with_suffix(".json").write_text(json.dumps(data, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(report(environment, rows, spans, costs))


def _loads(environment: dict, name: str) -> str:
    return " / ".join(f"{value:.2f}" for value in environment.get(name) or ()) or "not recorded"


def _row_load(row: dict) -> str:
    """The 1-minute load average at the start and the end of a configuration's run."""
    load = row.get("load")
    return f"{load[0]:.1f} → {load[1]:.1f}" if load else "-"


def report(
    environment: dict, rows: list[dict], spans: list[str] = (), costs: list[str] = ()
) -> str:
    seconds = environment.get("seconds_per_configuration")
    budget = f", for at most {seconds:g} s per configuration" if seconds else ""
    lines = [
        "# `autograms serve` under load",
        "",
        f"{environment['clients']} concurrent clients x at most "
        f"{environment['turns_per_client']} turns each{budget} (after one untimed first "
        "turn), the real openai SDK streaming with "
        f"`include_usage`; a loopback fake model writing {environment['token_ms']:g} ms per "
        f"token (12-word answers); Python {environment['python']}, "
        f"{environment['cpus']} CPUs, {environment['postgres']}; {environment['date']}. "
        "Client, service and model share the machine, and so do other jobs: load average "
        f"(1/5/15 min) {_loads(environment, 'load_before')} before the run, "
        f"{_loads(environment, 'load_after')} after. Regenerate: `make bench-serve`.",
        "",
        "| store | workers | bot | turns/s | TTFT p50 | TTFT p99 | total p50 | total p99 "
        "| errors | model turns: TTFT p50 / total p50 | no-model turns: total p50 | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['store']} | {row['workers']} | {row['bot']} | "
            f"{row['turns_per_second']:.1f} | {row['ttft_p50_ms']} | {row['ttft_p99_ms']} | "
            f"{row['total_p50_ms']} | {row['total_p99_ms']} | {row['errors']} | "
            f"{row['model_ttft_p50_ms']} / {row['model_total_p50_ms']} ({row['model_turns']}) | "
            f"{row['plain_total_p50_ms']} | {_row_load(row)} |"
        )
    streamer = [r for r in rows if r.get("added_ttft_p50_ms") is not None]
    if streamer:
        lines += [
            "",
            "Added by the service on streamed model replies (streamer bot, p50; the model's own "
            "figures taken in the same run, each client alternating a turn through the service "
            "with a turn of a second conversation held straight with the model):",
            "",
            "| store | workers | model's own TTFT / total | through the service | TTFT added "
            "| last piece added | total added | load |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for row in streamer:
            last = row.get("added_last_p50_ms")
            lines.append(
                f"| {row['store']} | {row['workers']} | {row['own_ttft_p50_ms']} / "
                f"{row['own_total_p50_ms']} | {row['model_ttft_p50_ms']} / "
                f"{row['model_total_p50_ms']} | {row['added_ttft_p50_ms']:.2f} ms | "
                f"{'-' if last is None else f'{last:.2f} ms'} | "
                f"{row['added_total_p50_ms']:.2f} ms | {_row_load(row)} |"
            )
    lines += [
        "",
        "Times in ms; *last piece*: the time to the reply's last piece of text, which the "
        "service sends as soon as the model writes it, before the turn's commit; *total*: the "
        "time to `[DONE]`, which the service sends once the turn is committed (durable). "
        "*load*: the machine's 1-minute load average when the configuration started "
        "and when it ended (2 CPUs: above 2, jobs wait for a CPU and every hop between processes "
        "can wait with them). *Model turns* are the turns whose reply needed a model call (their "
        "usage is not zero); *no-model turns* reply with fixed text, so their total is the "
        "service's whole cost: HTTP, the store's claim and commit, the engine. The recruiter's "
        "model turns ask the model for a comment (not streamed) and then reply with a fixed "
        "question, so their first piece comes when the model is done; the streamer's replies are "
        "the model's answer, streamed as it is written.",
        "",
    ]
    if spans:
        lines += [
            "## Where a streamed turn's time goes",
            "",
            "One client (a process of its own), sequential turns of the streamer bot, the "
            "app served in the benchmark's process as `autograms serve` serves it; each "
            "step's p50 is the time since the previous step, all on one monotonic clock "
            "(`python -m benchmarks.serve.spans`). The client's own costs -- the SDK making "
            "the request, reading the chunks -- are in *request made* and *client piece*, as "
            "they are in the model's own TTFT.",
            "",
        ]
        for table in spans:
            lines += [table, ""]
    if costs:
        from benchmarks.serve.cpu import HEADING

        lines += [HEADING, ""]
        for table in costs:
            lines += [table, ""]
    return "\n".join(lines)
