"""Every oracle harness ends its program's thread when its run is done, even when the script
runs out while the program still waits for a message: a thread left waiting inside a turn keeps
every later decorated call of the test process on the in-a-turn path (and the tests after it
measure the wrong path)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading

import pytest

from autograms import autograms_function
from tests.dialog.harness import reference_run
from tests.engine import public_harness
from tests.engine.fuzz import oracle

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _plain(x):
    return x + 1


@autograms_function()
def _decorated(x):
    return x + 1


def _calls(fn) -> int:
    """Python- and C-level calls seen by a profiler while calling fn ten times."""
    count = [0]

    def prof(frame, event, arg):
        if event in ("call", "c_call"):
            count[0] += 1

    sys.setprofile(prof)
    try:
        for i in range(10):
            fn(i)
    finally:
        sys.setprofile(None)
    return count[0]


def _ends_cleanly(run) -> None:
    """`run()` leaves no thread behind, and a decorated call after it takes the plain path."""
    before = threading.active_count()
    run()
    assert threading.active_count() == before, threading.enumerate()
    assert _calls(_decorated) == _calls(_plain)


@pytest.mark.parametrize("cut", [0, 1, 3])
def test_dialog_reference_run_ends_its_program(cut: int) -> None:
    script = ["yes", "no", "ready", "CS degree", "5 years"][:cut]
    _ends_cleanly(lambda: reference_run("recruiter", script))


@pytest.mark.parametrize("cut", [0, 2])
def test_public_harness_reference_ends_its_program(cut: int) -> None:
    script = ["huge", "ok", "medium", "two", "ok"][:cut]
    _ends_cleanly(lambda: public_harness.transcript("pizza_loops", script, "reference"))


def test_fuzz_oracle_ends_its_program_at_an_exhausted_script() -> None:
    source = textwrap.dedent(
        """
        def chatbot():
            while True:
                try:
                    reply("again?")
                finally:
                    reply("one more in a finally")
        """
    )
    _ends_cleanly(lambda: oracle.run(source, ["a", "b"]))


_ENGINE_REFERENCE = textwrap.dedent(
    """
    import threading
    from tests.engine import harness
    case = harness.load_case("exceptions", NAME)
    before = threading.active_count()
    transcript = harness.run_reference(harness.Case(case.root, case.args, [], case.kwargs))
    assert transcript[-1] == ["script exhausted"], transcript
    print(threading.active_count() - before)
    """
)


def test_engine_harness_reference_ends_its_program() -> None:
    from tests.engine.cases.exceptions import CASES

    name = next(name for name, case in CASES.items() if case.expected is None and case.script)
    done = subprocess.run(
        [sys.executable, "-c", _ENGINE_REFERENCE.replace("NAME", repr(name))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, AG_ENGINE_MODE="reference"),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "0", done.stdout
