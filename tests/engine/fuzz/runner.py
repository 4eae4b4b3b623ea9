"""Run a program through the public API, turn by turn, in the three resume modes.

* ``in_process`` -- one ``Autogram(root_function=chatbot, test_mode=True)``; every turn is
  ``autogram.reply(message, memory_object=memory)`` with the memory the last turn returned;
* ``serialized`` -- the same, but the memory goes through ``serialize`` -> ``deserialize``
  before every turn;
* ``fresh_process`` -- every turn in a new interpreter that loads the session file, replies
  and saves. To keep this affordable, one interpreter serves the same turn of many programs
  (each still meets its own program for the first time in that process); if it dies, the
  programs of that turn are run again one interpreter each, so a crash names its program.

Programs are importable modules (fresh processes import them by name): `Job.folder` is put
on ``sys.path``.

Command line (the fresh-process step):  python -m tests.engine.fuzz.runner turn REQUEST.json
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .transcript import describe_exception

ROOT = Path(__file__).resolve().parents[3]
IN_PROCESS = "in_process"
SERIALIZED = "serialized"
FRESH_PROCESS = "fresh_process"
MODES = (IN_PROCESS, SERIALIZED, FRESH_PROCESS)
#: seconds one turn may take before it is recorded as a timeout
TURN_SECONDS = 20


@dataclass(frozen=True)
class Job:
    """A program module to run and the user's messages for it."""

    module: str
    script: tuple[str, ...]
    #: a folder to put on sys.path so `module` imports (None: importable as it is)
    folder: str | None = None


class TurnTimeout(BaseException):
    """A turn ran longer than TURN_SECONDS."""


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Interrupt the block after `seconds` (main thread only; elsewhere no limit)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise TurnTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def import_program(job: Job) -> Any:
    if job.folder and job.folder not in sys.path:
        sys.path.insert(0, job.folder)
    importlib.invalidate_caches()  # the module may have been written a moment ago
    return importlib.import_module(job.module)


def _autogram(module: Any) -> Any:
    from autograms import Autogram

    return Autogram(root_function=module.chatbot, test_mode=True)


def play_turn(call: Callable[[], tuple[str | None, Any]]) -> tuple[list, Any]:
    """Run one turn; returns its events and the memory (None unless it paused)."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        try:
            with _deadline(TURN_SECONDS):
                text, memory = call()
        except TurnTimeout:
            return [["out", buffer.getvalue()], ["timeout"]], None
        except Exception as exc:  # noqa: BLE001 - recorded in the transcript
            return [["out", buffer.getvalue()], ["raise", describe_exception(exc)]], None
        except BaseException as exc:  # an engine signal escaped: never a user's doing
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            return [["out", buffer.getvalue()], ["crash", f"escaped {type(exc).__name__}"]], None
    if text is None:
        return [["out", buffer.getvalue()], ["end"]], None
    return [["out", buffer.getvalue()], ["reply", text]], memory


def run_in_process(job: Job, serialize: bool) -> list:
    """The transcript of `job` in this process (mode serialized when `serialize`)."""
    try:
        autogram = _autogram(import_program(job))
    except Exception as exc:  # noqa: BLE001 - e.g. refused at decoration
        return [["out", ""], ["raise", describe_exception(exc)]]
    events, memory = play_turn(lambda: autogram.reply())
    for message in job.script:
        if memory is None:
            break
        if serialize:
            try:
                memory = autogram.deserialize(autogram.serialize(memory))
            except Exception as exc:  # noqa: BLE001 - a session that does not round-trip
                events += [["out", ""], ["raise", describe_exception(exc)]]
                break
        turn, memory = play_turn(
            lambda message=message, current=memory: autogram.reply(message, memory_object=current)
        )
        events += turn
    return events


def run_mode(job: Job, mode: str) -> list:
    if mode == FRESH_PROCESS:
        return run_fresh_processes([job])[0]
    return run_in_process(job, serialize=mode == SERIALIZED)


# -- fresh processes ----------------------------------------------------------------------------


def run_fresh_processes(jobs: list[Job]) -> list[list]:
    """The fresh-process transcripts of `jobs`: one interpreter per turn, shared by the jobs."""
    transcripts: list[list] = [[] for _ in jobs]
    alive = list(range(len(jobs)))
    with tempfile.TemporaryDirectory(prefix="agfuzz-sessions-") as sessions:
        turn = 0
        while alive:
            requests = [_request(jobs[i], sessions, i, turn) for i in alive]
            results = _turn_in_child(requests)
            still = []
            for index, events in zip(alive, results, strict=True):
                transcripts[index] += events
                if events[-1][0] == "reply" and turn < len(jobs[index].script):
                    still.append(index)
            alive = still
            turn += 1
    return transcripts


def _request(job: Job, sessions: str, index: int, turn: int) -> dict:
    return {
        "module": job.module,
        "folder": job.folder,
        "session": os.path.join(sessions, f"{index}.session"),
        "message": None if turn == 0 else job.script[turn - 1],
    }


def _turn_in_child(requests: list[dict]) -> list[list]:
    results, _ = _spawn(requests)
    if results is not None:
        return results
    # The interpreter died: run each request alone, so the crash is pinned to its program.
    isolated = []
    for request in requests:
        single, failure = _spawn([request])
        isolated.append(single[0] if single is not None else [["out", ""], ["crash", failure]])
    return isolated


def _spawn(requests: list[dict]) -> tuple[list[list] | None, str]:
    """Run one turn of `requests` in a new interpreter: (their events, "") or (None, why
    the interpreter failed)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(requests, handle)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "tests.engine.fuzz.runner", "turn", handle.name],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=TURN_SECONDS * (len(requests) + 2),
        )
    except subprocess.TimeoutExpired:
        return None, "timeout"
    finally:
        os.unlink(handle.name)
    if result.returncode != 0:
        return None, f"exit {result.returncode}: {result.stderr[-300:]}"
    return json.loads(result.stdout.strip().splitlines()[-1]), ""


def child_turn(request: dict) -> list:
    """One turn of one program in this (fresh) interpreter: load, reply, save."""
    job = Job(request["module"], (), request["folder"])
    try:
        autogram = _autogram(import_program(job))
    except Exception as exc:  # noqa: BLE001 - e.g. a decoration-time refusal
        return [["out", ""], ["raise", describe_exception(exc)]]
    path = request["session"]
    message = request["message"]
    if message is None:
        events, memory = play_turn(lambda: autogram.reply())
    else:
        try:
            loaded = autogram.load(path)
        except Exception as exc:  # noqa: BLE001 - a session that does not load
            return [["out", ""], ["raise", describe_exception(exc)]]
        events, memory = play_turn(lambda: autogram.reply(message, memory_object=loaded))
    if memory is not None:
        try:
            autogram.save(path, memory)
        except Exception as exc:  # noqa: BLE001 - a session that does not save
            return events[:1] + [["raise", describe_exception(exc)]]
    return events


def main(argv: list[str]) -> int:
    if argv[:1] != ["turn"]:
        raise SystemExit("usage: python -m tests.engine.fuzz.runner turn REQUEST.json")
    from .batch import limit_memory

    limit_memory()
    requests = json.loads(Path(argv[1]).read_text())
    results = [child_turn(request) for request in requests]
    sys.stdout.write(json.dumps(results) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
