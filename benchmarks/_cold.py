"""Child process of the cold-start benchmark: the steps of a first resume in a new interpreter.

    python -m benchmarks._cold SNAPSHOT_FILE

Prints one JSON object mapping each step to the CPU seconds it took (`time.thread_time`, as
the in-process benchmarks, so other load on the machine does not count). Nothing of the engine
may be imported before `main` starts timing, so this module imports only the standard library.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable
from time import thread_time
from typing import Any

#: Steps, in the order they run.
STEPS = ("import", "instrument", "read", "first_resume", "second_resume")


def main(path: str) -> dict[str, float]:
    """Run every step against the snapshot stored at `path`; seconds per step."""
    seconds: dict[str, float] = {}

    def step(name: str, action: Callable[[], Any]) -> Any:
        start = thread_time()
        result = action()
        seconds[name] = thread_time() - start
        return result

    frames = step("import", lambda: importlib.import_module("autograms._frames"))
    subjects = importlib.import_module("benchmarks._subjects")  # a few defs: not timed
    step("instrument", subjects.instrument_stack)
    snapshot = step("read", lambda: _read(path))
    paused = step("first_resume", lambda: frames.resume(snapshot, "first"))
    step("second_resume", lambda: frames.resume(paused.snapshot, "second"))
    return seconds


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main(sys.argv[1])) + "\n")
