"""Where the slow turns of scenario 1 come from: per-turn spans, sorted, with the garbage
collections each turn triggered and what kind of turn it was.

    python -m benchmarks.turn_spans [--sessions N] [--turns N] [--quick]

Runs the recruiter of ``make bench-compare``'s scenario 1 (``benchmarks/compare/runners``)
in this process: each session starts, then takes `--turns` turns of deserialize → reply →
serialize, as a stateless server does. Every turn is timed with the CPU time of this thread
(`time.thread_time`: time spent descheduled on a shared machine is not counted) and with the
wall clock; `gc.callbacks` counts the collections each turn triggered. The table groups the
turns by the decision the recruiter made in them (a test-mode classifier call) and by their
reply; the p90 line says which kind of turn the slowest tenth are. Information only.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from ._timing import CLOCK, load_average

RUNNERS = Path(__file__).resolve().parent / "compare" / "runners"


class Span:
    """One turn: its CPU and wall seconds, the collections it triggered, its kind."""

    __slots__ = ("cpu", "wall", "collections", "kind")

    def __init__(self, cpu: float, wall: float, collections: tuple[int, ...], kind: str) -> None:
        self.cpu = cpu
        self.wall = wall
        self.collections = collections
        self.kind = kind


def run(sessions: int, turns: int) -> list[Span]:
    """`sessions` sessions of `turns` turns each, one after the other, in this process."""
    sys.path.insert(0, str(RUNNERS))
    import api_bots  # the runners' directory is on sys.path only now
    import dialog_script

    from autograms import Autogram, AutogramConfig

    decided: list[str] = []
    for name in ("yes_or_no", "multiple_choice"):
        helper = getattr(api_bots, name)

        def recorded(*args: object, _helper=helper, _name=name, **kwargs: object) -> object:
            decided.append(_name)
            return _helper(*args, **kwargs)

        setattr(api_bots, name, recorded)
    started: list[int] = []

    def count(phase: str, info: dict) -> None:
        if phase == "start":
            started.append(info["generation"])

    gc.callbacks.append(count)
    random.seed(0)
    autogram = Autogram(api_bots.recruiter, AutogramConfig(), test_mode=True)
    spans = []
    for _ in range(sessions):
        _, memory = autogram.reply()
        text = autogram.serialize(memory)
        for turn in range(1, turns + 1):
            started.clear()
            decided.clear()
            cpu, wall = CLOCK(), time.perf_counter()
            memory = autogram.deserialize(text)
            reply, memory = autogram.reply(dialog_script.user_reply(turn), memory_object=memory)
            text = autogram.serialize(memory)
            cpu, wall = CLOCK() - cpu, time.perf_counter() - wall
            kind = "+".join(decided) or "no decision"
            spans.append(Span(cpu, wall, tuple(started), kind))
    gc.callbacks.remove(count)
    return spans


def report(spans: Sequence[Span]) -> str:
    """The table: every kind of turn, then the slowest tenth."""
    cpu = sorted(span.cpu for span in spans)
    p90 = cpu[int(len(cpu) * 0.9)]
    lines = [
        f"{len(spans)} turns; CPU per turn: median {statistics.median(cpu) * 1e6:.1f} µs, "
        f"p90 {p90 * 1e6:.1f} µs ({p90 / statistics.median(cpu):.2f}× the median), "
        f"p99 {cpu[int(len(cpu) * 0.99)] * 1e6:.1f} µs",
        "",
        "| turn | share | CPU median (µs) | wall median (µs) | collections (gen 0/1/2) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for kind in sorted({span.kind for span in spans}):
        group = [span for span in spans if span.kind == kind]
        generations = Counter(g for span in group for g in span.collections)
        lines.append(
            f"| {kind} | {len(group) / len(spans):.0%} "
            f"| {statistics.median(s.cpu for s in group) * 1e6:.1f} "
            f"| {statistics.median(s.wall for s in group) * 1e6:.1f} "
            f"| {generations[0]}/{generations[1]}/{generations[2]} |"
        )
    slow = [span for span in spans if span.cpu >= p90]
    kinds = Counter(span.kind for span in slow).most_common()
    with_collection = sum(1 for span in slow if span.collections)
    lines += [
        "",
        f"slowest tenth ({len(slow)} turns, CPU ≥ {p90 * 1e6:.1f} µs): "
        + ", ".join(f"{kind} {count}" for kind, count in kinds)
        + f"; {with_collection} of them triggered a collection",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="2 sessions of 20 turns (smoke)")
    options = parser.parse_args(argv)
    sessions, turns = (2, 20) if options.quick else (options.sessions, options.turns)
    before = load_average()
    spans = run(sessions, turns)
    print(f"CPython {sys.version.split()[0]}; load average {before} → {load_average()}")
    print(report(spans))


if __name__ == "__main__":
    main()
