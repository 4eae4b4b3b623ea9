"""What every runner shares: command-line options, the adapter protocol, the three drivers
(sequential turns, concurrent sessions, one fresh process per turn) and the JSON result.

A runner is a script executed inside one framework's venv. It builds an `Adapter` for its
framework and calls `main(build)`; the result goes to stdout as one JSON line, and anything the
framework prints goes to stderr. Standard library only: this module runs in every venv.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import dialog_script as script

now = time.perf_counter


@dataclass(frozen=True, slots=True)
class TurnSample:
    """One turn of one session, as the framework's user would run it."""

    #: What the agent said (None when the program ended).
    text: str | None
    #: Load the session + run the turn + save the session, in seconds.
    total_s: float
    #: The save part of `total_s` (or, for LangGraph, the checkpoint serde measured apart).
    serialize_s: float
    #: The load part of `total_s` (or, for LangGraph, measured apart).
    deserialize_s: float
    #: Size of the saved session in bytes (characters for text blobs).
    size: int


class Adapter(Protocol):
    """One framework driving one bot; sessions are named and kept by the adapter."""

    def start(self, session: str) -> TurnSample:
        """Run a new session up to its first pause and save it."""

    def turn(self, session: str, user_text: str) -> TurnSample:
        """Load `session`, resume it with `user_text` up to the next pause, and save it."""

    def extra(self) -> dict[str, object]:
        """Framework-specific figures for the notes (e.g. storage size)."""


@dataclass(slots=True)
class Built:
    """An adapter and what it cost to get there in this process."""

    adapter: Adapter
    #: Framework name, version and the versions of the packages that matter.
    info: dict[str, object]
    #: Seconds to import the framework.
    import_s: float
    #: Seconds to build the bot: decorate/instrument the functions or compile the graph.
    setup_s: float


@dataclass(slots=True)
class Result:
    """What a sequential run reports."""

    info: dict[str, object]
    import_s: float
    setup_s: float
    start_s: float = 0.0
    start_size: int = 0
    turn_s: list[float] = field(default_factory=list)
    serialize_s: list[float] = field(default_factory=list)
    deserialize_s: list[float] = field(default_factory=list)
    size: list[int] = field(default_factory=list)
    digest: str = ""
    last_text: str | None = None
    extra: dict[str, object] = field(default_factory=dict)


def parse_options(argv: list[str] | None = None) -> argparse.Namespace:
    """The options every runner takes (the harness passes them)."""
    parser = argparse.ArgumentParser(description=__doc__)
    bots = ("recruiter", "nested", "long", "closures")
    parser.add_argument("--bot", choices=bots, default="recruiter")
    parser.add_argument("--lines", type=int, default=900, help="length of the long function")
    parser.add_argument(
        "--mode", choices=("sequential", "concurrent", "cold", "cold-turn"), default="sequential"
    )
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--turn", type=int, default=0, help="cold-turn: which turn to run")
    parser.add_argument("--work-dir", type=Path, required=True)
    parser.add_argument("--variant", default="", help="framework variant (flavor or saver)")
    return parser.parse_args(argv)


def package_versions(names: tuple[str, ...]) -> dict[str, str]:
    """Installed versions of the named distributions (absent ones are left out)."""
    versions = {}
    for name in names:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[name] = importlib.metadata.version(name)
    return versions


def base_info(framework: str, version: str, packages: dict[str, str]) -> dict[str, object]:
    """The info block of a result."""
    return {
        "framework": framework,
        "version": version,
        "python": platform.python_version(),
        "executable": sys.executable,
        "packages": packages,
    }


def run_sequential(built: Built, turns: int) -> Result:
    """One session: start, then `turns` resumed turns, each a full load → turn → save."""
    result = Result(info=built.info, import_s=built.import_s, setup_s=built.setup_s)
    first = built.adapter.start("s0")
    result.start_s, result.start_size = first.total_s, first.size
    texts = [first.text or ""]
    for turn in range(1, turns + 1):
        sample = built.adapter.turn("s0", script.user_reply(turn))
        result.turn_s.append(sample.total_s)
        result.serialize_s.append(sample.serialize_s)
        result.deserialize_s.append(sample.deserialize_s)
        result.size.append(sample.size)
        texts.append(sample.text or "")
    result.digest = script.transcript_digest(texts)
    result.last_text = texts[-1]
    result.extra = built.adapter.extra()
    return result


def rss_bytes() -> int | None:
    """This process's resident set size (from /proc on Linux; None elsewhere)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def run_concurrent(built: Built, sessions: int, threads: int, turns: int) -> dict[str, object]:
    """`sessions` sessions on `threads` threads: all start, then `turns` rounds in which every
    session takes one turn (round-robin, so consecutive turns hit different sessions). The
    process's RSS is read before the sessions start and after the last turn: all of them are
    live in the store then."""
    names = [f"s{index}" for index in range(sessions)]
    locks = {name: threading.Lock() for name in names}
    errors: list[str] = []

    def one_turn(item: tuple[str, int]) -> float | None:
        name, turn = item
        try:
            with locks[name]:
                return built.adapter.turn(name, script.user_reply(turn)).total_s
        except Exception as exc:  # reported, never fatal: a crash is a result here
            errors.append(f"{type(exc).__name__}: {exc}")
            return None

    work = [(name, turn) for turn in range(1, turns + 1) for name in names]
    rss_before = rss_bytes()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        began = now()
        list(pool.map(built.adapter.start, names))
        started = now()
        latencies = list(pool.map(one_turn, work))
        finished = now()
    rss_after = rss_bytes()
    return {
        "info": built.info,
        "import_s": built.import_s,
        "setup_s": built.setup_s,
        "sessions": sessions,
        "threads": threads,
        "turns": len(work),
        "start_elapsed_s": started - began,
        "elapsed_s": finished - started,
        "turns_per_s": len(work) / (finished - started),
        "turn_s": [value for value in latencies if value is not None],
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "rss_before": rss_before,
        "rss_after": rss_after,
    }


def run_cold_turn(built: Built, turn: int) -> dict[str, object]:
    """The child of a cold run: one turn of session "cold" in this fresh process."""
    if turn == 0:
        sample = built.adapter.start("cold")
    else:
        sample = built.adapter.turn("cold", script.user_reply(turn))
    return {
        "info": built.info,
        "import_s": built.import_s,
        "setup_s": built.setup_s,
        "sample": asdict(sample),
        "extra": built.adapter.extra(),
    }


def run_cold(options: argparse.Namespace, argv: list[str]) -> dict[str, object]:
    """One fresh interpreter per turn: each child imports the framework, loads the session from
    disk, runs one turn and saves it. The wall time of every child is measured here."""
    walls: list[float] = []
    children: list[dict[str, object]] = []
    base = [sys.executable, sys.argv[0], *strip_mode(argv), "--mode", "cold-turn"]
    for turn in range(options.turns + 1):
        began = now()
        proc = subprocess.run(
            [*base, "--turn", str(turn)], capture_output=True, text=True, check=False
        )
        walls.append(now() - began)
        if proc.returncode != 0:
            raise RuntimeError(f"cold turn {turn} failed:\n{proc.stderr[-2000:]}")
        children.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    first = children[0]
    texts = [child["sample"]["text"] or "" for child in children]
    return {
        "info": first["info"],
        "digest": script.transcript_digest(texts),
        "import_s": [child["import_s"] for child in children],
        "setup_s": [child["setup_s"] for child in children],
        "start_wall_s": walls[0],
        "wall_s": walls[1:],
        "samples": [child["sample"] for child in children[1:]],
        "extra": children[-1]["extra"],
    }


def strip_mode(argv: list[str]) -> list[str]:
    """`argv` without its `--mode X` pair."""
    stripped: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--mode":
            skip = True
        elif not arg.startswith("--mode="):
            stripped.append(arg)
    return stripped


@contextlib.contextmanager
def result_stream() -> Iterator[Callable[[object], None]]:
    """Send whatever the framework prints to stderr; yield the function that writes the result
    as one JSON line on the real stdout."""
    real_stdout = sys.stdout

    def emit(payload: object) -> None:
        real_stdout.write(json.dumps(payload, default=str) + "\n")
        real_stdout.flush()

    with contextlib.redirect_stdout(sys.stderr):
        yield emit


def main(build: Callable[[argparse.Namespace], Built]) -> None:
    """Parse options, run the requested mode and emit its JSON result."""
    argv = sys.argv[1:]
    options = parse_options(argv)
    os.makedirs(options.work_dir, exist_ok=True)
    with result_stream() as emit:
        if options.mode == "cold":
            emit(run_cold(options, argv))
            return
        built = build(options)
        if options.mode == "sequential":
            emit(asdict(run_sequential(built, options.turns)))
        elif options.mode == "concurrent":
            emit(run_concurrent(built, options.sessions, options.threads, options.turns))
        else:
            emit(run_cold_turn(built, options.turn))
