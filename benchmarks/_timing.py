"""Timing helpers: calibrated, interleaved, repeated measurements summarised by medians.

Every measurement counts the CPU time of the measuring thread (`time.thread_time`), not wall
time: on a machine shared with other work, time spent descheduled would otherwise swamp
differences of a few percent. Unlike plain `timeit`, the garbage collector stays on, as in a
real program: instrumented code that leaves reference cycles behind pays for collecting them.
"""

from __future__ import annotations

import contextlib
import gc
import os
import statistics
import timeit
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from time import thread_time
from typing import Any


#: The clock of every in-process measurement.
CLOCK = thread_time


def timer(
    statement: str | Callable[[], Any], setup: str = "pass", **namespace: Any
) -> timeit.Timer:
    """A `timeit.Timer` on `CLOCK`, collector on; `namespace` holds the statement's globals."""
    if callable(statement):
        return timeit.Timer(statement, gc.enable, timer=CLOCK)
    namespace["gc"] = gc
    return timeit.Timer(statement, f"gc.enable(); {setup}", timer=CLOCK, globals=namespace)


@dataclass(frozen=True, slots=True)
class Comparison:
    """Median per-call times of two variants of the same code, and their median ratio."""

    #: Median seconds per call of the baseline.
    baseline: float
    #: Median seconds per call of the variant.
    variant: float
    #: Median over rounds of variant / baseline, each ratio taken within one round.
    ratio: float


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the garbage collector for the block (to count what it would free)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def calibrate(calls: timeit.Timer, budget: float) -> int:
    """The smallest loop count in the 1-2-5 series whose run takes at least `budget` seconds."""
    scale = 1
    while True:
        for step in (1, 2, 5):
            number = step * scale
            if calls.timeit(number) >= budget:
                return number
        scale *= 10


def compare(
    make_baseline: Callable[[], timeit.Timer],
    make_variant: Callable[[], timeit.Timer],
    *,
    rounds: int,
    budget: float,
) -> Comparison:
    """Time both variants in alternating order, `rounds` times, ~`budget` seconds per run.

    Every run uses a timer made just before it, in the order the runs go, so the memory layout
    of a compiled timing loop cannot favour one variant in every round. Both use the loop count
    calibrated on the baseline, and each round's ratio compares runs made moments apart, which
    cancels drifts in machine load.
    """
    number = calibrate(make_baseline(), budget)
    baseline_times: list[float] = []
    variant_times: list[float] = []
    for round_index in range(rounds):
        pair = [(make_baseline, baseline_times), (make_variant, variant_times)]
        if round_index % 2:
            pair.reverse()
        for make, times in pair:
            times.append(make().timeit(number) / number)
    ratios = [v / b for b, v in zip(baseline_times, variant_times, strict=True)]
    return Comparison(
        statistics.median(baseline_times),
        statistics.median(variant_times),
        statistics.median(ratios),
    )


def per_call(function: Callable[[], Any], *, rounds: int, budget: float) -> list[float]:
    """Seconds per call of `function`, one figure per round of ~`budget` seconds."""
    calls = timer(function)
    number = calibrate(calls, budget)
    return [calls.timeit(number) / number for _ in range(rounds)]


def load_average() -> str:
    """The machine's 1-, 5- and 15-minute load averages, for a results heading (the machine
    may be shared: the load says how far the absolute figures can be trusted)."""
    try:
        return ", ".join(f"{load:.2f}" for load in os.getloadavg())
    except OSError:
        return "unknown"


def once(function: Callable[[], Any]) -> tuple[Any, float]:
    """Call `function` once: its result and the seconds it took."""
    start = CLOCK()
    result = function()
    return result, CLOCK() - start
