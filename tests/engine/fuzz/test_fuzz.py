"""Random bot programs resume exactly as plain Python runs them.

A bounded, seeded run of the generative differential tester: the same few hundred programs on
every run and every Python, each checked against the oracle (the program run as plain Python)
in process and after serialize/deserialize, and a subset with a fresh interpreter per turn.
Each check runs in a worker interpreter, so a crash fails one program, not the run.

Constructs with a known divergence that is not fixed yet (`OPEN`) are left out of these
programs; each is pinned by found cases under tests/engine/found/ (strict xfail). When its fix
lands, drop it from `OPEN`. `make fuzz` runs more programs, with everything included.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys

import pytest

from tests.engine.fuzz import batch, runner
from tests.engine.fuzz.campaign import spec_for
from tests.engine.fuzz.context import REFUSAL_KINDS, SHAPES
from tests.engine.fuzz.generator import generate
from tests.engine.fuzz.model import Program, all_tags
from tests.engine.fuzz.render import ENGINE, render

SEED = 10
#: programs per test (one worker interpreter each), and tests
CHUNK = 40
CHUNKS = 6
#: programs per test that may not end as plain Python (then they are not checked)
MAX_UNCHECKED = 2
#: every FRESH_EVERY-th program also runs with a fresh interpreter per turn
FRESH_EVERY = 8
#: constructs whose divergences are known (issue 10) and pinned in tests/engine/found/
OPEN: frozenset[str] = frozenset()


def _check(indices: range, modes: list[str]) -> list[str]:
    """Descriptions of the programs among `indices` whose transcripts differ from the oracle's."""
    programs = {index: generate(SEED, index, OPEN) for index in indices}
    specs = [spec_for(programs[i], f"agfz_test_{SEED}_{i}", modes) for i in indices]
    with batch.Worker() as worker:
        results = worker.check(specs)
    problems = []
    # A program plain Python does not finish in the oracle's step limit (deep recursion over
    # a long text, say) is no test; a few may be, not many.
    unchecked = [index for index, result in zip(indices, results, strict=True) if not result.valid]
    assert len(unchecked) <= MAX_UNCHECKED, f"programs {unchecked} of seed {SEED} do not end"
    for index, result in zip(indices, results, strict=True):
        for mode, how in result.divergences().items():
            problems.append(f"seed {SEED}, program {index}: {mode} diverges ({how})")
    return problems


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_random_programs_resume_like_plain_python(chunk: int) -> None:
    problems = _check(
        range(chunk * CHUNK, (chunk + 1) * CHUNK), [runner.IN_PROCESS, runner.SERIALIZED]
    )
    assert not problems, _how_to_look(problems)


def test_random_programs_resume_like_plain_python_in_fresh_processes() -> None:
    indices = range(0, CHUNK * CHUNKS, FRESH_EVERY)
    programs = {index: generate(SEED, index, OPEN) for index in indices}
    specs = [
        spec_for(programs[i], f"agfz_test_{SEED}_{i}_fresh", [runner.FRESH_PROCESS])
        for i in indices
    ]
    with batch.Worker() as worker:
        results = worker.check(specs)
    problems = [
        f"seed {SEED}, program {index}: fresh_process diverges ({how})"
        for index, result in zip(indices, results, strict=True)
        for how in result.divergences().values()
    ]
    assert not problems, _how_to_look(problems)


#: programs per shape family (`shapes`) written much more often, each holding it at least once
PER_SHAPE = 4


def _focused(name: str, count: int, exclude: frozenset[str] = OPEN) -> list[tuple[int, Program]]:
    """The first `count` programs of run `SEED` with construct `name` in focus that hold it."""
    chosen = []
    for index in range(1000):
        program = generate(SEED, index, exclude, frozenset({name}))
        if name in all_tags(program):
            chosen.append((index, program))
            if len(chosen) == count:
                return chosen
    raise AssertionError(f"no {count} programs of seed {SEED} hold {name}")


def _refusing(kind: str) -> tuple[int, Program]:
    """The first program of run `SEED` that reaches a refused pause of `kind`."""
    others = frozenset(f"refuse-{other}" for other in REFUSAL_KINDS if other != kind)
    return _focused(f"refuse-{kind}", 1, OPEN | others)[0]


@functools.cache
def _shape_problems() -> dict[str, list[str]]:
    """Divergences of the shape and refusal programs, per family / refusal kind: all checked
    in one worker, in process and serialized, the first of each shape family in a fresh process
    too."""
    groups = {shape: _focused(shape, PER_SHAPE) for shape in SHAPES}
    groups.update({f"refuse-{kind}": [_refusing(kind)] for kind in REFUSAL_KINDS})
    specs, owners = [], []
    for group, programs in groups.items():
        for number, (index, program) in enumerate(programs):
            modes = [runner.IN_PROCESS, runner.SERIALIZED]
            if number == 0 and group in SHAPES:
                modes.append(runner.FRESH_PROCESS)
            specs.append(spec_for(program, f"agfz_shape_{SEED}_{index}_{len(specs)}", modes))
            owners.append((group, program.origin))
    with batch.Worker() as worker:
        results = worker.check(specs)
    problems: dict[str, list[str]] = {group: [] for group in groups}
    for (group, origin), result in zip(owners, results, strict=True):
        if not result.valid:
            problems[group].append(f"{origin}: plain Python does not end")
        for mode, how in result.divergences().items():
            problems[group].append(f"{origin}: {mode} diverges ({how})")
    return problems


@pytest.mark.parametrize("shape", SHAPES)
def test_programs_of_each_shape_resume_like_plain_python(shape: str) -> None:
    problems = _shape_problems()[shape]
    assert not problems, _how_to_look(problems)


@pytest.mark.parametrize("kind", REFUSAL_KINDS)
def test_each_refused_pause_is_refused_where_plain_python_would_pause(kind: str) -> None:
    problems = _shape_problems()[f"refuse-{kind}"]
    assert not problems, _how_to_look(problems)


def _how_to_look(problems: list[str]) -> str:
    return "\n".join(
        [
            *problems,
            "see a program with: python -m tests.engine.fuzz show SEED INDEX; minimize and keep "
            "it with: python -m tests.engine.fuzz minimize SEED INDEX (docs/fuzzing.md)",
        ]
    )


def test_generated_programs_do_not_depend_on_the_hash_seed() -> None:
    """Every Python and every fresh interpreter must see the same program for a seed."""
    script = (
        "from tests.engine.fuzz.generator import generate\n"
        "from tests.engine.fuzz.render import render\n"
        "print(''.join(render(generate(3, i)) for i in range(20)))"
    )
    outputs = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            cwd=runner.ROOT,
            env=env,
            check=True,
        )
        outputs.add(done.stdout)
    assert outputs == {"".join(render(generate(3, i), ENGINE) for i in range(20)) + "\n"}
