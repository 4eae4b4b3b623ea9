"""Run an engine case program and record its transcript, in one of three modes.

* ``reference`` -- the case's functions are left alone; `checkpoint()` hands its payload to the
  driver and blocks (a thread and two queues) until the next scripted value arrives. This is
  the oracle: the program run without any pausing machinery.
* ``in_process`` -- the functions are instrumented; `checkpoint()` pauses the program and the
  driver resumes it from the pickled snapshot, in the same process.
* ``fresh_process`` -- as in_process, but every turn runs in a new interpreter that reads the
  previous turn's snapshot from a file.

A transcript is a list of events: ``["out", text]`` for what the program printed during a turn,
``["pause", repr(payload)]``, and finally ``["return", repr(value)]`` or
``["raise", "Type: message"]``. Every mode of a case must produce the same transcript.

Command line (used by the tests, one subprocess per case and mode):

    python -m tests.engine.harness run MODULE CASE MODE
    python -m tests.engine.harness turn MODULE CASE SNAPSHOT_FILE INDEX   (fresh_process step)
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import io
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.program_thread import ProgramThread, Stopped

MODE_VARIABLE = "AG_ENGINE_MODE"
REFERENCE = os.environ.get(MODE_VARIABLE) == "reference"

if not REFERENCE:
    from autograms import _frames


@dataclass
class Case:
    """A program: call `root(*args)`; answer its pauses with `script`, in order."""

    root: Callable[..., Any]
    args: tuple = ()
    script: list = field(default_factory=list)
    kwargs: dict = field(default_factory=dict)
    #: For programs with no uninstrumented equivalent (GOTO, RETURNTO): the transcript as
    #: (payload, reply) steps plus the final event, written out by `expect`.
    expected: list | None = None


def expect(
    *steps: Any, result: Any = None, raised: str | None = None, out: dict | None = None
) -> list:
    """Spell out a transcript: each step is the payload of a pause; `out` maps a turn index to
    what that turn printed."""
    out = out or {}
    transcript: list = []
    for turn, payload in enumerate(steps):
        transcript += [["out", out.get(turn, "")], ["pause", repr(payload)]]
    transcript.append(["out", out.get(len(steps), "")])
    transcript.append(["raise", raised] if raised else ["return", repr(result)])
    return transcript


def resumable(function: Callable[..., Any]) -> Callable[..., Any]:
    """Instrument `function` unless this is the reference run."""
    if not REFERENCE:
        _frames.instrument(function)
    return function


_exchange: Callable[[Any], Any] | None = None


def checkpoint(payload: Any = None) -> Any:
    """Pause the program with `payload`; returns the scripted reply."""
    if REFERENCE:
        return _exchange(payload)
    return _frames.pause(payload)


def goto(label: str) -> None:
    if REFERENCE:
        raise RuntimeError("GOTO cases have no reference run; use an explicit expected transcript")
    _frames.goto(label)


def returnto(label: str) -> None:
    if REFERENCE:
        raise RuntimeError("RETURNTO cases have no reference run")
    _frames.returnto(label)


def _describe_exception(exc: BaseException) -> list:
    return ["raise", f"{type(exc).__name__}: {exc}"]


@contextlib.contextmanager
def _captured(buffer: io.StringIO):
    previous = sys.stdout
    sys.stdout = buffer
    try:
        yield
    finally:
        sys.stdout = previous


def _take(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def run_reference(case: Case) -> list:
    global _exchange
    buffer = io.StringIO()

    def program() -> None:
        try:
            value = case.root(*case.args, **case.kwargs)
        except Stopped:
            pass
        except BaseException as exc:  # noqa: BLE001 - recorded in the transcript
            program_thread.report("raise", exc)
        else:
            program_thread.report("return", value)

    program_thread = ProgramThread(program)
    _exchange = functools.partial(program_thread.exchange, "pause")
    with _captured(buffer):
        program_thread.start()
        try:
            return _drive_reference(program_thread, case, buffer)
        finally:
            program_thread.end()  # a program still waiting at a checkpoint unwinds


def _drive_reference(program_thread: ProgramThread, case: Case, buffer: io.StringIO) -> list:
    transcript: list = []
    script = iter(case.script)
    while True:
        kind, value = program_thread.event()
        transcript.append(["out", _take(buffer)])
        if kind == "pause":
            transcript.append(["pause", repr(value)])
            reply = next(script, StopIteration)
            if reply is StopIteration:
                transcript.append(["script exhausted"])
                return transcript
            program_thread.answer(reply)
        elif kind == "raise":
            transcript.append(_describe_exception(value))
            return transcript
        else:
            transcript.append(["return", repr(value)])
            return transcript


def _record(outcome_or_exc: Any, buffer: io.StringIO, transcript: list) -> bytes | None:
    """Append one turn's events; return the snapshot if the program paused."""
    transcript.append(["out", _take(buffer)])
    if isinstance(outcome_or_exc, BaseException):
        transcript.append(_describe_exception(outcome_or_exc))
        return None
    if isinstance(outcome_or_exc, _frames.Paused):
        transcript.append(["pause", repr(outcome_or_exc.payload)])
        return outcome_or_exc.snapshot
    transcript.append(["return", repr(outcome_or_exc.value)])
    return None


def _step(start: Callable[[], Any], buffer: io.StringIO, transcript: list) -> bytes | None:
    with _captured(buffer):
        try:
            outcome = start()
        except Exception as exc:  # noqa: BLE001 - recorded in the transcript
            outcome = exc
    return _record(outcome, buffer, transcript)


def run_in_process(case: Case) -> list:
    transcript: list = []
    buffer = io.StringIO()
    snapshot = _step(lambda: _frames.run(case.root, case.args, case.kwargs), buffer, transcript)
    for reply in case.script:
        if snapshot is None:
            return transcript
        snapshot = _step(functools.partial(_frames.resume, snapshot, reply), buffer, transcript)
    if snapshot is not None:
        transcript.append(["script exhausted"])
    return transcript


def run_fresh_process(module: str, name: str, case: Case) -> list:
    """Every turn in a new interpreter; snapshots travel through a file."""
    transcript: list = []
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "snapshot.bin")
        for turn in range(len(case.script) + 1):
            events, paused = _run_turn_subprocess(module, name, path, turn)
            transcript.extend(events)
            if not paused:
                return transcript
        transcript.append(["script exhausted"])
    return transcript


def _run_turn_subprocess(module: str, name: str, path: str, turn: int) -> tuple[list, bool]:
    command = [sys.executable, "-m", "tests.engine.harness", "turn", module, name, path, str(turn)]
    result = subprocess.run(command, capture_output=True, text=True, env=_child_env())
    if result.returncode != 0:
        raise RuntimeError(
            f"turn {turn} exited with {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    reply = json.loads(result.stdout.strip().splitlines()[-1])
    return reply["events"], reply["paused"]


def _child_env() -> dict:
    env = dict(os.environ)
    env.pop(MODE_VARIABLE, None)
    return env


def turn_main(module: str, name: str, path: str, turn: int) -> dict:
    case = load_case(module, name)
    transcript: list = []
    buffer = io.StringIO()
    if turn == 0:
        snapshot = _step(lambda: _frames.run(case.root, case.args, case.kwargs), buffer, transcript)
    else:
        with open(path, "rb") as handle:
            saved = handle.read()
        reply = case.script[turn - 1]
        snapshot = _step(lambda: _frames.resume(saved, reply), buffer, transcript)
    if snapshot is not None:
        with open(path, "wb") as handle:
            handle.write(snapshot)
    return {"events": transcript, "paused": snapshot is not None}


def load_case(module: str, name: str) -> Case:
    cases = importlib.import_module(f"tests.engine.cases.{module}").CASES
    return cases[name]


def main(argv: list[str]) -> int:
    command = argv[0]
    if command == "run":
        module, name, mode = argv[1:4]
        case = load_case(module, name)
        if mode == "reference":
            transcript = run_reference(case)
        elif mode == "in_process":
            transcript = run_in_process(case)
        else:
            transcript = run_fresh_process(module, name, case)
        sys.stdout.write(json.dumps(transcript) + "\n")
        return 0
    if command == "turn":
        module, name, path, turn = argv[1:5]
        sys.stdout.write(json.dumps(turn_main(module, name, path, int(turn))) + "\n")
        return 0
    raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    # Run through the importable module, so case modules and this driver share one `_exchange`.
    from tests.engine import harness

    sys.exit(harness.main(sys.argv[1:]))
