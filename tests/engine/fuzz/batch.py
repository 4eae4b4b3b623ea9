"""Check programs against the oracle in a worker interpreter, so a crash of the interpreter
is a finding about one program, not the end of the run.

A `Worker` is a long-lived child interpreter: it takes batches of programs (`Spec`), runs
each as the oracle and through the engine in the modes asked for, and answers with the
transcripts (`Result`). If it dies or hangs, the programs of that batch are checked again
one at a time in a new worker, and the one that kills it is recorded as a ``crash`` (or
``timeout``) in every engine mode.

Command line (the worker side):  python -m tests.engine.fuzz.batch FOLDER
(reads one JSON batch per line on stdin, answers one JSON line per batch on stdout)
"""

from __future__ import annotations

import json
import os
import resource
import select
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import oracle, runner
from .transcript import signature

#: seconds a worker may take per program before it is presumed hung
SECONDS_PER_PROGRAM = 90
#: programs a worker checks before it is replaced (bounds its memory)
PROGRAMS_PER_WORKER = 400
#: address space a worker (or a fresh interpreter of `runner`) may use
MEMORY_BYTES = 3 << 30


@dataclass
class Spec:
    """A program to check: its module name, both renderings, the messages, the modes."""

    name: str
    #: the engine program's source, written as `name`.py (None: `name` is importable as is)
    engine: str | None
    reference: str
    script: list[str]
    modes: list[str]


@dataclass
class Result:
    """The oracle's transcript and each mode's."""

    name: str
    oracle: list
    modes: dict[str, list] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        """False when the oracle itself did not finish (or could not compile the program):
        the program is not a fair test."""
        return self.oracle[-1][0] not in ("timeout", "invalid")

    def divergences(self) -> dict[str, str]:
        """Mode -> how it departs from the oracle, for the modes that do."""
        found = {}
        for mode, events in self.modes.items():
            how = signature(self.oracle, events)
            if how is not None:
                found[mode] = how
        return found


def check_here(specs: list[Spec], folder: str) -> list[Result]:
    """Check `specs` in this process (fresh-process modes in child interpreters, batched)."""
    results = []
    fresh_jobs: list[tuple[Result, runner.Job]] = []
    for spec in specs:
        if spec.engine is not None:
            (Path(folder) / f"{spec.name}.py").write_text(spec.engine)
        result = Result(spec.name, oracle.run(spec.reference, spec.script, spec.name))
        results.append(result)
        if not result.valid:
            continue
        job = runner.Job(spec.name, tuple(spec.script), folder)
        for mode in spec.modes:
            if mode == runner.FRESH_PROCESS:
                fresh_jobs.append((result, job))
            else:
                result.modes[mode] = runner.run_in_process(job, mode == runner.SERIALIZED)
    if fresh_jobs:
        transcripts = runner.run_fresh_processes([job for _, job in fresh_jobs])
        for (result, _), events in zip(fresh_jobs, transcripts, strict=True):
            result.modes[runner.FRESH_PROCESS] = events
    return results


class Worker:
    """A child interpreter checking batches of programs written to `folder`."""

    def __init__(self, folder: str | None = None) -> None:
        self.folder = folder or tempfile.mkdtemp(prefix="agfuzz-")
        self._process: subprocess.Popen | None = None
        self._served = 0
        self.last_error = ""

    def check(self, specs: list[Spec]) -> list[Result]:
        """The results of `specs`; a batch that kills the worker is retried one by one."""
        results = self._ask(specs)
        if results is not None:
            return results
        isolated = []
        for spec in specs:
            single = self._ask([spec])
            isolated.append(single[0] if single is not None else self._failed(spec))
        return isolated

    def close(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> subprocess.Popen:
        if self._process is None or self._served >= PROGRAMS_PER_WORKER:
            self.close()
            self._served = 0
            with open(self._stderr_path(), "w") as stderr:
                self._process = subprocess.Popen(
                    [sys.executable, "-m", "tests.engine.fuzz.batch", self.folder],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=stderr,
                    text=True,
                    cwd=runner.ROOT,
                )
        return self._process

    def _ask(self, specs: list[Spec]) -> list[Result] | None:
        process = self._start()
        self._served += len(specs)
        process.stdin.write(json.dumps([asdict(spec) for spec in specs]) + "\n")
        process.stdin.flush()
        ready, _, _ = select.select([process.stdout], [], [], SECONDS_PER_PROGRAM * len(specs))
        line = process.stdout.readline() if ready else ""
        if not line:
            self.close_with_error("timeout" if not ready else "crash")
            return None
        return [Result(row["name"], row["oracle"], row["modes"]) for row in json.loads(line)]

    def _stderr_path(self) -> str:
        return os.path.join(self.folder, "worker-stderr.txt")

    def close_with_error(self, kind: str) -> None:
        """Stop the worker after it failed (`kind`: crash or timeout), keeping why."""
        process = self._process
        if kind == "crash" and process is not None:
            process.wait()
            stderr = Path(self._stderr_path()).read_text()[-1500:]
            self.last_error = f"exit {process.returncode}: {stderr}"
        else:
            self.last_error = kind
        self.close()

    def _failed(self, spec: Spec) -> Result:
        """A program that killed its worker: the oracle here, ``crash`` in every mode."""
        events = oracle.run(spec.reference, spec.script, spec.name)
        kind = ["timeout"] if self.last_error == "timeout" else ["crash", self.last_error]
        return Result(spec.name, events, {mode: [["out", ""], kind] for mode in spec.modes})


def limit_memory() -> None:
    """Cap this interpreter's memory: a program that outgrows it gets MemoryError instead of
    the whole machine's memory (which it shares)."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))


def serve(folder: str) -> None:
    """The worker loop: one batch per line in, one line of results out."""
    limit_memory()
    channel = sys.stdout
    sys.stdout = sys.stderr  # a stray print (a program's thread left running) must not mix in
    for line in sys.stdin:
        specs = [Spec(**row) for row in json.loads(line)]
        results = check_here(specs, folder)
        channel.write(json.dumps([asdict(result) for result in results]) + "\n")
        channel.flush()


if __name__ == "__main__":
    serve(sys.argv[1])
    os._exit(0)  # skip interpreter teardown: oracle threads may still be parked
