"""A fuzzing run: generate programs, check each against the oracle in every mode, minimize
the divergences and write each (once per kind) as a found case.

    python -m tests.engine.fuzz campaign --count 2000 --seed 1     (what `make fuzz` runs)
"""

from __future__ import annotations

import itertools
import os
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from . import batch, found, runner
from .generator import generate
from .minimize import minimize
from .model import Program
from .render import ENGINE, REFERENCE, render

#: programs per batch sent to the worker
CHUNK = 40
#: programs per fresh-process batch (one interpreter per turn serves all of them)
FRESH_BATCH = 60


@dataclass
class Divergence:
    """A program whose engine transcript departs from the oracle's in some mode."""

    program: Program
    result: batch.Result
    #: mode -> signature (see `transcript.signature`)
    modes: dict[str, str]


@dataclass
class Tally:
    """What a run did: programs checked per mode, skipped, divergent, and the time."""

    programs: int = 0
    invalid: int = 0
    per_mode: Counter = field(default_factory=Counter)
    divergent: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def line(self) -> str:
        modes = ", ".join(f"{mode} {self.per_mode[mode]}" for mode in runner.MODES)
        found = ", ".join(f"{mode} {count}" for mode, count in sorted(self.divergent.items()))
        return (
            f"{self.programs} programs ({self.invalid} not checkable) in {self.seconds:.1f} s; "
            f"runs per mode: {modes}; divergent: {found or 'none'}"
        )


def spec_for(program: Program, name: str, modes: list[str]) -> batch.Spec:
    return batch.Spec(
        name, render(program, ENGINE), render(program, REFERENCE), list(program.script), modes
    )


def check_programs(
    seed: int,
    indices: range,
    fresh_every: int,
    tally: Tally,
    worker: batch.Worker,
    exclude: frozenset[str] = frozenset(),
    focus: frozenset[str] = frozenset(),
    progress: Callable[[str], None] | None = None,
) -> Iterator[Divergence]:
    """Check programs `indices` of run `seed`; yield the divergent ones as they are found.

    Every program runs in process and serialized; every `fresh_every`-th also with a fresh
    interpreter per turn, in batches (one interpreter serves a turn of the whole batch).
    """
    started = time.perf_counter()
    fresh: list[tuple[Program, batch.Spec]] = []
    for low in range(indices.start, indices.stop, CHUNK):
        chunk = range(low, min(low + CHUNK, indices.stop))
        programs = [generate(seed, index, exclude, focus) for index in chunk]
        specs = [
            spec_for(program, f"agfz_{seed}_{index}", [runner.IN_PROCESS, runner.SERIALIZED])
            for index, program in zip(chunk, programs, strict=True)
        ]
        for index, program, result in zip(chunk, programs, worker.check(specs), strict=True):
            tally.programs += 1
            if not result.valid:
                tally.invalid += 1
                continue
            yield from _tally(tally, program, result)
            if fresh_every and index % fresh_every == 0 and not result.divergences():
                fresh.append(
                    (program, spec_for(program, f"agfz_{seed}_{index}_f", [runner.FRESH_PROCESS]))
                )
        last = chunk.stop == indices.stop
        if fresh and (len(fresh) >= FRESH_BATCH or last):
            for (program, _), result in zip(
                fresh, worker.check([spec for _, spec in fresh]), strict=True
            ):
                yield from _tally(tally, program, result)
            fresh = []
        tally.seconds = time.perf_counter() - started
        if progress:
            progress(tally.line())


def _tally(tally: Tally, program: Program, result: batch.Result) -> Iterator[Divergence]:
    tally.per_mode.update(result.modes.keys())
    modes = result.divergences()
    tally.divergent.update(modes.keys())
    if modes:
        yield Divergence(program, result, modes)


#: numbers the minimizer's modules: a worker that imported a name once keeps that module
_module_numbers = itertools.count()


def _new_module_name() -> str:
    return f"agfz_min_{os.getpid()}_{next(_module_numbers)}"


def checker(worker: batch.Worker, mode: str) -> Callable[[Program], dict[str, str] | None]:
    """Checks candidates of the minimizer in `mode` (each under a new module name)."""

    def check(candidate: Program) -> dict[str, str] | None:
        spec = spec_for(candidate, _new_module_name(), [mode])
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # e.g. "'str' object is not callable": not a program
            try:
                compile(spec.engine, spec.name, "exec")
                compile(spec.reference, spec.name, "exec")
            except (SyntaxError, SyntaxWarning):
                return None
        result = worker.check([spec])[0]
        return result.divergences() if result.valid else None

    return check


def shrink(
    divergence: Divergence, worker: batch.Worker, budget: int
) -> tuple[Program, batch.Result]:
    """The minimized program and its check in every mode."""
    mode = next(mode for mode in runner.MODES if mode in divergence.modes)
    small = minimize(
        divergence.program, mode, divergence.modes[mode], checker(worker, mode), budget
    )
    return small, worker.check([spec_for(small, _new_module_name(), list(runner.MODES))])[0]


def run(
    count: int,
    seed: int,
    fresh_every: int = 5,
    exclude: frozenset[str] = frozenset(),
    focus: frozenset[str] = frozenset(),
    per_family: int = 2,
    budget: int = 600,
    progress: Callable[[str], None] = print,
) -> Tally:
    """Check `count` programs; minimize divergences and write new found cases (at most
    `per_family` per suspected family in this run)."""
    tally = Tally()
    families: Counter = Counter()
    started = time.perf_counter()
    with batch.Worker() as worker:
        for divergence in check_programs(
            seed, range(count), fresh_every, tally, worker, exclude, focus, progress
        ):
            # A first guess from the whole program's tags keeps one family from taking all
            # the minimizing time; the guess from the minimized program decides what is kept.
            suspected = found.family(divergence.program, divergence.modes)
            if families[f"suspected {suspected}"] >= 3 * per_family:
                continue
            families[f"suspected {suspected}"] += 1
            small, result = shrink(divergence, worker, budget)
            modes = result.divergences()
            if not modes:
                progress(f"{divergence.program.origin}: no longer diverges once minimized")
                continue
            family = found.family(small, modes)
            families[family] += 1
            if families[family] > per_family:
                continue
            path = found.write(small, modes, result)
            where = path.relative_to(runner.ROOT) if path else "a duplicate"
            progress(f"{divergence.program.origin}: {family} -> {where}")
    tally.seconds = time.perf_counter() - started
    return tally


def minimize_one(
    seed: int,
    index: int,
    exclude: frozenset[str] = frozenset(),
    focus: frozenset[str] = frozenset(),
    budget: int = 600,
) -> str:
    """Check program `index` of run `seed` in every mode; if it diverges, minimize it and
    write it as a found case. Returns what happened."""
    program = generate(seed, index, exclude, focus)
    with batch.Worker() as worker:
        result = worker.check([spec_for(program, f"agfz_{seed}_{index}", list(runner.MODES))])[0]
        modes = result.divergences()
        if not modes:
            return f"{program.origin}: no divergence"
        small, result = shrink(Divergence(program, result, modes), worker, budget)
    modes = result.divergences()
    if not modes:
        return f"{program.origin}: no longer diverges once minimized"
    path = found.write(small, modes, result)
    return f"{program.origin}: {found.family(small, modes)} -> {path or 'a duplicate'}"
